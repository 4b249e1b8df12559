"""The service's error tree. Every error a client can see is an ArbiterError rendered as JSON
{"code": ..., "detail": ...}; the detail says what to do next. Tracebacks go to the log, never to clients."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

log = logging.getLogger("arbiter.errors")


class ArbiterError(Exception):
    status_code: int = 500
    code: str = "internal"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class InvalidRequest(ArbiterError):
    status_code = 422
    code = "invalid_request"


class PayloadTooLarge(ArbiterError):
    status_code = 413
    code = "payload_too_large"


class Unauthorized(ArbiterError):
    status_code = 401
    code = "unauthorized"


class Overloaded(ArbiterError):
    status_code = 429
    code = "overloaded"


class NotReady(ArbiterError):
    status_code = 503
    code = "not_ready"


def _location(loc: tuple[object, ...]) -> str:
    # FastAPI prefixes "body"; clients think in terms of their JSON, so drop it.
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def error_response(exc: ArbiterError) -> JSONResponse:
    """The JSON a client gets for an ArbiterError; also used by middleware, which runs outside the handlers."""
    return JSONResponse({"code": exc.code, "detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


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
