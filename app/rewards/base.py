"""What every reward is: a named, parametrized function from a batch of parsed items to one Component each.

Rewards score whole batches (not single items) because some need the batch: identical work is done once,
and length-based rewards compare the items of a GRPO group with each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from app.completion import ParsedCompletion
from app.references import CodeTests, Language

#: ok: the reward was computed (a wrong answer is ok with value 0). The others mean Arbiter could not judge
#: the item and scored the component 0: timeout (a deadline passed), error (bad reference, internal fault),
#: sandbox_unavailable (no isolation backend can run code now; never the program's fault).
Status = Literal["ok", "timeout", "error", "sandbox_unavailable"]
Task = Literal["math", "code"]

# When an item has several failed components, the one reported on the item is the most actionable.
STATUS_PRIORITY: dict[str, int] = {"ok": 0, "error": 1, "timeout": 2, "sandbox_unavailable": 3}


@dataclass(frozen=True, slots=True)
class MathReference:
    answers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CodeReference:
    language: Language
    #: The item's tests as the request gave them, already validated by the intake (app/references.py).
    tests: CodeTests
    cpu_s: float | None = None
    memory_mb: int | None = None
    cpu_multiplier: float | None = None  # the item's own (reference.limits.cpu_multiplier)
    #: reference.checker (app/code_formats.py BuiltinChecker | ProgramChecker) and reference.subtasks
    checker: Any = None
    subtasks: Any = None
    interactor: Any = None  # reference.interactor (app/code_formats.py Interactor)


@dataclass(frozen=True, slots=True)
class ScoringItem:
    index: int
    id: str
    parsed: ParsedCompletion
    task: Task | None
    reference: MathReference | CodeReference | None
    group: str | None = None
    completion_tokens: int | None = None
    #: Free-form per-item fields a reward may read (e.g. target language); validated by that reward.
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Component:
    value: float
    status: Status = "ok"
    #: Why the item is not ok, or why an ok item scored what it did (e.g. "no \\boxed{} answer found").
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failed(cls, status: Status, reason: str, **details: Any) -> Component:
        return cls(value=0.0, status=status, reason=reason, details=details)


class RewardParams(BaseModel):
    """Parameters every reward takes; each reward subclasses this with its own."""

    # allow_inf_nan=False: Python's JSON parser reads NaN and Infinity, and one such weight or parameter would turn
    # every reward it touches (and its group's advantages) into NaN; refused with a 422 naming the field instead.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    weight: float = Field(1.0, description="Factor of this component in the item's reward; a finite number.")


class Reward(Protocol):
    name: ClassVar[str]
    description: ClassVar[str]
    Params: ClassVar[type[RewardParams]]

    async def score(self, items: Sequence[ScoringItem], params: RewardParams) -> list[Component]:
        """One Component per item, in the order of `items`. Never raises for a bad item."""
        ...


#: What a dependent reward receives: the components of the rewards it `needs`, by name, one per item in the
#: order of `items`. A component that failed (timeout, error, ...) is passed as is: the reader decides.
Upstream = Mapping[str, Sequence[Component]]


class DependentReward(Protocol):
    """A reward that reads other components' results (length and cosine read accuracy's correctness).

    The pipeline runs it after the rewards it `needs` and adds any of them the request did not name with
    weight 0, so that they are computed (and reported) without counting in the reward.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    Params: ClassVar[type[RewardParams]]
    needs: ClassVar[tuple[str, ...]]

    async def score(self, items: Sequence[ScoringItem], params: RewardParams, upstream: Upstream) -> list[Component]:
        """One Component per item, in the order of `items`. Never raises for a bad item."""
        ...


AnyReward = Reward | DependentReward


def needs_of(reward: AnyReward) -> tuple[str, ...]:
    """The rewards this one reads; () for the plain Reward protocol, which has no `needs`."""
    return tuple(getattr(reward, "needs", ()))


#: The request's deadline as an event-loop time, set by the pipeline for the rewards of one batch (None: no
#: deadline). A reward that works item by item reads it to return what finished and mark the rest `timeout`;
#: the pipeline stops any reward still running a moment later, so a reward may also ignore it.
DEADLINE: ContextVar[float | None] = ContextVar("arbiter_deadline", default=None)


def time_left() -> float | None:
    """Seconds until the request's deadline (never negative), or None when the request has none."""
    deadline = DEADLINE.get()
    if deadline is None:
        return None
    return max(0.0, deadline - asyncio.get_running_loop().time())
