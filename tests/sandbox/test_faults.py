"""Fault injection (issue 11, standing tests): a killed executor, a killed container, a killed warm interpreter, and
a Docker engine that goes down and comes back. Each time every item of the batch is answered (right, or `SE` with
a reason), the pool refills, and nothing is left behind: containers whose removal failed while the engine was down
are removed by a later sweep.

The shared engine is never stopped: the outage is a relay in front of it (sbx_engine_proxy.EngineRelay) that cuts
every connection of one backend and refuses new ones, which is what the SDK sees when the engine dies."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import pytest
from sbx_engine_proxy import EngineRelay
from sbx_helpers import sandbox_image, unavailable

from sandbox import BackendUnavailable, PoolConfig, RunRequest, RunResult, SandboxPool

SLOW = "import time\ntime.sleep({s})\nprint('done')  # job {i}\n"


def _batch(n: int, sleep_s: float) -> list[RunRequest]:
    return [RunRequest.stdio(SLOW.format(s=sleep_s, i=i), [""], ["done"]) for i in range(n)]


def _answered(results: list[RunResult]) -> None:
    """Every item answered: right (AC), or a sandbox error with the reason (never a wrong answer)."""
    for r in results:
        assert r.verdicts == ["AC"] or (r.verdicts == ["SE"] and r.error), r


async def _refilled(pool: SandboxPool, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = pool.stats()
        if st.idle == st.size and st.starting == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"pool not refilled: {pool.stats()}")


async def _busy_transport(pool: SandboxPool, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pool._busy:
            return next(iter(pool._busy)).transport
        await asyncio.sleep(0.02)
    raise AssertionError("no worker became busy")


def _children(pid: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                out.append(int(name))
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def _uid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _is_executor(pid: int) -> bool:
    argv = _cmdline(pid).split()
    return bool(argv) and "python" in os.path.basename(argv[0]) and "/opt/arbiter/executor" in argv


def _executor_processes(transport, harness: bool = False) -> tuple[int, int]:
    """Host pids of (executor, zygote) of one worker; harness=True: (executor, harness zygote)."""
    if hasattr(transport, "proc"):  # bwrap: bwrap -> bwrap (pid 1 inside) -> executor -> zygote
        todo, found = [transport.proc.pid], []
        while todo:
            p = todo.pop()
            kids = _children(p)
            todo += kids
            found += [k for k in kids if _is_executor(k)]
    else:  # docker: the executor is the container's pid 1
        import docker

        client = docker.from_env(timeout=30)
        try:
            root = client.api.inspect_container(transport.container_id)["State"]["Pid"]
        finally:
            client.close()
        found = [root] + [k for k in _children(root) if _is_executor(k)]
    # the executor is the one whose parent is no executor; the zygote is its child that stayed root (the tests it
    # forks run as the sandbox uid and carry the same command line); so is the harness zygote, which names itself
    executor = [p for p in found if not any(p in _children(q) for q in found)]
    zygote = [
        p
        for p in found
        if executor and p in _children(executor[0]) and _uid(p) == 0 and (_comm(p) == "arbiter-harness") == harness
    ]
    assert len(executor) == 1 and len(zygote) == 1, (found, [_cmdline(p) for p in found])
    return executor[0], zygote[0]


# ---------------------------------------------------------------------------------------------- both backends
async def test_killed_executor_mid_batch_every_item_answered_pool_refilled(pool_factory):
    pool = await pool_factory(2)
    batch = asyncio.gather(*(pool.run(r) for r in _batch(6, 0.4)))
    t = await _busy_transport(pool)
    executor, _ = _executor_processes(t)
    await asyncio.sleep(0.2)
    os.kill(executor, 9)
    results = await asyncio.wait_for(batch, 120)
    _answered(results)
    assert pool.stats().retries >= 1  # the killed job ran again on a fresh worker
    await _refilled(pool)
    r = await pool.run(RunRequest.stdio("print(int(input()) * 2)", ["21\n"], ["42"]))
    assert r.verdicts == ["AC"], r


async def test_killed_zygote_costs_one_retry_and_is_restarted(pool_factory):
    pool = await pool_factory(1, retry_on_fault=False)
    job = asyncio.create_task(pool.run(_batch(1, 1.0)[0]))
    t = await _busy_transport(pool)
    _, zygote = _executor_processes(t)
    await asyncio.sleep(0.3)
    os.kill(zygote, 9)
    r = await asyncio.wait_for(job, 60)
    assert r.verdicts == ["SE"] and "warm Python interpreter" in (r.error or ""), r  # a sandbox fault, said so
    await _refilled(pool)
    r = await pool.run(RunRequest.stdio("print(int(input()) * 2)", ["21\n"], ["42"]))
    assert r.verdicts == ["AC"], r
    # a zygote killed between jobs is replaced before the next Python test, on the same worker
    t = next(iter(pool._idle)).transport
    _, zygote = _executor_processes(t)
    os.kill(zygote, 9)
    r = await pool.run(RunRequest.stdio("print(int(input()) * 3)", ["2\n"], ["6"]))
    assert r.verdicts == ["AC"], r
    assert next(iter(pool._idle)).transport is t
    # and before the next assert test: its candidate is forked by the zygote too
    _, zygote = _executor_processes(t)
    os.kill(zygote, 9)
    r = await pool.run(
        RunRequest.assert_based(
            "def f(x):\n    return x + 1\n", "def check(candidate):\n    assert candidate(1) == 2\n", "f"
        )
    )
    assert r.verdicts == ["AC"], r
    assert next(iter(pool._idle)).transport is t


async def test_killed_harness_zygote_is_restarted_and_costs_no_verdict(pool_factory):
    """The process that forks assert tests' harnesses (harness_zygote.py), killed between two jobs or during one:
    the next assert test still gets its verdict, on the same worker."""
    pool = await pool_factory(1, retry_on_fault=False)
    ok = RunRequest.assert_based(
        "def f(x):\n    return x + 1\n", "def check(candidate):\n    assert candidate(1) == 2\n", "f"
    )
    wrong = RunRequest.assert_based(
        "def f(x):\n    return x\n", "def check(candidate):\n    assert candidate(1) == 2\n", "f"
    )
    assert (await pool.run(ok)).verdicts == ["AC"]
    t = next(iter(pool._idle)).transport
    for _ in range(2):  # killed between jobs: replaced (a fresh interpreter) before the next assert test
        _, hz = _executor_processes(t, harness=True)
        os.kill(hz, 9)
        assert (await pool.run(ok)).verdicts == ["AC"]
        assert (await pool.run(wrong)).verdicts == ["WA"]
        assert next(iter(pool._idle)).transport is t
    # killed while a test runs (the candidate is slow to define its function): that test's harness is forked by
    # the executor instead, or the harness already forked finishes the test
    slow = RunRequest.assert_based(
        "import time\ntime.sleep(0.5)\ndef f(x):\n    return x + 1\n",
        "def check(candidate):\n    assert candidate(1) == 2\n",
        "f",
    )
    job = asyncio.create_task(pool.run(slow))
    await asyncio.sleep(0.2)
    _, hz = _executor_processes(t, harness=True)
    os.kill(hz, 9)
    r = await asyncio.wait_for(job, 60)
    assert r.verdicts == ["AC"], r
    assert (await pool.run(wrong)).verdicts == ["WA"]


# ---------------------------------------------------------------------------------------------- docker only
docker_only = pytest.mark.docker


@pytest.fixture
def engine():
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except (docker.errors.DockerException, OSError) as e:
        unavailable("docker", f"no Docker engine: {e}")
    yield client
    client.close()


@pytest.fixture
def instance() -> str:
    return f"pytest-faults-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def relayed(engine, instance):
    """A docker backend that reaches the engine only through a relay the test can take down."""
    from sandbox.backends.docker import LABEL_INSTANCE, DockerBackend, DockerConfig

    relay = EngineRelay()
    relay.start()
    backend = DockerBackend(DockerConfig(instance=instance, image=sandbox_image(), base_url=relay.url))
    try:
        await backend.probe()
    except BackendUnavailable as e:
        relay.close()
        unavailable("docker", str(e))
    yield relay, backend
    relay.start()
    await backend.close()
    relay.close()
    left = engine.containers.list(all=True, filters={"label": f"{LABEL_INSTANCE}={instance}"})
    for c in left:
        c.remove(force=True)
    assert not left, f"containers left behind: {[c.short_id for c in left]}"


@docker_only
async def test_engine_outage_mid_batch_every_item_answered_then_refilled_and_swept(relayed):
    relay, backend = relayed
    pool = SandboxPool(backend, PoolConfig(size=2, acquire_timeout_s=10.0))
    await pool.start()
    try:
        batch = asyncio.gather(*(pool.run(r) for r in _batch(6, 0.5)))
        await _busy_transport(pool)
        await asyncio.sleep(0.3)
        relay.stop()  # the engine dies: attach streams cut, API refused
        unremoved = 0
        t_end = time.monotonic() + 2.5
        while time.monotonic() < t_end:
            unremoved = max(unremoved, pool.stats().unremoved)
            await asyncio.sleep(0.05)
        relay.start()  # and comes back
        results = await asyncio.wait_for(batch, 180)
        _answered(results)
        assert unremoved >= 1, "removals failed during the outage must be remembered"
        await _refilled(pool)
        deadline = time.monotonic() + 30
        while pool.stats().unremoved and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert pool.stats().unremoved == 0, "the sweep after the engine came back must remove them"
        r = await pool.run(RunRequest.stdio("print(int(input()) * 2)", ["21\n"], ["42"]))
        assert r.verdicts == ["AC"], r
    finally:
        await pool.close()


@docker_only
async def test_removal_that_failed_while_the_engine_was_down_is_swept_later(relayed, engine, instance):
    from sandbox.backends.docker import LABEL_INSTANCE, LABEL_POOL, LABEL_ROLE, ROLE

    relay, backend = relayed
    # a container that stays up by itself (no auto_remove, no stdin to close): only a removal can take it away
    c = await asyncio.to_thread(
        engine.containers.run,
        sandbox_image(),
        ["python3", "-c", "import time; time.sleep(300)"],
        detach=True,
        network_mode="none",
        labels={LABEL_INSTANCE: instance, LABEL_POOL: "default", LABEL_ROLE: ROLE},
    )
    relay.stop()
    assert await backend._remove(c.id) is False
    assert backend.unremoved == 1
    assert await backend.sweep() == 0  # still down: still remembered
    assert backend.unremoved == 1
    await asyncio.to_thread(c.reload)  # the real engine still has it
    relay.start()
    assert await backend.sweep() == 1
    assert backend.unremoved == 0
    docker = pytest.importorskip("docker")
    with pytest.raises(docker.errors.NotFound):
        await asyncio.to_thread(engine.containers.get, c.id)


@docker_only
async def test_killed_container_mid_batch_every_item_answered_pool_refilled(relayed, engine):
    _, backend = relayed
    pool = SandboxPool(backend, PoolConfig(size=2, acquire_timeout_s=30.0))
    await pool.start()
    try:
        batch = asyncio.gather(*(pool.run(r) for r in _batch(6, 0.4)))
        t = await _busy_transport(pool)
        await asyncio.sleep(0.2)
        await asyncio.to_thread(engine.api.kill, t.container_id)
        _answered(await asyncio.wait_for(batch, 120))
        assert pool.stats().retries >= 1
        await _refilled(pool)
    finally:
        await pool.close()
