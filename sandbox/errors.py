"""The sandbox's error tree. Foreign exceptions (OSError, docker.errors.*) are translated into these at the
backend boundary, so that callers only ever catch SandboxError and its children."""

from __future__ import annotations


class SandboxError(Exception):
    """Base of every error the sandbox package raises."""


class BackendUnavailable(SandboxError):
    """No worker can be started with this backend here (engine down, image missing, bwrap not installed).
    The message says what to install or start."""


class WorkerStartFailed(SandboxError):
    """The backend answered but one worker failed to come up (container create error, executor crashed)."""


class WorkerLost(SandboxError):
    """The boundary died or its stream closed mid-conversation (OOM kill, docker kill, engine restart)."""


class ProtocolError(SandboxError):
    """The executor sent something that is not a valid frame: treated as a fault of the boundary."""


class PoolClosed(SandboxError):
    """The pool is shutting down and takes no more jobs."""


class AcquireTimeout(SandboxError):
    """No worker became free before the job's queue deadline."""
