"""Start one process under its limits and supervise it: feed its stdin, read stdout / stderr (and the harness's
report pipe) as they stream, each under a cap, and enforce the wall clock. A large output never blocks the
program or reads as a time-out: past the cap the process is killed and the test is OLE."""

from __future__ import annotations

import fcntl
import functools
import os
import resource
import select
import signal
import time
from typing import Any

from .limits import ChildLimits, child_env, child_setup
from .settings import Settings
from .verdicts import Finished
from .zygote import ORPHANED, ZygoteClient, ZygoteLost

STDERR_CAP = 64 * 1024
RESULT_CAP = 16 * 1024 * 1024
ORPHAN_WAIT_S = 2.0  # how long a test whose zygote died waits for its child's word on whether it started


class _Waiter:
    """How the supervisor learns that its child exited, and with which status and resource usage."""

    #: readable once the child exited (None: poll() is called every 10 ms instead)
    fd: int | None = None

    def poll(self) -> tuple[int, float, float] | None:
        """(wait status, CPU seconds, max RSS kB) when the child has exited, else None."""
        raise NotImplementedError

    def wait(self) -> tuple[int, float, float]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _OwnChild(_Waiter):
    """A child of the executor (exec'd programs, compilers): pidfd and wait4."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        try:
            self.fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.fd = None

    @staticmethod
    def _usage(status: int, ru: resource.struct_rusage) -> tuple[int, float, float]:
        return status, ru.ru_utime + ru.ru_stime, float(ru.ru_maxrss)

    def poll(self) -> tuple[int, float, float] | None:
        try:
            wp, st, ru = os.wait4(self.pid, os.WNOHANG)
        except ChildProcessError:
            return 0, 0.0, 0.0
        return self._usage(st, ru) if wp == self.pid else None

    def wait(self) -> tuple[int, float, float]:
        _, st, ru = os.wait4(self.pid, 0)
        return self._usage(st, ru)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class _ZygoteChild(_Waiter):
    """A child the zygote forked: the zygote's socket turns readable when it exited (the zygote reaped it)."""

    WAIT_S = 30.0  # after SIGKILL the zygote's wait4 returns at once; longer means the zygote is stuck

    def __init__(self, zygote: ZygoteClient, pid: int) -> None:
        self.zygote, self.pid = zygote, pid
        self.fd = zygote.fileno

    def poll(self) -> tuple[int, float, float] | None:
        return self.zygote.poll_exit(self.pid)  # the socket is readable: a message, not always the exit

    def wait(self) -> tuple[int, float, float]:
        return self.zygote.exit_status(self.pid, self.WAIT_S)


