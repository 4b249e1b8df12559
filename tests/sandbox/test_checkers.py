"""Checkers: the built-in comparators (a verdict table each, judged in the service) and checker programs in the
testlib convention (run in the sandbox, in their own process under the judge's uid), on both backends."""

from __future__ import annotations

import pytest

from sandbox import CheckerProgram, Comparator, RunRequest
from sandbox.compare import COMPARATORS

pytestmark = pytest.mark.bwrap

# (comparator, program output, expected answer, verdict)
TABLE = [
    (Comparator("exact"), "1 2\n", "1 2\n", True),
    (Comparator("exact"), "1 2 \n", "1 2\n", False),
    (Comparator("exact"), "1 2\r\n", "1 2\n", True),
    (Comparator("whitespace"), "1   2  \n\n", "1 2", True),
    (Comparator("whitespace"), "1 2 3", "1 2", False),
    (Comparator("whitespace"), "1\n2", "1 2", False),
    (Comparator("tokens"), "1\n2\n", "1 2", True),
    (Comparator("tokens"), "1.0 2", "1 2", False),
    (Comparator("float", abs_tol=1e-3, rel_tol=0), "0.3331 7", "0.3333 7", True),
    (Comparator("float", abs_tol=1e-3, rel_tol=0), "0.3320", "0.3333", False),
    (Comparator("float", abs_tol=0, rel_tol=1e-6), "1000000.5", "1000000", True),
    (Comparator("float", abs_tol=0, rel_tol=1e-6), "1000002", "1000000", False),
    (Comparator("float", abs_tol=1e-6, rel_tol=1e-6), "nan", "1", False),
    (Comparator("float"), "abc 1", "abc 1.0000001", True),
    (Comparator("float"), "abd 1", "abc 1", False),
    (Comparator("lines_unordered"), "b\na\nc\n", "a\nb\nc", True),
    (Comparator("lines_unordered"), "a\na\nb\n", "a\nb\nb", False),
    (Comparator("case_insensitive"), "yes\nNo", "YES NO", True),
    (Comparator("case_insensitive"), "yes", "no", False),
]


@pytest.mark.parametrize(("comparator", "output", "answer", "accepted"), TABLE)
def test_comparator_verdict_table(comparator, output, answer, accepted):
    assert comparator.matches(output, answer) is accepted


def test_every_comparator_is_in_the_table():
    assert {c.type for c, *_ in TABLE} == set(COMPARATORS)


async def test_comparators_through_the_sandbox(pool):
    src = "print(input().upper())"
    r = await pool.run(
        RunRequest.stdio(src, ["yes\n", "no\n"], ["yes", "maybe"], checker=Comparator("case_insensitive"))
    )
    assert r.verdicts == ["AC", "WA"], r
    r = await pool.run(RunRequest.stdio(src, ["yes\n"], ["yes"], checker=Comparator("exact")))
    assert r.verdicts == ["WA"], r


PY_CHECKER = """
import sys
inp, out, ans = (open(p).read() for p in sys.argv[1:4])
n = int(inp)
toks = out.split()
if not toks:
    print("0", "empty output")
    sys.exit(2)
x = int(toks[0])
if x * x == n:
    sys.exit(0)
if abs(x * x - n) <= 2:
    print("0.5 close")
    sys.exit(1)
print("0 wrong", file=sys.stderr)
sys.exit(1)
"""

CPP_CHECKER = r"""
#include <cstdio>
#include <cstdlib>
int main(int argc, char** argv) {
    FILE* in = fopen(argv[1], "r"); FILE* out = fopen(argv[2], "r"); FILE* ans = fopen(argv[3], "r");
    long long n, x, a;
    if (fscanf(in, "%lld", &n) != 1 || fscanf(ans, "%lld", &a) != 1) return 3;
    if (fscanf(out, "%lld", &x) != 1) return 2;
    return (x == a || x == -a) ? 0 : 1;  // any square root is right
}
"""


@pytest.mark.parametrize("checker", [CheckerProgram("python", PY_CHECKER), CheckerProgram("cpp", CPP_CHECKER)])
async def test_checker_program_verdicts(pool, checker):
    # prints -sqrt(n): a plain comparison with the answer (the positive root) would say WA
    src = "import math\nn = int(input())\nprint(-math.isqrt(n) if n != 7 else '')\n"
    r = await pool.run(RunRequest.stdio(src, ["16\n", "25\n", "7\n"], ["4", "5", "3"], checker=checker))
    want = ["AC", "AC", "WA"]
    if checker.language == "python":  # -4 * -4 == 16: AC; the empty output is a presentation error
        assert r.verdicts == want and "presentation error" in r.tests[2].checker_message, r
    else:
        assert r.verdicts == want, r


async def test_checker_partial_score_and_the_checkers_own_failure(pool):
    src = "n = int(input())\nprint(3)\n"
    r = await pool.run(RunRequest.stdio(src, ["10\n"], ["3"], checker=CheckerProgram("python", PY_CHECKER)))
    assert r.verdicts == ["WA"] and r.tests[0].score == 0.5, r
    broken = CheckerProgram("python", "import sys\nsys.exit(3)\n")
    r = await pool.run(RunRequest.stdio(src, ["10\n"], ["3"], checker=broken))
    assert r.reference_error is not None and "checker failed" in r.reference_error, r
    r = await pool.run(RunRequest.stdio(src, ["10\n"], ["3"], checker=CheckerProgram("cpp", "int main( {")))
    assert r.reference_error is not None and "does not compile" in r.reference_error, r


async def test_the_program_never_sees_the_answers_or_the_checker(pool):
    # The answer and checker exist only in the judge's directory, after the program is gone.
    src = (
        "import os\nfound = []\n"
        "for d, dirs, files in os.walk('/tmp'):\n"
        "    for f in files:\n"
        "        try: found.append(open(os.path.join(d, f)).read())\n"
        "        except OSError: pass\n"
        "print(('SECRET-' + 'ANSWER') in ''.join(found))\n"
    )
    checker = CheckerProgram(
        "python", "import sys\nsys.exit(0 if open(sys.argv[2]).read().strip() == 'False' else 1)\n"
    )
    r = await pool.run(RunRequest.stdio(src, [""], ["SECRET-ANSWER"], checker=checker))
    assert r.verdicts == ["AC"], r
