"""Request and response models of the HTTP API: the contract with trainers. Fields may be added, never renamed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.code_formats import BuiltinChecker, DatasetTests, Interactor, ProgramChecker, Subtask

Language = Literal["python", "cpp"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StdioCase(BaseModel):
    """One test of the list style (open-r1 `test_cases`): `{"input": "...", "output": "..."}`."""

    model_config = ConfigDict(extra="ignore")  # open-r1 adds "type": "stdin_stdout"
    input: Any
    output: Any


class IOTests(_Model):
    """APPS / TACO / LiveCodeBench style. With fn_name the tests are call-based: each input holds the JSON
    arguments of one call and each output the expected return value."""

    inputs: list[Any]
    outputs: list[Any]
    fn_name: str | None = Field(
        None, description="Function (or method of class Solution) to call; absent for stdin/stdout."
    )

    @model_validator(mode="after")
    def _same_length(self) -> IOTests:
        if len(self.inputs) != len(self.outputs):
            raise ValueError(f"inputs has {len(self.inputs)} entries but outputs has {len(self.outputs)}")
        if not self.inputs:
            raise ValueError("no tests: inputs and outputs are empty")
        return self


class AssertTests(_Model):
    """HumanEval style: test_code defines check(candidate); entry_point names the function under test."""

    test_code: str = Field(min_length=1)
    entry_point: str = Field(min_length=1)


class CodeLimits(_Model):
    cpu_s: float | None = Field(None, gt=0, description="CPU seconds per test (the time-out verdict's clock).")
    memory_mb: int | None = Field(None, gt=0, description="Memory per test.")


class Reference(_Model):
    """What a completion is judged against: `answer` for math, `tests` (+ language, limits) for code."""

    answer: str | list[str] | None = Field(None, description="Gold answer, or a list of acceptable ones.")
    language: Language = "python"
    tests: IOTests | AssertTests | list[StdioCase] | DatasetTests | None = None
    limits: CodeLimits | None = None
    checker: BuiltinChecker | ProgramChecker | None = Field(
        None, description="How stdin/stdout outputs are judged (default whitespace); see docs/code.md."
    )
    interactor: Interactor | None = Field(
        None, description="Makes the tests interactive: the interactor talks with the program (docs/code.md)."
    )
    subtasks: list[Subtask] | None = Field(
        None, description="IOI-style subtasks: the score is the share of points of the subtasks whose tests all pass."
    )

    @field_validator("answer")
    @classmethod
    def _non_empty(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and not value:
            raise ValueError("answer list is empty: give at least one acceptable answer")
        return value

    @field_validator("tests")
    @classmethod
    def _non_empty_list(cls, value: object) -> object:
        if isinstance(value, list) and not value:
            raise ValueError("no tests: the list is empty")
        return value


class ScoreItem(_Model):
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


class AdvantageOptions(_Model):
    """GRPO group-relative advantages over the request's items (app/rewards/advantages.py, docs/advantages.md)."""

    scale: Literal["group", "batch", "none"] = Field(
        "group",
        description="group: (r - group mean) / (group std + eps), GRPO; batch: (r - group mean) / (batch std + eps), "
        "TRL's scale_rewards=batch; none: r - group mean, Dr. GRPO. std is the sample std (n - 1), as torch.std.",
    )
    eps: float = Field(1e-6, ge=0, description="Added to the std; verl's default 1e-6 (TRL uses 1e-4).")


class ScoreRequest(_Model):
    items: list[ScoreItem]
    advantages: AdvantageOptions | None = Field(
        None, description="Also return each item's group-relative advantage (items share a group through `group`)."
    )
    rewards: str | dict[str, dict[str, Any] | str] | None = Field(
        None,
        description='A profile name ("r1-zero", "r1", "dapo", "open-r1"), or components and their parameters, '
        'e.g. {"format": {"weight": 1}, "accuracy": {"weight": 1}}, optionally on top of a profile: '
        '{"profile": "dapo", "overlong": {"max_len": 8192}}. Default: the r1-zero profile (format and accuracy, '
        "weight 1). GET /v1/rewards lists rewards, profiles and parameters.",
    )


class ItemResult(BaseModel):
    id: str
    reward: float = Field(description="Weighted sum of components.")
    components: dict[str, float]
    status: Literal["ok", "timeout", "error", "sandbox_unavailable"]
    reason: str | None = Field(None, description="Why status is not ok.")
    details: dict[str, dict[str, Any]] = Field(default_factory=dict)
    advantage: float | None = Field(
        None, description="Group-relative advantage, when the request asked for `advantages`; 0 for items not ok."
    )


class ScoreResponse(BaseModel):
    results: list[ItemResult]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class Readiness(BaseModel):
    ready: bool
    math: dict[str, Any]
    sandbox: dict[str, Any]
