r"""Multiple-choice answers: which option a text names, given the item's `reference.choices`.

`choices` are the option letters (`["A", "B", "C", "D"]`) or the option texts (`["12", "15", "18", "21"]`,
lettered A, B, … in order). A text names an option by
- its letter alone or decorated: `C`, `(C)`, `\text{(C)}`, `C.`, `C)`, `**C**`;
- a leading letter then its text: `D. it can't be A or B`, `(D) Alina` (the first letter is the choice);
- a phrase: "the answer is C", "I think the correct answer is (B)", "option C", "choice C";
- the option's text itself (`15`, compared after normalization).
Naming more than one option (`A or B`, `A, C`, a letter and a different option text) is a hedge: None.
Linear in the text: regexes without nested quantifiers over a bounded prefix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.math.normalize import normalize

MAX_CHOICE_TEXT = 4000
_LETTER_ONLY = re.compile(r"[\s*(\[{]*(?:\\text(?:bf)?\{\s*)?\(?([A-Z])\)?(?:\s*\})?[\s*)\].:]*")
_LEADING = re.compile(r"\s*(?:\*\*)?\(?([A-Z])(?:\)|\.|:)(?:\*\*)?\s+\S")
_PHRASE = re.compile(
    r"(?:answer\s*(?:is|:)|option|choice)\s*(?:is\s*)?:?\s*(?:\*\*)?\s*(?:\\text\{\s*)?\(?([A-Z])\)?(?![A-Za-z])",
    re.I,
)
_STANDALONE = re.compile(r"(?<![A-Za-z\\])\(?([A-Z])\)?(?![A-Za-z])")


def letters_of(choices: Sequence[str]) -> tuple[str, ...]:
    """The option letters: the choices themselves when they are letters, else A, B, … in order."""
    if all(len(c.strip().strip("()")) == 1 and c.strip().strip("()").isalpha() for c in choices):
        return tuple(c.strip().strip("()").upper() for c in choices)
    return tuple(chr(ord("A") + k) for k in range(len(choices)))


def _text_options(choices: Sequence[str], letters: Sequence[str]) -> dict[str, str]:
    if letters == tuple(c.strip().strip("()").upper() for c in choices):
        return {}
    return {normalize(c): letter for c, letter in zip(choices, letters) if normalize(c)}


def choice_letter(text: str, choices: Sequence[str]) -> str | None:
    """The one option `text` names, or None (none, or more than one)."""
    letters = letters_of(choices)
    allowed = frozenset(letters)
    texts = _text_options(choices, letters)
    t = text[-MAX_CHOICE_TEXT:].strip()  # the choice is stated at the end of a long completion
    m = _LETTER_ONLY.fullmatch(t)
    if m and m.group(1) in allowed:
        return m.group(1)
    norm = normalize(t) if len(t) <= 500 else ""
    if norm in texts:
        return texts[norm]
    named = {g.group(1).upper() for g in _PHRASE.finditer(t)} & allowed
    if len(named) == 1:
        return next(iter(named))
    if len(named) > 1:
        return None
    # "A. 12" / "(C) Alina" / "D. it can't be A or B": a gold or an answer given as letter + text
    m = _LEADING.match(t)
    if m and m.group(1) in allowed:
        return m.group(1)
    standalone = {g.group(1) for g in _STANDALONE.finditer(t)} & allowed
    if len(standalone) == 1 and len(t) <= 200:
        return next(iter(standalone))
    return None
