"""Backpressure and body limits (HTTP layer): a bounded number of items and of body bytes in flight across all
scoring requests, and a bounded size of one body.

A request is admitted whole or not at all, at once: past a bound it gets 429 with Retry-After instead of
waiting in a queue. Waiting would only move the overload into memory (every queued request holds its parsed
body) and into the trainer's timeouts; an immediate 429 lets the client back off or try another replica.
While the service drains (SIGTERM) or is not started, requests get 503 with Retry-After.

Two bounds, because either can fill memory: items (ARBITER_MAX_ITEMS_IN_FLIGHT, held by every scoring route
while it scores, app/api/deps.py Scorer) and body bytes (ARBITER_MAX_BYTES_IN_FLIGHT, held by the middleware
from the first byte read until the response is sent). One body is at most ARBITER_MAX_REQUEST_BYTES: a larger
Content-Length is a 413 before any byte is read; a streamed (chunked) body is a 413 as soon as it passes the
limit. The pipeline knows nothing of this, so the offline scorer has no bound but its own.

Under overload the refusal must cost next to nothing, or the 429s eat the CPU the admitted work needs (on a
small machine the math workers and the event loop share the cores). So most refusals happen in the middleware,
before a byte of the body is read or parsed: a request that passes that early test *reserves* the items it is
expected to hold (its Content-Length over the bytes per item of the requests admitted so far) until the route
admits its real item count, and the early test counts those reservations. Without them, every request that
arrives while a slot is free passes the early test, is read, parsed and validated, and only then refused by
the exact test in `admit`; under a 10x load that is most of the refusals. The estimate only decides who is
refused early; `admit` still decides by the exact count, ignoring other requests' estimates.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import BodyTooLarge, NotReady, Overloaded, error_response
from app.api.memory import release_freed_memory
from app.errors import ArbiterError, InvalidRequest

#: After a request whose body was at least this big, freed heap pages go back to the OS (app/api/memory.py).
RELEASE_MEMORY_AFTER_BYTES = 1 << 20
#: Weight of the newest admitted request in the running mean of body bytes per item.
_BYTES_PER_ITEM_WEIGHT = 0.2


class Reservation:
    """Items a request read by the middleware is expected to hold, until the route admits its real count."""

    __slots__ = ("body_bytes", "items")

    def __init__(self, items: int, body_bytes: int | None) -> None:
        self.items = items
        self.body_bytes = body_bytes


#: The reservation of the request being handled (set by the middleware, taken by `Admission.admit`).
_RESERVATION: ContextVar[Reservation | None] = ContextVar("arbiter_reservation", default=None)


class Admission:
    def __init__(self, max_items: int, retry_after_s: int, *, max_bytes: int | None = None) -> None:
        if max_items < 1:
            raise ValueError("max_items must be >= 1")
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be >= 1")
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.retry_after_s = retry_after_s
        self._in_flight = 0
        self._reserved = 0
        self._bytes_per_item: float | None = None  # running mean over admitted requests; None before the first
        self._bytes_in_flight = 0
        self._draining = False
        self.rejected = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def reserved(self) -> int:
        """Items reserved by requests being read or parsed (expected, not yet admitted)."""
        return self._reserved

    @property
    def bytes_in_flight(self) -> int:
        return self._bytes_in_flight

    @property
    def full(self) -> bool:
        bytes_full = self.max_bytes is not None and self._bytes_in_flight >= self.max_bytes
        return self._in_flight >= self.max_items or bytes_full

    def drain(self) -> None:
        """Refuse new work from now on (shutdown); work already admitted finishes."""
        self._draining = True

    def open(self) -> None:
        """Admit work again: the app's lifespan started (again: an ASGI app may be started after a shutdown)."""
        self._draining = False

    def check(self) -> None:
        """Cheap early test, before a request body is read: refuse when nothing more can be admitted."""
        if self._draining:
            raise NotReady(
                "the service is shutting down; retry on another replica or after the restart",
                retry_after_s=self.retry_after_s,
            )
        if self.full:
            self.rejected += 1
            if self._in_flight >= self.max_items:
                raise Overloaded(self._overloaded_detail(1), retry_after_s=self.retry_after_s)
            raise Overloaded(self._bytes_detail(1), retry_after_s=self.retry_after_s)

    def reserve(self, body_bytes: int | None) -> Reservation:
        """The early test of a request of `body_bytes` (None: not declared), after `check`: refuse it (Overloaded)
        when what is admitted plus what is reserved leaves no room for its expected items, else reserve them.
        Give the reservation back with `unreserve` (a no-op once `admit` has taken it)."""
        expected = self._expected_items(body_bytes)
        if self._in_flight + self._reserved + expected > self.max_items:
            self.rejected += 1
            raise Overloaded(self._overloaded_detail(expected), retry_after_s=self.retry_after_s)
        self._reserved += expected
        return Reservation(expected, body_bytes)

    def unreserve(self, reservation: Reservation) -> None:
        self._reserved -= reservation.items
        reservation.items = 0

    def _expected_items(self, body_bytes: int | None) -> int:
        # One item when nothing is known yet (the first requests, a chunked body): it never refuses a request
        # the exact test would admit while the service is idle. Capped so that any request fits an empty service.
        if body_bytes is None or self._bytes_per_item is None:
            return 1
        return max(1, min(self.max_items, int(body_bytes / self._bytes_per_item)))

    def _learn(self, reservation: Reservation, items: int) -> None:
        if reservation.body_bytes is None or items < 1:
            return
        per_item = reservation.body_bytes / items
        mean = self._bytes_per_item
        self._bytes_per_item = per_item if mean is None else mean + _BYTES_PER_ITEM_WEIGHT * (per_item - mean)

    def hold_bytes(self, n: int) -> None:
        """Count `n` more body bytes in flight, or raise Overloaded (nothing held) when they do not fit."""
        if self.max_bytes is not None and self._bytes_in_flight + n > self.max_bytes:
            self.rejected += 1
            raise Overloaded(self._bytes_detail(n), retry_after_s=self.retry_after_s)
        self._bytes_in_flight += n

    def release_bytes(self, n: int) -> None:
        self._bytes_in_flight -= n

    @asynccontextmanager
    async def admit(self, items: int) -> AsyncIterator[None]:
        """Hold `items` slots for the duration of the block, or raise Overloaded / NotReady at once. Takes over
        the current request's reservation (the exact count replaces the estimate)."""
        reservation = _RESERVATION.get()
        if reservation is not None and reservation.items:
            self._learn(reservation, items)
            self.unreserve(reservation)
        if self._draining:
            raise NotReady(
                "the service is shutting down; retry on another replica or after the restart",
                retry_after_s=self.retry_after_s,
            )
        if self._in_flight + items > self.max_items:
            self.rejected += 1
            raise Overloaded(self._overloaded_detail(items), retry_after_s=self.retry_after_s)
        # No await between the test and the increment: the event loop cannot interleave another admission.
        self._in_flight += items
        try:
            yield
        finally:
            self._in_flight -= items

    def _bytes_detail(self, n: int) -> str:
        return (
            f"overloaded: {self._bytes_in_flight} body bytes in flight, {n} more would pass the limit of "
            f"{self.max_bytes} (ARBITER_MAX_BYTES_IN_FLIGHT); retry after {self.retry_after_s} s, send smaller "
            "batches, or add replicas"
        )

    def _overloaded_detail(self, items: int) -> str:
        return (
            f"overloaded: {self._in_flight} items in flight, {items} more would pass the limit of {self.max_items} "
            f"(ARBITER_MAX_ITEMS_IN_FLIGHT); retry after {self.retry_after_s} s, send smaller batches, or add replicas"
        )


