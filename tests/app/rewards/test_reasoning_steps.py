"""Reasoning steps: min(1, markers / target) over the reasoning."""

from __future__ import annotations

import pytest
from reward_items import item

from app.rewards.reasoning_steps import ReasoningStepsParams, ReasoningStepsReward


@pytest.mark.parametrize(
    ("text", "target", "expected", "markers"),
    [
        ("Step 1: read. Step 2: solve. Step 3: check.", 3, 1.0, 3),
        ("First, read. Next, solve.", 3, 2 / 3, 2),
        ("1. read\n2. solve\n3. check\n4. answer", 3, 1.0, 4),  # capped at 1
        ("- a\n* b\nplain", 3, 2 / 3, 2),
        ("no markers here; first, lower case does not count", 3, 0.0, 0),
        ("Finally, done.", 1, 1.0, 1),
        ("version 1.5 is not a list item", 3, 0.0, 0),
        # Only the think block is read when there is one.
        ("<think>Step 1: a</think><answer>Step 2: b Step 3: c</answer>", 3, 1 / 3, 1),
    ],
)
async def test_values(text: str, target: int, expected: float, markers: int) -> None:
    [comp] = await ReasoningStepsReward().score([item(text)], ReasoningStepsParams(target=target))
    assert comp.value == pytest.approx(expected)
    assert comp.details["markers"] == markers
