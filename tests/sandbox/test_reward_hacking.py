"""Programs that try to score without solving: each scores 0 for the tests it did not honestly pass."""

from __future__ import annotations

import dataclasses

import pytest
from sbx_helpers import HOSTILE

from sandbox import RunRequest

pytestmark = pytest.mark.bwrap

CHECK = "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(3) == 9\n"


@pytest.mark.parametrize(
    "src",
    [
        "import sys\nsys.exit(0)\ndef square(x):\n    return x * x\n",
        "import os\nos._exit(0)\n",
        "import os\ndef square(x):\n    os._exit(0)\n",
        "def square(x):\n    exit(0)\n",
        "def square(x):\n    raise SystemExit(0)\n",
        "import os, signal\ndef square(x):\n    os.kill(os.getpid(), signal.SIGKILL)\n",
    ],
)
async def test_assert_exit_early_scores_zero(pool, src):
    r = await pool.run(RunRequest.assert_based(src, CHECK, "square", limits=HOSTILE))
    assert r.passed == 0, r


EQ_ALWAYS = "class Any:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"


@pytest.mark.parametrize("ret", ["Any()", "AnyInt(0)", "[Any()]", "{'k': Any()}", "AnyStr('x')"])
async def test_objects_equal_to_everything(pool, ret):
    src = (
        EQ_ALWAYS + "class AnyInt(int):\n    def __eq__(self, o): return True\n"
        "class AnyStr(str):\n    def __eq__(self, o): return True\n"
        f"def square(x):\n    return {ret}\n"
    )
    assert (await pool.run(RunRequest.assert_based(src, CHECK, "square"))).passed == 0
    r = await pool.run(RunRequest.call(src, "square", [[2]], [4]))
    assert r.passed == 0 and r.verdicts == ["RE"], r


@pytest.mark.parametrize(
    "patch",
    [
        "import builtins\nbuiltins.AssertionError = type('X', (Exception,), {})\n",
        "import builtins\nclass T:\n    def __eq__(s, o): return True\nbuiltins.abs = lambda x: T()\nbuiltins.len = lambda x: 4\n",
        "import builtins\nbuiltins.print = lambda *a, **k: None\nbuiltins.isinstance = lambda *a: True\n",
        "import builtins\n_orig = builtins.__build_class__\nbuiltins.Exception = BaseException\n",
    ],
)
async def test_patching_builtins_gains_nothing(pool, patch):
    src = patch + "def square(x):\n    return x + 1\n"
    test = "def check(candidate):\n    assert abs(candidate(2) - 4) < 1e-9\n    assert len([candidate(3)]) == 1\n"
    r = await pool.run(RunRequest.assert_based(src, test, "square"))
    assert r.passed == 0, r


async def test_swallowing_assertion_error_via_sys_excepthook(pool):
    src = "import sys\nsys.excepthook = lambda *a: None\ndef square(x):\n    return 0\n"
    assert (await pool.run(RunRequest.assert_based(src, CHECK, "square"))).passed == 0


async def test_atexit_exit_zero(pool):
    src = "import atexit, os\natexit.register(lambda: os._exit(0))\ndef square(x):\n    return 0\n"
    assert (await pool.run(RunRequest.assert_based(src, CHECK, "square"))).passed == 0


async def test_honest_solution_still_passes(pool):
    src = "import builtins\ndef square(x):\n    return x * x\n"
    assert (await pool.run(RunRequest.assert_based(src, CHECK, "square"))).verdicts == ["AC"]


async def test_searching_for_expected_outputs_finds_nothing(pool):
    # The expected output is a secret string that never enters the sandbox.
    secret = "SECRET-EXPECTED-7f3a9c"
    src = (
        "import os\nhits = []\nneedle = ('SECRET' + '-EXPECTED').encode()\n"
        "for root in ('/', ):\n"
        "    for d, dirs, files in os.walk(root):\n"
        "        if d.startswith(('/proc/sys', '/sys', '/dev', '/usr')):\n"
        "            dirs[:] = []; continue\n"
        "        for f in files:\n"
        "            try:\n"
        "                with open(os.path.join(d, f), 'rb') as fh:\n"
        "                    if needle in fh.read(1 << 20): hits.append(os.path.join(d, f))\n"
        "            except OSError: pass\n"
        "for p in os.listdir('/proc'):\n"
        "    if p.isdigit():\n"
        "        for n in ('cmdline', 'environ'):\n"
        "            try:\n"
        "                if needle in open('/proc/%s/%s' % (p, n), 'rb').read(): hits.append(p)\n"
        "            except OSError: pass\n"
        "print(hits[0] if hits else 'nothing')\n"
    )
    # the search reads the whole filesystem: its wall cap must outlast cold reads (CI once saw it killed at
    # HOSTILE's 2 s after 0.44 s of CPU), or the test cannot see what it found
    r = await pool.run(RunRequest.stdio(src, [""], [secret], limits=dataclasses.replace(HOSTILE, wall_s=30.0)))
    assert r.passed == 0 and r.tests[0].stdout.strip() == "nothing", r


async def test_printing_every_candidate_answer_fails(pool):
    src = "for i in range(100):\n    print(i)\n"
    r = await pool.run(RunRequest.stdio(src, ["", ""], ["42", "7"]))
    assert r.passed == 0
    r = await pool.run(RunRequest.stdio("print('YES NO yes no 0 1 -1 True False')", [""], ["YES"]))
    assert r.passed == 0


async def test_call_based_exit_before_return(pool):
    src = "import os\ndef f(x):\n    print('[4]')\n    os._exit(0)\n"
    r = await pool.run(RunRequest.call(src, "f", [[2]], [4]))
    assert r.passed == 0 and r.verdicts == ["RE"], r


async def test_writing_fake_result_to_the_harness_channel(pool):
    # Guessing the harness's report fd and writing a fake success gains nothing (the nonce is unknown).
    src = (
        "import os, json\nfor fd in range(3, 10):\n    try: os.write(fd, json.dumps({'ok': True, 'nonce': 'x'}).encode())\n"
        "    except OSError: pass\nos._exit(0)\n"
    )
    r = await pool.run(RunRequest.assert_based(src, CHECK, "square"))
    assert r.passed == 0, r


async def test_patching_stdlib_modules_gains_nothing(pool):
    src = "import math\nmath.isclose = lambda *a, **k: True\nmath.fabs = lambda x: 0\ndef square(x):\n    return 0\n"
    test = "import math\ndef check(candidate):\n    assert math.isclose(candidate(2), 4)\n    assert math.fabs(candidate(2) - 4) < 1\n"
    assert (await pool.run(RunRequest.assert_based(src, test, "square"))).passed == 0
    honest = "import math\ndef square(x):\n    return x * x\n"
    assert (await pool.run(RunRequest.assert_based(honest, test, "square"))).passed == 1
