"""What every adapter needs: completion text from any trainer's shape, references from dataset columns and labels.

Stdlib only: imported by the client-side adapters and by the service's OpenRLHF/slime routes alike.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

Task = Literal["math", "code"]

#: Dataset columns read as the math gold answer, in order of preference (open-r1 / TRL use `solution`).
ANSWER_COLUMNS: tuple[str, ...] = ("solution", "answer", "ground_truth", "reward_model")
#: Dataset columns read as code tests (open-r1 `verification_info`, APPS `input_output`, TACO/LCB `tests`).
TESTS_COLUMNS: tuple[str, ...] = ("tests", "verification_info", "test_cases", "input_output")

# Chat-template tokens a trainer leaves around a response when it decodes without skip_special_tokens
# (OpenRLHF's queries). The format reward's strict template allows nothing after </answer>, so they go.
_SPECIAL_TOKEN = re.compile(r"(?:\s*(?:<\|[^<>|]{1,40}\|>|</s>|<s>|<eos>|<bos>|<pad>|\[PAD\]))+\s*$")
_LEADING_SPECIAL = re.compile(r"^\s*(?:<\|(?:im_start|start_header_id)\|>\s*assistant\s*(?:<\|end_header_id\|>)?\s*)")


def completion_text(completion: Any) -> str:
    """The text of a completion: a string (standard format) or a list of chat messages (conversational format,
    where the assistant's messages are joined; a message's content may be a string or a list of text parts)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _content_text(completion.get("content"))
    if isinstance(completion, Sequence):
        messages = [m for m in completion if isinstance(m, Mapping)]
        assistant = [m for m in messages if m.get("role", "assistant") == "assistant"] or messages
        return "".join(_content_text(m.get("content")) for m in assistant)
    raise TypeError(f"a completion is a string or a list of messages, not {type(completion).__name__}")


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(
            str(p.get("text", "")) for p in content if isinstance(p, Mapping) and p.get("type", "text") == "text"
        )
    return str(content)


def strip_special_tokens(text: str) -> str:
    """Remove chat-template tokens that trail (and an assistant header that leads) a decoded response."""
    return _SPECIAL_TOKEN.sub("", _LEADING_SPECIAL.sub("", text))


def response_from_query(query: str, prompt: str) -> str:
    """OpenRLHF sends query = prompt + response: the response is what follows the prompt."""
    if prompt and query.startswith(prompt):
        return query[len(prompt) :]
    position = query.rfind(prompt) if prompt else -1
    if position >= 0:
        return query[position + len(prompt) :]
    # The prompt was re-tokenized differently (spaces around special tokens): keep the whole query rather than
    # guess; the answer extractor looks for the last answer anyway.
    return query


def group_key(prompt: Any) -> str:
    """A stable group id for a prompt (string or chat messages): completions of one prompt share it."""
    raw = prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, default=str)
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "["):
            try:
                return json.loads(stripped)
            except json.JSONDecodeError:
                return value
    return value


def code_reference(value: Any) -> dict[str, Any] | None:
    """The API's code reference from the usual test shapes, or None when the value holds no tests.

    Accepts `{"inputs", "outputs", "fn_name"?}` (APPS/TACO), `{"test_code", "entry_point"}` (HumanEval), a list of
    `{"input", "output"}` (open-r1 test_cases), open-r1's `verification_info` `{"language", "test_cases"}`, and any
    of them as a JSON string.
    """
    value = _maybe_json(value)
    if isinstance(value, Mapping):
        language = value.get("language", "python")
        if "test_cases" in value:
            tests = _maybe_json(value["test_cases"])
        elif "inputs" in value and "outputs" in value:
            tests = {k: value[k] for k in ("inputs", "outputs", "fn_name") if value.get(k) is not None}
        elif "test_code" in value or "test" in value:
            tests = {
                "test_code": value.get("test_code", value.get("test")),
                "entry_point": value.get("entry_point", ""),
            }
        elif "input_output" in value:
            return code_reference(value["input_output"])
        else:
            return None
        reference: dict[str, Any] = {
            "language": language if language in ("python", "cpp") else "python",
            "tests": tests,
        }
        if isinstance(value.get("limits"), Mapping):
            reference["limits"] = dict(value["limits"])
        return reference
    if isinstance(value, list) and value and all(isinstance(t, Mapping) and "input" in t for t in value):
        return {"language": "python", "tests": [{"input": t["input"], "output": t.get("output")} for t in value]}
    return None


def math_reference(value: Any) -> dict[str, Any] | None:
    """The API's math reference from a gold answer: a string, a number, a list of acceptable answers, or verl's
    `reward_model` column `{"ground_truth": ...}`."""
    if isinstance(value, Mapping):
        value = value.get("ground_truth", value.get("answer"))
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        answers = [str(v) for v in value if v is not None and str(v).strip()]
        return {"answer": answers} if answers else None
    text = str(value)
    return {"answer": text} if text.strip() else None


def reference_from_label(label: Any, task: Task | None = None) -> tuple[Task | None, dict[str, Any] | None]:
    """(task, reference) from a single label (OpenRLHF, slime, verl ground_truth): tests when it holds tests,
    else a math answer, unless `task` forces one."""
    if task != "math":
        code = code_reference(label)
        if code is not None:
            return "code", code
        if task == "code":
            return "code", None
    math = math_reference(label)
    return ("math", math) if math is not None else (task, None)


def reference_from_columns(columns: Mapping[str, Any]) -> tuple[Task | None, dict[str, Any] | None]:
    """(task, reference) from one dataset row: tests columns first (a code row may also carry a `solution`
    column holding the reference program), then answer columns."""
    for name in TESTS_COLUMNS:
        if columns.get(name) is not None:
            code = code_reference(columns[name])
            if code is not None:
                return "code", code
    for name in ANSWER_COLUMNS:
        if columns.get(name) is not None:
            math = math_reference(columns[name])
            if math is not None:
                return "math", math
    return None, None
