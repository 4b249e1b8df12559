"""Accuracy reward: is the final answer right (math) or does the program pass its tests (code).

One name for both tasks, as in DeepSeek-R1-Zero: each item is routed by its task to the math verifier or
the code runner, and the two run concurrently on their own pools.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar, Literal

from pydantic import Field

from app.rewards.base import Component, RewardParams, ScoringItem
from app.rewards.code_accuracy import CodeAccuracy
from app.rewards.math_accuracy import MathAccuracy


class AccuracyParams(RewardParams):
    mode: Literal["pass_fraction", "all_or_nothing", "weighted"] = Field(
        "pass_fraction",
        description="Code: the share of tests passed, or 1 only when every test passes (all_or_nothing also stops a "
        "job at its first crash or time-out: the remaining tests report SKIP, the reward cannot change), or "
        "weighted: all_or_nothing + weighted_share * the share passed (open-r1's weighted_sum). Items with "
        "reference.subtasks score the share of points of the subtasks whose tests all pass (IOI).",
    )
    weighted_share: float = Field(0.1, ge=0, le=1, description="weighted mode: the share passed counts this much.")
    compare: Literal["tolerant", "exact"] = Field(
        "tolerant",
        description="Code stdout comparison: tolerant ignores trailing white space and compares numbers with a "
        "small tolerance; exact compares bytes.",
    )
    wrong_value: float = Field(
        0.0, description="Replaces a score of 0 (a wrong answer, a program that passes no test); DAPO uses -1."
    )


class AccuracyReward:
    name: ClassVar[str] = "accuracy"
    description: ClassVar[str] = (
        "Math: 1 if the final answer is equivalent to the reference. Code: the share of tests the program passes."
    )
    Params: ClassVar[type[RewardParams]] = AccuracyParams

    def __init__(self, math: MathAccuracy, code: CodeAccuracy) -> None:
        self._math = math
        self._code = code

    async def score(self, items: Sequence[ScoringItem], params: RewardParams) -> list[Component]:
        assert isinstance(params, AccuracyParams)
        math_items = [item for item in items if item.task == "math"]
        code_items = [item for item in items if item.task == "code"]
        math_results, code_results = await asyncio.gather(
            self._math.score(math_items),
            self._code.score(
                code_items, mode=params.mode, compare=params.compare, weighted_share=params.weighted_share
            ),
        )
        by_index = {item.index: comp for item, comp in zip(math_items, math_results)}
        by_index.update({item.index: comp for item, comp in zip(code_items, code_results)})
        results = []
        for item in items:
            comp = by_index.get(item.index) or Component.failed(
                "error", "reference has neither answer (math) nor tests (code); nothing to judge against"
            )
            if comp.status == "ok" and comp.value == 0.0:
                comp.value = params.wrong_value
            results.append(comp)
        return results
