"""Dataset rows written the way each dataset's loader yields them (`datasets.load_dataset(...)[i]`), with a right and
a wrong program each: shared by the format unit tests and the API tests (imported by bare module name)."""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from typing import Any


def _lcb_compressed(cases: list[dict[str, str]]) -> str:
    # livecodebench/code_generation_lite stores private_test_cases as base64(zlib(pickle(json string)))
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(cases)))).decode()


# name -> (tests as the row stores them, right program, wrong program, normalized kind, test count)
ROWS: dict[str, tuple[dict[str, Any], str, str, str, int]] = {
    "apps": (
        {"input_output": json.dumps({"inputs": ["1 2\n", "3 4\n"], "outputs": ["3\n", "7\n"]})},
        "print(sum(map(int, input().split())))",
        "print(3)",
        "stdio",
        2,
    ),
    "taco_fn_name": (
        {"input_output": json.dumps({"fn_name": "add", "inputs": [[1, 2], [5, 5]], "outputs": [[3], [10]]})},
        "def add(a, b):\n    return a + b",
        "def add(a, b):\n    return a * b",
        "call",
        2,
    ),
    "code_contests": (
        {
            "public_tests": {"input": ["2\n"], "output": ["4\n"]},
            "private_tests": {"input": ["3\n"], "output": ["9\n"]},
            "generated_tests": {"input": ["10\n", "0\n"], "output": ["100\n", "0\n"]},
        },
        "n = int(input())\nprint(n * n)",
        "n = int(input())\nprint(n + n)",
        "stdio",
        4,
    ),
    "livecodebench_stdin": (
        {
            "public_test_cases": json.dumps([{"input": "abc\n", "output": "cba\n", "testtype": "stdin"}]),
            "private_test_cases": _lcb_compressed([{"input": "xy\n", "output": "yx\n", "testtype": "stdin"}]),
            "metadata": "{}",
        },
        "print(input()[::-1])",
        "print(input())",
        "stdio",
        2,
    ),
    "livecodebench_functional": (
        {
            "public_test_cases": json.dumps([{"input": "[1, 2, 3]\n2", "output": "12", "testtype": "functional"}]),
            "private_test_cases": json.dumps([{"input": "[]\n5", "output": "0", "testtype": "functional"}]),
            "metadata": json.dumps({"func_name": "scaledSum"}),
        },
        "class Solution:\n    def scaledSum(self, nums, k):\n        return sum(nums) * k",
        "class Solution:\n    def scaledSum(self, nums, k):\n        return sum(nums)",
        "call",
        2,
    ),
    "mbpp": (
        {
            "test_list": [
                'assert remove_Occ("hello","l") == "heo"',
                'assert remove_Occ("abcda","a") == "bcd"',
                'assert remove_Occ("PHP","P") == "H"',
            ],
            "test_setup_code": "",
            "challenge_test_list": [],
        },
        "def remove_Occ(s, ch):\n    s = s.replace(ch, '', 1)\n    i = s.rfind(ch)\n    return s if i < 0 else s[:i] + s[i + 1:]",
        "def remove_Occ(s, ch):\n    return s.replace(ch, '', 1)",
        "assert",
        3,
    ),
    "kodcode": (
        {
            "test": "from solution import is_even\n\ndef test_even():\n    assert is_even(4)\n\n"
            "def test_odd():\n    assert not is_even(7)\n",
            "test_info": [
                {"function_name": "is_even", "parameter_list": "(n)", "function_declaration": "def is_even(n):"}
            ],
        },
        "def is_even(n):\n    return n % 2 == 0",
        "def is_even(n):\n    return True",
        "assert",
        1,
    ),
    "bigcodebench": (
        {
            "test": "import unittest\nclass TestCases(unittest.TestCase):\n    def test_case_1(self):\n"
            "        self.assertEqual(task_func([3, 1, 2]), [1, 2, 3])\n    def test_case_2(self):\n"
            "        self.assertEqual(task_func([]), [])\n",
            "entry_point": "task_func",
        },
        "def task_func(xs):\n    return sorted(xs)",
        "def task_func(xs):\n    return xs",
        "assert",
        1,
    ),
    "humaneval": (
        {
            "test": "\n\nMETADATA = {'author': 'jt', 'dataset': 'test'}\n\n\ndef check(candidate):\n"
            "    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n",
            "entry_point": "add",
        },
        "def add(x: int, y: int):\n    return x + y",
        "def add(x: int, y: int):\n    return x - y",
        "assert",
        1,
    ),
    "codeforces": (
        {
            "official_tests": [{"input": "4\n", "output": "2 2\n"}, {"input": "10\n", "output": "5 5\n"}],
            "generated_checker": "import sys\n"
            "n = int(open(sys.argv[1]).read())\n"
            "a, b = map(int, open(sys.argv[2]).read().split())\n"
            "sys.exit(0 if a + b == n and a % 2 == 0 and b % 2 == 0 or a + b == n and n % 2 else 1)\n",
            "input_mode": "stdio",
            "time_limit": 1.0,
            "memory_limit": 256,
        },
        # any split into two even parts is right: (2, 2) and (2, 8) are both accepted by the checker
        "n = int(input())\nprint(2, n - 2)",
        "n = int(input())\nprint(1, n - 1)",
        "stdio",
        2,
    ),
    "sandbox_fusion": (
        {"inputs": ["5\n"], "outputs": ["120\n"], "assert_case": ["assert fact(5) == 120", "assert fact(0) == 1"]},
        "import math\ndef fact(n):\n    return math.factorial(n)",
        "def fact(n):\n    return n",
        "assert",
        2,
    ),
}
