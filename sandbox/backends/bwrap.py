"""Bubblewrap backend: the executor inside a bwrap sandbox, talked to over asyncio subprocess pipes.

Boundary: new pid/ipc/uts/net (no interface, not even loopback up)/cgroup namespaces, --die-with-parent,
--new-session, read-only /usr (and the /bin /lib* /sbin links), a minimal /etc (ld.so.cache, alternatives and a
generated passwd/group), a private size-limited tmpfs /tmp, fresh /proc and minimal /dev, no host home or project
dir; the executor package (sandbox/executor/) is bound read-only at /opt/arbiter/executor. A seccomp filter in the
spirit of Docker's default profile (seccomp.py) applies to the executor and everything it starts.

When the service runs as root, no user namespace is created: the executor runs as root with only the
capabilities it needs to drop privileges and clean up (SETUID SETGID KILL CHOWN DAC_OVERRIDE FOWNER) and runs user
programs under a uid of the worker's own (uid_base + slot): RLIMIT_NPROC counts processes per uid, so a fork bomb
in one worker cannot starve another. Without root, bwrap creates a user namespace with a single uid: programs then
run as that uid, RLIMIT_NPROC is not applied (it would count the host user's processes), and cleanup kills every
process of the private pid namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BackendUnavailable, WorkerLost, WorkerStartFailed
from ..uids import UidAllocator
from .base import Backend, WorkerTransport
from .bwrap_binary import INSTALL_HINT, find_bwrap
from .seccomp import SeccompUnsupported, filter_fd, seccomp_filter

EXECUTOR_DIR = Path(__file__).resolve().parent.parent / "executor"  # the stdlib-only executor package
GO_WARM_TEST = (
    'package main\n\nimport (\n\t"testing"\n\t"github.com/stretchr/testify/assert"\n)\n\n'
    "func TestWarm(t *testing.T) { assert.Equal(t, 1, 1) }\n"
)
# must match sandbox/executor/languages/go.py's compile environment: the cache keys depend on it
GO_ENV = {"GOPATH": "/usr/share/gocode", "GO111MODULE": "off", "CGO_ENABLED": "0"}


async def _output(argv: list[str], cwd: str | None = None, env: dict[str, str] | None = None) -> str | None:
    """stdout of a trusted host command, or None when it fails."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 300)
    except (OSError, TimeoutError):
        return None
    return out.decode("utf-8", "replace").strip() if proc.returncode == 0 else None


CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER")


def _default_python() -> str:
    for p in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(p):
            return p
    return "/usr/bin/python3"


@dataclass(frozen=True)
class BwrapConfig:
    bwrap: str = "bwrap"
    python: str = field(default_factory=_default_python)  # must live under /usr (bound read-only)
    tmpfs_mb: int = 256  # private /tmp of one worker (work dirs, compiled binaries)
    uid_base: int = 61000  # worker slot i runs programs as uid_base + i (root only)
    uid_slots: int = 1000
    python_mode: str = "fork"  # "fork": warm zygote; "exec": python3 file.py per test
    ro_binds: tuple[str, ...] = ()  # extra host paths to bind read-only (e.g. a site-packages dir)
    # Go's build cache seeded with testify (made by probe() once per host and Go version when go is installed),
    # bound read-only at /opt/arbiter/gocache: every Go build links to it instead of recompiling testify
    go_cache_dir: str = "/var/cache/arbiter"
    seccomp: bool = True  # the seccomp filter of seccomp.py (Docker's default profile's refusals) on everything inside


class BwrapTransport(WorkerTransport):
    def __init__(self, proc: asyncio.subprocess.Process, uid: int | None, on_exit) -> None:
        self.proc = proc
        self.id = f"bwrap-{proc.pid}"
        self.uid = uid
        self._on_exit = on_exit
        self._killed = False
        self._stderr_tail = b""
        self._stderr_task = asyncio.get_running_loop().create_task(self._drain_stderr())

    async def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        with contextlib.suppress(Exception):
            while True:
                chunk = await self.proc.stderr.read(65536)
                if not chunk:
                    return
                self._stderr_tail = (self._stderr_tail + chunk)[-4096:]

    def _lost(self, what: str) -> WorkerLost:
        tail = self._stderr_tail.decode("utf-8", "replace").strip()
        rc = self.proc.returncode
        msg = f"{self.id}: {what}" + (f" (exit {rc})" if rc is not None else "")
        return WorkerLost(msg + (f": {tail[-800:]}" if tail else ""))

    async def send(self, data: bytes) -> None:
        if not self.alive:
            raise self._lost("worker is gone")
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(data)
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError, RuntimeError) as e:
            raise self._lost(f"write failed: {e}") from None

    async def receive_exactly(self, n: int) -> bytes:
        try:
            assert self.proc.stdout is not None
            return await self.proc.stdout.readexactly(n)
        except asyncio.IncompleteReadError:
            await asyncio.sleep(0.05)  # let stderr and the exit status arrive for the message
            raise self._lost("end of stream") from None
        except (ConnectionResetError, OSError) as e:
            raise self._lost(str(e)) from None

    async def kill(self) -> None:
        if not self._killed:
            self._killed = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # bwrap leads its own session (--die-with-parent
            with contextlib.suppress(ProcessLookupError):  # also takes everything inside down with it)
                self.proc.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.proc.wait(), 10)
        self._stderr_task.cancel()
        if self.proc.stdin is not None:
            with contextlib.suppress(Exception):
                self.proc.stdin.close()
        if self._on_exit is not None:
            cb, self._on_exit = self._on_exit, None
            cb(self)

    @property
    def alive(self) -> bool:
        return not self._killed and self.proc.returncode is None


