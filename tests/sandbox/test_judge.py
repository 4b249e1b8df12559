from __future__ import annotations

import pytest

from sandbox.compare import compare_output, compare_values
from sandbox.models import Job, JobOutcome, Limits, TestOutcome


@pytest.mark.parametrize(
    "a,e,ok",
    [
        ("1 2\n", "1 2", True),
        ("1 2   \n\n\n", "1 2\n", True),
        ("1  2\n", "1 2\n", True),
        ("1\n2\n", "1 2\n", False),
        ("1.0\n", "1\n", True),
        ("0.3333333\n", "0.33333333\n", True),
        ("0.33\n", "0.333\n", False),
        ("12345678901234567890\n", "12345678901234567891\n", False),
        ("YES\n", "yes\n", False),
        ("nan\n", "nan\n", True),
        ("", "", True),
        ("\r\n1\r\n", "\n1\n", True),
        ("1e3", "1000", True),
    ],
)
def test_tolerant(a, e, ok):
    assert compare_output(a, e) is ok


def test_exact():
    assert compare_output("1\r\n", "1\n", "exact")
    assert not compare_output("1 \n", "1\n", "exact")
    assert not compare_output("1.0", "1", "exact")


@pytest.mark.parametrize(
    "a,e,ok",
    [
        ([1, 2], (1, 2), True),
        ([1, [2, 3]], [1, [2, 3]], True),
        (0.30000000000000004, 0.3, True),
        (1, 1.0, True),
        (True, 1, False),
        (None, 0, False),
        ({"a": 1}, {"a": 1.0}, True),
        ({"a": 1}, {"b": 1}, False),
        ("1", 1, False),
        ({"__float__": "nan"}, float("nan"), True),
        ({"__float__": "inf"}, float("inf"), True),
    ],
)
def test_values(a, e, ok):
    assert compare_values(a, e) is ok


def test_values_exact_floats():
    assert not compare_values(0.30000000000000004, 0.3, "exact")


def test_models_round_trip_and_key():
    j = Job(source="x", tests=("a",), limits=Limits(cpu_s=1))
    assert Job.from_json(j.to_json()) == Job(source="x", tests=("a",), limits=Limits(cpu_s=1, wall_s=3.0))
    assert j.key() == Job(source="x", tests=("a",), limits=Limits(cpu_s=1), id="other").key()
    assert j.key() != Job(source="x", tests=("b",), limits=Limits(cpu_s=1)).key()
    o = JobOutcome(compile_output="c", tests=[TestOutcome(verdict="OK", stdout="s")])
    assert JobOutcome.from_json(o.to_json()) == o
