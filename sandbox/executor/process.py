"""Start one process under its limits and supervise it: feed its stdin, read stdout / stderr (and the harness's
report pipe) as they stream, each under a cap, and enforce the wall clock. A large output never blocks the
program or reads as a time-out: past the cap the process is killed and the test is OLE."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import time
from collections.abc import Callable

from .limits import ChildLimits, child_env, child_setup
from .settings import Settings
from .verdicts import Finished

STDERR_CAP = 64 * 1024
RESULT_CAP = 16 * 1024 * 1024


class ProcessRunner:
    def __init__(self, cfg: Settings) -> None:
        self.cfg = cfg

    def run(
        self,
        argv: list[str] | None,
        *,
        cwd: str,
        limits: ChildLimits,
        stdin_data: bytes,
        wall_s: float,
        max_out: int,
        stderr_cap: int = STDERR_CAP,
        env: dict[str, str] | None = None,
        harness: Callable[[], None] | None = None,
        result_pipe: bool = False,
        nonce: bytes | None = None,
        extra_fds: dict[int, int] | None = None,
    ) -> Finished:
        """Fork a child (exec argv, or call harness() in the child when argv is None) and supervise it.

        result_pipe: the child's fd 3 is a pipe whose contents come back as Finished.result (harness reports).
        nonce: written to a pipe on the child's fd 4 (the assert harness echoes it on fd 3 after the test's end).
        extra_fds: {child fd: our fd} handed to the child; ours are closed here after the fork (the child owns them,
        so that a peer reading them sees end of file when the child is gone)."""
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        res_r = res_w = non_r = non_w = None
        fds = {0: in_r, 1: out_w, 2: err_w}
        if result_pipe:
            res_r, res_w = os.pipe()
            fds[3] = res_w
        if nonce is not None:
            non_r, non_w = os.pipe()
            fds[4] = non_r
        handed = list((extra_fds or {}).values())
        fds.update(extra_fds or {})
        # fds must not collide with targets during dup2: move sources above 10
        fds = {t: (os.dup(s) if s < 10 else s) for t, s in fds.items()}
        # setup-status pipe (close-on-exec, like subprocess): data on it means the sandbox failed to start the
        # program (SE); a program cannot fake it because it is closed before any user code runs.
        e_r0, e_w0 = os.pipe()
        e_r = fcntl.fcntl(e_r0, fcntl.F_DUPFD_CLOEXEC, 10)
        e_w = fcntl.fcntl(e_w0, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(e_r0)
        os.close(e_w0)
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:  # ---------------- child
            try:
                child_setup(self.cfg, limits, fds, cwd, extra_keep=[e_w])
                if argv is not None:
                    os.execve(argv[0], argv, child_env(cwd, env))
                else:
                    os.environ.clear()
                    os.environ.update(child_env(cwd, env))
                    os.close(e_w)
                    e_w = -1
            except BaseException as e:
                try:
                    if e_w >= 0:
                        os.write(e_w, ("cannot start program: %r" % (e,)).encode()[:4000])
                except OSError:
                    pass
                os._exit(127)
            if harness is not None:
                harness()
            os._exit(127)
        # ---------------- parent
        for fd in (
            set(fds.values()) | {in_r, out_w, err_w} | ({res_w} if res_w else set()) | ({non_r} if non_r else set())
        ):
            try:
                os.close(fd)
            except OSError:
                pass
        os.close(e_w)
        for fd in set(handed) - set(fds.values()):  # sources >= 10 were not dup'ed: closed just above
            try:
                os.close(fd)
            except OSError:
                pass
        if non_w is not None and nonce is not None:
            os.write(non_w, nonce)
            os.close(non_w)
        try:
            r = self._supervise(pid, in_w, out_r, err_r, res_r, stdin_data, wall_s, max_out, stderr_cap, t0)
            os.set_blocking(e_r, False)
            try:
                r.setup_error = os.read(e_r, 4096).decode("utf-8", "replace")
            except OSError:
                r.setup_error = ""
        finally:
            os.close(e_r)
        return r

    def _supervise(
        self,
        pid: int,
        in_w: int | None,
        out_r: int,
        err_r: int,
        res_r: int | None,
        stdin_data: bytes,
        wall_s: float,
        max_out: int,
        stderr_cap: int,
        t0: float,
    ) -> Finished:
        out, err, res = [], [], []
        out_n = err_n = res_n = 0
        truncated = False
        ole = False
        killed_wall = False
        status = None
        rusage = None
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None
        stdin_view = memoryview(stdin_data)
        if in_w is not None and stdin_view:
            os.set_blocking(in_w, False)
        elif in_w is not None:
            os.close(in_w)
            in_w = None
        poller = select.poll()
        readers = {out_r: "out", err_r: "err"}
        if res_r is not None:
            readers[res_r] = "res"
        for fd in readers:
            poller.register(fd, select.POLLIN)
        if in_w is not None:
            poller.register(in_w, select.POLLOUT)
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
        deadline = t0 + wall_s
        while True:
            now = time.monotonic()
            if now >= deadline:
                killed_wall = True
                break
            timeout = (deadline - now) * 1000
            if pidfd is None:
                timeout = min(timeout, 10)
            events = poller.poll(max(1, int(timeout) + 1))
            exited = False
            for fd, ev in events:
                if fd == pidfd:
                    exited = True
                elif fd == in_w:
                    if ev & (select.POLLERR | select.POLLHUP):
                        poller.unregister(in_w)
                        os.close(in_w)
                        in_w = None
                        continue
                    try:
                        n = os.write(in_w, stdin_view[:65536])
                        stdin_view = stdin_view[n:]
                    except BlockingIOError:
                        n = 0
                    except OSError:  # EPIPE: the program does not read its input
                        stdin_view = stdin_view[:0]
                    if not stdin_view:
                        poller.unregister(in_w)
                        os.close(in_w)
                        in_w = None
                elif fd in readers:
                    try:
                        data = os.read(fd, 1 << 16)
                    except OSError:
                        data = b""
                    if not data:
                        poller.unregister(fd)
                        del readers[fd]
                        continue
                    kind = readers[fd]
                    if kind == "out":
                        if out_n + len(data) > max_out:
                            out.append(data[: max(0, max_out - out_n)])
                            out_n = max_out
                            ole = truncated = True
                        else:
                            out.append(data)
                            out_n += len(data)
                    elif kind == "err":
                        if err_n < stderr_cap:
                            err.append(data[: stderr_cap - err_n])
                            err_n += min(len(data), stderr_cap - err_n)
                    else:
                        if res_n < RESULT_CAP:
                            res.append(data)
                            res_n += len(data)
            if ole:
                break
            if pidfd is None:
                try:
                    wp, st, ru = os.wait4(pid, os.WNOHANG)
                except ChildProcessError:
                    wp, st, ru = pid, 0, None
                if wp == pid:
                    status, rusage = st, ru
                    break
            elif exited:
                break
            if not readers and in_w is None and pidfd is None:
                continue
        if status is None and (killed_wall or ole):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if status is None:
            _, status, rusage = os.wait4(pid, 0)
        wall = time.monotonic() - t0
        # drain what is already in the pipes (descendants may keep them open: never block)
        for fd, kind in list(readers.items()):
            os.set_blocking(fd, False)
            for _ in range(64):
                try:
                    data = os.read(fd, 1 << 16)
                except (BlockingIOError, OSError):
                    break
                if not data:
                    break
                if kind == "out":
                    room = max_out - out_n
                    if len(data) > room:
                        out.append(data[:room])
                        out_n = max_out
                        ole = truncated = True
                        break
                    out.append(data)
                    out_n += len(data)
                elif kind == "err":
                    if err_n < stderr_cap:
                        err.append(data[: stderr_cap - err_n])
                        err_n += min(len(data), stderr_cap - err_n)
                elif res_n < RESULT_CAP:
                    res.append(data)
                    res_n += len(data)
        for fd in list(readers) + ([in_w] if in_w is not None else []) + ([pidfd] if pidfd is not None else []):
            try:
                os.close(fd)
            except OSError:
                pass
        cpu = (rusage.ru_utime + rusage.ru_stime) if rusage else 0.0
        maxrss_mb = (rusage.ru_maxrss / 1024.0) if rusage else 0.0
        return Finished(
            pid=pid,
            status=status,
            cpu_s=cpu,
            wall_s=wall,
            stdout=b"".join(out),
            stderr=b"".join(err),
            result=b"".join(res),
            ole=ole,
            truncated=truncated,
            killed_wall=killed_wall,
            maxrss_mb=maxrss_mb,
        )
