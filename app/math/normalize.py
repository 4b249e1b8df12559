"""String normalization of a math answer: pure, cheap (regexes without nested quantifiers), case-preserving.

The result is both the key of the cheapest comparison (two answers whose normalized strings are equal are
equivalent) and the input of `parse.parse_answer`. Every rule here must be *sound*: it may only remove
notation that never changes the value (spacing, `\\left`, `\\displaystyle`, units, a leading `x =`, …).
"""

from __future__ import annotations

import re
from functools import lru_cache

from app.math.braces import brace_partners
from app.math.limits import NORMALIZE_CACHE_CHARS

_UNIT_WORDS = (
    # length, area, volume, mass, time, money, angles, counting nouns that MATH answers carry
    "mm|cm|km|meters?|metres?|centimeters?|kilometers?|millimeters?|inch(?:es)?|feet|foot|ft|yards?|yd|miles?|"
    "sq|square|cubic|units?|mph|kph|km/h|m/s|"
    "grams?|kg|kilograms?|pounds?|lbs?|ounces?|oz|tons?|liters?|litres?|ml|gallons?|"
    "seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|"
    "dollars?|cents?|euros?|percent|pct|"
    "degrees?|deg|radians?|rad"
)
# one-letter (and "in") units could be a variable ("5m"): only stripped when a space separates them
_UNIT_SHORT = "m|s|h|g|in|mi"
_UNIT_TAIL = re.compile(
    r"(?<=[0-9}\s)])(?:\s*(?:" + _UNIT_WORDS + r")\b\.?|\s+(?:" + _UNIT_SHORT + r")\b\.?)+"
    r"(?:\s*\^\s*\{?[23]\}?)?\s*$"
)
_CMD_TEXT = re.compile(
    r"\\(?:textnormal|textup|textsf|text|textbf|textit|textrm|texttt|mathrm|mathbf|mathit|mathsf|mbox|hbox|operatorname\*?|rm|bf)\s*\{"
)
_SPACING = re.compile(r"(?<!\\)\\(?:,|;|:|!|>| |quad|qquad|enspace|thinspace|medspace|thickspace|hfill|nobreak)|~")
_SIZERS = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg)(?![a-zA-Z])\s*")
_FRAC_CMD = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
# \frac56, \frac 56, \frac5{6}, \frac{5}6: the arguments written as single tokens
_ARG = r"(\{[^{}]*\}|[0-9a-zA-Z]|\\(?:pi|theta|alpha|beta|gamma|phi|infty)(?![a-zA-Z]))"
_FRAC_SHORT = re.compile(r"\\frac\s*" + _ARG + r"\s*" + _ARG)
_SQRT_SHORT = re.compile(r"\\sqrt\s*([0-9a-zA-Z])")
# degrees inside a trig function are an angle, not a number: \sin 30^\circ = \sin\frac{30\pi}{180}
_TRIG_DEGREES = re.compile(
    r"(\\(?:sin|cos|tan|cot|sec|csc)\s*\(?\s*)(\d+(?:\.\d+)?)\s*(?:\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°|\\degree)"
)
_CASES = re.compile(r"\\begin\{cases\}(.*?)\\end\{cases\}", re.S)
_DEGREES = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|°|\\degree")
_LEADING_VAR = re.compile(r"^\s*(?:[a-zA-Z](?:_\{?[a-zA-Z0-9]+\}?)?|[a-zA-Z]\([a-zA-Z]\))\s*=\s*(?=[^=]+$)")
_THOUSANDS_BRACE = re.compile(r"(?<=\d)\{,\}(?=\d{3})")
_THOUSANDS_BANG = re.compile(r"(?<=\d),\\!\s*(?=\d{3}(?!\d))")
_THOUSANDS_THIN = re.compile(r"(?<=\d)\\[,;: ]\s*(?=\d{3}(?!\d))")
_WS = re.compile(r"\s+")
# a space is kept only between two word characters ("\sin x", "June 20")
_WS_DROP = re.compile(r"(?<=[^\w\s]) | (?=[^\w\s])")
_LEADING_DOT = re.compile(r"(?<![\d.}])\.(?=\d)")
_TEXT_CONNECTOR = re.compile(r"^\s*(?:and|&)\s*$")

