"""What a child does between fork and exec: a new process group, its fds, the unprivileged uid, the rlimits.

A process group, not a session (setsid): the group is what the executor kills (killpg) and a session adds nothing
inside the boundary, which has no terminal to take (bwrap --new-session, a Docker container without a tty). And
setsid is slow where the kernel gives every new session a scheduler autogroup (sched_autogroup_enabled=1: 0.5 to
2 ms per call on the machines of docs/performance.md, a third of a trivial test).

RLIMIT_AS is the memory limit of runtimes whose virtual size tracks their use (CPython, C, C++). Runtimes that
reserve far more address space than they touch (the JVM, Go, V8) get no RLIMIT_AS: their language module passes
the limit to the runtime itself (-Xmx, GOMEMLIMIT, --max-old-space-size) and the container's cgroup bounds the
rest; see languages/base.py (address_space_limit).
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # the C module under signal.py (typeshed has no stub)
import fcntl
import functools
import os
import resource
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .settings import Settings


@dataclass(frozen=True)
class ChildLimits:
    cpu_s: float
    memory_mb: int
    max_processes: int
    file_size_mb: float
    open_files: int
    address_space: bool = True  # apply memory_mb as RLIMIT_AS
    data_mb: int = 0  # RLIMIT_DATA (committed writable memory) instead, for runtimes that reserve large arenas
    big_stack: bool = False  # raise RLIMIT_STACK to min(memory, 256 MB): deep recursion of compiled programs

    def to_json(self) -> dict[str, Any]:
        """The fields as a dict for a request (ChildLimits(**d) reads it back): the instance's own __dict__, copied,
        not dataclasses.asdict, whose recursive deep copy cost ~70 us per test in the executor's profile."""
        return dict(vars(self))

    @classmethod
    def from_json(cls, d: dict[str, Any], **quirks: Any) -> ChildLimits:
        return cls(
            cpu_s=float(d.get("cpu_s", 2.0)),
            memory_mb=int(d.get("memory_mb", 256)),
            max_processes=int(d.get("max_processes", 32)),
            file_size_mb=float(d.get("file_size_mb", 16)),
            open_files=int(d.get("open_files", 64)),
            **quirks,
        )


def apply_limits(lim: ChildLimits, cfg: Settings) -> None:
    # whole seconds, rounded up: a fractional limit is enforced by the supervisor (process.py watches the CPU time)
    soft = max(1, int(-(-lim.cpu_s // 1)))
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
    if lim.memory_mb:
        b = lim.memory_mb * 1024 * 1024
        if lim.address_space:
            resource.setrlimit(resource.RLIMIT_AS, (b, b))
        elif lim.data_mb:
            d = lim.data_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_DATA, (d, d))
        if lim.big_stack:
            s = min(b, 256 * 1024 * 1024)
            try:
                resource.setrlimit(resource.RLIMIT_STACK, (s, s))
            except (ValueError, OSError):
                pass  # a hard limit below it: keep the default stack
    fs = int(lim.file_size_mb * 1024 * 1024)
    resource.setrlimit(resource.RLIMIT_FSIZE, (fs, fs))
    resource.setrlimit(resource.RLIMIT_NOFILE, (lim.open_files, lim.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if cfg.switch_user and lim.max_processes:
        # RLIMIT_NPROC counts every process of the real uid: meaningful only with a uid of our own.
        resource.setrlimit(resource.RLIMIT_NPROC, (lim.max_processes, lim.max_processes))


def drop_privileges(cfg: Settings) -> None:
    if cfg.switch_user:
        os.setgroups([])
        os.setresgid(cfg.gid, cfg.gid, cfg.gid)
        os.setresuid(cfg.uid, cfg.uid, cfg.uid)


def list_fds() -> list[int]:
    try:
        return [int(x) for x in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 1024))


def move_high(fd: int) -> int:
    """fd moved to 10 or above (close-on-exec), so that dup2 onto the targets 0..9 cannot clobber a source."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


@functools.cache
def _has_close_range() -> bool:
    """close_range(2) came with Linux 5.9; both boundaries let it through (bwrap's seccomp deny-list does not name
    it, Docker's default profile allows it). Older kernels: CPython's closerange would fall back to one close per
    fd up to the limit, so the /proc listing is used there instead."""
    major, _, rest = os.uname().release.partition(".")
    minor = rest.split(".", 1)[0]
    return major.isdigit() and minor.isdigit() and (int(major), int(minor)) >= (5, 9)


def close_all_but(keep: Iterable[int]) -> None:
    """Close every fd of this process but keep: one close_range per gap between kept fds (two or three calls for
    a test's child) instead of a /proc/self/fd listing and a close per fd."""
    if not _has_close_range():
        kept = set(keep)
        for fd in list_fds():
            if fd not in kept:
                try:
                    os.close(fd)
                except OSError:
                    pass  # the listing's own fd, already closed
        return
    low = 0
    for fd in sorted(set(keep)):
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    # no fd of ours is at or above the soft limit (nothing here lowers it before this): should close_range fail
    # after all (a stricter seccomp profile), CPython's fallback loops over this range, not up to 2**31
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    os.closerange(low, soft if 0 < soft < (1 << 20) else 1 << 20)


def child_setup(cfg: Settings, lim: ChildLimits, fds: dict[int, int], cwd: str, extra_keep: Iterable[int] = ()) -> None:
    """In the forked child: new process group, fds, privileges, limits. Raises on failure (the caller _exits).
    Sources must not be targets of another fd (move_high moves them above 9)."""
    os.setpgid(0, 0)
    for target, src in fds.items():
        if src != target:
            os.dup2(src, target)
    close_all_but([*fds, *extra_keep])
    # _signal.signal: the C call itself, without signal.py's enum conversions (Python code, and so copy-on-write
    # writes to its code objects and the enums it looks up, in every child)
    for s in (signal.SIGPIPE, signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
        _signal.signal(s, _signal.SIG_DFL)
    os.chdir(cwd)
    if cfg.switch_user:
        # harness pipes (fd 3: report, fd 4: nonce) become the program's own, so that runtimes that only open
        # paths (/proc/self/fd/N: the JVM, Node, Rust's std::fs) may reopen them after the uid switch
        for target in fds:
            if target >= 3:
                os.fchown(target, cfg.uid, cfg.gid)
    drop_privileges(cfg)
    apply_limits(lim, cfg)


def child_env(cwd: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": cwd,
        "TMPDIR": cwd,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
    }
    if extra:
        env.update(extra)
    return env


def set_environ(env: dict[str, str]) -> None:
    """Make os.environ exactly env, touching only the variables that differ: os.environ.clear() unsets each one
    (a fresh iterator per key) and update() sets every one again, in a child whose every write costs a
    copy-on-write fault. The zygote sets the common part once (zygote.serve), so a child changes HOME and TMPDIR."""
    environ = os.environ
    for key in [k for k in environ if k not in env]:
        del environ[key]
    for key, value in env.items():
        if environ.get(key) != value:
            environ[key] = value
