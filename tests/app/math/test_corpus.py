"""The 5,000 MATH test golds (tests/data/README.md): parse rate, self-equivalence through an R1 completion, and
no false positive against a perturbed variant. Rates are printed (pytest -s) and asserted."""

import asyncio
import json
import re
from pathlib import Path

import pytest

from app.math import MathWorkerPool, extract_answer, verify
from app.math.normalize import normalize
from app.math.parse import Unparsed, parse_answer

DATA = Path(__file__).resolve().parents[2] / "data" / "math_test_gold_answers.jsonl"
R1 = "<think>\nLet me work it out step by step.\n</think>\n<answer>\nThe answer is \\boxed{%s}\n</answer>"


def _rows():
    return [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


def _answer_block(completion: str) -> str:
    m = re.search(r"<answer>(.*)</answer>", completion, re.S)
    assert m
    return m.group(1)


_DIGITS = re.compile(r"\d+")
_LETTER = re.compile(r"\b([A-E])\b")


def perturb(gold: str) -> str:
    """A variant that must NOT verify: the first number changed, else an option letter, else a term added."""
    m = _DIGITS.search(gold)
    if m:
        return gold[: m.start()] + str(int(m.group(0)) + 1) + gold[m.end() :]
    m = _LETTER.search(gold)
    if m:
        other = "B" if m.group(1) != "B" else "C"
        return gold[: m.start()] + other + gold[m.end() :]
    if "\\text{" in gold:
        return gold.replace("\\text{", "\\text{not ", 1)
    return gold + "+1"


@pytest.fixture(scope="module")
def rows():
    return _rows()


def test_corpus_is_complete(rows):
    assert len(rows) == 5000


def test_golds_parse_into_structured_values(rows):
    golds = [g for r in rows for g in r["answers"]]
    unparsed = [g for g in golds if isinstance(parse_answer(normalize(g)), Unparsed)]
    rate = 1 - len(unparsed) / len(golds)
    print(f"\nstructured parse rate: {rate:.4%} ({len(golds) - len(unparsed)}/{len(golds)}); unparsed: {unparsed}")
    assert rate > 0.98


def test_every_gold_verifies_as_itself_and_through_an_r1_completion(rows):
    failures = []
    total = 0
    for r in rows:
        golds = tuple(r["answers"])
        for g in golds:
            total += 1
            if not verify(golds, g).correct:
                failures.append(("self", g))
                continue
            ext = extract_answer(_answer_block(R1 % g))
            if ext.answer is None or not verify(golds, ext.answer).correct:
                failures.append(("r1", g, ext))
    rate = 1 - len(failures) / total
    print(f"\nself-equivalence (plain and R1-wrapped): {rate:.4%} of {total}; failures: {failures[:20]}")
    assert rate >= 0.998


def test_perturbed_golds_do_not_verify(rows):
    pairs, _shown = [], []
    for r in rows:
        golds = tuple(r["answers"])
        for g in golds:
            variant = perturb(g)
            if normalize(variant) != normalize(g):
                pairs.append((golds, variant))

    async def run():
        async with MathWorkerPool(workers=2, timeout_s=5.0, cache_size=0) as pool:
            return await pool.verify_many(pairs)

    verdicts = asyncio.run(run())
    false_pos = [(p, v) for p, v in zip(pairs, verdicts) if v.correct]
    timeouts = sum(v.status != "ok" for v in verdicts)
    print(
        f"\nperturbed variants: {len(pairs)}, false positives: {len(false_pos)}, not ok: {timeouts}; {false_pos[:10]}"
    )
    assert len(false_pos) / len(pairs) < 1 / 5000
    assert timeouts <= 5
