"""The warm interpreter that forks the TEST side of Python assert tests (the "harness zygote"), a process of its own.

Why: the assert harness (pyharness.run_assert_harness) used to be forked from the executor per test. The executor's
heap is the largest in the sandbox (the job loop, every job's frames, freed or not), so each fork copied its page
tables and the harness then paid copy-on-write faults on pages its refcounts touched, and imported ctypes for its
undumpable() call after the uid switch. This process is a fresh interpreter (exec, dispatched by entry.py before
the executor's own imports, like zygote.py), imports what a
harness needs once, freezes its heap out of the garbage collector's reach (gc.freeze: the collector of a child
then never writes to the shared pages), and forks one harness per assert test. It never holds a job: the test code
and the entry point travel in a memfd that it passes on unread; the forked child reads it after the fork.

The child is set up exactly as before (become_harness): a process group of its own, the judge's uid (never the program's), its own limits,
undumpable, stdin/stdout/stderr on /dev/null, the request / reply pipes to the candidate on fds 3 / 4 and the
report pipe on fd 5 (kinds/asserts.py).

Protocol, over a SOCK_SEQPACKET socketpair (one message per datagram, fds as SCM_RIGHTS):
    executor -> zygote   {"op": "fork", "limits"} + fds [request_w, reply_r, report_w, data]
    zygote -> executor   {"pid": N} | {"error": "..."}
    executor -> zygote   {"op": "end", "pid": N}   no answer: kill the harness's process group, reap it
The harness's exit status is not needed (only its report counts), so "end" is not answered: the next "fork" is
served after it, in order.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
from collections.abc import Callable, Iterable
from typing import Any

from . import warm_server
from .limits import ChildLimits, child_env, child_setup, move_high, set_environ
from .settings import Settings
from .warm_server import MAX_MSG, READY_TIMEOUT_S
from .warm_server import send as _send

MAX_FDS = 8
#: imported once here: unittest (BigCodeBench-style TestCases) and the small pure modules test code commonly imports.
#: Not the zygote's whole PRELOAD: every extension module and every page of heap more makes each fork and each exit
#: dearer (page tables to copy and to tear down), and test code rarely needs them (an import then runs in the test).
#: Not random: its os.register_at_fork hook reseeds in every harness (~0.12 ms per fork), and 4 of HumanEval's 164
#: tests import it (they pay ~0.7 ms for the import instead).
HARNESS_PRELOAD = ("unittest", "math", "copy", "string", "re", "collections", "itertools", "functools")
#: its name (/proc/PID/comm, what ps shows), which its harnesses inherit: the one mark that tells it from the zygote
#: when both were forked from the executor (same command line)
COMM = b"arbiter-harness"
#: the fds the harness finds its pipes on (kinds/asserts.py and candidate.py agree on 3 and 4)
REQUEST_FD, REPLY_FD, REPORT_FD = 3, 4, 5


class HarnessZygoteLost(OSError):
    """The harness zygote died or does not answer (the caller starts a fresh one, or forks the harness itself)."""


class JudgeSettings:
    """The executor's settings as child_setup sees them for a harness: the judge's uid instead of the program's."""

    def __init__(self, cfg: Settings) -> None:
        self.switch_user = cfg.switch_user
        self.uid = cfg.judge_uid
        self.gid = cfg.judge_uid


def harness_limits(lim: dict[str, Any]) -> ChildLimits:
    """The harness's own limits: the test's CPU time and a second (a reference that loops is stopped), room for the
    replies it decodes; under the judge's uid, never the program's."""
    return ChildLimits(
        cpu_s=float(lim.get("cpu_s", 2.0)) + 1.0,
        memory_mb=max(int(lim.get("memory_mb", 256)), 512),
        max_processes=0,
        file_size_mb=1,
        open_files=64,
    )


