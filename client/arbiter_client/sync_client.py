"""`ArbiterClient`: the synchronous driver of the core's flows (arbiter_client/core.py), chunks sent from threads.

It does not wrap the async client in an event loop of its own because the caller may already be inside one
(notebooks, async trainers), where `asyncio.run` fails.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from types import TracebackType
from typing import Any, Self

import httpx

from arbiter_client.core import Core, Flow, Reply, Send
from arbiter_client.errors import ArbiterClientError
from arbiter_client.models import ClientConfig, Rewards, Scale, ScoreResult


class ArbiterClient:
    """Synchronous client; one instance per process, shared by all calls (it pools connections)."""

    def __init__(
        self,
        base_urls: str | Sequence[str],
        *,
        transport: httpx.BaseTransport | None = None,
        **options: Any,
    ) -> None:
        self._core = Core(ClientConfig.build(base_urls, **options))
        concurrency = self._core.config.max_concurrency
        self._http = httpx.Client(transport=transport, limits=httpx.Limits(max_connections=max(10, 2 * concurrency)))
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="arbiter")
        self._closed = threading.Event()

    @property
    def config(self) -> ClientConfig:
        return self._core.config

    def score(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        rewards: Rewards | None = None,
        advantages: Scale | None = None,
        eps: float | None = None,
        deadline_s: float | None = None,
    ) -> list[ScoreResult]:
        """Score items (dicts of the API's item schema); one result per item, in order. Never raises for an
        unreachable or slow server: unscored items come back as fallbacks (see arbiter_client/core.py)."""
        run = self._core.run(items, rewards=rewards, advantages=advantages, eps=eps, deadline_s=deadline_s)
        futures = [self._pool.submit(self._drive, flow) for flow in run.flows()]
        if futures:
            done, pending = wait_futures(futures, timeout=run.time_left(), return_when=FIRST_EXCEPTION)
            for future in pending:
                # Not started: never starts. Running: it stops by itself (every send and sleep in it is cut to the
                # deadline), and finish() below drops what it brings back late.
                future.cancel()
            for future in done:
                exc = future.exception()
                if exc is not None:
                    raise exc
        return run.finish()

    def _drive(self, flow: Flow) -> Any:
        """Run a flow to its end: send what it asks to send, sleep what it asks to sleep."""
        reply: Reply = None
        try:
            while True:
                action = flow.send(reply)
                if isinstance(action, Send):
                    try:
                        reply = self._http.send(action.request)
                    except httpx.TransportError as exc:
                        reply = exc
                else:
                    # Event.wait instead of time.sleep so that close() interrupts a backoff.
                    self._closed.wait(action.seconds)
                    reply = None
        except StopIteration as stop:
            return stop.value

    def health(self) -> dict[str, Any]:
        """GET /healthz of the first replica that answers; ArbiterConnectionError when none does."""
        data: dict[str, Any] = self._drive(self._core.probe("/healthz"))
        return data

    def ready(self) -> bool:
        """Whether some replica answers /readyz with 200 (503 means up but not ready, e.g. no sandbox)."""
        try:
            self._drive(self._core.probe("/readyz"))
        except ArbiterClientError:
            return False
        return True

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
