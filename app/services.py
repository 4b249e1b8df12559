"""Everything the service builds at start-up and tears down at shutdown, in one place.

`Services.start(settings)` is the only code that creates pools; the app factory's lifespan and the offline
scorer both use it, so both score with the same code paths (the same intake, the same pipeline). It is the top
of the scoring layer: it knows nothing of HTTP (backpressure, auth and the response shapes are the HTTP layer's).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.completion import TagConfig
from app.config import Settings
from app.intake import Intake, IntakeLimits
from app.math import MathWorkerPool
from app.rewards.pipeline import Pipeline, ScoringObserver
from app.rewards.registry import build_rewards
from app.sandbox_runtime import SandboxRuntime

log = logging.getLogger("arbiter.services")


@dataclass
class Services:
    settings: Settings
    tags: TagConfig
    intake: Intake
    math: MathWorkerPool
    sandbox: SandboxRuntime
    pipeline: Pipeline

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        observers: Sequence[ScoringObserver] = (),
        observe_stage: Callable[[str, float], None] | None = None,
    ) -> Services:
        """observers, observe_stage: the HTTP app's metrics and request logs (the offline scorer passes none)."""
        tags = TagConfig(think=settings.format.think_tag, answer=settings.format.answer_tag, mode=settings.format.mode)
        math = MathWorkerPool(
            workers=settings.math.workers,
            timeout_s=settings.math.timeout_s,
            cache_size=settings.math.cache_size,
            max_items=settings.math.worker_max_items,
            max_rss_mb=settings.math.worker_max_rss_mb,
        )
        await math.start()
        sandbox = SandboxRuntime(settings.sandbox, observe_stage)
        try:
            await sandbox.start()
        except BaseException:
            await math.close()
            raise
        pipeline = Pipeline(
            build_rewards(tags=tags, math=math, sandbox=sandbox, settings=settings, observe_stage=observe_stage),
            deadline_s=settings.request_deadline_s,
            observers=observers,
        )
        intake = Intake(
            tags, IntakeLimits(max_items=settings.max_items, max_completion_chars=settings.max_completion_chars)
        )
        # sympy, latex2sympy2 and the app are ~140k long-lived objects: every full collection re-scanned them
        # (100+ ms inside a request on a loaded machine: the p99 of issue 17); frozen, it scans what requests made
        gc.collect()  # (the garbage of start-up is freed first, not frozen)
        gc.freeze()
        return cls(settings=settings, tags=tags, intake=intake, math=math, sandbox=sandbox, pipeline=pipeline)

    async def close(self) -> None:
        await self.sandbox.close()
        await self.math.close()

    def readiness(self) -> tuple[bool, dict[str, Any], dict[str, Any]]:
        """(ready, math status, sandbox status): ready when a sandbox can run code (math always can)."""
        sandbox = self.sandbox.status()
        math = {"workers": self.settings.math.workers, "timeout_s": self.settings.math.timeout_s}
        return bool(sandbox["ready"]), math, sandbox
