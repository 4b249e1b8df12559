"""The one way in: every external request becomes validated scoring items here, with the same limits and the
same error messages, whichever door it came through.

- `/v1/score`: the request's items (already validated by the HTTP layer against ScoreItem);
- OpenRLHF's `/get_reward` (OpenRLHFRequest) and slime's `/slime/reward` (SlimeRequest);
- one line of an `arbiter score` JSONL file (JsonlLine).

`Intake.items(payload)` checks the limits (ARBITER_MAX_ITEMS, ARBITER_MAX_COMPLETION_CHARS), validates what is
not yet validated, and parses each completion once into a ScoringItem. Errors are InvalidRequest (malformed) or
LimitExceeded (over a limit) whose detail names the field: `items.3.completion: ...` for a batch, the field
alone (`completion: ...`) for a JSONL line, which is an item by itself.

A trainer-protocol label that is not a valid reference does not fail the batch: the item is scored without one
(its accuracy reports status `error`), as one bad row must not stop a training run. A score request or a JSONL
line with a bad reference is refused, because its sender can fix it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.completion import TagConfig, parse_completion
from app.errors import InvalidRequest, LimitExceeded
from app.references import Reference
from app.rewards.base import CodeReference, MathReference, ScoringItem, Task
from app.trainer_payloads import (
    completion_text,
    group_key,
    reference_from_label,
    response_from_query,
    strip_special_tokens,
)

log = logging.getLogger("arbiter.intake")


# Comments, not docstrings, on the wire models: a docstring would become a description in the OpenAPI schema.


# One item as every client sends it (an item of /v1/score, a JSONL line once its fields are mapped).
class ScoreItem(BaseModel):
    # Strict: each field is the JSON type the OpenAPI document says, no coercion (see app/references.py).
    model_config = ConfigDict(extra="forbid", strict=True)
    id: str = Field(max_length=512)
    completion: str
    reference: Reference = Field(default_factory=Reference)
    task: Literal["math", "code"] | None = Field(None, description="Inferred from reference when absent.")
    group: str | None = Field(None, max_length=512, description="Prompt id: items of one GRPO group share it.")
    completion_tokens: int | None = Field(None, ge=0, description="Length in tokens, for length-based rewards.")
    target_language: str | None = Field(
        None,
        max_length=16,
        description="Language the reasoning should be in (ISO 639-1, e.g. en, zh), for the "
        "language reward; overrides its `target` parameter for this item.",
    )


# A request's `rewards` as an object: reward name → its parameters, and optionally `"profile": name` under them.
# The schema says exactly that (a string only under `profile`, objects elsewhere, at least one entry), so that
# every shape it admits is one the pipeline accepts; which names and parameters exist is GET /v1/rewards.
class RewardSelection(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra=lambda schema: schema.update(
            minProperties=1, properties={"profile": {"type": "string", "description": "A profile to start from."}}
        ),
    )
    __pydantic_extra__: dict[str, dict[str, Any]] = Field(init=False)
    profile: str | None = None

    @field_validator("profile", mode="before")
    @classmethod
    def _named(cls, value: object) -> object:
        if value is None:
            raise ValueError("must be a profile name (leave it out for none)")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> RewardSelection:
        if self.profile is None and not self.__pydantic_extra__:
            raise ValueError("empty: name a profile or at least one reward (GET /v1/rewards lists them)")
        return self

    def selection(self) -> dict[str, Any]:
        """The plain mapping the pipeline resolves (app/rewards/pipeline.py Selection)."""
        out: dict[str, Any] = {} if self.profile is None else {"profile": self.profile}
        out.update(self.__pydantic_extra__)
        return out


#: A request's `rewards`, as every door accepts it: a profile name, a RewardSelection, or None (the default).
RewardsField = str | RewardSelection | None


def selection_of(rewards: RewardsField) -> str | dict[str, Any] | None:
    return rewards.selection() if isinstance(rewards, RewardSelection) else rewards


# OpenRLHF's remote reward model request (`--remote_rm_url http://host:port/get_reward`).
class OpenRLHFRequest(BaseModel):
    # OpenRLHF may add keys in later versions; unknown ones are ignored rather than refused.
    model_config = ConfigDict(extra="ignore", strict=True)
    query: list[str] = Field(default_factory=list, description="Prompt + response, decoded with special tokens.")
    prompts: list[str] = Field(default_factory=list, description="The prompts, so that the response can be cut out.")
    labels: list[Any] | None = Field(None, description="Gold answer (math) or tests (code) per query.")
    rewards: RewardsField = Field(None, description="As /v1/score's rewards; default r1-zero.")


# slime's remote reward model request (`--rm-type remote_rm --rm-url http://host:port/slime/reward`).
class SlimeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    prompt: str | list[Any] | None = None
    response: str | list[Any]
    label: Any = None
    rewards: RewardsField = None


@dataclass(frozen=True, slots=True)
class Fields:
    """Names of a JSONL line's fields. Optional ones read as-is when present: task, completion_tokens,
    target_language, language (of the code) and limits."""

    id: str = "id"
    completion: str = "completion"
    answer: str = "answer"
    tests: str = "tests"
    group: str = "group"


@dataclass(frozen=True, slots=True)
class JsonlLine:
    """One JSON object of an `arbiter score` input; `id` is the line's id (its own, or `@<line number>`)."""

    record: Mapping[str, Any]
    id: str
    fields: Fields = Fields()


