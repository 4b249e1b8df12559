"""Soft overlong punishment of DAPO (arXiv:2503.14476, §3.4, eq. 13).

With L_max = max_len, L_cache = cache and |y| the completion's length:

    overlong = 0                                   if |y| <= L_max - L_cache
               ((L_max - L_cache) - |y|) / L_cache  if L_max - L_cache < |y| <= L_max
               -1                                  if |y| > L_max

It is added to the accuracy reward, so a correct answer that ran into the cache still scores above a wrong one.
The paper's values (max_len 20480 tokens, cache 4096) are the `dapo` profile's.

Lengths are tokens when the item carries `completion_tokens` (unit "auto"; DAPO counts tokens), else
characters; details report which, since a character count against a token limit punishes 3-4 times too late.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field, model_validator

from app.rewards.base import Component, RewardParams, ScoringItem
from app.rewards.shaping import LengthUnit, MissingTokens, measure


class OverlongParams(RewardParams):
    max_len: int = Field(20480, gt=0, description="L_max: from here on the punishment is -1.")
    cache: int = Field(
        4096, gt=0, description="L_cache: the punishment ramps from 0 to -1 over the last `cache` units."
    )
    unit: LengthUnit = Field(
        "auto", description="auto: tokens when the item carries completion_tokens, else characters."
    )

    @model_validator(mode="after")
    def _cache_within(self) -> OverlongParams:
        if self.cache > self.max_len:
            raise ValueError(f"cache ({self.cache}) must not exceed max_len ({self.max_len})")
        return self


def overlong_value(length: int, max_len: int, cache: int) -> float:
    expected = max_len - cache
    if length <= expected:
        return 0.0
    if length <= max_len:
        return (expected - length) / cache
    return -1.0


class OverlongReward:
    name: ClassVar[str] = "overlong"
    description: ClassVar[str] = (
        "DAPO soft overlong punishment: 0 up to max_len - cache, linear to -1 at max_len, -1 beyond."
    )
    Params: ClassVar[type[RewardParams]] = OverlongParams

    async def score(self, items: Sequence[ScoringItem], params: RewardParams) -> list[Component]:
        assert isinstance(params, OverlongParams)
        results = []
        for item in items:
            try:
                measured = measure(item, params.unit)
            except MissingTokens as exc:
                results.append(Component.failed("error", f"{exc} (unit=tokens)"))
                continue
            value = overlong_value(measured.length, params.max_len, params.cache)
            details = {
                "length": measured.length,
                "unit": measured.unit,
                "max_len": params.max_len,
                "cache": params.cache,
            }
            results.append(Component(value, details=details))
        return results
