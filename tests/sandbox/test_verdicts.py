"""Every verdict for every test format, Python and C++, on every backend (see conftest.BACKENDS)."""

from __future__ import annotations

import pytest
from sbx_helpers import HOSTILE, assert_still_healthy

from sandbox import Limits, RunRequest

pytestmark = pytest.mark.bwrap

ECHO = "print(input())"


async def test_stdio_ac_wa(pool):
    r = await pool.run(RunRequest.stdio(ECHO, ["a\n", "b\n", "c\n"], ["a", "b  \n\n", "x"]))
    assert r.verdicts == ["AC", "AC", "WA"]
    assert (r.passed, r.total) == (2, 3)
    assert r.first_failure.index == 2 and r.first_failure.stdout == "c\n"


async def test_stdio_tolerant_numbers_and_exact_mode(pool):
    src = "print('1.0000000001 2')"
    assert (await pool.run(RunRequest.stdio(src, [""], ["1 2"]))).verdicts == ["AC"]
    assert (await pool.run(RunRequest.stdio(src, [""], ["1 2"], judge="exact"))).verdicts == ["WA"]


@pytest.mark.parametrize(
    "src,verdict",
    [
        ("while True: pass", "TLE"),
        ("import time; time.sleep(30)", "TLE"),
        ("x = bytearray(2 * 1024 ** 3)", "MLE"),
        ("l = []\nwhile True: l.append(' ' * 10 ** 6)", "MLE"),
        ("raise ValueError('boom')", "RE"),
        ("import sys; sys.exit(3)", "RE"),
        ("import sys\nwhile True: sys.stdout.write('x' * 65536)", "OLE"),
    ],
)
async def test_stdio_failure_verdicts(pool, src, verdict):
    r = await pool.run(RunRequest.stdio(src, ["1\n"], ["1"], limits=HOSTILE))
    assert r.verdicts == [verdict], r
    assert r.wall_s < 5


async def test_tle_uses_cpu_time_and_wall_cap(pool):
    r = await pool.run(RunRequest.stdio("while True: pass", [""], [""], limits=Limits(cpu_s=1, wall_s=5)))
    assert r.verdicts == ["TLE"] and 0.9 <= r.tests[0].cpu_s <= 2.5
    r = await pool.run(RunRequest.stdio("import time; time.sleep(9)", [""], [""], limits=Limits(cpu_s=1, wall_s=1)))
    assert r.verdicts == ["TLE"] and r.tests[0].cpu_s < 0.5 and r.tests[0].wall_s < 2


@pytest.mark.parametrize("kind", ["stdio", "assert", "cpp"])
async def test_fractional_cpu_limit_is_enforced(pool, kind):
    # RLIMIT_CPU counts whole seconds: a limit of 0.3 s is the supervisor's to keep (process.py), for a warm Python
    # child, an assert test's candidate and an exec'd binary alike. Without it each of these burns a full second.
    limits = Limits(cpu_s=0.3, wall_s=5)
    if kind == "stdio":
        req = RunRequest.stdio("while True: pass", [""], [""], limits=limits)
    elif kind == "assert":
        req = RunRequest.assert_based(
            "def f():\n    return 1\n\nwhile True: pass\n", "assert f() == 1", "f", limits=limits
        )
    else:
        req = RunRequest.stdio("int main(){volatile long x=0; for(;;) x++;}", [""], [""], language="cpp", limits=limits)
    r = await pool.run(req)
    assert r.verdicts == ["TLE"], r
    assert 0.25 <= r.tests[0].cpu_s <= 0.6, r.tests[0]


async def test_re_reports_exit_code_and_stderr(pool):
    r = await pool.run(RunRequest.stdio("import sys; print('out'); sys.exit(3)", [""], ["out"]))
    t = r.tests[0]
    assert r.verdicts == ["RE"] and t.exit_code == 3 and t.stdout == "out\n"
    r = await pool.run(RunRequest.stdio("raise KeyError('k')", [""], [""]))
    assert "KeyError" in r.first_failure.stderr and "executor" not in r.first_failure.stderr


