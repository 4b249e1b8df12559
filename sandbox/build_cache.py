"""The service's half of the build cache: built programs kept in memory, and single flight of their compiles.

GRPO groups resend the same programs (one prompt, several identical completions; the same completion scored in
several steps). A compiled language's program is compiled once: the executor sends what it built in a "build"
frame right after the compile, before any test has run (sandbox/executor/artifacts.py), and this cache keeps it,
least recently used first out, within a total size in bytes. A later job with the same program carries the
artifact (or the compile error) to the executor, which checks the key it was built under against its own and
runs no compiler. Artifacts live only here and in job frames: never where a running program can write.

Two keys: the service looks a build up by what it knows of a job (language, test kind, program, the test's code
for assert builds); each entry holds the executor's key (which adds the flags, the harness and the toolchain's
identity), which the executor verifies. Single flight: while one job compiles a program, the jobs with the same
program wait for its build frame (no worker held, bounded wait) instead of compiling it again; when that build
fails for a sandbox reason or takes too long they compile for themselves.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from .models import LANGUAGES, Job


@dataclass(frozen=True)
class CachedBuild:
    key: str  # the executor's key (checked by the executor before it uses the build)
    files: tuple[dict[str, Any], ...] | None  # path, mode, data (base64): what the compiler wrote
    error: str | None  # the compiler's message when the program does not compile
    size: int  # bytes held (the base64 text, or the message)

    def wire(self) -> dict[str, Any]:
        if self.error is not None:
            return {"key": self.key, "error": self.error}
        return {"key": self.key, "files": list(self.files or ())}

    @classmethod
    def from_frame(cls, frame: dict[str, Any]) -> CachedBuild | None:
        key = frame.get("key")
        if not isinstance(key, str) or not key:
            return None
        if isinstance(frame.get("error"), str):
            return cls(key=key, files=None, error=frame["error"], size=len(frame["error"]))
        files = frame.get("files")
        if not isinstance(files, list) or not all(
            isinstance(f, dict) and isinstance(f.get("data"), str) for f in files
        ):
            return None  # "stored": false (too large to keep) or malformed
        return cls(key=key, files=tuple(files), error=None, size=sum(len(f["data"]) for f in files))


@dataclass
class BuildCacheStats:
    entries: int = 0
    bytes: int = 0
    stored: int = 0  # builds put in the cache
    evicted: int = 0  # entries dropped to stay within the byte bound
    shared: int = 0  # builds a job got from a concurrent job's compile (single flight)


@dataclass
class BuildPlan:
    """The builds of one job: its slots ("job", or "t<i>" for each assert test of a compiled language) and their
    service keys, the cached builds sent with it, and the compiles this job leads (others wait for them)."""

    slots: dict[str, str] = field(default_factory=dict)
    attach: dict[str, dict[str, Any]] = field(default_factory=dict)
    leads: dict[str, asyncio.Future[CachedBuild | None]] = field(default_factory=dict)


def service_key(language: str, kind: str, source: str, test_code: str | None) -> str:
    h = hashlib.sha256()
    for part in (language, kind, source, test_code):
        data = b"\xff" if part is None else part.encode("utf-8", "surrogatepass")
        h.update(b"%d\0" % len(data))
        h.update(data)
    return h.hexdigest()


class BuildCache:
    def __init__(self, max_bytes: int, max_entry_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        # by default a build larger than a quarter of the cache is not kept: it would evict most of it
        self.max_entry_bytes = max_bytes // 4 if max_entry_bytes is None else max_entry_bytes
        self.stats = BuildCacheStats()
        self._lru: collections.OrderedDict[str, CachedBuild] = collections.OrderedDict()
        self._flights: dict[str, asyncio.Future[CachedBuild | None]] = {}

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def slots(self, job: Job) -> dict[str, str]:
        lang = LANGUAGES[job.language]
        if not self.enabled or not lang.compiled:
            return {}
        if lang.builds_per_test(job.kind):
            slots = {"t%d" % i: service_key(lang.name, job.kind, job.source, str(t)) for i, t in enumerate(job.tests)}
            if lang.combines_asserts and len(job.tests) > 1:  # one build of every test first (the executor's)
                tests = json.dumps([str(t) for t in job.tests])
                slots = {"all": service_key(lang.name, "assert-combined", job.source, tests), **slots}
            return slots
        return {"job": service_key(lang.name, job.kind, job.source, None)}

    def get(self, skey: str) -> CachedBuild | None:
        entry = self._lru.get(skey)
        if entry is not None:
            self._lru.move_to_end(skey)
        return entry

    def put(self, skey: str, entry: CachedBuild) -> None:
        if entry.size > self.max_entry_bytes:
            return
        old = self._lru.pop(skey, None)
        if old is not None:
            self.stats.bytes -= old.size
        self._lru[skey] = entry
        self.stats.bytes += entry.size
        self.stats.stored += 1
        while self.stats.bytes > self.max_bytes and self._lru:
            _, dropped = self._lru.popitem(last=False)
            self.stats.bytes -= dropped.size
            self.stats.evicted += 1
        self.stats.entries = len(self._lru)

    async def plan(self, job: Job, wait_s: float) -> BuildPlan:
        """Cached builds for the job's slots; for a slot another job is compiling now, wait (at most wait_s) for
        that build; lead the compile of the others."""
        plan = BuildPlan(slots=self.slots(job))
        waits: list[tuple[str, asyncio.Future[CachedBuild | None]]] = []
        for slot, skey in plan.slots.items():
            entry = self.get(skey)
            if entry is not None:
                plan.attach[slot] = entry.wire()
                continue
            flight = self._flights.get(skey)
            if flight is None:
                flight = asyncio.get_running_loop().create_future()
                self._flights[skey] = flight
                plan.leads[skey] = flight
            elif skey not in plan.leads:
                waits.append((slot, flight))
        deadline = time.monotonic() + wait_s
        for slot, flight in waits:
            try:
                entry = await asyncio.wait_for(asyncio.shield(flight), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                entry = None  # compile it here
            if entry is not None:
                plan.attach[slot] = entry.wire()
                self.stats.shared += 1
        return plan

    def record(self, plan: BuildPlan, frame: dict[str, Any]) -> None:
        """A build frame of the job's executor: keep the build, hand it to the jobs waiting for it."""
        skey = plan.slots.get(str(frame.get("slot")))
        if skey is None:
            return
        entry = CachedBuild.from_frame(frame)
        if entry is not None:
            self.put(skey, entry)
        self._land(plan, skey, entry)

    def finish(self, plan: BuildPlan) -> None:
        """The job is over: waiters of a compile it led but did not report compile for themselves."""
        for skey in list(plan.leads):
            self._land(plan, skey, None)

    def _land(self, plan: BuildPlan, skey: str, entry: CachedBuild | None) -> None:
        flight = plan.leads.pop(skey, None)
        if flight is None:
            return
        if not flight.done():
            flight.set_result(entry)
        if self._flights.get(skey) is flight:
            del self._flights[skey]
