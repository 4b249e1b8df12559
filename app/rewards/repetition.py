"""N-gram repetition penalty over words, as open-r1's `repetition_penalty_reward` (from the appendix of
"Demystifying Long Chain-of-Thought Reasoning in LLMs", arXiv:2502.03373).

Over the lower-cased, white-space separated words of the completion, with N the number of word n-grams and
U the number of distinct ones:

    repetition = (1 - U / N) * max_penalty        (0 when there are fewer than n words)

A text that never repeats an n-gram scores 0; one that loops on the same phrase tends to max_penalty (<= 0).
The whole completion is read, answer included: a looping answer is as degenerate as a looping reasoning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field

from app.rewards.base import Component, RewardParams, ScoringItem


class RepetitionParams(RewardParams):
    n: int = Field(3, ge=1, description="Size of the word n-grams.")
    max_penalty: float = Field(-1.0, le=0, description="Penalty of a text made of one repeated n-gram (<= 0).")


def repetition_value(text: str, n: int, max_penalty: float) -> tuple[float, int, int]:
    """(value, n-grams, distinct n-grams)."""
    words = text.lower().split()
    total = len(words) - n + 1
    if total <= 0:
        return 0.0, 0, 0
    distinct = len({tuple(words[i : i + n]) for i in range(total)})
    return (1.0 - distinct / total) * max_penalty, total, distinct


class RepetitionReward:
    name: ClassVar[str] = "repetition"
    description: ClassVar[str] = "open-r1 n-gram repetition penalty: (1 - distinct/total word n-grams) * max_penalty."
    Params: ClassVar[type[RewardParams]] = RepetitionParams

    async def score(self, items: Sequence[ScoringItem], params: RewardParams) -> list[Component]:
        assert isinstance(params, RepetitionParams)
        results = []
        for item in items:
            value, total, distinct = repetition_value(item.parsed.text, params.n, params.max_penalty)
            details = {"n": params.n, "ngrams": total, "distinct": distinct}
            reason = f"fewer than {params.n} words" if total == 0 else None
            # `+ 0.0` turns the -0.0 of a text without repetition into 0.0 for clients that print it.
            results.append(Component(value + 0.0, reason=reason, details=details))
        return results
