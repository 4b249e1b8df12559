"""Issue 17 (overload): a request that finds the service full waits, before its body is parsed, at most
ARBITER_ADMISSION_WAIT_S for a slot in FIFO order, then gets 429 with a Retry-After derived from the queue and
the drain rate; a client that goes away while it waits gives its place back at once. Driven at the ASGI level
(the middleware and the admission of app/api/admission.py, an app that admits items as the scoring route does),
and through the real app for /healthz, /readyz and /metrics while requests wait."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.admission import Admission, AdmissionMiddleware
from app.config import MathSettings, SandboxSettings, Settings
from app.main import create_app

SIZE = 1600  # bytes of every body: 16 items of 100 bytes, as far as the admission learns


class Channel:
    """A client: its body in one chunk, then nothing until it goes away (`leave`)."""

    def __init__(self, tag: str) -> None:
        self.body = tag.encode().ljust(SIZE, b" ")
        self.pulled = 0
        self.gone = asyncio.Event()

    def leave(self) -> None:
        self.gone.set()

    async def receive(self) -> dict[str, Any]:
        if not self.body:
            await self.gone.wait()
            return {"type": "http.disconnect"}
        body, self.body = self.body, b""
        self.pulled += len(body)
        return {"type": "http.request", "body": body, "more_body": False}


class RouteApp:
    """Reads the body, records its tag, admits 16 items as app/api/deps.py Scorer does and holds them until
    `release` is set."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission
        self.release = asyncio.Event()
        self.order: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = (await receive())["body"]
        async with self.admission.admit(16):
            self.order.append(body.decode().strip())
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def call(middleware: AdmissionMiddleware, channel: Channel) -> tuple[int, dict[str, Any], dict[bytes, bytes]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/score", "headers": [(b"content-length", b"%d" % SIZE)]}
    await middleware(scope, channel.receive, send)  # type: ignore[arg-type]
    if not sent:
        return 0, {}, {}  # nobody to answer: the client went away
    head = dict(sent[0]["headers"]) if sent[0].get("headers") else {}
    return sent[0]["status"], json.loads(b"".join(m.get("body", b"") for m in sent[1:])), head


async def until(condition: Any) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "the admission never got there"
        await asyncio.sleep(0.001)


async def full_server(
    items: int, retry_after_s: int, wait_s: float = 0.0
) -> tuple[Admission, RouteApp, AdmissionMiddleware, asyncio.Task[Any]]:
    """An admission of `items` whose every slot a first request ("holder") holds until `app.release` is set."""
    admission = Admission(items, retry_after_s, wait_s=wait_s)
    app = RouteApp(admission)
    middleware = AdmissionMiddleware(app, admission)
    holder = asyncio.create_task(call(middleware, Channel("holder")))
    await until(lambda: admission.in_flight == items)
    return admission, app, middleware, holder


async def test_a_full_server_queues_requests_then_admits_them_in_arrival_order() -> None:
    admission, app, middleware, holder = await full_server(16, 2, wait_s=10)
    waiting = []
    for n, tag in enumerate(("a", "b", "c", "d"), start=1):
        waiting.append(asyncio.create_task(call(middleware, Channel(tag))))
        await until(lambda n=n: admission.waiting == n)
    assert admission.in_flight == 16 and app.order == ["holder"]
    app.release.set()  # each one that finishes hands its slot to the oldest waiter
    assert [(await t)[0] for t in [holder, *waiting]] == [200] * 5
    assert app.order == ["holder", "a", "b", "c", "d"]
    assert admission.waits.admitted == 4 and admission.waits.refused == 0
    assert admission.in_flight == admission.reserved == admission.waiting == admission.bytes_in_flight == 0


async def test_a_new_request_does_not_pass_the_queue_when_a_slot_frees() -> None:
    admission = Admission(32, 2, wait_s=10)
    app = RouteApp(admission)
    middleware = AdmissionMiddleware(app, admission)
    app.release.set()
    assert (await call(middleware, Channel("learn")))[0] == 200  # 100 bytes per item from now on
    app.release.clear()
    holders = [asyncio.create_task(call(middleware, Channel(f"h{k}"))) for k in range(2)]
    await until(lambda: admission.in_flight == 32)
    first = asyncio.create_task(call(middleware, Channel("first")))
    await until(lambda: admission.waiting == 1)
    # While the queue is not empty, room alone does not admit a newcomer: it queues behind.
    late = asyncio.create_task(call(middleware, Channel("late")))
    await until(lambda: admission.waiting == 2)
    app.release.set()
    assert [(await t)[0] for t in [*holders, first, late]] == [200] * 4
    assert app.order[-2:] == ["first", "late"]


async def test_a_wait_past_the_bound_is_a_429_with_a_retry_after_from_the_drain_rate() -> None:
    admission, app, middleware, holder = await full_server(16, 7, wait_s=0.2)
    started = time.monotonic()
    status, body, headers = await call(middleware, Channel("late"))
    waited = time.monotonic() - started
    assert status == 429 and body["code"] == "overloaded" and 0.2 <= waited < 2
    assert "ARBITER_ADMISSION_WAIT_S" in body["detail"]
    assert headers[b"retry-after"] == b"7"  # nothing finished yet: no drain rate, the configured value
    assert admission.waits.refused == 1 and admission.waiting == 0 and admission.reserved == 0
    app.release.set()
    await holder
    for k in range(20):  # fast completions: a drain rate of hundreds of items per second
        assert (await call(middleware, Channel(f"fast{k}")))[0] == 200
    app.release.clear()
    holder = asyncio.create_task(call(middleware, Channel("holder")))
    await until(lambda: admission.in_flight == 16)
    status, body, headers = await call(middleware, Channel("late"))
    # The backlog (16 items in flight) drains well within a second at that rate: the smallest Retry-After.
    assert status == 429 and headers[b"retry-after"] == b"1"
    app.release.set()
    await holder
    assert admission.in_flight == admission.reserved == admission.bytes_in_flight == 0


async def test_without_a_wait_the_429_comes_at_once_and_nothing_of_the_body_is_read() -> None:
    admission, app, middleware, holder = await full_server(16, 3)
    refused = Channel("refused")
    status, _, headers = await asyncio.wait_for(call(middleware, refused), 1)
    assert status == 429 and headers[b"retry-after"] == b"3" and refused.pulled == 0
    assert admission.waits.refused == admission.waits.admitted == 0
    app.release.set()
    await holder


async def test_a_client_that_goes_away_while_it_waits_gives_its_place_back_at_once() -> None:
    admission, app, middleware, holder = await full_server(16, 2, wait_s=10)
    leaving = Channel("leaving")
    left = asyncio.create_task(call(middleware, leaving))
    await until(lambda: admission.waiting == 1)
    behind = asyncio.create_task(call(middleware, Channel("behind")))
    await until(lambda: admission.waiting == 2)
    leaving.leave()
    await until(lambda: admission.waiting == 1)
    assert await asyncio.wait_for(left, 1) == (0, {}, {})  # nobody to answer
    assert admission.waits.gone == 1
    app.release.set()
    assert (await holder)[0] == (await behind)[0] == 200
    assert app.order == ["holder", "behind"]  # the one that left never reached the route
    assert admission.in_flight == admission.reserved == admission.waiting == admission.bytes_in_flight == 0


async def test_waiting_is_event_driven_not_a_busy_loop() -> None:
    # Nothing CPU-bound on the event loop while requests wait: 200 waiters for 0.5 s cost next to no CPU (a
    # polling wait would burn the whole 0.5 s), and the loop stays free for other work meanwhile.
    admission, app, middleware, holder = await full_server(16, 2, wait_s=0.5)
    cpu0 = time.process_time()
    waiters = [asyncio.create_task(call(middleware, Channel(f"w{k}"))) for k in range(200)]
    ticks = 0
    while not all(t.done() for t in waiters):
        await asyncio.sleep(0.01)
        ticks += 1
    cpu = time.process_time() - cpu0
    assert [(await t)[0] for t in waiters] == [429] * 200
    assert cpu < 0.25, f"{cpu:.2f} s of CPU for 0.5 s of waiting"
    assert ticks >= 25  # the loop ran a 10 ms ticker throughout
    app.release.set()
    await holder
    assert admission.waiting == admission.reserved == admission.bytes_in_flight == 0


async def test_drain_answers_the_waiters_503() -> None:
    admission, app, middleware, holder = await full_server(16, 2, wait_s=10)
    waiter = asyncio.create_task(call(middleware, Channel("w")))
    await until(lambda: admission.waiting == 1)
    admission.drain()
    status, body, headers = await asyncio.wait_for(waiter, 1)
    assert status == 503 and body["code"] == "not_ready" and b"retry-after" in headers
    app.release.set()
    await holder
    assert admission.waiting == admission.reserved == admission.bytes_in_flight == 0


# ------------------------------------------------------------------------------------------------ the real app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(
        max_items=2,
        max_items_in_flight=2,
        admission_wait_s=20,
        math=MathSettings(workers=1, timeout_s=2.0),
        sandbox=SandboxSettings(backend="bwrap", workers=1),
    )
    with TestClient(create_app(settings)) as c:
        yield c


