"""Per-worker uids. Each worker runs its programs under a uid of its own: RLIMIT_NPROC counts processes per
uid, so a fork bomb in one worker cannot starve another, and the cleanup after a test can kill every process
of that uid without touching another worker's."""

from __future__ import annotations

from .errors import WorkerStartFailed


class UidAllocator:
    def __init__(self, base: int, slots: int) -> None:
        self._base = base
        self._slots = slots
        self._next = 0
        self._in_use: set[int] = set()

    def acquire(self) -> int:
        # Round robin, so that a uid just released (whose processes the kernel may still be reaping) is the
        # last to be handed out again.
        for _ in range(self._slots):
            uid = self._base + self._next
            self._next = (self._next + 1) % self._slots
            if uid not in self._in_use:
                self._in_use.add(uid)
                return uid
        raise WorkerStartFailed(f"all {self._slots} sandbox uids from {self._base} are in use")

    def release(self, uid: int) -> None:
        self._in_use.discard(uid)
