"""How the trainers' own reward protocols carry a sample, read on the server side (OpenRLHF `/get_reward`, slime
`/slime/reward`): the completion inside a decoded query or a list of chat messages, and a reference inside a
dataset label. The intake (app/intake.py) turns what these return into scoring items.

The client package reads the same conventions on its side of the wire (arbiter_client); the server never
imports it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from app.rewards.base import Task

# Chat-template tokens a trainer leaves around a response when it decodes without skip_special_tokens
# (OpenRLHF's queries). The format reward's strict template allows nothing after </answer>, so they go.
_SPECIAL_TOKEN = re.compile(r"(?:\s*(?:<\|[^<>|]{1,40}\|>|</s>|<s>|<eos>|<bos>|<pad>|\[PAD\]))+\s*$")
_LEADING_SPECIAL = re.compile(r"^\s*(?:<\|(?:im_start|start_header_id)\|>\s*assistant\s*(?:<\|end_header_id\|>)?\s*)")


def completion_text(completion: Any) -> str:
    """The text of a completion: a string, or chat messages (the assistant's joined; a message's content may
    be a string or a list of text parts)."""
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
    # surrogatepass: a prompt may hold a lone surrogate (a valid JSON escape); any str must hash.
    return hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


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
    """A code reference (the shape of app/references.py Reference) from the usual test shapes, or None when the
    value holds no tests.

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
        # A language Arbiter cannot run stays as given: the intake then refuses the label and the item is scored
        # without a reference, unjudged (judged: false), never judged as Python and wrong.
        reference: dict[str, Any] = {"language": language, "tests": tests}
        if isinstance(value.get("limits"), Mapping):
            reference["limits"] = dict(value["limits"])
        return reference
    if isinstance(value, list) and value and all(isinstance(t, Mapping) and "input" in t for t in value):
        return {"language": "python", "tests": [{"input": t["input"], "output": t.get("output")} for t in value]}
    return None


def math_reference(value: Any) -> dict[str, Any] | None:
    """A math reference from a gold answer: a string, a number, a list of acceptable answers, or verl's
    `reward_model` column `{"ground_truth": ...}`."""
    if isinstance(value, Mapping):
        value = value.get("ground_truth", value.get("answer"))
    if value is None:
        return None
    if isinstance(value, list | tuple):
        answers = [str(v) for v in value if v is not None and str(v).strip()]
        return {"answer": answers} if answers else None
    text = str(value)
    return {"answer": text} if text.strip() else None


def reference_from_label(label: Any) -> tuple[Task | None, dict[str, Any] | None]:
    """(task, reference) from one label (OpenRLHF, slime): tests when it holds tests, else a math answer."""
    code = code_reference(label)
    if code is not None:
        return "code", code
    math = math_reference(label)
    return ("math", math) if math is not None else (None, None)
