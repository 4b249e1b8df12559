"""Client of Arbiter's scoring API, for training loops: `ArbiterClient` (sync) and `AsyncArbiterClient`.

Importable without the server: it needs httpx and the standard library only (app/rewards/advantages.py, which it
reuses, is stdlib-only too), so a trainer's environment does not need FastAPI, sympy or docker.

What it does for a training step:

- **Chunking.** A large batch is split into requests of at most `chunk_size` items, keeping the items of one GRPO
  group (`"group"`) in one request where the group fits, because length-style rewards compare a group's items.
  A 413 (the server's item or size limit is lower than ours) halves the chunk and retries.
- **Several replicas.** Chunks are spread round-robin over `base_urls`; a replica that fails a connection is
  skipped for `cooldown_s` and the chunk fails over to the next one.
- **Retries** with exponential backoff and full jitter on connection errors, 429, 502, 503 and 504, honouring the
  server's `Retry-After`.
- **A deadline.** `score()` never takes longer than `deadline_s`: items still unscored then come back as fallback
  results (reward `fallback_reward`, default 0, `status="fallback"`) and a warning is logged and emitted as
  `ArbiterFallbackWarning`. A training step is never killed by a slow or dead reward service.
- **Errors that are the caller's bug** (401 bad key, 422 malformed item) raise an `ArbiterHTTPError` subclass
  with the server's message when `errors="raise"` (the default), or become fallbacks with a warning when
  `errors="fallback"` (what the trainer adapters use, so that one bad dataset row cannot stop a run). In that
  mode a 422 naming one item halves the chunk until the bad item is alone: only it falls back.
- **Advantages.** `score(..., advantages="group")` fills `ScoreResult.advantage` with GRPO group-relative
  advantages computed here over the *whole* batch (chunks and fail-over would split the server's view of a group
  or a batch). The formulas are app/rewards/advantages.py's, the same the server uses.

Typical use::

    with ArbiterClient(["http://arbiter-0:8000", "http://arbiter-1:8000"], deadline_s=120) as client:
        results = client.score([{"id": "0", "completion": text, "reference": {"answer": "42"}}])
        rewards = [r.reward for r in results]
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import random
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from app.rewards.advantages import DEFAULT_EPS, Scale, group_advantages

log = logging.getLogger("arbiter.client")

__all__ = [
    "ArbiterAuthError",
    "ArbiterClient",
    "ArbiterClientError",
    "ArbiterConnectionError",
    "ArbiterFallbackWarning",
    "ArbiterHTTPError",
    "ArbiterInvalidRequest",
    "ArbiterProtocolError",
    "AsyncArbiterClient",
    "ClientConfig",
    "ScoreResult",
]

#: What the server returns in `status`, plus "fallback": the client gave up on the item (deadline, dead server).
ResultStatus = Literal["ok", "timeout", "error", "sandbox_unavailable", "fallback"]
ErrorPolicy = Literal["raise", "fallback"]

# Statuses worth another try, possibly on another replica: overload, not ready, and what proxies say when the
# service behind them is restarting.
_RETRY_STATUSES = frozenset({429, 502, 503, 504})


# ---------------------------------------------------------------------------------------------------- errors


class ArbiterClientError(Exception):
    """Root of the client's errors: catch this one to catch everything the client raises."""


class ArbiterConnectionError(ArbiterClientError):
    """No replica could be reached (raised by health checks; `score` falls back instead)."""


class ArbiterProtocolError(ArbiterClientError):
    """The server answered something that is not the API's response (wrong JSON, wrong number of results)."""


class ArbiterHTTPError(ArbiterClientError):
    """The server refused the request; `code` and `detail` are its JSON error."""

    def __init__(self, status_code: int, code: str, detail: str) -> None:
        super().__init__(f"HTTP {status_code} {code}: {detail}")
        self.status_code = status_code
        self.code = code
        self.detail = detail


class ArbiterAuthError(ArbiterHTTPError):
    """401/403: missing or wrong API key."""


