"""Shared by the adapter tests (imported by module name: tests/ is on the path, see pyproject)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx


class Recording(httpx.AsyncBaseTransport):
    """The real network transport, recording each request body: what the adapter actually sent."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.bodies: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_arbiter(**env_overrides: str) -> Iterator[str]:
    """`arbiter serve` on a free port with extra ARBITER_* variables; stopped (and waited for) on exit."""
    port = free_port()
    env = dict(os.environ, ARBITER_MATH_WORKERS="1", ARBITER_SANDBOX_WORKERS="1", ARBITER_SANDBOX_BACKEND="bwrap")
    env.update(env_overrides)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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
