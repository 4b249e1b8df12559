"""How fast can the language reward classify the words of one reasoning? It runs on every completion.

Compares the chosen method (app.rewards.language.count_words: one compiled regex per script) with
other script classifiers written here for the comparison, and with langdetect when it is installed (it is not
a dependency: `pip install langdetect` in a scratch venv to include it). Every method sees the same text, with
code and math already removed, so only the classification is compared.

    python bench/language_detection.py [--runs 200]
"""

from __future__ import annotations

import argparse
import bisect
import importlib
import re
import statistics
import time
import unicodedata
from collections import Counter
from collections.abc import Callable

from app.rewards.language import _EXCLUDED, SCRIPT_PATTERNS, count_words

_PARAGRAPH = (
    "First, let me understand the problem. We need to find the number of integer solutions of the equation "
    "$x^2 + y^2 = 25$ with $x, y \\ge 0$. 我们可以逐一检查每个可能的值。 Let us enumerate: when $x = 0$, "
    "$y = 5$; when $x = 3$, $y = 4$. 所以一共有三个解。 Wait, I should double-check with code:\n"
    "```python\nprint(sum(1 for x in range(6) for y in range(6) if x*x + y*y == 25))\n```\n"
    "That gives 4 because $(4, 3)$ and $(5, 0)$ also count. Therefore the answer is \\boxed{4}.\n"
)
TEXT = _PARAGRAPH * 6  # ~2.6 kB, 378 words: a short R1-style reasoning

# Ranges for the per-character classifiers, from the same script table as the regex.
_RANGES: list[tuple[int, int, str]] = sorted(
    [
        (0x41, 0x5A, "latin"),
        (0x61, 0x7A, "latin"),
        (0xC0, 0x24F, "latin"),
        (0x1E00, 0x1EFF, "latin"),
        (0x400, 0x52F, "cyrillic"),
        (0x370, 0x3FF, "greek"),
        (0x1F00, 0x1FFF, "greek"),
        (0x600, 0x6FF, "arabic"),
        (0x590, 0x5FF, "hebrew"),
        (0x900, 0x97F, "devanagari"),
        (0xE00, 0xE7F, "thai"),
        (0xAC00, 0xD7AF, "hangul"),
        (0x4E00, 0x9FFF, "han"),
        (0x3400, 0x4DBF, "han"),
        (0x3040, 0x30FF, "kana"),
    ]
)
_STARTS = [r[0] for r in _RANGES]
_ONE_EACH = {"han", "kana"}


def _script_of(ch: str) -> str | None:
    code = ord(ch)
    i = bisect.bisect_right(_STARTS, code) - 1
    if i >= 0 and _RANGES[i][0] <= code <= _RANGES[i][1]:
        return _RANGES[i][2]
    return None


def _runs(scripts: list[str | None]) -> Counter[str]:
    counts: Counter[str] = Counter()
    previous: str | None = None
    for script in scripts:
        if script is not None and (script != previous or script in _ONE_EACH):
            counts[script] += 1
        previous = script
    return counts


def per_char_bisect(prose: str) -> Counter[str]:
    return _runs([_script_of(ch) for ch in prose])


_NAME_TO_SCRIPT = {
    "LATIN": "latin",
    "CYRILLIC": "cyrillic",
    "GREEK": "greek",
    "ARABIC": "arabic",
    "HEBREW": "hebrew",
    "DEVANAGARI": "devanagari",
    "THAI": "thai",
    "HANGUL": "hangul",
    "CJK": "han",
    "HIRAGANA": "hiragana",
    "KATAKANA": "kana",
}


def per_char_unicodedata(prose: str) -> Counter[str]:
    scripts = []
    for ch in prose:
        if not ch.isalpha():
            scripts.append(None)
            continue
        scripts.append(_NAME_TO_SCRIPT.get(unicodedata.name(ch, "?").split(" ", 1)[0]))
    return _runs(scripts)


_PER_SCRIPT = {name: re.compile(pattern) for name, pattern in SCRIPT_PATTERNS}


def one_regex_per_script(prose: str) -> Counter[str]:
    counts = Counter({name: len(p.findall(prose)) for name, p in _PER_SCRIPT.items()})
    return +counts  # drop zero counts, as the other methods never create them


_ALTERNATION = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in SCRIPT_PATTERNS))


def one_alternation(prose: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for match in _ALTERNATION.finditer(prose):
        counts[match.lastgroup or ""] += 1
    return counts


def _langdetect() -> list[tuple[str, Callable[[str], object]]]:
    try:
        langdetect = importlib.import_module("langdetect")
    except ModuleNotFoundError:
        return []
    langdetect.DetectorFactory.seed = 0

    def whole_text(prose: str) -> object:
        return langdetect.detect(prose)

    def per_word(prose: str) -> object:
        # What the formula needs: a language per word. langdetect raises on words it cannot place.
        counts: Counter[str] = Counter()
        for word in prose.split():
            try:
                counts[langdetect.detect(word)] += 1
            except langdetect.LangDetectException:
                counts["?"] += 1
        return counts

    return [("langdetect, whole text (no per-word share)", whole_text), ("langdetect, per word", per_word)]


def _median_us(fn: Callable[[str], object], text: str, runs: int) -> float:
    fn(text)  # warm caches (langdetect loads its profiles on first use)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    prose = _EXCLUDED.sub(" ", TEXT)
    methods: list[tuple[str, Callable[[str], object]]] = [
        ("chosen: one regex per script, len(findall)", one_regex_per_script),
        ("one alternation, named group per script", one_alternation),
        ("per character, bisect over ranges", per_char_bisect),
        ("per character, unicodedata.name", per_char_unicodedata),
        *_langdetect(),
    ]
    print(f"text: {len(TEXT)} chars, {len(prose)} after removing code/math; words: {dict(count_words(TEXT))}")
    print(
        f"{'removing code and math spans (_EXCLUDED.sub)':48s} {_median_us(lambda t: _EXCLUDED.sub(' ', t), TEXT, args.runs):10.1f} us"
    )
    print(f"{'whole count_words (removal + chosen)':48s} {_median_us(count_words, TEXT, args.runs):10.1f} us")
    for name, fn in methods:
        runs = args.runs if not name.startswith("langdetect, per") else max(3, args.runs // 50)
        us = _median_us(fn, prose, runs)
        result = fn(prose)
        # Per-character methods split "double-check" in two; the regex keeps hyphenated words whole.
        found = dict(result) if isinstance(result, Counter) else result
        print(f"{name:48s} {us:10.1f} us   {1e6 / us:10.0f} completions/s   {found}")


if __name__ == "__main__":
    main()
