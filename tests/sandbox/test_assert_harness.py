"""The out-of-process assert harness: what crosses between the test (harness process) and the program (candidate
process), the test styles it runs, and who is blamed when something does not run."""

from __future__ import annotations

import pytest

from sandbox import Limits, RunRequest

pytestmark = pytest.mark.bwrap

SQUARE = "def square(x):\n    return x * x\n"


async def _run(pool, src, test, entry="square", **kw):
    return await pool.run(RunRequest.assert_based(src, test, entry, **kw))


@pytest.mark.parametrize(
    ("ret", "expected"),
    [
        ("(1, 2)", "(1, 2)"),
        ("[1, (2, 3)]", "[1, (2, 3)]"),
        ("{1: 'a', (2, 3): [4]}", "{1: 'a', (2, 3): [4]}"),
        ("{1, 2}", "{1, 2}"),
        ("frozenset({3})", "frozenset({3})"),
        ("float('inf')", "float('inf')"),
        ("b'\\x00ab'", "b'\\x00ab'"),
        ("1 + 2j", "1 + 2j"),
        ("None", "None"),
        ("True", "True"),
        ("10 ** 40", "10 ** 40"),
        ("'\\u00e9\\n'", "'\\u00e9\\n'"),
    ],
)
async def test_values_cross_with_their_exact_types(pool, ret, expected):
    src = f"def f():\n    return {ret}\n"
    test = f"def check(candidate):\n    v = candidate()\n    assert v == {expected} and type(v) is type({expected})\n"
    assert (await _run(pool, src, test, "f")).verdicts == ["AC"]


async def test_a_tuple_is_not_a_list_and_true_is_not_one(pool):
    assert (
        await _run(pool, "def f():\n    return [1, 2]\n", "def check(c):\n    assert c() == (1, 2)\n", "f")
    ).verdicts == ["WA"]
    r = await _run(pool, "def f():\n    return True\n", "def check(c):\n    assert type(c()) is int\n", "f")
    assert r.verdicts == ["WA"]


@pytest.mark.parametrize(
    "ret", ["object()", "lambda: 1", "Box()", "IntLike(4)", "[Box()]", "{'k': Box()}", "iter([4])"]
)
async def test_what_is_not_plain_data_does_not_cross(pool, ret):
    src = (
        "class Box:\n    def __eq__(self, o): return True\n"
        "class IntLike(int):\n    def __eq__(self, o): return True\n"
        f"def square(x):\n    return {ret}\n"
    )
    r = await _run(pool, src, "def check(candidate):\n    assert candidate(2) == 4\n")
    assert r.verdicts == ["WA"] and "not plain data" in r.tests[0].stderr, r


async def test_arguments_and_keywords_cross(pool):
    src = "def f(a, b=0, *, c=1):\n    return (a, b, c)\n"
    test = "def check(candidate):\n    assert candidate([1], b={'x': (2,)}, c=None) == ([1], {'x': (2,)}, None)\n"
    assert (await _run(pool, src, test, "f")).verdicts == ["AC"]


async def test_an_argument_that_is_not_data_fails_the_test(pool):
    test = "def check(candidate):\n    assert candidate(lambda y: y) is None\n"
    r = await _run(pool, "def square(x):\n    return None\n", test)
    assert r.verdicts == ["WA"], r


async def test_the_programs_exceptions_cross_by_builtin_name(pool):
    src = "class Mine(Exception):\n    pass\ndef f(x):\n    if x < 0:\n        raise ValueError('negative')\n    raise Mine('mine')\n"
    test = (
        "def check(candidate):\n"
        "    try:\n        candidate(-1)\n        assert False\n    except ValueError as e:\n        assert 'negative' in str(e)\n"
        "    try:\n        candidate(1)\n        assert False\n    except Exception as e:\n        assert type(e) is RuntimeError\n"
    )
    assert (await _run(pool, src, test, "f")).verdicts == ["AC"]


async def test_helpers_of_the_prompt_are_called_through_the_program(pool):
    # HumanEval/38 style: the test calls encode_cyclic, a helper the prompt defines
    src = "def enc(s):\n    return s[::-1]\ndef dec(s):\n    return s[::-1]\n"
    test = "def check(candidate):\n    assert candidate(enc('abc')) == 'abc'\n"
    assert (await _run(pool, src, test, "dec")).verdicts == ["AC"]


