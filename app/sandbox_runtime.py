"""The service's handle on the sandbox: chooses the backend from settings, starts the warm pool, and says why
code cannot run when no backend can. The only module of app/ that builds sandbox objects from settings."""

from __future__ import annotations

import logging
from typing import Any

from app.config import SandboxSettings
from sandbox import BackendUnavailable, PoolConfig, RunRequest, RunResult, SandboxPool, create_backend
from sandbox.errors import PoolClosed

log = logging.getLogger("arbiter.sandbox")


class SandboxUnavailable(Exception):
    """No isolation backend can run code on this server; the message says what to install or start."""


class SandboxRuntime:
    def __init__(self, settings: SandboxSettings) -> None:
        self._settings = settings
        self._pool: SandboxPool | None = None
        self._reason: str | None = "sandbox not started"

    @property
    def pool(self) -> SandboxPool | None:
        return self._pool

    async def start(self) -> None:
        s = self._settings
        try:
            backend = await create_backend(s.backend)
            pool = SandboxPool(
                backend,
                PoolConfig(size=s.workers, max_jobs_per_worker=s.jobs_per_worker, acquire_timeout_s=s.queue_timeout_s),
            )
            await pool.start()
        except BackendUnavailable as exc:
            # Math still works; code items report sandbox_unavailable with this reason and /readyz says so.
            self._reason = str(exc)
            log.warning("no sandbox backend can run code: %s", exc)
            return
        self._pool, self._reason = pool, None
        log.info("sandbox ready: backend %s, %d workers", backend.name, s.workers)

    async def run(self, request: RunRequest) -> RunResult:
        if self._pool is None:
            raise SandboxUnavailable(self._reason or "no sandbox backend")
        try:
            return await self._pool.run(request)
        except PoolClosed as exc:
            raise SandboxUnavailable(f"the sandbox pool is shutting down: {exc}") from None

    def status(self) -> dict[str, Any]:
        if self._pool is None:
            return {"ready": False, "backend": None, "reason": self._reason}
        stats = self._pool.stats()
        return {
            "ready": stats.ready,
            "backend": stats.backend,
            "size": stats.size,
            "idle": stats.idle,
            "busy": stats.busy,
            "starting": stats.starting,
            "recycled": stats.recycled,
            "reason": stats.reason,
        }

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
            self._reason = "sandbox closed"
