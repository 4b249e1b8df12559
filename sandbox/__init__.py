"""Arbiter's sandbox: runs untrusted programs against tests inside isolation boundaries.

Public API:
    backend = await create_backend("auto")          # docker if usable, else bubblewrap
    pool = SandboxPool(backend, PoolConfig(size=2))
    await pool.start()
    result = await pool.run(RunRequest.stdio("print(input())", ["hi\\n"], ["hi\\n"]))
    result.verdicts, result.passed, result.total
    await pool.close()
There is no unsandboxed mode.
"""

from __future__ import annotations

from typing import Any

from .api import CheckerProgram, FailureInfo, PoolConfig, RunRequest, RunResult, available_cores
from .backends.base import Backend, WorkerTransport
from .compare import COMPARATORS, Comparator, compare_output, compare_values
from .errors import (
    AcquireTimeout,
    BackendUnavailable,
    PoolClosed,
    ProtocolError,
    SandboxError,
    WorkerLost,
    WorkerStartFailed,
)
from .judge import judge_outcome
from .models import LANGUAGES, TEST_KINDS, VERDICTS, CompileLimits, LanguageName, Limits, TestKind, TestOutcome, Verdict
from .pool import PoolStats, SandboxPool, Toolchain

__all__ = [
    "COMPARATORS",
    "LANGUAGES",
    "TEST_KINDS",
    "VERDICTS",
    "AcquireTimeout",
    "Backend",
    "BackendUnavailable",
    "CheckerProgram",
    "Comparator",
    "CompileLimits",
    "FailureInfo",
    "LanguageName",
    "Limits",
    "PoolClosed",
    "PoolConfig",
    "PoolStats",
    "ProtocolError",
    "RunRequest",
    "RunResult",
    "SandboxError",
    "SandboxPool",
    "TestKind",
    "TestOutcome",
    "Toolchain",
    "Verdict",
    "WorkerLost",
    "WorkerStartFailed",
    "WorkerTransport",
    "available_cores",
    "compare_output",
    "compare_values",
    "create_backend",
    "judge_outcome",
]


async def create_backend(name: str = "auto", *, bwrap: Any = None, docker: Any = None, probe: bool = True) -> Backend:
    """Build (and probe) an isolation backend.

    name: "auto" (docker when sandbox.backends.docker imports and its probe passes, else bwrap), "docker", "bwrap".
    bwrap: a sandbox.backends.bwrap.BwrapConfig; docker: the docker backend's config object (passed through).
    Raises BackendUnavailable with what to install when no backend is usable."""
    if name not in ("auto", "docker", "bwrap"):
        raise ValueError(f"unknown sandbox backend {name!r}: use auto, docker or bwrap")
    reasons: list[str] = []
    if name in ("auto", "docker"):
        try:
            from .backends import docker as docker_mod  # lazy: needs the docker SDK and an engine

            cls = docker_mod.DockerBackend
            backend = cls(docker) if docker is not None else cls()
            if probe:
                await backend.probe()
            return backend
        except BackendUnavailable as e:
            if name == "docker":
                raise
            reasons.append(f"docker: {e}")
        except (ImportError, AttributeError) as e:
            if name == "docker":
                raise BackendUnavailable(f"the docker backend is not available: {e} (pip install docker)") from None
            reasons.append(f"docker: {e}")
    from .backends.bwrap import BwrapBackend

    bwrap_backend = BwrapBackend(bwrap)
    if probe:
        try:
            await bwrap_backend.probe()
        except BackendUnavailable as e:
            if name == "bwrap":
                raise
            reasons.append(f"bwrap: {e}")
            raise BackendUnavailable(
                "no sandbox backend is usable: "
                + "; ".join(reasons)
                + ". Install Docker and build the sandbox image (make images), or install "
                "bubblewrap (apt-get install -y bubblewrap)"
            ) from None
    return bwrap_backend
