"""A live Arbiter for the adapter tests: `arbiter serve` on a free port, one math worker and one bwrap sandbox worker
(bwrap rather than docker: it starts in a fraction of a second, and the adapters do not test isolation)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from adapter_helpers import free_port, running_arbiter  # type: ignore[import-not-found]


@pytest.fixture(scope="session")
def arbiter_url() -> Iterator[str]:
    with running_arbiter() as url:
        yield url


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
