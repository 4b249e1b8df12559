r"""Find the final answer in a completion's answer block (or the whole completion).

Order of preference:
1. the last `\boxed{..}` / `\fbox{..}` (also `\boxed 5`);
2. an answer marker: "final answer is …", "the answer is …", a line starting `Answer:` (Minerva, DAPO),
   `#### 42` (GSM8K);
3. the last math span (`$..$`, `$$..$$`, `\(..\)`, `\[..\]`; a `$` before a number in prose, `$10,455`, is
   currency, not a delimiter);
4. the whole text, when it is itself a short answer (`\frac{1}{2}`, `x^2 + 2*x + 1`, `3+2`): no prose words;
5. the last number, only when it stands alone (a number inside an expression such as `x+1` or `\sqrt{3}` is
   never taken for the answer).

Hedging is refused (answer None, reason "hedged: …"): several *different* boxed answers, an "A or B" answer,
or a list of every option letter (`A, B, C, D`). Repeating the same boxed answer is fine. Several different
boxes are kept in `candidates`: verification accepts them only when together they are exactly the gold's set
of values (gold `1, -2`, boxes `-2` and `1`).

Runs in the service's event loop, so everything here is linear in the input: one brace-pairing pass
(braces.brace_partners), linear scans, regexes without nested quantifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.math.braces import brace_partners
from app.math.limits import MARKER_WINDOW_CHARS, MAX_ANSWER_CHARS, MAX_WHOLE_CHARS
from app.math.normalize import normalize
from app.math.words import has_prose

#: boxes kept as candidates of a "several boxes" answer
MAX_CANDIDATES = 16


@dataclass(frozen=True, slots=True)
class Extraction:
    answer: str | None
    source: str | None  # "boxed" | "final_answer_phrase" | "marker" | "last_math" | "whole" | "last_number" | None
    reason: str | None = None
    #: the distinct boxed answers of a completion that boxed several (answer is None, reason "hedged: …")
    candidates: tuple[str, ...] = ()


_BOX = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")
_PHRASE = re.compile(
    r"(?:(?:final\s+answer|the\s+(?:correct\s+)?answer)\s*(?:is\b|:|=)|\banswer\s+is\b|\banswer\s*:)\s*(?:is\b)?\s*:?\s*",
    re.IGNORECASE,
)
# markers at the start of a line: "Answer: …", "**Answer:** …", "#### 42"
_LINE_MARKER = re.compile(
    r"(?m)^[ \t]*(?:\*\*\s*)?(?:(?:final\s+)?answer\s*(?:\*\*)?\s*:\s*(?:\*\*)?|####)[ \t]*", re.I
)
_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:\s*/\s*\d+)?")
_HEDGE_OR = re.compile(r"(?:\s|\}|^)(?:or|\\text\{\s*or\s*\}|\\lor|\\vee)(?:\s|\\|\{|$)")
_LETTERS = re.compile(r"^\(?([A-E])\)?(?:\s*,\s*\(?([A-E])\)?)+$")
# characters that glue a number to an expression around it: then the number is part of it, not the answer
_GLUE_BEFORE = frozenset("+-*/^_=({[\\|<>!")
_GLUE_AFTER = frozenset("+-*/^_=)}]\\|<>!(")
_CURRENCY = re.compile(r"\$\d[\d,]*(?:\.\d+)?(?=[\s,.;:!?)]|$)")
_SENTENCE_END = re.compile(r"[.;]\s.*$", re.S)
# words inside \text{..} of a bare answer (`575\text{ students}`, `\text{Evelyn}`) are part of the answer
_TEXT_GROUP = re.compile(r"\\(?:text|mbox|textbf|textrm|mathrm|textnormal)\s*\{[^{}]*\}")


def _boxed_all(text: str) -> list[str]:
    found: list[str] = []
    partners: dict[int, int] | None = None
    for m in _BOX.finditer(text):
        i = m.end()
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{":
            if partners is None:
                partners = brace_partners(text)  # once per text: lookups stay linear however many boxes
            close = partners.get(i, -1)
            if close >= 0:
                found.append(text[i + 1 : close].strip())
        elif m.end() < len(text) and text[m.end()] == " ":
            # \boxed 5 : one token up to white space or a math delimiter
            # one character past the limit: an overlong token is refused whole, never cut to a shorter answer
            tok = re.match(r"[^\s$]+", text[i : i + MAX_ANSWER_CHARS + 1])
            if tok:
                found.append(tok.group(0).rstrip(".,"))
    return [f for f in found if f]


def _is_currency(text: str, i: int) -> bool:
    """`$` at text[i] opens a price in prose (`$10,455 in total`), not a math span."""
    m = _CURRENCY.match(text, i)
    if not m:
        return False
    nxt = text.find("$", m.end())
    # "$5 + 3$" is math; "$10,455 and then $x$" is a price: prose before the next `$` (or no next `$`)
    return nxt < 0 or has_prose(text[m.end() : nxt])


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
            if _is_currency(text, i):
                i += 1
                continue
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
    norm = normalize(answer)
    m = _LETTERS.match(norm)
    if m:
        letters = re.findall(r"[A-E]", norm)
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


def _after_marker(text: str, start: int) -> str | None:
    """The answer written after a marker ending at text[start]: its first math span, else its first sentence."""
    rest = text[start : start + MARKER_WINDOW_CHARS]
    line = rest.split("\n", 1)[0].strip()
    if not line and "\n" in rest:
        line = rest.split("\n", 2)[1].strip()
    if not line:
        return None
    spans = _math_spans(line)
    if spans:
        return spans[0]
    line = line.strip("* ")
    line = _SENTENCE_END.sub("", line)  # first sentence only
    return line.rstrip(" .")


def _standalone_number(text: str) -> str | None:
    """The last number of the text that is not glued to an expression (`x+1`, `\\sqrt{3}`, `2^{10}`)."""
    last = None
    for m in _NUMBER.finditer(text):
        before = text[m.start() - 1] if m.start() > 0 else " "
        after = text[m.end()] if m.end() < len(text) else " "
        if before.isalpha() or before in _GLUE_BEFORE or after.isalpha() or after in _GLUE_AFTER:
            last = None  # the number is part of an expression: a later expression must not leave an earlier one
            continue
        if after == "." and m.end() + 1 < len(text) and text[m.end() + 1].isdigit():
            continue
        last = m.group(0)
    return last


def extract_answer(text: str) -> Extraction:
    """The final answer of `text` (the answer block if the completion had one, else the whole completion)."""
    if not text or not text.strip():
        return Extraction(None, None, "empty completion")
    boxed = _boxed_all(text)
    if boxed:
        distinct: dict[str, str] = {}
        seen: set[str] = set()
        for b in boxed:
            if b in seen:
                continue  # `\boxed{3}` repeated is normalized once
            seen.add(b)
            distinct.setdefault(normalize(b) if len(b) <= MAX_ANSWER_CHARS else b, b)
            if len(distinct) > MAX_CANDIDATES:
                break  # a hedge already: the rest need not be normalized
        if len(distinct) > 1:
            shown = ", ".join(repr(v[:40]) for v in list(distinct.values())[:4])
            values = tuple(v for v in distinct.values() if len(v) <= MAX_ANSWER_CHARS)
            return Extraction(
                None,
                "boxed",
                f"hedged: {len(distinct)} different boxed answers ({shown})",
                values if len(values) == len(distinct) <= MAX_CANDIDATES else (),
            )
        return _finish(boxed[-1], "boxed")

    markers = [m.end() for m in _PHRASE.finditer(text)] + [m.end() for m in _LINE_MARKER.finditer(text)]
    for end in sorted(markers, reverse=True):
        got = _after_marker(text, end)
        if got:
            return _finish(got, "final_answer_phrase")

    spans = _math_spans(text)
    if spans:
        return _finish(spans[-1], "last_math")
    whole = text.strip().rstrip(".")
    short = len(whole) <= MAX_WHOLE_CHARS and any(ch.isalnum() for ch in whole)
    if short and not has_prose(_TEXT_GROUP.sub(" ", whole)) and not _NUMBER.fullmatch(whole):
        return _finish(whole, "whole")
    number = _standalone_number(text)
    if number:
        return _finish(number, "last_number")
    return Extraction(None, None, "no final answer found")
