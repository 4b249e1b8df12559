"""TRL `GRPOTrainer` adapter: Arbiter's components as TRL reward functions.

    from trl import GRPOConfig, GRPOTrainer
    from arbiter_client.adapters.trl import arbiter_reward_funcs

    funcs = arbiter_reward_funcs("http://127.0.0.1:8000", components=("format", "accuracy"))
    trainer = GRPOTrainer(model=..., reward_funcs=funcs, args=GRPOConfig(..., reward_weights=[0.5, 1.0]), ...)

How TRL (checked against trl 1.16 `GRPOTrainer._calculate_rewards`) calls reward functions, and what follows:

- Every function gets `prompts=`, `completions=`, `completion_ids=` and each dataset column (except `prompt`) as a
  keyword holding one value per completion, plus `trainer_state`, `log_extra`, `log_metric`. Completions are
  strings (standard datasets) or lists of `{"role": "assistant", "content": ...}` (conversational): both are read.
- Functions detected by `inspect.iscoroutinefunction` run concurrently on TRL's own event loop thread. The functions
  returned here are async and share **one** `/v1/score` request per batch: the first to run sends it, the others
  await the same result. One function per component means TRL logs `rewards/arbiter_<component>/mean` for each and
  applies `reward_weights` to them (the server's weights are therefore irrelevant; components come back unweighted).
- A function may return `None` for a completion: TRL turns it into NaN, leaves it out of that reward's logged mean
  and out of the weighted sum (nansum). `accuracy` returns None for rows without a reference column, and every
  component returns None for a row with a reference that Arbiter could not judge (status timeout, error,
  sandbox_unavailable) when `unjudged_as_none` (the default): unjudged is not wrong, and such a row must not earn even its format reward.
  With `split_by_task=True` accuracy becomes `accuracy_math` and `accuracy_code`, each None on the other task's
  rows, so a mixed dataset logs the two separately.
- The adapter never assumes it sees whole groups (with several processes each one scores its own slice): the
  group id sent with each item is a hash of its prompt, which only lets the server compare items of a group
  that happen to be in the same request.
- A dead or slow server never stops training: the client's deadline turns unscored items into `fallback_reward`
  (or None with `fallback_as_none=True`, which TRL then treats as unscorable: advantage 0), logs a warning, and
  the share of fallbacks is logged as the metric `arbiter/fallback_frac`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arbiter_client import AsyncArbiterClient, ScoreResult
from arbiter_client.adapters.common import Task, completion_text, group_key, reference_from_columns

#: The reward function type TRL accepts: an async callable returning one float (or None) per completion.
RewardFunc = Callable[..., Awaitable[list[float | None]]]

# Keywords TRL passes that are not dataset columns.
_TRL_KEYWORDS = frozenset(
    {"prompts", "completions", "completion_ids", "trainer_state", "log_extra", "log_metric", "environments"}
)


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str  # the function's name: what TRL logs
    component: str  # the server's component
    task: Task | None  # only rows of this task (None: all rows)


class _BatchScorer:
    """Sends one request per batch for all the component functions and caches it until the next batch."""

    def __init__(self, client_factory: Callable[[], AsyncArbiterClient], rewards: Mapping[str, Any] | str) -> None:
        self._client_factory = client_factory
        self._rewards = rewards
        self._client: AsyncArbiterClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # (completions object, task future): TRL passes the very same list to every function of one batch, and
        # holding it keeps its id from being reused by a later batch.
        self._current: tuple[object, asyncio.Future[tuple[list[ScoreResult], list[Task | None]]]] | None = None

    def _get_client(self) -> AsyncArbiterClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            # An httpx.AsyncClient belongs to the loop it first ran on; TRL keeps one loop for the whole run,
            # but tests and notebooks may not.
            self._client, self._loop = self._client_factory(), loop
        return self._client

    async def results(
        self, prompts: Sequence[Any], completions: Sequence[Any], columns: Mapping[str, Sequence[Any]]
    ) -> tuple[list[ScoreResult], list[Task | None]]:
        current = self._current
        if current is not None and current[0] is completions and current[1].get_loop() is asyncio.get_running_loop():
            return await asyncio.shield(current[1])
        future = asyncio.ensure_future(self._score(prompts, completions, columns))
        self._current = (completions, future)
        return await asyncio.shield(future)

    async def _score(
        self, prompts: Sequence[Any], completions: Sequence[Any], columns: Mapping[str, Sequence[Any]]
    ) -> tuple[list[ScoreResult], list[Task | None]]:
        items: list[dict[str, Any]] = []
        tasks: list[Task | None] = []
        for i, completion in enumerate(completions):
            row = {
                name: values[i]
                for name, values in columns.items()
                if isinstance(values, Sequence) and len(values) == len(completions)
            }
            task, reference = reference_from_columns(row)
            item: dict[str, Any] = {"id": str(i), "completion": completion_text(completion)}
            if reference is not None:
                item["reference"] = reference
                item["task"] = task
            if i < len(prompts):
                item["group"] = group_key(prompts[i])
            items.append(item)
            tasks.append(task if reference is not None else None)
        results = await self._get_client().score(items, rewards=self._rewards)
        return results, tasks


def arbiter_reward_funcs(
    base_urls: str | Sequence[str] | None = None,
    *,
    components: Sequence[str] = ("format", "accuracy"),
    rewards: Mapping[str, Any] | None = None,
    split_by_task: bool = False,
    unjudged_as_none: bool = True,
    fallback_as_none: bool = False,
    client_factory: Callable[[], AsyncArbiterClient] | None = None,
    **client_options: Any,
) -> list[RewardFunc]:
    """One async TRL reward function per component, named `arbiter_<component>`, in the order of `components`.

    `rewards` is the request's reward selection (parameters of each component, e.g. `{"accuracy": {"mode":
    "all_or_nothing"}}`); by default every component with weight 1. `client_options` go to AsyncArbiterClient
    (api_key, deadline_s, fallback_reward, ...); the adapter defaults to `errors="fallback"` so that one bad row
    does not stop a run. `client_factory` replaces the client altogether (tests inject a transport with it).
    """
    if not components:
        raise ValueError("name at least one component")
    selection: dict[str, Any] = {name: {"weight": 1.0} for name in components}
    if rewards:
        selection.update({name: dict(params) for name, params in rewards.items()})
    if client_factory is None:
        if base_urls is None:
            raise ValueError("give base_urls or client_factory")
        options = {"errors": "fallback", **client_options}
        urls = base_urls

        def client_factory() -> AsyncArbiterClient:
            return AsyncArbiterClient(urls, **options)

    scorer = _BatchScorer(client_factory, selection)
    fallback_reward = float(client_options.get("fallback_reward", 0.0))

    specs: list[_Spec] = []
    for component in components:
        if component == "accuracy" and split_by_task:
            specs += [
                _Spec("arbiter_accuracy_math", "accuracy", "math"),
                _Spec("arbiter_accuracy_code", "accuracy", "code"),
            ]
        else:
            specs.append(_Spec(f"arbiter_{component}", component, None))
    first = specs[0].name
    return [_make_func(spec, scorer, first, unjudged_as_none, fallback_as_none, fallback_reward) for spec in specs]


def _make_func(
    spec: _Spec,
    scorer: _BatchScorer,
    first: str,
    unjudged_as_none: bool,
    fallback_as_none: bool,
    fallback_reward: float,
) -> RewardFunc:
    async def reward_func(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        columns = {k: v for k, v in kwargs.items() if k not in _TRL_KEYWORDS}
        results, tasks = await scorer.results(prompts, completions, columns)
        log_metric = kwargs.get("log_metric")
        if spec.name == first and callable(log_metric) and results:
            log_metric("arbiter/fallback_frac", sum(r.is_fallback for r in results) / len(results))
        return [
            _value(spec, r, t, unjudged_as_none, fallback_as_none, fallback_reward)
            for r, t in zip(results, tasks, strict=True)
        ]

    reward_func.__name__ = reward_func.__qualname__ = spec.name
    reward_func.__doc__ = f"Arbiter component {spec.component!r}" + (f" on {spec.task} rows" if spec.task else "")
    return reward_func


def _value(
    spec: _Spec,
    result: ScoreResult,
    task: Task | None,
    unjudged_as_none: bool,
    fallback_as_none: bool,
    fallback_reward: float,
) -> float | None:
    if spec.component == "accuracy" and task is None:
        return None  # no reference column: accuracy does not apply
    if spec.task is not None and task != spec.task:
        return None
    if result.is_fallback:
        return None if fallback_as_none else fallback_reward
    if unjudged_as_none and task is not None and not result.judged:
        # A row with a reference that nobody could judge (timeout, error, sandbox unavailable): no signal at all,
        # not a 0, and no format reward either. (A row without a reference is format-only: its status says so.)
        return None
    return result.components.get(spec.component)
