r"""Find the final answer in a completion's answer block (or the whole completion).

Order of preference: the last `\boxed{..}` / `\fbox{..}` (also `\boxed 5`), then a "final answer is …" /
"the answer is …" phrase, then the last math span (`$..$`, `$$..$$`, `\(..\)`, `\[..\]`), then the last number.

Hedging is refused (answer None, reason "hedged: …"): several *different* boxed answers, an "A or B" answer,
or a list of every option letter (`A, B, C, D`). Repeating the same boxed answer is fine.

Runs in the service's event loop: only linear scans and regexes without nested quantifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.math.braces import match_brace
from app.math.normalize import normalize

MAX_ANSWER_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Extraction:
    answer: str | None
    source: str | None  # "boxed" | "final_answer_phrase" | "last_math" | "last_number" | None
    reason: str | None = None


_BOX = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")
_PHRASE = re.compile(r"(?:final\s+answer|the\s+answer)\s*(?:is\b|:|=)\s*(?:is\b)?\s*", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:\s*/\s*\d+)?")
_HEDGE_OR = re.compile(r"(?:\s|\}|^)(?:or|\\text\{\s*or\s*\}|\\lor|\\vee)(?:\s|\\|\{|$)")
_LETTERS = re.compile(r"^\(?([A-E])\)?(?:\s*,\s*\(?([A-E])\)?)+$")


def _braced(text: str, open_idx: int) -> tuple[str, int] | None:
    """Content of the balanced group opening at text[open_idx] == '{' and the index after it."""
    close = match_brace(text, open_idx)
    return (text[open_idx + 1 : close], close + 1) if close >= 0 else None


def _boxed_all(text: str) -> list[str]:
    found: list[str] = []
    for m in _BOX.finditer(text):
        i = m.end()
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{":
            got = _braced(text, i)
            if got is not None:
                found.append(got[0].strip())
        elif m.end() < len(text) and text[m.end()] == " ":
            # \boxed 5 : one token up to white space or a math delimiter
            tok = re.match(r"[^\s$]+", text[i:])
            if tok:
                found.append(tok.group(0).rstrip(".,"))
    return [f for f in found if f]


def _math_spans(text: str) -> list[str]:
    r"""Contents of $..$, $$..$$, \(..\), \[..\] spans, in order (linear scan)."""
    spans: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt in "([":
                close = "\\)" if nxt == "(" else "\\]"
                j = text.find(close, i + 2)
                if j < 0:
                    break
                spans.append(text[i + 2 : j])
                i = j + 2
                continue
            i += 2
            continue
        if c == "$":
            delim = "$$" if text.startswith("$$", i) else "$"
            j = i + len(delim)
            while True:
                j = text.find(delim, j)
                if j < 0 or text[j - 1] != "\\":
                    break
                j += 1
            if j < 0:
                break
            spans.append(text[i + len(delim) : j])
            i = j + len(delim)
            continue
        i += 1
    return [s.strip() for s in spans if s.strip()]


def _hedge_reason(answer: str) -> str | None:
    if _HEDGE_OR.search(answer):
        return f"hedged: alternatives in one answer ({answer[:80]!r})"
    m = _LETTERS.match(normalize(answer))
    if m:
        letters = re.findall(r"[A-E]", normalize(answer))
        if len(set(letters)) >= 4:
            return f"hedged: lists {len(set(letters))} option letters ({answer[:80]!r})"
    return None


def _finish(answer: str, source: str) -> Extraction:
    answer = answer.strip()
    if not answer:
        return Extraction(None, source, "empty final answer")
    if len(answer) > MAX_ANSWER_CHARS:
        return Extraction(None, source, f"final answer longer than {MAX_ANSWER_CHARS} characters")
    hedge = _hedge_reason(answer)  # after the length check: normalize only sees short strings
    if hedge:
        return Extraction(None, source, hedge)
    return Extraction(answer, source, None)


def extract_answer(text: str) -> Extraction:
    """The final answer of `text` (the answer block if the completion had one, else the whole completion)."""
    if not text or not text.strip():
        return Extraction(None, None, "empty completion")
    boxed = _boxed_all(text)
    if boxed:
        distinct: dict[str, str] = {}
        for b in boxed:
            distinct.setdefault(normalize(b) if len(b) <= MAX_ANSWER_CHARS else b, b)
        if len(distinct) > 1:
            shown = ", ".join(repr(v[:40]) for v in list(distinct.values())[:4])
            return Extraction(None, "boxed", f"hedged: {len(distinct)} different boxed answers ({shown})")
        return _finish(boxed[-1], "boxed")

    phrases = list(_PHRASE.finditer(text))
    for m in reversed(phrases):
        rest = text[m.end() :]
        line = rest.split("\n", 1)[0].strip()
        if not line and "\n" in rest:
            line = rest.split("\n", 2)[1].strip() if rest.count("\n") >= 1 else ""
        if not line:
            continue
        spans = _math_spans(line)
        if spans:
            return _finish(spans[0], "final_answer_phrase")
        line = re.sub(r"[.;]\s.*$", "", line)  # first sentence only
        return _finish(line.rstrip(" ."), "final_answer_phrase")

    spans = _math_spans(text)
    if spans:
        return _finish(spans[-1], "last_math")
    numbers = _NUMBER.findall(text)
    if numbers:
        return _finish(numbers[-1], "last_number")
    return Extraction(None, None, "no final answer found")
