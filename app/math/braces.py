"""Balanced-brace scanning over LaTeX, shared by extraction (\\boxed{...}) and normalization (\\text{...})."""

from __future__ import annotations


def match_brace(s: str, open_idx: int) -> int:
    """Index of the `}` matching s[open_idx] == '{', or -1. Escaped braces (`\\{`, `\\}`) do not count."""
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
