"""DAPO soft overlong punishment: 0, then linear to -1 over the cache, then -1."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from reward_items import item

from app.rewards.overlong import OverlongParams, OverlongReward


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [(0, 0.0), (16384, 0.0), (16385, -1 / 4096), (18432, -0.5), (20480, -1.0), (20481, -1.0), (99999, -1.0)],
)
async def test_dapo_values_in_tokens(tokens: int, expected: float) -> None:
    [comp] = await OverlongReward().score([item("text", tokens=tokens)], OverlongParams())
    assert comp.value == pytest.approx(expected)
    assert comp.details["unit"] == "tokens"


@pytest.mark.parametrize(("chars", "expected"), [(5, 0.0), (6, -0.25), (8, -0.75), (9, -1.0), (10, -1.0)])
async def test_characters_when_the_item_has_no_token_count(chars: int, expected: float) -> None:
    [comp] = await OverlongReward().score([item("x" * chars)], OverlongParams(max_len=9, cache=4))
    assert comp.value == pytest.approx(expected)
    assert comp.details["unit"] == "chars"


async def test_explicit_unit_overrides_auto() -> None:
    params = OverlongParams(max_len=9, cache=4, unit="chars")
    [comp] = await OverlongReward().score([item("x" * 9, tokens=1)], params)
    assert comp.value == -1.0
    [missing] = await OverlongReward().score([item("x")], OverlongParams(unit="tokens"))
    assert missing.status == "error"


def test_cache_larger_than_max_len_is_rejected() -> None:
    with pytest.raises(ValidationError, match="must not exceed max_len"):
        OverlongParams(max_len=100, cache=101)
