"""Score a batch: run every requested reward over the parsed items, combine components into one reward per
item, in request order. One bad item never fails the batch; a reward that crashes marks its component `error`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from app.errors import InvalidRequest
from app.rewards.base import STATUS_PRIORITY, Component, Reward, RewardParams, ScoringItem, Status

log = logging.getLogger("arbiter.pipeline")

DEFAULT_SELECTION: Mapping[str, Mapping[str, Any]] = {"format": {"weight": 1.0}, "accuracy": {"weight": 1.0}}


@dataclass(slots=True)
class ItemOutcome:
    id: str
    reward: float
    components: dict[str, float]
    status: Status
    reason: str | None
    details: dict[str, dict[str, Any]] = field(default_factory=dict)


class Pipeline:
    def __init__(self, rewards: Mapping[str, Reward]) -> None:
        self._rewards = dict(rewards)

    @property
    def rewards(self) -> Mapping[str, Reward]:
        return self._rewards

    def resolve(self, selection: Mapping[str, Mapping[str, Any]] | None) -> dict[str, RewardParams]:
        """Validate a request's `rewards` into each reward's params; InvalidRequest names the faulty field."""
        chosen = DEFAULT_SELECTION if selection is None else selection
        if not chosen:
            raise InvalidRequest("rewards: empty; name at least one of " + ", ".join(sorted(self._rewards)))
        resolved: dict[str, RewardParams] = {}
        for name, raw in chosen.items():
            reward = self._rewards.get(name)
            if reward is None:
                raise InvalidRequest(f"rewards.{name}: unknown reward; valid names: {', '.join(sorted(self._rewards))}")
            try:
                resolved[name] = reward.Params.model_validate(dict(raw))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise InvalidRequest(f"rewards.{name}.{where}: {first['msg']}") from None
        return resolved

    async def score(self, items: Sequence[ScoringItem], selection: Mapping[str, RewardParams]) -> list[ItemOutcome]:
        names = list(selection)
        per_reward = await asyncio.gather(*(self._run(name, items, selection[name]) for name in names))
        outcomes = []
        for i, item in enumerate(items):
            components = {name: per_reward[k][i] for k, name in enumerate(names)}
            outcomes.append(_combine(item, components, selection))
        return outcomes

    async def _run(self, name: str, items: Sequence[ScoringItem], params: RewardParams) -> list[Component]:
        try:
            components = await self._rewards[name].score(items, params)
        except Exception:
            # A crash barrier around each reward, so that a bug in one component costs that component, not
            # the batch; the traceback goes to the log, the client sees status "error".
            log.exception("reward %s failed on a batch of %d items", name, len(items))
            return [Component.failed("error", f"internal error in reward {name}; see the server log")] * len(items)
        if len(components) != len(items):
            raise RuntimeError(f"reward {name} returned {len(components)} results for {len(items)} items")
        return components


def _combine(item: ScoringItem, components: Mapping[str, Component], selection: Mapping[str, RewardParams]) -> ItemOutcome:
    status: Status = "ok"
    reason = None
    values: dict[str, float] = {}
    details: dict[str, dict[str, Any]] = {}
    total = 0.0
    for name, comp in components.items():
        value = comp.value if comp.status == "ok" else 0.0
        values[name] = value
        total += selection[name].weight * value
        details[name] = dict(comp.details)
        if comp.reason is not None:
            details[name]["reason"] = comp.reason
        if comp.status != "ok" and STATUS_PRIORITY[comp.status] > STATUS_PRIORITY[status]:
            status, reason = comp.status, f"{name}: {comp.reason}"
    return ItemOutcome(id=item.id, reward=total, components=values, status=status, reason=reason, details=details)
