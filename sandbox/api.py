"""Request/result types of the public API (re-exported by sandbox/__init__.py). Judging a job's outcome against
a request is sandbox/judge.py's."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .compare import COMPARATORS, Comparator, JudgeMode
from .models import LANGUAGES, TEST_KINDS, CompileLimits, Job, LanguageName, Limits, TestKind, TestOutcome, Verdict


def available_cores() -> int:
    """CPUs this process may run on: the default number of warm workers (the service's settings use it too)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


@dataclass(frozen=True)
class PoolConfig:
    size: int = field(default_factory=available_cores)  # warm workers
    max_jobs_per_worker: int = 200  # recycle a worker after this many jobs
    acquire_timeout_s: float = 60.0  # how long a job may wait for a free worker
    start_timeout_s: float = 60.0  # a new worker must say hello within this
    protocol_margin_s: float = 5.0  # added to the sum of per-test wall caps
    retry_on_fault: bool = True  # retry a job once on a fresh worker after a boundary fault (SE)
    compile_limits: CompileLimits = field(default_factory=CompileLimits)
    output_excerpt_bytes: int = 2048  # first failure's stdout/stderr excerpt in RunResult
    # Built programs kept across jobs (sandbox/build_cache.py), in bytes held; 0 turns the cache (and the single
    # flight of compiles) off. How long a job waits for a concurrent job's compile of the same program: None is
    # compile_limits.wall_s plus a margin.
    build_cache_bytes: int = 256 << 20
    build_wait_s: float | None = None


@dataclass(frozen=True)
class CheckerProgram:
    """A custom checker (special judge) in the testlib convention: `checker input output answer`, exit 0 AC,
    1 WA, 2 presentation error, a score in [0, 1] as the first token of stdout for partial credit. It runs in the
    sandbox in its own process (judge's uid), never in the program's (sandbox/executor/checker.py)."""

    language: Literal["python", "cpp"]
    source: str


@dataclass(frozen=True)
class RunRequest:
    """One program and its tests.

    kind="stdio":  inputs = stdin strings,             expected = expected stdout strings
    kind="call":   inputs = argument lists (JSON),     expected = expected return values (JSON); fn_name
    kind="assert": inputs = test-code strings, each defining check(candidate); entry_point; expected unused
    Expected values never enter the sandbox.
    """

    source: str
    language: LanguageName = "python"  # see LANGUAGES for the test kinds each runs
    kind: TestKind = "stdio"
    inputs: Sequence[Any] = ()
    expected: Sequence[Any] | None = None
    fn_name: str | None = None
    entry_point: str | None = None
    limits: Limits = field(default_factory=Limits)
    judge: JudgeMode = "tolerant"
    # APPS and TACO store a call's expected return value wrapped in a one-element list ([[1, 2]] for a
    # return of [1, 2]) and their own grader accepts either form; True does the same for call tests.
    accept_wrapped_returns: bool = False
    # Run no further test after the first one that fails in the sandbox (TLE, MLE, RE, OLE; the sandbox cannot
    # see WA of stdio / call tests): the rest are SKIP, not passed. For all-or-nothing scoring, where the result
    # cannot change, it saves the time-outs of a looping program on every later test.
    stop_after_failure: bool = False
    # Scales limits.cpu_s (and the default wall cap derived from it); None: the language's own multiplier
    # (sandbox.LANGUAGES[language].cpu_multiplier, e.g. 2 for Java), as Codeforces-style judges do.
    cpu_multiplier: float | None = None
    # how stdio outputs are judged: a built-in comparator (compare.py; None: `judge` decides, tolerant =
    # whitespace) or a checker program (the expected answers then enter the sandbox, for the checker only)
    checker: Comparator | CheckerProgram | None = None
    # interactive tests: an interactor program (same shape as a checker program) talks with the program through
    # its stdin/stdout and decides AC / WA (sandbox/executor/interactor.py); expected outputs are not used
    interactor: CheckerProgram | None = None

    @classmethod
    def stdio(cls, source: str, inputs: Sequence[str], outputs: Sequence[str], **kw: Any) -> RunRequest:
        return cls(source=source, kind="stdio", inputs=tuple(inputs), expected=tuple(outputs), **kw)

    @classmethod
    def call(
        cls, source: str, fn_name: str, args: Sequence[Sequence[Any]], returns: Sequence[Any], **kw: Any
    ) -> RunRequest:
        return cls(
            source=source,
            kind="call",
            fn_name=fn_name,
            inputs=tuple(list(a) for a in args),
            expected=tuple(returns),
            **kw,
        )

    @classmethod
    def assert_based(cls, source: str, test_code: str | Sequence[str], entry_point: str, **kw: Any) -> RunRequest:
        tests = (test_code,) if isinstance(test_code, str) else tuple(test_code)
        return cls(source=source, kind="assert", inputs=tests, entry_point=entry_point, **kw)

    def validate(self) -> None:
        lang = LANGUAGES.get(self.language)
        if lang is None:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {self.language!r}")
        if self.kind not in TEST_KINDS:
            raise ValueError(f"kind must be one of {', '.join(TEST_KINDS)}, not {self.kind!r}")
        if self.kind not in lang.kinds:
            runs = ", ".join(k for k in TEST_KINDS if k in lang.kinds)
            raise ValueError(f"{self.language} programs run {runs} tests, not {self.kind}")
        if self.interactor is not None:
            if self.kind != "stdio" or self.checker is not None:
                raise ValueError("an interactor judges stdin/stdout tests, without a checker")
        elif self.kind in ("stdio", "call") and (self.expected is None or len(self.expected) != len(self.inputs)):
            raise ValueError("expected must have one entry per input")
        if self.kind == "call" and not self.fn_name:
            raise ValueError("call-based tests need fn_name")
        if self.kind == "assert" and self.language == "python" and not self.entry_point:
            raise ValueError("assert-based Python tests need entry_point (the function check(candidate) gets)")
        if self.kind == "assert" and not all(isinstance(x, str) for x in self.inputs):
            raise ValueError("assert tests must be test-code strings")
        if self.cpu_multiplier is not None and not 0 < self.cpu_multiplier <= 10:
            raise ValueError("cpu_multiplier must be in (0, 10]")
        if self.kind == "stdio" and not all(isinstance(x, str) for x in self.inputs):
            raise ValueError("stdio inputs must be strings")
        if self.judge not in ("tolerant", "exact"):
            raise ValueError("judge must be 'tolerant' or 'exact'")
        if isinstance(self.checker, Comparator):
            if self.checker.type not in COMPARATORS:
                raise ValueError(f"checker type must be one of {', '.join(COMPARATORS)}, not {self.checker.type!r}")
            if not (self.checker.abs_tol >= 0 and self.checker.rel_tol >= 0):
                raise ValueError("checker tolerances must be >= 0")
        if isinstance(self.checker, CheckerProgram):
            if self.kind != "stdio":
                raise ValueError("a checker program judges stdin/stdout tests only")
            if self.checker.language not in ("python", "cpp"):
                raise ValueError("checker language must be python or cpp")

    @property
    def effective_limits(self) -> Limits:
        factor = LANGUAGES[self.language].cpu_multiplier if self.cpu_multiplier is None else self.cpu_multiplier
        if factor == 1.0:
            return self.limits
        return dataclasses.replace(self.limits, cpu_s=round(self.limits.cpu_s * factor, 3))

    def to_job(self, compile_limits: CompileLimits | None = None) -> Job:
        return Job(
            source=self.source,
            language=self.language,
            kind=self.kind,
            tests=tuple(self.inputs),
            fn_name=self.fn_name,
            entry_point=self.entry_point,
            limits=self.effective_limits,
            compile_limits=compile_limits or CompileLimits(),
            stop_after_failure=self.stop_after_failure,
            checker=(
                {"language": self.checker.language, "source": self.checker.source}
                if isinstance(self.checker, CheckerProgram)
                else None
            ),
            answers=tuple(self.expected or ()) if isinstance(self.checker, CheckerProgram) else None,
            interactor=(
                {"language": self.interactor.language, "source": self.interactor.source} if self.interactor else None
            ),
        )


@dataclass(frozen=True)
class FailureInfo:
    index: int
    verdict: Verdict
    stdout: str
    stderr: str


@dataclass
class RunResult:
    verdicts: list[Verdict]
    passed: int
    total: int
    cpu_s: float  # sum over tests
    wall_s: float  # sum over tests
    compile_output: str = ""
    first_failure: FailureInfo | None = None
    tests: list[TestOutcome] = field(default_factory=list)
    error: str | None = None  # why tests are SE (no worker free, boundary failed twice, ...)
    compiles: int = 0  # compiler runs this result took (0 for an interpreted language or a cached build)
    cached_builds: int = 0  # builds served from the build cache instead of the compiler
    # the reference's tests cannot run (assert test code that does not compile, defines no check): the item is an
    # error, never a wrong answer of the program
    reference_error: str | None = None

    @property
    def pass_fraction(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def all_passed(self) -> bool:
        return self.total > 0 and self.passed == self.total

    @property
    def system_error(self) -> bool:
        """True when some test could not be judged because of the sandbox (never the program's fault)."""
        return Verdict.SE in self.verdicts
