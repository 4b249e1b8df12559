"""Balanced-brace pairing over LaTeX, for \\boxed{...} (extraction, references) and \\text{...} (normalization).

One linear pass pairs every brace of a string (`brace_partners`); callers look partners up instead of scanning
forward from each `{`, which was quadratic on inputs such as `\\boxed{` repeated or `{{{...}}}`.
"""

from __future__ import annotations


def brace_partners(s: str) -> dict[int, int]:
    """Index of each `{` → index of its matching `}` (unmatched `{` are absent). Escaped braces do not count."""
    partners: dict[int, int] = {}
    stack: list[int] = []
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            stack.append(i)
        elif c == "}" and stack:
            partners[stack.pop()] = i
        i += 1
    return partners
