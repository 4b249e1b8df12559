"""Balanced-brace pairing over LaTeX, for \\boxed{...} (extraction, references) and \\text{...} (normalization).

One linear pass pairs every brace of a string (`brace_partners`); callers look partners up instead of scanning
forward from each `{`, which was quadratic on inputs such as `\\boxed{` repeated or `{{{...}}}`.
"""

from __future__ import annotations

import re

#: a backslash and the character it escapes (an escaped brace is no brace), or a brace
_BRACE_OR_ESCAPE = re.compile(r"\\.|[{}]", re.DOTALL)


def brace_partners(s: str) -> dict[int, int]:
    """Index of each `{` → index of its matching `}` (unmatched `{` are absent). Escaped braces do not count.

    The regex finds braces and escapes in C, left to right as a character loop would, so the Python loop runs
    once per brace or backslash instead of once per character of a long completion."""
    partners: dict[int, int] = {}
    stack: list[int] = []
    for m in _BRACE_OR_ESCAPE.finditer(s):
        c = s[m.start()]
        if c == "{":
            stack.append(m.start())
        elif c == "}" and stack:
            partners[stack.pop()] = m.start()
    return partners