class ArbiterInvalidRequest(ArbiterHTTPError):
    """400/422 (or a 413 on a single item): the request itself is wrong; the detail names the field."""


class ArbiterFallbackWarning(RuntimeWarning):
    """Some items were not scored and got the fallback reward."""


# ---------------------------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """One item's result, in the order of the request's items."""

    id: str
    reward: float
    components: dict[str, float]
    status: ResultStatus
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    #: Filled when `score(..., advantages=...)` asked for them.
    advantage: float | None = None

    @property
    def is_fallback(self) -> bool:
        return self.status == "fallback"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScoreResult:
        try:
            return cls(
                id=str(data["id"]),
                reward=float(data["reward"]),
                components={str(k): float(v) for k, v in dict(data.get("components") or {}).items()},
                status=data["status"],
                reason=data.get("reason"),
                details=dict(data.get("details") or {}),
                advantage=None if data.get("advantage") is None else float(data["advantage"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArbiterProtocolError(f"malformed result {data!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Every knob of both clients (the constructors take the same keywords)."""

    base_urls: tuple[str, ...]
    api_key: str | None = None
    #: Items per request. The server's default limit is 4096 (ARBITER_MAX_ITEMS); smaller chunks spread better.
    chunk_size: int = 256
    #: Requests in flight at once for one `score` call.
    max_concurrency: int = 4
    #: Wall-clock budget of one `score` call; unfinished items then fall back. None: no deadline (not advised).
    deadline_s: float | None = 300.0
    #: Cap on one HTTP request (it is also cut to what is left of the deadline).
    request_timeout_s: float = 120.0
    #: Attempts per chunk beyond the first, across all replicas.
    max_retries: int = 6
    backoff_base_s: float = 0.25
    backoff_max_s: float = 8.0
    #: How long a replica that refused a connection is skipped.
    cooldown_s: float = 5.0
    fallback_reward: float = 0.0
    errors: ErrorPolicy = "raise"
    #: Default `rewards` selection of requests (None: the server's default profile).
    rewards: Mapping[str, Any] | str | None = None

    def __post_init__(self) -> None:
        if not self.base_urls:
            raise ValueError("give at least one base URL")
        if self.chunk_size < 1 or self.max_concurrency < 1 or self.max_retries < 0:
            raise ValueError("chunk_size and max_concurrency must be >= 1, max_retries >= 0")
        if self.deadline_s is not None and self.deadline_s <= 0:
            raise ValueError("deadline_s must be > 0 (or None)")


def _config(base_urls: str | Sequence[str], **kwargs: Any) -> ClientConfig:
    urls = (base_urls,) if isinstance(base_urls, str) else tuple(base_urls)
    return ClientConfig(base_urls=tuple(u.rstrip("/") for u in urls), **kwargs)


# ---------------------------------------------------------------------------------------------------- sans-IO core
# Both clients share everything but the I/O: planning chunks, choosing replicas, classifying responses, backoff.


def plan_chunks(items: Sequence[Mapping[str, Any]], chunk_size: int) -> list[list[int]]:
    """Split item indices into chunks of at most chunk_size, keeping each group whole where it fits.

    Groups are packed greedily in order of first appearance; a group larger than a chunk is split (its items
    then cannot be compared with each other server-side, which only length-style rewards care about).
    """
    buckets: dict[object, list[int]] = {}
    for i, item in enumerate(items):
        group = item.get("group")
        buckets.setdefault(("i", i) if group is None else ("g", group), []).append(i)
    chunks: list[list[int]] = []
    current: list[int] = []
    for members in buckets.values():
        if len(current) + len(members) > chunk_size and current:
            chunks.append(current)
            current = []
        for start in range(0, len(members), chunk_size):
            part = members[start : start + chunk_size]
            if len(current) + len(part) > chunk_size:
                chunks.append(current)
                current = []
            current.extend(part)
    if current:
        chunks.append(current)
    return chunks


class _Replicas:
    """Round-robin over base URLs, skipping those that recently refused connections. Thread-safe."""

    def __init__(self, urls: Sequence[str], cooldown_s: float, clock: Callable[[], float]) -> None:
        self._urls = list(urls)
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._down_until = [0.0] * len(urls)
        self._next = 0
        self._lock = threading.Lock()

    def pick(self, avoid: str | None = None) -> str:
        with self._lock:
            now = self._clock()
            n = len(self._urls)
            for k in range(n):
                i = (self._next + k) % n
                url = self._urls[i]
                if self._down_until[i] <= now and (url != avoid or n == 1):
                    self._next = i + 1
                    return url
            # Every replica is cooling down: try the one that comes back first rather than wait.
            i = min(range(n), key=lambda j: self._down_until[j])
            self._next = i + 1
            return self._urls[i]

    def mark_down(self, url: str) -> None:
        with self._lock:
            i = self._urls.index(url)
            self._down_until[i] = self._clock() + self._cooldown_s


@dataclass(frozen=True, slots=True)
class _Retry:
    reason: str
    retry_after_s: float | None = None
    replica_down: bool = False


@dataclass(frozen=True, slots=True)
class _Split:
    """413 on a chunk of several items: halve it."""


@dataclass(frozen=True, slots=True)
class _Done:
    results: list[ScoreResult]


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_body(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "http_error", response.text[:500]
    if isinstance(body, dict):
        return str(body.get("code", "http_error")), str(body.get("detail", body))[:2000]
    return "http_error", str(body)[:500]


def _classify(response: httpx.Response, n_items: int) -> _Retry | _Split | _Done:
    """Turn one HTTP response into: results, a retry, a split, or (raised) a non-retryable error."""
    status = response.status_code
    if status == 200:
        try:
            body = response.json()
            raw = body["results"]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
            raise ArbiterProtocolError(f"response is not a score response: {exc}") from None
        if not isinstance(raw, list) or len(raw) != n_items:
            raise ArbiterProtocolError(
                f"sent {n_items} items, got {len(raw) if isinstance(raw, list) else raw!r} results"
            )
        return _Done([ScoreResult.from_json(r) for r in raw])
    if status in _RETRY_STATUSES:
        return _Retry(f"HTTP {status}", retry_after_s=_parse_retry_after(response.headers.get("retry-after")))
    code, detail = _error_body(response)
    if status == 413 and n_items > 1:
        return _Split()
    if status in (401, 403):
        raise ArbiterAuthError(status, code, detail)
    if status in (400, 413, 422):
        raise ArbiterInvalidRequest(status, code, detail)
    if status >= 500:
        # 500 is a server bug; another replica (or a second try) may not have it.
        return _Retry(f"HTTP {status}: {detail[:200]}")
    raise ArbiterHTTPError(status, code, detail)


def _bisectable(exc: ArbiterClientError, indices: Sequence[int]) -> bool:
    """A 422 that names an item (`items.3.reference: ...`) in a chunk of several: halving the chunk isolates the
    bad item in log2(n) more requests, and the others are scored. A 422 about the request itself (`rewards...`)
    would fail every half, so it is not split."""
    return isinstance(exc, ArbiterInvalidRequest) and len(indices) > 1 and exc.detail.startswith("items.")


def _fallback(item: Mapping[str, Any], value: float, reason: str) -> ScoreResult:
    return ScoreResult(id=str(item.get("id", "")), reward=value, components={}, status="fallback", reason=reason)


class _Core:
    """State and decisions shared by both clients."""

    def __init__(self, config: ClientConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.replicas = _Replicas(config.base_urls, config.cooldown_s, clock)
        self.headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}

    def deadline(self, deadline_s: float | None) -> float:
        budget = self.config.deadline_s if deadline_s is None else deadline_s
        return math.inf if budget is None else self.clock() + budget

    def payload(self, items: Sequence[Mapping[str, Any]], rewards: Mapping[str, Any] | str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"items": list(items)}
        chosen = rewards if rewards is not None else self.config.rewards
        if chosen is not None:
            body["rewards"] = chosen
        return body

    def backoff(self, attempt: int, retry: _Retry) -> float:
        # Full jitter (AWS architecture blog): replicas restarting together are not hit by synchronized waves.
        delay = random.uniform(0.0, min(self.config.backoff_max_s, self.config.backoff_base_s * 2**attempt))
        if retry.retry_after_s is not None:
            delay = max(delay, retry.retry_after_s)
        return delay

    def request_timeout(self, deadline: float) -> float:
        return max(0.001, min(self.config.request_timeout_s, deadline - self.clock()))

    def finish(
        self,
        items: Sequence[Mapping[str, Any]],
        slots: list[ScoreResult | None],
        failures: Mapping[int, str],
        advantages: Scale | None,
        eps: float,
    ) -> list[ScoreResult]:
        out: list[ScoreResult] = []
        fell_back: list[str] = []
        for i, (item, result) in enumerate(zip(items, slots, strict=True)):
            if result is None:
                reason = failures.get(i, "deadline passed before the item was scored")
                result = _fallback(item, self.config.fallback_reward, reason)
                fell_back.append(reason)
            out.append(result)
        if fell_back:
            reasons = sorted(set(fell_back))
            message = (
                f"Arbiter: {len(fell_back)} of {len(items)} items got the fallback reward "
                f"{self.config.fallback_reward}: {'; '.join(reasons[:3])}"
            )
            log.warning(message)
            warnings.warn(message, ArbiterFallbackWarning, stacklevel=3)
        if advantages is not None:
            values = group_advantages(
                # Fallbacks and items the server could not judge stay out of the baselines.
                [r.reward if r.status == "ok" else None for r in out],
                [item.get("group") for item in items],
                scale=advantages,
                eps=eps,
            )
            out = [replace(r, advantage=a) for r, a in zip(out, values, strict=True)]
        return out


def _transport_reason(exc: httpx.TransportError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# ---------------------------------------------------------------------------------------------------- async client


class AsyncArbiterClient:
    """Asynchronous client; one instance per process, shared by all calls (it pools connections)."""

    def __init__(
        self,
        base_urls: str | Sequence[str],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Any,
    ) -> None:
        self._core = _Core(_config(base_urls, **options))
        # Timeouts are set per request from the deadline; the pool holds enough connections for the concurrency.
        limits = httpx.Limits(max_connections=max(10, 2 * self._core.config.max_concurrency))
        self._http = httpx.AsyncClient(transport=transport, limits=limits, headers=self._core.headers)

    @property
    def config(self) -> ClientConfig:
        return self._core.config

    async def score(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        rewards: Mapping[str, Any] | str | None = None,
        advantages: Scale | None = None,
        eps: float = DEFAULT_EPS,
        deadline_s: float | None = None,
    ) -> list[ScoreResult]:
        """Score items (dicts of the API's item schema); one result per item, in order. Never raises for an
        unreachable or slow server: see the module docstring."""
        core = self._core
        deadline = core.deadline(deadline_s)
        slots: list[ScoreResult | None] = [None] * len(items)
        failures: dict[int, str] = {}
        semaphore = asyncio.Semaphore(core.config.max_concurrency)

        async def run(indices: list[int]) -> None:
            async with semaphore:
                await self._score_chunk(items, indices, rewards, deadline, slots, failures)

        tasks = [asyncio.ensure_future(run(chunk)) for chunk in plan_chunks(items, core.config.chunk_size)]
        if tasks:
            timeout = None if deadline == math.inf else max(0.0, deadline - core.clock())
            done, pending = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_EXCEPTION)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
            for task in done:
                exc = task.exception()
                if exc is not None:
                    for other in tasks:
                        other.cancel()
                    raise exc
        return core.finish(items, slots, failures, advantages, eps)

    async def _score_chunk(
        self,
        items: Sequence[Mapping[str, Any]],
        indices: list[int],
        rewards: Mapping[str, Any] | str | None,
        deadline: float,
        slots: list[ScoreResult | None],
        failures: dict[int, str],
    ) -> None:
        core = self._core
        body = core.payload([items[i] for i in indices], rewards)
        last_url: str | None = None
        reason = "not attempted"
        for attempt in range(core.config.max_retries + 1):
            if core.clock() >= deadline:
                break
            url = core.replicas.pick(avoid=last_url)
            last_url = url
            try:
                response = await self._http.post(f"{url}/v1/score", json=body, timeout=core.request_timeout(deadline))
                outcome = _classify(response, len(indices))
            except httpx.TransportError as exc:
                # A refused connection means the replica is down; a timeout may only mean it is busy.
                if not isinstance(exc, httpx.TimeoutException):
                    core.replicas.mark_down(url)
                outcome = _Retry(f"{url}: {_transport_reason(exc)}")
            except ArbiterClientError as exc:
                if core.config.errors == "raise":
                    raise
                if _bisectable(exc, indices):
                    half = len(indices) // 2
                    await self._score_chunk(items, indices[:half], rewards, deadline, slots, failures)
                    await self._score_chunk(items, indices[half:], rewards, deadline, slots, failures)
                    return
                for i in indices:
                    failures[i] = str(exc)
                return
            if isinstance(outcome, _Done):
                for i, result in zip(indices, outcome.results, strict=True):
                    slots[i] = result
                return
            if isinstance(outcome, _Split):
                half = len(indices) // 2
                await self._score_chunk(items, indices[:half], rewards, deadline, slots, failures)
                await self._score_chunk(items, indices[half:], rewards, deadline, slots, failures)
                return
            reason = outcome.reason
            if attempt == core.config.max_retries:
                break
            delay = core.backoff(attempt, outcome)
            if core.clock() + delay >= deadline:
                reason += " (deadline reached while backing off)"
                break
            await asyncio.sleep(delay)
        for i in indices:
            failures[i] = reason

    async def health(self) -> dict[str, Any]:
        """GET /healthz of the first replica that answers; ArbiterConnectionError when none does."""
        return await self._get("/healthz", ok=(200,))

    async def ready(self) -> bool:
        """Whether some replica answers /readyz with 200 (503 means up but not ready, e.g. no sandbox)."""
        try:
            await self._get("/readyz", ok=(200,))
        except ArbiterClientError:
            return False
        return True

    async def _get(self, path: str, ok: Iterable[int]) -> dict[str, Any]:
        errors: list[str] = []
        for url in self._core.config.base_urls:
            try:
                response = await self._http.get(url + path, timeout=self._core.config.request_timeout_s)
            except httpx.TransportError as exc:
                errors.append(f"{url}: {_transport_reason(exc)}")
                continue
            if response.status_code in ok:
                data: dict[str, Any] = response.json()
                return data
            errors.append(f"{url}: HTTP {response.status_code}")
        raise ArbiterConnectionError("; ".join(errors))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


# ---------------------------------------------------------------------------------------------------- sync client


class ArbiterClient:
    """Synchronous client: the same behaviour as AsyncArbiterClient, chunks sent from a small thread pool.

    It does not wrap the async client in an event loop of its own because the caller may already be inside one
    (notebooks, async trainers), where `asyncio.run` fails.
    """

    def __init__(
        self,
        base_urls: str | Sequence[str],
        *,
        transport: httpx.BaseTransport | None = None,
        **options: Any,
    ) -> None:
        self._core = _Core(_config(base_urls, **options))
        limits = httpx.Limits(max_connections=max(10, 2 * self._core.config.max_concurrency))
        self._http = httpx.Client(transport=transport, limits=limits, headers=self._core.headers)
        self._pool = ThreadPoolExecutor(max_workers=self._core.config.max_concurrency, thread_name_prefix="arbiter")
        self._closed = threading.Event()

    @property
    def config(self) -> ClientConfig:
        return self._core.config

    def score(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        rewards: Mapping[str, Any] | str | None = None,
        advantages: Scale | None = None,
        eps: float = DEFAULT_EPS,
        deadline_s: float | None = None,
    ) -> list[ScoreResult]:
        """Score items; one result per item, in order. See AsyncArbiterClient.score."""
        core = self._core
        deadline = core.deadline(deadline_s)
        slots: list[ScoreResult | None] = [None] * len(items)
        failures: dict[int, str] = {}
        futures = [
            self._pool.submit(self._score_chunk, items, chunk, rewards, deadline, slots, failures)
            for chunk in plan_chunks(items, core.config.chunk_size)
        ]
        if futures:
            timeout = None if deadline == math.inf else max(0.0, deadline - core.clock())
            done, pending = wait_futures(futures, timeout=timeout, return_when=FIRST_EXCEPTION)
            for future in pending:
                # Not yet started: never start. Running: it stops by itself, every wait in it is cut to the
                # deadline; its late results are not read (slots is snapshotted below).
                future.cancel()
            for future in done:
                exc = future.exception()
                if exc is not None:
                    raise exc
        return core.finish(items, list(slots), dict(failures), advantages, eps)

    def _score_chunk(
        self,
        items: Sequence[Mapping[str, Any]],
        indices: list[int],
        rewards: Mapping[str, Any] | str | None,
        deadline: float,
        slots: list[ScoreResult | None],
        failures: dict[int, str],
    ) -> None:
        core = self._core
        body = core.payload([items[i] for i in indices], rewards)
        last_url: str | None = None
        reason = "not attempted"
        for attempt in range(core.config.max_retries + 1):
            if core.clock() >= deadline or self._closed.is_set():
                break
            url = core.replicas.pick(avoid=last_url)
            last_url = url
            try:
                response = self._http.post(f"{url}/v1/score", json=body, timeout=core.request_timeout(deadline))
                outcome = _classify(response, len(indices))
            except httpx.TransportError as exc:
                if not isinstance(exc, httpx.TimeoutException):
                    core.replicas.mark_down(url)
                outcome = _Retry(f"{url}: {_transport_reason(exc)}")
            except ArbiterClientError as exc:
                if core.config.errors == "raise":
                    raise
                if _bisectable(exc, indices):
                    half = len(indices) // 2
                    self._score_chunk(items, indices[:half], rewards, deadline, slots, failures)
                    self._score_chunk(items, indices[half:], rewards, deadline, slots, failures)
                    return
                for i in indices:
                    failures[i] = str(exc)
                return
            if isinstance(outcome, _Done):
                if core.clock() <= deadline:
                    for i, result in zip(indices, outcome.results, strict=True):
                        slots[i] = result
                return
            if isinstance(outcome, _Split):
                half = len(indices) // 2
                self._score_chunk(items, indices[:half], rewards, deadline, slots, failures)
                self._score_chunk(items, indices[half:], rewards, deadline, slots, failures)
                return
            reason = outcome.reason
            if attempt == core.config.max_retries:
                break
            delay = core.backoff(attempt, outcome)
            if core.clock() + delay >= deadline:
                reason += " (deadline reached while backing off)"
                break
            # Event.wait instead of time.sleep so that close() interrupts a backoff.
            self._closed.wait(delay)
        for i in indices:
            failures[i] = reason

    def health(self) -> dict[str, Any]:
        """GET /healthz of the first replica that answers; ArbiterConnectionError when none does."""
        return self._get("/healthz")

    def ready(self) -> bool:
        """Whether some replica answers /readyz with 200."""
        try:
            self._get("/readyz")
        except ArbiterClientError:
            return False
        return True

    def _get(self, path: str) -> dict[str, Any]:
        errors: list[str] = []
        for url in self._core.config.base_urls:
            try:
                response = self._http.get(url + path, timeout=self._core.config.request_timeout_s)
            except httpx.TransportError as exc:
                errors.append(f"{url}: {_transport_reason(exc)}")
                continue
            if response.status_code == 200:
                data: dict[str, Any] = response.json()
                return data
            errors.append(f"{url}: HTTP {response.status_code}")
        raise ArbiterConnectionError("; ".join(errors))

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
