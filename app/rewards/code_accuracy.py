"""Code half of the accuracy reward: pick the program out of the completion, map the item's tests (APPS /
TACO / LiveCodeBench, open-r1 lists, call-based, HumanEval asserts) onto one sandbox RunRequest, run it in the
sandbox pool and turn the verdicts into a reward."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from typing import Any, Literal

from app.code_formats import BuiltinChecker, DatasetTests, Normalized, ProgramChecker
from app.completion import select_program
from app.config import SandboxSettings
from app.references import AssertTests, IOTests, StdioCase
from app.rewards.base import CodeReference, Component, ScoringItem, time_left
from app.sandbox_runtime import SandboxRuntime, SandboxUnavailable
from sandbox import CheckerProgram, Comparator, Limits, RunRequest, RunResult

Mode = Literal["pass_fraction", "all_or_nothing", "weighted"]


class TestsFormatError(ValueError):
    """The item's tests cannot be mapped to a run; the item reports status error with this message."""


class CodeAccuracy:
    def __init__(self, sandbox: SandboxRuntime, settings: SandboxSettings) -> None:
        self._sandbox = sandbox
        self._settings = settings

    async def score(
        self, items: Sequence[ScoringItem], *, mode: Mode, compare: str, weighted_share: float = 0.1
    ) -> list[Component]:
        if not items:
            return []
        tasks = [asyncio.create_task(self._score_one(item, mode, compare, weighted_share)) for item in items]
        try:
            # Item by item against the request deadline: programs that finished keep their results, the rest
            # report timeout (their sandbox jobs still end within their own per-test limits).
            _, pending = await asyncio.wait(tasks, timeout=time_left())
        finally:
            unfinished = [task for task in tasks if not task.done()]
            for task in unfinished:
                task.cancel()
            if unfinished:
                await asyncio.gather(*unfinished, return_exceptions=True)
        return [
            Component.failed("timeout", "program not judged within the request deadline (ARBITER_REQUEST_DEADLINE_S)")
            if task in pending
            else task.result()
            for task in tasks
        ]

    async def _score_one(self, item: ScoringItem, mode: str, compare: str, weighted_share: float) -> Component:
        reference = item.reference
        assert isinstance(reference, CodeReference)
        program = select_program(item.parsed, reference.language)
        if program is None:
            return Component(
                0.0,
                reason=f"no ```{reference.language} code block found in the answer",
                details={"passed": 0, "total": _count_tests(reference.tests)},
            )
        try:
            # All or nothing: the first failing test decides, so the sandbox skips the rest (a looping program
            # pays one time-out, not one per test). Pass fraction needs every test's verdict.
            request = self.build_request(program.code, reference, compare, stop_after_failure=mode == "all_or_nothing")
        except TestsFormatError as exc:
            return Component.failed("error", f"tests: {exc}")
        if reference.subtasks:
            return await self._score_subtasks(request, reference.subtasks)
        try:
            result = await self._sandbox.run(request)
        except SandboxUnavailable as exc:
            return Component.failed("sandbox_unavailable", str(exc))
        if result.reference_error is not None:
            # The reference cannot be run: blaming the program would teach it nothing true.
            return Component.failed("error", f"reference: {result.reference_error}")
        details = _details(result)
        if result.system_error:
            # The boundary failed even after the pool's retry on a fresh worker: not the program's fault, so
            # no reward signal either way.
            return Component.failed("error", f"sandbox error: {result.error or 'worker failed'}", **details)
        value = _mode_value(result, mode, weighted_share)
        reason = None if result.all_passed else f"{result.passed}/{result.total} tests passed"
        return Component(value, reason=reason, details=details)

    async def _score_subtasks(self, request: RunRequest, subtasks: Any) -> Component:
        """IOI scoring: one job per subtask, stopped at its first failing test (the subtask's points are lost
        then); the value is the share of points of the subtasks whose tests all pass."""
        n = len(request.inputs)
        for i, sub in enumerate(subtasks):
            bad = [t for t in sub.tests if not 0 <= t < n]
            if bad:
                return Component.failed("error", f"subtasks.{i}.tests: index {bad[0]} is not one of the {n} tests")
        jobs = [
            dataclasses.replace(
                request,
                inputs=tuple(request.inputs[t] for t in sub.tests),
                expected=None if request.expected is None else tuple(request.expected[t] for t in sub.tests),
                stop_after_failure=True,
            )
            for sub in subtasks
        ]
        try:
            results = await asyncio.gather(*(self._sandbox.run(job) for job in jobs))
        except SandboxUnavailable as exc:
            return Component.failed("sandbox_unavailable", str(exc))
        for r in results:
            if r.reference_error is not None:
                return Component.failed("error", f"reference: {r.reference_error}")
            if r.system_error:
                return Component.failed("error", f"sandbox error: {r.error or 'worker failed'}")
        total = sum(sub.points for sub in subtasks)
        earned = sum(sub.points for sub, r in zip(subtasks, results) if r.all_passed)
        outcomes = [
            {"points": sub.points, "passed": r.all_passed, "verdicts": list(r.verdicts)}
            for sub, r in zip(subtasks, results)
        ]
        details = {"points": earned, "max_points": total, "subtasks": outcomes}
        reason = None if earned == total else f"{earned:g}/{total:g} points"
        return Component(earned / total, reason=reason, details=details)

    def build_request(
        self, source: str, reference: CodeReference, compare: str, *, stop_after_failure: bool = False
    ) -> RunRequest:
        s = self._settings
        limits = Limits(
            cpu_s=min(reference.cpu_s or s.default_cpu_s, s.max_cpu_s),
            memory_mb=min(reference.memory_mb or s.default_memory_mb, s.max_memory_mb),
        )
        tests = reference.tests
        if _count_tests(tests) > s.max_tests:
            raise TestsFormatError(
                f"{_count_tests(tests)} tests, the limit is {s.max_tests} (ARBITER_SANDBOX_MAX_TESTS)"
            )
        common: dict[str, Any] = {
            "language": reference.language,
            "limits": limits,
            # the item's own multiplier, else the setting's for its language, else the sandbox's default
            "cpu_multiplier": reference.cpu_multiplier or s.cpu_multipliers.get(reference.language),
            "judge": compare,
            "stop_after_failure": stop_after_failure,
        }
        nbytes = _test_bytes(tests)
        if nbytes > s.max_test_bytes:
            raise TestsFormatError(
                f"{nbytes} bytes of tests, the limit is {s.max_test_bytes} (ARBITER_SANDBOX_MAX_TEST_BYTES)"
            )
        checker = _checker(reference.checker)
        if reference.interactor is not None:
            # interactive: each test's input goes to the interactor (its input file); outputs are not used
            if isinstance(tests, DatasetTests) and tests.normalized().kind == "stdio":
                raw = list(tests.normalized().inputs)
            elif isinstance(tests, IOTests) and not tests.fn_name:
                raw = list(tests.inputs)
            elif isinstance(tests, list):
                raw = [case.input for case in tests]
            else:
                raise TestsFormatError("interactive tests are stdin/stdout tests (inputs for the interactor)")
            stdin = tuple(_text(i, "input", value) for i, value in enumerate(raw))
            interactor = CheckerProgram(reference.interactor.language, reference.interactor.source)
            return RunRequest(source, kind="stdio", inputs=stdin, interactor=interactor, **common)
        if isinstance(tests, DatasetTests):
            norm = tests.normalized()
            if norm.checker is not None and checker is None:
                checker = CheckerProgram(norm.checker.language, norm.checker.source)
            return self._from_normalized(source, norm, reference.language, checker, common)
        if checker is not None:
            common["checker"] = checker
        if isinstance(tests, AssertTests):
            # Python: check(candidate) gets entry_point; other languages build the test code with the program
            if reference.language == "python" and not tests.entry_point:
                raise TestsFormatError("Python assert-based tests need entry_point (the function check() gets)")
            return RunRequest.assert_based(source, tests.test_code, tests.entry_point or "", **common)
        if isinstance(tests, IOTests) and tests.fn_name:
            if reference.language != "python":
                raise TestsFormatError("call-based tests (fn_name) run Python programs only")
            args = [_call_arguments(i, raw) for i, raw in enumerate(tests.inputs)]
            returns = [_call_return(raw, out) for raw, out in zip(tests.inputs, tests.outputs)]
            # APPS / TACO (arguments given as JSON lists) wrap expected returns in a one-element list.
            wrapped = all(isinstance(raw, list) for raw in tests.inputs)
            return RunRequest.call(source, tests.fn_name, args, returns, accept_wrapped_returns=wrapped, **common)
        if isinstance(tests, IOTests):
            pairs = list(zip(tests.inputs, tests.outputs))
        else:
            pairs = [(case.input, case.output) for case in tests]
        inputs = [_text(i, "input", value) for i, (value, _) in enumerate(pairs)]
        outputs = [_text(i, "output", value) for i, (_, value) in enumerate(pairs)]
        return RunRequest.stdio(source, inputs, outputs, **common)

    def _from_normalized(
        self,
        source: str,
        norm: Normalized,
        language: str,
        checker: Comparator | CheckerProgram | None,
        common: dict[str, Any],
    ) -> RunRequest:
        if norm.kind in ("assert", "call") and language != "python":
            raise TestsFormatError(f"{norm.kind} tests run Python programs only")
        if norm.kind == "assert":
            assert norm.entry_point is not None
            return RunRequest.assert_based(source, norm.inputs, norm.entry_point, **common)
        if norm.kind == "call":
            assert norm.fn_name is not None
            return RunRequest.call(
                source, norm.fn_name, norm.inputs, norm.outputs, accept_wrapped_returns=norm.wrapped_returns, **common
            )
        if checker is not None:
            common["checker"] = checker
        return RunRequest.stdio(source, norm.inputs, [str(o) for o in norm.outputs], **common)


