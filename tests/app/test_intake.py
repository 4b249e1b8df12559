"""The one intake: every door (/v1/score items, OpenRLHF, slime, a JSONL line) gets the same limits, the same
validation and the same messages; the trainer doors read their payload conventions."""

from __future__ import annotations

from typing import Any

import pytest

from app.completion import TagConfig
from app.errors import InvalidRequest, LimitExceeded
from app.intake import Fields, Intake, IntakeLimits, JsonlLine, OpenRLHFRequest, ScoreItem, SlimeRequest
from app.references import IOTests
from app.rewards.base import CodeReference, MathReference

R1 = "<think>t</think><answer>{}</answer>"
INTAKE = Intake(TagConfig(), IntakeLimits(max_items=3, max_completion_chars=100))


def _doors(completion: str, label: Any) -> dict[str, Any]:
    """One item with this completion and label, as each door receives it."""
    reference = {"answer": label} if isinstance(label, str) else {"tests": label}
    return {
        "score": [ScoreItem.model_validate({"id": "0", "completion": completion, "reference": reference})],
        "openrlhf": OpenRLHFRequest(query=["Q" + completion], prompts=["Q"], labels=[label]),
        "slime": SlimeRequest(prompt="Q", response=completion, label=label),
        "jsonl": JsonlLine({"completion": completion, **reference}, id="0"),
    }


@pytest.mark.parametrize("door", ["score", "openrlhf", "slime", "jsonl"])
def test_every_door_yields_the_same_item(door: str) -> None:
    [item] = INTAKE.items(_doors(R1.format("42"), "42")[door])
    assert (item.index, item.id, item.task) == (0, "0", "math")
    assert item.reference == MathReference(answers=("42",))
    assert item.parsed.answer == "42" and item.parsed.well_formed
    tests = {"inputs": ["1\n"], "outputs": ["1\n"]}
    [code] = INTAKE.items(_doors(R1.format("x"), tests)[door])
    assert code.task == "code" and isinstance(code.reference, CodeReference)
    assert code.reference.tests == IOTests(inputs=["1\n"], outputs=["1\n"])


@pytest.mark.parametrize(
    ("door", "field"),
    [
        ("score", "items.0.completion"),
        ("openrlhf", "items.0.completion"),
        ("slime", "items.0.completion"),
        ("jsonl", "completion"),
    ],
)
def test_one_completion_limit_and_message_for_every_door(door: str, field: str) -> None:
    with pytest.raises(LimitExceeded) as caught:
        INTAKE.items(_doors("y" * 101, "1")[door])
    assert caught.value.detail == f"{field}: 101 characters, the limit is 100 (ARBITER_MAX_COMPLETION_CHARS)"


def test_one_item_limit_and_message_for_batches() -> None:
    message = "items: 4 items in one request, the limit is 3 (ARBITER_MAX_ITEMS); split the batch"
    items = [ScoreItem(id=str(i), completion="c") for i in range(4)]
    with pytest.raises(LimitExceeded, match=message.replace("(", r"\(").replace(")", r"\)")):
        INTAKE.items(items)
    with pytest.raises(LimitExceeded) as caught:
        INTAKE.items(OpenRLHFRequest(query=["a"] * 4, prompts=[], labels=None))
    assert caught.value.detail == message


def test_both_answer_and_tests_is_refused_where_the_sender_can_fix_it() -> None:
    both = {"answer": "1", "tests": {"inputs": ["1"], "outputs": ["1"]}}
    with pytest.raises(InvalidRequest, match=r"^items\.0\.reference: has both answer and tests; set items\.0\.task$"):
        INTAKE.items([ScoreItem.model_validate({"id": "a", "completion": "c", "reference": both})])
    with pytest.raises(InvalidRequest, match=r"^reference: has both answer and tests; set task$"):
        INTAKE.items(JsonlLine({"completion": "c", **both}, id="a"))
    [forced] = INTAKE.items(JsonlLine({"completion": "c", "task": "code", **both}, id="a"))
    assert forced.task == "code"


def test_a_bad_label_costs_a_trainer_its_reference_not_the_batch() -> None:
    empty_tests: dict[str, list[str]] = {"inputs": [], "outputs": []}
    [item] = INTAKE.items(SlimeRequest(prompt="p", response="r", label=empty_tests))
    assert item.reference is None and item.task is None
    # The same reference in a JSONL line is refused, naming the field.
    with pytest.raises(
        InvalidRequest, match=r"^reference\.tests\..*: Value error, no tests: inputs and outputs are empty$"
    ):
        INTAKE.items(JsonlLine({"completion": "c", "tests": empty_tests}, id="a"))


def test_jsonl_fields_are_options_and_tests_may_be_json_text() -> None:
    fields = Fields(completion="output", tests="input_output", group="prompt_id")
    record = {"output": "c", "input_output": '{"inputs": ["1"], "outputs": ["1"]}', "prompt_id": 7}
    [item] = INTAKE.items(JsonlLine(record, id="@3", fields=fields))
    assert (item.id, item.group, item.task) == ("@3", "7", "code")
    with pytest.raises(InvalidRequest, match="field 'output' missing or not a string"):
        INTAKE.items(JsonlLine({"completion": "c"}, id="a", fields=fields))
    with pytest.raises(InvalidRequest, match=r"field 'input_output' is a string but not JSON"):
        INTAKE.items(JsonlLine({"output": "c", "input_output": "{oops"}, id="a", fields=fields))


def test_openrlhf_queries_lose_their_prompt_and_special_tokens() -> None:
    prompt = "<|im_start|>user\nWhat is 6*7?<|im_end|>\n<|im_start|>assistant\n"
    request = OpenRLHFRequest(
        query=[prompt + R1.format("42") + "<|im_end|><|endoftext|>", prompt + "x"], prompts=[prompt] * 2, labels=None
    )
    first, second = INTAKE.items(request)
    assert first.parsed.well_formed and first.parsed.answer == "42"
    assert first.group == second.group is not None and first.reference is None
    with pytest.raises(InvalidRequest, match="prompts has 1 entries but query has 2"):
        INTAKE.items(OpenRLHFRequest(query=["a", "b"], prompts=["a"]))
    with pytest.raises(InvalidRequest, match="labels has 1 entries but query has 2"):
        INTAKE.items(OpenRLHFRequest(query=["a", "b"], labels=["1"]))
    assert INTAKE.items(OpenRLHFRequest()) == []


def test_slime_reads_chat_messages_and_groups_by_prompt() -> None:
    messages = [{"role": "assistant", "content": R1.format("1")}]
    [item] = INTAKE.items(
        SlimeRequest(prompt=[{"role": "user", "content": "q"}], response=messages, label=["1", "one"])
    )
    assert item.parsed.answer == "1" and item.reference == MathReference(answers=("1", "one"))
    [again] = INTAKE.items(SlimeRequest(prompt=[{"role": "user", "content": "q"}], response="r", label=None))
    assert again.group == item.group and again.reference is None
