r"""Answers as datasets and models write them, reduced to the value they state (pure string work, linear).

- `reference_answer(gold)`: a reference that is a whole solution (NuminaMath, OpenThoughts write the worked
  solution) is reduced to its last `\boxed{}`; several *different* boxes in a gold are a list of answers; a gold
  list written with `;`, ` or `, ` and ` becomes a comma list.
- `state_values(normalized)`: a named value states its value: `(p,q)=(3,2)` → `(3,2)`, `x=-5,p=\frac{14}{3}`
  → `-5,\frac{14}{3}`, `AB=4,CD=5` → `4,5`, `S_{MBCN}:S=7:32` → `7:32`, `\frac{NO}{BO}=\frac{1}{\sqrt6}` →
  `\frac{1}{\sqrt6}`; an approximation keeps its exact side (`\frac{\pi}{4}\approx0.785` → `\frac{\pi}{4}`).
  Only a *name* (letters, subscripts, primes, no digits, no operators) on the left of a *constant* (no letters
  outside LaTeX commands) is dropped: `x+1=3` and `y=2x+1` are left alone, so no equation loses meaning.
"""

from __future__ import annotations

import re

from app.math.braces import brace_partners
from app.math.parse import split_top
from app.math.words import has_words

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_GOLD_OR = re.compile(r"\s+(?:or|and)\s+|\s*(?<!\\);\s*")
# the left side of an assignment: a name made of letters, subscripts, primes, commas, parentheses and a few
# naming commands; no digits and no arithmetic, so `x+1=3` is never read as "3"
_NAME = re.compile(r"(?:[A-Za-z_{}(),:'\s]|\\(?:frac|angle|overline|mathrm|operatorname|triangle|measuredangle))+")
_COMMAND = re.compile(r"\\[a-zA-Z]+")
_CONSTANT_COMMANDS = frozenset(
    ["\\frac", "\\sqrt", "\\pi", "\\dfrac", "\\cdot", "\\times", "\\infty", "\\left", "\\right", "\\circ", "\\dots"]
)
_DECIMAL = re.compile(r"\d\.\d")
MAX_GOLD_BOXES = 16


def _boxes(text: str) -> list[str]:
    partners = brace_partners(text)
    out: list[str] = []
    for m in _BOX.finditer(text):
        close = partners.get(m.end() - 1, -1)
        if close >= 0:
            inner = text[m.end() : close].strip()
            if inner:
                out.append(inner)
    return out


def reference_answer(gold: str) -> str:
    """The final answer a gold states (see the module doc)."""
    if "\\boxed" in gold or "\\fbox" in gold:
        boxes = _boxes(gold)
        if boxes:
            distinct = list(dict.fromkeys(boxes))
            gold = distinct[-1] if len(distinct) == 1 or len(distinct) > MAX_GOLD_BOXES else ", ".join(distinct)
    if (" or " in gold or " and " in gold or ";" in gold) and "\\text" not in gold:
        parts = [p for p in _GOLD_OR.split(gold) if p.strip()]
        if len(parts) > 1 and all(not has_words(p) for p in parts):
            gold = ", ".join(p.strip() for p in parts)
    return gold


def is_constant(s: str) -> bool:
    """No letters outside commands that name constants or notation (`\\frac{1}{\\sqrt{6}}`, `7:32`, `(3,2)`)."""
    if not s or (not any(ch.isdigit() for ch in s) and "\\pi" not in s and "\\infty" not in s):
        return False
    for m in _COMMAND.finditer(s):
        if m.group(0) not in _CONSTANT_COMMANDS:
            return False
    return not re.search(r"[a-zA-Z]", _COMMAND.sub("", s))


def _is_name(s: str) -> bool:
    return bool(s) and _NAME.fullmatch(s) is not None and any(ch.isalpha() for ch in _COMMAND.sub("", s))


def _state_one(part: str) -> str:
    if "\\approx" in part:
        sides = [p for p in split_top(part, "\\approx") if p]
        if len(sides) > 1:
            exact = [p for p in sides if not _DECIMAL.search(p) and is_constant(p)]
            part = exact[-1] if exact else sides[-1]
    if "=" not in part:
        return part
    sides = split_top(part, "=")
    if len(sides) != 2 or not sides[0] or not sides[1]:
        return part
    lhs, rhs = sides
    if "<" in lhs or ">" in lhs or ("\\" in rhs and ("\\leq" in rhs or "\\geq" in rhs)):
        return part
    if _is_name(lhs) and is_constant(rhs):
        return rhs
    return part


def named_values(s: str) -> list[tuple[str, str]] | None:
    """`AB=4,CD=5` → [("AB", "4"), ("CD", "5")]: a list of at least two named constants, else None. Named values
    are ordered by their names: `x=2,y=1` is not `x=1,y=2` although `{1, 2}` = `{2, 1}`."""
    if "=" not in s:
        return None
    parts = split_top(s, ",")
    if len(parts) < 2:
        return None
    out: list[tuple[str, str]] = []
    for p in parts:
        sides = split_top(p, "=")
        if len(sides) != 2 or not _is_name(sides[0]) or not is_constant(sides[1]):
            return None
        out.append((sides[0].replace(" ", ""), sides[1]))
    return out


def state_values(s: str) -> str:
    """Drop the names of stated values (see the module doc); `s` is a normalized answer."""
    if "=" not in s and "\\approx" not in s:
        return s
    parts = split_top(s, ",")
    stated = [_state_one(p) for p in parts]
    if stated == parts:
        return s
    return ",".join(stated)
