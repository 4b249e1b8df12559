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
from collections.abc import Iterable

from .settings import Settings


def kill_pids(pids: Iterable[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:  # already gone: what we wanted
            pass


class Cleaner:
    def __init__(self, cfg: Settings) -> None:
        self.cfg = cfg
        self.keep: set[int] = set()  # the executor's own helpers (the zygote), spared in a private pid namespace

    def mkdir_for_user(self, path: str, mode: int = 0o700) -> None:
        os.mkdir(path, mode)
        if self.cfg.switch_user:
            os.chown(path, self.cfg.uid, self.cfg.gid)

    def procs_of_uid(self) -> list[int]:
        me = os.getpid()
        out = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid == me:
                continue
            try:
                with open("/proc/%d/status" % pid) as f:
                    for line in f:
                        if line.startswith("Uid:"):
                            if int(line.split()[1]) == self.cfg.uid:
                                out.append(pid)
                            break
            except (OSError, ValueError, IndexError):
                pass
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
        keep |= self.keep
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
