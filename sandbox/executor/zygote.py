"""The warm Python interpreter that forks Python tests (the "zygote"): a process of its own that never holds a job.

Why a process of its own: a forked child inherits its parent's whole heap, and freed memory is not cleared. Were
the executor the zygote (it was), a test of a later job could find an earlier job's source, stdin and test code in
its own memory. The zygote is a fresh interpreter (fork and exec, dispatched by entry.py before the executor's own
imports: every page and mapping it holds is paid for at each fork and each child's exit), imports the modules
programs commonly use (pyharness.preload)
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

Protocol, over SOCK_SEQPACKET socketpairs (one message per datagram, fds as SCM_RIGHTS). The zygote forks each
test's child AHEAD of its test (a "spare", blocked on a socket of its own), so that neither the fork nor a round
trip through the zygote is on the test's clock; the executor sends the test straight to the spare:
    zygote -> executor   {"ready": true}                              preloaded
                         {"spare": N} + fd [socket to spare N]        the next test's child, waiting
                         {"pid": N, "status", "cpu_s", "maxrss_kb"}   child N exited (the zygote reaped it)
    executor -> spare    {"fds": [target, ...], "cwd", "limits", "env"} + fds [src per target..., setup_w, data]
The zygote forks the next spare as soon as the current one has taken its request (it closes a pipe the zygote
watches), so it is ready, usually, before the test ends. A spare holds what any test child holds before its
setup: the zygote's memory, no job. The child is not the executor's child: the executor kills it by its process
group, and its exit status and resource usage come from the zygote's wait4. The zygote socket's readability is the
executor's "a message, maybe the child's exit" event.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import time
from typing import Any

from . import warm_server
from .limits import ChildLimits, child_env, child_setup, move_high, set_environ
from .settings import Settings
from .warm_server import MAX_FDS, MAX_MSG, READY_TIMEOUT_S
from .warm_server import send as _send


class ZygoteLost(OSError):
    """The zygote died or does not answer (the executor starts a new one for the next test)."""


#: what a spare reports on the setup pipe when its zygote died before its test came (no user code ran)
ORPHANED = "arbiter: the zygote was gone before the test started"


class ZygoteClient:
    """The executor's handle on its zygote: start it, hand a test to the zygote's spare child, collect the exit."""

    def __init__(self, cfg: Settings) -> None:
        self.cfg = cfg
        self.sock: socket.socket | None = None
        self.pid: int | None = None
        #: the zygote's spare child (forked ahead of the next test) and our socket to it
        self.spare: int | None = None
        self.spare_sock: socket.socket | None = None

    def start(self, fork: bool = False) -> None:
        """Start a zygote and wait until it has preloaded.

        Default (the executor's start, and a zygote that died mid-service): fork and at once exec a fresh
        interpreter, so that nothing of the executor's heap survives into the zygote and it holds only what its
        children need. fork=True (only before the executor has read any frame, so its heap holds no job): fork the
        executor itself, which spares an interpreter start but makes every test's fork and exit dearer."""
        self.close()
        self.pid, self.sock = warm_server.spawn(self.cfg, "--zygote", serve, fork)
        msg = self._recv(READY_TIMEOUT_S)
        if msg.get("ready") is not True:
            raise ZygoteLost("the zygote did not start: %r" % (msg,))

    def alive(self) -> bool:
        return self.pid is not None and self.sock is not None and warm_server.alive(self.pid)

    def _drop_spare(self) -> None:
        if self.spare_sock is not None:
            self.spare_sock.close()  # an unused spare reads end of file and exits
        self.spare = self.spare_sock = None

    def close(self) -> None:
        self._drop_spare()
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.pid is not None:
            warm_server.kill(self.pid)
            self.pid = None

    def pids(self) -> tuple[int, ...]:
        """The zygote and its spare: the executor's own processes, which cleanup spares."""
        return tuple(p for p in (self.pid, self.spare) if p is not None)

    @property
    def fileno(self) -> int:
        if self.sock is None:
            raise ZygoteLost("no zygote")
        return self.sock.fileno()

    def _recv(self, timeout: float | None) -> dict[str, Any]:
        """The zygote's next message (timeout None: one is waiting). A spare it announces is kept here."""
        if self.sock is None:
            raise ZygoteLost("no zygote")
        if timeout is not None:
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                raise ZygoteLost("the zygote did not answer within %.0f s" % timeout)
        try:
            data, fds, _flags, _addr = socket.recv_fds(self.sock, MAX_MSG, 1)
        except OSError as e:
            raise ZygoteLost("the zygote's socket failed: %s" % e) from None
        spare_fd = fds[0] if len(fds) == 1 else None
        for f in fds[1:] if spare_fd is not None else fds:
            os.close(f)
        if not data:
            if spare_fd is not None:
                os.close(spare_fd)
            raise ZygoteLost("the zygote exited")
        msg = json.loads(data.decode("ascii"))
        if not isinstance(msg, dict):
            raise ZygoteLost("unexpected message from the zygote")
        if "spare" in msg:
            self._drop_spare()
            if spare_fd is not None and isinstance(msg["spare"], int):
                self.spare, self.spare_sock = msg["spare"], socket.socket(fileno=spare_fd)
            elif spare_fd is not None:
                os.close(spare_fd)
        elif spare_fd is not None:
            os.close(spare_fd)
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
        """Hand a test to the zygote's spare child; return its pid. The child gets fds (target -> our fd), reports
        a failure before user code on setup_w, and reads payload (the test's data) from a memfd."""
        if not self.alive():
            self.start()
        data_fd = warm_server.write_payload("arbiter-test", payload)
        try:
            targets = list(fds)
            data = warm_server.encode({"fds": targets, "cwd": cwd, "limits": limits.to_json(), "env": env or {}})
            for _ in range(2):  # a spare killed from outside: the zygote forks another one at once
                while self.spare_sock is None:
                    msg = self._recv(READY_TIMEOUT_S)
                    if "error" in msg:
                        raise ZygoteLost("the zygote could not fork: %s" % msg["error"])
                pid, sock = self.spare, self.spare_sock
                self.spare = self.spare_sock = None
                try:
                    socket.send_fds(sock, [data], [fds[t] for t in targets] + [setup_w, data_fd])
                except OSError:
                    continue
                finally:
                    sock.close()
                assert pid is not None
                return pid
        finally:
            os.close(data_fd)
        raise ZygoteLost("the zygote's spare children are gone")

    def poll_exit(self, pid: int) -> tuple[int, float, float] | None:
        """The exit of child pid if the message waiting on the zygote's socket says so; None for another message
        (a new spare, the exit of a spare that never got its test)."""
        msg = self._recv(None)
        if msg.get("pid") == pid and "status" in msg:
            return int(msg["status"]), float(msg["cpu_s"]), float(msg["maxrss_kb"])
        return None

    def exit_status(self, pid: int, timeout: float | None) -> tuple[int, float, float]:
        """(wait status, CPU seconds, max RSS in kB) of the child pid, as the zygote's wait4 saw them."""
        deadline = time.monotonic() + (READY_TIMEOUT_S if timeout is None else timeout)
        while True:
            msg = self._recv(max(0.0, deadline - time.monotonic()))
            if msg.get("pid") == pid and "status" in msg:
                return int(msg["status"]), float(msg["cpu_s"]), float(msg["maxrss_kb"])
            if "spare" not in msg and "status" not in msg:
                raise ZygoteLost("unexpected message from the zygote: %r" % (msg,))
            # a new spare, or the exit of a spare that never got a test (killed from outside): not the answer


def undumpable() -> None:
    """PR_SET_DUMPABLE 0: processes of the same uid can neither ptrace this one nor read its memory via /proc (a
    fork inherits it; an exec of a readable binary resets it, a uid change sets it too)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


# ------------------------------------------------------------------------------------------------ zygote side
def _child(cfg: Settings, req: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: set up, read the test's data, run it. Never returns."""
    from .pyharness import run_python_child

    setup_w = -1
    try:
        fds = [move_high(fd) for fd in fds]
        targets = [int(t) for t in req["fds"]]
        setup_w, data_fd = fds[len(targets)], fds[len(targets) + 1]
        fdmap = dict(zip(targets, fds[: len(targets)], strict=True))
        lim = ChildLimits(**req["limits"])
        child_setup(cfg, lim, fdmap, req["cwd"], extra_keep=[setup_w, data_fd])
        payload = warm_server.read_payload(data_fd)
        set_environ(child_env(req["cwd"], req.get("env") or None))
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


class _Spare:
    """A child forked ahead of its test, blocked on a socket of its own until the executor sends it the test's
    request and fds. Forked from the zygote like any test child, it holds nothing else: no job reaches it before
    its own request. It closes `taken` when its request came (or it died): then the zygote forks the next one."""

    __slots__ = ("pid", "sock", "taken")

    def __init__(self, pid: int, sock: socket.socket, taken: int) -> None:
        self.pid, self.sock, self.taken = pid, sock, taken


def _dying(pid: int) -> bool:
    """pid is exiting, or a SIGKILL waits for it (a process killed from outside that has not yet run to its end:
    it would not live to report its test's exit). Read from /proc/PID/status with a few finds, not a parse of its
    ~55 lines: it runs in every test's child, where each object made costs."""
    try:  # os.open / os.read, not open(): no buffered file object built (and its pages written) on the test's path
        fd = os.open("/proc/%d/status" % pid, os.O_RDONLY | os.O_CLOEXEC)
        try:
            status = os.read(fd, 1 << 16)
        finally:
            os.close(fd)
    except OSError:
        return True
    for key in (b"\nState:", b"\nSigPnd:", b"\nShdPnd:"):
        at = status.find(key)
        if at < 0:
            continue
        value = status[at + len(key) : status.find(b"\n", at + 1)].strip()
        if key == b"\nState:":
            if value[:1] in (b"Z", b"X"):
                return True
        elif int(value or b"0", 16) & (1 << (signal.SIGKILL - 1)):
            return True
    return False


#: how often warm_child_path runs each step: CPython 3.11 quickens a function's bytecode at its 8th call
WARM_ROUNDS = 10


def warm_child_path() -> None:
    """Run the pure steps of a test child's path here in the zygote, on made-up data, WARM_ROUNDS times: the
    request's datagram and fds, the zygote check, the fd moves, the limits, the payload memfd, the environment, the
    streams, a compile, the candidate's codec and frames. Why: CPython 3.11 counts a function's first calls in its
    code object and then rewrites its bytecode in place (quickening, specialisation); a child that calls a function
    for the first time writes those counters, and each write to a page it shares with the zygote is a
    copy-on-write fault (~3.5 us here). Quickened here, once, the shared code objects stay unwritten in every
    child: half the faults of these steps (334 -> 167 for a json.loads, 3 streams and a compile, measured in a
    forked child). Nothing of a job is involved: the zygote still never holds one. The steps that change the
    process (process group, dup2 onto 0..2, closing fds, signals, chdir, uid, rlimits) are not run here."""
    from .candidate import decode, encode, fresh_streams, read_frame, write_frame
    from .limits import ChildLimits as _Limits

    limits = {"cpu_s": 2.0, "memory_mb": 256, "max_processes": 32, "file_size_mb": 16.0, "open_files": 64}
    req = {"fds": [0, 1, 2], "cwd": "/tmp/warm", "limits": limits, "env": {"PYTHONDONTWRITEBYTECODE": "1"}}
    value = [1, "a", (2, 3.5), {"k": None, 1: [True]}, {4}, b"x", -1.5]
    r, w = os.pipe()
    try:
        for _ in range(WARM_ROUNDS):
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            _send(ours, req, [r, w])
            data, fds, _flags, _addr = socket.recv_fds(theirs, MAX_MSG, MAX_FDS)
            ours.close()
            theirs.close()
            got = json.loads(data.decode("ascii"))
            for fd in [move_high(fd) for fd in fds]:
                os.close(fd)
            _Limits(**got["limits"])
            _dying(os.getpid())
            warm_server.read_payload(warm_server.write_payload("arbiter-warm", {"job": got, "test": "1\n"}))
            set_environ(child_env(got["cwd"], got["env"]))
            for stream in fresh_streams():
                stream.close()  # closefd=False: the zygote's fds 0..2 stay as they are
            compile("n = int(input())\nprint(sum(range(n)))\n", "/tmp/warm/main.py", "exec")
            write_frame(w, {"ok": encode(value)})
            decode(read_frame(r)["ok"])
    finally:
        set_environ(child_env("/"))
        for fd in (r, w):
            os.close(fd)


def _fork_spare(cfg: Settings, sock: socket.socket) -> _Spare:
    zygote = os.getpid()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    taken_r, taken_w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        for f in (taken_r, taken_w):
            os.close(f)
        ours.close()
        theirs.close()
        raise
    if pid == 0:  # ---------------- the spare: wait for its test
        try:
            sock.close()
            ours.close()
            os.close(taken_r)
            data, fds, _flags, _addr = socket.recv_fds(theirs, MAX_MSG, MAX_FDS)
            os.close(taken_w)
            theirs.close()
            req = json.loads(data.decode("ascii")) if data else None
        except (OSError, ValueError):
            os._exit(0)
        if req is None:
            os._exit(0)  # the executor let it go unused (a new zygote, the worker's end)
        if os.getppid() != zygote or _dying(zygote):
            # The zygote died (killed from outside) before the test came: nobody would report its exit. Say so
            # before any user code runs; the executor starts a new zygote and runs the test on it.
            try:
                os.write(fds[len(req["fds"])], ORPHANED.encode())
            except (OSError, IndexError, KeyError, TypeError):
                pass
            os._exit(0)
        _child(cfg, req, fds)
    os.close(taken_w)
    theirs.close()
    return _Spare(pid, ours, taken_r)


def serve(cfg: Settings, fd: int) -> int:
    """The zygote's loop (entered through main() with --zygote FD)."""
    import gc

    from .pyharness import preload

    sock = socket.socket(fileno=fd)
    if not cfg.switch_user:
        undumpable()
    preload()
    set_environ(child_env("/"))  # the children's common variables, set once: a child changes only what differs
    warm_child_path()
    # Everything the zygote holds now lives as long as it does: out of the collector's sight, a collection in a
    # child (a program that allocates triggers one) does not walk, and so copy-on-write, the zygote's whole heap.
    gc.collect()
    gc.freeze()
    _send(sock, {"ready": True})
    current: _Spare | None = None
    while True:
        try:
            spare = _fork_spare(cfg, sock)
        except OSError as e:
            _send(sock, {"error": "%s: %s" % (type(e).__name__, e)})
            return 1  # the executor starts a new zygote
        try:
            _send(sock, {"spare": spare.pid}, [spare.sock.fileno()])
        except OSError:
            return 0  # the executor is gone
        spare.sock.close()
        if current is not None:
            _, status, ru = os.wait4(current.pid, 0)
            msg = {"pid": current.pid, "status": status, "cpu_s": ru.ru_utime + ru.ru_stime, "maxrss_kb": ru.ru_maxrss}
            try:
                _send(sock, msg)
            except OSError:
                return 0
        # until the spare takes its test (or dies): the executor's end of the socket closing ends the zygote
        ready, _, _ = select.select([spare.taken, sock.fileno()], [], [])
        os.close(spare.taken)
        if sock.fileno() in ready:
            return 0  # the executor sends nothing: readable is its end of the socket closing
        current = spare
