"""Tag count: 0.25 per template tag used exactly once (open-r1)."""

from __future__ import annotations

import pytest
from reward_items import item

from app.completion import TagConfig
from app.rewards.tag_count import TagCountParams, TagCountReward


@pytest.mark.parametrize(
    ("text", "loose", "newlines"),
    [
        ("<think>\nr\n</think>\n<answer>\n4\n</answer>", 1.0, 1.0),
        ("<think>r</think><answer>4</answer>", 1.0, 0.0),
        ("<think>r</think>", 0.5, 0.0),
        ("<think>r</think><think>s</think><answer>4</answer>", 0.5, 0.0),  # think tags twice: no credit for them
        ("<THINK>r</think ><answer>4", 0.75, 0.0),  # case and space tolerated; no </answer>
        ("<think>\nr\n</think>\n<answer>\n4", 0.75, 0.75),
        ("plain text", 0.0, 0.0),
    ],
)
async def test_values(text: str, loose: float, newlines: float) -> None:
    reward = TagCountReward(TagConfig())
    [a] = await reward.score([item(text)], TagCountParams())
    [b] = await reward.score([item(text)], TagCountParams(require_newlines=True))
    assert (a.value, b.value) == (loose, newlines)


async def test_configured_tag_names() -> None:
    reward = TagCountReward(TagConfig(think="reasoning", answer="final"))
    [comp] = await reward.score([item("<reasoning>r</reasoning><final>4</final><think>")], TagCountParams())
    assert comp.value == 1.0
    assert comp.details["tags"] == {"<reasoning>": 1, "</reasoning>": 1, "<final>": 1, "</final>": 1}