_UNICODE = {
    "−": "-",
    "–": "-",
    "—": "-",
    "×": r"\times ",
    "·": r"\cdot ",
    "÷": r"\div ",
    "π": r"\pi ",
    "∞": r"\infty ",
    "√": r"\sqrt",
    "≤": r"\leq ",
    "≥": r"\geq ",
    "≠": r"\neq ",
    "∪": r"\cup ",
    "∩": r"\cap ",
    "±": r"\pm ",
    "∅": r"\emptyset ",
    "\u00a0": " ",
}
_ALIASES = (
    (re.compile(r"\\le(?![a-zA-Z])"), r"\\leq"),
    (re.compile(r"\\ge(?![a-zA-Z])"), r"\\geq"),
    (re.compile(r"\\ne(?![a-zA-Z])"), r"\\neq"),
    (re.compile(r"\\(?:leqslant|leqq)(?![a-zA-Z])"), r"\\leq"),
    (re.compile(r"\\(?:geqslant|geqq)(?![a-zA-Z])"), r"\\geq"),
    (re.compile(r"\\(?:lbrace)(?![a-zA-Z])"), r"\\{"),
    (re.compile(r"\\(?:rbrace)(?![a-zA-Z])"), r"\\}"),
    (re.compile(r"\\(?:varnothing)(?![a-zA-Z])"), r"\\emptyset"),
    (re.compile(r"\\(?:infinity)(?![a-zA-Z])"), r"\\infty"),
    (re.compile(r"\\(?:displaystyle|textstyle|scriptstyle|mathstrut|limits|nolimits)(?![a-zA-Z])"), ""),
    (re.compile(r"\\(?:dots|ldots|cdots)(?![a-zA-Z])"), r"\\dots"),
)


def _unwrap_text(s: str) -> str:
    r"""Unwrap \text{..}-like commands. A trailing word phrase after math content (a unit or noun such as
    `575\text{ students}`) is dropped; `\text{ and }` between items becomes a comma; other text is kept bare."""
    out: list[str] = []
    pos = 0
    partners = brace_partners(s) if "{" in s else {}
    for _ in range(64):
        m = _CMD_TEXT.search(s, pos)
        if not m:
            break
        close = partners.get(m.end() - 1, -1)
        if close < 0:
            break
        inner = s[m.end() : close]
        before = "".join(out) + s[pos : m.start()]
        rest = s[close + 1 :]
        has_math_before = bool(before.strip()) and not before.strip().endswith(("(", "[", ","))
        if _TEXT_CONNECTOR.match(inner) and has_math_before and rest.strip():
            inner = ","
        elif (
            has_math_before
            and re.fullmatch(r"\s*[A-Za-z][A-Za-z .'\-/]*", inner)
            and not re.match(r"\s*(?:or|and)\b", inner)
            and re.fullmatch(r"\s*(?:\^\s*\{?\d\}?)?\s*\.?\s*", rest)
        ):
            # trailing unit/noun: "18\text{ ways.}", "440\text{ cm}^2"
            out.append(s[pos : m.start()])
            pos = len(s)
            break
        out.append(s[pos : m.start()])
        out.append(inner)
        pos = close + 1
    out.append(s[pos:])
    return "".join(out)


def _strip_delimiters(s: str) -> str:
    s = s.strip()
    for _ in range(4):
        before = s
        if s.startswith("$$") and s.endswith("$$") and len(s) >= 4:
            s = s[2:-2].strip()
        elif s.startswith("$") and s.endswith("$") and len(s) >= 2 and not s.startswith("\\$"):
            s = s[1:-1].strip()
        elif (s.startswith("\\(") and s.endswith("\\)")) or (s.startswith("\\[") and s.endswith("\\]")):
            s = s[2:-2].strip()
        if s == before:
            break
    return s


