"""Both clients against the same behaviour table, on fake servers built with httpx.MockTransport.

Every row runs through `ArbiterClient` and `AsyncArbiterClient` alike: the decisions live in one core
(arbiter_client/core.py), and this table is what keeps the two drivers from drifting.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest

from arbiter_client import (
    ArbiterAuthError,
    ArbiterClient,
    ArbiterClientError,
    ArbiterConnectionError,
    ArbiterFallbackWarning,
    ArbiterInvalidRequest,
    ArbiterProtocolError,
    AsyncArbiterClient,
    ScoreResult,
)
from arbiter_client.core import parse_retry_after, plan_chunks

Handler = Callable[[httpx.Request], httpx.Response]


def ok_response(request: httpx.Request) -> httpx.Response:
    """A fake Arbiter: reward = 1 + accuracy, accuracy 1 when the completion says the answer; when the request asks
    for advantages, each item's advantage is its reward minus 1.5 (a marker the test can recognise)."""
    body = json.loads(request.content)
    results = []
    for item in body["items"]:
        correct = float(item["reference"]["answer"] in item["completion"])
        result = {
            "id": item["id"],
            "reward": 1.0 + correct,
            "components": {"format": 1.0, "accuracy": correct},
            "status": "ok",
            "details": {},
        }
        if "advantages" in body:
            result["advantage"] = result["reward"] - 1.5
        results.append(result)
    return httpx.Response(200, json={"results": results})


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def status(code: int, headers: dict[str, str] | None = None, body: dict[str, Any] | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, headers=headers, json=body or {"code": "x", "detail": f"status {code}"})

    return handler


def by_host(**hosts: Handler) -> Handler:
    return lambda request: hosts[request.url.host](request)


def reject_item(bad_id: str) -> Handler:
    """A 422 naming the position of item `bad_id` when the request holds it, else a normal answer."""

    def handler(request: httpx.Request) -> httpx.Response:
        for k, item in enumerate(json.loads(request.content)["items"]):
            if item["id"] == bad_id:
                return httpx.Response(422, json={"code": "invalid_request", "detail": f"items.{k}.reference: bad"})
        return ok_response(request)

    return handler


def too_large_above(n: int) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return status(413)(request) if len(json.loads(request.content)["items"]) > n else ok_response(request)

    return handler


def one_result_short(request: httpx.Request) -> httpx.Response:
    response = json.loads(ok_response(request).content)
    return httpx.Response(200, json={"results": response["results"][:-1]})


@dataclass(frozen=True)
class Hang:
    """A server that accepts the request and does not answer for `seconds` (blocking for the sync transport, an
    asyncio sleep for the async one: a blocking handler would stall the event loop)."""

    seconds: float


Behaviour = Handler | Hang


class FakeServer:
    """MockTransports (sync and async) that record requests and play a list of behaviours, one per request (the
    last one repeats)."""

    def __init__(self, *behaviours: Behaviour) -> None:
        self.behaviours = list(behaviours)
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()
        self.release = threading.Event()

    def _next(self, request: httpx.Request) -> Behaviour:
        with self.lock:
            self.requests.append(request)
            return self.behaviours.pop(0) if len(self.behaviours) > 1 else self.behaviours[0]

    def sync_transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            behaviour = self._next(request)
            if isinstance(behaviour, Hang):
                self.release.wait(behaviour.seconds)
                return ok_response(request)
            return behaviour(request)

        return httpx.MockTransport(handle)

    def async_transport(self) -> httpx.MockTransport:
        async def handle(request: httpx.Request) -> httpx.Response:
            behaviour = self._next(request)
            if isinstance(behaviour, Hang):
                await asyncio.sleep(behaviour.seconds)
                return ok_response(request)
            return behaviour(request)

        return httpx.MockTransport(handle)

    def hosts(self) -> list[str]:
        return [r.url.host for r in self.requests]

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def items(n: int, group_size: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "id": str(i),
            "completion": f"<answer>{i % 2}</answer>",
            "reference": {"answer": "1"},
            "group": f"g{i // group_size}",
        }
        for i in range(n)
    ]


FAST = {"backoff_base_s": 0.001, "backoff_max_s": 0.002}


@dataclass
class Outcome:
    results: list[list[ScoreResult]]
    error: ArbiterClientError | None
    warnings: list[str]
    elapsed: float


