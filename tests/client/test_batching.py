"""MicroBatcher and ThreadMicroBatcher: concurrent one-item calls coalesced into batched requests, on a fake server
(MockTransport)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from arbiter_client import ArbiterClient, ArbiterInvalidRequest, AsyncArbiterClient
from arbiter_client.batching import MicroBatcher, ThreadMicroBatcher


class Server:
    def __init__(self, status_code: int = 200) -> None:
        self.sizes: list[int] = []
        self.status_code = status_code

    def __call__(self, request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["items"]
        self.sizes.append(len(items))
        if self.status_code != 200:
            return httpx.Response(self.status_code, json={"code": "invalid_request", "detail": "rewards.x: unknown"})
        results = [
            {"id": it["id"], "reward": float(it["completion"]), "components": {}, "status": "ok"} for it in items
        ]
        return httpx.Response(200, json={"results": results})


async def test_concurrent_calls_share_requests_and_get_their_own_results() -> None:
    server = Server()
    async with AsyncArbiterClient("http://a", transport=httpx.MockTransport(server)) as client:
        batcher = MicroBatcher(client, window_s=0.01, max_items=16)
        # Every caller uses id "0", as verl's per-item calls do: the batcher numbers the request's items itself.
        results = await asyncio.gather(*(batcher.score({"id": "0", "completion": str(i)}) for i in range(40)))
    assert [r.reward for r in results] == [float(i) for i in range(40)]
    assert all(r.id == "0" for r in results)
    assert server.sizes == [16, 16, 8]  # full batches go at once, the rest when the window closes
    assert batcher.batches_sent == 3


async def test_calls_apart_in_time_are_separate_requests() -> None:
    server = Server()
    async with AsyncArbiterClient("http://a", transport=httpx.MockTransport(server)) as client:
        batcher = MicroBatcher(client, window_s=0.001)
        first = await batcher.score({"id": "a", "completion": "1"})
        second = await batcher.score({"id": "b", "completion": "2"})
    assert (first.id, first.reward, second.id, second.reward) == ("a", 1.0, "b", 2.0)
    assert server.sizes == [1, 1]


async def test_a_refusal_reaches_every_caller_of_the_batch() -> None:
    server = Server(status_code=422)
    async with AsyncArbiterClient("http://a", transport=httpx.MockTransport(server)) as client:
        batcher = MicroBatcher(client, window_s=0.01)
        outcomes = await asyncio.gather(
            *(batcher.score({"id": str(i), "completion": "1"}) for i in range(3)), return_exceptions=True
        )
    assert all(isinstance(o, ArbiterInvalidRequest) for o in outcomes)
    assert server.sizes == [3]


async def test_a_cancelled_caller_does_not_cancel_its_neighbours() -> None:
    server = Server()
    async with AsyncArbiterClient("http://a", transport=httpx.MockTransport(server)) as client:
        batcher = MicroBatcher(client, window_s=0.02)
        leaving = asyncio.ensure_future(batcher.score({"id": "x", "completion": "5"}))
        staying = asyncio.ensure_future(batcher.score({"id": "y", "completion": "6"}))
        await asyncio.sleep(0)
        leaving.cancel()
        assert (await staying).reward == 6.0
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert server.sizes == [2]


# ------------------------------------------------------------------------------------------------ across threads


def test_thread_calls_share_requests_and_get_their_own_results() -> None:
    """OpenRLHF's shape: one blocking call per rollout, each from its own thread."""
    server = Server()
    with ArbiterClient("http://a", transport=httpx.MockTransport(server)) as client:
        batcher = ThreadMicroBatcher(client, window_s=0.2, max_items=8)
        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(lambda i: batcher.score({"id": "0", "completion": str(i)}), range(12)))
    assert [r.reward for r in results] == [float(i) for i in range(12)]
    assert all(r.id == "0" for r in results)
    # A full batch goes at once; the other four wait out the window of their own batch.
    assert sorted(server.sizes) == [4, 8] and batcher.batches_sent == 2


def test_thread_callers_all_get_the_clients_exception() -> None:
    server = Server(status_code=422)
    with ArbiterClient("http://a", transport=httpx.MockTransport(server)) as client:
        batcher = ThreadMicroBatcher(client, window_s=0.2)
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(batcher.score, {"id": "0", "completion": str(i)}) for i in range(4)]
            errors = [f.exception(timeout=10) for f in futures]
    assert all(isinstance(e, ArbiterInvalidRequest) for e in errors), errors
    assert server.sizes == [4]
