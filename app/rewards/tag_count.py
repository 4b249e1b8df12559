"""Tag-count reward, as open-r1's `tag_count_reward` (itself from the "Think" recipes of early R1 replications):
partial credit for each template tag used correctly, a denser signal than the all-or-nothing format reward
while a model is still learning the template.

    tag_count = 0.25 * (number of the four tags <think>, </think>, <answer>, </answer> that appear exactly once)

Tag names are the service's (ARBITER_FORMAT_THINK_TAG / ANSWER_TAG), matched case-insensitively as the format
reward's parser does. With `require_newlines` the tags must sit on their own lines as in open-r1's original
("<think>\\n", "\\n</think>\\n", "\\n<answer>\\n", "\\n</answer>").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field

from app.completion import TagConfig
from app.rewards.base import Component, RewardParams, ScoringItem


class TagCountParams(RewardParams):
    require_newlines: bool = Field(False, description="Count a tag only when it sits on its own line (open-r1's rule).")


class TagCountReward:
    name: ClassVar[str] = "tag_count"
    description: ClassVar[str] = (
        "open-r1 tag count: 0.25 for each of <think>, </think>, <answer>, </answer> used exactly once."
    )
    Params: ClassVar[type[RewardParams]] = TagCountParams

    def __init__(self, tags: TagConfig) -> None:
        think, answer = re.escape(tags.think), re.escape(tags.answer)
        self._labels = (f"<{tags.think}>", f"</{tags.think}>", f"<{tags.answer}>", f"</{tags.answer}>")
        self._loose = tuple(
            re.compile(p, re.IGNORECASE)
            for p in (rf"<{think}\s*>", rf"</{think}\s*>", rf"<{answer}\s*>", rf"</{answer}\s*>")
        )
        # open-r1's exact strings, as patterns: the opening think tag starts the text or a line.
        self._strict = tuple(
            re.compile(p, re.IGNORECASE)
            for p in (rf"(?:^|\n)<{think}>\n", rf"\n</{think}>\n", rf"\n<{answer}>\n", rf"\n</{answer}>")
        )

    async def score(self, items: Sequence[ScoringItem], params: RewardParams) -> list[Component]:
        assert isinstance(params, TagCountParams)
        patterns = self._strict if params.require_newlines else self._loose
        results = []
        for item in items:
            counts = {label: len(p.findall(item.parsed.text)) for label, p in zip(self._labels, patterns)}
            good = sum(1 for n in counts.values() if n == 1)
            results.append(Component(0.25 * good, details={"tags": counts}))
        return results
