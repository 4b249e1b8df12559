"""Sandbox test fixtures. The backend parametrization lives here, in ONE place: add a backend name to
BACKENDS and a factory to make_backend() and every backend-parametrized suite runs against it.

A missing backend skips its tests locally but FAILS them when the CI environment variable is set."""

from __future__ import annotations

import os
import sys

import pytest

# helpers of this folder (sbx_helpers, sbx_fake_backend) are imported by bare module name
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sbx_helpers import leftover_processes, sandbox_image, unavailable  # noqa: F401

from sandbox import BackendUnavailable, PoolConfig, SandboxPool
from sandbox.models import CompileLimits

BACKENDS = ["bwrap", "docker"]


async def make_backend(name: str):
    if name == "bwrap":
        from sandbox.backends.bwrap import BwrapBackend, BwrapConfig

        backend = BwrapBackend(BwrapConfig(tmpfs_mb=256))
    elif name == "docker":
        from sandbox.backends.docker import DockerBackend, DockerConfig

        # an instance label of its own: start-up removes leftovers of that label only, never a running service's
        backend = DockerBackend(DockerConfig(instance=f"pytest-{os.getpid()}", image=sandbox_image()))
    else:  # pragma: no cover
        raise ValueError(name)
    await backend.probe()
    return backend


@pytest.fixture(params=BACKENDS)
def backend_name(request) -> str:
    return request.param


@pytest.fixture
async def backend(backend_name):
    try:
        b = await make_backend(backend_name)
    except (BackendUnavailable, ImportError) as e:
        unavailable(backend_name, e)
    return b


def make_pool_factory(backend):
    pools = []

    async def factory(size: int = 1, **kw) -> SandboxPool:
        kw.setdefault("compile_limits", CompileLimits(cpu_s=15, wall_s=20))
        kw.setdefault("acquire_timeout_s", 30.0)
        pool = SandboxPool(backend, PoolConfig(size=size, **kw))
        await pool.start()
        pools.append(pool)
        return pool

    return factory, pools


@pytest.fixture
async def pool(backend):
    """A started one-worker pool (the next job runs on the same worker unless it was recycled)."""
    factory, pools = make_pool_factory(backend)
    p = await factory(1)
    yield p
    for p in pools:
        await p.close()


@pytest.fixture
async def pool_factory(backend):
    factory, pools = make_pool_factory(backend)
    yield factory
    for p in pools:
        await p.close()
