"""`AsyncArbiterClient`: the asyncio driver of the core's flows (arbiter_client/core.py), one task per chunk."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from arbiter_client.core import Core, Flow, Reply, Send
from arbiter_client.errors import ArbiterClientError
from arbiter_client.models import ClientConfig, Rewards, Scale, ScoreResult


class AsyncArbiterClient:
    """Asynchronous client; one instance per event loop, shared by all calls (it pools connections)."""

    def __init__(
        self,
        base_urls: str | Sequence[str],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Any,
    ) -> None:
        self._core = Core(ClientConfig.build(base_urls, **options))
        concurrency = self._core.config.max_concurrency
        self._http = httpx.AsyncClient(
            transport=transport, limits=httpx.Limits(max_connections=max(10, 2 * concurrency))
        )

    @property
    def config(self) -> ClientConfig:
        return self._core.config

    async def score(
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
        semaphore = asyncio.Semaphore(self._core.config.max_concurrency)

        async def bounded(flow: Flow) -> None:
            async with semaphore:
                await self._drive(flow)

        tasks = [asyncio.ensure_future(bounded(flow)) for flow in run.flows()]
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=run.time_left(), return_when=asyncio.FIRST_EXCEPTION)
            failed = [task for task in done if task.exception() is not None]
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
            if failed:
                raise failed[0].exception()  # type: ignore[misc]  # checked not None above
        return run.finish()

    async def _drive(self, flow: Flow) -> Any:
        """Run a flow to its end: send what it asks to send, sleep what it asks to sleep."""
        reply: Reply = None
        try:
            while True:
                action = flow.send(reply)
                if isinstance(action, Send):
                    try:
                        reply = await self._http.send(action.request)
                    except httpx.TransportError as exc:
                        reply = exc
                else:
                    await asyncio.sleep(action.seconds)
                    reply = None
        except StopIteration as stop:
            return stop.value

    async def health(self) -> dict[str, Any]:
        """GET /healthz of the first replica that answers; ArbiterConnectionError when none does."""
        data: dict[str, Any] = await self._drive(self._core.probe("/healthz"))
        return data

    async def ready(self) -> bool:
        """Whether some replica answers /readyz with 200 (503 means up but not ready, e.g. no sandbox)."""
        try:
            await self._drive(self._core.probe("/readyz"))
        except ArbiterClientError:
            return False
        return True

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
