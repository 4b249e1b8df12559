"""brace_partners pairs braces as a left-to-right character scan does: a backslash escapes the next character."""

import random

import pytest

from app.math.braces import brace_partners


def scan(s: str) -> dict[int, int]:
    """The reference: one character at a time."""
    partners: dict[int, int] = {}
    stack: list[int] = []
    i = 0
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s[i] == "{":
            stack.append(i)
        elif s[i] == "}" and stack:
            partners[stack.pop()] = i
        i += 1
    return partners


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        ("\\boxed{\\frac{1}{2}}", {6: 18, 12: 14, 15: 17}),
        ("\\{1\\}", {}),  # escaped braces
        ("\\\\{a}", {2: 4}),  # an escaped backslash, then a real brace
        ("{{}", {1: 2}),  # an unmatched {
        ("}{", {}),
        ("{\n}", {0: 2}),
        ("\\", {}),
    ],
)
def test_pairs(s, expected):
    assert brace_partners(s) == expected == scan(s)


def test_same_as_a_character_scan_on_random_strings():
    rng = random.Random(0)
    for _ in range(20_000):
        s = "".join(rng.choice("{}\\a\n ") for _ in range(rng.randint(0, 30)))
        assert brace_partners(s) == scan(s), repr(s)
