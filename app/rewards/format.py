"""Format reward of DeepSeek-R1-Zero: 1 when the completion follows the think/answer template, else 0.

strict: `<think>…</think>` then `<answer>…</answer>`, nothing but white space around them;
lenient: both blocks once each and in order, other text allowed around them. Either way a nested, repeated,
unclosed or reordered tag, or an empty answer block, scores 0 with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar, Literal

from pydantic import Field

from app.completion import TagConfig, parse_completion
from app.rewards.base import Component, RewardParams, ScoringItem


class FormatParams(RewardParams):
    mode: Literal["strict", "lenient"] | None = Field(
        None, description="Overrides ARBITER_FORMAT_MODE for this request."
    )


class FormatReward:
    name: ClassVar[str] = "format"
    description: ClassVar[str] = "1 if the completion follows the <think>…</think><answer>…</answer> template, else 0."
    Params: ClassVar[type[RewardParams]] = FormatParams

    def __init__(self, tags: TagConfig) -> None:
        self._tags = tags

    async def score(self, items: Sequence[ScoringItem], params: RewardParams) -> list[Component]:
        assert isinstance(params, FormatParams)
        mode = params.mode or self._tags.mode
        results = []
        for item in items:
            parsed = item.parsed
            if mode != self._tags.mode:
                # The pipeline parsed with the service's mode; re-check with the one this request asked for.
                parsed = parse_completion(parsed.text, replace(self._tags, mode=mode))
            details = {"well_formed": parsed.well_formed, "mode": mode}
            results.append(
                Component(value=1.0 if parsed.well_formed else 0.0, reason=parsed.format_reason, details=details)
            )
        return results
