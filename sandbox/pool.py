"""SandboxPool: N warm workers (executors inside isolation boundaries), acquire/release, recycling, retries,
single-flight deduplication. Shared by every backend: a backend only starts boundaries and moves bytes."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass
from typing import Any

from .api import PoolConfig, RunRequest, RunResult
from .backends.base import Backend, WorkerTransport
from .build_cache import BuildCache, BuildPlan
from .errors import AcquireTimeout, PoolClosed, ProtocolError, SandboxError, WorkerLost, WorkerStartFailed
from .judge import judge_outcome
from .models import Job, JobOutcome, Verdict
from .protocol import encode_frame, read_frame, write_frame

log = logging.getLogger("arbiter.sandbox")


@dataclass(frozen=True)
class PoolStats:
    backend: str
    size: int
    idle: int
    busy: int
    starting: int
    recycled: int
    ready: bool
    reason: str | None = None
    jobs: int = 0
    retries: int = 0
    deduplicated: int = 0
    unremoved: int = 0  # boundaries whose destruction failed (engine down), to be retried
    # build cache (sandbox/build_cache.py): compiler runs, builds served from the cache, builds a job got from a
    # concurrent job's compile, and what the cache holds
    compiles: int = 0
    build_cache_hits: int = 0
    build_cache_shared: int = 0
    build_cache_entries: int = 0
    build_cache_bytes: int = 0
    build_cache_evicted: int = 0


@dataclass(frozen=True)
class Toolchain:
    """One language on this backend: its toolchain's version, or why it is missing (what to install)."""

    language: str
    available: bool
    version: str | None
    reason: str | None


class _Worker:
    __slots__ = ("hello", "jobs", "started", "transport")

    def __init__(self, transport: WorkerTransport, hello: dict[str, Any]) -> None:
        self.transport = transport
        self.hello = hello
        self.jobs = 0
        self.started = time.monotonic()


