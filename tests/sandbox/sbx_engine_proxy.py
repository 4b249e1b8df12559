"""A Docker engine outage for one backend only: a unix-socket relay in front of the shared engine.

Other helpers and services share the machine's engine, so the fault-injection suite never stops it. A backend
pointed at this relay (DockerConfig(base_url=relay.url)) sees the engine exactly as through its own socket while
the relay is up; stop() is an outage as the SDK sees it when the engine dies: every open connection (API calls and
the workers' attach streams) is cut and a new connect is refused (a bound socket that does not listen:
ECONNREFUSED, a real socket error at the SDK boundary). start() brings the engine back."""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading

ENGINE_SOCKET = "/var/run/docker.sock"


class EngineRelay:
    def __init__(self, upstream: str = ENGINE_SOCKET) -> None:
        self.upstream = upstream
        self._dir = tempfile.mkdtemp(prefix="arbiter-engine-relay-")
        self.path = os.path.join(self._dir, "docker.sock")
        self.url = "unix://" + self.path
        self._listener: socket.socket | None = None
        self._refuser: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        self._close_refuser()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lst.bind(self.path)
        lst.listen(64)
        self._listener = lst
        self._thread = threading.Thread(target=self._accept, args=(lst,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """The engine goes down: cut everything, refuse new connections."""
        lst, self._listener = self._listener, None
        if lst is not None:
            with contextlib.suppress(OSError):
                lst.shutdown(socket.SHUT_RDWR)
            lst.close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        refuser = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        refuser.bind(self.path)  # bound, never listening: connect() gets ECONNREFUSED
        self._refuser = refuser

    def close(self) -> None:
        self.stop()
        self._close_refuser()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.rmdir(self._dir)

    def _close_refuser(self) -> None:
        if self._refuser is not None:
            self._refuser.close()
            self._refuser = None

    # ------------------------------------------------------------------ relay
    def _accept(self, lst: socket.socket) -> None:
        while True:
            try:
                client, _ = lst.accept()
            except OSError:
                return  # stopped
            try:
                up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                up.connect(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not lst:  # stopped meanwhile
                    client.close()
                    up.close()
                    return
                self._conns.update((client, up))
            for a, b in ((client, up), (up, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
