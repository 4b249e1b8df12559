"""OpenRLHF remote reward adapter.

OpenRLHF's `--remote_rm_url` takes either an HTTP URL or a Python file:

- **HTTP** (`--remote_rm_url http://arbiter:8000/get_reward`): OpenRLHF POSTs `{"query": [...], "prompts": [...],
  "labels": [...]}` (with `--label_key answer` for the labels) and reads `{"rewards", "scores", "extra_logs"}`. The
  service serves this at `POST /get_reward` , with the same pipeline as `/v1/score`.
- **File** (`--remote_rm_url "$(python -c 'import arbiter_client.adapters.openrlhf as m; print(m.__file__)')"`): OpenRLHF imports the file and calls
  `reward_func(queries, prompts, labels)`; the one here sends the batch to the Arbiter at `$ARBITER_URL` with the
  client (chunks, fail-over, deadline, fallback) and returns the same dict, as torch tensors when torch is there.

The protocol, as OpenRLHF defines it: each query is the prompt followed by the response, decoded *with* special
tokens; the response is what follows the prompt (trailing chat-template tokens such as `<|im_end|>` are stripped
before scoring, because the format reward's strict template allows nothing after `</answer>`). Labels are the
dataset's label column: a gold answer for math, tests (JSON) for code. `rewards` is the weighted reward used for
advantages; `scores` is the accuracy component (OpenRLHF's dynamic filtering expects a score in [0, 1]), or the reward
when accuracy is not computed; `extra_logs` holds one list per component, which OpenRLHF averages into its logs.
Empty lists are a valid request and get empty lists back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from arbiter_client import ArbiterClient
from arbiter_client.adapters.common import group_key, reference_from_label, response_from_query, strip_special_tokens
from arbiter_client.adapters.env import client_options_from_env


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


def build_response(rewards: Sequence[float], components: Sequence[Mapping[str, float]]) -> dict[str, Any]:
    """OpenRLHF's response from per-item rewards and components (in request order)."""
    names: list[str] = []
    for comps in components:
        names += [n for n in comps if n not in names]
    scores = [float(c.get("accuracy", r)) for r, c in zip(rewards, components, strict=True)]
    extra_logs = {name: [float(c.get(name, 0.0)) for c in components] for name in names}
    return {"rewards": [float(r) for r in rewards], "scores": scores, "extra_logs": extra_logs}


_client: ArbiterClient | None = None


def _get_client() -> ArbiterClient:
    global _client
    if _client is None:
        urls, options = client_options_from_env()
        _client = ArbiterClient(urls, **options)
    return _client


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None) -> dict[str, Any]:
    """OpenRLHF's file-based remote reward function, scored by the Arbiter at $ARBITER_URL."""
    results = _get_client().score(build_items(queries, prompts, labels))
    response = build_response([r.reward for r in results], [r.components for r in results])
    try:
        import torch  # OpenRLHF's file protocol expects tensors; torch is always there inside OpenRLHF.
    except ImportError:
        return response
    return {
        "rewards": torch.tensor(response["rewards"]),
        "scores": torch.tensor(response["scores"]),
        "extra_logs": {k: torch.tensor(v) for k, v in response["extra_logs"].items()},
    }
