"""Issue 17 (overload): a request that passes the early test reserves the items it is expected to hold until the
route admits its real count, so that requests arriving while the reserved and admitted items leave no room are
refused before a byte of their body is read (under a 10x load most refusals would otherwise come after the body
was read, parsed and validated). The middleware is driven at the ASGI level with a receive channel that counts
the bytes the app pulled, and an app that admits items as the scoring route does."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from app.api.admission import Admission, AdmissionMiddleware

BODY = b"x" * 1600  # 16 items of 100 bytes each, as far as the admission learns


class Channel:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.pulled = 0

    async def receive(self) -> dict[str, Any]:
        if not self.body:
            await asyncio.sleep(3600)  # a real client would wait for the answer
        body, self.body = self.body, b""
        self.pulled += len(body)
        return {"type": "http.request", "body": body, "more_body": False}


class RouteApp:
    """Reads the body, parses it (until `parsed` is set), then admits `items` as app/api/deps.py Scorer does and
    holds them until `release` is set."""

    def __init__(self, admission: Admission, items: int = 16) -> None:
        self.admission = admission
        self.items = items
        self.parsed = asyncio.Event()
        self.parsed.set()
        self.release = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await self.parsed.wait()
        async with self.admission.admit(self.items):
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def call(middleware: AdmissionMiddleware, channel: Channel, declared: bool = True) -> tuple[int, Any, dict]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"content-length", str(len(channel.body)).encode())] if declared else []
    scope = {"type": "http", "method": "POST", "path": "/v1/score", "headers": headers}
    await middleware(scope, channel.receive, send)  # type: ignore[arg-type]
    head = dict(sent[0]["headers"]) if sent[0].get("headers") else {}
    return sent[0]["status"], json.loads(b"".join(m.get("body", b"") for m in sent[1:])), head


async def test_reserved_items_refuse_later_requests_before_their_body_is_read() -> None:
    admission = Admission(32, 2)
    app = RouteApp(admission)
    middleware = AdmissionMiddleware(app, admission)
    # A first request teaches the admission its bytes per item (nothing known yet: it reserves 1 item).
    app.release.set()
    assert (await call(middleware, Channel(BODY)))[0] == 200
    assert admission.in_flight == 0 and admission.reserved == 0
    app.release.clear()

    first = asyncio.create_task(call(middleware, Channel(BODY)))
    while admission.in_flight < 16:
        await asyncio.sleep(0)
    # The second is read (16 admitted + 16 expected fit 32) and is being parsed: its 16 items are reserved
    # meanwhile, so a third is refused at once, with nothing of its body read, though only 16 are admitted.
    app.parsed.clear()
    second_channel = Channel(BODY)
    second = asyncio.create_task(call(middleware, second_channel))
    while second_channel.pulled == 0:
        await asyncio.sleep(0)
    assert admission.in_flight == 16 and admission.reserved == 16
    third = Channel(BODY)
    status, body, headers = await asyncio.wait_for(call(middleware, third), 5)
    assert status == 429 and third.pulled == 0
    assert headers[b"retry-after"] == b"2" and "ARBITER_MAX_ITEMS_IN_FLIGHT" in body["detail"]
    app.parsed.set()
    while admission.in_flight < 32:
        await asyncio.sleep(0)
    assert admission.reserved == 0  # the exact count replaced the estimate
    app.release.set()
    assert [(await t)[0] for t in (first, second)] == [200, 200]
    assert admission.in_flight == 0 and admission.reserved == 0


async def test_a_reservation_is_released_when_the_route_fails_before_admitting() -> None:
    admission = Admission(32, 2)

    async def invalid(scope: Any, receive: Any, send: Any) -> None:  # a 422: the route never admits
        await receive()
        await send({"type": "http.response.start", "status": 422, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    middleware = AdmissionMiddleware(invalid, admission)
    for _ in range(50):  # more requests than items: any leaked reservation would end in 429s
        assert (await call(middleware, Channel(BODY)))[0] == 422
    assert admission.reserved == 0


async def test_an_idle_service_admits_any_request_the_exact_test_admits() -> None:
    admission = Admission(32, 2)
    learn = RouteApp(admission, items=1)  # 1,600 bytes for 1 item: a later 32 KB body looks like 20 items
    learn.release.set()
    assert (await call(AdmissionMiddleware(learn, admission), Channel(BODY)))[0] == 200
    app = RouteApp(admission, items=32)
    app.release.set()
    # Its estimate is capped at the limit: with nothing in flight it is read and admitted, chunked or not.
    for declared in (True, False):
        status, _, _ = await call(AdmissionMiddleware(app, admission), Channel(b"x" * 320_000), declared)
        assert status == 200
    assert admission.reserved == 0
