"""Language-consistency reward of DeepSeek-R1 (arXiv:2501.12948, §2.3.3).

R1-Zero's reasoning mixed languages; R1 added "the proportion of target language words in the CoT":

    language = target_words / words            (0 when the reasoning has no words)

over the reasoning (the think block; the whole completion, tags removed, when there is no think block).

Words are counted across scripts: a run of letters of an alphabetic script (Latin, Cyrillic, Greek, Arabic,
Hebrew, Devanagari, Thai, Hangul) is one word; a Han or kana character is one word each, since Chinese and
Japanese do not separate words. Code (fenced blocks, `inline`) and math (`$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]`,
`\\begin{env}…\\end{env}`) are removed first: `x`, `\\frac` or `print` are neither English nor Chinese, and a
proof should not lose language reward for its formulas. Digits and punctuation are not words.

A target language is known by its script (`en`, `fr`, … → Latin; `zh` → Han; `ja` → kana + Han; `ko` → Hangul;
…, see TARGET_SCRIPTS). Latin-script languages are therefore not told apart from each other: the failure R1
fixed is a mix of scripts (Chinese in English reasoning and back), which this catches exactly. Telling English
from French per word needs a statistical detector, and those were measured too slow for a reward that runs on
every completion:

Detection speed (bench/language_detection.py; this project's 2-core machine; a 2.6 kB mixed English/Chinese
reasoning with code and math, 378 words; median per completion):

    one compiled regex per script, len(findall)  (chosen)    ~180 us   ~5,500 completions/s
    one alternation, a named group per script, finditer      ~225 us   ~4,400 completions/s
    per character, bisect over script ranges                 ~355 us   ~2,800 completions/s
    per character, unicodedata.name                          ~375 us   ~2,700 completions/s
    langdetect 1.0.9 on the whole text (one label, no share) ~3.2 ms     ~310 completions/s
    langdetect per word (what the formula needs)             ~670 ms       ~2 completions/s, and wrong:
                                                             it labelled 96 of 246 English words English
    removing code and math spans first                        ~23 us

The target comes from the item (`target_language` in the request item) or else from the `target` parameter.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from app.rewards.base import Component, RewardParams, ScoringItem

Script = Literal["latin", "cyrillic", "greek", "arabic", "hebrew", "devanagari", "thai", "hangul", "han", "kana"]

_LATIN_LANGUAGES = (
    "en",
    "fr",
    "de",
    "es",
    "it",
    "pt",
    "nl",
    "sv",
    "da",
    "no",
    "fi",
    "pl",
    "cs",
    "sk",
    "ro",
    "hu",
    "tr",
    "vi",
    "id",
    "ms",
    "ca",
    "hr",
    "sl",
    "et",
    "lv",
    "lt",
    "sw",
    "tl",
)
TARGET_SCRIPTS: dict[str, frozenset[str]] = {
    **{code: frozenset({"latin"}) for code in _LATIN_LANGUAGES},
    **{code: frozenset({"cyrillic"}) for code in ("ru", "uk", "bg", "sr", "kk", "be", "mk")},
    "el": frozenset({"greek"}),
    **{code: frozenset({"arabic"}) for code in ("ar", "fa", "ur")},
    "he": frozenset({"hebrew"}),
    **{code: frozenset({"devanagari"}) for code in ("hi", "mr", "ne")},
    "th": frozenset({"thai"}),
    "ko": frozenset({"hangul"}),
    "zh": frozenset({"han"}),
    # Japanese writes with kana and kanji (Han): both count as Japanese.
    "ja": frozenset({"kana", "han"}),
}

_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
#: Word pattern of each script. Han and kana match one character at a time (one word each); alphabetic
#: scripts match whole runs.
SCRIPT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("latin", rf"[{_LATIN}]+(?:['\u2019-][{_LATIN}]+)*"),
    ("cyrillic", r"[\u0400-\u052f]+"),
    ("greek", r"[\u0370-\u03ff\u1f00-\u1fff]+"),
    ("arabic", r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]+"),
    ("hebrew", r"[\u0590-\u05ff]+"),
    ("devanagari", r"[\u0900-\u097f]+"),
    ("thai", r"[\u0e00-\u0e7f]+"),
    ("hangul", r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]+"),
    ("han", r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]"),
    ("kana", r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]"),
)
# One compiled pattern per script, each counted with one findall: a C-level scan per script, no match objects
# (measured faster than one alternation with a named group per script, see the module docstring).
_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(p)) for name, p in SCRIPT_PATTERNS)

# Spans that are neither language: fenced code (an unclosed fence runs to the end), inline code, display and
# inline math, LaTeX environments, tags. Display forms come before inline ones so `$$` is not read as two `$`.
_EXCLUDED = re.compile(
    r"```.*?(?:```|\Z)"
    r"|`[^`\n]+`"
    r"|\$\$.+?\$\$"
    r"|\\\[.+?\\\]"
    r"|\\\(.+?\\\)"
    r"|\\begin\{([A-Za-z*]+)\}.*?\\end\{\1\}"
    r"|\$[^$\n]+\$"
    # Tags (<think>, <answer>, HTML) when the whole completion is read: markup, not words.
    r"|</?[A-Za-z][\w:-]*\s*/?>",
    re.DOTALL,
)


def count_words(text: str) -> Counter[str]:
    """Words per script in `text`, code and math spans excluded."""
    prose = _EXCLUDED.sub(" ", text)
    counts: Counter[str] = Counter()
    for name, pattern in _SCRIPTS:
        found = len(pattern.findall(prose))
        if found:
            counts[name] = found
    return counts


class LanguageParams(RewardParams):
    target: str = Field(
        "en",
        description="Target language (ISO 639-1 code, e.g. en, zh, ja) when the item sets no target_language.",
    )

    @field_validator("target")
    @classmethod
    def _known(cls, value: str) -> str:
        return _check_target(value)


def _check_target(value: str) -> str:
    code = value.strip().lower()
    if code not in TARGET_SCRIPTS:
        raise ValueError(f"unsupported language {value!r}; supported: {', '.join(sorted(TARGET_SCRIPTS))}")
    return code


class LanguageReward:
    name: ClassVar[str] = "language"
    description: ClassVar[str] = (
        "DeepSeek-R1 language consistency: share of the reasoning's words (think block; code and math excluded; "
        "one word per CJK character) written in the target language's script."
    )
    Params: ClassVar[type[RewardParams]] = LanguageParams

    async def score(self, items: Sequence[ScoringItem], params: RewardParams) -> list[Component]:
        assert isinstance(params, LanguageParams)
        return [self._one(item, params.target) for item in items]

    def _one(self, item: ScoringItem, default_target: str) -> Component:
        raw_target = item.extra.get("target_language")
        if raw_target is None:
            target = default_target
        else:
            try:
                target = _check_target(str(raw_target))
            except ValueError as exc:
                return Component.failed("error", f"target_language: {exc}")
        scope, text = item.parsed.reasoning
        counts = count_words(text)
        words = sum(counts.values())
        in_target = sum(n for script, n in counts.items() if script in TARGET_SCRIPTS[target])
        details = {"target": target, "scope": scope, "words": words, "target_words": in_target, "scripts": dict(counts)}
        if words == 0:
            # 0, not 1: a reasoning of bare formulas must not out-score one written in the target language.
            return Component(0.0, reason=f"no words in the {scope} (code and math are not counted)", details=details)
        return Component(in_target / words, details=details)
