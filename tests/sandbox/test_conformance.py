"""The warm-interpreter fast path behaves like `python3 file.py` (see the executor's docstring for the hash-seed
caveat)."""

from __future__ import annotations

import pytest

from sandbox import RunRequest

pytestmark = pytest.mark.bwrap


async def run1(pool, src, stdin=""):
    r = await pool.run(RunRequest.stdio(src, [stdin], [""]))
    return r.tests[0]


async def test_main_argv_and_stdin(pool):
    t = await run1(
        pool,
        "import sys\nprint(__name__, sys.argv[0].endswith('.py'), len(sys.argv))\nprint(sys.stdin.read().split())",
        "a b\nc\n",
    )
    assert t.stdout == "__main__ True 1\n['a', 'b', 'c']\n"


async def test_exit_codes(pool):
    assert (await run1(pool, "import sys; sys.exit(3)")).exit_code == 3
    assert (await run1(pool, "import sys; sys.exit(0)")).exit_code == 0
    t = await run1(pool, "import sys; sys.exit('bye')")
    assert t.exit_code == 1 and "bye" in t.stderr
    t = await run1(pool, "raise RuntimeError('x')")
    assert t.exit_code == 1 and t.verdict == "RE" and "RuntimeError: x" in t.stderr


async def test_recursion_limit_and_buffering(pool):
    t = await run1(pool, "import sys\nprint(sys.getrecursionlimit())\nsys.stderr.write('e')\nprint('x', end='')")
    assert t.stdout == "1000\nx" and t.stderr == "e"


async def test_random_state_differs_per_test(pool):
    src = "import random, os\nprint(random.random(), os.urandom(4).hex())"
    r = await pool.run(RunRequest.stdio(src, ["", "", ""], ["", "", ""]))
    outs = {t.stdout for t in r.tests}
    assert len(outs) == 3


async def test_non_daemon_threads_are_joined_and_atexit_runs(pool):
    t = await run1(
        pool,
        "import threading, atexit, time\natexit.register(lambda: print('bye'))\n"
        "threading.Thread(target=lambda: (time.sleep(0.1), print('thread'))).start()\n",
    )
    assert t.stdout == "thread\nbye\n"


async def test_dataclasses_and_pickle_in_main(pool):
    t = await run1(
        pool,
        "from dataclasses import dataclass\nimport pickle\n@dataclass\nclass P:\n    x: int\n"
        "print(pickle.loads(pickle.dumps(P(3))))\n",
    )
    assert t.stdout == "P(x=3)\n", t.stderr


async def test_unicode_io(pool):
    t = await run1(pool, "print(input()[::-1])", "héllo ✓\n")
    assert t.stdout == "✓ olléh\n"
