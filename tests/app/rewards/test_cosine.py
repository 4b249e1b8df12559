"""Cosine length scaling (Demystifying Long CoT), open-r1 parameterization."""

from __future__ import annotations

import pytest
from reward_items import accuracy, item

from app.rewards.cosine import CosineParams, CosineReward

P = CosineParams(max_len=100)


@pytest.mark.parametrize(
    ("length", "correct", "expected"),
    [
        (0, 1.0, 1.0),  # short correct: max_value_correct
        (50, 1.0, 0.75),  # halfway: the mean of the two ends
        (100, 1.0, 0.5),  # at max_len: min_value_correct
        (250, 1.0, 0.5),  # beyond: clamped
        (0, 0.0, -1.0),  # short wrong: min_value_wrong, the hardest penalty
        (50, 0.0, -0.75),
        (100, 0.0, -0.5),  # long wrong: max_value_wrong
        (25, 1.0, 0.5 + 0.25 * (1 + 2**-0.5)),
        (0, -1.0, -1.0),  # a DAPO -1 is wrong
    ],
)
async def test_values(length: int, correct: float, expected: float) -> None:
    [comp] = await CosineReward().score([item("x" * length)], P, {"accuracy": [accuracy(correct)]})
    assert comp.value == pytest.approx(expected)
    assert comp.details["unit"] == "chars"


async def test_exceed_value_and_token_lengths() -> None:
    params = CosineParams(max_len=100, exceed_value=-10.0)
    items = [item("short", index=0, tokens=101), item("short", index=1, tokens=100)]
    comps = await CosineReward().score(items, params, {"accuracy": [accuracy(1.0), accuracy(1.0)]})
    assert [c.value for c in comps] == pytest.approx([-10.0, 0.5])
    assert [c.details["unit"] for c in comps] == ["tokens", "tokens"]


async def test_unjudged_item_takes_accuracy_status() -> None:
    [comp] = await CosineReward().score([item("x")], P, {"accuracy": [accuracy(0, "error")]})
    assert comp.status == "error" and comp.value == 0.0
