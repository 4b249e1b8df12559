"""slime adapter (conventions of slime's slime/rollout/rm_hub: `async_rm` awaits `rm(args, sample, **kwargs)`,
`batched_async_rm` awaits `rm(args, samples, **kwargs)` with `--group-rm`; `remote_rm` POSTs the payload below).

slime scores a sample with `--rm-type remote_rm --rm-url URL`: it POSTs `{"prompt", "response", "label"}` (the
sample's fields) and takes the JSON answer as the reward; with a dict answer, `--reward-key reward` picks the key.
The service serves this at `POST /slime/reward`, answering

    {"reward": 2.0, "format": 1.0, "accuracy": 1.0, "components": {...}, "status": "ok", "reason": null}

(components also at the top level so that `--reward-key accuracy` works too).

Alternatively, without going through slime's per-sample HTTP calls, point `--custom-rm-path` at this module:
`arbiter_client.adapters.slime.arbiter_rm` (one sample; returns the same dict) or, with `--group-rm`,
`arbiter_client.adapters.slime.arbiter_group_rm` (a list of samples, one chunked request; returns one reward dict per
sample). Both read `$ARBITER_URL` and use the client's fail-over and deadline; concurrent `arbiter_rm` calls
(slime runs a batch's samples at once) are coalesced into batched requests (arbiter_client/batching.py). Their
dicts also carry `judged`: a sample Arbiter could not judge (timeout, error, sandbox unavailable, fallback) gets
the fallback reward (`ARBITER_FALLBACK_REWARD`, default 0) and 0 for every component; `format` and `accuracy` are in
every dict, judged or not, so that `--reward-key accuracy` never meets a missing key. Checked against a
reproduction of slime's reward hub (tests/client/test_slime_rm_hub.py): slime is not installable from PyPI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from arbiter_client import AsyncArbiterClient, ScoreResult
from arbiter_client.adapters.common import completion_text, group_key, reference_from_label, strip_special_tokens
from arbiter_client.adapters.env import batching_from_env, client_options_from_env
from arbiter_client.batching import MicroBatcher

#: Components every reward dict carries (the server's default profile, r1-zero), judged or not.
DEFAULT_COMPONENTS: tuple[str, ...] = ("format", "accuracy")


def build_item(prompt: Any, response: Any, label: Any, index: int = 0) -> dict[str, Any]:
    item: dict[str, Any] = {"id": str(index), "completion": strip_special_tokens(completion_text(response))}
    task, reference = reference_from_label(label)
    if reference is not None:
        item["reference"] = reference
        item["task"] = task
    if prompt:
        item["group"] = group_key(prompt)
    return item


def to_slime(result: ScoreResult, unjudged_reward: float) -> dict[str, Any]:
    """slime's reward dict: `reward`, each component (top level and under `components`), `status`, `reason` and
    `judged`. A row Arbiter did not judge gets `unjudged_reward` (the client's fallback reward, default 0) and 0 for
    every component: slime has no "no reward", so this is the documented default; filter on `judged`."""
    # The default profile's components are always there, so that `--reward-key accuracy` finds its key on a row
    # that came back without components (an error, a fallback) instead of raising KeyError inside slime.
    names = [*DEFAULT_COMPONENTS, *(n for n in result.components if n not in DEFAULT_COMPONENTS)]
    components = {n: result.components.get(n, 0.0) if result.judged else 0.0 for n in names}
    out: dict[str, Any] = dict(components)
    out.update(
        {
            "reward": result.reward if result.judged else unjudged_reward,
            "components": components,
            "status": result.status,
            "reason": result.reason,
            "judged": result.judged,
        }
    )
    return out


_clients: dict[asyncio.AbstractEventLoop, AsyncArbiterClient] = {}
_batchers: dict[asyncio.AbstractEventLoop, MicroBatcher] = {}


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
    client = _client()
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        window_s, max_items = batching_from_env()
        batcher = _batchers[loop] = MicroBatcher(client, window_s=window_s, max_items=max_items)
    return to_slime(await batcher.score(item), client.config.fallback_reward)


async def arbiter_group_rm(args: Any, samples: Sequence[Any], **kwargs: Any) -> list[dict[str, Any]]:
    """slime `--custom-rm-path` function with `--group-rm`: a list of Samples, one reward dict each."""
    items = [
        build_item(getattr(s, "prompt", None), s.response, getattr(s, "label", None), i) for i, s in enumerate(samples)
    ]
    client = _client()
    return [to_slime(r, client.config.fallback_reward) for r in await client.score(items)]
