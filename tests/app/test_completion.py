"""Template parsing: one line per case, (completion, mode, well_formed, reason fragment)."""

from __future__ import annotations

import pytest

from app.completion import CodeBlock, TagConfig, code_blocks, parse_completion, select_program

R1 = "<think>\nreasoning\n</think>\n<answer>\n42\n</answer>"

FORMAT_CASES = [
    # (completion, mode, well_formed, reason contains)
    (R1, "strict", True, None),
    ("  \n" + R1 + "\n\n", "strict", True, None),
    ("<think></think><answer>x</answer>", "strict", True, None),
    ("<THINK>a</THINK><Answer>b</Answer>", "strict", True, None),
    ("Sure! " + R1, "strict", False, "outside"),
    (R1 + " Hope this helps", "strict", False, "outside"),
    ("<think>a</think> so <answer>b</answer>", "strict", False, "outside"),
    ("Sure! " + R1 + " bye", "lenient", True, None),
    ("<think>a</think> so <answer>b</answer>", "lenient", True, None),
    ("<answer>42</answer>", "strict", False, "missing <think>"),
    ("<think>a</think>", "strict", False, "missing <answer>"),
    ("<think>a</think><answer>b</answer><answer>c</answer>", "lenient", False, "more than once"),
    ("<think>a<think>b</think></think><answer>c</answer>", "lenient", False, "more than once"),
    ("<think>a</think><answer>b", "lenient", False, "not closed"),
    ("<think>a</think>b</answer>", "lenient", False, "without an opening"),
    ("<answer>b</answer><think>a</think>", "lenient", False, "before"),
    ("<think>a<answer>b</answer></think>", "lenient", False, "nested or out of order"),
    ("<think>a</answer><answer>b</think>", "lenient", False, "nested or out of order"),
    ("<think>a</think><answer>  \n </answer>", "lenient", False, "empty"),
    ("", "strict", False, "missing"),
    ("just text", "lenient", False, "missing"),
]


@pytest.mark.parametrize(("completion", "mode", "well_formed", "reason"), FORMAT_CASES)
def test_format(completion: str, mode: str, well_formed: bool, reason: str | None) -> None:
    parsed = parse_completion(completion, TagConfig(mode=mode))  # type: ignore[arg-type]
    assert parsed.well_formed is well_formed
    if reason is None:
        assert parsed.format_reason is None
    else:
        assert parsed.format_reason is not None and reason in parsed.format_reason


@pytest.mark.parametrize(
    ("completion", "answer"),
    [
        (R1, "42"),
        ("no tags, \\boxed{3}", None),
        ("<answer> 7 </answer> trailing", "7"),  # answer block read even when the template fails
        ("<answer>1</answer><answer>2</answer>", None),  # ambiguous: the extractor sees the whole text
    ],
)
def test_answer_block(completion: str, answer: str | None) -> None:
    parsed = parse_completion(completion)
    assert parsed.answer == answer
    assert parsed.answer_or_text == (answer if answer is not None else completion)


def test_custom_tag_names() -> None:
    tags = TagConfig(think="reasoning", answer="final")
    parsed = parse_completion("<reasoning>r</reasoning><final>5</final>", tags)
    assert parsed.well_formed and parsed.answer == "5" and parsed.think == "r"
    assert not parse_completion(R1, tags).well_formed


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        ("```python\nprint(1)\n```", [CodeBlock("python", "print(1)\n")]),
        ("```py\na\n```\n```\nb\n```", [CodeBlock("python", "a\n"), CodeBlock("", "b\n")]),
        ("```c++\nint main(){}\n```", [CodeBlock("cpp", "int main(){}\n")]),
        ("``` Python3 title\nx\n```", [CodeBlock("python", "x\n")]),
        ("no code", []),
    ],
)
def test_code_blocks(text: str, blocks: list[CodeBlock]) -> None:
    assert code_blocks(text) == blocks


def test_select_program_prefers_answer_block_and_language() -> None:
    completion = (
        "<think>draft:\n```python\nprint('draft')\n```\n</think>\n"
        "<answer>\n```cpp\nint main(){}\n```\n```python\nprint('final')\n```\n</answer>"
    )
    parsed = parse_completion(completion)
    assert select_program(parsed, "python") == CodeBlock("python", "print('final')\n")
    assert select_program(parsed, "cpp") == CodeBlock("cpp", "int main(){}\n")
    assert select_program(parse_completion("<answer>no code</answer>"), "python") is None
    unlabeled = parse_completion("```\nprint(2)\n```")
    assert select_program(unlabeled, "python") == CodeBlock("", "print(2)\n")
