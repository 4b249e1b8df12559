"""The HTTP face of errors: each kind of ArbiterError → a status code and the JSON body {"code", "detail"}.

The errors only the HTTP layer raises (auth, backpressure) are defined here too. No tracebacks reach clients: an
unexpected exception is logged with its traceback and answered with a generic 500.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.errors import ArbiterError, InvalidRequest, LimitExceeded

log = logging.getLogger("arbiter.errors")


class Unauthorized(ArbiterError):
    """No API key, or one the server does not know."""


class Overloaded(ArbiterError):
    """Admitting the request would pass the bound on items in flight; retry after `retry_after_s`."""

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class NotReady(ArbiterError):
    """The service is shutting down (or not started); retry after `retry_after_s`, elsewhere if possible."""

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


#: (status code, body code) per kind of error; a subclass maps as its nearest listed base.
HTTP_ERRORS: dict[type[ArbiterError], tuple[int, str]] = {
    InvalidRequest: (422, "invalid_request"),
    LimitExceeded: (413, "payload_too_large"),
    Unauthorized: (401, "unauthorized"),
    Overloaded: (429, "overloaded"),
    NotReady: (503, "not_ready"),
}


def http_status(exc: ArbiterError) -> tuple[int, str]:
    """(status code, body code) of an error: 500 "internal" for a kind this table does not know."""
    for kind in type(exc).__mro__:
        if kind in HTTP_ERRORS:
            return HTTP_ERRORS[kind]
    return 500, "internal"


def _headers(exc: ArbiterError) -> dict[str, str]:
    if isinstance(exc, Overloaded | NotReady):
        return {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    return {}


def error_response(exc: ArbiterError) -> JSONResponse:
    """The JSON a client gets for an ArbiterError; also used by middleware, which runs outside the handlers."""
    status, code = http_status(exc)
    return JSONResponse({"code": code, "detail": exc.detail}, status_code=status, headers=_headers(exc))


def _location(loc: tuple[object, ...]) -> str:
    # FastAPI prefixes "body"; clients think in terms of their JSON, so drop it.
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ArbiterError)
    async def _arbiter_error(_: Request, exc: ArbiterError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _location(tuple(e.get("loc", ()))), "message": e.get("msg", "")} for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        detail = f"{first['field']}: {first['message']}"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return JSONResponse({"code": "invalid_request", "detail": detail, "errors": errors[:50]}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The one place a broad handler belongs: the outermost boundary, so a bug is logged with its
        # traceback but the client only learns that it was ours.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"code": "internal", "detail": "internal error; the server log has the details"}, status_code=500
        )
