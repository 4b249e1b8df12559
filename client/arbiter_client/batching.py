"""Micro-batching: concurrent one-item `score` calls coalesced into batched requests, on one event loop
(`MicroBatcher`) or across threads (`ThreadMicroBatcher`).

Trainers whose reward loop calls the reward function once per rollout (verl's reward-loop managers run every
rollout of a batch as its own task) would otherwise send one HTTP request per item. `MicroBatcher.score(item)`
queues the item and sends what has queued when `window_s` has passed since the first one, or at once when
`max_items` are waiting; each caller gets its own result back. The window bounds the added latency (a few
milliseconds against a request that takes tens), and the client beneath still chunks, fails over and falls back.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import replace
from typing import Any, Generic, TypedDict, TypeVar, Unpack

from arbiter_client.async_client import AsyncArbiterClient
from arbiter_client.models import Rewards, ScoreResult
from arbiter_client.sync_client import ArbiterClient

ClientT = TypeVar("ClientT", AsyncArbiterClient, ArbiterClient)


class _WindowOptions(TypedDict, total=False):
    rewards: Rewards | None
    window_s: float
    max_items: int


class _Window(Generic[ClientT]):
    """What both batchers are: a client, the rewards they ask for, and when a window closes."""

    def __init__(
        self,
        client: ClientT,
        *,
        rewards: Rewards | None = None,
        window_s: float = 0.005,
        max_items: int = 512,
    ) -> None:
        if window_s < 0 or max_items < 1:
            raise ValueError("window_s must be >= 0 and max_items >= 1")
        self._client: ClientT = client
        self._rewards = rewards
        self._window_s = window_s
        self._max_items = max_items
        #: Requests sent so far (what the benchmark and the tests read).
        self.batches_sent = 0


def _numbered(items: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The request's items: callers' ids need not be unique across callers, so the request numbers the items
    (and each caller gets its own id back, `_own`)."""
    return [{**item, "id": str(k)} for k, item in enumerate(items)]


def _own(item: Mapping[str, Any], result: ScoreResult) -> ScoreResult:
    """The result under the caller's own id."""
    return replace(result, id=str(item.get("id", result.id)))


class _Batch:
    """Items queued in one window; `started` resolves to the task that scores them once the window closes."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.items: list[Mapping[str, Any]] = []
        self.started: asyncio.Future[asyncio.Task[list[ScoreResult]]] = loop.create_future()


class MicroBatcher(_Window[AsyncArbiterClient]):
    """Coalesces the `score` calls made on one event loop within `window_s` into one `AsyncArbiterClient.score`."""

    _batch: _Batch | None = None
    _timer: asyncio.TimerHandle | None = None

    async def score(self, item: Mapping[str, Any]) -> ScoreResult:
        """This item's result, scored in a request with the items queued around the same time. Raises what the
        client raises (with `errors="raise"`), for every caller of the batch."""
        loop = asyncio.get_running_loop()
        if self._batch is None:
            self._batch = _Batch(loop)
            self._timer = loop.call_later(self._window_s, self._flush)
        batch = self._batch
        position = len(batch.items)
        batch.items.append(item)
        if len(batch.items) >= self._max_items:
            self._flush()
        # shield: a caller that is cancelled must not cancel what its neighbours wait for (awaiting a future
        # directly would cancel the future itself).
        task = await asyncio.shield(batch.started)
        results = await asyncio.shield(task)
        return _own(item, results[position])

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._batch = self._batch, None
        if batch is None:
            return
        self.batches_sent += 1
        items = _numbered(batch.items)
        task = asyncio.get_running_loop().create_task(self._client.score(items, rewards=self._rewards))
        batch.started.set_result(task)


class _ThreadBatch:
    """Items queued in one window, each with the future its caller waits on; `full` is set when it is sealed."""

    def __init__(self) -> None:
        self.entries: list[tuple[Mapping[str, Any], Future[ScoreResult]]] = []
        self.full = threading.Event()


class ThreadMicroBatcher(_Window[ArbiterClient]):
    """Coalesces the blocking `score` calls made from several threads within `window_s` into one
    `ArbiterClient.score` (OpenRLHF runs each rollout's file reward function on its own thread, one rollout per
    call). The first caller of a window waits out the window (or until `max_items` have queued), sends the batch
    from its own thread, and hands every caller its result; an exception reaches every caller of the batch."""

    def __init__(self, client: ArbiterClient, **window: Unpack[_WindowOptions]) -> None:
        super().__init__(client, **window)
        self._lock = threading.Lock()
        self._open: _ThreadBatch | None = None

    def score(self, item: Mapping[str, Any]) -> ScoreResult:
        future: Future[ScoreResult] = Future()
        with self._lock:
            batch = self._open
            leader = batch is None
            if batch is None:
                batch = self._open = _ThreadBatch()
            batch.entries.append((item, future))
            if len(batch.entries) >= self._max_items:
                # Sealed: later callers start the next batch, so none grows past max_items.
                self._open = None
                batch.full.set()
        if leader:
            batch.full.wait(self._window_s)
            with self._lock:
                if self._open is batch:
                    self._open = None
                self.batches_sent += 1
            self._send(batch.entries)
        return future.result()

    def _send(self, batch: list[tuple[Mapping[str, Any], Future[ScoreResult]]]) -> None:
        items = _numbered([item for item, _ in batch])
        try:
            results = self._client.score(items, rewards=self._rewards)
        except BaseException as exc:
            # Whatever it is, the other callers are blocked on their futures: they must get it too, or hang.
            for _, future in batch:
                future.set_exception(exc)
            raise
        for (item, future), result in zip(batch, results, strict=True):
            future.set_result(_own(item, result))
