"""Payload conventions shared by the adapters: completion text, query/response split, references from columns."""

from __future__ import annotations

import json

from arbiter_client.adapters.common import (
    code_reference,
    completion_text,
    reference_from_columns,
    reference_from_label,
    response_from_query,
    strip_special_tokens,
)


def test_completion_text_standard_and_conversational() -> None:
    assert completion_text("plain") == "plain"
    assert completion_text([{"role": "assistant", "content": "a"}]) == "a"
    assert (
        completion_text([{"role": "assistant", "content": [{"type": "text", "text": "x"}, {"type": "image"}]}]) == "x"
    )
    # Tool turns in a conversational completion are not the model's answer.
    assert (
        completion_text(
            [
                {"role": "assistant", "content": "a"},
                {"role": "tool", "content": "t"},
                {"role": "assistant", "content": "b"},
            ]
        )
        == "ab"
    )


def test_query_split_and_special_tokens() -> None:
    prompt = "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
    assert response_from_query(prompt + "R<|im_end|>", prompt) == "R<|im_end|>"
    assert strip_special_tokens("<answer>1</answer><|im_end|><|endoftext|>\n") == "<answer>1</answer>"
    assert strip_special_tokens("<answer>1</answer></s>") == "<answer>1</answer>"
    assert response_from_query("no prompt inside", "zzz") == "no prompt inside"


def test_code_references_from_the_usual_shapes() -> None:
    apps = {"inputs": ["1\n"], "outputs": ["1\n"], "fn_name": None}
    assert code_reference(json.dumps(apps)) == {"language": "python", "tests": {"inputs": ["1\n"], "outputs": ["1\n"]}}
    openr1 = {"language": "python", "test_cases": [{"input": "1", "output": "2", "type": "stdin_stdout"}]}
    assert code_reference(openr1) == {"language": "python", "tests": openr1["test_cases"]}
    humaneval = {"test_code": "def check(c): assert c(1) == 2", "entry_point": "f"}
    assert code_reference(humaneval)["tests"] == humaneval  # type: ignore[index]
    assert code_reference("42") is None


def test_references_from_columns_and_labels() -> None:
    assert reference_from_columns({"solution": "\\frac{1}{2}"}) == ("math", {"answer": "\\frac{1}{2}"})
    # A code row may carry a reference program in `solution`: the tests win.
    row = {"solution": "print(1)", "tests": {"inputs": ["\n"], "outputs": ["1\n"]}}
    assert reference_from_columns(row)[0] == "code"
    assert reference_from_columns({"other": 1}) == (None, None)
    assert reference_from_label({"ground_truth": "7"}) == ("math", {"answer": "7"})
    assert reference_from_label("[1, 2]", "math") == ("math", {"answer": "[1, 2]"})
