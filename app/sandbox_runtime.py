"""The service's handle on the sandbox: chooses the backend from settings, starts the warm pool, and says why
code cannot run when no backend can. The only module of app/ that builds sandbox objects from settings."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from app.config import SandboxSettings
from sandbox import LANGUAGES, TEST_KINDS, PoolConfig, RunRequest, RunResult, SandboxError, SandboxPool, create_backend
from sandbox.backends.bwrap import BwrapConfig
from sandbox.backends.docker import DockerConfig
from sandbox.errors import PoolClosed

log = logging.getLogger("arbiter.sandbox")


# The sandbox's config objects from the settings: the only place they are built, so a test can hold the defaults
# of both sides together (tests/app/test_config.py).
def pool_config(s: SandboxSettings) -> PoolConfig:
    return PoolConfig(
        size=s.workers,
        max_jobs_per_worker=s.jobs_per_worker,
        acquire_timeout_s=s.queue_timeout_s,
        start_timeout_s=s.start_timeout_s,
        build_cache_bytes=s.build_cache_mb << 20,
    )


def docker_config(s: SandboxSettings) -> DockerConfig:
    return DockerConfig(
        image=s.image,
        instance=s.instance,
        memory_mb=s.container_memory_mb,
        pids_limit=s.container_pids,
        cpus=s.container_cpus,
        tmpfs_mb=s.tmpfs_mb,
    )


def bwrap_config(s: SandboxSettings) -> BwrapConfig:
    return BwrapConfig(tmpfs_mb=s.tmpfs_mb)


class SandboxUnavailable(Exception):
    """No isolation backend can run code on this server; the message says what to install or start."""


class SandboxRuntime:
    def __init__(self, settings: SandboxSettings, observe_stage: Callable[[str, float], None] | None = None) -> None:
        self._settings = settings
        self._observe_stage = observe_stage
        self._pool: SandboxPool | None = None
        self._reason: str | None = "sandbox not started"

    @property
    def pool(self) -> SandboxPool | None:
        return self._pool

    async def start(self) -> None:
        s = self._settings
        try:
            backend = await create_backend(s.backend, bwrap=bwrap_config(s), docker=docker_config(s))
        except SandboxError as exc:
            self._unavailable(exc)
            return
        pool = SandboxPool(backend, pool_config(s))
        try:
            await pool.start()
        except SandboxError as exc:
            await pool.close()
            self._unavailable(exc)
            return
        self._pool, self._reason = pool, None
        log.info("sandbox ready: backend %s, %d workers", backend.name, s.workers)
        try:
            toolchains = await pool.toolchains()  # once, so that /readyz lists the languages from the start
        except SandboxError as exc:
            log.warning("the sandbox did not report its toolchains: %s", exc)
        else:
            missing = [t.language for t in toolchains.values() if not t.available]
            if missing:
                log.warning("sandbox languages without a toolchain here: %s", ", ".join(missing))

    def _unavailable(self, exc: SandboxError) -> None:
        # Math still works; code items report sandbox_unavailable with this reason and /readyz says so.
        self._reason = str(exc)
        log.warning("no sandbox backend can run code: %s", exc)

    async def run(self, request: RunRequest) -> RunResult:
        if self._pool is None:
            raise SandboxUnavailable(self._reason or "no sandbox backend")
        started = time.perf_counter()
        try:
            result = await self._pool.run(request)
        except PoolClosed as exc:
            raise SandboxUnavailable(f"the sandbox pool is shutting down: {exc}") from None
        if self._observe_stage is not None:
            # Timed from here because sandbox/ knows nothing of app/ metrics: "run" is the tests' wall time as the
            # executor measured it; "queue wait" is the rest of the call, i.e. waiting for a free worker plus the
            # protocol round trip and any compilation.
            total = time.perf_counter() - started
            run = min(result.wall_s, total)
            self._observe_stage("sandbox_run", run)
            self._observe_stage("sandbox_queue_wait", total - run)
        return result

    async def languages(self) -> tuple[str | None, list[dict[str, Any]]]:
        """(backend, one row per language: name, status ok/error, toolchain version, test kinds, CPU multiplier,
        reason). A language whose toolchain the backend lacks, or every language while no sandbox runs, is
        status error with the reason (what to install or start)."""
        toolchains = None
        reason = self._reason or "no sandbox backend"
        if self._pool is not None:
            try:
                toolchains = await self._pool.toolchains()
            except SandboxError as exc:
                reason = f"the sandbox did not report its toolchains: {exc}"
        rows = []
        for name, lang in LANGUAGES.items():
            tool = toolchains.get(name) if toolchains is not None else None
            ok = tool is not None and tool.available
            rows.append(
                {
                    "name": name,
                    "status": "ok" if ok else "error",
                    "version": tool.version if tool is not None else None,
                    "test_kinds": [k for k in TEST_KINDS if k in lang.kinds],
                    "cpu_multiplier": self._settings.cpu_multipliers.get(name, lang.cpu_multiplier),
                    "reason": None if ok else (tool.reason if tool is not None else reason),
                }
            )
        return (self._pool.backend.name if self._pool is not None else None), rows

    def status(self) -> dict[str, Any]:
        if self._pool is None:
            return {"ready": False, "backend": None, "reason": self._reason}
        stats = self._pool.stats()
        known = self._pool.known_toolchains()
        return {
            "ready": stats.ready,
            "backend": stats.backend,
            "size": stats.size,
            "idle": stats.idle,
            "busy": stats.busy,
            "starting": stats.starting,
            "recycled": stats.recycled,
            "reason": stats.reason,
            # toolchain versions once GET /v1/languages (or start-up) asked a worker; readiness never waits for it
            "languages": {
                name: (t.version if t.available else f"error: {t.reason}") for name, t in (known or {}).items()
            },
        }

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
            self._reason = "sandbox closed"