async def test_a_program_cannot_shadow_the_tests_builtins(pool):
    src = "def abs(x):\n    return 0\ndef square(x):\n    return 0\n"
    test = "def check(candidate):\n    assert abs(candidate(2) - 4) < 1e-9\n"
    assert (await _run(pool, src, test)).verdicts == ["WA"]


async def test_mbpp_style_asserts_at_top_level(pool):
    src = "def remove_Occ(s, ch):\n    return s.replace(ch, '', 1)[::-1].replace(ch, '', 1)[::-1]\n"
    tests = ['assert remove_Occ("hello","l") == "heo"', 'assert remove_Occ("abcda","a") == "bcd"']
    r = await pool.run(RunRequest.assert_based(src, tests, "remove_Occ"))
    assert r.verdicts == ["AC", "AC"], r
    wrong = await pool.run(RunRequest.assert_based("def remove_Occ(s, ch):\n    return s\n", tests, "remove_Occ"))
    assert wrong.verdicts == ["WA", "WA"], wrong


async def test_pytest_style_functions_import_the_program_as_solution(pool):
    test = "from solution import square\n\ndef test_small():\n    assert square(3) == 9\n\ndef test_zero():\n    assert square(0) == 0\n"
    assert (await _run(pool, SQUARE, test)).verdicts == ["AC"]
    r = await _run(pool, "def square(x):\n    return 9\n", test)
    assert r.verdicts == ["WA"], r


async def test_unittest_testcases(pool):
    test = (
        "import unittest\n"
        "class TestCases(unittest.TestCase):\n"
        "    def test_a(self):\n        self.assertEqual(square(4), 16)\n"
        "    def test_b(self):\n        self.assertEqual(square(-1), 1)\n"
    )
    assert (await _run(pool, SQUARE, test)).verdicts == ["AC"]
    r = await _run(pool, "def square(x):\n    return 16\n", test)
    assert r.verdicts == ["WA"] and "unittest" in r.tests[0].stderr, r


@pytest.mark.parametrize(
    ("test", "why"),
    [
        ("def check(candidate:\n    pass\n", "does not compile"),
        ("def chekc(candidate):\n    assert candidate(2) == 4\n", "never calls the program"),
        ("import no_such_module_here\ndef check(candidate):\n    pass\n", "fails before calling the program"),
    ],
)
async def test_a_broken_reference_is_a_reference_error_never_a_wrong_answer(pool, test, why):
    r = await _run(pool, SQUARE, test)
    assert r.reference_error is not None and why in r.reference_error, r
    assert r.passed == 0


async def test_a_program_that_loops_is_tle_and_the_harness_is_stopped(pool):
    src = "def square(x):\n    while True:\n        pass\n"
    r = await _run(pool, src, "def check(c):\n    assert c(2) == 4\n", limits=Limits(cpu_s=0.5, wall_s=2))
    assert r.verdicts == ["TLE"], r


async def test_a_test_that_loops_without_the_program_never_passes(pool):
    test = "def check(candidate):\n    while True:\n        pass\n"
    r = await _run(pool, SQUARE, test, limits=Limits(cpu_s=0.5, wall_s=3))
    assert r.verdicts != ["AC"] and r.passed == 0, r


async def test_the_program_crashing_mid_test_is_re(pool):
    src = "import os\ndef square(x):\n    raise SystemExit(3)\n"
    r = await _run(pool, src, "def check(c):\n    assert c(2) == 4\n")
    assert r.verdicts in (["RE"], ["WA"]) and r.passed == 0, r
    src = "import os\ndef square(x):\n    os.abort()\n"
    r = await _run(pool, src, "def check(c):\n    assert c(2) == 4\n")
    assert r.verdicts == ["RE"], r


async def test_prints_of_the_program_do_not_disturb_the_calls(pool):
    src = "import sys\ndef square(x):\n    print('noise', x)\n    sys.stdout.flush()\n    return x * x\n"
    r = await _run(pool, src, "def check(c):\n    assert c(2) == 4\n    assert c(5) == 25\n")
    assert r.verdicts == ["AC"] and "noise 5" in r.tests[0].stdout, r
