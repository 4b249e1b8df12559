"""Comparison of program results with expected results, in the service process (outside the sandbox); the
judge (sandbox/judge.py) calls it.

Modes:
  tolerant (default): trailing white space of every line and trailing empty lines are ignored, lines are
      compared token by token (runs of white space are one separator); two tokens that are both numbers are
      equal when they are equal integers, or, if either is not an integer, within rel_tol / abs_tol
      ("1" == "1.0", "0.3333333" == "0.33333333"). Large integers compare exactly.
  exact: the strings must be identical after normalizing "\r\n" to "\n".
Comparators (`reference.checker`, Comparator below), for stdin/stdout tests:
  whitespace (default): the tolerant mode above (today's default).
  exact: the exact mode above.
  tokens: the outputs split on any white space (line breaks included) must be equal token for token.
  float: token for token; two tokens that both read as numbers are equal when |a - b| <= abs_tol or
      |a - b| <= rel_tol * |b| (b expected: Codeforces' doubleCompare), other tokens must be identical.
  lines_unordered: the same lines (trailing white space and trailing empty lines ignored) in any order.
  case_insensitive: token for token, ignoring case ("YES" == "yes").
Call-based return values are compared as JSON values: tuples equal lists, dict keys must match, bools are not
numbers, floats compare with tolerance in tolerant mode and exactly in exact mode (ints equal floats of the
same value in both).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

JudgeMode = Literal["tolerant", "exact"]
ComparatorType = Literal["exact", "whitespace", "tokens", "float", "lines_unordered", "case_insensitive"]
COMPARATORS: tuple[ComparatorType, ...] = (
    "exact",
    "whitespace",
    "tokens",
    "float",
    "lines_unordered",
    "case_insensitive",
)
REL_TOL = 1e-6
ABS_TOL = 1e-6
_NUM = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_INT = re.compile(r"[+-]?\d+\Z")


def _lines(s: str) -> list[str]:
    lines = [ln.rstrip() for ln in s.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _num_equal(a: str, b: str, rel_tol: float, abs_tol: float) -> bool:
    if _INT.match(a) and _INT.match(b):
        return int(a) == int(b)
    try:
        x, y = float(a), float(b)
    except (ValueError, OverflowError):
        return False
    if math.isinf(x) or math.isinf(y):
        return x == y
    return math.isclose(x, y, rel_tol=rel_tol, abs_tol=abs_tol)


def _token_equal(a: str, b: str, rel_tol: float, abs_tol: float) -> bool:
    if a == b:
        return True
    if _NUM.match(a) and _NUM.match(b):
        return _num_equal(a, b, rel_tol, abs_tol)
    return False


def compare_output(
    actual: str, expected: str, mode: JudgeMode = "tolerant", *, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL
) -> bool:
    if mode == "exact":
        return actual.replace("\r\n", "\n") == expected.replace("\r\n", "\n")
    a, e = _lines(actual), _lines(expected)
    if len(a) != len(e):
        return False
    for la, le in zip(a, e):
        if la == le:
            continue
        ta, te = la.split(), le.split()
        if len(ta) != len(te):
            return False
        if not all(_token_equal(x, y, rel_tol, abs_tol) for x, y in zip(ta, te)):
            return False
    return True


def _decode_special(v: Any) -> Any:
    if isinstance(v, dict) and len(v) == 1 and "__float__" in v:
        return float(v["__float__"])
    return v


def compare_values(
    actual: Any,
    expected: Any,
    mode: JudgeMode = "tolerant",
    *,
    rel_tol: float = REL_TOL,
    abs_tol: float = ABS_TOL,
    _depth: int = 0,
) -> bool:
    if _depth > 500:
        return False
    actual, expected = _decode_special(actual), _decode_special(expected)
    ta, te = type(actual), type(expected)
    if ta is bool or te is bool:
        return ta is te and actual == expected
    if actual is None or expected is None:
        return actual is None and expected is None
    if ta in (int, float) and te in (int, float):
        if ta is int and te is int:
            return actual == expected
        if math.isnan(actual) or math.isnan(expected):
            return math.isnan(actual) and math.isnan(expected)
        if mode == "exact":
            return float(actual) == float(expected)
        if math.isinf(actual) or math.isinf(expected):
            return actual == expected
        return math.isclose(actual, expected, rel_tol=rel_tol, abs_tol=abs_tol)
    if ta is str and te is str:
        return actual == expected
    if ta in (list, tuple) and te in (list, tuple):
        return len(actual) == len(expected) and all(
            compare_values(x, y, mode, rel_tol=rel_tol, abs_tol=abs_tol, _depth=_depth + 1)
            for x, y in zip(actual, expected)
        )
    if ta is dict and te is dict:
        return actual.keys() == expected.keys() and all(
            compare_values(actual[k], expected[k], mode, rel_tol=rel_tol, abs_tol=abs_tol, _depth=_depth + 1)
            for k in actual
        )
    return False


@dataclass(frozen=True)
class Comparator:
    """A built-in checker: how one output is compared with its expected answer (module docstring)."""

    type: ComparatorType = "whitespace"
    abs_tol: float = 1e-6  # float only
    rel_tol: float = 1e-6  # float only

    def matches(self, actual: str, expected: str) -> bool:
        if self.type == "whitespace":
            return compare_output(actual, expected, "tolerant")
        if self.type == "exact":
            return compare_output(actual, expected, "exact")
        if self.type == "lines_unordered":
            return sorted(_lines(actual)) == sorted(_lines(expected))
        a, e = actual.split(), expected.split()
        if len(a) != len(e):
            return False
        if self.type == "tokens":
            return a == e
        if self.type == "case_insensitive":
            return all(x.casefold() == y.casefold() for x, y in zip(a, e))
        return all(self._float_token(x, y) for x, y in zip(a, e))

    def _float_token(self, a: str, b: str) -> bool:
        if a == b:
            return True
        if not (_NUM.match(a) and _NUM.match(b)):
            return False
        x, y = float(a), float(b)
        if math.isinf(x) or math.isinf(y) or math.isnan(x) or math.isnan(y):
            return False
        diff = abs(x - y)
        return diff <= self.abs_tol or diff <= self.rel_tol * abs(y)