class HarnessZygote:
    """The executor's handle on its harness zygote."""

    def __init__(self, cfg: Settings) -> None:
        self.cfg = cfg
        self.sock: socket.socket | None = None
        self.pid: int | None = None

    def start(self, fork: bool = False) -> None:
        """Start it and wait until it has imported what a harness needs. fork=True only before the executor has
        read any frame (its heap holds no job); otherwise a fresh interpreter (exec), as zygote.py does."""
        self.close()
        self.pid, self.sock = warm_server.spawn(self.cfg, "--harness-zygote", serve, fork)
        r, _, _ = select.select([self.sock], [], [], READY_TIMEOUT_S)
        msg = self._recv() if r else {}
        if msg.get("ready") is not True:
            self.close()
            raise HarnessZygoteLost("the harness zygote did not start: %r" % (msg,))

    def alive(self) -> bool:
        return self.pid is not None and self.sock is not None and warm_server.alive(self.pid)

    def pids(self) -> tuple[int, ...]:
        return (self.pid,) if self.pid is not None else ()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.pid is not None:
            warm_server.kill(self.pid)
            self.pid = None

    def _recv(self) -> dict[str, Any]:
        assert self.sock is not None
        try:
            data = self.sock.recv(MAX_MSG)
        except OSError as e:
            raise HarnessZygoteLost("the harness zygote's socket failed: %s" % e) from None
        if not data:
            raise HarnessZygoteLost("the harness zygote exited")
        msg = json.loads(data.decode("ascii"))
        if not isinstance(msg, dict):
            raise HarnessZygoteLost("unexpected message from the harness zygote")
        return msg

    def request(self, limits: ChildLimits, pipes: tuple[int, int, int], payload: dict[str, Any]) -> None:
        """Ask it to fork a harness on pipes (request_w, reply_r, report_w; ours stay open) that reads payload (the
        test's data) from a memfd after the fork. The pid is collected later (forked()), so that the executor
        starts the candidate meanwhile instead of waiting for this process to be scheduled."""
        if not self.alive():
            self.start()
        data_fd = warm_server.write_payload("arbiter-harness", payload)
        try:
            assert self.sock is not None
            try:
                _send(self.sock, {"op": "fork", "limits": limits.to_json()}, [*pipes, data_fd])
            except OSError as e:
                raise HarnessZygoteLost("cannot reach the harness zygote: %s" % e) from None
        finally:
            os.close(data_fd)

    def forked(self) -> int:
        """The pid of the harness request() asked for."""
        if self.sock is None:
            raise HarnessZygoteLost("no harness zygote")
        r, _, _ = select.select([self.sock], [], [], READY_TIMEOUT_S)
        if not r:
            raise HarnessZygoteLost("the harness zygote did not answer within %.0f s" % READY_TIMEOUT_S)
        msg = self._recv()
        if "error" in msg or not isinstance(msg.get("pid"), int):
            raise HarnessZygoteLost("the harness zygote could not fork: %s" % msg.get("error", msg))
        return int(msg["pid"])

    def end(self, pid: int) -> None:
        """Kill the harness pid and its process group, and have it reaped (by the zygote, whose child it is)."""
        if self.sock is None:
            return
        try:
            _send(self.sock, {"op": "end", "pid": pid})
        except OSError:
            self.close()  # gone: its children went with its pid namespace or are reaped by the cleaner


# ------------------------------------------------------------------------------------------------ the harness
def become_harness(
    cfg: Settings,
    limits: ChildLimits,
    pipes: tuple[int, int, int],
    undumpable: Callable[[], Any],
    keep: Iterable[int] = (),
) -> None:
    """In a forked harness (of the harness zygote, or of the executor when there is none): the pipes (request_w,
    reply_r, report_w) on fds 3 / 4 / 5, stdin / stdout / stderr on /dev/null, every other fd but keep closed, a
    process group of its own, the judge's uid (never the program's), its limits, undumpable, the children's
    environment. Raises on failure (the caller _exits: no report, the test reads as not run to its end)."""
    req_w, rep_r, res_w = (move_high(fd) for fd in pipes)
    null = move_high(os.open(os.devnull, os.O_RDWR))
    given = {REQUEST_FD: req_w, REPLY_FD: rep_r, REPORT_FD: res_w, 0: null, 1: null, 2: null}
    child_setup(JudgeSettings(cfg), limits, given, "/", extra_keep=keep)  # type: ignore[arg-type]
    # PR_SET_DUMPABLE 0: the uid change already did it; without root (one uid for all) say so
    undumpable()
    set_environ(child_env("/"))