def _checker(spec: BuiltinChecker | ProgramChecker | None) -> Comparator | CheckerProgram | None:
    if spec is None:
        return None
    if isinstance(spec, ProgramChecker):
        return CheckerProgram(spec.language, spec.source)
    return Comparator(spec.type, abs_tol=spec.abs, rel_tol=spec.rel)


def _mode_value(result: RunResult, mode: str, weighted_share: float) -> float:
    """pass_fraction: the share passed; all_or_nothing: 1 or 0; weighted: all-or-nothing plus weighted_share times
    the share passed (open-r1's weighted_sum: 1.1 for a full pass, 0.1 * fraction otherwise). A checker's partial
    scores count as fractions of a test under pass_fraction."""
    scores = [t.score for t in result.tests]
    if any(s is not None for s in scores) and result.total:
        fraction = (
            sum((s if s is not None else float(v == "AC")) for s, v in zip(scores, result.verdicts)) / result.total
        )
    else:
        fraction = result.pass_fraction
    if mode == "pass_fraction":
        return fraction
    if mode == "weighted":
        return float(result.all_passed) + weighted_share * fraction
    return float(result.all_passed)


def _test_bytes(tests: IOTests | AssertTests | list[StdioCase] | DatasetTests) -> int:
    """Bytes of the tests' inputs and outputs (as JSON): bounds what one item may send into the sandbox."""
    if isinstance(tests, DatasetTests):
        return tests.normalized().nbytes
    if isinstance(tests, IOTests):
        values: list[Any] = [*tests.inputs, *tests.outputs]
    elif isinstance(tests, AssertTests):
        values = [tests.test_code]
    else:
        values = [x for case in tests for x in (case.input, case.output)]
    return sum(len(json.dumps(v, ensure_ascii=False)) for v in values)


