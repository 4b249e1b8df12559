"""The judge: turns what the executor saw (a JobOutcome) into verdicts for a RunRequest, in the service process.

One grader per test kind decides a test that ran to completion ("OK" from the executor): stdio compares the
captured stdout, call compares the returned JSON value, assert trusts only its harness's report (which the
executor checked against the test's nonce). The judge also refuses claims the sandbox may not make: AC from a
stdio / call test, SKIP from a job that did not ask to stop, an unknown code; each becomes SE (a fault of the
boundary, never a verdict on the program).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from .api import CheckerProgram, FailureInfo, RunRequest, RunResult
from .compare import Comparator, compare_output, compare_values
from .models import RAN_OK, JobOutcome, TestKind, TestOutcome, Verdict


class Grader:
    kind: ClassVar[TestKind]

    def grade(self, req: RunRequest, i: int, t: TestOutcome) -> Verdict:
        """The verdict of test i, which ran to completion."""
        raise NotImplementedError


class StdioGrader(Grader):
    kind = "stdio"

    def grade(self, req: RunRequest, i: int, t: TestOutcome) -> Verdict:
        assert req.expected is not None  # RunRequest.validate
        if isinstance(req.checker, CheckerProgram) or req.interactor is not None:
            return Verdict.SE  # the checker / interactor decides inside the sandbox: a bare OK means it never ran
        if isinstance(req.checker, Comparator):
            return Verdict.AC if req.checker.matches(t.stdout, req.expected[i]) else Verdict.WA
        return Verdict.AC if compare_output(t.stdout, req.expected[i], req.judge) else Verdict.WA


class CallGrader(Grader):
    kind = "call"

    def grade(self, req: RunRequest, i: int, t: TestOutcome) -> Verdict:
        assert req.expected is not None  # RunRequest.validate
        return Verdict.AC if self.matches(req, t.return_value, req.expected[i]) else Verdict.WA

    @staticmethod
    def matches(req: RunRequest, actual: Any, expected: Any) -> bool:
        if compare_values(actual, expected, req.judge):
            return True
        return (
            req.accept_wrapped_returns
            and isinstance(expected, list)
            and len(expected) == 1
            and compare_values(actual, expected[0], req.judge)
        )


class AssertGrader(Grader):
    kind = "assert"

    def grade(self, req: RunRequest, i: int, t: TestOutcome) -> Verdict:
        return Verdict.WA  # the harness reports AC itself; a bare OK means it did not confirm the test's end


GRADERS: dict[TestKind, Grader] = {g.kind: g for g in (StdioGrader(), CallGrader(), AssertGrader())}


def _verdict(req: RunRequest, i: int, t: TestOutcome) -> Verdict:
    v = t.verdict
    if v == RAN_OK:
        return GRADERS[req.kind].grade(req, i, t)
    if v == Verdict.SKIP and not req.stop_after_failure:
        return Verdict.SE  # the executor skips tests only when asked to
    judged_inside = req.kind == "assert" or isinstance(req.checker, CheckerProgram) or req.interactor is not None
    if v == Verdict.AC and not judged_inside:
        return Verdict.SE  # only the assert harness and a checker program may claim AC inside the sandbox
    return Verdict(v)


def _excerpt(s: str, n: int) -> str:
    return s if len(s) <= n else s[:n] + f"... [{len(s) - n} more characters]"


def judge_outcome(req: RunRequest, outcome: JobOutcome, excerpt: int = 2048, error: str | None = None) -> RunResult:
    # outcomes may be shared by deduplicated requests: judged copies, never edits
    judged = [dataclasses.replace(t, verdict=_verdict(req, i, t)) for i, t in enumerate(outcome.tests)]
    verdicts = [Verdict(t.verdict) for t in judged]
    first = next(
        (
            FailureInfo(i, v, _excerpt(t.stdout, excerpt), _excerpt(t.stderr, excerpt))
            for i, (v, t) in enumerate(zip(verdicts, judged))
            if v != Verdict.AC
        ),
        None,
    )
    reference_error = next((t.reference_error for t in judged if t.reference_error), None)
    if error is None and Verdict.SE in verdicts:
        error = next((t.stderr for t in judged if t.verdict == Verdict.SE), "") or "sandbox error"
    return RunResult(
        verdicts=verdicts,
        passed=verdicts.count(Verdict.AC),
        total=len(verdicts),
        cpu_s=round(sum(t.cpu_s for t in outcome.tests), 4),
        wall_s=round(sum(t.wall_s for t in outcome.tests), 4),
        compile_output=outcome.compile_output,
        first_failure=first,
        tests=judged,
        error=error,
        compiles=outcome.compiles,
        cached_builds=outcome.cached_builds,
        reference_error=reference_error,
    )