def _kill(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except OSError:
            pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _child(cfg: Settings, req: dict[str, Any], fds: list[int], libc: Any) -> None:
    """In the forked harness: set up as the judge, read the test's data, run it. Never returns."""
    from .pyharness import run_assert_harness

    try:
        data_fd = move_high(fds[3])
        # undumpable through the zygote's libc handle (opened once there, not after each harness's uid switch)
        become_harness(cfg, ChildLimits(**req["limits"]), (fds[0], fds[1], fds[2]), _prctl_undumpable(libc), [data_fd])
        payload = warm_server.read_payload(data_fd)
        test, entry_point = str(payload["test"]), str(payload["entry_point"])
    except BaseException:
        os._exit(127)  # no report: the test reads as not run to its end
    run_assert_harness(test, entry_point, REPORT_FD)
    os._exit(127)


def _prctl_undumpable(libc: Any) -> Callable[[], Any]:
    return lambda: libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0


#: how often warm_harness_path runs each step: CPython 3.11 quickens a function's bytecode at its 8th call
WARM_ROUNDS = 10
WARM_TEST = "def check(candidate):\n    assert candidate(1, 'a') == [(2, 3.5), {'k': None}]\n"


def warm_harness_path() -> None:
    """Run the pure steps of a harness's path here, once, on made-up data, WARM_ROUNDS times: the request's
    datagram, the payload memfd, the limits, the environment, compiling test code, the candidate's hello, a proxied
    call (its request frame out, its reply frame in) and the codec. CPython 3.11 writes a function's call counters
    into its code object and then rewrites its bytecode in place: quickened here, the code objects every harness
    shares are not written (so not copied) by each harness. This replaces warming each spare on its own (the same
    steps, paid again per test). No job is involved; the steps that change the process (fds, uid, limits) are not
    run here."""
    from .candidate import decode, encode, read_frame, write_frame
    from .pyharness import _plain_callables, _Test

    value = [1, "a", (2, 3.5), {"k": None, 1: [True]}, {4}, b"x", -1.5]
    lim = harness_limits({}).to_json()
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        call = _Test(req_w, rep_r).proxy("f")
        for _ in range(WARM_ROUNDS):
            _send(ours, {"op": "fork", "limits": lim}, [req_r])
            data, fds, _flags, _addr = socket.recv_fds(theirs, MAX_MSG, MAX_FDS)
            ChildLimits(**json.loads(data.decode("ascii"))["limits"])
            for fd in [move_high(fd) for fd in fds]:
                os.close(fd)
            warm_server.read_payload(warm_server.write_payload("arbiter-warm", {"test": WARM_TEST, "entry_point": "f"}))
            set_environ(child_env("/tmp"))
            compile(WARM_TEST, "<test>", "exec")
            write_frame(rep_w, {"names": ["f"]})
            _plain_callables(read_frame(rep_r))
            write_frame(rep_w, {"ok": encode(value)})
            call(1, "a", k=value)
            decode(read_frame(req_r)["args"])
    finally:
        set_environ(child_env("/"))
        for fd in (req_r, req_w, rep_r, rep_w):
            os.close(fd)
        ours.close()
        theirs.close()


def _spare(cfg: Settings, sock: socket.socket, libc: Any) -> None:
    """A harness forked ahead of its test: wait for the test's request (its fds, its limits), then run it."""
    try:
        data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MSG, MAX_FDS)
        sock.close()
        req = json.loads(data.decode("ascii")) if data else None
    except (OSError, ValueError):
        os._exit(0)
    if not isinstance(req, dict) or len(fds) != 4:
        os._exit(0)  # the zygote is gone (or closed this spare): nothing to run
    _child(cfg, req, fds, libc)


