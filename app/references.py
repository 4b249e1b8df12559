"""What a completion is judged against, as clients send it: a math answer, or code tests (+ language, limits).

Validated pydantic models (they arrive from outside) that the scoring layer reads as they are: the intake
produces them, the code reward maps them onto sandbox runs, the HTTP schemas re-use them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.code_formats import BuiltinChecker, DatasetTests, Interactor, ProgramChecker, Subtask

Language = Literal["python", "c", "cpp", "java", "javascript", "go", "rust"]
LANGUAGES: tuple[Language, ...] = ("python", "c", "cpp", "java", "javascript", "go", "rust")


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
    """HumanEval style. Python: test_code defines check(candidate) and entry_point names the function under test.
    Other languages (HumanEval-X): test_code is the test main / script / test module, built with the program."""

    test_code: str = Field(min_length=1)
    entry_point: str | None = Field(None, min_length=1, description="Python only: the function check() gets.")


#: The test shapes a code reference may carry: stdin/stdout or call-based, assert-based, open-r1 list, or a
#: dataset row's own test fields (app/code_formats.py).
CodeTests = IOTests | AssertTests | list[StdioCase] | DatasetTests


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


#: longest gold answer accepted (a whole worked solution fits; the math path is linear in it, see docs/math.md)
MAX_REFERENCE_ANSWER_CHARS = 32_000


class MathOptions(_Model):
    """Per-item math options where datasets disagree (docs/math.md). Every default is the strict reading."""

    percent_as_fraction: bool = Field(
        False, description="10\\% also equals 0.1 (graders that read percents as fractions)."
    )
    rel_tol: float = Field(0.0, ge=0, le=0.1, description="Relative tolerance between numbers (rounded measurements).")
    integer_only: bool = Field(False, description="AIME style: the answer must be written as an integer.")


class Reference(_Model):
    """What a completion is judged against: `answer` for math, `tests` (+ language, limits) for code."""

    answer: str | list[str] | None = Field(None, description="Gold answer, or a list of acceptable ones.")
    choices: list[str] | None = Field(
        None,
        max_length=26,
        description="Multiple choice: the option letters (['A','B','C','D']) or the option texts, lettered A, B, ….",
    )
    math_options: MathOptions | None = Field(None, description="Per-item math options (defaults strict).")
    language: Language = "python"
    tests: CodeTests | None = None
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
        # called for every item of every batch: the common single string without building a list
        too_long = (
            len(value) > MAX_REFERENCE_ANSWER_CHARS
            if isinstance(value, str)
            else value is not None and max(map(len, value)) > MAX_REFERENCE_ANSWER_CHARS
        )
        if too_long:
            raise ValueError(
                f"answer longer than {MAX_REFERENCE_ANSWER_CHARS} characters: give the final answer, not the solution"
            )
        return value

    @field_validator("tests")
    @classmethod
    def _non_empty_list(cls, value: object) -> object:
        if isinstance(value, list) and not value:
            raise ValueError("no tests: the list is empty")
        return value
