"""Shared by the adapter tests (imported by module name: tests/ is on the path, see pyproject)."""

from __future__ import annotations

import json
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
