"""Length penalty of Kimi k1.5 (arXiv:2501.12599, §2.3.3, "Length Penalty"), computed per GRPO group.

Within the group of responses to one prompt, with `len` the length of a response:

    λ = 0.5 - (len - min_len) / (max_len - min_len)
    length = λ            when the response is correct
             min(0, λ)    when it is wrong

so the shortest correct answer gets +0.5, the longest -0.5, and wrong answers are only ever penalized. When
every response of the group has the same length (a group of one included) λ is 0 for all.

Groups come from the item's `group` (the prompt id). An item without a group is a group of its own and scores
0 (details say so): mixing the lengths of different prompts would reward short prompts, not short answers.

Lengths are tokens when every item of the group carries `completion_tokens` (unit "auto"), else characters for
the whole group, since λ compares lengths with each other; details report the unit.

Correctness is the accuracy component's: correct when it is ok and at least `correct_threshold` (1 by default,
so a code item passing half its tests is wrong; a DAPO-style -1 is wrong too). An item that accuracy could not
judge (timeout, error) gets accuracy's status and 0, but its length still counts in the group's min and max.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field

from app.rewards.base import Component, RewardParams, ScoringItem, Upstream
from app.rewards.shaping import LengthUnit, MissingTokens, is_correct, measure, unjudged


class LengthParams(RewardParams):
    unit: LengthUnit = Field(
        "auto", description="auto: tokens when every item of the group carries completion_tokens, else characters."
    )
    correct_threshold: float = Field(1.0, description="Accuracy at or above this counts as correct.")


class LengthReward:
    name: ClassVar[str] = "length"
    description: ClassVar[str] = (
        "Kimi k1.5 length penalty per group: λ = 0.5 - (len - min) / (max - min); correct items get λ, "
        "wrong ones min(0, λ)."
    )
    Params: ClassVar[type[RewardParams]] = LengthParams
    needs: ClassVar[tuple[str, ...]] = ("accuracy",)

    async def score(self, items: Sequence[ScoringItem], params: RewardParams, upstream: Upstream) -> list[Component]:
        assert isinstance(params, LengthParams)
        accuracy = upstream["accuracy"]
        groups: dict[str, list[int]] = {}
        for i, item in enumerate(items):
            # An item without a group is keyed by its position: a group of its own.
            key = f"g:{item.group}" if item.group is not None else f"i:{i}"
            groups.setdefault(key, []).append(i)
        results: list[Component | None] = [None] * len(items)
        for members in groups.values():
            for i, comp in zip(members, self._group(items, members, accuracy, params)):
                results[i] = comp
        return [r for r in results if r is not None]

    def _group(
        self, items: Sequence[ScoringItem], members: list[int], accuracy: Sequence[Component], params: LengthParams
    ) -> list[Component]:
        unit = params.unit
        if unit == "auto":
            unit = "tokens" if all(items[i].completion_tokens is not None for i in members) else "chars"
        try:
            lengths = [measure(items[i], unit) for i in members]
        except MissingTokens as exc:
            return [Component.failed("error", f"{exc} (unit=tokens)") for _ in members]
        shortest, longest = min(m.length for m in lengths), max(m.length for m in lengths)
        out = []
        for i, measured in zip(members, lengths):
            details = {
                "length": measured.length,
                "unit": measured.unit,
                "group_size": len(members),
                "min_len": shortest,
                "max_len": longest,
            }
            correct = is_correct(accuracy[i], params.correct_threshold)
            if correct is None:
                out.append(unjudged(accuracy[i], **details))
                continue
            details["correct"] = correct
            if longest == shortest:
                reason = (
                    "alone in its group (no group given)" if len(members) == 1 else "all lengths in the group are equal"
                )
                out.append(Component(0.0, reason=reason, details=details))
                continue
            lam = 0.5 - (measured.length - shortest) / (longest - shortest)
            out.append(Component(lam if correct else min(0.0, lam), details=details))
        return out