CPU_CHECK_MIN_S = 0.005
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _rlimit_cpu_s(cpu_s: float) -> int:
    """The soft RLIMIT_CPU a limit of cpu_s becomes (limits.apply_limits): whole seconds, at least 1."""
    return max(1, int(-(-cpu_s // 1)))


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a running process (all its threads), from /proc; None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # the fields after the command name, which may hold spaces and parentheses: utime, stime are 14 and 15
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S
    except (IndexError, ValueError):
        return None


class _FreshZygote(Exception):
    """Raised inside ProcessRunner._run when the test must run again on a fresh zygote (no user code ran)."""


def _close_all(*fds: int | None) -> None:
    for fd in set(fds):
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass  # closed already (a source that was also a target)


def _not_started(reason: str, wall: float) -> Finished:
    return Finished(
        pid=0,
        status=0,
        cpu_s=0.0,
        wall_s=wall,
        stdout=b"",
        stderr=b"",
        result=b"",
        ole=False,
        truncated=False,
        killed_wall=False,
        maxrss_mb=0.0,
        setup_error=reason,
    )


class ProcessRunner:
    def __init__(self, cfg: Settings) -> None:
        self.cfg = cfg
        self.zygote = ZygoteClient(cfg)

    def version(self, argv: list[str]) -> str | None:
        """First line a toolchain prints for its version (None when it does not run)."""
        limits = ChildLimits(cpu_s=10, memory_mb=0, max_processes=64, file_size_mb=1, open_files=64)
        r = self.run(argv, cwd="/", limits=limits, stdin_data=b"", wall_s=20.0, max_out=4096, stderr_cap=4096)
        if r.setup_error or r.exit_code != 0:
            return None
        lines = (r.stdout + r.stderr).decode("utf-8", "replace").strip().splitlines()
        return lines[0].strip() if lines else None

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
        python_child: dict[str, Any] | None = None,
        result_pipe: bool = False,
        nonce: bytes | None = None,
        extra_fds: dict[int, int] | None = None,
    ) -> Finished:
        """Start a child and supervise it: fork and exec argv, or (argv None) have the zygote fork a warm Python
        child on python_child (zygote.py: {"job", "test", "src"} for a Python test, {"role": "candidate", "src"}
        for an assert test's candidate).

        result_pipe: the child's fd 3 is a pipe whose contents come back as Finished.result (harness reports).
        nonce: written to a pipe on the child's fd 4 (the assert harness echoes it on fd 3 after the test's end).
        extra_fds: {child fd: our fd} handed to the child; ours are closed here after the fork (the child owns them,
        so that a peer reading them sees end of file when the child is gone)."""
        attempt = functools.partial(
            self._run,
            argv,
            cwd=cwd,
            limits=limits,
            stdin_data=stdin_data,
            wall_s=wall_s,
            max_out=max_out,
            stderr_cap=stderr_cap,
            env=env,
            python_child=python_child,
            result_pipe=result_pipe,
            nonce=nonce,
            extra_fds=extra_fds or {},
        )
        try:
            try:
                return attempt(zygote_retry=True)
            except _FreshZygote:
                # The zygote died before any user code of this test ran: a fresh zygote and fresh pipes, once.
                return attempt(zygote_retry=False)
        finally:
            _close_all(*(extra_fds or {}).values())

    def _run(
        self,
        argv: list[str] | None,
        *,
        cwd: str,
        limits: ChildLimits,
        stdin_data: bytes,
        wall_s: float,
        max_out: int,
        stderr_cap: int,
        env: dict[str, str] | None,
        python_child: dict[str, Any] | None,
        result_pipe: bool,
        nonce: bytes | None,
        extra_fds: dict[int, int],
        zygote_retry: bool,
    ) -> Finished:
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
        # private copies of the handed fds (above 10, like every source): a retry below starts from the originals
        fds.update({t: fcntl.fcntl(s, fcntl.F_DUPFD_CLOEXEC, 10) for t, s in extra_fds.items()})
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
        waiter: _Waiter
        if argv is None:
            try:
                pid = self.zygote.fork(fds, e_w, python_child or {}, limits, cwd, env)
            except ZygoteLost as e:
                _close_all(*fds.values(), in_r, in_w, out_r, out_w, err_r, err_w, res_r, res_w, non_r, non_w, e_r, e_w)
                self.zygote.close()
                if zygote_retry:
                    # It died before it forked this test (killed from outside between two tests, its death not
                    # yet seen).
                    raise _FreshZygote from e
                return _not_started("the warm Python interpreter was lost: %s" % e, time.monotonic() - t0)
            waiter = _ZygoteChild(self.zygote, pid)
        else:
            pid = os.fork()
            if pid == 0:  # ---------------- child
                try:
                    child_setup(self.cfg, limits, fds, cwd, extra_keep=[e_w])
                    os.execve(argv[0], argv, child_env(cwd, env))
                except BaseException as e:
                    try:
                        os.write(e_w, ("cannot start program: %r" % (e,)).encode()[:4000])
                    except OSError:
                        pass
                os._exit(127)
            waiter = _OwnChild(pid)
        # ---------------- parent
        for fd in (
            set(fds.values()) | {in_r, out_w, err_w} | ({res_w} if res_w else set()) | ({non_r} if non_r else set())
        ):
            try:
                os.close(fd)
            except OSError:
                pass
        os.close(e_w)
        if non_w is not None and nonce is not None:
            os.write(non_w, nonce)
            os.close(non_w)
        try:
            r = self._supervise(
                pid, waiter, in_w, out_r, err_r, res_r, stdin_data, wall_s, max_out, stderr_cap, t0, limits.cpu_s
            )
            if argv is None and self.zygote.sock is None:
                # the zygote was lost: its spare may not have said yet whether this test started (ORPHANED)
                select.select([e_r], [], [], ORPHAN_WAIT_S)
            os.set_blocking(e_r, False)
            try:
                r.setup_error = os.read(e_r, 4096).decode("utf-8", "replace") or r.setup_error
            except OSError:
                pass
        finally:
            os.close(e_r)
        if argv is None and r.setup_error == ORPHANED and zygote_retry:
            # the zygote was killed between two tests and its spare got this one: no user code ran
            self.zygote.close()
            raise _FreshZygote
        return r

    def _supervise(
        self,
        pid: int,
        waiter: _Waiter,
        in_w: int | None,
        out_r: int,
        err_r: int,
        res_r: int | None,
        stdin_data: bytes,
        wall_s: float,
        max_out: int,
        stderr_cap: int,
        t0: float,
        cpu_limit_s: float = 0.0,
    ) -> Finished:
        out, err, res = [], [], []
        out_n = err_n = res_n = 0
        truncated = False
        ole = False
        killed_wall = killed_cpu = False
        status = None
        cpu = maxrss_kb = 0.0
        lost = ""
        pidfd = waiter.fd
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
        # RLIMIT_CPU counts whole seconds (limits.py rounds up): a fractional limit is watched here. A process
        # cannot use more CPU than wall time (it is one process; its threads are counted in its own stat), so the
        # first look is due when the wall clock reaches the limit, and the next when the rest could be used up.
        cpu_check = t0 + cpu_limit_s if 0 < cpu_limit_s < _rlimit_cpu_s(cpu_limit_s) else None
        while True:
            now = time.monotonic()
            if now >= deadline:
                killed_wall = True
                break
            if cpu_check is not None and now >= cpu_check:
                used = _cpu_seconds(pid)
                if used is None:
                    cpu_check = None  # gone already: its exit is on its way
                elif used >= cpu_limit_s:
                    killed_cpu = True
                    break
                else:
                    cpu_check = now + max(CPU_CHECK_MIN_S, cpu_limit_s - used)
            timeout = (min(deadline, cpu_check) if cpu_check is not None else deadline) - now
            timeout *= 1000
            if pidfd is None:
                timeout = min(timeout, 10)
            events = poller.poll(max(1, int(timeout) + 1))
            exited = False
            for fd, ev in events:
                if fd == pidfd:
                    try:
                        got = waiter.poll()
                    except ZygoteLost as e:
                        got, lost = (0, 0.0, 0.0), "the warm Python interpreter was lost: %s" % e
                        self.zygote.close()
                    if got is not None:
                        status, cpu, maxrss_kb = got
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
                got = waiter.poll()
                if got is not None:
                    status, cpu, maxrss_kb = got
                    break
            elif exited:
                break
            if not readers and in_w is None and pidfd is None:
                continue
        if status is None and (killed_wall or killed_cpu or ole):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if status is None:
            try:
                status, cpu, maxrss_kb = waiter.wait()
            except ZygoteLost as e:
                status, lost = 0, "the warm Python interpreter was lost: %s" % e
                self.zygote.close()
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
        for fd in list(readers) + ([in_w] if in_w is not None else []):
            try:
                os.close(fd)
            except OSError:
                pass
        waiter.close()
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
            maxrss_mb=maxrss_kb / 1024.0,
            setup_error=lost,
        )