ITEM = {"id": "q", "completion": "<think>\nw\n</think>\n<answer>\n\\boxed{1}\n</answer>", "reference": {"answer": "1"}}


def test_the_real_app_queues_a_request_and_stays_healthy_while_it_waits(client: TestClient) -> None:
    admission = client.app.state.admission  # type: ignore[attr-defined]
    held = admission.admit(2)  # the slots a batch in flight would hold, on the app's event loop
    portal = client.portal
    assert portal is not None
    portal.call(held.__aenter__)
    results: dict[str, httpx.Response] = {}
    worker = threading.Thread(target=lambda: results.setdefault("r", client.post("/v1/score", json={"items": [ITEM]})))
    try:
        worker.start()
        deadline = time.monotonic() + 10
        while admission.waiting < 1:
            assert time.monotonic() < deadline, "the request never queued"
            time.sleep(0.01)
        # Operations answer while the queue is full.
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert "arbiter_admission_waiting 1.0" in client.get("/metrics").text
    finally:
        portal.call(held.__aexit__, None, None, None)
    worker.join(30)
    assert results["r"].status_code == 200, results["r"].text
    metrics = client.get("/metrics").text
    assert 'arbiter_admission_waits_total{outcome="admitted"} 1.0' in metrics
    assert "arbiter_admission_waiting 0.0" in metrics
    assert admission.in_flight == admission.reserved == admission.waiting == 0