#: What a door hands the intake: a score request's items, a trainer protocol's payload, or one JSONL line.
Payload = Sequence[ScoreItem] | OpenRLHFRequest | SlimeRequest | JsonlLine


@dataclass(frozen=True, slots=True)
class IntakeLimits:
    max_items: int
    max_completion_chars: int


def _at(where: str, name: str) -> str:
    """The location of a field for error messages: `items.3.completion` in a batch, `completion` in a line."""
    return f"{where}.{name}" if where else name


class Intake:
    def __init__(self, tags: TagConfig, limits: IntakeLimits) -> None:
        self.tags = tags
        self.limits = limits

    def items(self, payload: Payload) -> list[ScoringItem]:
        """Validated scoring items, in payload order; raises InvalidRequest or LimitExceeded."""
        if isinstance(payload, OpenRLHFRequest):
            return self._admit(_openrlhf_items(payload), labels="lenient")
        if isinstance(payload, SlimeRequest):
            return self._admit([_slime_item(payload)], labels="lenient")
        if isinstance(payload, JsonlLine):
            return self._admit([_jsonl_item(payload)], labels="strict", batch=False)
        return self._admit(payload, labels="strict")

    def _admit(
        self,
        raws: Sequence[ScoreItem | Mapping[str, Any]],
        *,
        labels: Literal["strict", "lenient"],
        batch: bool = True,
    ) -> list[ScoringItem]:
        limits = self.limits
        if len(raws) > limits.max_items:
            raise LimitExceeded(
                f"items: {len(raws)} items in one request, the limit is {limits.max_items} "
                "(ARBITER_MAX_ITEMS); split the batch"
            )
        wheres = [f"items.{i}" if batch else "" for i in range(len(raws))]
        for raw, where in zip(raws, wheres):
            completion = raw.completion if isinstance(raw, ScoreItem) else raw["completion"]
            if len(completion) > limits.max_completion_chars:
                raise LimitExceeded(
                    f"{_at(where, 'completion')}: {len(completion)} characters, the limit is "
                    f"{limits.max_completion_chars} (ARBITER_MAX_COMPLETION_CHARS)"
                )
        return [
            self._convert(index, where, raw if isinstance(raw, ScoreItem) else _validate(raw, where, labels))
            for index, (raw, where) in enumerate(zip(raws, wheres))
        ]

    def _convert(self, index: int, where: str, item: ScoreItem) -> ScoringItem:
        ref = item.reference
        task: Task | None = item.task
        if task is None:
            if ref.answer is not None and ref.tests is not None:
                raise InvalidRequest(f"{_at(where, 'reference')}: has both answer and tests; set {_at(where, 'task')}")
            task = "math" if ref.answer is not None else "code" if ref.tests is not None else None
        reference: MathReference | CodeReference | None = None
        if task == "math" and ref.answer is not None:
            answers = (ref.answer,) if isinstance(ref.answer, str) else tuple(ref.answer)
            reference = MathReference(answers=answers)
        elif task == "code" and ref.tests is not None:
            limits = ref.limits
            if ref.interactor is not None and ref.checker is not None:
                raise InvalidRequest(f"{_at(where, 'reference')}: give an interactor or a checker, not both")
            reference = CodeReference(
                language=ref.language,
                tests=ref.tests,
                cpu_s=limits.cpu_s if limits else None,
                memory_mb=limits.memory_mb if limits else None,
                cpu_multiplier=limits.cpu_multiplier if limits else None,
                checker=ref.checker,
                subtasks=ref.subtasks,
                interactor=ref.interactor,
            )
        # Per-item reward settings travel in `extra`; each reward validates the ones it reads.
        extra: dict[str, object] = {"target_language": item.target_language} if item.target_language is not None else {}
        if isinstance(reference, MathReference):  # read by app/rewards/math_accuracy.py
            if ref.choices:
                extra["math_choices"] = tuple(ref.choices)
            if ref.math_options is not None:
                extra["math_options"] = ref.math_options.model_dump()
        return ScoringItem(
            index=index,
            id=item.id,
            parsed=parse_completion(item.completion, self.tags),
            task=task if reference is not None else None,
            reference=reference,
            group=item.group,
            completion_tokens=item.completion_tokens,
            extra=extra,
        )


