"""The I/O-free core both clients share: every decision of a `score` call, none of its sending.

Written in the manner of httpx's auth flows: a *flow* is a generator that yields what it wants done — `Send` an
HTTP request, or `Sleep` — and is sent back what happened (the `httpx.Response`, or the `httpx.TransportError` the
send raised; None after a sleep). The sync client drives flows on threads with `httpx.Client.send` and
`Event.wait`, the async client on tasks with `httpx.AsyncClient.send` and `asyncio.sleep`; neither decides
anything. So chunking, replica choice and fail-over, retries and backoff (honouring `Retry-After`), the deadline,
splitting on 413/422, fallbacks and the mapping of the JSON to results cannot drift between the two.

One `score` call is a `ScoreRun`: `flows()` gives one flow per chunk (the drivers run up to `max_concurrency` at
once), `time_left()` bounds the drivers' wait, and `finish()` closes the run and returns one result per item, in
order (unscored items as fallbacks, with a warning).

Advantages are the server's: `score(..., advantages="group")` asks every request for them (`"advantages":
{"scale": ...}` in the API), and the run keeps each GRPO group inside one request so that the server's group
baselines are the whole groups' (a group is never split to isolate a bad item or to fit a 413; with
`scale="batch"` the whole batch goes in one request, since the batch std needs every item). The formula lives in
one place, the server's app/rewards/advantages.py, and the client does not copy it.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import threading
import time
import warnings
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from arbiter_client.errors import (
    ArbiterAuthError,
    ArbiterClientError,
    ArbiterConnectionError,
    ArbiterFallbackWarning,
    ArbiterHTTPError,
    ArbiterInvalidRequest,
    ArbiterProtocolError,
)
from arbiter_client.models import ClientConfig, Rewards, Scale, ScoreResult

log = logging.getLogger("arbiter.client")

# Statuses worth another try, possibly on another replica: overload, not ready, and what proxies say when the
# service behind them is restarting.
_RETRY_STATUSES = frozenset({429, 502, 503, 504})


# ---------------------------------------------------------------------------------------------------- the protocol


@dataclass(frozen=True, slots=True)
class Send:
    """Send this request; reply with the response, or with the httpx.TransportError the send raised."""

    request: httpx.Request


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait this long (a close of the client may cut it short); reply with None."""

    seconds: float


Action = Send | Sleep
Reply = httpx.Response | httpx.TransportError | None
#: A flow yields actions, is sent replies, and returns its value through StopIteration.
Flow = Generator[Action, Reply, Any]


# ---------------------------------------------------------------------------------------------------- chunking


def plan_chunks(items: Sequence[Mapping[str, Any]], chunk_size: int, *, split_groups: bool = True) -> list[list[int]]:
    """Split item indices into chunks of at most chunk_size, keeping each group whole where it fits.

    Groups are packed greedily in order of first appearance. A group larger than a chunk is split when
    `split_groups` (its items then cannot be compared with each other server-side, which only length-style rewards
    care about), or sent whole in a chunk of its own when not (advantages need whole groups).
    """
    chunks: list[list[int]] = []
    current: list[int] = []
    for members in _groups(items, range(len(items))):
        if len(current) + len(members) > chunk_size and current:
            chunks.append(current)
            current = []
        step = chunk_size if split_groups else max(chunk_size, len(members))
        for start in range(0, len(members), step):
            part = members[start : start + step]
            if len(current) + len(part) > step and current:
                chunks.append(current)
                current = []
            current.extend(part)
    if current:
        chunks.append(current)
    return chunks


def _groups(items: Sequence[Mapping[str, Any]], indices: Sequence[int]) -> list[list[int]]:
    """The indices by group, in order of first appearance; an item without a group is a group of its own."""
    buckets: dict[object, list[int]] = {}
    for i in indices:
        group = items[i].get("group")
        buckets.setdefault(("i", i) if group is None else ("g", group), []).append(i)
    return list(buckets.values())


# ---------------------------------------------------------------------------------------------------- replicas


class Replicas:
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


# ---------------------------------------------------------------------------------------------------- responses


@dataclass(frozen=True, slots=True)
class _Retry:
    reason: str
    retry_after_s: float | None = None


@dataclass(frozen=True, slots=True)
class _Split:
    """413 on a chunk of several items: halve it."""


