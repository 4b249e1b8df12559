"""verl adapter: `compute_score` for verl's reward managers, backed by Arbiter.

verl loads a custom reward function by path and name (`custom_reward_function.path=<this file in the installed arbiter-client>`,
`custom_reward_function.name=compute_score`). The module-level functions read the server from environment
variables, because verl gives the function no other configuration channel that reaches its reward workers:

- `ARBITER_URL`: one base URL, or several separated by commas (spread round-robin, failed over);
- `ARBITER_API_KEY` (optional), `ARBITER_DEADLINE_S` (default 300), `ARBITER_FALLBACK_REWARD` (default 0).

Two entry points, for verl's two calling conventions:

- `compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs)`, async: one item, for the
  per-item managers (naive, prime, the async reward loop); verl awaits coroutine functions there.
- `compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos, **kwargs)`, sync: the whole
  batch in chunked requests, for `reward_model.reward_manager=batch` (BatchRewardManager calls it with those
  keyword names and takes a list back). Prefer it: it is one request per chunk instead of one per item.

Both return `{"score": reward, "<component>": value, ..., "arbiter_ok": 1.0|0.0}` per item; verl uses "score"
as the reward and logs the other keys as `reward_extra_info` (they are numbers so that verl can average them).

`data_source` picks the task: the names of verl's bundled preprocessors map to math or code (see
`DATA_SOURCE_TASKS`); for other names the ground truth decides (tests → code, anything else → a math answer).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from arbiter_client import ArbiterClient, AsyncArbiterClient, ScoreResult
from arbiter_client.adapters.common import Task, reference_from_label
from arbiter_client.adapters.env import client_options_from_env

#: verl data_source names (those of verl/utils/reward_score/__init__.py's default_compute_score) → task.
DATA_SOURCE_TASKS: dict[str, Task] = {
    "openai/gsm8k": "math",
    "gsm8k": "math",
    "lighteval/MATH": "math",
    "DigitalLearningGmbH/MATH-lighteval": "math",
    "HuggingFaceH4/MATH-500": "math",
    "math_dapo": "math",
    "math": "math",
    "numina_aops_forum": "math",
    "numina_synthetic_math": "math",
    "numina_amc_aime": "math",
    "numina_synthetic_amc": "math",
    "numina_cn_k12": "math",
    "numina_olympiads": "math",
    "deepscaler": "math",
    "codecontests": "code",
    "apps": "code",
    "codeforces": "code",
    "taco": "code",
    "primeintellect": "code",
    "livecodebench": "code",
    "humaneval": "code",
}
# Families verl matches by prefix (aime2024, aime2025, ...).
_PREFIX_TASKS: tuple[tuple[str, Task], ...] = (("aime", "math"), ("amc", "math"), ("numina_", "math"), ("math", "math"))


def task_of(data_source: str | None) -> Task | None:
    """The task a data_source names, or None when unknown (the ground truth then decides)."""
    if not data_source:
        return None
    if data_source in DATA_SOURCE_TASKS:
        return DATA_SOURCE_TASKS[data_source]
    lowered = data_source.lower()
    for name, task in DATA_SOURCE_TASKS.items():
        if name.lower() == lowered:
            return task
    for prefix, task in _PREFIX_TASKS:
        if lowered.startswith(prefix):
            return task
    return None


def build_item(
    index: int, data_source: str | None, solution_str: str, ground_truth: Any, extra_info: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The API item for one verl sample. extra_info may carry `group` (verl's uid) and `tests` overriding the
    ground truth for code."""
    extra = extra_info or {}
    task, reference = reference_from_label(extra.get("tests", ground_truth), task_of(data_source))
    item: dict[str, Any] = {"id": str(extra.get("index", index)), "completion": solution_str}
    if reference is not None:
        item["reference"] = reference
        item["task"] = task
    if extra.get("group") is not None or extra.get("uid") is not None:
        item["group"] = str(extra.get("group", extra.get("uid")))
    return item


def to_verl(result: ScoreResult) -> dict[str, float]:
    """verl's score dict: "score" plus every component, all floats."""
    out: dict[str, float] = {"score": result.reward}
    out.update(result.components)
    out["arbiter_ok"] = 1.0 if result.status == "ok" else 0.0
    return out


class VerlScorer:
    """The two verl entry points around one configured client pair (module functions use a default instance)."""

    def __init__(
        self, base_urls: str | Sequence[str], rewards: Mapping[str, Any] | str | None = None, **client_options: Any
    ) -> None:
        self._urls = base_urls
        self._options = {"errors": "fallback", **client_options}
        self._rewards = rewards
        self._lock = threading.Lock()
        self._sync: ArbiterClient | None = None
        self._async: dict[asyncio.AbstractEventLoop, AsyncArbiterClient] = {}

    def _sync_client(self) -> ArbiterClient:
        with self._lock:
            if self._sync is None:
                self._sync = ArbiterClient(self._urls, **self._options)
            return self._sync

    def _async_client(self) -> AsyncArbiterClient:
        # One async client per event loop: verl's reward workers may each run their own loop.
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async.get(loop)
            if client is None:
                client = self._async[loop] = AsyncArbiterClient(self._urls, **self._options)
            return client

    async def compute_score(
        self,
        data_source: str,
        solution_str: str,
        ground_truth: Any,
        extra_info: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, float]:
        item = build_item(0, data_source, solution_str, ground_truth, extra_info)
        (result,) = await self._async_client().score([item], rewards=self._rewards)
        return to_verl(result)

    def compute_score_batch(
        self,
        data_sources: Sequence[str],
        solution_strs: Sequence[str],
        ground_truths: Sequence[Any],
        extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
        **kwargs: Any,
    ) -> list[dict[str, float]]:
        infos = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
        items = [
            build_item(i, ds, s, gt, info)
            for i, (ds, s, gt, info) in enumerate(zip(data_sources, solution_strs, ground_truths, infos, strict=True))
        ]
        return [to_verl(r) for r in self._sync_client().score(items, rewards=self._rewards)]

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()


_default: VerlScorer | None = None
_default_lock = threading.Lock()


def _default_scorer() -> VerlScorer:
    global _default
    with _default_lock:
        if _default is None:
            urls, options = client_options_from_env()
            _default = VerlScorer(urls, **options)
        return _default


async def compute_score(
    data_source: str, solution_str: str, ground_truth: Any, extra_info: Mapping[str, Any] | None = None, **kwargs: Any
) -> dict[str, float]:
    """verl's per-item reward function (async), scored by the Arbiter at $ARBITER_URL."""
    return await _default_scorer().compute_score(data_source, solution_str, ground_truth, extra_info, **kwargs)


def compute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    **kwargs: Any,
) -> list[dict[str, float]]:
    """verl's batch reward function (reward_manager=batch), scored by the Arbiter at $ARBITER_URL."""
    return _default_scorer().compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos, **kwargs)
