"""What the executor's two warm servers share (zygote.py forks programs, harness_zygote.py forks assert harnesses):
how one is started, how the executor knows it is alive and kills it, and their one-datagram JSON messages.

Both run in a process of their own that never holds a job, started before the executor reads its first frame;
both speak over a SOCK_SEQPACKET socketpair, one message per datagram, fds as SCM_RIGHTS."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

from .limits import list_fds
from .settings import Settings

PKG_DIR = os.path.dirname(os.path.abspath(__file__))
MAX_MSG = 1 << 16
MAX_FDS = 16
READY_TIMEOUT_S = 30.0


#: one encoder for every message: json.dumps with arguments builds a JSONEncoder per call, and every object the
#: zygote makes between two forks is a page it copies (copy-on-write: its spare shares them)
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def encode(obj: dict[str, Any]) -> bytes:
    """obj as one message's ASCII JSON."""
    return _encode(obj).encode("ascii")


def send(sock: socket.socket, obj: dict[str, Any], fds: list[int] | None = None) -> None:
    data = encode(obj)
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def memfd_holding(name: str, data: bytes, cloexec: bool = True) -> int:
    """A memfd holding data, at offset 0; close-on-exec unless cloexec is False (bwrap's seccomp filter is passed on
    by fd number). The caller closes it."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC if cloexec else 0)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_payload(name: str, payload: dict[str, Any]) -> int:
    """A memfd holding payload as JSON (memfd_holding): a test's data, which the server passes on unread to the
    child it forks; the caller closes it once sent."""
    return memfd_holding(name, encode(payload))


def read_payload(fd: int) -> Any:
    """In the forked child: the JSON payload of the memfd fd (write_payload), which is closed. Its size comes from
    fstat, so that a payload is one read (a loop only for a short read)."""
    size = os.fstat(fd).st_size
    blob = os.read(fd, size) if size else b""
    while len(blob) < size:
        more = os.read(fd, size - len(blob))
        if not more:
            break
        blob += more
    os.close(fd)
    return json.loads(blob.decode("ascii"))


def spawn(cfg: Settings, flag: str, serve: Callable[[Settings, int], int], fork: bool) -> tuple[int, socket.socket]:
    """Start a server: (its pid, our end of its socket). Default: fork and at once exec a fresh interpreter
    (`python -I PKG_DIR <flag> FD ...`), so that nothing of the executor's heap survives into it. fork=True (only
    before the executor has read any frame, so its heap holds no job): the forked executor runs serve itself."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    fd = theirs.fileno()
    argv = [sys.executable, "-I", "-u", "-B", PKG_DIR, flag, str(fd), *cfg.argv]
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for other in list_fds():
                if other > 2 and other != fd:
                    try:
                        os.close(
                            other
                        )  # the protocol fds and the other server's socket above all: it never sees a frame
                    except OSError:
                        pass
            if fork:
                code = serve(cfg, fd)
            else:
                os.set_inheritable(fd, True)
                os.execv(argv[0], argv)
        finally:
            os._exit(code)
    theirs.close()
    return pid, ours


def alive(pid: int) -> bool:
    """Whether our child pid still runs (False once reaped, e.g. by the cleaner's waitpid(-1))."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == 0
    except ChildProcessError:
        return False


def kill(pid: int) -> None:
    """Kill and reap our child pid, only while it is still our unreaped child: a reaped pid may be another
    process's."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass
