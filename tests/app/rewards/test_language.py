"""Language consistency: share of target-script words in the reasoning, code and math excluded."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from reward_items import item

from app.rewards.language import LanguageParams, LanguageReward, count_words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Let us solve it step by step.", {"latin": 7}),
        ("我们来解这道题", {"han": 7}),  # one word per Han character
        ("So 答案 is five", {"latin": 3, "han": 2}),
        ("Это просто", {"cyrillic": 2}),
        ("これは問題です", {"kana": 5, "han": 2}),
        ("한국어 문장입니다", {"hangul": 2}),
        ("don't re-check café", {"latin": 3}),  # apostrophes and hyphens keep a word whole; accents are Latin
        ("Compute $x + y = \\alpha$ now", {"latin": 2}),  # inline math removed
        ("See $$\\frac{a}{b}$$ and \\[ z \\] and \\( w \\)", {"latin": 3}),
        ("We run ```python\nprint('hello world')\n``` then stop", {"latin": 4}),
        ("Use `len(xs)` here", {"latin": 2}),
        ("open fence ```python\nprint('never closed')", {"latin": 2}),  # an unclosed fence runs to the end
        ("\\begin{align} a &= b \\\\ c &= d \\end{align} done", {"latin": 1}),
        ("<think>Answer tags</think><answer>4</answer>", {"latin": 2}),  # tags are markup, not words
        ("42 + 17 = 59 !!!", {}),
    ],
)
def test_count_words(text: str, expected: dict[str, int]) -> None:
    assert dict(count_words(text)) == expected


@pytest.mark.parametrize(
    ("completion", "target", "value"),
    [
        ("<think>All English here</think><answer>1</answer>", "en", 1.0),
        ("<think>All English here</think><answer>1</answer>", "zh", 0.0),
        ("<think>one two 三四</think><answer>1</answer>", "en", 0.5),
        ("<think>one two 三四</think><answer>1</answer>", "zh", 0.5),
        ("<think>答案 is</think><answer>1</answer>", "zh", 2 / 3),
        ("<think>これは問題</think><answer>1</answer>", "ja", 1.0),  # kana and kanji both Japanese
        ("<think>これは問題</think><answer>1</answer>", "zh", 2 / 5),
        # The answer block is not reasoning: only the think block is read.
        ("<think>English</think><answer>中文中文中文</answer>", "en", 1.0),
        # No think block: the whole completion, tags removed.
        ("no tags at all 中", "en", 4 / 5),
    ],
)
async def test_share_of_target_words(completion: str, target: str, value: float) -> None:
    [comp] = await LanguageReward().score([item(completion)], LanguageParams(target=target))
    assert comp.status == "ok"
    assert comp.value == pytest.approx(value)


async def test_item_target_overrides_the_parameter_and_bad_one_fails_only_that_item() -> None:
    items = [
        item("<think>中文推理</think><answer>1</answer>", index=0, extra={"target_language": "zh"}),
        item("<think>中文推理</think><answer>1</answer>", index=1),
        item("<think>中文推理</think><answer>1</answer>", index=2, extra={"target_language": "klingon"}),
    ]
    comps = await LanguageReward().score(items, LanguageParams(target="en"))
    assert [c.value for c in comps] == [1.0, 0.0, 0.0]
    assert comps[0].details["target"] == "zh" and comps[1].details["target"] == "en"
    assert comps[2].status == "error" and "klingon" in (comps[2].reason or "")


async def test_no_words_scores_zero_with_reason() -> None:
    [comp] = await LanguageReward().score([item("<think>$x^2 = 4$, 2</think><answer>2</answer>")], LanguageParams())
    assert comp.value == 0.0 and comp.status == "ok"
    assert comp.reason is not None and "no words" in comp.reason


def test_unknown_target_parameter_is_rejected() -> None:
    with pytest.raises(ValidationError, match="unsupported language 'xx'"):
        LanguageParams(target="xx")
    assert LanguageParams(target=" ZH ").target == "zh"
