"""A live Arbiter for the adapter tests: `arbiter serve` on a free port, one math worker and one bwrap sandbox worker
(bwrap rather than docker: it starts in a fraction of a second, and the adapters do not test isolation)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def arbiter_url() -> Iterator[str]:
    port = free_port()
    env = dict(os.environ, ARBITER_MATH_WORKERS="1", ARBITER_SANDBOX_WORKERS="1", ARBITER_SANDBOX_BACKEND="bwrap")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=root, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"arbiter exited with {proc.returncode} before answering")
            try:
                # /healthz, not /readyz: readyz is 503 while no sandbox is ready, and most tests are math only.
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("arbiter did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def dead_url() -> str:
    """A port nobody listens on: connections are refused."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def black_hole_url() -> Iterator[str]:
    """A server that accepts connections and never answers: only a deadline gets a caller out."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                accepted.append(conn)
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    sock.close()
