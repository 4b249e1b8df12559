"""slime adapter.

slime scores a sample with `--rm-type remote_rm --rm-url URL`: it POSTs `{"prompt", "response", "label"}` (the
sample's fields) and takes the JSON answer as the reward; with a dict answer, `--reward-key reward` picks the key.
The service serves this at `POST /slime/reward`, answering

    {"reward": 2.0, "format": 1.0, "accuracy": 1.0, "components": {...}, "status": "ok", "reason": null}

(components also at the top level so that `--reward-key accuracy` works too).

Alternatively, without going through slime's per-sample HTTP calls, point `--custom-rm-path` at this module:
`arbiter_client.adapters.slime.arbiter_rm` (one sample; returns the same dict) or, with `--group-rm`,
`arbiter_client.adapters.slime.arbiter_group_rm` (a list of samples, one chunked request; returns one reward dict per
sample). Both read `$ARBITER_URL` and use the client's fail-over and deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from arbiter_client import AsyncArbiterClient, ScoreResult
from arbiter_client.adapters.common import completion_text, group_key, reference_from_label, strip_special_tokens
from arbiter_client.adapters.env import client_options_from_env


def build_item(prompt: Any, response: Any, label: Any, index: int = 0) -> dict[str, Any]:
    item: dict[str, Any] = {"id": str(index), "completion": strip_special_tokens(completion_text(response))}
    task, reference = reference_from_label(label)
    if reference is not None:
        item["reference"] = reference
        item["task"] = task
    if prompt:
        item["group"] = group_key(prompt)
    return item


def build_response(reward: float, components: Mapping[str, float], status: str, reason: str | None) -> dict[str, Any]:
    out: dict[str, Any] = dict(components)
    out.update({"reward": reward, "components": dict(components), "status": status, "reason": reason})
    return out


def _to_slime(result: ScoreResult) -> dict[str, Any]:
    return build_response(result.reward, result.components, result.status, result.reason)


_clients: dict[asyncio.AbstractEventLoop, AsyncArbiterClient] = {}


def _client() -> AsyncArbiterClient:
    # One client per event loop: an httpx.AsyncClient belongs to the loop it first ran on.
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        urls, options = client_options_from_env()
        client = _clients[loop] = AsyncArbiterClient(urls, **options)
    return client


async def arbiter_rm(args: Any, sample: Any, **kwargs: Any) -> dict[str, Any]:
    """slime `--custom-rm-path` function for one Sample (reads .prompt, .response, .label)."""
    item = build_item(getattr(sample, "prompt", None), sample.response, getattr(sample, "label", None))
    (result,) = await _client().score([item])
    return _to_slime(result)


async def arbiter_group_rm(args: Any, samples: Sequence[Any], **kwargs: Any) -> list[dict[str, Any]]:
    """slime `--custom-rm-path` function with `--group-rm`: a list of Samples, one reward dict each."""
    items = [
        build_item(getattr(s, "prompt", None), s.response, getattr(s, "label", None), i) for i, s in enumerate(samples)
    ]
    return [_to_slime(r) for r in await _client().score(items)]
