"""Helpers shared by the length-shaping rewards (length, cosine, overlong): how long a completion is and
whether the accuracy component called it correct."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.rewards.base import Component, ScoringItem

#: auto: tokens when the item carries `completion_tokens` (what the trainer's budget counts), else characters.
LengthUnit = Literal["auto", "tokens", "chars"]


@dataclass(frozen=True, slots=True)
class Measured:
    length: int
    unit: Literal["tokens", "chars"]


class MissingTokens(ValueError):
    """The request asked for token lengths but the item carries no completion_tokens."""


def measure(item: ScoringItem, unit: LengthUnit) -> Measured:
    if unit == "chars" or (unit == "auto" and item.completion_tokens is None):
        return Measured(len(item.parsed.text), "chars")
    if item.completion_tokens is None:
        raise MissingTokens("unit is tokens but the item has no completion_tokens")
    return Measured(item.completion_tokens, "tokens")


def is_correct(accuracy: Component, threshold: float) -> bool | None:
    """True/False from an ok accuracy component; None when accuracy could not judge the item (timeout, error),
    in which case a reward built on correctness cannot be computed either."""
    if accuracy.status != "ok":
        return None
    return accuracy.value >= threshold


def unjudged(accuracy: Component, **details: object) -> Component:
    """The component of a correctness-based reward for an item accuracy could not judge: same status, so the
    item's status names the real cause, and value 0 like every failed component."""
    return Component.failed(accuracy.status, f"correctness unknown: accuracy is {accuracy.status}", **details)
