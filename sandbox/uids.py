"""Per-worker uids. Each worker runs its programs under a uid of its own: RLIMIT_NPROC counts processes per
uid, so a fork bomb in one worker cannot starve another, and the cleanup after a test can kill every process
of that uid without touching another worker's.

"Its own" holds across every Arbiter process on the host, not only within one pool: two services (or a service
and a test run, or two replicas) on one machine would otherwise both hand out uid_base + 0 first, and the
programs of the one would count against the other's RLIMIT_NPROC (a JVM's threads of one instance beside a fork
bomb of the other: "cannot create GC thread", judged MLE). A uid is therefore leased with an exclusive `flock` on
a file of its own in a lock directory of the host (LOCK_DIR); the kernel drops the lock when its holder exits,
however it exits, so a crashed service leaks no uid.
"""

from __future__ import annotations

import fcntl
import os
import tempfile

from .errors import WorkerStartFailed

#: Where the uid leases live: one file per uid, shared by every Arbiter process of this host. The sticky, shared
#: temp directory, so that services of different users still see each other's leases.
LOCK_DIR = os.path.join(tempfile.gettempdir(), "arbiter-sandbox-uids")


class UidAllocator:
    def __init__(self, base: int, slots: int, lock_dir: str = LOCK_DIR) -> None:
        self._base = base
        self._slots = slots
        self._lock_dir = lock_dir
        self._next = 0
        self._leases: dict[int, int] = {}  # uid -> fd holding its flock

    def acquire(self) -> int:
        # Round robin, so that a uid just released (whose processes the kernel may still be reaping) is the
        # last to be handed out again.
        self._lock_dir_ready()
        for _ in range(self._slots):
            uid = self._base + self._next
            self._next = (self._next + 1) % self._slots
            if uid not in self._leases and self._lease(uid):
                return uid
        raise WorkerStartFailed(
            f"all {self._slots} sandbox uids from {self._base} are in use by this or another Arbiter process on "
            f"this host (leases in {self._lock_dir}): stop one, or give this one another uid_base"
        )

    def _lock_dir_ready(self) -> None:
        if os.path.isdir(self._lock_dir):
            return
        os.makedirs(self._lock_dir, exist_ok=True)
        try:  # sticky and writable by all (umask narrowed makedirs' mode), as /tmp itself
            os.chmod(self._lock_dir, 0o1777)
        except PermissionError:  # another user's service created it first, and set it so
            pass

    def _lease(self, uid: int) -> bool:
        fd = os.open(os.path.join(self._lock_dir, str(uid)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process's worker runs under this uid
            os.close(fd)
            return False
        self._leases[uid] = fd
        return True

    def release(self, uid: int) -> None:
        fd = self._leases.pop(uid, None)
        if fd is not None:
            os.close(fd)  # closing the only descriptor drops the flock
