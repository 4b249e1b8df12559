"""What a completion is judged against, as clients send it: a math answer, or code tests (+ language, limits).

Validated pydantic models (they arrive from outside) that the scoring layer reads as they are: the intake
produces them, the code reward maps them onto sandbox runs, the HTTP schemas re-use them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Language = Literal["python", "c", "cpp", "java", "javascript", "go", "rust"]
LANGUAGES: tuple[Language, ...] = ("python", "c", "cpp", "java", "javascript", "go", "rust")


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
    """HumanEval style. Python: test_code defines check(candidate) and entry_point names the function under test.
    Other languages (HumanEval-X): test_code is the test main / script / test module, built with the program."""

    test_code: str = Field(min_length=1)
    entry_point: str | None = Field(None, min_length=1, description="Python only: the function check() gets.")


#: The three test kinds a code reference may carry: stdin/stdout or call-based, assert-based, open-r1 list.
CodeTests = IOTests | AssertTests | list[StdioCase]


class CodeLimits(_Model):
    cpu_s: float | None = Field(None, gt=0, description="CPU seconds per test (the time-out verdict's clock).")
    memory_mb: int | None = Field(None, gt=0, description="Memory per test.")
    cpu_multiplier: float | None = Field(
        None,
        gt=0,
        le=10,
        description="Scales cpu_s for this item's language (Codeforces-style, e.g. 2 for a Java item); replaces "
        "ARBITER_SANDBOX_CPU_MULTIPLIERS and the language's default for this item.",
    )


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
