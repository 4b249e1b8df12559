"""The planner that cuts a large batch into parts for several Ray Serve replicas (app/batch_split.py)."""

from __future__ import annotations

import pytest

from app.batch_split import plan_parts


def _flatten(parts: list[list[int]]) -> list[int]:
    return sorted(i for part in parts for i in part)


def test_every_index_once_and_groups_whole() -> None:
    groups = [f"p{i // 8}" for i in range(96)]  # 12 GRPO groups of 8
    parts = plan_parts(groups, 32)
    assert _flatten(parts) == list(range(96))
    assert len(parts) == 3
    for part in parts:
        assert len({groups[i] for i in part}) * 8 == len(part)  # only whole groups


def test_interleaved_groups_stay_together() -> None:
    groups = ["a", "b", "a", "b", "c", "c", None, None]
    parts = plan_parts(groups, 2)
    owner = {i: k for k, part in enumerate(parts) for i in part}
    assert owner[0] == owner[2] and owner[1] == owner[3] and owner[4] == owner[5]
    assert _flatten(parts) == list(range(8))


def test_a_group_larger_than_a_part_is_not_cut() -> None:
    groups = ["big"] * 10 + ["x", "y"]
    parts = plan_parts(groups, 4)
    assert parts[0] == list(range(10))
    assert _flatten(parts) == list(range(12))


def test_parts_are_even() -> None:
    parts = plan_parts([None] * 300, 256)
    assert [len(p) for p in parts] == [150, 150]


def test_small_and_empty_batches() -> None:
    assert plan_parts([None] * 5, 256) == [[0, 1, 2, 3, 4]]
    assert plan_parts([], 8) == []
    with pytest.raises(ValueError):
        plan_parts([None], 0)
