"""The trainers' payload conventions as the server reads them (app/trainer_payloads.py)."""

from __future__ import annotations

import json

from app.trainer_payloads import (
    code_reference,
    completion_text,
    group_key,
    math_reference,
    reference_from_label,
    response_from_query,
    strip_special_tokens,
)


def test_completion_text_standard_and_conversational() -> None:
    assert completion_text("plain") == "plain"
    assert (
        completion_text([{"role": "assistant", "content": [{"type": "text", "text": "x"}, {"type": "image"}]}]) == "x"
    )
    # Tool turns are not the model's answer.
    turns = [
        {"role": "assistant", "content": "a"},
        {"role": "tool", "content": "t"},
        {"role": "assistant", "content": "b"},
    ]
    assert completion_text(turns) == "ab"


def test_query_split_and_special_tokens() -> None:
    prompt = "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
    assert response_from_query(prompt + "R<|im_end|>", prompt) == "R<|im_end|>"
    assert response_from_query("x" + prompt + "R", prompt) == "R"
    assert response_from_query("no prompt inside", "zzz") == "no prompt inside"
    assert strip_special_tokens("<answer>1</answer><|im_end|><|endoftext|>\n") == "<answer>1</answer>"
    assert strip_special_tokens("<|im_start|>assistant\n<answer>1</answer></s>") == "<answer>1</answer>"


def test_group_key_is_stable_for_strings_and_messages() -> None:
    assert group_key("p") == group_key("p") != group_key("q")
    assert group_key([{"role": "user", "content": "p"}]) == group_key([{"content": "p", "role": "user"}])


def test_code_references_from_the_usual_shapes() -> None:
    apps = {"inputs": ["1\n"], "outputs": ["1\n"], "fn_name": None}
    assert code_reference(json.dumps(apps)) == {"language": "python", "tests": {"inputs": ["1\n"], "outputs": ["1\n"]}}
    openr1 = {"language": "cpp", "test_cases": [{"input": "1", "output": "2", "type": "stdin_stdout"}]}
    assert code_reference(openr1) == {"language": "cpp", "tests": openr1["test_cases"]}
    # A language Arbiter cannot run is kept, so that the intake refuses it (the item is unjudged, not wrong).
    assert code_reference({"language": "cobol", "test_cases": []})["language"] == "cobol"  # type: ignore[index]
    humaneval = {"test": "def check(c): assert c(1) == 2", "entry_point": "f"}
    assert code_reference(humaneval)["tests"] == {"test_code": humaneval["test"], "entry_point": "f"}  # type: ignore[index]
    assert code_reference([{"input": "1", "output": "1"}]) == {
        "language": "python",
        "tests": [{"input": "1", "output": "1"}],
    }
    assert code_reference("42") is None


def test_references_from_labels() -> None:
    assert reference_from_label({"ground_truth": "7"}) == ("math", {"answer": "7"})
    assert reference_from_label(3) == ("math", {"answer": "3"})
    assert reference_from_label(["1", None, " "]) == ("math", {"answer": ["1"]})
    assert reference_from_label({"inputs": ["1"], "outputs": ["1"]})[0] == "code"
    assert reference_from_label("  ") == (None, None)
    assert math_reference(None) is None
