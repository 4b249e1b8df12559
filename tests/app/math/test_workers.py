"""MathWorkerPool: hard deadlines by killing workers, a responsive event loop, dedup and cache."""

import asyncio
import os
import signal
import time

import pytest

from app.math import MathWorkerPool, VerifyConfig

TOWER = "5^{5^{5^{5}}}"
TIMEOUT = 1.0


@pytest.fixture
async def pool():
    p = MathWorkerPool(workers=2, timeout_s=TIMEOUT, cache_size=100)
    await p.start()
    try:
        yield p
    finally:
        await p.close()


async def test_results_in_order(pool):
    pairs = [(str(i), str(i)) for i in range(50)] + [("x+1", "1+x"), (r"\frac12", "0.5"), ("3", "4")]
    out = await pool.verify_many(pairs)
    assert [v.correct for v in out] == [True] * 52 + [False]
    assert all(v.status == "ok" for v in out)


async def test_power_tower_times_out_within_deadline_and_pool_recovers(pool):
    t = time.perf_counter()
    [v] = await pool.verify_many([("5", TOWER)])
    elapsed = time.perf_counter() - t
    assert v.status == "timeout" and not v.correct and "killed" in v.reason
    assert elapsed < TIMEOUT + 0.5
    out = await pool.verify_many([("x^2", r"x \cdot x"), ("2", "3")])
    assert [(v.status, v.correct) for v in out] == [("ok", True), ("ok", False)]
    assert pool.stats.timeouts == 1


async def test_timeout_mid_chunk_keeps_the_rest(pool):
    pairs = [("x+1", "1+x"), ("5", TOWER), ("x^2", "x*x"), (r"\sqrt{4}", "2"), ("2x", "x+x")]
    out = await pool.verify_many(pairs)
    assert [v.status for v in out] == ["ok", "timeout", "ok", "ok", "ok"]
    assert [v.correct for v in out] == [True, False, True, True, True]


async def test_event_loop_stays_responsive_during_a_timeout(pool):
    slow = asyncio.create_task(pool.verify_many([("5", TOWER)]))
    await asyncio.sleep(0.1)
    lags = []

    async def ticker():
        while not slow.done():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - t - 0.01)

    tick = asyncio.create_task(ticker())
    t = time.perf_counter()
    out = await pool.verify_many([("x^2-1", "(x-1)(x+1)"), ("7", "7.0")])
    small = time.perf_counter() - t
    assert [v.correct for v in out] == [True, True]
    assert not slow.done(), "the small batch must finish while the timeout is still in progress"
    [v] = await slow
    await tick
    assert v.status == "timeout"
    assert small < TIMEOUT
    assert max(lags) < 0.1


async def test_identical_pairs_are_verified_once(pool):
    pairs = [("x+1", "1+x")] * 10 + [("x+2", "2+x")] * 5
    out = await pool.verify_many(pairs)
    assert all(v.correct for v in out)
    assert pool.stats.dedup_hits == 13
    assert pool.stats.cache_misses == 2


async def test_cache_serves_repeats_across_calls(pool):
    await pool.verify_many([("x+1", "1+x"), (r"\frac12", "0.5")])
    hits = pool.stats.cache_hits
    out = await pool.verify_many([("x+1", "1+x"), (r"\frac12", "0.5")])
    assert all(v.correct for v in out)
    assert pool.stats.cache_hits == hits + 2
    # a different config is a different key
    await pool.verify_many([("x+1", "1+x")], VerifyConfig(min_significant_digits=5))
    assert pool.stats.cache_hits == hits + 2


async def test_cache_is_bounded():
    async with MathWorkerPool(workers=1, timeout_s=5, cache_size=3) as p:
        await p.verify_many([(str(i), str(i)) for i in range(10)])
        assert p.cache_len == 3
        assert isinstance(p.stats.cache_hits, int) and isinstance(p.stats.cache_misses, int)


async def test_timeouts_are_not_cached(pool):
    await pool.verify_many([("5", TOWER)])
    [v] = await pool.verify_many([("5", TOWER)])
    assert v.status == "timeout" and pool.stats.timeouts == 2


async def test_worker_killed_from_outside_is_replaced(pool):
    for pid in pool.worker_pids():
        os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(0.2)
    out = await pool.verify_many([("x+1", "1+x"), ("x^3", "x*x*x")])
    assert [(v.status, v.correct) for v in out] == [("ok", True), ("ok", True)]


async def test_concurrent_calls_share_in_flight_work(pool):
    a, b = await asyncio.gather(
        pool.verify_many([("x^2+2x+1", "(x+1)^2")]), pool.verify_many([("x^2+2x+1", "(x+1)^2")])
    )
    assert a[0].correct and b[0].correct
    assert pool.stats.cache_misses == 1
