"""Builders for reward tests: ScoringItems from plain text, accuracy components from booleans."""

from __future__ import annotations

from typing import Any

from app.completion import parse_completion
from app.rewards.base import Component, ScoringItem, Status


def item(
    text: str,
    *,
    index: int = 0,
    group: str | None = None,
    tokens: int | None = None,
    extra: dict[str, Any] | None = None,
) -> ScoringItem:
    return ScoringItem(
        index=index,
        id=f"i{index}",
        parsed=parse_completion(text),
        task=None,
        reference=None,
        group=group,
        completion_tokens=tokens,
        extra=extra or {},
    )


def accuracy(value: float, status: Status = "ok") -> Component:
    return Component(value) if status == "ok" else Component.failed(status, "judge failed")
