"""Container-specific tests of the Docker backend: the boundary (network, read-only root, no engine socket,
capabilities, limits), the attach transport, labels, leftovers, removal, and faults from outside (docker kill).

The backend-independent suites (verdicts, adversarial, reward hacking) run on Docker through the `backend`
parametrization in conftest.py. Every test uses its own instance label and leaves no container behind.
Without an engine or the image these tests skip locally and FAIL when the CI environment variable is set."""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import pytest
from sbx_helpers import sandbox_image, unavailable

from sandbox import BackendUnavailable, Limits, PoolConfig, RunRequest, SandboxPool, WorkerLost
from sandbox.protocol import read_frame, write_frame

docker = pytest.importorskip("docker")
from sandbox.backends.docker import (  # noqa: E402
    LABEL_INSTANCE,
    LABEL_POOL,
    LABEL_ROLE,
    ROLE,
    DockerBackend,
    DockerConfig,
)

pytestmark = pytest.mark.docker


@pytest.fixture
def instance() -> str:
    return f"pytest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def engine():
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except (docker.errors.DockerException, OSError) as e:
        unavailable("docker", f"no Docker engine: {e}")
    yield client
    client.close()


def _ours(engine, instance: str) -> list:
    return engine.containers.list(all=True, filters={"label": f"{LABEL_INSTANCE}={instance}"})


@pytest.fixture
async def make_backend(engine, instance):
    """Factory of probed DockerBackends labelled with this test's instance; asserts nothing is left behind."""
    backends: list[DockerBackend] = []

    async def factory(**kw) -> DockerBackend:
        kw.setdefault("instance", instance)
        kw.setdefault("image", sandbox_image())
        b = DockerBackend(DockerConfig(**kw))
        try:
            await b.probe()
        except BackendUnavailable as e:
            unavailable("docker", str(e))
        backends.append(b)
        return b

    yield factory
    for b in backends:
        await b.close()
    left = _ours(engine, instance)
    for c in left:  # clean up even when the assertion below fails
        c.remove(force=True)
    assert not left, f"containers left behind: {[c.short_id for c in left]}"


@pytest.fixture
async def docker_pool(make_backend):
    pools: list[SandboxPool] = []

    async def factory(size: int = 1, **kw) -> SandboxPool:
        pool = SandboxPool(await make_backend(), PoolConfig(size=size, **kw))
        await pool.start()
        pools.append(pool)
        return pool

    yield factory
    for p in pools:
        await p.close()


async def _probe_program(pool: SandboxPool, source: str) -> dict:
    """Run a program that prints one JSON object and return it."""
    r = await pool.run(RunRequest.stdio(source, [""], [""]))
    assert r.tests[0].verdict in ("AC", "WA"), (r.verdicts, r.tests[0].stderr)
    return json.loads(r.tests[0].stdout)


# ---------------------------------------------------------------------------------------------- boundary
async def test_only_loopback_and_no_route_out(docker_pool):
    pool = await docker_pool()
    seen = await _probe_program(
        pool,
        """
import json, socket
out = {"ifaces": [n for _, n in socket.if_nameindex()]}
for host in ("1.1.1.1", "10.0.0.1", "172.17.0.1"):
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect((host, 53)); out[host] = "connected"
    except OSError as e:
        out[host] = e.__class__.__name__ + ":" + str(e.errno)
    finally:
        s.close()
print(json.dumps(out))
""",
    )
    assert seen["ifaces"] == ["lo"]
    for host in ("1.1.1.1", "10.0.0.1", "172.17.0.1"):
        assert seen[host] != "connected", seen


