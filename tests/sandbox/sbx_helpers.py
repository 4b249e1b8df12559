"""Helpers shared by the sandbox suites (imported by bare module name: `import sbx_helpers`)."""

from __future__ import annotations

import os
import time
from typing import NoReturn

import pytest

from sandbox import Limits, RunRequest, RunResult, SandboxPool

#: Short limits for hostile programs.
HOSTILE = Limits(
    cpu_s=1.0, wall_s=2.0, memory_mb=256, max_output_bytes=1 << 20, max_processes=16, file_size_mb=8, open_files=32
)


def unavailable(backend_name: str, reason: object) -> NoReturn:
    """The suites' one rule for a missing backend: skip on a developer machine, fail when CI is set (a skip must
    never hide a missing engine there)."""
    if os.environ.get("CI"):
        pytest.fail(f"sandbox backend {backend_name!r} unavailable in CI: {reason}")
    pytest.skip(f"sandbox backend {backend_name!r} unavailable: {reason}")


def sandbox_image() -> str:
    """The sandbox image the docker suites run: ARBITER_SANDBOX_IMAGE (the service's own setting) when set, so that
    a branch can test its image under its own tag, else the backend's default (arbiter-sandbox:latest)."""
    from sandbox.backends.docker import DockerConfig

    return os.environ.get("ARBITER_SANDBOX_IMAGE") or DockerConfig.image


async def run_stdio(pool: SandboxPool, source: str, inputs, outputs, **kw) -> RunResult:
    return await pool.run(RunRequest.stdio(source, inputs, outputs, **kw))


async def assert_still_healthy(pool: SandboxPool) -> None:
    """The next job on the same pool passes."""
    r = await pool.run(RunRequest.stdio("print(int(input()) * 2)", ["21\n"], ["42"]))
    assert r.verdicts == ["AC"], r


def wait_no_leftovers(backend_name: str, timeout: float = 2.0) -> list[str]:
    deadline = time.monotonic() + timeout
    left = leftover_processes(backend_name)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = leftover_processes(backend_name)
    return left


def _descendants(root: int) -> set[int]:
    """Processes under root (every process of a bwrap sandbox this test process started, orphans included: they
    are reparented to the sandbox's own pid 1, itself our descendant)."""
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    parent[int(name)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    out: set[int] = set()
    todo = [root]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p and c not in out]
        out.update(kids)
        todo += kids
    return out


def leftover_processes(backend_name: str) -> list[str]:
    """Processes of sandboxed programs still alive (the executors themselves excluded). Only this test process's
    own sandboxes count: other runs on the same machine lease other uids of the same range (sandbox/uids.py)."""
    if backend_name != "bwrap":
        return []
    from sandbox.backends.bwrap import BwrapConfig

    c = BwrapConfig()
    out = []
    for pid in sorted(_descendants(os.getpid())):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        uid = int(line.split()[1])
                        if c.uid_base <= uid < c.uid_base + c.uid_slots:
                            out.append(f"{pid} uid={uid}")
                        break
        except OSError:
            pass
    return out
