"""A clean zygote for assert-test candidates: forked by the executor at start-up, BEFORE it reads any job, so its
memory holds no test code, expected values or earlier jobs' data; per test it forks a throw-away runner that
forks the candidate (candidate.py's loop, in-process: no interpreter start) and supervises it with the usual
ProcessRunner, then reports what it saw and exits. The zygote itself only ever holds one request's parameters
(paths and limits), never a program's source or output: a candidate forked from it finds nothing of another job.

Protocol (a socketpair, one request at a time): the executor sends one JSON request with the candidate's two
call pipes attached (SCM_RIGHTS); the runner answers with one JSON frame: the Finished fields (stdout / stderr as
latin-1 text). Any failure (the zygote gone, a short reply) makes Zygote.run return None: the caller falls back to
starting candidate.py as a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from typing import Any

from .limits import ChildLimits
from .process import ProcessRunner
from .settings import Settings
from .verdicts import Finished

MAX_REPLY = 64 * 1024 * 1024


class Zygote:
    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid = pid
        self.sock = sock

    @classmethod
    def start(cls, cfg: Settings, close: tuple[int, ...] = ()) -> Zygote | None:
        """Fork the zygote; close: the executor's fds the zygote must not keep (the protocol's)."""
        try:
            parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError:
            return None
        pid = os.fork()
        if pid == 0:
            parent.close()
            for fd in close:
                os.close(fd)
            try:
                _serve(cfg, child)
            finally:
                os._exit(0)
        child.close()
        return cls(pid, parent)

    def run(
        self, src: str, cwd: str, limits: ChildLimits, wall_s: float, max_out: int, req_r: int, rep_w: int
    ) -> Finished | None:
        request = {
            "src": src,
            "cwd": cwd,
            "limits": limits.__dict__,
            "wall_s": wall_s,
            "max_out": max_out,
        }
        data = json.dumps(request).encode()
        self.sock.settimeout(wall_s + 10.0)  # the runner enforces the wall clock; this only bounds a lost runner
        try:
            socket.send_fds(self.sock, [struct.pack(">I", len(data)) + data], [req_r, rep_w])
        except OSError:
            return None
        finally:
            os.close(req_r)
            os.close(rep_w)
        reply = _read_frame(self.sock)
        if not isinstance(reply, dict):
            return None
        return Finished(
            pid=int(reply["pid"]),
            status=int(reply["status"]),
            cpu_s=float(reply["cpu_s"]),
            wall_s=float(reply["wall_s"]),
            stdout=reply["stdout"].encode("latin-1"),
            stderr=reply["stderr"].encode("latin-1"),
            result=b"",
            ole=bool(reply["ole"]),
            truncated=bool(reply["truncated"]),
            killed_wall=bool(reply["killed_wall"]),
            maxrss_mb=float(reply["maxrss_mb"]),
            setup_error=str(reply["setup_error"]),
        )


def _read_exactly(sock: socket.socket, n: int) -> bytes | None:
    chunks = []
    while n:
        try:
            b = sock.recv(min(n, 1 << 20))
        except OSError:
            return None
        if not b:
            return None
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def _read_frame(sock: socket.socket) -> Any:
    head = _read_exactly(sock, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    if n > MAX_REPLY:
        return None
    body = _read_exactly(sock, n)
    return json.loads(body) if body is not None else None


def _serve(cfg: Settings, sock: socket.socket) -> None:
    """The zygote's loop: one request, one runner, until the executor closes the socket."""
    import signal

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 4, 2)
        except OSError:
            return
        if not msg:
            return
        (n,) = struct.unpack(">I", msg)
        body = _read_exactly(sock, n)
        if body is None or len(fds) != 2:
            return
        request = json.loads(body)
        runner = os.fork()
        if runner == 0:
            try:
                _run_one(cfg, sock, request, fds[0], fds[1])
            finally:
                os._exit(0)
        for fd in fds:
            os.close(fd)
        del request, body
        os.waitpid(runner, 0)


def _run_one(cfg: Settings, sock: socket.socket, request: dict[str, Any], req_r: int, rep_w: int) -> None:
    from .candidate import REPLY_FD, REQUEST_FD, run_program

    src = str(request["src"])
    r = ProcessRunner(cfg).run(
        None,
        cwd=str(request["cwd"]),
        limits=ChildLimits(**request["limits"]),
        stdin_data=b"",
        wall_s=float(request["wall_s"]),
        max_out=int(request["max_out"]),
        harness=lambda: run_program(src),
        extra_fds={REQUEST_FD: req_r, REPLY_FD: rep_w},
    )
    reply = {
        "pid": r.pid,
        "status": r.status,
        "cpu_s": r.cpu_s,
        "wall_s": r.wall_s,
        "stdout": r.stdout.decode("latin-1"),
        "stderr": r.stderr.decode("latin-1"),
        "ole": r.ole,
        "truncated": r.truncated,
        "killed_wall": r.killed_wall,
        "maxrss_mb": r.maxrss_mb,
        "setup_error": r.setup_error,
    }
    data = json.dumps(reply).encode()
    sock.sendall(struct.pack(">I", len(data)) + data)
