"""Kimi k1.5 length penalty: per group, λ = 0.5 - (len - min) / (max - min); wrong items min(0, λ)."""

from __future__ import annotations

import pytest
from reward_items import accuracy, item

from app.rewards.base import Component
from app.rewards.length import LengthParams, LengthReward


async def _score(
    lengths: list[int],
    correct: list[float],
    groups: list[str | None],
    *,
    tokens: bool = False,
    params: LengthParams | None = None,
    statuses: list[str] | None = None,
) -> list[Component]:
    items = [
        item("x" * n, index=i, group=g, tokens=n * 10 if tokens else None)
        for i, (n, g) in enumerate(zip(lengths, groups))
    ]
    acc = [accuracy(v, (statuses or ["ok"] * len(lengths))[i]) for i, v in enumerate(correct)]  # type: ignore[arg-type]
    return await LengthReward().score(items, params or LengthParams(), {"accuracy": acc})


@pytest.mark.parametrize(
    ("lengths", "correct", "expected"),
    [
        # shortest correct +0.5, longest correct -0.5, linear in between
        ([10, 20, 30], [1, 1, 1], [0.5, 0.0, -0.5]),
        # wrong answers never gain: min(0, λ)
        ([10, 20, 30], [0, 0, 0], [0.0, 0.0, -0.5]),
        ([10, 20, 30], [0, 1, 0], [0.0, 0.0, -0.5]),
        ([10, 30, 15], [1, 0, 1], [0.5, -0.5, 0.25]),
        # all equal: 0 for every item
        ([7, 7, 7], [1, 0, 1], [0.0, 0.0, 0.0]),
        # DAPO-style -1 for wrong and partial code credit are both "wrong" at the default threshold
        ([10, 20], [-1, 0.5], [0.0, -0.5]),
    ],
)
async def test_one_group(lengths: list[int], correct: list[float], expected: list[float]) -> None:
    comps = await _score(lengths, correct, ["g"] * len(lengths))
    assert [c.value for c in comps] == pytest.approx(expected)
    assert all(c.status == "ok" for c in comps)


async def test_groups_are_independent_and_results_keep_item_order() -> None:
    comps = await _score([10, 100, 30, 300, 20], [1, 1, 1, 1, 1], ["a", "b", "a", "b", "a"])
    assert [c.value for c in comps] == pytest.approx([0.5, 0.5, -0.5, -0.5, 0.0])
    assert [c.details["group_size"] for c in comps] == [3, 2, 3, 2, 3]


async def test_item_without_group_is_its_own_group() -> None:
    comps = await _score([10, 500], [1, 1], [None, None])
    assert [c.value for c in comps] == [0.0, 0.0]
    assert all(c.reason == "alone in its group (no group given)" for c in comps)


async def test_tokens_when_every_item_of_the_group_has_them_else_characters() -> None:
    with_tokens = await _score([10, 20], [1, 1], ["g", "g"], tokens=True)
    assert [c.details["unit"] for c in with_tokens] == ["tokens", "tokens"]
    assert [c.details["length"] for c in with_tokens] == [100, 200]
    items = [item("x" * 10, index=0, group="g", tokens=999), item("x" * 20, index=1, group="g")]
    mixed = await LengthReward().score(items, LengthParams(), {"accuracy": [accuracy(1), accuracy(1)]})
    assert [c.details["unit"] for c in mixed] == ["chars", "chars"]
    assert [c.value for c in mixed] == [0.5, -0.5]


async def test_tokens_required_but_missing_is_an_error() -> None:
    comps = await _score([10, 20], [1, 1], ["g", "g"], params=LengthParams(unit="tokens"))
    assert all(c.status == "error" and "completion_tokens" in (c.reason or "") for c in comps)


async def test_unjudged_item_takes_accuracy_status_but_its_length_still_counts() -> None:
    comps = await _score([10, 20, 30], [1, 0, 1], ["g"] * 3, statuses=["ok", "timeout", "ok"])
    assert comps[1].status == "timeout" and comps[1].value == 0.0
    assert [comps[0].value, comps[2].value] == [0.5, -0.5]


async def test_threshold_parameter_counts_partial_credit_as_correct() -> None:
    comps = await _score([10, 20, 30], [0.5, 0.5, 0.5], ["g"] * 3, params=LengthParams(correct_threshold=0.5))
    assert [c.value for c in comps] == pytest.approx([0.5, 0.0, -0.5])