async def test_read_only_root_and_writable_tmp(docker_pool, make_backend, engine):
    pool = await docker_pool()
    seen = await _probe_program(
        pool,
        """
import json, os
mounts = {}
for line in open("/proc/self/mounts"):
    dev, mnt, fs, opts = line.split()[:4]
    mounts[mnt] = (fs, opts.split(","))
open("scratch", "w").write("x")  # the test's work dir (tmpfs) is writable
try:
    open("/tmp/elsewhere", "w").write("x")
    tmp_writable = True
except OSError:
    tmp_writable = False
print(json.dumps({"mounts": mounts, "cwd": os.getcwd(), "uid": os.getuid(), "tmp_writable": tmp_writable}))
""",
    )
    _root_fs, root_opts = seen["mounts"]["/"]
    assert "ro" in root_opts
    tmp_fs, tmp_opts = seen["mounts"]["/tmp"]
    assert tmp_fs == "tmpfs" and "rw" in tmp_opts and "nosuid" in tmp_opts and "nodev" in tmp_opts
    assert seen["cwd"].startswith("/tmp/")
    assert seen["tmp_writable"] is False  # /tmp itself belongs to root: only the test's own dir is writable
    # Even root inside the container (the executor's own uid) cannot write to the image.
    (container,) = _ours(engine, pool.backend.config.instance)
    for path in ("/etc/arbiter-probe", "/usr/arbiter-probe", "/opt/arbiter/executor/main.py"):
        rc, out = container.exec_run(["/bin/sh", "-c", f": > {path}"], user="0")
        assert rc != 0 and b"Read-only file system" in out, (path, rc, out)


async def test_no_engine_socket_no_host_mounts(docker_pool, engine):
    pool = await docker_pool()
    seen = await _probe_program(
        pool,
        """
import json, os
socks = [p for p in ("/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock")
         if os.path.exists(p)]
mounts = [l.split()[1] for l in open("/proc/self/mounts")]
print(json.dumps({"socks": socks, "mounts": mounts, "env": sorted(os.environ)}))
""",
    )
    assert seen["socks"] == []
    assert not any("docker" in m or "containerd" in m for m in seen["mounts"]), seen["mounts"]
    assert "DOCKER_HOST" not in seen["env"]
    (container,) = _ours(engine, pool.backend.config.instance)
    assert all(m["Type"] == "tmpfs" for m in container.attrs["Mounts"]), container.attrs["Mounts"]
    assert not container.attrs["HostConfig"]["Binds"]


async def test_user_code_unprivileged_without_capabilities(docker_pool):
    pool = await docker_pool()
    seen = await _probe_program(
        pool,
        """
import json, os
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
print(json.dumps({"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
                  "CapEff": status["CapEff"].strip(), "CapPrm": status["CapPrm"].strip(),
                  "CapBnd": status["CapBnd"].strip(), "NoNewPrivs": status["NoNewPrivs"].strip()}))
""",
    )
    assert seen["uid"] == seen["euid"] == seen["gid"] >= 62000
    assert seen["groups"] == []
    assert int(seen["CapEff"], 16) == 0 and int(seen["CapPrm"], 16) == 0
    assert seen["NoNewPrivs"] == "1"
    # bounding set: only SETUID SETGID KILL CHOWN DAC_OVERRIDE (bits 7 6 5 0 1)
    assert int(seen["CapBnd"], 16) == (1 << 7) | (1 << 6) | (1 << 5) | (1 << 0) | (1 << 1)


async def test_host_config_hardening_and_labels(make_backend, engine, instance):
    backend = await make_backend(pool="hardening", pids_limit=64, memory_mb=512, cpus=0.5, tmpfs_mb=64)
    t = await backend.start_worker()
    try:
        hello = await asyncio.wait_for(read_frame(t), 30)
        assert hello["type"] == "hello" and hello["switch_user"] is True
        (c,) = _ours(engine, instance)
        assert c.labels[LABEL_INSTANCE] == instance
        assert c.labels[LABEL_POOL] == "hardening"
        assert c.labels[LABEL_ROLE] == ROLE
        hc = c.attrs["HostConfig"]
        assert hc["NetworkMode"] == "none"
        assert hc["ReadonlyRootfs"] is True
        assert hc["CapDrop"] == ["ALL"]
        assert sorted(hc["CapAdd"]) == ["CHOWN", "DAC_OVERRIDE", "KILL", "SETGID", "SETUID"]
        assert "no-new-privileges" in hc["SecurityOpt"]
        assert hc["Privileged"] is False
        assert hc["PidsLimit"] == 64
        assert hc["Memory"] == hc["MemorySwap"] == 512 * 1024 * 1024
        assert hc["NanoCpus"] == 500_000_000
        assert hc["LogConfig"]["Type"] == "none"
        assert hc["AutoRemove"] is True
        assert "size=64m" in hc["Tmpfs"]["/tmp"]
        assert c.attrs["Config"]["User"] == "0"  # the executor; programs run under the worker's uid
    finally:
        await t.kill()
    assert not t.alive
    assert _ours(engine, instance) == []


