"""Docker backend: one worker = one hardened container running the executor, talked to over the attach stream.

Start-up of a worker: create the container (stdin open, no tty), attach to its stdin/stdout/stderr, *then* start it,
so that the executor's hello frame cannot be lost. The attach connection is an upgraded HTTP connection to the
engine; its socket is taken over by asyncio. Without a tty the engine multiplexes stdout and stderr on that stream
in frames of an 8-byte header (stream type: 1 stdout, 2 stderr; 3 zero bytes; big-endian uint32 payload length)
followed by the payload. A background task demultiplexes it: stdout bytes go to a buffer that receive_exactly()
serves, stderr goes to the log (and a short tail kept for error messages).

Boundary (DockerConfig): no network (only the loopback interface), read-only root file system, a size-limited
tmpfs /tmp (the executor's work root; exec allowed there because compiled C++ binaries run from it), a small
/dev/shm, every capability dropped but the five the executor needs to switch to the worker's unprivileged uid,
stop its programs and clean up after them (SETUID SETGID KILL CHOWN DAC_OVERRIDE: measured; FOWNER is not needed,
DAC_OVERRIDE already lets root empty a directory a program made read-only), no-new-privileges, pids/memory(+swap)/CPU
limits, no host mounts, the logging driver off (the stream carries the protocol, not logs), a private IPC
namespace, a high oom_score_adj. User programs run under uid uid_base + slot, distinct per worker, because
RLIMIT_NPROC counts processes per uid across containers.

Removal: containers are created with auto_remove and stdin_once, so that when this process dies the attach
connection closes, the executor reads end of file, exits, and the engine removes the container by itself.
kill() removes with force and waits until the container is gone; a removal that fails (the engine is down) is
remembered and sweep() retries it (the pool sweeps whenever a worker starts again); remove_leftovers() removes what
an earlier run of the same instance left (label arbiter.instance), sparing the containers this process started.

Every docker.errors.* / requests / OSError is translated into sandbox.errors here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
import struct
import time
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig, Ulimit

from ..errors import BackendUnavailable, WorkerLost, WorkerStartFailed
from ..executor.digest import package_sha256
from ..uids import UidAllocator
from .base import Backend, WorkerTransport

log = logging.getLogger("arbiter.sandbox.docker")

START_HINT = "start the Docker engine (systemctl start docker, or dockerd &) or set DOCKER_HOST"
IMAGE_HINT = "build it with `make images`"
LABEL_INSTANCE = "arbiter.instance"
LABEL_POOL = "arbiter.pool"
LABEL_ROLE = "arbiter.role"
ROLE = "sandbox"
LABEL_EXECUTOR_SHA = "arbiter.executor.sha256"  # image label set by scripts/build-images.sh

# Containers started by this process (all DockerBackend objects): remove_leftovers() never touches them, so that
# a second pool of the same instance starting later cannot remove the first one's workers.
_LIVE: set[str] = set()

_ENGINE_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException, OSError)


@dataclass(frozen=True)
class DockerConfig:
    image: str = "arbiter-sandbox:latest"
    instance: str = "arbiter"  # label arbiter.instance: unique per service process sharing one engine
    pool: str = "default"  # label arbiter.pool
    base_url: str | None = None  # None: DOCKER_HOST or the local socket (docker.from_env)
    api_timeout_s: float = 30.0  # per engine API call
    memory_mb: int = 1536  # whole container: executor + program + tmpfs contents; swap is not allowed
    # CPU quota of one container (nano_cpus), whatever its programs do (threads, up to pids_limit processes): one
    # core for the test's program and half a core for the executor's own processes beside it. The zygote forks the
    # next test's child while the current test runs (executor/zygote.py, "spare"): that needs a second core for a
    # moment. At 1.0 every 20-test job was throttled (CFS quota used up in 14-19 of 14-19 periods) and a trivial
    # test cost its whole CPU (~5.6 ms) in wall time; at 1.5, 0 throttled periods, 4.1-4.7 ms
    # (docs/performance.md, "Code: per-test overhead", Session 3). What the cap guards stays: no container takes
    # more than 1.5 cores from an idle machine, and under load the engine's equal cpu.shares per container still
    # split the cores evenly between workers (the quota is a ceiling, the shares are what divides a busy host).
    cpus: float = 1.5
    pids_limit: int = 256  # processes and threads of one container
    tmpfs_mb: int = 256  # /tmp: the executor's work root (sources, compiled binaries, program files)
    shm_mb: int = 16  # /dev/shm
    # measured: SETUID+SETGID to drop to the worker uid, KILL to stop its programs at the wall-clock cap or output
    # cap, CHOWN to hand it its work dirs, DAC_OVERRIDE to remove what it left there whatever the modes
    cap_add: tuple[str, ...] = ("SETUID", "SETGID", "KILL", "CHOWN", "DAC_OVERRIDE")
    uid_base: int = 62000  # worker slot i runs programs as uid_base + i (the image names them sandbox-<i>)
    uid_slots: int = 1000
    python: str = "/usr/bin/python3"
    executor: str = "/opt/arbiter/executor"  # the executor package in the image (run as a directory)
    python_mode: str = "fork"  # "fork": warm zygote; "exec": python3 file.py per test
    runtime: str | None = None  # e.g. "runsc" for gVisor; None: the engine's default (runc)
    oom_score_adj: int = 500  # the host's OOM killer takes sandboxes before the service
    check_executor: bool = True  # probe: the image must carry the sha256 of the local sandbox/executor/ package
    remove_timeout_s: float = 15.0  # kill(): how long to wait for the container to disappear


def executor_sha256() -> str | None:
    """sha256 of the executor package next to this one (what the image must have been built from)."""
    try:
        return package_sha256()
    except OSError:
        return None


def _describe(e: BaseException) -> str:
    if isinstance(e, docker.errors.APIError):
        return str(e.explanation or e)
    return f"{type(e).__name__}: {e}"


def _is_not_found(e: BaseException) -> bool:
    return isinstance(e, docker.errors.NotFound)


def _is_removal_in_progress(e: BaseException) -> bool:
    return isinstance(e, docker.errors.APIError) and e.status_code == 409


class DockerTransport(WorkerTransport):
    """Byte pipes to the executor in one container, over the demultiplexed attach stream."""

    STDERR_TAIL = 4096

    def __init__(
        self,
        backend: DockerBackend,
        container_id: str,
        uid: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.id = container_id[:12]
        self.container_id = container_id
        self.uid = uid
        self._backend = backend
        self._reader = reader
        self._writer = writer
        self._buf = bytearray()
        self._data = asyncio.Event()
        self._eof = False
        self._eof_reason = "end of stream"
        self._killed = False
        self._stderr_tail = b""
        self._pump_task = asyncio.get_running_loop().create_task(self._pump(), name=f"docker-attach-{self.id}")

    async def _pump(self) -> None:
        """Demultiplex the attach stream until it ends."""
        try:
            while True:
                head = await self._reader.readexactly(8)
                kind, size = head[0], struct.unpack(">I", head[4:])[0]
                payload = await self._reader.readexactly(size) if size else b""
                if kind == 1:
                    self._buf += payload
                    self._data.set()
                elif kind == 2:
                    self._stderr_tail = (self._stderr_tail + payload)[-self.STDERR_TAIL :]
                    for line in payload.decode("utf-8", "replace").splitlines():
                        log.info("sandbox %s stderr: %s", self.id, line)
                else:  # stream type 0 (stdin) is never sent to us; anything else means we lost the framing
                    self._eof_reason = f"attach stream corrupted (frame type {kind})"
                    return
        except asyncio.IncompleteReadError:
            pass
        except (ConnectionError, OSError) as e:
            self._eof_reason = f"attach stream failed: {e}"
        finally:
            self._eof = True
            self._data.set()

    def _lost(self, what: str) -> WorkerLost:
        tail = self._stderr_tail.decode("utf-8", "replace").strip()
        return WorkerLost(f"container {self.id}: {what}" + (f": {tail[-800:]}" if tail else ""))

    async def send(self, data: bytes) -> None:
        if not self.alive:
            raise self._lost("worker is gone" if self._killed else self._eof_reason)
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, OSError, RuntimeError) as e:
            raise self._lost(f"write failed: {e}") from None

    async def receive_exactly(self, n: int) -> bytes:
        while len(self._buf) < n:
            if self._eof or self._killed:
                raise self._lost("worker is gone" if self._killed else self._eof_reason)
            self._data.clear()
            await self._data.wait()
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    async def kill(self) -> None:
        if self._killed:
            return
        self._killed = True
        self._data.set()
        self._pump_task.cancel()
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            self._writer.close()
        if self.container_id in self._backend._containers:  # not yet removed by backend.close()
            await self._backend._remove(self.container_id)
        self._backend._release(self)
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
            await self._pump_task

    @property
    def alive(self) -> bool:
        return not self._killed and not self._eof


class DockerBackend(Backend):
    name = "docker"

    def __init__(self, config: DockerConfig | None = None) -> None:
        self.config = config or DockerConfig()
        self._client: docker.DockerClient | None = None
        self._uids = UidAllocator(self.config.uid_base, self.config.uid_slots)
        self._containers: set[str] = set()
        self._unremoved: set[str] = set()  # removals that failed while the engine was down: sweep() retries them

    # ---------------------------------------------------------------- engine
    def _client_sync(self) -> docker.DockerClient:
        if self._client is None:
            c = self.config
            try:
                if c.base_url:
                    client = docker.DockerClient(base_url=c.base_url, timeout=int(c.api_timeout_s), max_pool_size=32)
                else:
                    client = docker.from_env(timeout=int(c.api_timeout_s), max_pool_size=32)
            except _ENGINE_ERRORS as e:
                host = c.base_url or os.environ.get("DOCKER_HOST") or "the local socket"
                raise BackendUnavailable(
                    f"cannot reach the Docker engine at {host}: {_describe(e)}; {START_HINT}"
                ) from None
            base = client.api.base_url
            if not (base.startswith("http+docker://localhost") or base.startswith("http://")):
                client.close()
                raise BackendUnavailable(
                    f"the docker backend attaches over a unix socket or plain tcp; {base} (TLS/ssh) is not "
                    "supported: point DOCKER_HOST at unix:///var/run/docker.sock or use the bwrap backend"
                )
            self._client = client
        return self._client

    def _probe_sync(self) -> None:
        client = self._client_sync()
        try:
            client.ping()
        except _ENGINE_ERRORS as e:
            raise BackendUnavailable(f"the Docker engine does not answer: {_describe(e)}; {START_HINT}") from None
        try:
            image = client.api.inspect_image(self.config.image)
        except docker.errors.ImageNotFound:
            raise BackendUnavailable(f"the sandbox image {self.config.image} is missing: {IMAGE_HINT}") from None
        except _ENGINE_ERRORS as e:
            raise BackendUnavailable(f"cannot inspect the sandbox image {self.config.image}: {_describe(e)}") from None
        if self.config.check_executor:
            built = ((image.get("Config") or {}).get("Labels") or {}).get(LABEL_EXECUTOR_SHA)
            here = executor_sha256()
            if here is not None and built != here:
                raise BackendUnavailable(
                    f"the sandbox image {self.config.image} was built from another executor (image "
                    f"{(built or 'unlabelled')[:12]}, local {here[:12]}): {IMAGE_HINT}"
                )

    async def probe(self) -> None:
        await asyncio.to_thread(self._probe_sync)

    # ---------------------------------------------------------------- containers
    def labels(self) -> dict[str, str]:
        return {LABEL_INSTANCE: self.config.instance, LABEL_POOL: self.config.pool, LABEL_ROLE: ROLE}

    def command(self, uid: int) -> list[str]:
        c = self.config
        return [
            c.python,
            "-I",
            "-u",
            "-B",
            c.executor,
            "--workroot",
            "/tmp",
            "--python",
            c.python,
            "--python-mode",
            c.python_mode,
            "--private-pidns",
            "--uid",
            str(uid),
            "--gid",
            str(uid),
        ]

    def host_config(self, api: docker.APIClient) -> dict[str, Any]:
        c = self.config
        mem = f"{int(c.memory_mb)}m"
        kw: dict[str, Any] = dict(
            network_mode="none",
            read_only=True,
            # /tmp belongs to root, mode 0755 (the engine copies the mode of the image's /tmp up, so the image's
            # /tmp is 0755 too): programs can write only to the per-test directory the executor gives their uid
            tmpfs={"/tmp": f"rw,exec,nosuid,nodev,size={int(c.tmpfs_mb)}m,mode=0755"},
            shm_size=f"{int(c.shm_mb)}m",
            ipc_mode="private",
            cap_drop=["ALL"],
            cap_add=list(c.cap_add),
            security_opt=["no-new-privileges"],
            pids_limit=int(c.pids_limit),
            mem_limit=mem,
            memswap_limit=mem,
            nano_cpus=int(c.cpus * 1e9),
            oom_score_adj=int(c.oom_score_adj),
            ulimits=[Ulimit(name="core", soft=0, hard=0)],
            log_config=LogConfig(type="none"),
            auto_remove=True,
            init=False,  # the executor is pid 1 of the container's pid namespace and reaps every orphan
        )
        if c.runtime:
            kw["runtime"] = c.runtime
        return api.create_host_config(**kw)

    def _create_and_attach_sync(self, uid: int) -> tuple[str, socket.socket]:
        client = self._client_sync()
        api = client.api
        c = self.config
        cid: str | None = None
        ok = False
        try:
            created = api.create_container(
                c.image,
                command=self.command(uid),
                user="0",
                working_dir="/tmp",
                hostname="sandbox",
                environment={"LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp"},
                detach=False,
                stdin_open=True,
                tty=False,
                network_disabled=True,  # detach=False: StdinOnce
                labels=self.labels(),
                host_config=self.host_config(api),
            )
            cid = created["Id"]
            self._containers.add(cid)
            _LIVE.add(cid)
            # Attach before start: the hello frame is written as soon as the executor runs.
            raw = api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            sock = self._take_socket(raw)
            try:
                api.start(cid)
            except BaseException:
                sock.close()
                raise
            ok = True
            return cid, sock
        except docker.errors.ImageNotFound:
            raise BackendUnavailable(f"the sandbox image {c.image} is missing: {IMAGE_HINT}") from None
        except requests.exceptions.ConnectionError as e:
            raise BackendUnavailable(f"the Docker engine does not answer: {_describe(e)}; {START_HINT}") from None
        except _ENGINE_ERRORS as e:
            raise WorkerStartFailed(f"cannot start a sandbox container: {_describe(e)}") from None
        finally:
            if not ok and cid is not None:
                self._remove_sync(cid)

    @staticmethod
    def _take_socket(raw: Any) -> socket.socket:
        """Detach the attach connection's socket from the SDK's objects so that their clean-up cannot close it."""
        sock = getattr(raw, "_sock", raw)
        if isinstance(sock, ssl.SSLSocket) or not isinstance(sock, socket.socket):
            raise WorkerStartFailed(f"unsupported attach socket {type(sock).__name__} (TLS/ssh DOCKER_HOST)")
        return socket.socket(fileno=sock.detach())

    def _remove_sync(self, cid: str) -> bool:
        """Remove a container and wait until it is gone; True when it is. Never raises: a container that cannot be
        removed now (the engine is down or does not answer) is remembered in self._unremoved, and sweep() removes
        it later (the pool sweeps as soon as the engine starts workers again); remove_leftovers() at the next
        start-up is the last resort."""
        try:
            api = self._client_sync().api
        except BackendUnavailable as e:
            log.warning("cannot remove container %s now (will retry): %s", cid[:12], e)
            self._forget_live(cid, removed=False)
            return False
        deadline = time.monotonic() + self.config.remove_timeout_s
        removed = False
        try:
            try:
                api.remove_container(cid, force=True)
                removed = True
                return True
            except docker.errors.APIError as e:
                if _is_not_found(e):
                    removed = True
                    return True
                if not _is_removal_in_progress(e):
                    raise
            while time.monotonic() < deadline:  # auto_remove got there first: wait for it to finish
                try:
                    api.inspect_container(cid)
                except docker.errors.NotFound:
                    removed = True
                    return True
                time.sleep(0.05)
            log.warning("container %s still present after %.0fs (will retry)", cid[:12], self.config.remove_timeout_s)
        except _ENGINE_ERRORS as e:
            log.warning("cannot remove container %s now (will retry): %s", cid[:12], _describe(e))
        finally:
            self._forget_live(cid, removed)
        return False

    def _forget_live(self, cid: str, removed: bool) -> None:
        self._containers.discard(cid)
        _LIVE.discard(cid)
        if removed:
            self._unremoved.discard(cid)
        else:
            self._unremoved.add(cid)

    @property
    def unremoved(self) -> int:
        return len(self._unremoved)

    async def sweep(self) -> int:
        """Remove the containers whose removal failed earlier (engine down); return how many are gone now."""
        ids = list(self._unremoved)
        if not ids:
            return 0
        done = await asyncio.gather(*(self._remove(cid) for cid in ids))
        n = sum(done)
        if n:
            log.info("removed %d sandbox containers whose removal had failed", n)
        return n

    async def _remove(self, cid: str) -> bool:
        return await asyncio.to_thread(self._remove_sync, cid)

    def _release(self, transport: DockerTransport) -> None:
        self._uids.release(transport.uid)

    async def start_worker(self) -> WorkerTransport:
        uid = self._uids.acquire()
        try:
            cid, sock = await asyncio.to_thread(self._create_and_attach_sync, uid)
        except BaseException:
            self._uids.release(uid)
            raise
        try:
            reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
        except (OSError, RuntimeError) as e:
            sock.close()
            await self._remove(cid)
            self._uids.release(uid)
            raise WorkerStartFailed(f"cannot adopt the attach socket of {cid[:12]}: {e}") from None
        return DockerTransport(self, cid, uid, reader, writer)

    # ---------------------------------------------------------------- clean-up
    def _leftovers_sync(self) -> list[str]:
        api = self._client_sync().api
        try:
            found = api.containers(
                all=True,
                quiet=True,
                filters={"label": [f"{LABEL_ROLE}={ROLE}", f"{LABEL_INSTANCE}={self.config.instance}"]},
            )
        except _ENGINE_ERRORS as e:
            raise BackendUnavailable(f"cannot list containers: {_describe(e)}; {START_HINT}") from None
        return [c["Id"] for c in found if c["Id"] not in _LIVE]

    async def remove_leftovers(self) -> int:
        ids = await asyncio.to_thread(self._leftovers_sync)
        if ids:
            await asyncio.gather(*(self._remove(cid) for cid in ids))
            log.info("removed %d leftover sandbox containers of instance %s", len(ids), self.config.instance)
        return len(ids)

    async def close(self) -> None:
        left = list(self._containers | self._unremoved)
        if left:
            await asyncio.gather(*(self._remove(cid) for cid in left))
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(*_ENGINE_ERRORS):
                await asyncio.to_thread(client.close)
