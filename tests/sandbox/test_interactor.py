"""Interactive problems: an interactor program (testlib convention) connected to the program's stdin/stdout, its
verdict and the program's limits enforced separately; a verdict table on both backends."""

from __future__ import annotations

import pytest

from sandbox import CheckerProgram, Limits, RunRequest

pytestmark = pytest.mark.bwrap

# Guess the number in [1, 100] with at most 7 questions; the secret is the test's input file.
PY_INTERACTOR = """
import sys
secret = int(open(sys.argv[1]).read())
for _ in range(7):
    line = sys.stdin.readline()
    if not line:
        sys.exit(1)
    kind, x = line.split()
    x = int(x)
    if kind == "!":
        sys.exit(0 if x == secret else 1)
    print("<" if secret < x else ">" if secret > x else "=", flush=True)
sys.exit(1)
"""

CPP_INTERACTOR = r"""
#include <cstdio>
int main(int argc, char** argv) {
    FILE* in = fopen(argv[1], "r"); int secret; if (fscanf(in, "%d", &secret) != 1) return 3;
    for (int q = 0; q < 7; q++) {
        char kind; int x;
        if (scanf(" %c %d", &kind, &x) != 2) return 1;
        if (kind == '!') return x == secret ? 0 : 1;
        printf("%s\n", secret < x ? "<" : secret > x ? ">" : "="); fflush(stdout);
    }
    return 1;
}
"""

BINARY_SEARCH = """
lo, hi = 1, 100
while lo < hi:
    mid = (lo + hi) // 2
    print("?", mid, flush=True)
    r = input()
    if r == "=":
        lo = hi = mid
    elif r == "<":
        hi = mid - 1
    else:
        lo = mid + 1
print("!", lo, flush=True)
"""

CASES = {
    "binary_search": (BINARY_SEARCH, "AC"),
    "linear_search": (
        "for i in range(1, 101):\n    print('?', i, flush=True)\n    if input() == '=':\n        print('!', i, flush=True)\n        break\n",
        "WA",
    ),
    "wrong_answer": ("print('!', 1, flush=True)", "WA"),
    "silent": ("pass", "WA"),
    "loops": ("while True:\n    pass", "TLE"),
    "crashes_after_right_answer": (BINARY_SEARCH + "raise SystemExit(3)\n", "RE"),
}


@pytest.mark.parametrize("language", ["python", "cpp"])
@pytest.mark.parametrize("case", sorted(CASES))
async def test_interactor_verdict_table(pool, language, case):
    src, want = CASES[case]
    interactor = CheckerProgram(language, PY_INTERACTOR if language == "python" else CPP_INTERACTOR)
    r = await pool.run(
        RunRequest(src, kind="stdio", inputs=("37\n",), interactor=interactor, limits=Limits(cpu_s=1, wall_s=3))
    )
    # linear_search asks 37 questions: the interactor allows 7 and says WA
    assert r.verdicts == [want], r


async def test_a_broken_interactor_is_a_reference_error(pool):
    r = await pool.run(
        RunRequest(
            "print('! 1', flush=True)",
            kind="stdio",
            inputs=("1\n",),
            interactor=CheckerProgram("python", "import sys\nsys.exit(3)\n"),
        )
    )
    assert r.reference_error is not None and "interactor failed" in r.reference_error, r
    r = await pool.run(
        RunRequest("print('! 1')", kind="stdio", inputs=("1\n",), interactor=CheckerProgram("cpp", "int main( {"))
    )
    assert r.reference_error is not None and "does not compile" in r.reference_error, r