class _Spares:
    """The zygote's harness forked ahead of the next test, so that the fork (its page-table copy, the child's first
    copy-on-write faults) happens while the executor cleans up after a test, not on the next test's path."""

    def __init__(self, cfg: Settings, main: socket.socket, libc: Any) -> None:
        self.cfg, self.main, self.libc = cfg, main, libc
        self.pid: int | None = None
        self.sock: socket.socket | None = None

    def fork_one(self) -> None:
        # Only with a uid of the programs' own: without root the executor's cleanup kills every process it does
        # not know of (cleanup.py), and it does not know the spare's pid
        if self.pid is not None or not self.cfg.switch_user:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            return  # none ahead: the next test's harness is forked on demand
        if pid == 0:
            self.main.close()
            ours.close()
            _spare(self.cfg, theirs, self.libc)
            os._exit(127)
        theirs.close()
        self.pid, self.sock = pid, ours

    def take(self, data: bytes, fds: list[int]) -> int | None:
        """Hand a fork request to the spare; its pid, or None when there is none (or it died)."""
        pid, sock = self.pid, self.sock
        self.pid = self.sock = None
        if pid is None or sock is None:
            return None
        try:
            socket.send_fds(sock, [data], fds)
        except OSError:
            _kill(pid)
            return None
        finally:
            sock.close()
        return pid

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        if self.pid is not None:
            _kill(self.pid)
        self.pid = self.sock = None


def serve(cfg: Settings, fd: int) -> int:
    """The harness zygote's loop (entered through main() with --harness-zygote FD, or forked by start())."""
    import ctypes

    from . import pyharness  # noqa: F401  (what each harness runs, and the candidate's codec)
    from .zygote import undumpable

    sock = socket.socket(fileno=fd)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    if not cfg.switch_user:
        undumpable()
    for name in HARNESS_PRELOAD:
        __import__(name)
    warm_harness_path()
    gc.collect()
    gc.freeze()  # a child's collections never touch (and copy) the pages it shares with this process
    libc = ctypes.CDLL(None, use_errno=True)  # once here, not in each harness after its uid switch
    libc.prctl(15, COMM, 0, 0, 0)  # PR_SET_NAME
    spares = _Spares(cfg, sock, libc)
    spares.fork_one()
    _send(sock, {"ready": True})
    children: set[int] = set()
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MSG, MAX_FDS)
        except OSError:
            data, fds = b"", []
        if not data:
            spares.close()
            for pid in children:
                _kill(pid)
            return 0  # the executor is gone
        try:
            req = json.loads(data.decode("ascii"))
            op = req.get("op") if isinstance(req, dict) else None
        except ValueError:
            op = None
        if op == "end":
            pid = req.get("pid")
            if pid in children:  # only a child of ours, still unreaped: its pid cannot be another process's
                children.discard(pid)
                _kill(pid)
            for f in fds:
                os.close(f)
            spares.fork_one()  # the test is over: the executor cleans up and answers, the next test is not here yet
            continue
        if op != "fork" or len(fds) != 4:
            for f in fds:
                os.close(f)
            _send(sock, {"error": "malformed request"})
            continue
        got = spares.take(data, fds)
        if got is not None:
            pid = got
        else:
            try:
                pid = os.fork()
            except OSError as e:
                for f in fds:
                    os.close(f)
                _send(sock, {"error": "%s: %s" % (type(e).__name__, e)})
                continue
            if pid == 0:
                sock.close()
                _child(cfg, req, fds, libc)
        for f in fds:
            os.close(f)
        children.add(pid)
        _send(sock, {"pid": pid})
