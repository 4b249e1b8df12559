"""The warm Python interpreter that forks Python tests (the "zygote"): a process of its own that never holds a job.

Why a process of its own: a forked child inherits its parent's whole heap, and freed memory is not cleared. Were
the executor the zygote (it was), a test of a later job could find an earlier job's source, stdin and test code in
its own memory. The zygote is forked from the executor before the executor reads its first frame (or, should it
die later, started as a fresh interpreter with exec), imports the modules programs commonly use (pyharness.preload)
and then only ever receives what a fork needs that is not job data: the target fds, the work directory, the limits,
the environment. The test's data (program path, test, the job's fields) travel in a memfd that the zygote passes on
unread; the forked child reads it after the fork.

Two kinds of child, chosen by the memfd's payload (read only by the child):
    {"job", "test", "src"}           a Python test in the program's own process (pyharness.run_python_child)
    {"role": "candidate", "src"}     the candidate of an assert test (candidate.run_program): only the program's
                                     path, never the test code; it answers the harness's plain-data calls on fds
                                     3 / 4 (kinds/asserts.py). The harness holding the test runs under the judge's
                                     uid in a process of its own.
Without root (one uid for all) the zygote makes itself undumpable, so that its children (the programs) cannot
ptrace it, and a candidate cannot even read its own memory through /proc.

Protocol, over a SOCK_SEQPACKET socketpair (one message per datagram, fds as SCM_RIGHTS):
    executor -> zygote   {"fds": [target, ...], "cwd", "limits", "env"} + fds [src per target..., setup_w, data]
    zygote -> executor   {"pid": N}                                   the child is forked
                         {"pid": N, "status", "cpu_s", "maxrss_kb"}   it exited (the zygote reaped it)
                         {"error": "..."}                             it could not be forked
The child is not the executor's child: the executor kills it by its process group, and its exit status and
resource usage come from the zygote's wait4. The socket's readability is the executor's "the child exited" event.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import select
import signal
import socket
import sys
from typing import Any

from .limits import ChildLimits, child_env, child_setup, list_fds
from .settings import Settings

PKG_DIR = os.path.dirname(os.path.abspath(__file__))
MAX_MSG = 1 << 16
MAX_FDS = 16
READY_TIMEOUT_S = 30.0


class ZygoteLost(OSError):
    """The zygote died or does not answer (the executor starts a new one for the next test)."""


def _send(sock: socket.socket, obj: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


class ZygoteClient:
    """The executor's handle on its zygote: start it, ask it to fork a test, collect the test's exit."""

    def __init__(self, cfg: Settings) -> None:
        self.cfg = cfg
        self.sock: socket.socket | None = None
        self.pid: int | None = None

    def start(self, fork: bool = False) -> None:
        """Start a zygote and wait until it has preloaded.

        fork=True (only before the executor has read any frame, so its heap holds no job): fork the executor
        itself, which spares an interpreter start. Otherwise (a zygote died mid-service): fork and at once exec a
        fresh interpreter, so that nothing of the executor's heap survives into the zygote."""
        self.close()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fd = theirs.fileno()
        argv = [sys.executable, "-I", "-u", "-B", PKG_DIR, "--zygote", str(fd), *self.cfg.argv]
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for other in list_fds():
                    if other > 2 and other != fd:
                        try:
                            os.close(other)  # the protocol fds above all: the zygote never sees a frame
                        except OSError:
                            pass
                if fork:
                    code = serve(self.cfg, fd)
                else:
                    os.set_inheritable(fd, True)
                    os.execv(argv[0], argv)
            finally:
                os._exit(code)
        theirs.close()
        self.pid = pid
        self.sock = ours
        msg = self._recv(READY_TIMEOUT_S)
        if msg.get("ready") is not True:
            raise ZygoteLost("the zygote did not start: %r" % (msg,))

    def alive(self) -> bool:
        if self.pid is None or self.sock is None:
            return False
        try:
            wp, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return False  # reaped by the cleaner's waitpid(-1): dead
        return wp == 0

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.pid is not None:
            # Kill only while it is still our unreaped child: once reaped (the cleaner's waitpid(-1)) its pid may
            # belong to another process.
            try:
                if os.waitpid(self.pid, os.WNOHANG)[0] == 0:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = None

    def pids(self) -> tuple[int, ...]:
        return (self.pid,) if self.pid is not None else ()

    @property
    def fileno(self) -> int:
        if self.sock is None:
            raise ZygoteLost("no zygote")
        return self.sock.fileno()

    def _recv(self, timeout: float | None) -> dict[str, Any]:
        if self.sock is None:
            raise ZygoteLost("no zygote")
        if timeout is not None:
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                raise ZygoteLost("the zygote did not answer within %.0f s" % timeout)
        try:
            data = self.sock.recv(MAX_MSG)
        except OSError as e:
            raise ZygoteLost("the zygote's socket failed: %s" % e) from None
        if not data:
            raise ZygoteLost("the zygote exited")
        msg = json.loads(data.decode("ascii"))
        if not isinstance(msg, dict):
            raise ZygoteLost("unexpected message from the zygote")
        return msg

    def fork(
        self,
        fds: dict[int, int],
        setup_w: int,
        payload: dict[str, Any],
        limits: ChildLimits,
        cwd: str,
        env: dict[str, str] | None,
    ) -> int:
        """Have the zygote fork a test child; return its pid. The child gets fds (target -> our fd), reports a
        failure before user code on setup_w, and reads payload (the test's data) from a memfd."""
        if not self.alive():
            self.start()
        data_fd = os.memfd_create("arbiter-test", os.MFD_CLOEXEC)
        try:
            blob = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")
            view = memoryview(blob)
            while view:
                view = view[os.write(data_fd, view) :]
            os.lseek(data_fd, 0, os.SEEK_SET)
            targets = list(fds)
            req = {"fds": targets, "cwd": cwd, "limits": dataclasses.asdict(limits), "env": env or {}}
            assert self.sock is not None
            try:
                _send(self.sock, req, [fds[t] for t in targets] + [setup_w, data_fd])
            except OSError as e:
                raise ZygoteLost("cannot reach the zygote: %s" % e) from None
        finally:
            os.close(data_fd)
        msg = self._recv(READY_TIMEOUT_S)
        if "error" in msg:
            raise ZygoteLost("the zygote could not fork: %s" % msg["error"])
        return int(msg["pid"])

    def exit_status(self, pid: int, timeout: float | None) -> tuple[int, float, float]:
        """(wait status, CPU seconds, max RSS in kB) of the child pid, as the zygote's wait4 saw them."""
        msg = self._recv(timeout)
        if msg.get("pid") != pid or "status" not in msg:
            raise ZygoteLost("unexpected message from the zygote: %r" % (msg,))
        return int(msg["status"]), float(msg["cpu_s"]), float(msg["maxrss_kb"])


