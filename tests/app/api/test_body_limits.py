"""Issue 11 item 5: request bodies are bounded in bytes (a 413 before the body is read when Content-Length says so,
as soon as a streamed body passes the limit otherwise), body bytes in flight are admitted like items, and the
memory of big requests goes back to the OS. The ASGI-level tests drive the middleware with a receive channel that
records what was read; the last one measures a real `arbiter serve` process under concurrent large bodies."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.api.admission import Admission, AdmissionMiddleware
from app.api.memory import release_freed_memory

ROOT = Path(__file__).resolve().parents[3]


class Channel:
    """An ASGI receive channel that serves a body in chunks and counts the bytes the app pulled."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.pulled = 0

    async def receive(self) -> dict[str, Any]:
        if not self.chunks:
            await asyncio.sleep(3600)  # a real client would wait for the answer
        chunk = self.chunks.pop(0)
        self.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}


async def call(
    middleware: AdmissionMiddleware, channel: Channel, headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/score", "headers": headers}
    await middleware(scope, channel.receive, send)  # type: ignore[arg-type]
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return status, json.loads(body)


class EchoApp:
    """Stands for the app: reads the whole body as Starlette does and answers its length."""

    def __init__(self) -> None:
        self.bodies: list[int] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(len(body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": json.dumps({"bytes": len(body)}).encode()})


MB = 1 << 20


async def test_content_length_over_the_limit_is_a_413_before_any_byte_is_read() -> None:
    app = EchoApp()
    middleware = AdmissionMiddleware(app, Admission(10, 1, max_bytes=100 * MB), max_request_bytes=4 * MB)
    channel = Channel([b"x" * MB] * 8)
    status, body = await call(middleware, channel, [(b"content-length", str(8 * MB).encode())])
    assert status == 413 and body["code"] == "payload_too_large"
    assert "ARBITER_MAX_REQUEST_BYTES" in body["detail"]
    assert channel.pulled == 0 and app.bodies == []


async def test_a_streamed_body_is_cut_as_soon_as_it_passes_the_limit() -> None:
    app = EchoApp()
    admission = Admission(10, 1, max_bytes=100 * MB)
    middleware = AdmissionMiddleware(app, admission, max_request_bytes=4 * MB)
    channel = Channel([b"x" * MB] * 50)  # no Content-Length: chunked
    status, body = await call(middleware, channel, [])
    assert status == 413 and "more than 4194304 bytes" in body["detail"]
    assert channel.pulled == 5 * MB  # the chunk that passed the limit, not one more
    assert app.bodies == [] and admission.bytes_in_flight == 0


async def test_a_body_within_the_limit_reaches_the_app_whole_and_is_released() -> None:
    app = EchoApp()
    admission = Admission(10, 1, max_bytes=100 * MB)
    middleware = AdmissionMiddleware(app, admission, max_request_bytes=4 * MB)
    for headers in ([(b"content-length", str(3 * MB).encode())], []):
        status, body = await call(middleware, Channel([b"x" * MB] * 3), headers)
        assert status == 200 and body == {"bytes": 3 * MB}
    assert app.bodies == [3 * MB, 3 * MB] and admission.bytes_in_flight == 0


async def test_bytes_in_flight_are_admitted_like_items() -> None:
    admission = Admission(10, 7, max_bytes=10 * MB)
    started, release = asyncio.Event(), asyncio.Event()

    class SlowApp(EchoApp):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            started.set()
            await release.wait()
            await super().__call__(scope, receive, send)

    middleware = AdmissionMiddleware(SlowApp(), admission, max_request_bytes=8 * MB)
    first = asyncio.create_task(call(middleware, Channel([b"x" * MB] * 6), [(b"content-length", str(6 * MB).encode())]))
    await started.wait()
    assert admission.bytes_in_flight == 6 * MB
    # 6 + 6 MB would pass the 10 MB in flight: a 429 with nothing read, by Content-Length or as it streams.
    channel = Channel([b"x" * MB] * 6)
    status, body = await call(middleware, channel, [(b"content-length", str(6 * MB).encode())])
    assert status == 429 and "ARBITER_MAX_BYTES_IN_FLIGHT" in body["detail"] and channel.pulled == 0
    streamed = Channel([b"x" * MB] * 6)
    status, _ = await call(middleware, streamed, [])
    assert status == 429 and streamed.pulled == 5 * MB
    assert admission.bytes_in_flight == 6 * MB
    release.set()
    assert (await first)[0] == 200
    assert admission.bytes_in_flight == 0


async def test_a_bad_content_length_is_a_422() -> None:
    middleware = AdmissionMiddleware(EchoApp(), Admission(10, 1, max_bytes=MB), max_request_bytes=MB)
    status, body = await call(middleware, Channel([b"{}"]), [(b"content-length", b"12x")])
    assert status == 422 and body["errors"][0]["field"] == "Content-Length"


def test_freed_memory_goes_back_to_the_os() -> None:
    assert release_freed_memory() is True  # glibc here; the function says False elsewhere


# ------------------------------------------------------------------------------------------------ real server


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[str], str]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = dict(
        os.environ,
        ARBITER_SANDBOX_BACKEND="bwrap",
        ARBITER_SANDBOX_WORKERS="1",
        ARBITER_SANDBOX_INSTANCE="body-limits-test",
        ARBITER_MATH_WORKERS="1",
        ARBITER_MAX_REQUEST_BYTES=str(24 * MB),
        ARBITER_MAX_BYTES_IN_FLIGHT=str(48 * MB),
        ARBITER_LOG_LEVEL="warning",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            assert proc.poll() is None, f"arbiter serve exited with {proc.returncode}"
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "arbiter serve did not start within 90 s"
            time.sleep(0.3)
        yield proc, url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def big_body(megabytes: int) -> bytes:
    # Completions at the default character limit, format only: the cost is the body, not the scoring.
    completion = "<think>\n" + "reasoning " * 26_000 + "\n</think>\n<answer>\n\\boxed{1}\n</answer>"
    n = megabytes * MB // len(completion)
    items = [{"id": str(i), "completion": completion} for i in range(n)]
    return json.dumps({"items": items, "rewards": {"format": {}}}).encode()


@pytest.mark.slow
async def test_rss_stays_bounded_under_concurrent_large_bodies(server: tuple[subprocess.Popen[str], str]) -> None:
    proc, url = server
    body = big_body(20)  # under the 24 MB limit; two fit in the 48 MB in flight, six do not
    too_big = big_body(60)
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        warm = await client.post("/v1/score", content=body, headers={"content-type": "application/json"})
        assert warm.status_code == 200, warm.text
        await asyncio.sleep(0.5)
        baseline = rss_mb(proc.pid)
        peak = baseline
        stop = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, rss_mb(proc.pid))
                await asyncio.sleep(0.02)

        sampler = asyncio.create_task(sample())
        statuses: list[int] = []
        for _ in range(3):  # three waves of six concurrent 20 MB bodies, the sizes of issue 11's probe scaled down
            answers = await asyncio.gather(
                *(
                    client.post("/v1/score", content=body, headers={"content-type": "application/json"})
                    for _ in range(6)
                )
            )
            statuses += [a.status_code for a in answers]
        over = await client.post("/v1/score", content=too_big, headers={"content-type": "application/json"})
        stop.set()
        await sampler
        await asyncio.sleep(1.0)
        after = rss_mb(proc.pid)
    print(f"RSS baseline {baseline:.0f} MB, peak {peak:.0f} MB, after {after:.0f} MB; statuses {statuses}")
    assert over.status_code == 413 and over.json()["code"] == "payload_too_large"
    assert set(statuses) <= {200, 429} and 200 in statuses and 429 in statuses, statuses
    # Measured here: without the bytes bound and the trim, +276 MB at the peak and +89 MB held after; with them
    # +99 MB and +1 MB (at most 48 MB of bodies in flight, each parsed a few times over).
    assert peak - baseline < 200, (baseline, peak)
    assert after - baseline < 50, (baseline, after)
