"""verl adapter: a custom reward function for verl 0.9's reward loop, backed by Arbiter.

Configure it with verl's own keys (verl 0.9.1, `python -m verl.trainer.main_ppo ...`); the module is loaded from
the installed `arbiter-client` package by verl's `pkg://` prefix, so no Ray worker needs a PYTHONPATH:

    reward.custom_reward_function.path=pkg://arbiter_client.adapters.verl
    reward.custom_reward_function.name=compute_score
    reward.reward_manager.name=naive            # or dapo (its overlong penalty is added by verl on top)
    +reward.custom_reward_function.reward_kwargs.rewards=dapo                       # optional, see below
    +reward.custom_reward_function.reward_kwargs.unjudged_score=0.0

and `ARBITER_URL=http://arbiter-0:8000,http://arbiter-1:8000` in the environment of the reward workers (optional
`ARBITER_API_KEY`, `ARBITER_DEADLINE_S`, `ARBITER_FALLBACK_REWARD`; see arbiter_client/adapters/env.py).

`compute_score(data_source, solution_str, ground_truth, extra_info, **reward_kwargs)` is async: verl's naive and
dapo managers await it once per rollout, all rollouts of a batch concurrently. Those concurrent calls are
coalesced (arbiter_client/batching.py) into a few batched requests instead of one request per rollout. For one
request per reward worker's batch, use the reward-loop manager instead (arbiter_client/adapters/verl_manager.py,
`reward.reward_manager.source=importlib`); it reads rows with this module's `build_item` and returns `to_verl`.

What every call returns, **the same keys for every row** (verl builds its extra-info arrays from the first row's
keys, so a row with fewer keys would fail the step):

    {"score": reward, "<component>": value for each of `components`, "arbiter_judged": 1.0 | 0.0}

- `arbiter_judged` is 1.0 when Arbiter judged the row (status `ok`; a wrong answer is judged, with accuracy 0)
  and 0.0 when nobody did: a timeout, an error (no usable reference, a refused row), an unavailable sandbox, or a
  client fallback (server down, deadline passed). Such a row gets `score = unjudged_score` (default 0.0) and every
  component 0.0 — no format reward for a row whose accuracy nobody judged. Filter on `arbiter_judged` (verl logs
  it) rather than on the score.
- `reward_kwargs` (verl passes `reward.custom_reward_function.reward_kwargs` into every call) are honoured:
  `rewards` (the request's selection: a profile name such as `"dapo"`, or `{component: params}` with weights),
  `components` (the component keys returned, default `["format", "accuracy"]`: name the components your
  selection produces), `unjudged_score`, `arbiter_url` (instead of `$ARBITER_URL`). Any other key is an error
  naming these, rather than silently ignored.

Rows are read as verl's `examples/data_preprocess` scripts write them: `data_source` picks math or code (the
sources of verl's `default_compute_score`, see `DATA_SOURCE_TASKS`), `reward_model.ground_truth` is a gold answer
or tests (APPS/codecontests `{"inputs", "outputs"}`, as an object or JSON; sandbox_fusion rows with `assert_case`
are sent as stored, see `sandbox_fusion_reference`), and `extra_info` may carry `tests`
(overriding the ground truth for code), `language` (codeforces rows: `cpp`), `index` and `uid`/`group`. A parquet
file holds one schema for all rows, so keys of other rows arrive with None values (a math row with `tests: None`):
None is read as absent.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from arbiter_client.adapters.common import Task, reference_from_label
from arbiter_client.adapters.env import batching_from_env, client_options_from_env
from arbiter_client.async_client import AsyncArbiterClient
from arbiter_client.batching import MicroBatcher
from arbiter_client.models import Rewards, ScoreResult

#: verl data_source names (those of verl/utils/reward_score/__init__.py's default_compute_score) → task.
DATA_SOURCE_TASKS: dict[str, Task] = {
    "openai/gsm8k": "math",
    "gsm8k": "math",
    "lighteval/MATH": "math",
    "DigitalLearningGmbH/MATH-lighteval": "math",
    "HuggingFaceH4/MATH-500": "math",
    "math_dapo": "math",
    "math_dapo_reasoning": "math",
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

#: Languages as datasets spell them → the API's names.
_LANGUAGES = {"python": "python", "python3": "python", "py": "python", "cpp": "cpp", "c++": "cpp", "cxx": "cpp"}

#: The keys verl's managers add to every call when a reward model is configured; not ours to read.
_VERL_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})
_OUR_KWARGS = frozenset({"rewards", "components", "unjudged_score", "arbiter_url"})

DEFAULT_COMPONENTS: tuple[str, ...] = ("format", "accuracy")
JUDGED_KEY = "arbiter_judged"


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


def sandbox_fusion_reference(label: Any) -> dict[str, Any] | None:
    """A code reference carrying verl's sandbox_fusion test cases as the row stores them, or None for other labels.

    Only rows with `assert_case` take this path (plain `inputs`/`outputs` rows are the API's IO tests already):
    their fields go to the server untouched (`reference.tests` accepts dataset rows as they are stored), so the
    client does not second-guess how asserts are judged. The one decoding is the storage's: a JSON string is
    parsed, and None values (keys parquet added from other rows) are dropped.
    """
    value = _maybe_json(label)
    if not isinstance(value, Mapping) or value.get("assert_case") is None:
        return None
    tests = {str(k): _plain(v) for k, v in value.items() if v is not None and k != "language"}
    language = value.get("language")
    return {"language": language if isinstance(language, str) else "python", "tests": tests}


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value.strip()[:1] == "{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def build_item(
    index: int,
    data_source: str | None,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The API item for one verl rollout. A None value is read as absent (parquet gives every row every key)."""
    extra = extra_info or {}
    tests = extra.get("tests")
    label = ground_truth if tests is None else tests
    task: Task | None = "code"
    reference = sandbox_fusion_reference(label)
    if reference is None:
        task, reference = reference_from_label(label, task_of(data_source))
    language = extra.get("language")
    if reference is not None and task == "code" and isinstance(language, str):
        # Unknown languages go as written: the server names what it supports in its 422, and the row falls back.
        reference["language"] = _LANGUAGES.get(language.lower(), language.lower())
    row = extra.get("index")
    item: dict[str, Any] = {"id": str(index if row is None else row), "completion": solution_str}
    if reference is not None:
        item["reference"] = reference
        item["task"] = task
    # The rollouts of one prompt share its row's extra_info: uid (verl's group id) when there, else the row index.
    group = extra.get("uid") or extra.get("group")
    if group is None and row is not None:
        group = f"{data_source}:{row}"
    if group is not None:
        item["group"] = str(group)
    return item


def to_verl(result: ScoreResult, components: Sequence[str], unjudged_score: float) -> dict[str, float]:
    """verl's score dict, the same keys for every result."""
    if not result.judged:
        out = {"score": unjudged_score}
        out.update(dict.fromkeys(components, 0.0))
        out[JUDGED_KEY] = 0.0
        return out
    out = {"score": result.reward}
    out.update({name: result.components.get(name, 0.0) for name in components})
    out[JUDGED_KEY] = 1.0
    return out


class VerlOptions:
    """reward_kwargs, checked (the function's, and the manager's in arbiter_client/adapters/verl_manager.py)."""

    def __init__(self, kwargs: Mapping[str, Any]) -> None:
        unknown = set(kwargs) - _OUR_KWARGS - _VERL_KWARGS
        if unknown:
            raise TypeError(f"unknown reward_kwargs {sorted(unknown)}: the Arbiter adapter reads {sorted(_OUR_KWARGS)}")
        rewards = kwargs.get("rewards")
        if rewards is not None and not isinstance(rewards, (str, Mapping)):
            raise TypeError(f"reward_kwargs.rewards is a profile name or a mapping, not {type(rewards).__name__}")
        # OmegaConf containers are Mappings/Sequences but not JSON-serialisable: plain copies.
        self.rewards: Rewards | None = _plain(rewards) if rewards is not None else None
        components = kwargs.get("components") or DEFAULT_COMPONENTS
        if isinstance(components, str):
            components = [c.strip() for c in components.split(",") if c.strip()]
        self.components: tuple[str, ...] = tuple(str(c) for c in components)
        self.unjudged_score = float(kwargs.get("unjudged_score", 0.0))
        url = kwargs.get("arbiter_url")
        self.urls: tuple[str, ...] | None = (
            None if url is None else tuple(u.strip() for u in str(url).split(",") if u.strip())
        )


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        # numpy arrays and scalars (parquet columns read back through numpy): their Python values.
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)) or (isinstance(value, Sequence) and not isinstance(value, str)):
        return [_plain(v) for v in value]
    return value


