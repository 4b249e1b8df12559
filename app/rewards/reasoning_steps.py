"""Reasoning-steps reward, as open-r1's `reasoning_steps_reward`: rewards explicit step-by-step reasoning.

    reasoning_steps = min(1, markers / target)

where `markers` counts step markers in the reasoning (the think block, else the whole completion): "Step 1:",
a line starting with "1.", a line starting with "-" or "*" (a list item), and the words "First,", "Second,",
"Next,", "Finally,". open-r1 uses target 3 ("encourage at least 3 steps"); the cap keeps a model from farming
the reward with endless lists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field

from app.rewards.base import Component, RewardParams, ScoringItem

# open-r1's pattern, anchored per line (MULTILINE) so a list item on the first line counts as well.
STEP_MARKERS = re.compile(r"Step \d+:|^\s*\d+\.\s|^\s*[-*]\s|\bFirst,|\bSecond,|\bNext,|\bFinally,", re.MULTILINE)


class ReasoningStepsParams(RewardParams):
    target: int = Field(3, ge=1, description="Number of step markers that earns the full reward (the cap).")


class ReasoningStepsReward:
    name: ClassVar[str] = "reasoning_steps"
    description: ClassVar[str] = "open-r1 reasoning steps: min(1, step markers in the reasoning / target)."
    Params: ClassVar[type[RewardParams]] = ReasoningStepsParams

    async def score(self, items: Sequence[ScoringItem], params: RewardParams) -> list[Component]:
        assert isinstance(params, ReasoningStepsParams)
        results = []
        for item in items:
            scope, text = item.parsed.reasoning
            markers = len(STEP_MARKERS.findall(text))
            details = {"markers": markers, "target": params.target, "scope": scope}
            results.append(Component(min(1.0, markers / params.target), details=details))
        return results