@dataclass(frozen=True, slots=True)
class _Done:
    results: list[ScoreResult]


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
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
    return max(0.0, when.timestamp() - now())


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
            raw = response.json()["results"]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
            raise ArbiterProtocolError(f"response is not a score response: {exc}") from None
        if not isinstance(raw, list) or len(raw) != n_items:
            raise ArbiterProtocolError(
                f"sent {n_items} items, got {len(raw) if isinstance(raw, list) else raw!r} results"
            )
        return _Done([ScoreResult.from_json(r) for r in raw])
    if status in _RETRY_STATUSES:
        return _Retry(f"HTTP {status}", retry_after_s=parse_retry_after(response.headers.get("retry-after")))
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


def _names_an_item(exc: ArbiterClientError) -> bool:
    """A 422 that names an item (`items.3.reference: ...`): halving the chunk isolates the bad item in log2(n)
    more requests, and the others are scored. A 422 about the request itself (`rewards...`) would fail every half."""
    return isinstance(exc, ArbiterInvalidRequest) and exc.detail.startswith("items.")


def _transport_reason(exc: httpx.TransportError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# ---------------------------------------------------------------------------------------------------- the core


class Core:
    """Configuration and state shared by the calls of one client: replicas and their cool-downs."""

    def __init__(
        self,
        config: ClientConfig,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.config = config
        self.clock = clock
        self.jitter = jitter
        self.replicas = Replicas(config.base_urls, config.cooldown_s, clock)
        self.headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}

    def run(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        rewards: Rewards | None = None,
        advantages: Scale | None = None,
        eps: float | None = None,
        deadline_s: float | None = None,
    ) -> ScoreRun:
        """One `score` call."""
        return ScoreRun(self, items, rewards, advantages, eps, deadline_s)

    def backoff(self, attempt: int, retry_after_s: float | None) -> float:
        # Full jitter (AWS architecture blog): replicas restarting together are not hit by synchronized waves.
        delay = self.jitter(0.0, min(self.config.backoff_max_s, self.config.backoff_base_s * 2**attempt))
        return delay if retry_after_s is None else max(delay, retry_after_s)

    def request(self, method: str, url: str, timeout: float, body: Any = None) -> httpx.Request:
        extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        return httpx.Request(method, url, json=body, headers=self.headers, extensions=extensions)

    def probe(self, path: str) -> Flow:
        """GET `path` on each replica in turn until one answers 200; returns its JSON, or raises
        ArbiterConnectionError naming what every replica answered."""
        errors: list[str] = []
        for url in self.config.base_urls:
            reply = yield Send(self.request("GET", url + path, self.config.request_timeout_s))
            if isinstance(reply, httpx.TransportError):
                errors.append(f"{url}: {_transport_reason(reply)}")
            elif isinstance(reply, httpx.Response) and reply.status_code == 200:
                try:
                    data = reply.json()
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    errors.append(f"{url}: not JSON ({exc})")
                    continue
                return data if isinstance(data, dict) else {"body": data}
            elif isinstance(reply, httpx.Response):
                errors.append(f"{url}: HTTP {reply.status_code}")
        raise ArbiterConnectionError("; ".join(errors))


class ScoreRun:
    """The state of one `score` call: its items, the results filled so far, why others failed."""

    def __init__(
        self,
        core: Core,
        items: Sequence[Mapping[str, Any]],
        rewards: Rewards | None,
        advantages: Scale | None,
        eps: float | None,
        deadline_s: float | None,
    ) -> None:
        if advantages is not None and advantages not in ("group", "batch", "none"):
            raise ValueError(f"advantages must be 'group', 'batch' or 'none', not {advantages!r}")
        self._core = core
        self._config = core.config
        self._items = items
        self._rewards = rewards if rewards is not None else self._config.rewards
        self._advantages = advantages
        self._eps = eps
        budget = self._config.deadline_s if deadline_s is None else deadline_s
        if budget is not None and budget <= 0:
            raise ValueError("deadline_s must be > 0 (or None)")
        self._deadline = math.inf if budget is None else core.clock() + budget
        self._slots: list[ScoreResult | None] = [None] * len(items)
        self._failures: dict[int, str] = {}
        self._lock = threading.Lock()
        self._closed = False

    # -- what the drivers call

    def flows(self) -> list[Flow]:
        """One flow per chunk."""
        if self._advantages == "batch":
            chunks = [list(range(len(self._items)))] if self._items else []
        else:
            chunks = plan_chunks(self._items, self._config.chunk_size, split_groups=self._advantages is None)
        return [self._chunk(chunk) for chunk in chunks]

    def time_left(self) -> float | None:
        """Seconds until the deadline (None: no deadline): how long the drivers wait for the flows."""
        return None if self._deadline == math.inf else max(0.0, self._deadline - self._core.clock())

    def finish(self) -> list[ScoreResult]:
        """Close the run (later results are dropped) and return one result per item, in order."""
        with self._lock:
            self._closed = True
            slots = list(self._slots)
            failures = dict(self._failures)
        out: list[ScoreResult] = []
        fell_back: list[str] = []
        for i, (item, result) in enumerate(zip(self._items, slots, strict=True)):
            if result is None:
                reason = failures.get(i, "deadline passed before the item was scored")
                result = ScoreResult(
                    id=str(item.get("id", "")),
                    reward=self._config.fallback_reward,
                    components={},
                    status="fallback",
                    reason=reason,
                    # Like the server's items that are not ok: an item nobody judged must not move the policy.
                    advantage=0.0 if self._advantages is not None else None,
                )
                fell_back.append(reason)
            out.append(result)
        if fell_back:
            reasons = sorted(set(fell_back))
            message = (
                f"Arbiter: {len(fell_back)} of {len(self._items)} items got the fallback reward "
                f"{self._config.fallback_reward}: {'; '.join(reasons[:3])}"
            )
            log.warning(message)
            warnings.warn(message, ArbiterFallbackWarning, stacklevel=3)
        return out

    # -- the decisions

    def _expired(self) -> bool:
        return self._closed or self._core.clock() >= self._deadline

    def _payload(self, indices: Sequence[int]) -> dict[str, Any]:
        body: dict[str, Any] = {"items": [self._items[i] for i in indices]}
        if self._rewards is not None:
            body["rewards"] = self._rewards
        if self._advantages is not None:
            body["advantages"] = {"scale": self._advantages}
            if self._eps is not None:
                body["advantages"]["eps"] = self._eps
        return body

    def _fill(self, indices: Sequence[int], results: Sequence[ScoreResult]) -> None:
        with self._lock:
            if self._closed:
                return  # the caller already has its fallbacks
            for i, result in zip(indices, results, strict=True):
                self._slots[i] = result

    def _fail(self, indices: Sequence[int], reason: str) -> None:
        with self._lock:
            for i in indices:
                self._failures[i] = reason

    def _halves(self, indices: list[int]) -> tuple[list[int], list[int]] | None:
        """Two halves of a chunk, or None when it cannot be split: one item, or (with advantages) one group."""
        if len(indices) < 2:
            return None
        if self._advantages is None:
            half = len(indices) // 2
            return indices[:half], indices[half:]
        groups = _groups(self._items, indices)
        if len(groups) < 2:
            return None
        half = len(groups) // 2
        return [i for g in groups[:half] for i in g], [i for g in groups[half:] for i in g]

    def _chunk(self, indices: list[int]) -> Flow:
        """Score one chunk: retries over replicas until results, a refusal, the deadline or the last attempt."""
        config = self._config
        body = self._payload(indices)
        last_url: str | None = None
        reason = "not attempted"
        for attempt in range(config.max_retries + 1):
            if self._expired():
                break
            url = self._core.replicas.pick(avoid=last_url)
            last_url = url
            timeout = max(0.001, min(config.request_timeout_s, self._deadline - self._core.clock()))
            reply = yield Send(self._core.request("POST", f"{url}/v1/score", timeout, body))
            outcome: _Retry | _Split | _Done
            if isinstance(reply, httpx.TransportError):
                # A refused connection means the replica is down; a timeout may only mean it is busy.
                if not isinstance(reply, httpx.TimeoutException):
                    self._core.replicas.mark_down(url)
                outcome = _Retry(f"{url}: {_transport_reason(reply)}")
            elif isinstance(reply, httpx.Response):
                try:
                    outcome = _classify(reply, len(indices))
                except ArbiterClientError as exc:
                    if config.errors == "raise":
                        raise
                    halves = self._halves(indices) if _names_an_item(exc) else None
                    if halves is None:
                        self._fail(indices, str(exc))
                        return
                    for half in halves:
                        yield from self._chunk(half)
                    return
            else:
                raise TypeError(f"a Send is answered with a response or a transport error, not {reply!r}")
            if isinstance(outcome, _Done):
                self._fill(indices, outcome.results)
                return
            if isinstance(outcome, _Split):
                halves = self._halves(indices)
                if halves is None:
                    self._fail(indices, "HTTP 413: one group is larger than the server accepts in a request")
                    return
                for half in halves:
                    yield from self._chunk(half)
                return
            reason = outcome.reason
            if attempt == config.max_retries:
                break
            delay = self._core.backoff(attempt, outcome.retry_after_s)
            if self._core.clock() + delay >= self._deadline:
                reason += " (deadline reached while backing off)"
                break
            yield Sleep(delay)
        self._fail(indices, reason)
