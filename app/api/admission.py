"""Backpressure and body limits (HTTP layer): a bounded number of items and of body bytes in flight across all
scoring requests, and a bounded size of one body.

A request is admitted whole or not at all. One that finds the service full waits, *before its body is read*,
at most ARBITER_ADMISSION_WAIT_S for a slot, in FIFO order (a slot that frees is handed to the oldest waiter, so
nobody barges past the queue), and only then gets 429 with a Retry-After of the time the queue in front of it
takes to drain at the measured rate. The wait is short and bounded, so the overload does not move into the
trainers' timeouts, and memory stays bounded: a waiter holds its connection and at most the first chunk of its
body that the server had already buffered (counted in the bytes in flight). Without the wait (0), a refused
client sleeps out its Retry-After while the slot it could have taken idles (issue 17: at 10x capacity ~10% of
the goodput was lost that way), and a 429 round trip costs the client CPU the scoring needs on a small machine.
While the service drains (SIGTERM) or is not started, requests get 503 with Retry-After; waiters too.

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
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import BodyTooLarge, NotReady, Overloaded, error_response
from app.api.memory import release_freed_memory
from app.errors import ArbiterError, InvalidRequest

#: After a request whose body was at least this big, freed heap pages go back to the OS (app/api/memory.py).
RELEASE_MEMORY_AFTER_BYTES = 1 << 20
#: Weight of the newest admitted request in the running mean of body bytes per item.
_BYTES_PER_ITEM_WEIGHT = 0.2
#: Items finished within this many seconds make the drain rate a refused waiter's Retry-After is derived from.
_DRAIN_WINDOW_S = 10.0
#: Longest Retry-After derived from the queue (a slow drain still gets a finite, sane answer).
_MAX_DERIVED_RETRY_AFTER_S = 60


class Reservation:
    """Items a request read by the middleware is expected to hold, until the route admits its real count."""

    __slots__ = ("body_bytes", "items")

    def __init__(self, items: int, body_bytes: int | None) -> None:
        self.items = items
        self.body_bytes = body_bytes


@dataclass(eq=False, slots=True)
class _Waiter:
    """A request waiting for room for its expected items; `future` gets its Reservation when it is its turn."""

    items: int
    body_bytes: int | None
    future: asyncio.Future[Reservation]


@dataclass(slots=True)
class WaitStats:
    """Requests that waited for a slot, by outcome, and the seconds they waited (for /metrics)."""

    admitted: int = 0
    refused: int = 0
    gone: int = 0  # the client went away (or the request was cancelled) while it waited
    seconds: float = 0.0


#: The reservation of the request being handled (set by the middleware, taken by `Admission.admit`).
_RESERVATION: ContextVar[Reservation | None] = ContextVar("arbiter_reservation", default=None)


class Admission:
    def __init__(
        self, max_items: int, retry_after_s: int, *, max_bytes: int | None = None, wait_s: float = 0.0
    ) -> None:
        """wait_s: how long a request that finds the service full may wait for a slot (0: a 429 at once)."""
        if max_items < 1:
            raise ValueError("max_items must be >= 1")
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be >= 1")
        if wait_s < 0:
            raise ValueError("wait_s must be >= 0")
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.retry_after_s = retry_after_s
        self.wait_s = wait_s
        self._in_flight = 0
        self._reserved = 0
        self._bytes_per_item: float | None = None  # running mean over admitted requests; None before the first
        self._bytes_in_flight = 0
        self._draining = False
        self._waiters: deque[_Waiter] = deque()
        self._finished: deque[tuple[float, int]] = deque()  # (monotonic time, items) of recent completions
        self._finished_items = 0
        self.waits = WaitStats()
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
    def waiting(self) -> int:
        """Requests waiting for a slot."""
        return len(self._waiters)

    @property
    def waiting_items(self) -> int:
        """Items the waiting requests are expected to hold."""
        return sum(w.items for w in self._waiters)

    @property
    def _bytes_full(self) -> bool:
        return self.max_bytes is not None and self._bytes_in_flight >= self.max_bytes

    @property
    def full(self) -> bool:
        return self._in_flight >= self.max_items or self._bytes_full

    def drain(self) -> None:
        """Refuse new work from now on (shutdown); work already admitted finishes, waiters get 503."""
        self._draining = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.future.done():
                waiter.future.set_exception(self._not_ready())

    def open(self) -> None:
        """Admit work again: the app's lifespan started (again: an ASGI app may be started after a shutdown)."""
        self._draining = False

    def _not_ready(self) -> NotReady:
        return NotReady(
            "the service is shutting down; retry on another replica or after the restart",
            retry_after_s=self.retry_after_s,
        )

    def check(self) -> None:
        """Cheap early test, before a request body is read: refuse when nothing more can be admitted."""
        if self._draining:
            raise self._not_ready()
        if self.full:
            self.rejected += 1
            if self._in_flight >= self.max_items:
                raise Overloaded(self._overloaded_detail(1), retry_after_s=self.retry_after_s)
            raise Overloaded(self._bytes_detail(1), retry_after_s=self.retry_after_s)

    def try_enter(self, body_bytes: int | None) -> Reservation | None:
        """The reservation of a request of `body_bytes` if there is room now and nobody waits, else None (NotReady
        while draining). No await: the fast path of every request."""
        if self._draining:
            raise self._not_ready()
        expected = self._expected_items(body_bytes)
        if self._waiters or not self._fits(expected):
            return None
        self._reserved += expected
        return Reservation(expected, body_bytes)

    async def enter(self, body_bytes: int | None) -> Reservation:
        """The early test of a request of `body_bytes` (None: not declared), before its body is read: reserve its
        expected items, waiting up to `wait_s` in FIFO order when there is no room now. Returns the reservation;
        raises Overloaded (a Retry-After derived from the queue and the drain rate) / NotReady. A cancelled wait (the
        client went away) gives its place back at once."""
        reservation = self.try_enter(body_bytes)
        if reservation is not None:
            return reservation
        expected = self._expected_items(body_bytes)
        if self.wait_s <= 0:
            self.check()  # the detail of the bound that is full (items or bytes)
            self.rejected += 1
            raise Overloaded(self._overloaded_detail(expected), retry_after_s=self.retry_after_s)
        waiter = _Waiter(expected, body_bytes, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.wait_s):
                reservation = await waiter.future
        except TimeoutError:
            if waiter.future.done() and not waiter.future.cancelled():  # handed a slot as the bound passed
                reservation = waiter.future.result()
            else:
                self._leave(waiter)
                self.waits.refused += 1
                self.waits.seconds += time.monotonic() - started
                self.rejected += 1
                retry_after = self._derived_retry_after()
                raise Overloaded(
                    f"overloaded: waited {self.wait_s:g} s (ARBITER_ADMISSION_WAIT_S) for a slot, {len(self._waiters)} "
                    f"requests still waiting; {self._in_flight} items in flight of {self.max_items} (ARBITER_MAX_ITEMS_IN_FLIGHT); "
                    f"retry after {retry_after} s, send smaller batches, or add replicas",
                    retry_after_s=retry_after,
                ) from None
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled() and waiter.future.exception() is None:
                self.unreserve(waiter.future.result())  # handed a slot, but nobody is left to use it
            self._leave(waiter)
            self.waits.gone += 1
            self.waits.seconds += time.monotonic() - started
            raise
        self.waits.admitted += 1
        self.waits.seconds += time.monotonic() - started
        return reservation

    def _leave(self, waiter: _Waiter) -> None:
        """Take a waiter that gives up out of the queue (if it is still there) and let the next ones in."""
        if not waiter.future.done():
            waiter.future.cancel()
        try:
            self._waiters.remove(waiter)
        except ValueError:
            return  # already handed its slot or failed by drain()
        self._wake()

    def _wake(self) -> None:
        """Hand the room that is free now to the waiters, oldest first; stop at the first one that does not fit
        (FIFO: a big request is not starved by small ones behind it)."""
        while self._waiters and not self._draining:
            head = self._waiters[0]
            if head.future.done():  # cancelled, about to leave
                self._waiters.popleft()
                continue
            if not self._fits(head.items):
                return
            self._waiters.popleft()
            self._reserved += head.items
            head.future.set_result(Reservation(head.items, head.body_bytes))

    def _fits(self, items: int) -> bool:
        return not self._bytes_full and self._in_flight + self._reserved + items <= self.max_items

    def _finish(self, items: int) -> None:
        now = time.monotonic()
        self._finished.append((now, items))
        self._finished_items += items
        while self._finished and self._finished[0][0] < now - _DRAIN_WINDOW_S:
            self._finished_items -= self._finished.popleft()[1]

    def _derived_retry_after(self) -> int:
        """Seconds until what is in flight and queued now has drained, at the rate items finished lately; the
        configured Retry-After while no rate is known."""
        if len(self._finished) < 2:
            return self.retry_after_s
        span = max(time.monotonic() - self._finished[0][0], self.wait_s, 1e-3)
        rate = self._finished_items / span
        backlog = self._in_flight + self._reserved + self.waiting_items
        return max(1, min(_MAX_DERIVED_RETRY_AFTER_S, math.ceil(backlog / rate)))

    def unreserve(self, reservation: Reservation) -> None:
        if reservation.items:
            self._reserved -= reservation.items
            reservation.items = 0
            self._wake()

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

    def count_bytes(self, n: int) -> None:
        """Count `n` body bytes the server already holds (a waiter's first chunk): no test, they are in memory."""
        self._bytes_in_flight += n

    def release_bytes(self, n: int) -> None:
        self._bytes_in_flight -= n
        if n:
            self._wake()

    @asynccontextmanager
    async def admit(self, items: int) -> AsyncIterator[None]:
        """Hold `items` slots for the duration of the block, or raise Overloaded / NotReady at once. Takes over
        the current request's reservation (the exact count replaces the estimate)."""
        reservation = _RESERVATION.get()
        try:
            if reservation is not None and reservation.items:
                self._learn(reservation, items)
                # Not `unreserve`: its wake-up would hand these slots to a waiter before this request takes them.
                self._reserved -= reservation.items
                reservation.items = 0
            if self._draining:
                raise self._not_ready()
            if self._in_flight + items > self.max_items:
                self.rejected += 1
                raise Overloaded(self._overloaded_detail(items), retry_after_s=self.retry_after_s)
            # No await between the test and the increment: the event loop cannot interleave another admission.
            self._in_flight += items
        finally:
            self._wake()  # an estimate above the exact count left room
        try:
            yield
        finally:
            self._in_flight -= items
            self._finish(items)
            self._wake()

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
        peeked: list[Message] = []  # what a waiting request's watcher received, handed on before `receive`
        try:
            try:
                declared = _content_length(scope)
                self._check_size(declared, streamed=False)
                reservation = self.admission.try_enter(declared)
                if reservation is None:
                    reservation, held = await self._wait(declared, receive, peeked)
                    if reservation is None:  # the client went away while it waited
                        return
                if declared is not None and declared > held:
                    self.admission.hold_bytes(declared - held)
                    held = declared
                chunks: list[bytes] = []
                size = 0
                while True:
                    message = peeked.pop(0) if peeked else await receive()
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

    async def _wait(
        self, declared: int | None, receive: Receive, peeked: list[Message]
    ) -> tuple[Reservation | None, int]:
        """Wait for room (Admission.enter) while watching the connection: (the reservation, or None when the
        client went away meanwhile; the body bytes the watcher received and counted). Raises Overloaded /
        NotReady."""
        if self.admission.wait_s <= 0:
            return await self.admission.enter(declared), 0
        counted = [0]
        entering = asyncio.ensure_future(self.admission.enter(declared))
        watching = asyncio.ensure_future(self._watch(receive, peeked, counted))
        handed_on = False  # whether the caller holds the counted bytes (else they are released here)
        try:
            await asyncio.wait((entering, watching), return_when=asyncio.FIRST_COMPLETED)
            if not entering.done() and not watching.result():  # stopped reading a big body: wait for room only
                await asyncio.wait((entering,))
            if entering.done():
                reservation = entering.result()  # or Overloaded / NotReady
                handed_on = True
                return reservation, counted[0]
            entering.cancel()  # the client is gone: give the place in the queue back (Admission._leave)
            await asyncio.wait((entering,))
            if not entering.cancelled() and entering.exception() is None:
                self.admission.unreserve(entering.result())  # handed a slot just before it was cancelled
            return None, 0
        finally:
            for task in (entering, watching):
                task.cancel()
            # Not awaiting the watcher: a cancelled `receive` loses no message (it is built after the wait).
            if not handed_on:
                self.admission.release_bytes(counted[0])

    async def _watch(self, receive: Receive, peeked: list[Message], counted: list[int]) -> bool:
        """While a request waits: True as soon as its client goes away. Receives (and counts in the bytes in
        flight) at most the first chunk of the body, which the server had buffered anyway; a body in more chunks
        is left unread from there (flow control stops the client) and the watch ends with False."""
        while True:
            message = await receive()
            peeked.append(message)
            if message["type"] != "http.request":
                return True
            n = len(message.get("body", b""))
            self.admission.count_bytes(n)
            counted[0] += n
            if message.get("more_body", False):
                return False

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
