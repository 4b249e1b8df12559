"""Math half of the accuracy reward: extract the final answer in the event loop (linear string scanning),
verify (gold, answer) pairs in the math worker pool, which dedups, caches and enforces the deadline.

Per-item options travel in `ScoringItem.extra` (app/intake.py): `math_choices` (the item's
`reference.choices`) and `math_options` (`reference.math_options`); they become the item's VerifyConfig.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from app.math import DEFAULT_CONFIG, MathWorkerPool, Verdict, VerifyConfig, extract_answer
from app.math.choices import choice_letter
from app.rewards.base import Component, MathReference, ScoringItem

#: above this many characters of completions in a batch, extraction runs in a thread, not on the event loop
THREAD_CHARS = 64_000
#: items extracted before their pairs go to the worker pool: the workers verify one slice while the next one
#: is extracted, instead of idling until the whole batch is
SLICE_ITEMS = 128
_Pending = tuple[int, tuple[str, ...], str | tuple[str, ...], VerifyConfig]


def _config_of(item: ScoringItem) -> VerifyConfig:
    choices = item.extra.get("math_choices")
    options: dict[str, Any] = item.extra.get("math_options") or {}
    if not choices and not options:
        return DEFAULT_CONFIG
    return VerifyConfig(
        percent_as_fraction=bool(options.get("percent_as_fraction", False)),
        rel_tol=float(options.get("rel_tol", 0.0)),
        integer_only=bool(options.get("integer_only", False)),
        choices=tuple(choices or ()),
    )


class MathAccuracy:
    def __init__(self, pool: MathWorkerPool, observe_stage: Callable[[str, float], None] | None = None) -> None:
        self._pool = pool
        # (stage, seconds) for the metrics' "math" latency histogram: one observation per batch verification.
        self._observe_stage = observe_stage

    @staticmethod
    def _extract(items: Sequence[ScoringItem]) -> tuple[list[Component | None], list[_Pending]]:
        results: list[Component | None] = [None] * len(items)
        pending: list[_Pending] = []
        for i, item in enumerate(items):
            assert isinstance(item.reference, MathReference)
            gold = item.reference.answers
            config = _config_of(item)
            text = item.parsed.answer_or_text
            extraction = extract_answer(text)
            answer: str | tuple[str, ...] | None = extraction.answer
            if config.choices and (not isinstance(answer, str) or choice_letter(answer, config.choices) is None):
                # "I think the correct answer is C": the option named in prose when no box names one
                letter = choice_letter(text, config.choices)
                answer = letter if letter is not None else answer
            if answer is None and extraction.candidates and not config.choices:
                answer = extraction.candidates  # several boxes: right only if they are exactly the gold's values
            if answer is None:
                # The model's fault, not ours: a legitimate 0 with the reason, status stays ok.
                results[i] = Component(
                    0.0,
                    reason=extraction.reason or "no final answer found",
                    details={"extracted": None, "gold": gold[0]},
                )
            else:
                pending.append((i, gold, answer, config))
        return results, pending

    async def score(self, items: Sequence[ScoringItem]) -> list[Component]:
        off_loop = sum(len(item.parsed.answer_or_text) for item in items) > THREAD_CHARS
        results: list[Component | None] = []
        pending: list[_Pending] = []
        calls: list[asyncio.Future[list[Verdict]]] = []
        started = time.perf_counter()
        try:
            for start in range(0, len(items), SLICE_ITEMS):
                part = items[start : start + SLICE_ITEMS]
                if off_loop:
                    # linear, but 100 kB completions times a batch is long enough to stall /healthz: off the loop
                    part_results, part_pending = await asyncio.to_thread(self._extract, part)
                else:
                    part_results, part_pending = self._extract(part)
                results += part_results
                if not part_pending:
                    continue
                part_pending = [(start + i, gold, answer, config) for i, gold, answer, config in part_pending]
                pending += part_pending
                pairs = [(gold, answer) for _, gold, answer, _ in part_pending]
                calls.append(
                    asyncio.ensure_future(self._pool.verify_many(pairs, configs=[c for *_, c in part_pending]))
                )
                if start + SLICE_ITEMS < len(items):
                    # the workers start on this slice while the next one is extracted: one turn of the loop runs
                    # the call's fast path and queues the rest, the next lets an idle worker slot send it
                    await asyncio.sleep(0)
                    await asyncio.sleep(0)
            verdicts = [v for part_verdicts in await asyncio.gather(*calls) for v in part_verdicts]
        finally:
            for call in calls:
                if not call.done():  # this call was cancelled or failed: its slices' calls go with it
                    call.cancel()  # (verify_many never cancels the futures that concurrent calls share)
        if calls:
            if self._observe_stage is not None:
                self._observe_stage("math", time.perf_counter() - started)
            for (i, gold, answer, _), verdict in zip(pending, verdicts):
                shown: str | list[str] = answer if isinstance(answer, str) else list(answer)
                details: dict[str, Any] = {"extracted": shown, "gold": gold[0] if len(gold) == 1 else list(gold)}
                if verdict.status != "ok":
                    status: Literal["timeout", "error"] = "timeout" if verdict.status == "timeout" else "error"
                    results[i] = Component.failed(status, verdict.reason or verdict.status, **details)
                else:
                    details["method"] = verdict.method
                    hedged = not verdict.correct and (verdict.reason or "").startswith("hedged")
                    results[i] = Component(
                        1.0 if verdict.correct else 0.0, reason=verdict.reason if hedged else None, details=details
                    )
        return [r for r in results if r is not None]