def _strip_outer_braces(s: str) -> str:
    if not s.startswith("{"):
        return s
    partners = brace_partners(s)  # one pass, then peel layer after layer by index (linear in nesting)
    lo, hi = 0, len(s) - 1
    while lo < hi and s[lo] == "{" and partners.get(lo) == hi:
        lo += 1
        hi -= 1
        while lo <= hi and s[lo].isspace():
            lo += 1
        while hi >= lo and s[hi].isspace():
            hi -= 1
    return s[lo : hi + 1]


def normalize(answer: str, *, keep_lhs: bool = False) -> str:
    """Normalize a final answer (already extracted) to a canonical string. `keep_lhs` keeps a leading `y =`
    (compare.py retries with it against a gold that is an equation). Short answers are cached: golds repeat
    across a GRPO group and verification normalizes the same strings several times."""
    if len(answer) <= NORMALIZE_CACHE_CHARS:  # 4096 entries of bounded length: bounded memory
        return _normalize_cached(answer, keep_lhs)
    return _normalize(answer, keep_lhs)


@lru_cache(maxsize=4096)
def _normalize_cached(answer: str, keep_lhs: bool) -> str:
    return _normalize(answer, keep_lhs)


def _normalize(answer: str, keep_lhs: bool) -> str:
    s = answer
    for k, v in _UNICODE.items():
        if k in s:
            s = s.replace(k, v)
    s = _strip_delimiters(s)
    if "\\begin{cases}" in s:
        # a system written as cases is the list of its lines (`x=1 \\ y=2` → `x=1, y=2`); `&` aligns only
        s = _CASES.sub(lambda m: ", ".join(r.replace("&", " ") for r in m.group(1).split("\\\\") if r.strip()), s)
    s = _THOUSANDS_BRACE.sub("", s)
    s = _THOUSANDS_BANG.sub("", s)
    s = _THOUSANDS_THIN.sub("", s)
    s = _SPACING.sub(" ", s)
    s = _SIZERS.sub("", s)
    for pat, rep in _ALIASES:
        s = pat.sub(rep, s)
    s = s.replace("\\{,\\}", "")
    s = s.replace("{,}", ",")
    s = _unwrap_text(s)
    if "\\sin" in s or "\\cos" in s or "\\tan" in s or "\\cot" in s or "\\sec" in s or "\\csc" in s:
        s = _TRIG_DEGREES.sub(lambda m: m.group(1) + "\\frac{" + m.group(2) + "\\pi}{180}", s)
    s = _DEGREES.sub("", s)
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace("\\$", "").replace("$", "")
    s = _FRAC_CMD.sub(r"\\frac", s)
    s = _strip_outer_braces(s.strip())
    for _ in range(3):
        new = _FRAC_SHORT.sub(_frac_fix, s)
        if new == s:
            break
        s = new
    s = _SQRT_SHORT.sub(r"\\sqrt{\1}", s)
    s = _WS.sub(" ", s).strip()
    if not keep_lhs:
        s = _LEADING_VAR.sub("", s)
    # units after a number / closing group; repeated once for "cm^2."
    s = s.rstrip(" .")
    s = _UNIT_TAIL.sub("", s).rstrip(" .")
    s = re.sub(r"\\?\s*$", "", s) if s.endswith("\\") else s
    s = _strip_outer_braces(s.strip())
    s = _LEADING_DOT.sub("0.", s)
    s = _WS_DROP.sub("", s)
    return s


def _frac_fix(m: re.Match[str]) -> str:
    a, b = m.group(1), m.group(2)
    if not a.startswith("{"):
        a = "{" + a + "}"
    if not b.startswith("{"):
        b = "{" + b + "}"
    return "\\frac" + a + b
