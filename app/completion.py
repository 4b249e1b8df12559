"""Parse a completion once: the reasoning block, the answer block, whether the R1 template is respected, and
the fenced code blocks. Pure functions over strings; every reward reads the ParsedCompletion made here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, NamedTuple

FormatMode = Literal["strict", "lenient"]


@dataclass(frozen=True, slots=True)
class TagConfig:
    think: str = "think"
    answer: str = "answer"
    mode: FormatMode = "strict"


@dataclass(frozen=True, slots=True)
class CodeBlock:
    language: str  # lower-cased fence info string ("python", "cpp", ...), "" when unlabeled
    code: str


@dataclass(frozen=True, slots=True)
class ParsedCompletion:
    text: str
    think: str | None
    #: Content of the one answer block when there is exactly one, else None.
    answer: str | None
    well_formed: bool
    #: Why the template is not respected; None when well_formed.
    format_reason: str | None

    @property
    def answer_or_text(self) -> str:
        """What accuracy rewards read: the answer block when present, else the whole completion."""
        return self.answer if self.answer is not None else self.text

    @property
    def reasoning(self) -> tuple[Literal["think", "completion"], str]:
        """What reasoning rewards read, and where it came from: the think block when present, else the whole
        completion (so a completion without the template is judged on all it wrote)."""
        return ("think", self.think) if self.think is not None else ("completion", self.text)


class _Tag(NamedTuple):
    # a tuple, not a frozen dataclass: four per completion, built on the request's serial path
    pos: int
    end: int
    name: str
    closing: bool


@lru_cache(maxsize=16)
def _tag_pattern(think: str, answer: str) -> re.Pattern[str]:
    names = "|".join(re.escape(name) for name in (think, answer))
    return re.compile(rf"<(/?)({names})\s*>", re.IGNORECASE)


DEFAULT_TAGS = TagConfig()


def parse_completion(text: str, tags: TagConfig = DEFAULT_TAGS) -> ParsedCompletion:
    think_name, answer_name = tags.think.lower(), tags.answer.lower()
    found: list[_Tag] = []
    #: the tags of each (name, closing), in order of appearance
    by_kind: dict[tuple[str, bool], list[_Tag]] = {
        (think_name, False): [],
        (think_name, True): [],
        (answer_name, False): [],
        (answer_name, True): [],
    }
    for m in _tag_pattern(tags.think, tags.answer).finditer(text):
        tag = _Tag(m.start(), m.end(), m.group(2).lower(), bool(m.group(1)))
        found.append(tag)
        # setdefault: under IGNORECASE U+017F (long s) matches `s`, and its lower() is itself: a tag named like
        # neither name is a stray tag, as before
        by_kind.setdefault((tag.name, tag.closing), []).append(tag)
    answer = _single_block(text, by_kind, answer_name)
    think = _single_block(text, by_kind, think_name)
    reason = _format_problem(text, found, by_kind, tags, think_name, answer_name, answer)
    return ParsedCompletion(text=text, think=think, answer=answer, well_formed=reason is None, format_reason=reason)


def _single_block(text: str, by_kind: dict[tuple[str, bool], list[_Tag]], name: str) -> str | None:
    opens, closes = by_kind[(name, False)], by_kind[(name, True)]
    if len(opens) == 1 and len(closes) == 1 and opens[0].end <= closes[0].pos:
        return text[opens[0].end : closes[0].pos].strip()
    return None


def _format_problem(
    text: str,
    found: list[_Tag],
    by_kind: dict[tuple[str, bool], list[_Tag]],
    tags: TagConfig,
    think: str,
    answer: str,
    answer_text: str | None,
) -> str | None:
    for name in (think, answer):
        opens, closes = len(by_kind[(name, False)]), len(by_kind[(name, True)])
        if opens == 0 and closes == 0:
            return f"missing <{name}> block"
        if opens > 1 or closes > 1:
            return f"<{name}> block appears more than once"
        if opens != closes:
            return f"<{name}> block is not closed" if opens > closes else f"</{name}> without an opening <{name}>"
    # Exactly four tags remain; the only valid sequence is think, /think, answer, /answer.
    order = [(t.name, t.closing) for t in found]
    expected = [(think, False), (think, True), (answer, False), (answer, True)]
    if order != expected:
        if order[0] == (answer, False) and order[1] == (answer, True):
            return f"<{answer}> comes before <{think}>"
        return "tags are nested or out of order"
    if not answer_text:
        return f"<{answer}> block is empty"
    if tags.mode == "strict":
        outside = text[: found[0].pos] + text[found[1].end : found[2].pos] + text[found[3].end :]
        if outside.strip():
            return "text outside the think and answer blocks (strict mode)"
    return None


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+#.-]*)[^\n]*\n(.*?)```", re.DOTALL)

# Fence labels trainers' models actually emit, mapped to the language names of code references.
_LANGUAGE_ALIASES = {
    "py": "python",
    "python3": "python",
    "c++": "cpp",
    "cc": "cpp",
    "cxx": "cpp",
    "js": "javascript",
    "node": "javascript",
    "golang": "go",
    "rs": "rust",
}


def code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced block, in order of appearance, with its language label normalized."""
    blocks = []
    for m in _FENCE.finditer(text):
        label = m.group(1).lower()
        blocks.append(CodeBlock(language=_LANGUAGE_ALIASES.get(label, label), code=m.group(2)))
    return blocks


def select_program(parsed: ParsedCompletion, language: str) -> CodeBlock | None:
    """The program to run: the last block labelled with the item's language, else the last unlabeled block.

    Reads the answer block when there is one (the R1 template puts the final program there), else the
    whole completion, so that code drafted in the reasoning is never run in place of the final answer.
    """
    blocks = code_blocks(parsed.answer_or_text)
    for wanted in (language, ""):
        matching = [b for b in blocks if b.language == wanted]
        if matching:
            return matching[-1]
    return None