class AdmissionMiddleware:
    """For scoring requests (POST): refuses them before their body is read when nothing can be admitted now or
    when Content-Length is over the limit, then reads the body itself, counting its bytes in admission as they
    arrive (a 413 past ARBITER_MAX_REQUEST_BYTES, a 429 past the bytes in flight), and hands it on whole. Under
    overload the server spends neither memory nor CPU on bodies it would reject anyway."""

    def __init__(
        self,
        app: ASGIApp,
        admission: Admission,
        max_request_bytes: int | None = None,
        paths: Collection[str] | None = None,
    ) -> None:
        """paths: the scoring routes (None: every POST); other requests pass untouched, so that a POST to a GET
        route is the router's 405, not an admitted body."""
        self.app = app
        self.admission = admission
        self.max_request_bytes = max_request_bytes
        self.paths = None if paths is None else frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or (self.paths is not None and scope["path"] not in self.paths)
        ):
            await self.app(scope, receive, send)
            return
        held = 0
        reservation: Reservation | None = None
        try:
            try:
                self.admission.check()
                declared = _content_length(scope)
                self._check_size(declared, streamed=False)
                reservation = self.admission.reserve(declared)
                if declared is not None:
                    self.admission.hold_bytes(declared)
                    held = declared
                chunks: list[bytes] = []
                size = 0
                while True:
                    message = await receive()
                    if message["type"] != "http.request":  # the client went away: nobody to answer
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    self._check_size(size, streamed=True)
                    if size > held:  # streamed without Content-Length: held as it arrives
                        self.admission.hold_bytes(size - held)
                        held = size
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
            except ArbiterError as exc:
                await error_response(exc)(scope, receive, send)
                return
            body: bytes | None = b"".join(chunks)
            del chunks

            async def replay() -> Message:
                # The body once, then the real channel (so that a disconnect is still seen).
                nonlocal body
                if body is None:
                    return await receive()
                message: Message = {"type": "http.request", "body": body, "more_body": False}
                body = None
                return message

            token = _RESERVATION.set(reservation)
            try:
                await self.app(scope, replay, send)
            finally:
                _RESERVATION.reset(token)
        finally:
            # Whatever happened (an answer, an error, the client gone, cancellation), the bytes and any
            # reservation the route did not take (a 422, a 413 of the intake) are released.
            body = None
            if reservation is not None:
                self.admission.unreserve(reservation)
            self.admission.release_bytes(held)
            if held >= RELEASE_MEMORY_AFTER_BYTES:
                await asyncio.to_thread(release_freed_memory)

    def _check_size(self, size: int | None, *, streamed: bool) -> None:
        limit = self.max_request_bytes
        if limit is not None and size is not None and size > limit:
            raise BodyTooLarge(
                f"body: {'more than ' if streamed else ''}{size if not streamed else limit} bytes, the limit is "
                f"{limit} (ARBITER_MAX_REQUEST_BYTES); split the batch into smaller requests or raise the limit"
            )


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            try:
                length = int(value)
            except ValueError:
                raise InvalidRequest(f"Content-Length: {value.decode('latin-1')!r} is not a number") from None
            if length < 0:
                raise InvalidRequest(f"Content-Length: {length} is negative")
            return length
    return None
