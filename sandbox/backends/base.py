"""The contract every isolation backend fulfils.

A backend knows how to start one *worker*: the executor (sandbox/executor.py) running as a long-lived
process inside an isolation boundary, and how to move raw bytes to its stdin and from its stdout.
Framing, jobs, verdicts, recycling and retries live above this line (sandbox/pool.py) and are shared by
every backend: a backend is only a transport plus a way to start and destroy boundaries.
"""

from __future__ import annotations

import abc


class WorkerTransport(abc.ABC):
    """Raw byte pipes to one executor process inside one isolation boundary."""

    #: Short, unique, human-readable identifier (container id, pid) used in logs and errors.
    id: str

    @abc.abstractmethod
    async def send(self, data: bytes) -> None:
        """Write bytes to the executor's stdin. Raises WorkerLost when the boundary is gone."""

    @abc.abstractmethod
    async def receive_exactly(self, n: int) -> bytes:
        """Read exactly n bytes of the executor's stdout. Raises WorkerLost on end of stream."""

    @abc.abstractmethod
    async def kill(self) -> None:
        """Destroy the boundary and everything in it. Idempotent; never raises for an already dead worker."""

    @property
    @abc.abstractmethod
    def alive(self) -> bool:
        """False once the executor has exited or the boundary was destroyed."""


class Backend(abc.ABC):
    """Starts and destroys workers of one isolation technology (bubblewrap, Docker, ...)."""

    #: The name used in settings and /readyz: "bwrap", "docker".
    name: str

    @abc.abstractmethod
    async def probe(self) -> None:
        """Check that workers can be started here. Raises BackendUnavailable with a reason that says what to do."""

    @abc.abstractmethod
    async def start_worker(self) -> WorkerTransport:
        """Start one executor inside a fresh boundary. Raises BackendUnavailable or WorkerStartFailed."""

    async def remove_leftovers(self) -> int:
        """Remove workers an earlier run of this service instance left behind; return how many."""
        return 0

    @property
    def unremoved(self) -> int:
        """Boundaries whose destruction failed and is still to be retried by sweep()."""
        return 0

    async def sweep(self) -> int:
        """Retry the destruction of boundaries that could not be destroyed before; return how many are gone."""
        return 0

    async def close(self) -> None:  # noqa: B027 (optional hook: most backends hold nothing)
        """Release what the backend holds (clients, temp dirs). Workers are killed by the pool first."""
