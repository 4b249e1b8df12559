"""Score a batch: run every requested reward over the parsed items, combine components into one reward per
item, in request order. One bad item never fails the batch; a reward that crashes marks its component `error`."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from app.errors import InvalidRequest
from app.rewards.base import (
    DEADLINE,
    STATUS_PRIORITY,
    AnyReward,
    Component,
    RewardParams,
    ScoringItem,
    Status,
    Upstream,
    needs_of,
)
from app.rewards.profiles import DEFAULT_PROFILE, PROFILE_KEY, PROFILES, Profile

log = logging.getLogger("arbiter.pipeline")

DEFAULT_SELECTION: Mapping[str, Mapping[str, Any]] = PROFILES[DEFAULT_PROFILE].rewards

#: What a request's `rewards` may be: a profile name, or reward name → parameters with an optional
#: `"profile": name` entry that the other entries override (see app/rewards/profiles.py).
Selection = str | Mapping[str, Mapping[str, Any] | str]

#: After the request deadline, rewards that read DEADLINE return partial results on their own; this much later
#: the pipeline cancels whatever still runs (a reward that ignores DEADLINE) and reports it `timeout`.
HARD_STOP_GRACE_S = 0.5


@dataclass(slots=True)
class ItemOutcome:
    id: str
    reward: float
    components: dict[str, float]
    status: Status
    reason: str | None
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: False when Arbiter could not judge the item (status is not ok: a deadline, a sandbox fault, a bad
    #: reference, an overflowing reward); then `reward` and every component are 0 and carry no signal.
    judged: bool = True


class ScoringObserver(Protocol):
    """Told about every scored batch (metrics, request logs); must be cheap and must not raise."""

    def batch_scored(
        self, components: Mapping[str, Sequence[Component]], outcomes: Sequence[ItemOutcome], timed_out: Sequence[str]
    ) -> None: ...


class Pipeline:
    def __init__(
        self,
        rewards: Mapping[str, AnyReward],
        profiles: Mapping[str, Profile] = PROFILES,
        *,
        deadline_s: float | None = None,
        observers: Sequence[ScoringObserver] = (),
    ) -> None:
        self._rewards = dict(rewards)
        self._deadline_s = deadline_s
        self._observers = tuple(observers)
        _check_dependencies(self._rewards)
        # A profile is offered only where every reward it names exists (a test pipeline with two fake rewards
        # has none); the ones offered are validated now so that a typo in a profile fails at start-up.
        self._profiles = {name: p for name, p in profiles.items() if set(p.rewards) <= set(self._rewards)}
        for profile in self._profiles.values():
            try:
                self._validate(profile.rewards)
            except InvalidRequest as exc:
                raise ValueError(f"profile {profile.name} is invalid: {exc.detail}") from None

    @property
    def rewards(self) -> Mapping[str, AnyReward]:
        return self._rewards

    @property
    def profiles(self) -> Mapping[str, Profile]:
        return self._profiles

    def resolve(self, selection: Selection | None) -> dict[str, RewardParams]:
        """Validate a request's `rewards` into each reward's params; InvalidRequest names the faulty field.

        Rewards that a chosen reward `needs` but the request did not name are added with weight 0.
        """
        if selection is None:
            return self._validate(DEFAULT_SELECTION)
        if isinstance(selection, str):
            return self._validate(self._profile(selection, "rewards").rewards)
        if not selection:
            raise InvalidRequest("rewards: empty; " + self._valid_names())
        merged: dict[str, dict[str, Any]] = {}
        base = selection.get(PROFILE_KEY)
        if base is not None:
            if not isinstance(base, str):
                raise InvalidRequest(f"rewards.{PROFILE_KEY}: must be a profile name; {self._valid_profiles()}")
            merged = {
                name: dict(params) for name, params in self._profile(base, f"rewards.{PROFILE_KEY}").rewards.items()
            }
        for name, raw in selection.items():
            if name == PROFILE_KEY:
                continue
            if not isinstance(raw, Mapping):
                raise InvalidRequest(
                    f"rewards.{name}: expected an object of parameters (only '{PROFILE_KEY}' takes a name)"
                )
            merged[name] = {**merged.get(name, {}), **raw}
        return self._validate(merged)

    def _validate(self, chosen: Mapping[str, Mapping[str, Any]]) -> dict[str, RewardParams]:
        resolved: dict[str, RewardParams] = {}
        for name, raw in chosen.items():
            reward = self._rewards.get(name)
            if reward is None:
                raise InvalidRequest(f"rewards.{name}: unknown reward; {self._valid_names()}")
            try:
                resolved[name] = reward.Params.model_validate(dict(raw))
            except ValidationError as exc:
                first = exc.errors()[0]
                # A model-level check (e.g. cache <= max_len) has no field location: name the reward alone.
                where = "".join(f".{p}" for p in first["loc"])
                raise InvalidRequest(f"rewards.{name}{where}: {first['msg']}") from None
        # Dependencies the request left out are computed with default parameters and weight 0: reported in
        # `components` (so the client sees what the dependent reward read) but not counted in `reward`.
        pending = list(resolved)
        while pending:
            for dep in needs_of(self._rewards[pending.pop()]):
                if dep not in resolved:
                    resolved[dep] = self._rewards[dep].Params(weight=0.0)
                    pending.append(dep)
        return resolved

    def _profile(self, name: str, where: str) -> Profile:
        profile = self._profiles.get(name)
        if profile is None:
            raise InvalidRequest(f"{where}: unknown profile {name!r}; {self._valid_profiles()}")
        return profile

    def _valid_names(self) -> str:
        text = "valid names: " + ", ".join(sorted(self._rewards))
        if self._profiles:
            text += "; or a profile: " + ", ".join(sorted(self._profiles))
        return text

    def _valid_profiles(self) -> str:
        return "valid profiles: " + (", ".join(sorted(self._profiles)) or "none")

    async def score(
        self, items: Sequence[ScoringItem], selection: Mapping[str, RewardParams], *, deadline_s: float | None = None
    ) -> list[ItemOutcome]:
        """One outcome per item, in order. Backpressure is the caller's (the HTTP layer admits items first).

        deadline_s (default: the pipeline's): components not finished by then report `timeout`; the rest of the
        batch comes back as computed.
        """
        deadline_s = self._deadline_s if deadline_s is None else deadline_s
        loop = asyncio.get_running_loop()
        # Set before the tasks are created: each task copies the context, so every reward sees this deadline.
        token = DEADLINE.set(None if deadline_s is None else loop.time() + deadline_s)
        try:
            return await self._score_until(items, selection, deadline_s)
        finally:
            DEADLINE.reset(token)

    async def _score_until(
        self, items: Sequence[ScoringItem], selection: Mapping[str, RewardParams], deadline_s: float | None
    ) -> list[ItemOutcome]:
        names = list(selection)
        tasks: dict[str, asyncio.Task[list[Component]]] = {}

        async def run(name: str) -> list[Component]:
            needs = needs_of(self._rewards[name])
            if not needs:
                return await self._run(name, items, selection[name])
            missing = [dep for dep in needs if dep not in tasks]
            if missing:
                raise ValueError(f"selection has {name} without {missing}; build selections with resolve()")
            # Every task exists before any runs (create_task only schedules), so awaiting a sibling is safe;
            # independent rewards still run concurrently, dependents start as soon as their inputs are ready.
            upstream = {dep: await tasks[dep] for dep in needs}
            return await self._run(name, items, selection[name], upstream)

        for name in names:
            tasks[name] = asyncio.create_task(run(name))
        try:
            hard_stop = None if deadline_s is None else deadline_s + HARD_STOP_GRACE_S
            _, pending = await asyncio.wait(tasks.values(), timeout=hard_stop)
        finally:
            # Also on cancellation of the request (client gone, shutdown past its grace): no orphan reward tasks.
            unfinished = [task for task in tasks.values() if not task.done()]
            for task in unfinished:
                task.cancel()
            if unfinished:
                await asyncio.gather(*unfinished, return_exceptions=True)
        timed_out = [name for name in names if tasks[name] in pending]
        per_reward: dict[str, list[Component]] = {}
        for name in names:
            if name in timed_out:
                log.warning("reward %s did not finish within the request deadline of %g s", name, deadline_s)
                per_reward[name] = [
                    Component.failed(
                        "timeout",
                        f"not finished within the request deadline of {deadline_s:g} s "
                        "(ARBITER_REQUEST_DEADLINE_S); send smaller batches or raise it",
                    )
                    for _ in items
                ]
            else:
                per_reward[name] = tasks[name].result()
        outcomes = []
        for i, item in enumerate(items):
            components = {name: per_reward[name][i] for name in names}
            outcomes.append(_combine(item, components, selection))
        for observer in self._observers:
            observer.batch_scored(per_reward, outcomes, timed_out)
        return outcomes

    async def _run(
        self, name: str, items: Sequence[ScoringItem], params: RewardParams, upstream: Upstream | None = None
    ) -> list[Component]:
        reward = self._rewards[name]
        try:
            if upstream is None:
                components = await reward.score(items, params)  # type: ignore[call-arg]
            else:
                components = await reward.score(items, params, upstream)  # type: ignore[call-arg]
        except Exception:
            # A crash barrier around each reward, so that a bug in one component costs that component, not
            # the batch; the traceback goes to the log, the client sees status "error".
            log.exception("reward %s failed on a batch of %d items", name, len(items))
            return [Component.failed("error", f"internal error in reward {name}; see the server log")] * len(items)
        if len(components) != len(items):
            raise RuntimeError(f"reward {name} returned {len(components)} results for {len(items)} items")
        return components


def _combine(
    item: ScoringItem, components: Mapping[str, Component], selection: Mapping[str, RewardParams]
) -> ItemOutcome:
    status: Status = "ok"
    reason = None
    values: dict[str, float] = {}
    details: dict[str, dict[str, Any]] = {}
    for name, comp in components.items():
        details[name] = dict(comp.details)
        if comp.status == "ok" and not math.isfinite(comp.value):
            # A reward's bug, never the completion's: the item is unjudged rather than a NaN in the trainer.
            log.error("reward %s returned the non-finite value %r for item %s", name, comp.value, item.id)
            comp = Component.failed("error", f"reward {name} returned a non-finite value; see the server log")
        values[name] = comp.value if comp.status == "ok" else 0.0
        if comp.reason is not None:
            details[name]["reason"] = comp.reason
        if comp.status != "ok" and STATUS_PRIORITY[comp.status] > STATUS_PRIORITY[status]:
            status, reason = comp.status, f"{name}: {comp.reason}"
    total = sum(selection[name].weight * value for name, value in values.items()) if status == "ok" else 0.0
    if not math.isfinite(total):
        # Finite weights (RewardParams refuses others) can still overflow: two weights of 1e308.
        status, total = "error", 0.0
        reason = "reward: the weighted sum of the components overflows a float; use smaller weights"
    if status != "ok":
        # Unjudged (docs: "judged"): no component counts, not even format, so that a trainer does not learn from
        # a row nobody judged. The keys stay (every row has the same ones), the values are 0; what a component
        # did compute stays readable in its details.
        for name, value in values.items():
            if components[name].status == "ok":
                details[name]["value"] = value
        values = dict.fromkeys(values, 0.0)
    return ItemOutcome(
        id=item.id,
        reward=total,
        components=values,
        status=status,
        reason=reason,
        details=details,
        judged=status == "ok",
    )


def _check_dependencies(rewards: Mapping[str, AnyReward]) -> None:
    """Every `needs` names a reward of the catalogue and there is no cycle; a programming error otherwise."""
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ValueError("rewards depend on each other in a cycle: " + " -> ".join((*path, name)))
        state[name] = "visiting"
        for dep in needs_of(rewards[name]):
            if dep not in rewards:
                raise ValueError(f"reward {name} needs {dep}, which is not in the catalogue")
            visit(dep, (*path, name))
        state[name] = "done"

    for name in rewards:
        visit(name, ())
