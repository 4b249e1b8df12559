"""Backpressure (HTTP layer): a bounded number of items in flight across all scoring requests.

A request is admitted whole or not at all, at once: past the bound it gets 429 with Retry-After instead of
waiting in a queue. Waiting would only move the overload into memory (every queued request holds its parsed
body) and into the trainer's timeouts; an immediate 429 lets the client back off or try another replica.
While the service drains (SIGTERM) or is not started, requests get 503 with Retry-After.

Every scoring route (/v1/score and the trainer protocols) admits its items through the one Admission of the app
(app/api/deps.py Scorer); the pipeline knows nothing of it, so the offline scorer has no bound but its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import NotReady, Overloaded, error_response
from app.errors import ArbiterError


class Admission:
    def __init__(self, max_items: int, retry_after_s: int) -> None:
        if max_items < 1:
            raise ValueError("max_items must be >= 1")
        self.max_items = max_items
        self.retry_after_s = retry_after_s
        self._in_flight = 0
        self._draining = False
        self.rejected = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def full(self) -> bool:
        return self._in_flight >= self.max_items

    def drain(self) -> None:
        """Refuse new work from now on (shutdown); work already admitted finishes."""
        self._draining = True

    def check(self) -> None:
        """Cheap early test, before a request body is read: refuse when nothing more can be admitted."""
        if self._draining:
            raise NotReady(
                "the service is shutting down; retry on another replica or after the restart",
                retry_after_s=self.retry_after_s,
            )
        if self.full:
            self.rejected += 1
            raise Overloaded(self._overloaded_detail(1), retry_after_s=self.retry_after_s)

    @asynccontextmanager
    async def admit(self, items: int) -> AsyncIterator[None]:
        """Hold `items` slots for the duration of the block, or raise Overloaded / NotReady at once."""
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

    def _overloaded_detail(self, items: int) -> str:
        return (
            f"overloaded: {self._in_flight} items in flight, {items} more would pass the limit of {self.max_items} "
            f"(ARBITER_MAX_ITEMS_IN_FLIGHT); retry after {self.retry_after_s} s, send smaller batches, or add replicas"
        )


class AdmissionMiddleware:
    """Refuses scoring requests (POST) before their body is read when no item can be admitted now: under
    overload the server then spends neither memory nor CPU on bodies it would reject anyway."""

    def __init__(self, app: ASGIApp, admission: Admission) -> None:
        self.app = app
        self.admission = admission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            try:
                self.admission.check()
            except ArbiterError as exc:
                await error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)
