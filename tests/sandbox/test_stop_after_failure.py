"""RunRequest.stop_after_failure: the executor runs no test after the first one that fails in the sandbox and
reports the rest as SKIP (every backend, see conftest.BACKENDS), so a looping program pays one time-out per job."""

from __future__ import annotations

import time

import pytest
from sbx_helpers import assert_still_healthy

from sandbox import Limits, RunRequest
from sandbox.judge import judge_outcome
from sandbox.models import JobOutcome, TestOutcome

pytestmark = pytest.mark.bwrap

LOOP = "while True: pass"
# cpu_s=0.3: RLIMIT_CPU rounds up to 1 s, so each looping test costs about 1 s; wall cap 2 * 0.3 + 1 = 1.6 s
TINY = Limits(cpu_s=0.3)
# fails on the test whose input is 2, echoes the others
RE_ON_2 = "x = input()\nif x == '2':\n    raise ValueError('boom')\nprint(x)"


async def test_loop_stops_after_first_tle(pool):
    t0 = time.monotonic()
    r = await pool.run(RunRequest.stdio(LOOP, [""] * 5, [""] * 5, limits=TINY, stop_after_failure=True))
    elapsed = time.monotonic() - t0
    assert r.verdicts == ["TLE", "SKIP", "SKIP", "SKIP", "SKIP"], r
    assert (r.passed, r.total, r.pass_fraction) == (0, 5, 0.0)
    assert r.first_failure.index == 0 and r.first_failure.verdict == "TLE"
    assert all(t.stderr == "not run: an earlier test failed" and t.wall_s == 0.0 for t in r.tests[1:])
    two_timeouts = 2 * TINY.effective_wall_s
    assert r.wall_s < two_timeouts and elapsed < two_timeouts, (r.wall_s, elapsed)
    await assert_still_healthy(pool)


async def test_loop_without_flag_runs_every_test(pool):
    r = await pool.run(RunRequest.stdio(LOOP, [""] * 5, [""] * 5, limits=TINY))
    assert r.verdicts == ["TLE"] * 5, r
    assert r.wall_s >= 5 * TINY.cpu_s


async def test_re_on_second_test_skips_the_rest(pool):
    inputs = ["1\n", "2\n", "3\n", "4\n"]
    r = await pool.run(RunRequest.stdio(RE_ON_2, inputs, ["1", "2", "3", "4"], stop_after_failure=True))
    assert r.verdicts == ["AC", "RE", "SKIP", "SKIP"], r
    assert (r.passed, r.total, r.pass_fraction) == (1, 4, 0.25)
    assert r.first_failure.index == 1 and "ValueError" in r.first_failure.stderr
    r = await pool.run(RunRequest.stdio(RE_ON_2, inputs, ["1", "2", "3", "4"]))
    assert r.verdicts == ["AC", "RE", "AC", "AC"], r


async def test_wa_does_not_stop(pool):
    # expected outputs never enter the sandbox: a wrong answer is judged outside, after every test ran
    r = await pool.run(
        RunRequest.stdio("print(input())", ["a\n", "b\n", "c\n"], ["x", "b", "c"], stop_after_failure=True)
    )
    assert r.verdicts == ["WA", "AC", "AC"], r


async def test_call_and_assert_stop(pool):
    src = "def f(x):\n    return 1 // x\n"
    r = await pool.run(RunRequest.call(src, "f", [[1], [0], [1]], [1, 0, 1], stop_after_failure=True))
    assert r.verdicts == ["AC", "RE", "SKIP"], r
    ok = "def check(candidate):\n    assert candidate(1) == 1\n"
    bad = "def check(candidate):\n    assert candidate(1) == 2\n"
    r = await pool.run(RunRequest.assert_based(src, [ok, bad, ok], "f", stop_after_failure=True))
    assert r.verdicts == ["AC", "WA", "SKIP"], r


async def test_compile_error_runs_no_test(pool):
    r = await pool.run(
        RunRequest.stdio(
            "int main() { return x; }", ["", "", ""], ["", "", ""], language="cpp", stop_after_failure=True
        )
    )
    assert r.verdicts == ["CE", "CE", "CE"] and "x" in r.compile_output


def test_judge_keeps_skip_only_when_asked():
    outcome = JobOutcome(tests=[TestOutcome(verdict="RE"), TestOutcome(verdict="SKIP")])
    asked = RunRequest.stdio("", ["", ""], ["", ""], stop_after_failure=True)
    r = judge_outcome(asked, outcome)
    assert r.verdicts == ["RE", "SKIP"] and (r.passed, r.total) == (0, 2) and not r.system_error
    r = judge_outcome(RunRequest.stdio("", ["", ""], ["", ""]), outcome)
    assert r.verdicts == ["RE", "SE"] and r.system_error


def test_job_carries_the_flag():
    job = RunRequest.stdio("", [""], [""], stop_after_failure=True).to_job()
    assert job.stop_after_failure and job.to_json()["stop_after_failure"] is True
    assert job.key() != RunRequest.stdio("", [""], [""]).to_job().key()
