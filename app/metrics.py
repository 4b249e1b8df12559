"""Prometheus metrics: GET /metrics.

Each app has its own CollectorRegistry (never the process-global one), so that several apps in one process
(tests, the offline scorer beside a server) do not clash over metric names. Events are counted as they happen
(requests, items by reward and status, stage latencies); pool state (math cache, sandbox workers, items in
flight) is read from the live Services at scrape time by a custom collector, so it is never stale.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from app.api.errors import error_responses
from app.rewards.base import Component

if TYPE_CHECKING:
    from app.api.admission import Admission
    from app.rewards.pipeline import ItemOutcome
    from app.services import Services

# Requests span milliseconds (format only) to minutes (large code batches).
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
STAGE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
STAGES = ("math", "sandbox_queue_wait", "sandbox_run")


class Metrics:
    """The event metrics of one app; also the pipeline's ScoringObserver and the rewards' stage observer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "arbiter_requests",
            "HTTP requests by route, method and status code.",
            ["route", "method", "code"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "arbiter_request_duration_seconds",
            "HTTP request latency by route.",
            ["route"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.items = Counter(
            "arbiter_items", "Scored items by reward (component) and status.", ["reward", "status"], registry=r
        )
        self.outcomes = Counter("arbiter_item_outcomes", "Scored items by overall status.", ["status"], registry=r)
        self.deadline_timeouts = Counter(
            "arbiter_deadline_timeouts",
            "Reward components cut by the request deadline (ARBITER_REQUEST_DEADLINE_S).",
            ["reward"],
            registry=r,
        )
        self.rejected = Counter(
            "arbiter_rejected_requests",
            "Requests refused before scoring: overloaded (429), not_ready (503), unauthorized (401).",
            ["reason"],
            registry=r,
        )
        self.stage_seconds = Histogram(
            "arbiter_stage_duration_seconds",
            "Latency per stage: math (one batch's verification), sandbox_queue_wait (waiting for a worker, protocol, "
            "compilation), sandbox_run (the tests' wall time in the executor).",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        for stage in STAGES:  # present from the first scrape, so that dashboards see zeros, not gaps
            self.stage_seconds.labels(stage)

    # ---------------------------------------------------------------------------------------- events
    def observe_stage(self, stage: str, seconds: float) -> None:
        self.stage_seconds.labels(stage).observe(seconds)

    def observe_request(self, route: str, method: str, code: int, seconds: float) -> None:
        self.requests.labels(route, method, str(code)).inc()
        self.request_seconds.labels(route).observe(seconds)
        reason = {429: "overloaded", 503: "not_ready", 401: "unauthorized"}.get(code)
        if reason is not None:
            self.rejected.labels(reason).inc()

    def batch_scored(
        self, components: Mapping[str, Sequence[Component]], outcomes: Sequence[ItemOutcome], timed_out: Sequence[str]
    ) -> None:
        for reward, comps in components.items():
            for status, n in Tally(c.status for c in comps).items():
                self.items.labels(reward, status).inc(n)
        for status, n in Tally(o.status for o in outcomes).items():
            self.outcomes.labels(status).inc(n)
        for reward in timed_out:
            self.deadline_timeouts.labels(reward).inc(len(outcomes))

    # ---------------------------------------------------------------------------------------- state
    def watch(self, services: Callable[[], Services | None], admission: Admission) -> None:
        """Report pool and admission state at scrape time; `services` returns None before start / after close."""
        self.registry.register(_StateCollector(services, admission))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    def __init__(self, services: Callable[[], Services | None], admission: Admission) -> None:
        self._services = services
        self._admission = admission

    def describe(self) -> list[object]:
        # Names are only known by collecting; an empty description keeps register() from calling collect() early.
        return []

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        a = self._admission
        yield GaugeMetricFamily("arbiter_items_in_flight", "Items being scored now.", value=a.in_flight)
        yield GaugeMetricFamily("arbiter_items_in_flight_limit", "ARBITER_MAX_ITEMS_IN_FLIGHT.", value=a.max_items)
        yield GaugeMetricFamily(
            "arbiter_body_bytes_in_flight", "Request-body bytes being read or scored now.", value=a.bytes_in_flight
        )
        yield GaugeMetricFamily(
            "arbiter_admission_waiting",
            "Scoring requests waiting for a slot (ARBITER_ADMISSION_WAIT_S).",
            value=a.waiting,
        )
        waited = CounterMetricFamily(
            "arbiter_admission_waits",
            "Scoring requests that waited for a slot, by outcome: admitted, refused (429 at the bound), gone (the "
            "client left while it waited).",
            labels=["outcome"],
        )
        for outcome, value in (("admitted", a.waits.admitted), ("refused", a.waits.refused), ("gone", a.waits.gone)):
            waited.add_metric([outcome], value)
        yield waited
        yield CounterMetricFamily(
            "arbiter_admission_wait_seconds",
            "Seconds scoring requests spent waiting for a slot.",
            value=a.waits.seconds,
        )
        services = self._services()
        if services is None:
            return
        m = services.math
        yield GaugeMetricFamily("arbiter_math_workers", "Math verification processes.", value=m.workers)
        yield GaugeMetricFamily("arbiter_math_cache_entries", "Entries in the verified-pair cache.", value=m.cache_len)
        for name, value, doc in (
            ("cache_hits", m.stats.cache_hits, "Pairs answered from the cache."),
            ("cache_misses", m.stats.cache_misses, "Pairs not in the cache."),
            (
                "dedup_hits",
                m.stats.dedup_hits,
                "Pairs shared with an identical pair of the same or a concurrent batch.",
            ),
            ("fast_path", m.stats.fast_path, "Pairs decided in the service process (equal strings, plain numbers)."),
            ("timeouts", m.stats.timeouts, "Pairs whose worker was killed at ARBITER_MATH_TIMEOUT_S."),
            ("errors", m.stats.errors, "Pairs that failed with an error."),
            ("worker_restarts", m.stats.worker_restarts, "Math workers replaced (killed at a deadline or died)."),
        ):
            yield CounterMetricFamily(f"arbiter_math_{name}", doc, value=value)
        pool = services.sandbox.pool
        ready = GaugeMetricFamily("arbiter_sandbox_ready", "1 when a sandbox worker can run code.", labels=["backend"])
        if pool is None:
            ready.add_metric([""], 0)
            yield ready
            return
        s = pool.stats()
        ready.add_metric([s.backend], 1 if s.ready else 0)
        yield ready
        yield GaugeMetricFamily("arbiter_sandbox_pool_size", "Configured warm sandbox workers.", value=s.size)
        workers = GaugeMetricFamily("arbiter_sandbox_workers", "Sandbox workers by state.", labels=["state"])
        for state, value in (("idle", s.idle), ("busy", s.busy), ("starting", s.starting)):
            workers.add_metric([state], value)
        yield workers
        for name, value, doc in (
            ("recycled", s.recycled, "Sandbox workers recycled (after K jobs or a fault)."),
            ("jobs", s.jobs, "Jobs (one program with its tests) run by the sandbox."),
            ("retries", s.retries, "Jobs retried on a fresh worker after a sandbox fault."),
            ("deduplicated", s.deduplicated, "Jobs shared with an identical concurrent job."),
            ("compiles", s.compiles, "Compiler runs (build-cache misses)."),
            ("build_cache_hits", s.build_cache_hits, "Builds served from the build cache instead of a compiler."),
            (
                "build_cache_shared",
                s.build_cache_shared,
                "Builds a job got from a concurrent job's compile of the same program (single flight).",
            ),
            ("build_cache_evictions", s.build_cache_evicted, "Built programs dropped to stay within the cache size."),
        ):
            yield CounterMetricFamily(f"arbiter_sandbox_{name}", doc, value=value)
        yield GaugeMetricFamily(
            "arbiter_sandbox_build_cache_bytes", "Bytes of built programs held.", value=s.build_cache_bytes
        )
        yield GaugeMetricFamily(
            "arbiter_sandbox_build_cache_entries", "Built programs held.", value=s.build_cache_entries
        )


router = APIRouter()


@router.get(
    "/metrics",
    tags=["operations"],
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        **error_responses(),
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this replica."""
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)