async def test_pids_limit_caps_a_fork_bomb(docker_pool):
    # RLIMIT_NPROC set far above the container's pids limit: the cgroup is what stops the bomb.
    pool = await docker_pool()
    r = await pool.run(
        RunRequest.stdio(
            """
import os
n = 0
try:
    while True:
        if os.fork() == 0:
            import time; time.sleep(30); os._exit(0)
        n += 1
except OSError:
    print(n)
""",
            [""],
            [""],
            limits=Limits(max_processes=1000, wall_s=10),
        )
    )
    assert r.tests[0].verdict == "WA", r  # fork failed (stdout holds the count), nothing crashed
    assert 0 < int(r.tests[0].stdout) < pool.backend.config.pids_limit
    r = await pool.run(RunRequest.stdio("print(int(input()) * 2)", ["21\n"], ["42"]))
    assert r.verdicts == ["AC"], r


# ---------------------------------------------------------------------------------------------- transport
class _EchoBackend(DockerBackend):
    """The sandbox image with a stand-in executor: echoes stdin to stdout and notes every chunk on stderr."""

    ECHO = (
        "import os, sys\n"
        "while True:\n"
        "    b = os.read(0, 65536)\n"
        "    if not b: break\n"
        "    os.write(2, b'got %d bytes\\n' % len(b))\n"
        "    v = memoryview(b)\n"
        "    while v: v = v[os.write(1, v):]\n"
    )

    def command(self, uid: int) -> list[str]:
        return ["python3", "-I", "-u", "-c", self.ECHO]


async def test_attach_stream_demultiplexes_large_payloads(engine, instance, make_backend):
    await make_backend()  # probes (skips/fails without engine or image) and checks for leftovers at the end
    backend = _EchoBackend(DockerConfig(instance=instance, image=sandbox_image()))
    try:
        t = await backend.start_worker()
        try:
            payload = os.urandom(3 * 1024 * 1024 + 17)  # many attach frames, interleaved with stderr frames
            send = asyncio.create_task(t.send(payload))
            got = await asyncio.wait_for(t.receive_exactly(len(payload)), 30)
            await send
            assert got == payload
            for n in (1, 4, 100_000):  # small reads from one frame, reads across frames
                chunk = os.urandom(n)
                await t.send(chunk)
                assert await asyncio.wait_for(t.receive_exactly(n), 10) == chunk
            assert b"got " in t._stderr_tail  # stderr frames went to the log, not into stdout
        finally:
            await t.kill()
            await t.kill()  # idempotent
        with pytest.raises(WorkerLost):
            await t.send(b"x")
        with pytest.raises(WorkerLost):
            await t.receive_exactly(1)
    finally:
        await backend.close()


async def test_executor_exit_is_seen_as_end_of_stream(make_backend, engine, instance):
    backend = await make_backend()
    t = await backend.start_worker()
    try:
        assert (await asyncio.wait_for(read_frame(t), 30))["type"] == "hello"
        await write_frame(t, {"type": "exit"})
        with pytest.raises(WorkerLost):
            await asyncio.wait_for(t.receive_exactly(4), 30)
        assert not t.alive
    finally:
        await t.kill()
    assert _ours(engine, instance) == []


# ---------------------------------------------------------------------------------------------- faults
async def _busy_container(engine, instance: str, pool: SandboxPool):
    for _ in range(100):
        if pool.stats().busy:
            break
        await asyncio.sleep(0.02)
    (c,) = [c for c in _ours(engine, instance) if c.status == "running"]
    return c


SLOW_OK = "import time\ntime.sleep(1.5)\nprint('done')"


