"""Request ids, structured logs and per-request accounting.

- Every request gets an id: the client's `X-Request-ID` when it sends a sane one (so a trainer can follow its
  batch through replicas' logs), else a fresh one; it is echoed in the response header and attached to every log
  line written while the request runs.
- `arbiter serve` logs one JSON object per line (ARBITER_LOG_FORMAT=json): one `request` line per request with
  method, path, status, duration, items and outcome counts, ready for a log pipeline without parsing text.
- The same middleware feeds the request counter and latency histogram of app/metrics.py.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections import Counter as Tally
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.rewards.base import Component

if TYPE_CHECKING:
    from app.metrics import Metrics
    from app.rewards.pipeline import ItemOutcome

log = logging.getLogger("arbiter.access")

REQUEST_ID_HEADER = "x-request-id"
# A client's id is echoed into headers and logs: accept only short, printable ones (no header or log injection).
_VALID_ID = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,128}$")


class RequestRecord:
    """What the log line of one request says; routes and the pipeline add to it while the request runs."""

    __slots__ = ("items", "outcomes", "request_id", "timed_out")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.items = 0
        self.outcomes: Tally[str] = Tally()
        self.timed_out: list[str] = []


_CURRENT: ContextVar[RequestRecord | None] = ContextVar("arbiter_request", default=None)


def current_request_id() -> str | None:
    record = _CURRENT.get()
    return record.request_id if record is not None else None


class RequestLogObserver:
    """The pipeline's observer that puts item and outcome counts on the current request's log line."""

    def batch_scored(
        self, components: Mapping[str, Sequence[Component]], outcomes: Sequence[ItemOutcome], timed_out: Sequence[str]
    ) -> None:
        record = _CURRENT.get()
        if record is None:  # scoring outside a request (offline scorer)
            return
        record.items += len(outcomes)
        record.outcomes.update(o.status for o in outcomes)
        record.timed_out.extend(timed_out)


class RequestContextMiddleware:
    """Outermost middleware: request id, timing, metrics, one log line. Pure ASGI (no BaseHTTPMiddleware), so the
    context variable set here is the one the endpoint's task sees."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, REQUEST_ID_HEADER)
        request_id = given if given is not None and _VALID_ID.match(given) else uuid.uuid4().hex
        record = RequestRecord(request_id)
        token = _CURRENT.set(record)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER.encode()]
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            # The route template, never the raw path: unknown paths must not create unbounded label values.
            label = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(label, scope["method"], status, seconds)
            fields: dict[str, Any] = {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
            }
            if record.items:
                fields["items"] = record.items
                fields["outcomes"] = dict(record.outcomes)
            if record.timed_out:
                fields["deadline_cut"] = sorted(set(record.timed_out))
            client = scope.get("client")
            if client:
                fields["client"] = client[0]
            log.info("request", extra={"fields": fields})
            _CURRENT.reset(token)


def _header(scope: Scope, name: str) -> str | None:
    key = name.encode()
    for k, v in scope.get("headers", []):
        if k.lower() == key:
            return v.decode("latin-1")
    return None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id (when inside a request), fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id is not None:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str, fmt: str) -> None:
    """Root logging for `arbiter serve` (never at import or in create_app: tests build many apps)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own loggers go through the root handler (same format); its access log is replaced by ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