class SandboxPool:
    def __init__(self, backend: Backend, config: PoolConfig | None = None) -> None:
        self.backend = backend
        self.config = config or PoolConfig()
        self._idle: collections.deque[_Worker] = collections.deque()
        self._busy: set[_Worker] = set()
        self._waiters: collections.deque[asyncio.Future[_Worker]] = collections.deque()
        self._starting = 0
        self._recycled = 0
        self._jobs = 0
        self._retries = 0
        self._dedup = 0
        self._closed = False
        self._started = False
        self._last_error: str | None = None
        self._failures = 0
        self._sweeping = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._toolchains: dict[str, Toolchain] | None = None
        self._inflight: dict[str, asyncio.Task[tuple[JobOutcome, str | None]]] = {}
        self.builds = BuildCache(self.config.build_cache_bytes)
        self._compiles = 0
        self._cached_builds = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self, wait: bool = True) -> None:
        """Probe the backend, remove leftovers of an earlier run and start the workers. With wait=True, return
        once at least one worker is ready (raise what the backend raised if none can start)."""
        if self._closed:
            raise PoolClosed("pool is closed")
        await self.backend.probe()
        try:
            n = await self.backend.remove_leftovers()
            if n:
                log.info("removed %d leftover sandbox workers", n)
        except SandboxError as e:  # pragma: no cover - best effort
            log.warning("could not remove leftovers: %s", e)
        self._started = True
        self._fill()
        if wait:
            # Bounded: a backend whose workers keep failing (bad image, broken engine) must not hold the
            # service's start-up forever; the caller reports the reason instead.
            deadline = time.monotonic() + self.config.start_timeout_s
            while not self._idle and not self._busy:
                if self._failures and self._starting == 0 and self._last_error:
                    raise WorkerStartFailed(f"no sandbox worker could start: {self._last_error}")
                if time.monotonic() > deadline:
                    raise WorkerStartFailed(
                        f"no sandbox worker started within {self.config.start_timeout_s:.0f} s"
                        + (f": {self._last_error}" if self._last_error else "")
                    )
                await asyncio.sleep(0.01)

    async def close(self) -> None:
        self._closed = True
        for t in list(self._tasks):
            t.cancel()
        for w in self._waiters:
            if not w.done():
                w.set_exception(PoolClosed("pool is closing"))
        self._waiters.clear()
        workers = list(self._idle) + list(self._busy)
        self._idle.clear()
        self._busy.clear()
        await asyncio.gather(*(self._kill(w) for w in workers), return_exceptions=True)
        for t in list(self._tasks):
            try:
                await t
            except BaseException:
                pass
        await self.backend.close()

    async def __aenter__(self) -> SandboxPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def stats(self) -> PoolStats:
        up = len(self._idle) + len(self._busy)
        ready = self._started and not self._closed and up > 0
        reason = None
        if not ready:
            if self._closed:
                reason = "pool is closed"
            elif not self._started:
                reason = "pool not started"
            else:
                reason = self._last_error or "workers are starting"
        return PoolStats(
            backend=self.backend.name,
            size=self.config.size,
            idle=len(self._idle),
            busy=len(self._busy),
            starting=self._starting,
            recycled=self._recycled,
            ready=ready,
            reason=reason,
            jobs=self._jobs,
            retries=self._retries,
            deduplicated=self._dedup,
            unremoved=self.backend.unremoved,
            compiles=self._compiles,
            build_cache_hits=self._cached_builds,
            build_cache_shared=self.builds.stats.shared,
            build_cache_entries=self.builds.stats.entries,
            build_cache_bytes=self.builds.stats.bytes,
            build_cache_evicted=self.builds.stats.evicted,
        )

    # ------------------------------------------------------------------ workers
    def _spawn(self, coro: Any) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    def _fill(self) -> None:
        if self._closed:
            return
        missing = self.config.size - (len(self._idle) + len(self._busy) + self._starting)
        for _ in range(max(0, missing)):
            self._starting += 1
            self._spawn(self._start_one())

    async def _start_one(self) -> None:
        worker = None
        try:
            if self._failures:
                await asyncio.sleep(min(30.0, 0.5 * 2 ** min(self._failures, 6)))
            transport = await self.backend.start_worker()
            try:
                hello = await asyncio.wait_for(read_frame(transport), self.config.start_timeout_s)
                if hello.get("type") != "hello":
                    raise ProtocolError(f"expected hello, got {hello.get('type')!r}")
            except BaseException:
                await transport.kill()
                raise
            worker = _Worker(transport, hello)
            self._failures = 0
            self._last_error = None
            if self.backend.unremoved and not self._sweeping:
                self._spawn(self._sweep())  # the backend answers again: remove what it could not remove before
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._failures += 1
            self._last_error = f"{type(e).__name__}: {e}"
            log.warning("sandbox worker failed to start: %s", self._last_error)
        finally:
            self._starting -= 1
        if worker is None:
            self._fill()  # retries with backoff
            return
        if self._closed:
            await worker.transport.kill()
            return
        self._give(worker)

    async def _sweep(self) -> None:
        self._sweeping = True
        try:
            await self.backend.sweep()
        except SandboxError as e:
            log.warning("sweeping unremoved sandbox workers failed: %s", e)
        finally:
            self._sweeping = False

    def _give(self, worker: _Worker) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                self._busy.add(worker)
                fut.set_result(worker)
                return
        self._idle.append(worker)

    async def _acquire(self, timeout: float) -> _Worker:
        if self._closed:
            raise PoolClosed("pool is closed")
        while self._idle:
            w = self._idle.popleft()
            if w.transport.alive:
                self._busy.add(w)
                return w
            self._recycle(w)
        fut: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._fill()
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self._release(fut.result(), healthy=True)  # handed over just as we gave up
            fut.cancel()
            raise AcquireTimeout(f"no sandbox worker became free within {timeout:g}s") from None
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self._release(fut.result(), healthy=True)
            fut.cancel()
            raise

    def _release(self, worker: _Worker, healthy: bool) -> None:
        self._busy.discard(worker)
        if self._closed:
            self._spawn(self._kill(worker))
            return
        if not healthy or not worker.transport.alive or worker.jobs >= self.config.max_jobs_per_worker:
            self._recycle(worker)
            return
        self._give(worker)

    def _recycle(self, worker: _Worker) -> None:
        self._busy.discard(worker)
        self._recycled += 1
        self._spawn(self._kill(worker))
        self._fill()

    async def _kill(self, worker: _Worker) -> None:
        try:
            await worker.transport.kill()
        except Exception as e:
            log.warning("killing worker %s failed: %s", worker.transport.id, e)

    # ------------------------------------------------------------------ languages
    async def toolchains(self) -> dict[str, Toolchain]:
        """Each language's toolchain on this backend (asked once of a worker, then cached: a worker's toolchains
        are those of its image or host). Raises SandboxError when no worker answers."""
        if self._toolchains is None:
            worker = await self._acquire(self.config.acquire_timeout_s)
            healthy = False
            try:
                await write_frame(worker.transport, {"type": "toolchains"})
                reply = await asyncio.wait_for(read_frame(worker.transport), 120)
                if reply.get("type") != "toolchains" or not isinstance(reply.get("languages"), dict):
                    raise ProtocolError(f"expected toolchains, got {reply.get('type')!r}")
                self._toolchains = {
                    name: Toolchain(
                        language=name,
                        available=bool(info.get("available")),
                        version=info.get("version"),
                        reason=info.get("reason"),
                    )
                    for name, info in reply["languages"].items()
                }
                healthy = True
            except TimeoutError:
                raise WorkerLost(f"worker {worker.transport.id} did not report its toolchains") from None
            finally:
                self._release(worker, healthy)
        return self._toolchains

    def known_toolchains(self) -> dict[str, Toolchain] | None:
        """The toolchains once asked (None before): for readiness checks that must not wait."""
        return self._toolchains

    # ------------------------------------------------------------------ jobs
    async def run(self, request: RunRequest) -> RunResult:
        """Run a program against its tests and judge the results. Never raises for the program's behaviour;
        sandbox faults become SE verdicts with a reason (RunResult.error). Raises ValueError for a malformed
        request and PoolClosed when the pool is closed."""
        request.validate()
        if self._closed:
            raise PoolClosed("pool is closed")
        if not request.inputs:
            return RunResult(verdicts=[], passed=0, total=0, cpu_s=0.0, wall_s=0.0)
        job = request.to_job(self.config.compile_limits)
        outcome, error = await self.execute(job)
        return judge_outcome(request, outcome, self.config.output_excerpt_bytes, error)

    async def execute(self, job: Job) -> tuple[JobOutcome, str | None]:
        """Run a job (single-flight: identical concurrent jobs share one execution)."""
        key = job.key()
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._execute(job))
            self._inflight[key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        else:
            self._dedup += 1
        return await asyncio.shield(task)

    async def _execute(self, job: Job) -> tuple[JobOutcome, str | None]:
        wait_s = self.config.build_wait_s
        plan = await self.builds.plan(job, job.compile_limits.wall_s + 5.0 if wait_s is None else wait_s)
        try:
            return await self._attempts(job, plan)
        finally:
            self.builds.finish(plan)

    def _job_frame(self, job: Job, plan: BuildPlan) -> bytes:
        """The job's frame, with its cached builds. Raises ProtocolError when the job cannot be framed."""
        body = job.to_json()
        if plan.slots:
            body["build_cache"] = {"max_bytes": self.builds.max_entry_bytes, "builds": plan.attach}
        return encode_frame({"type": "job", "job": body})

    async def _exchange(self, worker: _Worker, frame: bytes, plan: BuildPlan, deadline: float) -> dict[str, Any]:
        """Send the job's frame, keep the build frames that come before the result."""
        await worker.transport.send(frame)
        until = time.monotonic() + deadline
        while True:
            reply = await asyncio.wait_for(read_frame(worker.transport), max(0.0, until - time.monotonic()))
            if reply.get("type") != "build":
                return reply
            self.builds.record(plan, reply)

    async def _attempts(self, job: Job, plan: BuildPlan) -> tuple[JobOutcome, str | None]:
        n = len(job.tests)
        deadline = job.protocol_deadline_s + self.config.protocol_margin_s
        attempts = 2 if self.config.retry_on_fault else 1
        reason = "sandbox error"
        try:  # encoded once, before any worker is taken: a job that cannot be framed costs no worker
            frame = self._job_frame(job, plan)
        except ProtocolError as e:
            reason = f"the job cannot be sent to the sandbox: {e}"
            return JobOutcome.system_error(n, reason), reason
        for attempt in range(attempts):
            if attempt:
                self._retries += 1
            try:
                worker = await self._acquire(self.config.acquire_timeout_s)
            except (AcquireTimeout, PoolClosed) as e:
                return JobOutcome.system_error(n, str(e)), str(e)
            healthy = False
            try:
                reply = await self._exchange(worker, frame, plan, deadline)
                if reply.get("type") == "error":
                    # The executor could not read this job and said so; it is in step and healthy. The same job
                    # would fail the same way on any worker: no retry (a retry must never cost a second worker).
                    healthy = True
                    reason = f"the sandbox could not read the job: {reply.get('message') or 'no reason given'}"
                    return JobOutcome.system_error(n, reason), reason
                if reply.get("type") != "result":
                    raise ProtocolError(f"expected result, got {reply.get('type')!r}")
                outcome = JobOutcome.from_json(reply.get("outcome") or {})
                if len(outcome.tests) != n:
                    raise ProtocolError(f"executor returned {len(outcome.tests)} outcomes for {n} tests")
                worker.jobs += 1
                self._jobs += 1
                self._compiles += outcome.compiles
                self._cached_builds += outcome.cached_builds
                healthy = not outcome.dirty and not any(t.verdict == Verdict.SE for t in outcome.tests)
                if healthy or attempt == attempts - 1:
                    if not healthy:
                        reason = next((t.stderr for t in outcome.tests if t.verdict == Verdict.SE), "") or reason
                        return outcome, (reason if any(t.verdict == Verdict.SE for t in outcome.tests) else None)
                    return outcome, None
                reason = next((t.stderr for t in outcome.tests if t.verdict == Verdict.SE), "") or "worker unclean"
            except TimeoutError:
                reason = f"worker {worker.transport.id} did not answer within {deadline:.1f}s"
            except (WorkerLost, ProtocolError) as e:
                reason = f"worker {worker.transport.id} failed: {e}"
            except SandboxError as e:
                reason = f"worker {worker.transport.id}: {e}"
            finally:
                self._release(worker, healthy)
            log.warning("job attempt %d: %s", attempt + 1, reason)
        return JobOutcome.system_error(n, reason), reason
