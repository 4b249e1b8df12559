"""Math workers are recycled after N items or M MB RSS, between chunks: no item is lost and RSS stays bounded
under a stream of unique symbolic items (issue 11.6)."""

from app.math import MathWorkerPool


def _unique(n: int, start: int = 0) -> list[tuple[str, str]]:
    # unique symbolic items: each one a new expression for sympy's caches and the parser
    return [(f"x^{{{i}}}+{i}y", f"{i}y+x^{{{i}}}") for i in range(start, start + n)]


async def test_recycled_after_max_items_without_losing_an_item():
    async with MathWorkerPool(workers=1, timeout_s=10, cache_size=0, max_chunk=16, max_items=40) as pool:
        first = pool.worker_pids()
        out = await pool.verify_many(_unique(200))
        assert [(v.status, v.correct) for v in out] == [("ok", True)] * 200
        assert pool.stats.recycled >= 4
        assert pool.stats.worker_restarts == 0  # a recycle is not a fault
        await pool.verify_many(_unique(1, 10_000))
        assert pool.worker_pids() != first


async def test_recycled_past_max_rss():
    async with MathWorkerPool(workers=1, timeout_s=10, cache_size=0, max_chunk=8, max_rss_mb=1) as pool:
        out = await pool.verify_many(_unique(24))
        assert all(v.status == "ok" and v.correct for v in out)
        assert pool.stats.recycled >= 2  # every worker is past 1 MB: recycled after each chunk


async def test_rss_stays_bounded_under_a_stream_of_unique_items():
    async with MathWorkerPool(workers=1, timeout_s=10, cache_size=0, max_chunk=32, max_items=300) as pool:
        peaks: list[float] = []
        for batch in range(8):
            pool.reset_peak_rss()
            out = await pool.verify_many(_unique(150, batch * 150))
            assert all(v.status == "ok" and v.correct for v in out)
            peaks.append(pool.peak_worker_rss_mb)
        # without recycling RSS climbs with every batch; with it the later peaks are no higher than the early ones
        assert pool.stats.recycled >= 3
        assert min(peaks) > 0
        assert max(peaks[4:]) <= max(peaks[:4]) + 8, peaks
