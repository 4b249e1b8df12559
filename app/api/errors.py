"""The HTTP face of errors: each kind of ArbiterError → a status code and the JSON body {"code", "detail"}
(422s add `errors`, one entry per faulty field).

The errors only the HTTP layer raises (auth, backpressure) are defined here too, and so are the models of the
error bodies, which the OpenAPI document publishes (`error_responses`) and a test holds to what is served. No
tracebacks reach clients: an unexpected exception is logged with its traceback and answered with a generic 500.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.json_response import EchoSafeJSONResponse
from app.errors import ArbiterError, InvalidRequest, LimitExceeded

log = logging.getLogger("arbiter.errors")


class Unauthorized(ArbiterError):
    """No API key, or one the server does not know."""


class Overloaded(ArbiterError):
    """Admitting the request would pass the bound on items in flight; retry after `retry_after_s`."""

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class BodyTooLarge(LimitExceeded):
    """The request body is over ARBITER_MAX_REQUEST_BYTES (refused before, or while, it is read)."""


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


class ErrorBody(BaseModel):
    """Every error the server answers: a stable machine-readable `code` and a `detail` that says what to do."""

    code: str = Field(description="invalid_request, payload_too_large, unauthorized, overloaded, not_ready, internal.")
    detail: str


class FieldError(BaseModel):
    field: str = Field(description="Location in the request's JSON, e.g. items.3.completion; `body` for the whole.")
    message: str


class ValidationErrorBody(BaseModel):
    """A 422: `detail` sums up (first faulty field, and how many more), `errors` lists every field (at most 50)."""

    code: Literal["invalid_request"]
    detail: str
    errors: list[FieldError]


#: The OpenAPI entry of each error status the server may send (see `error_responses`).
_RESPONSES: dict[int, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No or unknown API key (only when ARBITER_API_KEYS is set)."},
    413: {
        "model": ErrorBody,
        "description": "Over a limit: body bytes (ARBITER_MAX_REQUEST_BYTES), items (ARBITER_MAX_ITEMS) or "
        "completion characters (ARBITER_MAX_COMPLETION_CHARS). Split the batch.",
    },
    422: {"model": ValidationErrorBody, "description": "Malformed request; `errors` names every faulty field."},
    429: {
        "model": ErrorBody,
        "description": "Overloaded: items or body bytes in flight at their bound; retry after Retry-After seconds.",
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    },
    503: {
        "model": ErrorBody,
        "description": "Shutting down or not started; retry after Retry-After seconds, elsewhere if possible.",
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    },
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route: the documented error bodies of the given statuses (401 always, as auth may be on)."""
    return {status: _RESPONSES[status] for status in sorted({401, *statuses})}


#: What a scoring route (a POST with a body) may answer besides 200.
SCORING_ERRORS = error_responses(413, 422, 429, 503)


def _headers(exc: ArbiterError) -> dict[str, str]:
    if isinstance(exc, Overloaded | NotReady):
        return {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    return {}


# The scoring layer's details start with the faulty field's location: `items.3.reference: has both ...`.
_LOCATED = re.compile(r"^(?P<field>[\w.\[\]-]+): (?P<message>.+)$", re.DOTALL)


def _field_errors(detail: str) -> list[dict[str, str]]:
    match = _LOCATED.match(detail)
    if match is None:
        return [{"field": "body", "message": detail}]
    return [{"field": match["field"], "message": match["message"]}]


def error_response(exc: ArbiterError) -> EchoSafeJSONResponse:
    """The JSON a client gets for an ArbiterError; also used by middleware, which runs outside the handlers."""
    status, code = http_status(exc)
    body: dict[str, Any] = {"code": code, "detail": exc.detail}
    if status == 422:
        body["errors"] = _field_errors(exc.detail)
    return EchoSafeJSONResponse(body, status_code=status, headers=_headers(exc))


def _location(loc: Iterable[object]) -> str:
    # FastAPI prefixes "body"; clients think in terms of their JSON, so drop it.
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ArbiterError)
    async def _arbiter_error(_: Request, exc: ArbiterError) -> EchoSafeJSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> EchoSafeJSONResponse:
        errors = [{"field": _location(e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        detail = f"{first['field']}: {first['message']}"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return EchoSafeJSONResponse(
            {"code": "invalid_request", "detail": detail, "errors": errors[:50] or [first]}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> EchoSafeJSONResponse:
        # The framework's own: 404, 405, and 400 for a body it cannot parse at all (not UTF-8), which is a
        # malformed request like any other (422, the documented body).
        if exc.status_code == 400:
            detail = "body: not a JSON document (send UTF-8 JSON with Content-Type: application/json)"
            return EchoSafeJSONResponse(
                {"code": "invalid_request", "detail": detail, "errors": [{"field": "body", "message": detail}]},
                status_code=422,
            )
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return EchoSafeJSONResponse(
            {"code": code, "detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> EchoSafeJSONResponse:
        # The one place a broad handler belongs: the outermost boundary, so a bug is logged with its
        # traceback but the client only learns that it was ours.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return EchoSafeJSONResponse(
            {"code": "internal", "detail": "internal error; the server log has the details"}, status_code=500
        )
