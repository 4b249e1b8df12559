"""OpenRLHF remote reward adapter.

OpenRLHF's `--remote_rm_url` takes either an HTTP URL or a Python file:

- **HTTP** (`--remote_rm_url http://arbiter:8000/get_reward`): OpenRLHF POSTs `{"query": [...], "prompts": [...],
  "labels": [...]}` (with `--label_key answer` for the labels) and reads `{"rewards", "scores", "extra_logs"}`. The
  service serves this at `POST /get_reward`, with the same pipeline as `/v1/score`.
- **File**: OpenRLHF loads the file by path and calls `reward_func(queries, prompts, labels)`; point it at this
  module of the installed package,
  `--remote_rm_url "$(python -c 'import arbiter_client.adapters.openrlhf as m; print(m.__file__)')"`; the one here sends the batch to the Arbiter at `$ARBITER_URL` with the
  client (chunks, fail-over, deadline, fallback) and returns the same dict, as torch tensors when torch is there.

The protocol, as OpenRLHF defines it: each query is the prompt followed by the response, decoded *with* special
tokens; the response is what follows the prompt (trailing chat-template tokens such as `<|im_end|>` are stripped
before scoring, because the format reward's strict template allows nothing after `</answer>`). Labels are the
dataset's label column: a gold answer for math, tests (JSON) for code. `rewards` is the weighted reward used for
advantages; `scores` is the accuracy component (OpenRLHF's dynamic filtering expects a score in [0, 1]), or the reward
when accuracy is not computed; `extra_logs` holds one list per component, which OpenRLHF averages into its logs,
and `arbiter_judged` (0 for a row nobody judged: its reward and score are then the fallback reward, default 0).
Empty lists are a valid request and get empty lists back. Checked against OpenRLHF 0.11's own client
(`openrlhf.utils.agent.SingleTurnAgentExecutor`), which sends one rollout per call: over HTTP one request per
rollout (OpenRLHF's code, not ours to change); through the file, concurrent calls are coalesced into batched
requests (see `reward_func`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from arbiter_client import ArbiterClient, ScoreResult
from arbiter_client.adapters.common import group_key, reference_from_label, response_from_query, strip_special_tokens
from arbiter_client.adapters.env import batching_from_env, client_options_from_env
from arbiter_client.batching import ThreadMicroBatcher


def build_items(
    queries: Sequence[str], prompts: Sequence[str] | None, labels: Sequence[Any] | None
) -> list[dict[str, Any]]:
    """API items from an OpenRLHF request; raises ValueError when the lists do not line up."""
    prompts = list(prompts or [])
    labels = list(labels or [])
    if prompts and len(prompts) != len(queries):
        raise ValueError(f"prompts has {len(prompts)} entries but query has {len(queries)}")
    if labels and len(labels) != len(queries):
        raise ValueError(f"labels has {len(labels)} entries but query has {len(queries)}")
    items = []
    for i, query in enumerate(queries):
        prompt = prompts[i] if prompts else ""
        item: dict[str, Any] = {"id": str(i), "completion": strip_special_tokens(response_from_query(query, prompt))}
        if prompt:
            item["group"] = group_key(prompt)
        if labels:
            task, reference = reference_from_label(labels[i])
            if reference is not None:
                item["reference"] = reference
                item["task"] = task
        items.append(item)
    return items


def build_response(results: Sequence[ScoreResult], unjudged_reward: float) -> dict[str, Any]:
    """OpenRLHF's response from results in request order. A row Arbiter did not judge (timeout, error, sandbox
    unavailable, client fallback) gets `unjudged_reward` as reward and score, 0 for every component, and
    `arbiter_judged` 0 in extra_logs: OpenRLHF has no "no reward", so this is the documented default."""
    names: list[str] = []
    for result in results:
        names += [n for n in result.components if n not in names]
    rewards = [r.reward if r.judged else unjudged_reward for r in results]
    scores = [r.components.get("accuracy", r.reward) if r.judged else unjudged_reward for r in results]
    extra_logs = {name: [r.components.get(name, 0.0) if r.judged else 0.0 for r in results] for name in names}
    extra_logs["arbiter_judged"] = [1.0 if r.judged else 0.0 for r in results]
    return {"rewards": rewards, "scores": scores, "extra_logs": extra_logs}


_client: ArbiterClient | None = None
_batcher: ThreadMicroBatcher | None = None
_lock = threading.Lock()


def _get_client() -> ArbiterClient:
    global _client
    with _lock:
        if _client is None:
            urls, options = client_options_from_env()
            _client = ArbiterClient(urls, **options)
        return _client


def _get_batcher() -> ThreadMicroBatcher:
    global _batcher
    client = _get_client()
    with _lock:
        if _batcher is None:
            window_s, max_items = batching_from_env()
            _batcher = ThreadMicroBatcher(client, window_s=window_s, max_items=max_items)
        return _batcher


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None) -> dict[str, Any]:
    """OpenRLHF's file-based remote reward function, scored by the Arbiter at $ARBITER_URL.

    OpenRLHF 0.11 (`SingleTurnAgentExecutor._fetch_rewards_via_func`) calls it once per rollout, with one query,
    each call on a thread of its own (`asyncio.to_thread`) while the actor's other rollouts run: those concurrent
    one-query calls are coalesced into batched requests (`ThreadMicroBatcher`, `ARBITER_BATCH_WINDOW_S` /
    `ARBITER_BATCH_MAX_ITEMS`); a call with several queries is one request of its own. A batch is at most as large
    as the threads OpenRLHF's calls run on: `asyncio.to_thread` uses the loop's default executor, min(32, CPUs + 4)
    threads, so up to 32 rollouts per request on a training node (rollouts beyond wait for a thread, as they do
    without the adapter)."""
    client = _get_client()
    items = build_items(queries, prompts, labels)
    results = [_get_batcher().score(items[0])] if len(items) == 1 else client.score(items)
    response = build_response(results, client.config.fallback_reward)
    try:
        import torch  # OpenRLHF's file protocol expects tensors; torch is always there inside OpenRLHF.
    except ImportError:
        return response
    return {
        "rewards": torch.tensor(response["rewards"]),
        "scores": torch.tensor(response["scores"]),
        "extra_logs": {k: torch.tensor(v) for k, v in response["extra_logs"].items()},
    }
