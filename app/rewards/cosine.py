"""Cosine length scaling of "Demystifying Long Chain-of-Thought Reasoning in LLMs" (Yeo et al.,
arXiv:2502.03373, §4.2), with the parameter names and defaults of open-r1's `cosine_scaled_reward`.

With `t` the completion's length and `T` = max_len, progress p = min(t, T) / T:

    cosine = r_end + 0.5 (r_start - r_end) (1 + cos(π p))

    correct: r_start = max_value_correct (at t = 0),  r_end = min_value_correct (at t = T)
    wrong:   r_start = min_value_wrong   (at t = 0),  r_end = max_value_wrong   (at t = T)

so short correct answers earn more than long ones, and short wrong answers lose more than long ones (the
model is pushed to think longer when it is wrong). With `exceed_value` set, a completion longer than T scores
that instead (the paper's r_exceed); by default it is clamped to T.

Lengths are tokens when the item carries `completion_tokens` (unit "auto"), else characters; details report
which. Correctness is the accuracy component's (ok and >= correct_threshold); an item accuracy could not judge
gets accuracy's status and 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field

from app.rewards.base import Component, RewardParams, ScoringItem, Upstream
from app.rewards.shaping import LengthUnit, MissingTokens, is_correct, measure, unjudged


class CosineParams(RewardParams):
    max_len: int = Field(1000, gt=0, description="T: the length at which the cosine reaches its end value.")
    min_value_correct: float = Field(0.5, description="Reward of a correct completion of length max_len.")
    max_value_correct: float = Field(1.0, description="Reward of a correct completion of length 0.")
    min_value_wrong: float = Field(-1.0, description="Reward of a wrong completion of length 0.")
    max_value_wrong: float = Field(-0.5, description="Reward of a wrong completion of length max_len.")
    exceed_value: float | None = Field(None, description="Reward past max_len (the paper's r_exceed); None clamps.")
    unit: LengthUnit = Field(
        "auto", description="auto: tokens when the item carries completion_tokens, else characters."
    )
    correct_threshold: float = Field(1.0, description="Accuracy at or above this counts as correct.")


def cosine_value(length: int, correct: bool, params: CosineParams) -> float:
    if params.exceed_value is not None and length > params.max_len:
        return params.exceed_value
    progress = min(length, params.max_len) / params.max_len
    if correct:
        start, end = params.max_value_correct, params.min_value_correct
    else:
        start, end = params.min_value_wrong, params.max_value_wrong
    return end + 0.5 * (start - end) * (1.0 + math.cos(math.pi * progress))


class CosineReward:
    name: ClassVar[str] = "cosine"
    description: ClassVar[str] = (
        "Cosine-scaled correctness (Demystifying Long CoT): short correct answers earn most, short wrong ones lose most."
    )
    Params: ClassVar[type[RewardParams]] = CosineParams
    needs: ClassVar[tuple[str, ...]] = ("accuracy",)

    async def score(self, items: Sequence[ScoringItem], params: RewardParams, upstream: Upstream) -> list[Component]:
        assert isinstance(params, CosineParams)
        results = []
        for item, accuracy in zip(items, upstream["accuracy"]):
            try:
                measured = measure(item, params.unit)
            except MissingTokens as exc:
                results.append(Component.failed("error", f"{exc} (unit=tokens)"))
                continue
            details: dict[str, object] = {"length": measured.length, "unit": measured.unit, "max_len": params.max_len}
            correct = is_correct(accuracy, params.correct_threshold)
            if correct is None:
                results.append(unjudged(accuracy, **details))
                continue
            details["correct"] = correct
            results.append(Component(cosine_value(measured.length, correct, params), details=details))
        return results
