"""Test doubles for the pool, in the style of httpx.MockTransport: a FakeBackend whose workers answer each job
with a handler(job_dict) -> outcome dict, or misbehave on request (die, hang, garbage). NO isolation: for unit
tests of the pool's recycling / retry / dedup logic only; programs are never executed."""

from __future__ import annotations

import asyncio
import itertools
import json
import struct
from collections.abc import Callable
from typing import Any

from sandbox.backends.base import Backend, WorkerTransport
from sandbox.errors import BackendUnavailable, WorkerLost

DIE = "die"  # the worker's stream ends
HANG = "hang"  # the worker never answers
GARBAGE = "garbage"  # the worker sends an invalid frame


def ok_outcome(job: dict[str, Any], stdout: str = "", verdict: str = "OK") -> dict[str, Any]:
    return {
        "compile_output": "",
        "dirty": False,
        "tests": [
            {
                "verdict": verdict,
                "cpu_s": 0.001,
                "wall_s": 0.001,
                "exit_code": 0,
                "signal": None,
                "stdout": stdout,
                "stderr": "",
                "return_value": None,
                "truncated": False,
            }
            for _ in job.get("tests", [])
        ],
    }


def echo_handler(job: dict[str, Any]) -> dict[str, Any]:
    """Answers every stdio test with its own input as stdout."""
    out = ok_outcome(job)
    for t, inp in zip(out["tests"], job["tests"]):
        t["stdout"] = inp
    return out


class FakeTransport(WorkerTransport):
    def __init__(self, wid: str, backend: FakeBackend) -> None:
        self.id = wid
        self.backend = backend
        self._buf = bytearray()
        self._data = asyncio.Event()
        self._alive = True
        self.jobs: list[dict[str, Any]] = []
        self._put({"type": "hello", "version": 1, "pid": 0})

    def _put(self, obj: Any) -> None:
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self._buf += struct.pack(">I", len(data)) + data
        self._data.set()

    async def send(self, data: bytes) -> None:
        if not self._alive:
            raise WorkerLost(f"{self.id} is dead")
        (n,) = struct.unpack(">I", data[:4])
        msg = json.loads(data[4 : 4 + n])
        if msg["type"] != "job":
            return
        self.jobs.append(msg["job"])
        self.backend.jobs_seen.append((self.id, msg["job"]))
        if self.backend.delay:
            await asyncio.sleep(self.backend.delay)
        res = self.backend.handler(msg["job"])
        if res == DIE:
            self._alive = False
            self._data.set()
        elif res == HANG:
            pass
        elif res == GARBAGE:
            self._put(b"\xff not json")
        else:
            self._put({"type": "result", "outcome": res})

    async def receive_exactly(self, n: int) -> bytes:
        while len(self._buf) < n:
            if not self._alive:
                raise WorkerLost(f"{self.id}: end of stream")
            self._data.clear()
            await self._data.wait()
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    async def kill(self) -> None:
        if self._alive:
            self._alive = False
            self._data.set()
        self.backend.killed.add(self.id)

    @property
    def alive(self) -> bool:
        return self._alive


class FakeBackend(Backend):
    name = "fake"

    def __init__(
        self,
        handler: Callable[[dict[str, Any]], Any] = echo_handler,
        *,
        available: bool = True,
        fail_starts: int = 0,
        delay: float = 0.0,
    ) -> None:
        self.handler = handler
        self.available = available
        self.fail_starts = fail_starts
        self.delay = delay
        self.started: list[FakeTransport] = []
        self.killed: set[str] = set()
        self.jobs_seen: list[tuple[str, dict[str, Any]]] = []
        self._ids = itertools.count(1)

    async def probe(self) -> None:
        if not self.available:
            raise BackendUnavailable("fake backend switched off")

    async def start_worker(self) -> WorkerTransport:
        if self.fail_starts > 0:
            self.fail_starts -= 1
            from sandbox.errors import WorkerStartFailed

            raise WorkerStartFailed("scripted start failure")
        t = FakeTransport(f"fake-{next(self._ids)}", self)
        self.started.append(t)
        return t

    @property
    def alive_workers(self) -> list[FakeTransport]:
        return [t for t in self.started if t.alive]
