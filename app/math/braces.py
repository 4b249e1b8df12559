"""Balanced-brace scanning over LaTeX, shared by extraction (\\boxed{...}) and normalization (\\text{...}).

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


def match_brace(s: str, open_idx: int) -> int:
    """Index of the `}` matching s[open_idx] == '{', or -1 (one scan; use brace_partners for many lookups)."""
    depth = 0
    i = open_idx
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1
