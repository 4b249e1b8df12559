"""MathAccuracy sends a batch to the pool in slices (extraction of the next slice overlaps the workers): every
item's verdict must land on that item, whichever slice, fast path or worker decided it; and a fresh worker has
already paid sympy's and latex2sympy2's first-use costs when it reports ready."""

import subprocess
import sys

import pytest

from app.completion import parse_completion
from app.math import MathWorkerPool
from app.rewards.base import MathReference, ScoringItem
from app.rewards.math_accuracy import SLICE_ITEMS, MathAccuracy


def _item(k: int, gold: str, answer: str | None) -> ScoringItem:
    text = "no final answer here" if answer is None else f"<think>t</think><answer>\\boxed{{{answer}}}</answer>"
    return ScoringItem(index=k, id=str(k), parsed=parse_completion(text), task=None, reference=MathReference((gold,)))


@pytest.fixture
async def pool():
    p = MathWorkerPool(workers=2, timeout_s=5.0, cache_size=0)
    await p.start()
    try:
        yield p
    finally:
        await p.close()


async def test_verdicts_land_on_their_items_across_slices(pool):
    n = 2 * SLICE_ITEMS + 37  # three slices, the last one partial
    items, expected = [], []
    for k in range(n):
        if k % 11 == 0:  # no answer: decided during extraction, never sent
            items.append(_item(k, str(k), None))
            expected.append(0.0)
        elif k % 7 == 0:  # symbolic: a worker decides (right for even k, wrong for odd)
            items.append(_item(k, f"x+{k}", f"{k}+x" if k % 2 == 0 else f"{k + 1}+x"))
            expected.append(1.0 if k % 2 == 0 else 0.0)
        else:  # plain numbers: the pool's fast path decides in the service process
            items.append(_item(k, str(k), str(k) if k % 3 else str(k + 1)))
            expected.append(1.0 if k % 3 else 0.0)
    got = await MathAccuracy(pool).score(items)
    assert [c.value for c in got] == expected
    assert all(c.status == "ok" for c in got)
    assert [c.details["gold"] for c in got if c.details.get("extracted") is not None] == [
        it.reference.answers[0] for it in items if "boxed" in it.parsed.text
    ]


def test_warm_up_pays_the_lazy_imports_before_ready():
    # sympy imports sympy.physics.units on the first simplify (~200 ms): a worker must not pay it in a request
    code = (
        "import sys; from app.math.workers import _warm_up; "
        "assert 'sympy.physics.units' not in sys.modules; _warm_up(); "
        "assert 'sympy.physics.units' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