class BwrapBackend(Backend):
    name = "bwrap"

    def __init__(self, config: BwrapConfig | None = None) -> None:
        self.config = config or BwrapConfig()
        self._root = os.geteuid() == 0
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._uids = UidAllocator(self.config.uid_base, self.config.uid_slots)
        self._bwrap_path: str | None = None
        self._go_cache: str | None = None
        self._seccomp: bytes | None = None

    # ---------------------------------------------------------------- argv
    def _etc_dir(self) -> str:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="arbiter-bwrap-")
            c = self.config
            with open(os.path.join(self._tmp.name, "passwd"), "w") as f:
                f.write("root:x:0:0:root:/root:/usr/sbin/nologin\n")
                f.write("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
                for i in range(c.uid_slots if self._root else 0):
                    f.write(f"sandbox{i}:x:{c.uid_base + i}:{c.uid_base + i}::/tmp:/usr/sbin/nologin\n")
            with open(os.path.join(self._tmp.name, "group"), "w") as f:
                f.write("root:x:0:\nnogroup:x:65534:\n")
                for i in range(c.uid_slots if self._root else 0):
                    f.write(f"sandbox{i}:x:{c.uid_base + i}:\n")
        return self._tmp.name

    def _seccomp_program(self) -> bytes | None:
        if not self.config.seccomp:
            return None
        if self._seccomp is None:
            try:
                self._seccomp = seccomp_filter()
            except SeccompUnsupported as e:
                raise BackendUnavailable(str(e)) from None
        return self._seccomp

    def _base_args(self, seccomp_fd: int | None = None) -> list[str]:
        args = [self._bwrap_path or self.config.bwrap]
        if seccomp_fd is not None:
            args += ["--seccomp", str(seccomp_fd)]
        if self._root:
            args += [
                "--unshare-pid",
                "--unshare-ipc",
                "--unshare-uts",
                "--unshare-net",
                "--unshare-cgroup-try",
                "--cap-drop",
                "ALL",
            ]
            for cap in CAPS:
                args += ["--cap-add", cap]
        else:
            args += ["--unshare-all"]
        args += ["--die-with-parent", "--new-session", "--hostname", "sandbox", "--ro-bind", "/usr", "/usr"]
        for d in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            p = "/" + d
            if os.path.islink(p):
                args += ["--symlink", os.readlink(p), p]
            elif os.path.isdir(p):
                args += ["--ro-bind", p, p]
        etc = self._etc_dir()
        args += ["--dir", "/etc"]
        # java-17-openjdk: the JDK's conf files are links into /etc (security policy, logging)
        for f in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "java-17-openjdk"):
            if os.path.exists("/etc/" + f):
                args += ["--ro-bind", "/etc/" + f, "/etc/" + f]
        args += [
            "--ro-bind",
            os.path.join(etc, "passwd"),
            "/etc/passwd",
            "--ro-bind",
            os.path.join(etc, "group"),
            "/etc/group",
        ]
        for p in self.config.ro_binds:
            args += ["--ro-bind", p, p]
        if self._go_cache is not None:
            args += ["--ro-bind", self._go_cache, "/opt/arbiter/gocache"]
        args += [
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--mqueue",  # POSIX message queues as files, so that cleanup can list and remove them
            "/dev/mqueue",
            "--perms",
            "0755",
            "--size",
            str(self.config.tmpfs_mb * 1024 * 1024),
            "--tmpfs",
            "/tmp",
            "--dir",
            "/var/tmp",
            "--chdir",
            "/tmp",
            "--clearenv",
            "--setenv",
            "PATH",
            "/usr/local/bin:/usr/bin:/bin",
            "--setenv",
            "LANG",
            "C.UTF-8",
            "--setenv",
            "HOME",
            "/tmp",
        ]
        return args

    def worker_argv(self, uid: int | None, seccomp_fd: int | None = None) -> list[str]:
        args = self._base_args(seccomp_fd)
        args += [
            "--ro-bind",
            str(EXECUTOR_DIR),
            "/opt/arbiter/executor",
            self.config.python,
            "-I",
            "-u",
            "-B",
            "/opt/arbiter/executor",
            "--workroot",
            "/tmp",
            "--python",
            self.config.python,
            "--python-mode",
            self.config.python_mode,
            "--private-pidns",
        ]
        if uid is not None:
            args += ["--uid", str(uid), "--gid", str(uid)]
        return args

    # ---------------------------------------------------------------- Backend
    async def probe(self) -> None:
        binary = find_bwrap(self.config.bwrap)
        if binary is None:
            raise BackendUnavailable(f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}")
        self._bwrap_path = binary.path
        if not os.path.exists(self.config.python):
            raise BackendUnavailable(f"{self.config.python} not found: install python3 (apt-get install -y python3)")
        program = self._seccomp_program()
        sfd = filter_fd(program) if program is not None else None
        try:
            proc = await asyncio.create_subprocess_exec(
                *self._base_args(sfd),
                self.config.python,
                "-c",
                "pass",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=() if sfd is None else (sfd,),
            )
            _, err = await asyncio.wait_for(proc.communicate(), 20)
        except TimeoutError:
            # A probe that hangs must not leave a half-made sandbox behind, nor hold readiness forever.
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            raise BackendUnavailable(f"bwrap ({self._bwrap_path}) did not start a sandbox within 20 s") from None
        except OSError as e:
            raise BackendUnavailable(
                f"bwrap ({self._bwrap_path}) could not start a sandbox: {e}; {INSTALL_HINT}"
            ) from None
        finally:
            if sfd is not None:
                os.close(sfd)
        if proc.returncode != 0:
            msg = err.decode("utf-8", "replace").strip()[-500:]
            raise BackendUnavailable(
                f"bwrap ({self._bwrap_path}) cannot create a sandbox here ({msg}); it needs root or unprivileged "
                "user namespaces: sysctl kernel.unprivileged_userns_clone=1 (Debian), user.max_user_namespaces>0, "
                "and on Ubuntu 24.04 kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile that "
                "allows userns for this bwrap; in a container run with --privileged, or use the docker backend"
            )
        await self._seed_go_cache()

    async def _seed_go_cache(self) -> None:
        """Build the seeded Go cache on the host once (trusted code only: Debian's testify), outside any sandbox."""
        go = "/usr/bin/go"
        if not os.path.exists(go):
            return
        version = await _output([go, "version"])
        if version is None:
            return
        key = "gocache-" + "".join(c if c.isalnum() else "-" for c in version)  # one per Go version
        target = os.path.join(self.config.go_cache_dir, key)
        if not os.path.isdir(target):
            with tempfile.TemporaryDirectory(prefix="arbiter-gowarm-") as tmp:
                with open(os.path.join(tmp, "warm_test.go"), "w") as f:
                    f.write(GO_WARM_TEST)
                cache = os.path.join(tmp, "cache")
                env = dict(GO_ENV, HOME=tmp, GOCACHE=cache, PATH="/usr/bin:/bin")
                ok = await _output([go, "test", "-c", "-o", os.path.join(tmp, "warm.test"), "."], cwd=tmp, env=env)
                if ok is None:
                    return  # no testify here: Go still works, slower, and HumanEval-X Go tests do not compile
                os.makedirs(self.config.go_cache_dir, exist_ok=True)
                with contextlib.suppress(OSError):  # another process got there first
                    os.rename(cache, target)
        self._go_cache = target

    def _alloc_uid(self) -> int | None:
        # Without root there is one uid in the user namespace: no per-worker uid to hand out.
        return self._uids.acquire() if self._root else None

    async def start_worker(self) -> WorkerTransport:
        if self._bwrap_path is None:
            binary = find_bwrap(self.config.bwrap)
            if binary is None:
                raise BackendUnavailable(f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}")
            self._bwrap_path = binary.path
        program = self._seccomp_program()
        uid = self._alloc_uid()
        sfd = None
        try:
            sfd = filter_fd(program) if program is not None else None
            proc = await asyncio.create_subprocess_exec(
                *self.worker_argv(uid, sfd),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                pass_fds=() if sfd is None else (sfd,),
            )
        except OSError as e:
            if uid is not None:
                self._uids.release(uid)
            raise WorkerStartFailed(f"cannot start bwrap: {e}") from None
        finally:
            if sfd is not None:
                os.close(sfd)  # bwrap holds its own copy until it has read the filter

        def release(_t: BwrapTransport) -> None:
            if uid is not None:
                self._uids.release(uid)

        return BwrapTransport(proc, uid, release)

    async def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
