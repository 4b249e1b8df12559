"""The pool's own logic (acquire, recycling, retries, single-flight, stats) against a scripted FakeBackend."""

from __future__ import annotations

import asyncio

import pytest
from sbx_fake_backend import DIE, GARBAGE, HANG, FakeBackend, echo_handler, ok_outcome

from sandbox import BackendUnavailable, Limits, PoolClosed, PoolConfig, RunRequest, SandboxPool

REQ = RunRequest.stdio("print(input())", ["a\n", "b\n"], ["a", "b"])


async def started(backend: FakeBackend, **kw) -> SandboxPool:
    pool = SandboxPool(backend, PoolConfig(**{"size": 2, **kw}))
    await pool.start()
    for _ in range(100):
        if pool.stats().idle == pool.config.size:
            break
        await asyncio.sleep(0.01)
    return pool


async def test_start_run_stats_close():
    b = FakeBackend()
    pool = await started(b)
    s = pool.stats()
    assert (s.backend, s.size, s.idle, s.busy, s.ready) == ("fake", 2, 2, 0, True)
    r = await pool.run(REQ)
    assert r.verdicts == ["AC", "AC"] and r.passed == 2
    await pool.close()
    assert not b.alive_workers and not pool.stats().ready
    with pytest.raises(PoolClosed):
        await pool.run(REQ)


async def test_probe_failure_propagates():
    with pytest.raises(BackendUnavailable):
        await SandboxPool(FakeBackend(available=False), PoolConfig(size=1)).start()


async def test_recycles_after_k_jobs():
    b = FakeBackend()
    pool = await started(b, size=1, max_jobs_per_worker=3)
    for _ in range(7):
        assert (await pool.run(REQ)).all_passed
    assert pool.stats().recycled == 2
    assert len(b.started) == 3
    await pool.close()


@pytest.mark.parametrize("fault", [DIE, HANG, GARBAGE])
async def test_fault_is_retried_once_on_a_fresh_worker(fault):
    calls = []

    def handler(job):
        calls.append(1)
        return fault if len(calls) == 1 else echo_handler(job)

    b = FakeBackend(handler)
    pool = await started(b, size=1, protocol_margin_s=0.0)
    req = RunRequest.stdio("x", ["a\n"], ["a"], limits=Limits(cpu_s=0.1, wall_s=0.1))
    # job deadline = 1 test * (0.1 + 0.5) + 5 s: keep HANG short by shrinking the margin in the job itself
    r = await asyncio.wait_for(pool.run(req), 15)
    assert r.verdicts == ["AC"] and len(calls) == 2
    assert pool.stats().retries == 1 and pool.stats().recycled == 1
    assert b.started[0].id in b.killed
    await pool.close()


async def test_second_fault_gives_se_with_reason():
    b = FakeBackend(lambda job: DIE)
    pool = await started(b, size=1)
    r = await pool.run(REQ)
    assert r.verdicts == ["SE", "SE"] and r.passed == 0 and r.system_error
    assert "end of stream" in r.error
    await pool.close()


async def test_executor_reported_se_is_retried_and_worker_recycled():
    calls = []

    def handler(job):
        calls.append(1)
        return ok_outcome(job, verdict="SE") if len(calls) == 1 else echo_handler(job)

    pool = await started(FakeBackend(handler), size=1)
    assert (await pool.run(REQ)).all_passed and len(calls) == 2
    assert pool.stats().recycled == 1
    await pool.close()


async def test_identical_concurrent_jobs_run_once():
    b = FakeBackend(delay=0.05)
    pool = await started(b)
    other = RunRequest.stdio("print(input())", ["a\n", "b\n"], ["x", "b"])  # same job, other expectations
    rs = await asyncio.gather(*[pool.run(REQ) for _ in range(5)], pool.run(other))
    assert len(b.jobs_seen) == 1
    assert [r.passed for r in rs] == [2, 2, 2, 2, 2, 1]
    assert pool.stats().deduplicated == 5
    await pool.run(REQ)  # not concurrent: runs again
    assert len(b.jobs_seen) == 2
    await pool.close()


async def test_acquire_timeout_gives_se():
    b = FakeBackend(delay=0.5)
    pool = await started(b, size=1, acquire_timeout_s=0.1)
    slow = asyncio.create_task(pool.run(REQ))
    await asyncio.sleep(0.05)
    r = await pool.run(RunRequest.stdio("other", ["a\n"], ["a"]))
    assert r.verdicts == ["SE"] and "no sandbox worker became free" in r.error
    assert (await slow).all_passed
    await pool.close()


async def test_start_failures_back_off_and_recover():
    b = FakeBackend(fail_starts=1)
    pool = SandboxPool(b, PoolConfig(size=1))
    await pool.start()  # waits for the retry after the first failure
    assert pool.stats().ready
    assert (await pool.run(REQ)).all_passed
    await pool.close()


async def test_cancelled_caller_does_not_leak_a_worker():
    b = FakeBackend(delay=0.3)
    pool = await started(b, size=1)
    t = asyncio.create_task(pool.run(REQ))
    await asyncio.sleep(0.05)
    t.cancel()
    with pytest.raises(asyncio.CancelledError):
        await t
    r = await pool.run(RunRequest.stdio("y", ["a\n"], ["a"]))
    assert r.all_passed
    await pool.close()


async def test_dead_idle_worker_is_replaced():
    b = FakeBackend()
    pool = await started(b, size=1)
    b.started[0]._alive = False  # died while idle
    assert (await pool.run(REQ)).all_passed
    assert len(b.started) == 2
    await pool.close()


def test_malformed_request_is_rejected():
    with pytest.raises(ValueError):
        RunRequest.stdio("x", ["a"], []).validate()
    with pytest.raises(ValueError):
        RunRequest(source="x", language="cpp", kind="call", inputs=([1],), expected=(1,), fn_name="f").validate()
