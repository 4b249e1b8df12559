"""Word n-gram repetition penalty (open-r1)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from reward_items import item

from app.rewards.repetition import RepetitionParams, RepetitionReward


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        ("the cat sat on the mat", 3, 0.0),  # 4 trigrams, all distinct
        ("a b c a b c", 3, -0.25),  # 4 trigrams, 3 distinct
        ("go go go go go go", 3, -0.75),  # 4 trigrams, 1 distinct
        ("go go go go go go", 1, -5 / 6),  # 6 unigrams, 1 distinct
        ("Loop loop LOOP loop", 2, -2 / 3),  # lower-cased: 3 bigrams, 1 distinct
        ("too short", 3, 0.0),  # fewer words than n
        ("", 3, 0.0),
    ],
)
async def test_values(text: str, n: int, expected: float) -> None:
    [comp] = await RepetitionReward().score([item(text)], RepetitionParams(n=n))
    assert comp.value == pytest.approx(expected)


async def test_max_penalty_scales() -> None:
    [comp] = await RepetitionReward().score([item("a b c a b c")], RepetitionParams(n=3, max_penalty=-2.0))
    assert comp.value == pytest.approx(-0.5)


def test_positive_penalty_is_rejected() -> None:
    with pytest.raises(ValidationError):
        RepetitionParams(max_penalty=0.5)
