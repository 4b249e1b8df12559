"""Optional API-key auth (ARBITER_API_KEYS): when keys are set, every route but /healthz needs
`Authorization: Bearer <key>`. A middleware rather than a route dependency, so that nothing is left out: the
trainer-protocol routers, /metrics, the OpenAPI pages and routes added later are all covered."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import Unauthorized, error_response

#: Liveness probes (Docker HEALTHCHECK, a load balancer) carry no secrets; /healthz says nothing but the version.
OPEN_PATHS = frozenset({"/healthz"})


def key_matches(given: str, keys: Sequence[bytes]) -> bool:
    """Constant-time over every key: no early exit, so timing reveals neither a key nor which one matched."""
    candidate = given.encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(candidate, key)
    return matched


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("ApiKeyMiddleware needs at least one key; do not install it without keys")
        self.app = app
        self.keys = [key.encode() for key in keys]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"authorization"), "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            problem = Unauthorized(
                "missing API key: send the header `Authorization: Bearer <key>` "
                "(keys are set on the server with ARBITER_API_KEYS)"
            )
        elif not key_matches(token.strip(), self.keys):
            problem = Unauthorized("invalid API key: check the key against the server's ARBITER_API_KEYS")
        else:
            await self.app(scope, receive, send)
            return
        await error_response(problem)(scope, receive, send)