@dataclass(frozen=True)
class Case:
    """One row: a fake server, the client's options and calls, and what must come out."""

    name: str
    server: Callable[[], FakeServer]
    urls: tuple[str, ...] = ("http://a",)
    options: dict[str, Any] = field(default_factory=dict)
    batch: list[dict[str, Any]] = field(default_factory=lambda: items(4))
    score: dict[str, Any] = field(default_factory=dict)
    calls: int = 1
    check: Callable[[Outcome, FakeServer], None] = lambda outcome, server: None


def run_sync(case: Case, server: FakeServer) -> Outcome:
    results, error = [], None
    start = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ArbiterClient(list(case.urls), transport=server.sync_transport(), **case.options) as client:
            try:
                for _ in range(case.calls):
                    results.append(client.score(case.batch, **case.score))
            except ArbiterClientError as exc:
                error = exc
            elapsed = time.monotonic() - start
            server.release.set()  # so that close() does not wait for a hanging handler
    return Outcome(results, error, [str(w.message) for w in caught if w.category is ArbiterFallbackWarning], elapsed)


def run_async(case: Case, server: FakeServer) -> Outcome:
    async def main() -> Outcome:
        results, error = [], None
        start = time.monotonic()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            async with AsyncArbiterClient(list(case.urls), transport=server.async_transport(), **case.options) as c:
                try:
                    for _ in range(case.calls):
                        results.append(await c.score(case.batch, **case.score))
                except ArbiterClientError as exc:
                    error = exc
            elapsed = time.monotonic() - start
        messages = [str(w.message) for w in caught if w.category is ArbiterFallbackWarning]
        return Outcome(results, error, messages, elapsed)

    return asyncio.run(main())


def statuses(outcome: Outcome) -> list[str]:
    assert outcome.error is None, outcome.error
    return [r.status for r in outcome.results[-1]]


# -------------------------------------------------------------------------------------------- the checks


def check_order_and_spread(outcome: Outcome, server: FakeServer) -> None:
    (results,) = outcome.results
    assert [r.id for r in results] == [str(i) for i in range(10)]
    assert [r.components["accuracy"] for r in results] == [float(i % 2) for i in range(10)]
    assert len(server.requests) == 4
    assert sorted(server.hosts()) == ["a", "a", "b", "b"]  # round-robin
    assert all(len(body["items"]) <= 3 for body in server.bodies())


def check_key_and_rewards(outcome: Outcome, server: FakeServer) -> None:
    assert statuses(outcome) == ["ok"] * 4
    assert server.requests[0].headers["authorization"] == "Bearer k1"
    assert server.bodies()[0]["rewards"] == {"accuracy": {"weight": 2}}
    assert "advantages" not in server.bodies()[0]


def check_failover(outcome: Outcome, server: FakeServer) -> None:
    assert all(r.status == "ok" for call in outcome.results for r in call)
    # The dead replica is tried once, then cooled down: the second call goes straight to the live one.
    assert server.hosts() == ["dead", "live", "live"]


def check_retry_after_waited(outcome: Outcome, server: FakeServer) -> None:
    assert statuses(outcome) == ["ok"] * 4
    assert len(server.requests) == 3
    assert outcome.elapsed >= 0.3  # backoff is 2 ms at most: only Retry-After makes it wait this long


def check_retry_after_past_deadline(outcome: Outcome, server: FakeServer) -> None:
    assert statuses(outcome) == ["fallback"] * 4
    assert len(server.requests) == 1
    assert outcome.elapsed < 0.5  # gave up at once instead of sleeping into the deadline
    assert "deadline reached while backing off" in (outcome.results[0][0].reason or "")


def check_413_halves(outcome: Outcome, server: FakeServer) -> None:
    assert statuses(outcome) == ["ok"] * 8
    assert [len(b["items"]) for b in server.bodies()].count(2) == 4
    assert len(server.requests) == 7  # 8 → 4 + 4 → 2 + 2 + 2 + 2


def check_dead_server(outcome: Outcome, server: FakeServer) -> None:
    (results,) = outcome.results
    assert [r.reward for r in results] == [-1.0] * 3
    assert all(r.is_fallback and not r.judged and "ConnectError" in (r.reason or "") for r in results)
    assert len(server.requests) == 4  # first try + max_retries
    assert any("3 of 3 items" in w for w in outcome.warnings)


