"""Math half of the accuracy reward: extract the final answer in the event loop (cheap string scanning),
verify (gold, answer) pairs in the math worker pool, which dedups, caches and enforces the deadline."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from app.math import MathWorkerPool, extract_answer
from app.rewards.base import Component, MathReference, ScoringItem


class MathAccuracy:
    def __init__(self, pool: MathWorkerPool, observe_stage: Callable[[str, float], None] | None = None) -> None:
        self._pool = pool
        # (stage, seconds) for the metrics' "math" latency histogram: one observation per batch verification.
        self._observe_stage = observe_stage

    async def score(self, items: Sequence[ScoringItem]) -> list[Component]:
        results: list[Component | None] = [None] * len(items)
        pending: list[tuple[int, tuple[str, ...], str]] = []
        for i, item in enumerate(items):
            assert isinstance(item.reference, MathReference)
            gold = item.reference.answers
            extraction = extract_answer(item.parsed.answer_or_text)
            if extraction.answer is None:
                # The model's fault, not ours: a legitimate 0 with the reason, status stays ok.
                results[i] = Component(
                    0.0,
                    reason=extraction.reason or "no final answer found",
                    details={"extracted": None, "gold": gold[0]},
                )
            else:
                pending.append((i, gold, extraction.answer))
        if pending:
            started = time.perf_counter()
            verdicts = await self._pool.verify_many([(gold, answer) for _, gold, answer in pending])
            if self._observe_stage is not None:
                self._observe_stage("math", time.perf_counter() - started)
            for (i, gold, answer), verdict in zip(pending, verdicts):
                details = {"extracted": answer, "gold": gold[0] if len(gold) == 1 else list(gold)}
                if verdict.status != "ok":
                    results[i] = Component.failed(verdict.status, verdict.reason or verdict.status, **details)
                else:
                    details["method"] = verdict.method
                    results[i] = Component(1.0 if verdict.correct else 0.0, details=details)
        return [r for r in results if r is not None]