def _count_tests(tests: IOTests | AssertTests | list[StdioCase] | DatasetTests) -> int:
    if isinstance(tests, IOTests):
        return len(tests.inputs)
    if isinstance(tests, AssertTests):
        return 1
    if isinstance(tests, DatasetTests):
        return tests.normalized().count
    return len(tests)


def _text(index: int, what: str, value: Any) -> str:
    # Some datasets store stdin / stdout as a list of lines.
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "\n".join(value) + "\n"
    raise TestsFormatError(f"test {index}: {what} must be a string (or a list of lines) for stdin/stdout tests")


def _call_arguments(index: int, raw: Any) -> list[Any]:
    """Arguments of one call: a JSON list of arguments as given (APPS, TACO), or a string holding one JSON
    value per line, one line per argument (LiveCodeBench's functional tests: "[1, 2]\n3" is two arguments)."""
    if isinstance(raw, list):
        return raw
    if isinstance(raw, str):
        try:
            return [json.loads(line) for line in raw.splitlines() if line.strip()]
        except json.JSONDecodeError:
            raise TestsFormatError(
                f"test {index}: a string input must hold one JSON value per line (one per argument)"
            ) from None
    raise TestsFormatError(f"test {index}: input must be a list of arguments or a string of JSON lines")


def _call_return(raw_input: Any, output: Any) -> Any:
    # Where the arguments came as JSON text (LiveCodeBench), so does the expected value; where they came as
    # JSON values (APPS, TACO), the output is a value already and a string output is a string.
    if isinstance(raw_input, str) and isinstance(output, str):
        try:
            return json.loads(output)
        except json.JSONDecodeError:
            return output
    return output


def _details(result: RunResult) -> dict[str, Any]:
    details: dict[str, Any] = {
        "passed": result.passed,
        "total": result.total,
        "verdicts": list(result.verdicts),
        "cpu_s": result.cpu_s,
        "wall_s": result.wall_s,
    }
    if result.compile_output:
        details["compile_output"] = result.compile_output[:2048]
    if result.first_failure is not None:
        failure = result.first_failure
        details["first_failure"] = {
            "test": failure.index,
            "verdict": failure.verdict,
            "stdout": failure.stdout,
            "stderr": failure.stderr,
        }
    return details