def _validate(raw: Mapping[str, Any], where: str, labels: Literal["strict", "lenient"]) -> ScoreItem:
    try:
        return ScoreItem.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = _at(where, ".".join(str(p) for p in first["loc"]))
        if labels == "strict" or first["loc"][:1] not in (("reference",), ("task",)):
            raise InvalidRequest(f"{location}: {first['msg']}") from None
        log.warning("item %s: label is not a valid reference (%s); scored without one", raw["id"], first["msg"])
        return ScoreItem.model_validate({k: v for k, v in raw.items() if k not in ("reference", "task")})


def _labelled(item: dict[str, Any], label: Any) -> dict[str, Any]:
    task, reference = reference_from_label(label)
    if reference is not None:
        item["reference"] = reference
        item["task"] = task
    return item


def _openrlhf_items(payload: OpenRLHFRequest) -> list[dict[str, Any]]:
    """OpenRLHF sends query = prompt + response, decoded with special tokens, and one label per query."""
    queries, prompts, labels = payload.query, payload.prompts, payload.labels or []
    if prompts and len(prompts) != len(queries):
        raise InvalidRequest(f"prompts has {len(prompts)} entries but query has {len(queries)}")
    if labels and len(labels) != len(queries):
        raise InvalidRequest(f"labels has {len(labels)} entries but query has {len(queries)}")
    items = []
    for i, query in enumerate(queries):
        prompt = prompts[i] if prompts else ""
        item: dict[str, Any] = {"id": str(i), "completion": strip_special_tokens(response_from_query(query, prompt))}
        if prompt:
            item["group"] = group_key(prompt)
        items.append(_labelled(item, labels[i]) if labels else item)
    return items


def _slime_item(payload: SlimeRequest) -> dict[str, Any]:
    """slime sends one sample: its prompt, its response (text or chat messages) and its label."""
    item: dict[str, Any] = {"id": "0", "completion": strip_special_tokens(completion_text(payload.response))}
    if payload.prompt:
        item["group"] = group_key(payload.prompt)
    return _labelled(item, payload.label)


def _jsonl_item(line: JsonlLine) -> dict[str, Any]:
    record, f = line.record, line.fields
    completion = record.get(f.completion)
    if not isinstance(completion, str):
        raise InvalidRequest(f"field {f.completion!r} missing or not a string")
    tests = record.get(f.tests)
    if isinstance(tests, str):
        # Datasets (APPS, open-r1's verification_info) often store tests as a JSON string.
        try:
            tests = json.loads(tests)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"field {f.tests!r} is a string but not JSON ({exc.msg})") from None
    reference = {
        "answer": record.get(f.answer),
        "tests": tests,
        "language": record.get("language"),
        "limits": record.get("limits"),
    }
    return {
        "id": line.id,
        "completion": completion,
        "reference": {k: v for k, v in reference.items() if v is not None},
        "task": record.get("task"),
        "group": None if record.get(f.group) is None else str(record.get(f.group)),
        "completion_tokens": record.get("completion_tokens"),
        "target_language": record.get("target_language"),
    }
