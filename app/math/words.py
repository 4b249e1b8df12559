r"""Words in an answer: which are math and which are prose. The one vocabulary that extraction and parsing share.

A word is a run of three or more letters that does not follow a backslash or another letter: LaTeX commands
(`\frac`, `\begin`) are never words, but their names typed bare (`sin x`, `2 times 3`) and environment names
(`pmatrix` in `\begin{pmatrix}`) are.
"""

from __future__ import annotations

import re

WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")

#: names of functions and constants that answers write as bare words (`sin x`, `gcd(4, 6)`, `2 mod 3`, `30 deg`)
FUNCTION_NAMES = frozenset(
    {
        "sin",
        "cos",
        "tan",
        "cot",
        "sec",
        "csc",
        "log",
        "exp",
        "sqrt",
        "max",
        "min",
        "gcd",
        "lcm",
        "det",
        "arcsin",
        "arccos",
        "arctan",
        "sinh",
        "cosh",
        "tanh",
        "mod",
        "deg",
        "dots",
        "pi",
    }
)
#: matrix environments: `\begin{pmatrix}..\end{pmatrix}` leaves the bare word `pmatrix` after its brace
MATRIX_ENVIRONMENTS = frozenset({"pmatrix", "bmatrix", "vmatrix", "matrix", "smallmatrix", "array"})
#: words that are math wherever they stand: parsing lets them through to latex2sympy2, which reads them
MATH_WORDS = FUNCTION_NAMES | MATRIX_ENVIRONMENTS
#: LaTeX command names typed without their backslash (`2 times 3`, `1 frac 2`): not prose, so extraction may
#: take them for an answer, but not math either: latex2sympy2 would read `times` as t·i·m·e·s, so parsing refuses
COMMAND_NAMES = frozenset(
    {"frac", "dfrac", "tfrac", "cdot", "times", "infty", "text", "left", "right", "boxed", "cases"}
)
_NOT_PROSE = MATH_WORDS | COMMAND_NAMES


def has_words(text: str) -> bool:
    """Any word at all, math or prose (`sin`, `and`)."""
    return WORD.search(text) is not None


def has_prose(text: str) -> bool:
    """A word that is neither math nor a LaTeX command's name (extraction: is this text an answer or prose?)."""
    return any(w.group(0).lower() not in _NOT_PROSE for w in WORD.finditer(text))


def has_non_math_words(text: str) -> bool:
    """A word that latex2sympy2 would not read as math (parsing: `words mixed with math` or a text answer)."""
    return any(w.group(0).lower() not in MATH_WORDS for w in WORD.finditer(text))
