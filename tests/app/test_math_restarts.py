"""Issue 11 item 11: `arbiter_math_worker_restarts_total` counts the workers that die while they start (at the
pool's start-up and while a replacement warms up), not only those killed at a deadline. Real worker processes,
killed with SIGKILL while they import sympy and warm the parser (which takes about a second)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from app.math import MathWorkerPool


def children() -> set[int]:
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        text = (task / "children").read_text().split()
        pids.update(int(pid) for pid in text)
    return pids


async def kill_next_child(known: set[int]) -> int:
    """SIGKILL the first new child process (a math worker still warming up)."""
    for _ in range(1000):
        new = children() - known
        if new:
            pid = min(new)
            os.kill(pid, signal.SIGKILL)
            return pid
        await asyncio.sleep(0.005)
    raise AssertionError("no new worker process appeared")


async def test_workers_killed_while_starting_are_counted_and_replaced() -> None:
    before = children()
    pool = MathWorkerPool(workers=2, timeout_s=5.0, cache_size=0)
    starting = asyncio.create_task(pool.start())
    first = await kill_next_child(before)
    await starting  # one of two workers died at start-up: the pool starts, and its slot replaces it
    try:
        assert pool.stats.worker_restarts == 1
        # The replacement warms up in its slot: kill it too, before it is ready.
        second = await kill_next_child(before | {first, *pool.worker_pids()})
        for _ in range(400):
            if pool.stats.worker_restarts == 2 and len(pool.worker_pids()) == 2:
                break
            await asyncio.sleep(0.05)
        assert pool.stats.worker_restarts == 2
        assert len(pool.worker_pids()) == 2 and second not in pool.worker_pids()
        [verdict] = await pool.verify_many([("x^2+2x+1", "(x+1)^2")])
        assert verdict.status == "ok" and verdict.correct
    finally:
        await pool.close()


async def test_the_metric_reads_the_restarts() -> None:
    from fastapi.testclient import TestClient

    from app.config import MathSettings, SandboxSettings, Settings
    from app.main import create_app

    settings = Settings(math=MathSettings(workers=1), sandbox=SandboxSettings(backend="bwrap", workers=1))
    with TestClient(create_app(settings)) as client:
        client.app.state.services.math.stats.worker_restarts += 3  # type: ignore[attr-defined]
        families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
        [sample] = families["arbiter_math_worker_restarts"].samples
        assert sample.value == 3