class VerlScorer:
    """The verl entry points around one configuration (the module functions use a default instance built from the
    environment). One client and one micro-batcher per event loop and reward selection: an httpx.AsyncClient
    belongs to the loop it first ran on, and verl's reward workers each run their own."""

    def __init__(
        self,
        base_urls: str | Sequence[str],
        *,
        window_s: float = 0.005,
        max_items: int = 512,
        **client_options: Any,
    ) -> None:
        self._urls = (base_urls,) if isinstance(base_urls, str) else tuple(base_urls)
        self._options = {"errors": "fallback", **client_options}
        self._window_s = window_s
        self._max_items = max_items
        self._lock = threading.Lock()
        self._clients: dict[tuple[asyncio.AbstractEventLoop, tuple[str, ...]], AsyncArbiterClient] = {}
        self._batchers: dict[tuple[asyncio.AbstractEventLoop, tuple[str, ...], str], MicroBatcher] = {}

    def batcher(self, rewards: Rewards | None, urls: tuple[str, ...] | None = None) -> MicroBatcher:
        loop = asyncio.get_running_loop()
        urls = urls or self._urls
        key = (loop, urls, repr(rewards))
        with self._lock:
            batcher = self._batchers.get(key)
            if batcher is None:
                client = self._clients.get((loop, urls))
                if client is None:
                    client = self._clients[(loop, urls)] = AsyncArbiterClient(list(urls), **self._options)
                batcher = self._batchers[key] = MicroBatcher(
                    client, rewards=rewards, window_s=self._window_s, max_items=self._max_items
                )
            return batcher

    def batches_sent(self) -> int:
        """Batched requests sent so far by this scorer's micro-batchers (what the tests and the benchmark read)."""
        with self._lock:
            return sum(b.batches_sent for b in self._batchers.values())

    async def compute_score(
        self,
        data_source: str,
        solution_str: str,
        ground_truth: Any,
        extra_info: Mapping[str, Any] | None = None,
        **reward_kwargs: Any,
    ) -> dict[str, float]:
        options = VerlOptions(reward_kwargs)
        item = build_item(0, data_source, solution_str, ground_truth, extra_info)
        result = await self.batcher(options.rewards, options.urls).score(item)
        return to_verl(result, options.components, options.unjudged_score)

    async def compute_score_batch(
        self,
        data_sources: Sequence[str],
        solution_strs: Sequence[str],
        ground_truths: Sequence[Any],
        extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
        **reward_kwargs: Any,
    ) -> list[dict[str, float]]:
        """A whole batch in one call, for a custom reward manager that has it (and for scripts)."""
        options = VerlOptions(reward_kwargs)
        infos = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
        items = [
            build_item(i, ds, s, gt, info)
            for i, (ds, s, gt, info) in enumerate(zip(data_sources, solution_strs, ground_truths, infos, strict=True))
        ]
        batcher = self.batcher(options.rewards, options.urls)
        results = await asyncio.gather(*(batcher.score(item) for item in items))
        return [to_verl(r, options.components, options.unjudged_score) for r in results]

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            mine = [k for k in self._clients if k[0] is loop]
            clients = [self._clients.pop(k) for k in mine]
            for key in [k for k in self._batchers if k[0] is loop]:
                del self._batchers[key]
        for client in clients:
            await client.aclose()


_default: VerlScorer | None = None
_default_lock = threading.Lock()


def _default_scorer() -> VerlScorer:
    global _default
    with _default_lock:
        if _default is None:
            urls, options = client_options_from_env()
            window_s, max_items = batching_from_env()
            _default = VerlScorer(urls, window_s=window_s, max_items=max_items, **options)
        return _default


async def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    **reward_kwargs: Any,
) -> dict[str, float]:
    """verl's reward function (async, one rollout per call), scored by the Arbiter at $ARBITER_URL."""
    return await _default_scorer().compute_score(data_source, solution_str, ground_truth, extra_info, **reward_kwargs)
