#!/usr/bin/env python3
"""Arbiter's executor: runs inside one isolation boundary (bubblewrap sandbox or container) as a long-lived
process and executes jobs (one program plus its tests) one after another.

STANDALONE AND STDLIB-ONLY: this file is copied into images and bound read-only into sandboxes; it must not import
anything from the arbiter packages.

Protocol (stdin/stdout of this process): every frame is a 4-byte big-endian length followed by that many bytes of
UTF-8 JSON. On start the executor sends {"type": "hello", ...}. Then, per request:
    {"type": "job", "job": {...}}   ->  {"type": "result", "outcome": {...}}
    {"type": "ping"}                ->  {"type": "pong"}
Nothing else ever writes to the real stdout: the protocol fd is duplicated away at start and fd 1/2 point to
stderr / /dev/null; user programs get their own pipes.

Per test the program runs in a new session / process group, as an unprivileged uid when the executor is root,
under RLIMIT_CPU (the TLE clock), a wall-clock cap, RLIMIT_AS, RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_NOFILE, with
its output read as it streams under a size cap. After every test, every process of the sandbox uid is killed
(kill(-1) from a helper that switched to that uid, then a /proc scan), and the test's directory is removed.
With job["stop_after_failure"], the first test whose verdict is neither OK nor AC ends the job: the tests after it
are not run and report SKIP. A compile error never runs any test (CE for all).

Python programs run through a warm interpreter: this process forks per test (a "zygote"), the child drops its
privileges, applies the limits and executes the program as __main__. Caveat: all children of one worker share
the zygote's hash seed (PYTHONHASHSEED is fixed per interpreter), so set/dict-of-str iteration order is the same
across the tests of one worker (it still differs between workers and restarts). `random` is reseeded per fork.
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import select
import signal
import struct
import sys
import time

# Modules preloaded into the zygote so that forked programs do not pay for importing them. Import errors are
# ignored (minimal images).
_PRELOAD = (
    "collections",
    "itertools",
    "functools",
    "math",
    "heapq",
    "bisect",
    "re",
    "string",
    "typing",
    "io",
    "random",
    "decimal",
    "fractions",
    "copy",
    "operator",
    "statistics",
    "datetime",
    "traceback",
    "threading",
    "dataclasses",
    "enum",
    "array",
    "hashlib",
    "queue",
    "cmath",
    "numbers",
    "textwrap",
    "unicodedata",
)
for _m in _PRELOAD:
    try:
        __import__(_m)
    except Exception:  # pragma: no cover
        pass

import threading  # noqa: E402
import traceback  # noqa: E402

PROTOCOL_VERSION = 1
MAX_FRAME = 256 * 1024 * 1024
STDERR_CAP = 64 * 1024
RESULT_CAP = 16 * 1024 * 1024
CE_CAP = 16 * 1024

VERDICTS = ("AC", "WA", "TLE", "MLE", "RE", "OLE", "CE", "SE", "SKIP")

# Captured before any user code runs: the harness relies only on these references.
_type = type
_isinstance = isinstance
_int, _float, _str, _bool, _list, _tuple, _dict = int, float, str, bool, list, tuple, dict
_NoneType = type(None)
_INF = float("inf")
_len = len
_json_dumps = json.dumps
_os_write = os.write
_os_exit = os._exit


# --------------------------------------------------------------------------------------------------- framing
class _Proto:
    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd

    def _read_exactly(self, n: int) -> bytes | None:
        chunks = []
        while n:
            b = os.read(self.rfd, min(n, 1 << 20))
            if not b:
                return None
            chunks.append(b)
            n -= len(b)
        return b"".join(chunks)

    def read(self):
        head = self._read_exactly(4)
        if head is None:
            return None
        (n,) = struct.unpack(">I", head)
        if n > MAX_FRAME:
            raise ValueError("frame too large")
        body = self._read_exactly(n)
        if body is None:
            return None
        return json.loads(body.decode("utf-8"))

    def write(self, obj) -> None:
        data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
        data = struct.pack(">I", len(data)) + data
        view = memoryview(data)
        while view:
            n = os.write(self.wfd, view)
            view = view[n:]


# ------------------------------------------------------------------------------------------- configuration
class Config:
    def __init__(self, argv: list[str]) -> None:
        self.uid = None
        self.gid = None
        self.workroot = "/tmp"
        self.python = sys.executable or "/usr/bin/python3"
        self.python_mode = "fork"  # or "exec": run `python3 file.py` per test (slower, exact)
        self.private_pidns = False
        it = iter(argv)
        for a in it:
            if a == "--uid":
                self.uid = int(next(it))
            elif a == "--gid":
                self.gid = int(next(it))
            elif a == "--workroot":
                self.workroot = next(it)
            elif a == "--python":
                self.python = next(it)
            elif a == "--python-mode":
                self.python_mode = next(it)
            elif a == "--private-pidns":
                self.private_pidns = True
        env_uid = os.environ.get("ARBITER_SANDBOX_UID")
        if self.uid is None and env_uid:
            self.uid = int(env_uid)
        self.is_root = os.geteuid() == 0
        if self.is_root:
            if self.uid is None:
                self.uid = 65534
            if self.gid is None:
                self.gid = self.uid
        else:  # cannot switch users: run as is; cleanup relies on the process group and the private pid ns
            self.uid = os.getuid()
            self.gid = os.getgid()
        self.switch_user = self.is_root and self.uid != 0


# --------------------------------------------------------------------------------------------- child side
def _apply_limits(
    lim: dict,
    cfg: Config,
    cpu_s: float | None = None,
    memory_mb: int | None = None,
    nproc: int | None = None,
    stack: bool = False,
) -> None:
    cpu = lim.get("cpu_s", 2.0) if cpu_s is None else cpu_s
    mem = lim.get("memory_mb", 256) if memory_mb is None else memory_mb
    nproc = lim.get("max_processes", 32) if nproc is None else nproc
    soft = max(1, int(-(-cpu // 1)))  # ceil
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
    if mem:
        b = int(mem) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (b, b))
        if stack:
            s = min(b, 256 * 1024 * 1024)
            try:
                resource.setrlimit(resource.RLIMIT_STACK, (s, s))
            except (ValueError, OSError):
                pass
    fs = int(lim.get("file_size_mb", 16) * 1024 * 1024)
    resource.setrlimit(resource.RLIMIT_FSIZE, (fs, fs))
    nf = int(lim.get("open_files", 64))
    resource.setrlimit(resource.RLIMIT_NOFILE, (nf, nf))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if cfg.switch_user and nproc:
        # RLIMIT_NPROC counts every process of the real uid: meaningful only with a uid of our own.
        resource.setrlimit(resource.RLIMIT_NPROC, (int(nproc), int(nproc)))


def _drop_privileges(cfg: Config) -> None:
    if cfg.switch_user:
        os.setgroups([])
        os.setresgid(cfg.gid, cfg.gid, cfg.gid)
        os.setresuid(cfg.uid, cfg.uid, cfg.uid)


def _child_setup(cfg: Config, lim: dict, fds: dict, cwd: str, extra_keep: list[int] = (), **kw) -> None:
    """In the forked child: new session, fds, privileges, limits. Raises on failure (caller _exits)."""
    os.setsid()
    for target, src in fds.items():
        if src != target:
            os.dup2(src, target)
    keep = set(fds) | set(extra_keep)
    for fd in _list_fds():
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
        signal.signal(s, signal.SIG_DFL)
    os.chdir(cwd)
    _drop_privileges(cfg)
    _apply_limits(lim, cfg, **kw)


def _kill_pids(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:  # already gone: what we wanted
            pass


def _list_fds() -> list[int]:
    try:
        return [int(x) for x in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 1024))


def _child_env(cwd: str) -> dict:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": cwd,
        "TMPDIR": cwd,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
    }


# Harness for forked Python tests. Runs in the child after the limits are applied.
def _plain(v, depth=0):
    """Return v if it is plain JSON data of exact builtin types (recursively), else raise TypeError."""
    if depth > 200:
        raise TypeError("return value nested too deeply")
    t = _type(v)
    if t is _int or t is _str or t is _bool or v is None:
        return v
    if t is _float:
        return v
    if t is _list or t is _tuple:
        return t(_plain(x, depth + 1) for x in v)
    if t is _dict:
        out = {}
        for k, x in v.items():
            if _type(k) is not _str:
                raise TypeError("return value: dict keys must be str, got %s" % _type(k).__name__)
            out[k] = _plain(x, depth + 1)
        return out
    raise TypeError("return value of type %s is not plain JSON data" % t.__name__)


def _to_json(v):
    # tuples become lists; non-finite floats are encoded as strings the judge understands
    t = _type(v)
    if t is _float and (v != v or v == _INF or v == -_INF):
        return {"__float__": repr(v)}
    if t is _list or t is _tuple:
        return [_to_json(x) for x in v]
    if t is _dict:
        return {k: _to_json(x) for k, x in v.items()}
    return v


def _run_python_child(job: dict, test, path: str, cfg: Config) -> None:
    """Executed in the forked child (already limited and unprivileged). Never returns."""
    import builtins
    import io
    import random as _random

    code_exit = 0
    kind = job.get("kind", "stdio")
    # fresh streams on the new fds, buffered like `python3 file.py` writing to a pipe
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8", errors="strict")
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8", errors="backslashreplace"
    )
    sys.stderr = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
        encoding="utf-8",
        errors="backslashreplace",
        line_buffering=True,
    )
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    sys.argv = [path]
    _random.seed()
    result_fd = 3 if kind in ("call", "assert") else None
    saved_builtins = dict(builtins.__dict__)
    saved_modules = _snapshot_modules() if kind == "assert" else None

    def report(obj) -> None:
        data = _json_dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")[:RESULT_CAP]
        view = memoryview(data)
        while view:
            view = view[_os_write(result_fd, view) :]

    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
        g = {
            "__name__": "__main__",
            "__file__": path,
            "__builtins__": builtins,
            "__doc__": None,
            "__package__": None,
            "__spec__": None,
            "__loader__": None,
        }
        sys.modules["__main__"] = _Module(g)
        code = compile(source, path, "exec")
        exec(code, g)
        if kind == "call":
            fn = _find_function(g, job.get("fn_name") or "")
            args = test if _type(test) is _list else [test]
            value = fn(*args)
            value = _plain(value)
            report({"ok": True, "value": _to_json(value)})
        elif kind == "assert":
            entry = g.get(job.get("entry_point") or "")
            if entry is None or not callable(entry):
                raise NameError("entry point %r is not defined" % job.get("entry_point"))
            # Restore builtins and the preloaded modules before the test's code runs; the test sees the program's
            # globals (HumanEval tests call helpers of the prompt) but a private copy of the builtins snapshot.
            builtins.__dict__.clear()
            builtins.__dict__.update(saved_builtins)
            _restore_modules(saved_modules)
            tg = dict(g)
            tg["__name__"] = "__arbiter_test__"
            tg["__builtins__"] = dict(saved_builtins)
            exec(compile(test, "<test>", "exec"), tg)
            check = tg.get("check")
            if check is None:
                raise NameError("test code defines no check(candidate)")

            def candidate(*a, **k):
                return _plain(entry(*a, **k))

            check(candidate)
            # only now read the nonce: it was never in this process's memory while user code ran
            nonce = os.read(4, 64).decode("ascii", "replace")
            report({"ok": True, "nonce": nonce})
    except SystemExit as e:
        c = e.code
        if c is None:
            code_exit = 0
        elif _type(c) is _int:
            code_exit = c & 0xFF
        else:
            try:
                print(c, file=sys.stderr)
            except Exception:
                pass
            code_exit = 1
    except BaseException as e:
        try:
            tb = e.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
                tb = tb.tb_next  # hide the harness frames, as `python3 file.py` would show none
            traceback.print_exception(_type(e), e, tb)
        except BaseException:
            pass
        code_exit = 1
    try:
        t = threading._shutdown  # wait for non-daemon threads like the interpreter does
        t()
    except BaseException:
        pass
    try:
        import atexit

        atexit._run_exitfuncs()
    except BaseException:
        pass
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except BaseException:
            pass
    _os_exit(code_exit)


def _snapshot_modules() -> dict:
    return {
        name: (m, dict(m.__dict__))
        for name, m in list(sys.modules.items())
        if m is not None and _type(getattr(m, "__dict__", None)) is _dict
    }


def _restore_modules(snap: dict) -> None:
    """Undo attribute patches of modules loaded before the program ran (math.isclose = lambda *a: True ...)."""
    for name, (m, saved) in snap.items():
        sys.modules[name] = m
        d = m.__dict__
        for k in [k for k in d if k not in saved]:
            del d[k]
        for k, v in saved.items():
            if d.get(k, d) is not v:
                d[k] = v


class _Module:
    """Minimal stand-in for the __main__ module object (pickle, dataclasses and typing look it up)."""

    def __init__(self, g: dict) -> None:
        object.__setattr__(self, "__dict__", g)


def _find_function(g: dict, name: str):
    sol = g.get("Solution")
    if sol is not None and isinstance(sol, type) and hasattr(sol, name):
        return getattr(sol(), name)
    fn = g.get(name)
    if fn is None or not callable(fn):
        raise NameError("function %r is not defined (neither top level nor a method of class Solution)" % name)
    return fn


# ---------------------------------------------------------------------------------------------- executor
class Executor:
    def __init__(self, cfg: Config, proto: _Proto) -> None:
        self.cfg = cfg
        self.proto = proto
        self.job_counter = 0
        self.dirty = False

    # ---------------------------------------------------------------- cleanup
    def _procs_of_uid(self) -> list[int]:
        me = os.getpid()
        out = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid == me:
                continue
            try:
                with open("/proc/%d/status" % pid) as f:
                    for line in f:
                        if line.startswith("Uid:"):
                            if int(line.split()[1]) == self.cfg.uid:
                                out.append(pid)
                            break
            except (OSError, ValueError, IndexError):
                pass
        return out

    def _descendants_and_strays(self) -> list[int]:
        """Non-root mode inside a private pid namespace: every process but us and our ancestors."""
        me = os.getpid()
        keep = {me}
        pid = me
        while pid > 1:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    pid = int(f.read().rsplit(")", 1)[1].split()[1])
                keep.add(pid)
            except (OSError, ValueError, IndexError):
                break
        keep.add(1)
        return [int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) not in keep]

    def kill_all(self, pgid: int | None = None) -> bool:
        """Kill every process the test left behind. Returns True when none is left."""
        if pgid:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except OSError:
                pass
        if self.cfg.switch_user:
            self._reap()
            if not self._procs_of_uid():  # common case: nothing left, no helper needed
                return True
            for _ in range(20):
                # A helper with the sandbox uid sends SIGKILL to everything that uid may signal: kill(-1) is
                # atomic with respect to fork in that no new child of a killed process survives.
                hp = os.fork()
                if hp == 0:
                    try:
                        os.setresgid(self.cfg.gid, self.cfg.gid, self.cfg.gid)
                        os.setresuid(self.cfg.uid, self.cfg.uid, self.cfg.uid)
                        os.kill(-1, signal.SIGKILL)
                    except BaseException:
                        pass
                    os._exit(0)
                os.waitpid(hp, 0)
                self._reap()
                left = self._procs_of_uid()
                if not left:
                    return True
                _kill_pids(left)
                time.sleep(0.005)
            return not self._procs_of_uid()
        if self.cfg.private_pidns:
            for _ in range(20):
                left = self._descendants_and_strays()
                if not left:
                    return True
                _kill_pids(left)
                time.sleep(0.005)
                self._reap()
            return not self._descendants_and_strays()
        self._reap()
        return True

    def _reap(self) -> None:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def _rmtree(self, path: str) -> None:
        # root with CAP_DAC_OVERRIDE/CAP_FOWNER removes anything; otherwise make dirs writable first
        for root, dirs, files in os.walk(path, topdown=False):
            for n in files:
                try:
                    os.unlink(os.path.join(root, n))
                except OSError:
                    pass
            for n in dirs:
                p = os.path.join(root, n)
                try:
                    if os.path.islink(p):
                        os.unlink(p)
                    else:
                        os.rmdir(p)
                except OSError:
                    try:
                        os.chmod(p, 0o700)
                        os.rmdir(p)
                    except OSError:
                        pass
        try:
            os.rmdir(path)
        except OSError:
            pass

    def _clean_shared_dirs(self) -> None:
        if not self.cfg.switch_user:
            return
        for d in ("/dev/shm", "/dev/mqueue", self.cfg.workroot, "/var/tmp"):
            try:
                names = os.listdir(d)
            except OSError:
                continue
            for n in names:
                p = os.path.join(d, n)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if st.st_uid == self.cfg.uid:
                    if os.path.isdir(p) and not os.path.islink(p):
                        self._rmtree(p)
                    else:
                        try:
                            os.unlink(p)
                        except OSError:
                            pass

    # ---------------------------------------------------------------- running one process
    def _mkdir_for_user(self, path: str, mode: int = 0o700) -> None:
        os.mkdir(path, mode)
        if self.cfg.switch_user:
            os.chown(path, self.cfg.uid, self.cfg.gid)

    def run_process(
        self,
        *,
        argv: list[str] | None,
        job: dict | None,
        test,
        path: str,
        cwd: str,
        lim: dict,
        stdin_data: bytes,
        wall_s: float,
        max_out: int,
        stderr_cap: int = STDERR_CAP,
        limit_kw: dict | None = None,
        nonce: bytes | None = None,
    ) -> dict:
        """Fork a child (exec argv, or run the Python harness when argv is None) and supervise it."""
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        res_r = res_w = non_r = non_w = None
        fds = {0: in_r, 1: out_w, 2: err_w}
        if argv is None and job.get("kind") in ("call", "assert"):
            res_r, res_w = os.pipe()
            fds[3] = res_w
            if job.get("kind") == "assert":
                non_r, non_w = os.pipe()
                fds[4] = non_r
        # fds must not collide with targets during dup2: move sources above 10
        fds = {t: (os.dup(s) if s < 10 else s) for t, s in fds.items()}
        # setup-status pipe (close-on-exec, like subprocess): data on it means the sandbox failed to start the
        # program (SE); a program cannot fake it because it is closed before any user code runs.
        e_r0, e_w0 = os.pipe()
        e_r = fcntl.fcntl(e_r0, fcntl.F_DUPFD_CLOEXEC, 10)
        e_w = fcntl.fcntl(e_w0, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(e_r0)
        os.close(e_w0)
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:  # ---------------- child
            try:
                _child_setup(self.cfg, lim, fds, cwd, extra_keep=[e_w], **(limit_kw or {}))
                if argv is not None:
                    os.execve(argv[0], argv, _child_env(cwd))
                else:
                    os.environ.clear()
                    os.environ.update(_child_env(cwd))
                    os.close(e_w)
                    e_w = -1
            except BaseException as e:
                try:
                    if e_w >= 0:
                        os.write(e_w, ("cannot start program: %r" % (e,)).encode()[:4000])
                except OSError:
                    pass
                os._exit(127)
            _run_python_child(job, test, path, self.cfg)
            os._exit(127)
        # ---------------- parent
        for fd in (
            set(fds.values()) | {in_r, out_w, err_w} | ({res_w} if res_w else set()) | ({non_r} if non_r else set())
        ):
            try:
                os.close(fd)
            except OSError:
                pass
        os.close(e_w)
        if non_w is not None:
            os.write(non_w, nonce)
            os.close(non_w)
        try:
            r = self._supervise(pid, in_w, out_r, err_r, res_r, stdin_data, wall_s, max_out, stderr_cap, t0)
            os.set_blocking(e_r, False)
            try:
                r["setup_error"] = os.read(e_r, 4096).decode("utf-8", "replace")
            except OSError:
                r["setup_error"] = ""
        finally:
            os.close(e_r)
        return r

    def _supervise(self, pid, in_w, out_r, err_r, res_r, stdin_data, wall_s, max_out, stderr_cap, t0) -> dict:
        out, err, res = [], [], []
        out_n = err_n = res_n = 0
        truncated = False
        ole = False
        killed_wall = False
        status = None
        rusage = None
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None
        stdin_view = memoryview(stdin_data)
        if stdin_view:
            os.set_blocking(in_w, False)
        else:
            os.close(in_w)
            in_w = None
        poller = select.poll()
        readers = {out_r: "out", err_r: "err"}
        if res_r is not None:
            readers[res_r] = "res"
        for fd in readers:
            poller.register(fd, select.POLLIN)
        if in_w is not None:
            poller.register(in_w, select.POLLOUT)
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
        deadline = t0 + wall_s
        while True:
            now = time.monotonic()
            if now >= deadline:
                killed_wall = True
                break
            timeout = (deadline - now) * 1000
            if pidfd is None:
                timeout = min(timeout, 10)
            events = poller.poll(max(1, int(timeout) + 1))
            exited = False
            for fd, ev in events:
                if fd == pidfd:
                    exited = True
                elif fd == in_w:
                    if ev & (select.POLLERR | select.POLLHUP):
                        poller.unregister(in_w)
                        os.close(in_w)
                        in_w = None
                        continue
                    try:
                        n = os.write(in_w, stdin_view[:65536])
                        stdin_view = stdin_view[n:]
                    except BlockingIOError:
                        n = 0
                    except OSError:  # EPIPE: the program does not read its input
                        stdin_view = stdin_view[:0]
                    if not stdin_view:
                        poller.unregister(in_w)
                        os.close(in_w)
                        in_w = None
                elif fd in readers:
                    try:
                        data = os.read(fd, 1 << 16)
                    except OSError:
                        data = b""
                    if not data:
                        poller.unregister(fd)
                        del readers[fd]
                        continue
                    kind = readers[fd]
                    if kind == "out":
                        if out_n + len(data) > max_out:
                            out.append(data[: max(0, max_out - out_n)])
                            out_n = max_out
                            ole = truncated = True
                        else:
                            out.append(data)
                            out_n += len(data)
                    elif kind == "err":
                        if err_n < stderr_cap:
                            err.append(data[: stderr_cap - err_n])
                            err_n += min(len(data), stderr_cap - err_n)
                    else:
                        if res_n < RESULT_CAP:
                            res.append(data)
                            res_n += len(data)
            if ole:
                break
            if pidfd is None:
                try:
                    wp, st, ru = os.wait4(pid, os.WNOHANG)
                except ChildProcessError:
                    wp, st, ru = pid, 0, None
                if wp == pid:
                    status, rusage = st, ru
                    break
            elif exited:
                break
            if not readers and in_w is None and pidfd is None:
                continue
        if status is None and (killed_wall or ole):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if status is None:
            _, status, rusage = os.wait4(pid, 0)
        wall = time.monotonic() - t0
        # drain what is already in the pipes (descendants may keep them open: never block)
        for fd, kind in list(readers.items()):
            os.set_blocking(fd, False)
            for _ in range(64):
                try:
                    data = os.read(fd, 1 << 16)
                except (BlockingIOError, OSError):
                    break
                if not data:
                    break
                if kind == "out":
                    room = max_out - out_n
                    if len(data) > room:
                        out.append(data[:room])
                        out_n = max_out
                        ole = truncated = True
                        break
                    out.append(data)
                    out_n += len(data)
                elif kind == "err":
                    if err_n < stderr_cap:
                        err.append(data[: stderr_cap - err_n])
                        err_n += min(len(data), stderr_cap - err_n)
                elif res_n < RESULT_CAP:
                    res.append(data)
                    res_n += len(data)
        for fd in list(readers) + ([in_w] if in_w is not None else []) + ([pidfd] if pidfd is not None else []):
            try:
                os.close(fd)
            except OSError:
                pass
        cpu = (rusage.ru_utime + rusage.ru_stime) if rusage else 0.0
        maxrss_mb = (rusage.ru_maxrss / 1024.0) if rusage else 0.0
        return {
            "pid": pid,
            "status": status,
            "cpu_s": cpu,
            "wall_s": wall,
            "stdout": b"".join(out),
            "stderr": b"".join(err),
            "result": b"".join(res),
            "ole": ole,
            "truncated": truncated,
            "killed_wall": killed_wall,
            "maxrss_mb": maxrss_mb,
        }

    # ---------------------------------------------------------------- verdicts
    @staticmethod
    def _decode(b: bytes) -> str:
        return b.decode("utf-8", "replace")

    def classify(self, r: dict, lim: dict) -> dict:
        st = r["status"]
        exit_code = os.WEXITSTATUS(st) if os.WIFEXITED(st) else None
        sig = os.WTERMSIG(st) if os.WIFSIGNALED(st) else None
        cpu_limit = float(lim.get("cpu_s", 2.0))
        stderr = self._decode(r["stderr"])
        mem = float(lim.get("memory_mb", 256))
        if r.get("setup_error"):
            verdict = "SE"
            stderr = "arbiter: " + r["setup_error"]
        elif r["ole"]:
            verdict = "OLE"
        elif (
            r["killed_wall"]
            or sig in (signal.SIGXCPU,)
            or r["cpu_s"] > cpu_limit
            or (sig == signal.SIGKILL and r["cpu_s"] >= cpu_limit * 0.95)
        ):
            verdict = "TLE"
        elif sig == signal.SIGXFSZ:
            verdict = "OLE"
        elif (exit_code not in (0, None) or sig is not None) and (
            "MemoryError" in stderr[-2000:]
            or "std::bad_alloc" in stderr[-2000:]
            or (sig == signal.SIGKILL and r["maxrss_mb"] >= mem * 0.9)
        ):
            verdict = "MLE"
        elif sig is not None or exit_code != 0:
            verdict = "RE"
        else:
            verdict = "OK"  # ran to completion; AC/WA is decided by the judge outside the sandbox
        return {
            "verdict": verdict,
            "cpu_s": round(r["cpu_s"], 4),
            "wall_s": round(r["wall_s"], 4),
            "exit_code": exit_code,
            "signal": sig,
            "stdout": self._decode(r["stdout"]),
            "stderr": stderr,
            "return_value": None,
            "truncated": r["truncated"],
        }

    # ---------------------------------------------------------------- jobs
    def run_job(self, job: dict) -> dict:
        self.job_counter += 1
        lim = dict(job.get("limits") or {})
        lang = job.get("language", "python")
        kind = job.get("kind", "stdio")
        tests = job.get("tests") or []
        jobdir = os.path.join(self.cfg.workroot, "job%d-%d" % (os.getpid(), self.job_counter))
        os.mkdir(jobdir, 0o755)
        compile_output = ""
        outcomes = []
        try:
            if lang == "python":
                path = os.path.join(jobdir, "main.py")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(job.get("source", ""))
                os.chmod(path, 0o644)
                prog = None
            elif lang == "cpp":
                if kind != "stdio":
                    raise ValueError("C++ supports stdin/stdout tests only")
                src = os.path.join(jobdir, "main.cpp")
                with open(src, "w", encoding="utf-8") as f:
                    f.write(job.get("source", ""))
                os.chmod(src, 0o644)
                bdir = os.path.join(jobdir, "build")
                self._mkdir_for_user(bdir, 0o755)
                ok, compile_output = self.compile_cpp(src, bdir, job)
                if not ok:
                    return {
                        "compile_output": compile_output,
                        "tests": [self._const("CE", compile_output) for _ in tests],
                        "dirty": self.dirty,
                    }
                prog = os.path.join(bdir, "main")
                path = prog
            else:
                raise ValueError("unknown language %r" % lang)
            stop = bool(job.get("stop_after_failure"))
            failed = False
            for i, test in enumerate(tests):
                if failed:
                    outcomes.append(self._const("SKIP", "not run: an earlier test failed"))
                    continue
                out = self.run_test(job, lang, kind, test, path, prog, jobdir, i, lim)
                outcomes.append(out)
                failed = stop and out["verdict"] not in ("OK", "AC")
        finally:
            self._rmtree(jobdir)
        return {"compile_output": compile_output, "tests": outcomes, "dirty": self.dirty}

    @staticmethod
    def _const(verdict: str, msg: str = "") -> dict:
        return {
            "verdict": verdict,
            "cpu_s": 0.0,
            "wall_s": 0.0,
            "exit_code": None,
            "signal": None,
            "stdout": "",
            "stderr": msg,
            "return_value": None,
            "truncated": False,
        }

    def compile_cpp(self, src: str, bdir: str, job: dict) -> tuple[bool, str]:
        cl = job.get("compile_limits") or {}
        lim = {
            "cpu_s": cl.get("cpu_s", 20.0),
            "memory_mb": cl.get("memory_mb", 2048),
            "max_processes": cl.get("max_processes", 32),
            "file_size_mb": cl.get("file_size_mb", 256),
            "open_files": cl.get("open_files", 256),
        }
        wall = float(cl.get("wall_s", 30.0))
        gpp = job.get("compiler") or "/usr/bin/g++"
        argv = [gpp, "-O2", "-std=c++17", "-pipe", "-o", os.path.join(bdir, "main"), src, "-lm"]
        r = self.run_process(
            argv=argv,
            job=None,
            test=None,
            path=src,
            cwd=bdir,
            lim=lim,
            stdin_data=b"",
            wall_s=wall,
            max_out=CE_CAP,
            stderr_cap=CE_CAP,
        )
        self.kill_all(r["pid"])
        msg = self._decode(r["stderr"] + r["stdout"])[:CE_CAP]
        st = r["status"]
        if r["killed_wall"] or (os.WIFSIGNALED(st) and os.WTERMSIG(st) in (signal.SIGXCPU, signal.SIGKILL)):
            return False, (msg + "\ncompilation exceeded its time limit").strip()
        if not (os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0):
            return False, msg or "compilation failed"
        return True, msg

    def run_test(self, job, lang, kind, test, path, prog, jobdir, i, lim) -> dict:
        cpu = float(lim.get("cpu_s", 2.0))
        wall = float(lim.get("wall_s") or (2 * cpu + 1))
        max_out = int(lim.get("max_output_bytes", 1 << 20))
        cwd = os.path.join(jobdir, "t%d" % i)
        self._mkdir_for_user(cwd)
        nonce = None
        try:
            if kind == "stdio":
                stdin_data = (test if isinstance(test, str) else json.dumps(test)).encode("utf-8", "surrogatepass")
            else:
                stdin_data = b""
            if kind == "assert":
                nonce = os.urandom(16).hex().encode()
            if lang == "cpp":
                r = self.run_process(
                    argv=[prog],
                    job=job,
                    test=test,
                    path=path,
                    cwd=cwd,
                    lim=lim,
                    stdin_data=stdin_data,
                    wall_s=wall,
                    max_out=max_out,
                    limit_kw={"stack": True},
                )
            elif self.cfg.python_mode == "exec" and kind == "stdio":
                r = self.run_process(
                    argv=[self.cfg.python, path],
                    job=job,
                    test=test,
                    path=path,
                    cwd=cwd,
                    lim=lim,
                    stdin_data=stdin_data,
                    wall_s=wall,
                    max_out=max_out,
                )
            else:
                r = self.run_process(
                    argv=None,
                    job=job,
                    test=test,
                    path=path,
                    cwd=cwd,
                    lim=lim,
                    stdin_data=stdin_data,
                    wall_s=wall,
                    max_out=max_out,
                    nonce=nonce,
                )
            pgid = r["pid"]
            out = self.classify(r, lim)
            if kind in ("call", "assert") and out["verdict"] == "OK":
                out = self._harness_result(kind, r, out, nonce)
        finally:
            if not self.kill_all(locals().get("pgid")):
                self.dirty = True
            self._rmtree(cwd)
            self._clean_shared_dirs()
        return out

    def _harness_result(self, kind, r, out, nonce) -> dict:
        try:
            rep = json.loads(r["result"].decode("utf-8")) if r["result"] else None
        except ValueError:
            rep = None
        if kind == "call":
            if not isinstance(rep, dict) or rep.get("ok") is not True or "value" not in rep:
                out["verdict"] = "RE"
                out["stderr"] = (out["stderr"] + "\narbiter: the function returned no value (exited early?)").strip()
            else:
                out["return_value"] = rep["value"]
        else:
            if not isinstance(rep, dict) or rep.get("ok") is not True or rep.get("nonce") != nonce.decode():
                out["verdict"] = "WA"
                out["stderr"] = (out["stderr"] + "\narbiter: check(candidate) did not complete").strip()
            else:
                out["verdict"] = "AC"
        return out

    # ---------------------------------------------------------------- main loop
    def serve(self) -> None:
        self.proto.write(
            {
                "type": "hello",
                "version": PROTOCOL_VERSION,
                "pid": os.getpid(),
                "uid": self.cfg.uid,
                "switch_user": self.cfg.switch_user,
                "python": sys.version.split()[0],
            }
        )
        while True:
            msg = self.proto.read()
            if msg is None:
                return
            t = msg.get("type")
            if t == "ping":
                self.proto.write({"type": "pong"})
            elif t == "job":
                job = msg.get("job") or {}
                try:
                    outcome = self.run_job(job)
                except Exception as e:
                    reason = "executor error: %s: %s" % (type(e).__name__, e)
                    outcome = {
                        "compile_output": "",
                        "dirty": True,
                        "tests": [self._const("SE", reason) for _ in job.get("tests") or []],
                    }
                    self.dirty = True
                outcome["id"] = job.get("id")
                self.proto.write({"type": "result", "outcome": outcome})
            elif t == "exit":
                return
            else:
                self.proto.write({"type": "error", "message": "unknown frame type %r" % t})


def main(argv: list[str] | None = None) -> int:
    cfg = Config(sys.argv[1:] if argv is None else argv)
    # Keep the protocol on private fds; fd 1 goes to stderr so stray prints cannot corrupt the stream.
    rfd = os.dup(0)
    wfd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    os.close(devnull)
    os.set_inheritable(rfd, False)
    os.set_inheritable(wfd, False)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    os.umask(0o022)
    try:
        os.makedirs(cfg.workroot, exist_ok=True)
    except OSError:
        pass
    ex = Executor(cfg, _Proto(rfd, wfd))
    try:
        ex.serve()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
