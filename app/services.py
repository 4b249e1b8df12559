"""Everything the service builds at start-up and tears down at shutdown, in one place.

`Services.start(settings)` is the only code that creates pools; the app factory's lifespan and the offline
scorer both use it, so both score with the same code paths.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.admission import Admission
from app.api.schemas import Readiness
from app.completion import TagConfig
from app.config import Settings
from app.math import MathWorkerPool
from app.rewards.pipeline import Pipeline, ScoringObserver
from app.rewards.registry import build_rewards
from app.sandbox_runtime import SandboxRuntime

log = logging.getLogger("arbiter.services")


@dataclass
class Services:
    settings: Settings
    tags: TagConfig
    math: MathWorkerPool
    sandbox: SandboxRuntime
    pipeline: Pipeline

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        admission: Admission | None = None,
        observers: Sequence[ScoringObserver] = (),
        observe_stage: Callable[[str, float], None] | None = None,
    ) -> Services:
        """admission, observers, observe_stage: the HTTP app's backpressure, metrics and request logs (the
        offline scorer passes none of them)."""
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
            admission=admission,
            observers=observers,
        )
        return cls(settings=settings, tags=tags, math=math, sandbox=sandbox, pipeline=pipeline)

    async def close(self) -> None:
        await self.sandbox.close()
        await self.math.close()

    def readiness(self) -> Readiness:
        sandbox = self.sandbox.status()
        math = {"workers": self.settings.math.workers, "timeout_s": self.settings.math.timeout_s}
        return Readiness(ready=bool(sandbox["ready"]), math=math, sandbox=sandbox)
