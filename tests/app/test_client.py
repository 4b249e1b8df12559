"""The client against fake servers built on httpx.MockTransport: chunking, fail-over, retries, the deadline."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.client import (
    ArbiterAuthError,
    ArbiterClient,
    ArbiterFallbackWarning,
    ArbiterInvalidRequest,
    AsyncArbiterClient,
    plan_chunks,
)

Handler = Callable[[httpx.Request], httpx.Response]


def ok_response(request: httpx.Request) -> httpx.Response:
    """A fake Arbiter: reward = 1 when the completion says the answer, components format + accuracy."""
    body = json.loads(request.content)
    results = []
    for item in body["items"]:
        correct = float(item["reference"]["answer"] in item["completion"])
        results.append(
            {
                "id": item["id"],
                "reward": 1.0 + correct,
                "components": {"format": 1.0, "accuracy": correct},
                "status": "ok",
                "details": {},
            }
        )
    return httpx.Response(200, json={"results": results})


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


class Recorder:
    """A MockTransport handler that records the requests and delegates to a list of behaviours per call."""

    def __init__(self, *behaviours: Handler) -> None:
        self.behaviours = list(behaviours)
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            behaviour = self.behaviours.pop(0) if len(self.behaviours) > 1 else self.behaviours[0]
        return behaviour(request)

    def hosts(self) -> list[str]:
        return [r.url.host for r in self.requests]


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def status(code: int, headers: dict[str, str] | None = None, body: dict[str, Any] | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, headers=headers, json=body or {"code": "x", "detail": f"status {code}"})

    return handler


FAST = {"backoff_base_s": 0.001, "backoff_max_s": 0.002}


def test_import_needs_no_server_dependencies() -> None:
    code = (
        "import sys, app.client\n"
        "heavy = [m for m in ('fastapi', 'sympy', 'docker', 'pydantic', 'uvicorn', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_plan_keeps_groups_whole_and_respects_size() -> None:
    batch = items(12, group_size=4)  # groups of 4
    chunks = plan_chunks(batch, chunk_size=6)
    assert chunks == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert plan_chunks(items(5), 2) == [[0, 1], [2, 3], [4]]
    big = plan_chunks(items(5, group_size=5), 2)  # a group larger than a chunk is split
    assert big == [[0, 1], [2, 3], [4]]


def test_results_in_order_across_chunks_and_replicas() -> None:
    recorder = Recorder(ok_response)
    with ArbiterClient(["http://a", "http://b"], transport=httpx.MockTransport(recorder), chunk_size=3) as client:
        results = client.score(items(10))
    assert [r.id for r in results] == [str(i) for i in range(10)]
    assert [r.components["accuracy"] for r in results] == [float(i % 2) for i in range(10)]
    assert len(recorder.requests) == 4
    assert sorted(recorder.hosts()) == ["a", "a", "b", "b"]  # round-robin
    assert all(len(json.loads(r.content)["items"]) <= 3 for r in recorder.requests)


def test_api_key_and_rewards_are_sent() -> None:
    recorder = Recorder(ok_response)
    with ArbiterClient(
        "http://a", transport=httpx.MockTransport(recorder), api_key="k1", rewards={"accuracy": {"weight": 2}}
    ) as client:
        client.score(items(1))
    request = recorder.requests[0]
    assert request.headers["authorization"] == "Bearer k1"
    assert json.loads(request.content)["rewards"] == {"accuracy": {"weight": 2}}


def test_fails_over_to_next_replica_on_connection_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return refuse(request) if request.url.host == "dead" else ok_response(request)

    recorder = Recorder(handler)
    with ArbiterClient(["http://dead", "http://live"], transport=httpx.MockTransport(recorder), **FAST) as client:
        results = client.score(items(4), deadline_s=5)
        results2 = client.score(items(4), deadline_s=5)
    assert all(r.status == "ok" for r in results + results2)
    # The dead replica is tried once, then cooled down: the second call goes straight to the live one.
    assert recorder.hosts() == ["dead", "live", "live"]


def test_retries_429_and_503_honouring_retry_after() -> None:
    recorder = Recorder(status(429, {"Retry-After": "0.2"}), status(503), ok_response)
    with ArbiterClient("http://a", transport=httpx.MockTransport(recorder), **FAST) as client:
        start = time.monotonic()
        results = client.score(items(2), deadline_s=5)
        elapsed = time.monotonic() - start
    assert [r.status for r in results] == ["ok", "ok"]
    assert len(recorder.requests) == 3
    assert elapsed >= 0.2  # waited as long as Retry-After said


def test_413_halves_the_chunk() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        n = len(json.loads(request.content)["items"])
        return status(413)(request) if n > 2 else ok_response(request)

    recorder = Recorder(handler)
    with ArbiterClient("http://a", transport=httpx.MockTransport(recorder), chunk_size=8) as client:
        results = client.score(items(8))
    assert [r.id for r in results] == [str(i) for i in range(8)]
    assert all(r.status == "ok" for r in results)


def test_dead_server_gives_fallback_with_warning_not_exception() -> None:
    with ArbiterClient(
        "http://dead", transport=httpx.MockTransport(refuse), fallback_reward=-1.0, max_retries=3, **FAST
    ) as client:
        with pytest.warns(ArbiterFallbackWarning, match="3 of 3 items"):
            results = client.score(items(3), deadline_s=5)
    assert [r.reward for r in results] == [-1.0, -1.0, -1.0]
    assert all(r.is_fallback and "ConnectError" in (r.reason or "") for r in results)


def test_deadline_bounds_a_hanging_server() -> None:
    release = threading.Event()

    def hang(request: httpx.Request) -> httpx.Response:
        release.wait(3)  # a server that does not answer within the deadline
        return ok_response(request)

    with ArbiterClient("http://slow", transport=httpx.MockTransport(hang)) as client:
        start = time.monotonic()
        with pytest.warns(ArbiterFallbackWarning, match="deadline"):
            results = client.score(items(4), deadline_s=0.3)
        elapsed = time.monotonic() - start
        release.set()
    assert elapsed < 1.0
    assert [r.reward for r in results] == [0.0] * 4
    assert all(r.status == "fallback" for r in results)


def test_client_errors_raise_or_fall_back_by_policy() -> None:
    transport = httpx.MockTransport(status(422, body={"code": "invalid_request", "detail": "items.0.id: missing"}))
    with ArbiterClient("http://a", transport=transport) as client, pytest.raises(ArbiterInvalidRequest) as info:
        client.score(items(1))
    assert info.value.detail == "items.0.id: missing"
    with (
        ArbiterClient("http://a", transport=httpx.MockTransport(status(401))) as client,
        pytest.raises(ArbiterAuthError),
    ):
        client.score(items(1))
    with ArbiterClient("http://a", transport=transport, errors="fallback") as client:
        with pytest.warns(ArbiterFallbackWarning):
            results = client.score(items(2))
    assert all(r.is_fallback and "items.0.id" in (r.reason or "") for r in results)


def test_advantages_over_the_whole_batch_across_chunks() -> None:
    with ArbiterClient("http://a", transport=httpx.MockTransport(ok_response), chunk_size=2) as client:
        results = client.score(items(4, group_size=4), advantages="group", eps=0.0)
    # rewards 1, 2, 1, 2 in one group (split over two chunks): mean 1.5, sample std sqrt(1/3)
    expected = 0.5 / (1 / 3) ** 0.5
    assert [round(r.advantage or 0, 6) for r in results] == [round(-expected, 6), round(expected, 6)] * 2


async def test_async_client_chunks_fails_over_and_falls_back() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return refuse(request) if request.url.host == "dead" else ok_response(request)

    recorder = Recorder(handler)
    async with AsyncArbiterClient(
        ["http://dead", "http://live"], transport=httpx.MockTransport(recorder), chunk_size=2, **FAST
    ) as client:
        results = await client.score(items(6), deadline_s=5)
    assert [r.id for r in results] == [str(i) for i in range(6)]
    assert all(r.status == "ok" for r in results)
    assert "live" in recorder.hosts()

    async with AsyncArbiterClient("http://dead", transport=httpx.MockTransport(refuse), **FAST) as client:
        with pytest.warns(ArbiterFallbackWarning):
            results = await client.score(items(2), deadline_s=0.5)
    assert [r.status for r in results] == ["fallback", "fallback"]


async def test_async_deadline_cancels_in_flight_requests() -> None:
    import asyncio

    class SlowTransport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(5)
            return ok_response(request)

    async with AsyncArbiterClient("http://slow", transport=SlowTransport()) as client:
        start = time.monotonic()
        with pytest.warns(ArbiterFallbackWarning):
            results = await client.score(items(3), deadline_s=0.2)
        assert time.monotonic() - start < 1.0
    assert all(r.is_fallback for r in results)


def test_fallback_mode_isolates_the_bad_item_of_a_chunk() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)["items"]
        for k, item in enumerate(sent):
            if item["id"] == "5":
                return httpx.Response(422, json={"code": "invalid_request", "detail": f"items.{k}.reference: bad"})
        return ok_response(request)

    recorder = Recorder(handler)
    with ArbiterClient("http://a", transport=httpx.MockTransport(recorder), chunk_size=8, errors="fallback") as client:
        with pytest.warns(ArbiterFallbackWarning, match="1 of 8"):
            results = client.score(items(8))
    assert [r.status for r in results] == ["ok"] * 5 + ["fallback"] + ["ok"] * 2
    assert len(recorder.requests) == 7  # 8 → 4+4 → 2+2 → 1+1: log2(8) levels on the bad item's side

    # A request-level 422 (not about an item) is not split: one request, every item falls back.
    request_level = Recorder(status(422, body={"code": "invalid_request", "detail": "rewards.nope: unknown reward"}))
    with ArbiterClient("http://a", transport=httpx.MockTransport(request_level), errors="fallback") as client:
        with pytest.warns(ArbiterFallbackWarning):
            client.score(items(8))
    assert len(request_level.requests) == 1
