"""What a completion is judged against, as clients send it: a math answer, or code tests (+ language, limits).

Validated pydantic models (they arrive from outside) that the scoring layer reads as they are: the intake
produces them, the code reward maps them onto sandbox runs, the HTTP schemas re-use them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Language = Literal["python", "cpp"]
LANGUAGES: tuple[Language, ...] = ("python", "cpp")


class _Model(BaseModel):
    # Finite numbers only: an Infinity CPU limit would reach the sandbox as a limit that never fires. Strict: a
    # value is the JSON type the OpenAPI document says (no "5" for 5, no false for 0), so the document is the truth.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class StdioCase(BaseModel):
    """One test of the list style (open-r1 `test_cases`): `{"input": "...", "output": "..."}`."""

    model_config = ConfigDict(extra="ignore", strict=True)  # open-r1 adds "type": "stdin_stdout"
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


#: The three test kinds a code reference may carry: stdin/stdout or call-based, assert-based, open-r1 list.
CodeTests = IOTests | AssertTests | list[StdioCase]


class CodeLimits(_Model):
    cpu_s: float | None = Field(None, gt=0, description="CPU seconds per test (the time-out verdict's clock).")
    memory_mb: int | None = Field(None, gt=0, description="Memory per test.")


class Reference(_Model):
    """What a completion is judged against: `answer` for math, `tests` (+ language, limits) for code."""

    answer: str | list[str] | None = Field(None, description="Gold answer, or a list of acceptable ones.")
    language: Language = "python"
    tests: CodeTests | None = None
    limits: CodeLimits | None = None

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
