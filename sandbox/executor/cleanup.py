"""Cleanup after a test: kill every process it left behind and remove its files.

As root (the usual case) user programs run under the worker's own uid: every process of that uid is killed, by a
helper that switched to it (kill(-1) is atomic with respect to fork), then by a /proc scan. Without root the
executor shares its uid with the programs and relies on the private pid namespace: everything but itself and its
ancestors goes.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable

from .settings import Settings

#: System V IPC objects of the boundary's IPC namespace: (listing, libc call that removes one by id)
SYSV_IPC = (("/proc/sysvipc/shm", "shmctl"), ("/proc/sysvipc/msg", "msgctl"), ("/proc/sysvipc/sem", "semctl"))
IPC_RMID = 0


def read_proc(path: str) -> bytes:
    """A /proc file's whole contents through os.open / os.read: no buffered text file object (4 syscalls instead of
    7 for a small file; these run after every test). Read to the end: a program may have made thousands of IPC
    objects, and every one must be seen. Raises OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def sysv_objects() -> list[tuple[str, int]]:
    """Every System V shared memory segment, message queue and semaphore set of this IPC namespace."""
    out = []
    for path, call in SYSV_IPC:
        try:
            lines = read_proc(path).splitlines()[1:]  # a header, then one object per line: key id perms ...
        except OSError:
            continue  # no /proc/sysvipc: a kernel without System V IPC has nothing to clean
        for line in lines:
            fields = line.split()
            if len(fields) > 1 and fields[1].isdigit():
                out.append((call, int(fields[1])))
    return out


def remove_sysv(objects: Iterable[tuple[str, int]]) -> None:
    """IPC_RMID each object. Allowed to the uid that created it (a program cannot give that away: IPC_SET changes
    the owner, never the creator), so a root executor without CAP_SYS_ADMIN calls this as the sandbox uid."""
    import ctypes  # stdlib; only loaded when a program left IPC objects behind

    libc = ctypes.CDLL(None, use_errno=True)
    for call, ident in objects:
        if call == "semctl":
            libc.semctl(ctypes.c_int(ident), ctypes.c_int(0), ctypes.c_int(IPC_RMID))
        else:
            getattr(libc, call)(ctypes.c_int(ident), ctypes.c_int(IPC_RMID), ctypes.c_void_p(None))


def kill_pids(pids: Iterable[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:  # already gone: what we wanted
            pass


class Cleaner:
    def __init__(self, cfg: Settings, spare: Callable[[], Iterable[int]] = tuple) -> None:
        self.cfg = cfg
        # pids of the executor's own helpers (the zygote, an assert test's harness) that cleanup must not kill
        self.spare = spare

    def mkdir_for_user(self, path: str, mode: int = 0o700) -> None:
        os.mkdir(path, mode)
        if self.cfg.switch_user:
            os.chown(path, self.cfg.uid, self.cfg.gid)

    def procs_of_uid(self) -> list[int]:
        # the executor's own helpers (the zygote and its spare, root; an assert harness, the judge's uid) are not
        # the sandbox uid: one status file fewer each to read, after every test
        skip = {os.getpid(), 1, *self.spare()}
        out = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid in skip:
                continue
            try:
                status = read_proc("/proc/%d/status" % pid)
                at = status.index(b"\nUid:") + 5
                if int(status[at : status.index(b"\n", at)].split()[0]) == self.cfg.uid:
                    out.append(pid)
            except (OSError, ValueError, IndexError):
                pass  # gone meanwhile (or no Uid line: not a process we could kill either)
        return out

    def _descendants_and_strays(self) -> list[int]:
        """Non-root mode inside a private pid namespace: every process but us and our ancestors."""
        me = os.getpid()
        keep = {me}
        pid = me
        while pid > 1:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    pid = int(f.read().rsplit(")", 1)[1].split()[1])
                keep.add(pid)
            except (OSError, ValueError, IndexError):
                break
        keep.add(1)
        keep.update(self.spare())
        return [int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) not in keep]

    def kill_all(self, pgid: int | None = None) -> bool:
        """Kill every process the test left behind. Returns True when none is left."""
        if pgid:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except OSError:
                pass
        if self.cfg.switch_user:
            self.reap()
            if not self.procs_of_uid():  # common case: nothing left, no helper needed
                return True
            for _ in range(20):
                # A helper with the sandbox uid sends SIGKILL to everything that uid may signal: kill(-1) is
                # atomic with respect to fork in that no new child of a killed process survives.
                hp = os.fork()
                if hp == 0:
                    try:
                        os.setresgid(self.cfg.gid, self.cfg.gid, self.cfg.gid)
                        os.setresuid(self.cfg.uid, self.cfg.uid, self.cfg.uid)
                        os.kill(-1, signal.SIGKILL)
                    except BaseException:
                        pass
                    os._exit(0)
                os.waitpid(hp, 0)
                self.reap()
                left = self.procs_of_uid()
                if not left:
                    return True
                kill_pids(left)
                time.sleep(0.005)
            return not self.procs_of_uid()
        if self.cfg.private_pidns:
            for _ in range(20):
                left = self._descendants_and_strays()
                if not left:
                    return True
                kill_pids(left)
                time.sleep(0.005)
                self.reap()
            return not self._descendants_and_strays()
        self.reap()
        return True

    def reap(self) -> None:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def rmtree(self, path: str) -> None:
        # root with CAP_DAC_OVERRIDE/CAP_FOWNER removes anything; otherwise make dirs writable first
        for root, dirs, files in os.walk(path, topdown=False):
            for n in files:
                try:
                    os.unlink(os.path.join(root, n))
                except OSError:
                    pass
            for n in dirs:
                p = os.path.join(root, n)
                try:
                    if os.path.islink(p):
                        os.unlink(p)
                    else:
                        os.rmdir(p)
                except OSError:
                    try:
                        os.chmod(p, 0o700)
                        os.rmdir(p)
                    except OSError:
                        pass
        try:
            os.rmdir(path)
        except OSError:
            pass

    def clean_ipc(self) -> bool:
        """Remove every System V IPC object a program made (segments, queues, semaphore sets): the next job must
        find none. POSIX queues and semaphores are files (/dev/mqueue, /dev/shm: clean_shared_dirs). Returns True
        when none is left."""
        left = sysv_objects()
        if not left:
            return True  # the common case: three small reads, no fork
        if self.cfg.switch_user:
            hp = os.fork()
            if hp == 0:
                try:
                    os.setresgid(self.cfg.gid, self.cfg.gid, self.cfg.gid)
                    os.setresuid(self.cfg.uid, self.cfg.uid, self.cfg.uid)
                    remove_sysv(left)
                except BaseException:
                    os._exit(1)
                os._exit(0)
            os.waitpid(hp, 0)
        else:
            remove_sysv(left)
        return not sysv_objects()

    def clean_shared_dirs(self) -> None:
        if not self.cfg.switch_user:
            return
        for d in ("/dev/shm", "/dev/mqueue", self.cfg.workroot, "/var/tmp"):
            try:
                names = os.listdir(d)
            except OSError:
                continue
            for n in names:
                p = os.path.join(d, n)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if st.st_uid == self.cfg.uid:
                    if os.path.isdir(p) and not os.path.islink(p):
                        self.rmtree(p)
                    else:
                        try:
                            os.unlink(p)
                        except OSError:
                            pass