def check_hang_bounded(outcome: Outcome, server: FakeServer) -> None:
    assert statuses(outcome) == ["fallback"] * 4
    assert outcome.elapsed < 1.5
    assert any("deadline" in w for w in outcome.warnings)


def check_raises(kind: type[ArbiterClientError], detail: str) -> Callable[[Outcome, FakeServer], None]:
    def check(outcome: Outcome, server: FakeServer) -> None:
        assert isinstance(outcome.error, kind), outcome.error
        assert detail in str(outcome.error)
        assert len(server.requests) == 1  # a refusal is not retried

    return check


def check_bad_item_isolated(outcome: Outcome, server: FakeServer) -> None:
    assert statuses(outcome) == ["ok"] * 5 + ["fallback"] + ["ok"] * 2
    assert "items.0.reference" in (outcome.results[0][5].reason or "")
    assert len(server.requests) == 7  # 8 → 4+4 → 2+2 → 1+1: log2(8) levels on the bad item's side
    assert any("1 of 8" in w for w in outcome.warnings)


def check_request_level_422_not_split(outcome: Outcome, server: FakeServer) -> None:
    assert statuses(outcome) == ["fallback"] * 8
    assert len(server.requests) == 1


def check_500_retried(outcome: Outcome, server: FakeServer) -> None:
    assert statuses(outcome) == ["ok"] * 4
    assert len(server.requests) == 2


def check_advantages_from_server(outcome: Outcome, server: FakeServer) -> None:
    (results,) = outcome.results
    # chunk_size 2 but groups of 4: advantages need whole groups, so each group is one request.
    assert [len(b["items"]) for b in server.bodies()] == [4, 4]
    assert all(b["advantages"] == {"scale": "group", "eps": 0.0001} for b in server.bodies())
    assert [r.advantage for r in results] == [r.reward - 1.5 for r in results]


def check_advantages_bisect_whole_groups(outcome: Outcome, server: FakeServer) -> None:
    (results,) = outcome.results
    # item 5 is bad: its whole group (4, 5) falls back, with advantage 0; no request splits a group.
    assert [r.status for r in results] == ["ok"] * 4 + ["fallback"] * 2 + ["ok"] * 2
    assert [r.advantage for r in results[4:6]] == [0.0, 0.0]
    for body in server.bodies():
        groups = [item["group"] for item in body["items"]]
        assert all(groups.count(g) == 2 for g in groups)


def check_batch_scale_one_request(outcome: Outcome, server: FakeServer) -> None:
    assert statuses(outcome) == ["ok"] * 6
    assert [len(b["items"]) for b in server.bodies()] == [6]  # the batch std needs every item in one request


def check_protocol_error(outcome: Outcome, server: FakeServer) -> None:
    assert isinstance(outcome.error, ArbiterProtocolError)
    assert "sent 4 items, got 3 results" in str(outcome.error)