async def test_docker_kill_mid_job_is_se_then_fresh_worker_passes(docker_pool, engine, instance):
    pool = await docker_pool(size=1, retry_on_fault=False)
    job = asyncio.create_task(pool.run(RunRequest.stdio(SLOW_OK, [""], ["done"])))
    c = await _busy_container(engine, instance, pool)
    await asyncio.sleep(0.3)
    await asyncio.to_thread(c.kill)
    r = await asyncio.wait_for(job, 30)
    assert r.verdicts == ["SE"], r
    assert c.short_id in (r.error or ""), r.error
    r = await pool.run(RunRequest.stdio("print(int(input()) * 2)", ["21\n"], ["42"]))
    assert r.verdicts == ["AC"], r
    assert c.id not in [x.id for x in _ours(engine, instance)]


async def test_docker_kill_mid_job_is_retried_on_a_fresh_container(docker_pool, engine, instance):
    pool = await docker_pool(size=1)
    job = asyncio.create_task(pool.run(RunRequest.stdio(SLOW_OK, [""], ["done"])))
    c = await _busy_container(engine, instance, pool)
    await asyncio.sleep(0.3)
    await asyncio.to_thread(c.kill)
    r = await asyncio.wait_for(job, 60)
    assert r.verdicts == ["AC"], r
    assert pool.stats().retries == 1


# ---------------------------------------------------------------------------------------------- lifecycle
async def test_leftovers_of_this_instance_are_removed_at_start(make_backend, engine, instance):
    image = sandbox_image()
    labels = {LABEL_INSTANCE: instance, LABEL_POOL: "default", LABEL_ROLE: ROLE}
    other = f"{instance}-other"
    created = [
        engine.containers.run(image, ["sleep", "300"], labels=labels, detach=True, network_mode="none"),
        engine.containers.create(image, ["sleep", "300"], labels=labels, network_mode="none"),  # never started
        engine.containers.create(
            image, ["sleep", "300"], labels={**labels, LABEL_INSTANCE: other}, network_mode="none"
        ),
    ]
    try:
        pool = SandboxPool(await make_backend(), PoolConfig(size=1))
        await pool.start()
        try:
            ours = _ours(engine, instance)
            assert len(ours) == 1 and ours[0].id not in {c.id for c in created}
            assert len(_ours(engine, other)) == 1  # another instance's containers are not touched
            # A second backend of the same instance in this process spares the first one's live workers.
            assert await (await make_backend()).remove_leftovers() == 0
            r = await pool.run(RunRequest.stdio("print(1)", [""], ["1"]))
            assert r.verdicts == ["AC"]
        finally:
            await pool.close()
        assert _ours(engine, instance) == []
    finally:
        for c in created:
            try:
                c.remove(force=True)
            except docker.errors.NotFound:
                pass


async def test_close_leaves_no_containers(make_backend, engine, instance):
    backend = await make_backend()
    pool = SandboxPool(backend, PoolConfig(size=2))
    await pool.start()
    r = await pool.run(RunRequest.stdio("print(input())", ["x\n"], ["x"]))
    assert r.verdicts == ["AC"]
    for _ in range(100):
        if len(_ours(engine, instance)) == 2:
            break
        await asyncio.sleep(0.05)
    assert len(_ours(engine, instance)) == 2
    await pool.close()
    assert _ours(engine, instance) == []
    # a worker the pool never saw (started directly) is removed by backend.close()
    t = await backend.start_worker()
    assert len(_ours(engine, instance)) == 1
    await backend.close()
    assert _ours(engine, instance) == []
    await t.kill()  # after its container was removed by close(): no error
    assert not t.alive


# ---------------------------------------------------------------------------------------------- probe
async def test_probe_missing_image_says_make_images(engine):
    with pytest.raises(BackendUnavailable, match="make images"):
        await DockerBackend(DockerConfig(image="arbiter-sandbox:no-such-tag")).probe()


async def test_probe_without_engine_says_start_it():
    with pytest.raises(BackendUnavailable, match="start the Docker engine"):
        await DockerBackend(DockerConfig(base_url="unix:///nonexistent/docker.sock")).probe()


async def test_probe_refuses_a_stale_image(make_backend, monkeypatch):
    await make_backend()
    import sandbox.backends.docker as mod

    monkeypatch.setattr(mod, "executor_sha256", lambda: "0" * 64)
    with pytest.raises(BackendUnavailable, match="another executor.*make images"):
        await DockerBackend(DockerConfig(image=sandbox_image())).probe()