async def test_call_based(pool):
    src = "def add(a, b):\n    return a + b\n"
    r = await pool.run(RunRequest.call(src, "add", [[1, 2], [0.1, 0.2], ["a", "b"]], [3, 0.3, "ab"]))
    assert r.verdicts == ["AC", "AC", "AC"]
    r = await pool.run(RunRequest.call(src, "add", [[1, 2]], [4]))
    assert r.verdicts == ["WA"] and r.tests[0].return_value == 3


async def test_call_based_solution_class_and_tuples(pool):
    src = "class Solution:\n    def pair(self, n):\n        return (n, [n, {'k': n}])\n"
    r = await pool.run(RunRequest.call(src, "pair", [[1]], [[1, [1, {"k": 1}]]]))
    assert r.verdicts == ["AC"]


async def test_call_based_failures(pool):
    assert (await pool.run(RunRequest.call("def f(): pass", "g", [[]], [None]))).verdicts == ["RE"]
    assert (await pool.run(RunRequest.call("def f(x): return 1/x", "f", [[0]], [0]))).verdicts == ["RE"]
    assert (await pool.run(RunRequest.call("def f(): return {1, 2}", "f", [[]], [[1, 2]]))).verdicts == ["RE"]
    r = await pool.run(RunRequest.call("def f():\n    while True: pass", "f", [[]], [0], limits=HOSTILE))
    assert r.verdicts == ["TLE"]


async def test_assert_based(pool):
    src = "def add(a, b):\n    return a + b\n"
    ok = "def check(candidate):\n    assert candidate(1, 2) == 3\n"
    bad = "def check(candidate):\n    assert candidate(1, 2) == 4\n"
    assert (await pool.run(RunRequest.assert_based(src, ok, "add"))).verdicts == ["AC"]
    r = await pool.run(RunRequest.assert_based(src, bad, "add"))
    assert r.verdicts == ["WA"] and "AssertionError" in r.first_failure.stderr
    r = await pool.run(RunRequest.assert_based(src, [ok, bad, ok], "add"))
    assert r.verdicts == ["AC", "WA", "AC"]
    r = await pool.run(RunRequest.assert_based("def add(a, b):\n    while 1: pass\n", ok, "add", limits=HOSTILE))
    assert r.verdicts == ["TLE"]


CPP_SUM = '#include <cstdio>\nint main(){long long a,b;scanf("%lld %lld",&a,&b);printf("%lld\\n",a+b);}\n'


async def test_cpp_verdicts(pool):
    r = await pool.run(RunRequest.stdio(CPP_SUM, ["1 2\n", "3 4\n"], ["3", "8"], language="cpp"))
    assert r.verdicts == ["AC", "WA"]
    r = await pool.run(RunRequest.stdio("int main() { return x; }", ["", ""], ["", ""], language="cpp"))
    assert r.verdicts == ["CE", "CE"] and "x" in r.compile_output
    cases = {
        "int main(){volatile long x=0; while(true) x++;}": "TLE",
        "#include <unistd.h>\nint main(){sleep(30);}": "TLE",
        "#include <vector>\nint main(){std::vector<long> v; while(true) v.push_back(1);}": "MLE",
        "int main(){int *p=nullptr; return *p;}": "RE",
        "int main(){return 3;}": "RE",
        '#include <cstdio>\nint main(){while(true) puts("yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");}': "OLE",
    }
    for src, verdict in cases.items():
        r = await pool.run(RunRequest.stdio(src, [""], ["0"], language="cpp", limits=HOSTILE))
        assert r.verdicts == [verdict], (src, r)
    await assert_still_healthy(pool)


async def test_se_when_no_worker_is_free(pool_factory):
    pool = await pool_factory(1, acquire_timeout_s=0.3)
    import asyncio

    slow = asyncio.create_task(
        pool.run(RunRequest.stdio("import time; time.sleep(1.5)", [""], [""], limits=Limits(cpu_s=1, wall_s=3)))
    )
    await asyncio.sleep(0.1)
    r = await pool.run(RunRequest.stdio(ECHO, ["x\n"], ["x"]))
    assert r.verdicts == ["SE"] and "no sandbox worker" in (r.error or "")
    await slow