CASES = [
    Case(
        "results in order across chunks and replicas",
        lambda: FakeServer(ok_response),
        urls=("http://a", "http://b"),
        options={"chunk_size": 3},
        batch=items(10),
        check=check_order_and_spread,
    ),
    Case(
        "api key and rewards are sent",
        lambda: FakeServer(ok_response),
        options={"api_key": "k1", "rewards": {"accuracy": {"weight": 2}}},
        check=check_key_and_rewards,
    ),
    Case(
        "fails over to the next replica and cools the dead one down",
        lambda: FakeServer(by_host(dead=refuse, live=ok_response)),
        urls=("http://dead", "http://live"),
        options={**FAST, "chunk_size": 4},
        calls=2,
        check=check_failover,
    ),
    Case(
        "retries 429 and 503 honouring Retry-After",
        lambda: FakeServer(status(429, {"Retry-After": "0.3"}), status(503), ok_response),
        options=FAST,
        check=check_retry_after_waited,
    ),
    Case(
        "a Retry-After beyond the deadline falls back at once",
        lambda: FakeServer(status(503, {"Retry-After": "30"})),
        options={**FAST, "deadline_s": 2.0},
        check=check_retry_after_past_deadline,
    ),
    Case(
        "413 halves the chunk",
        lambda: FakeServer(too_large_above(2)),
        options={"chunk_size": 8},
        batch=items(8),
        check=check_413_halves,
    ),
    Case(
        "a dead server gives fallbacks and a warning, not an exception",
        lambda: FakeServer(refuse),
        options={**FAST, "fallback_reward": -1.0, "max_retries": 3},
        batch=items(3),
        check=check_dead_server,
    ),
    Case(
        "the deadline bounds a hanging server",
        lambda: FakeServer(Hang(5.0)),
        score={"deadline_s": 0.3},
        check=check_hang_bounded,
    ),
    Case(
        "422 raises with the server's detail",
        lambda: FakeServer(status(422, body={"code": "invalid_request", "detail": "items.0.id: missing"})),
        check=check_raises(ArbiterInvalidRequest, "items.0.id: missing"),
    ),
    Case("401 raises an auth error", lambda: FakeServer(status(401)), check=check_raises(ArbiterAuthError, "401")),
    Case(
        "fallback mode isolates the bad item of a chunk",
        lambda: FakeServer(reject_item("5")),
        options={"chunk_size": 8, "errors": "fallback"},
        batch=items(8),
        check=check_bad_item_isolated,
    ),
    Case(
        "a request-level 422 is not split",
        lambda: FakeServer(status(422, body={"code": "invalid_request", "detail": "rewards.nope: unknown reward"})),
        options={"errors": "fallback", "chunk_size": 8},
        batch=items(8),
        check=check_request_level_422_not_split,
    ),
    Case("500 is retried", lambda: FakeServer(status(500), ok_response), options=FAST, check=check_500_retried),
    Case(
        "advantages come from the server, groups whole",
        lambda: FakeServer(ok_response),
        options={"chunk_size": 2},
        batch=items(8, group_size=4),
        score={"advantages": "group", "eps": 1e-4},
        check=check_advantages_from_server,
    ),
    Case(
        "with advantages a bad item takes its whole group down, never splits it",
        lambda: FakeServer(reject_item("5")),
        options={"chunk_size": 8, "errors": "fallback"},
        batch=items(8, group_size=2),
        score={"advantages": "none"},
        check=check_advantages_bisect_whole_groups,
    ),
    Case(
        "batch-scaled advantages go in one request",
        lambda: FakeServer(ok_response),
        options={"chunk_size": 2},
        batch=items(6, group_size=2),
        score={"advantages": "batch"},
        check=check_batch_scale_one_request,
    ),
    Case("a short response is a protocol error", lambda: FakeServer(one_result_short), check=check_protocol_error),
]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_behaviour_table(case: Case, mode: Literal["sync", "async"]) -> None:
    server = case.server()
    outcome = run_sync(case, server) if mode == "sync" else run_async(case, server)
    case.check(outcome, server)


# -------------------------------------------------------------------------------------------- the rest


def test_plan_keeps_groups_whole_and_respects_size() -> None:
    assert plan_chunks(items(12, group_size=4), chunk_size=6) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert plan_chunks(items(5), 2) == [[0, 1], [2, 3], [4]]
    assert plan_chunks(items(5, group_size=5), 2) == [[0, 1], [2, 3], [4]]  # a group larger than a chunk is split
    assert plan_chunks(items(5, group_size=5), 2, split_groups=False) == [[0, 1, 2, 3, 4]]
    assert plan_chunks(items(6, group_size=3), 4, split_groups=False) == [[0, 1, 2], [3, 4, 5]]


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_health_tries_each_replica(mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "dead":
            return refuse(request)
        return httpx.Response(200, json={"status": "ok"}) if request.url.path == "/healthz" else status(503)(request)

    transport = httpx.MockTransport(handler)
    urls = ["http://dead", "http://live"]
    if mode == "sync":
        with ArbiterClient(urls, transport=transport) as client:
            assert client.health() == {"status": "ok"}
            assert client.ready() is False
        with ArbiterClient("http://dead", transport=transport) as client, pytest.raises(ArbiterConnectionError):
            client.health()
    else:

        async def main() -> None:
            async with AsyncArbiterClient(urls, transport=transport) as client:
                assert await client.health() == {"status": "ok"}
                assert await client.ready() is False
            async with AsyncArbiterClient("http://dead", transport=transport) as client:
                with pytest.raises(ArbiterConnectionError):
                    await client.health()

        asyncio.run(main())