def undumpable() -> None:
    """PR_SET_DUMPABLE 0: processes of the same uid can neither ptrace this one nor read its memory via /proc (a
    fork inherits it; an exec of a readable binary resets it, a uid change sets it too)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


# ------------------------------------------------------------------------------------------------ zygote side
def _high(fd: int) -> int:
    """fd moved to 10 or above (close-on-exec), so that dup2 onto targets 0..4 cannot clobber a source."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


def _child(cfg: Settings, req: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: set up, read the test's data, run it. Never returns."""
    from .pyharness import run_python_child

    setup_w = -1
    try:
        fds = [_high(fd) for fd in fds]
        targets = [int(t) for t in req["fds"]]
        setup_w, data_fd = fds[len(targets)], fds[len(targets) + 1]
        fdmap = dict(zip(targets, fds[: len(targets)], strict=True))
        lim = ChildLimits(**req["limits"])
        child_setup(cfg, lim, fdmap, req["cwd"], extra_keep=[setup_w, data_fd])
        chunks = []
        while True:
            b = os.read(data_fd, 1 << 20)
            if not b:
                break
            chunks.append(b)
        os.close(data_fd)
        payload = json.loads(b"".join(chunks).decode("ascii"))
        del chunks
        os.environ.clear()
        os.environ.update(child_env(req["cwd"], req.get("env") or None))
        os.close(setup_w)
        setup_w = -1
    except BaseException as e:
        try:
            if setup_w >= 0:
                os.write(setup_w, ("cannot start program: %r" % (e,)).encode()[:4000])
        except OSError:
            pass
        os._exit(127)
    if payload.get("role") == "candidate":
        from .candidate import run_program

        run_program(str(payload["src"]))
    else:
        run_python_child(payload["job"], payload["test"], payload["src"])
    os._exit(127)


def serve(cfg: Settings, fd: int) -> int:
    """The zygote's loop (entered through main() with --zygote FD)."""
    from .pyharness import preload

    sock = socket.socket(fileno=fd)
    if not cfg.switch_user:
        undumpable()
    preload()
    _send(sock, {"ready": True})
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MSG, MAX_FDS)
        except OSError:
            return 0
        if not data:
            return 0  # the executor is gone
        try:
            req = json.loads(data.decode("ascii"))
            pid = os.fork()
        except (ValueError, OSError) as e:
            for f in fds:
                os.close(f)
            _send(sock, {"error": "%s: %s" % (type(e).__name__, e)})
            continue
        if pid == 0:
            sock.close()
            _child(cfg, req, fds)
        for f in fds:
            os.close(f)
        _send(sock, {"pid": pid})
        _, status, ru = os.wait4(pid, 0)
        _send(sock, {"pid": pid, "status": status, "cpu_s": ru.ru_utime + ru.ru_stime, "maxrss_kb": ru.ru_maxrss})
