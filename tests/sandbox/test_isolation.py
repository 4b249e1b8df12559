"""Cross-job isolation (issue 11, item 7 and the standing test), on both backends: a job sees no trace of an
earlier job on the same worker, nor of a concurrent job on another worker: no files (work dir, /tmp, /var/tmp,
/dev/shm), no System V IPC (shared memory, message queues, semaphores) nor POSIX message queues, no processes, and
nothing in its own memory (Python tests fork from a warm interpreter that never held a job's data).

The writer proves that it made every trace (the test fails if it could not); the reader proves that its scans work
by finding a control marker it holds itself."""

from __future__ import annotations

import asyncio
import json
import secrets

from sandbox import Limits, RunRequest

LIMITS = Limits(cpu_s=10.0, wall_s=20.0, memory_mb=512, max_processes=16, open_files=64)
KEYS = (0x5EC0, 0x5EC1, 0x5EC2)  # System V keys the writer uses

WRITER = r"""
import ctypes, json, os, sys, time
SECRET = "ARBITER-LEAK-%(secret)s"
held = sys.stdin.read()  # the secret again, through stdin
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
made = {}
for d in (".", "/tmp", "/var/tmp", "/dev/shm"):
    try:
        with open(os.path.join(d, "leak-%(secret)s"), "w") as f:
            f.write(SECRET)
        made["file " + d] = True
    except OSError:
        pass
shm = libc.shmget(%(k0)d, 4096, 0o1000 | 0o666)
addr = libc.shmat(shm, None, 0)
if addr not in (None, ctypes.c_void_p(-1).value):
    ctypes.memmove(addr, SECRET.encode(), len(SECRET))
    made["shm"] = shm >= 0
msq = libc.msgget(%(k1)d, 0o1000 | 0o666)
buf = ctypes.create_string_buffer(8 + len(SECRET))
ctypes.memmove(ctypes.addressof(buf), ctypes.byref(ctypes.c_long(1)), 8)
ctypes.memmove(ctypes.addressof(buf) + 8, SECRET.encode(), len(SECRET))
made["msg"] = msq >= 0 and libc.msgsnd(msq, buf, len(SECRET), 0) == 0
made["sem"] = libc.semget(%(k2)d, 1, 0o1000 | 0o666) >= 0
made["mq"] = libc.mq_open(b"/leak-%(secret)s", os.O_CREAT | os.O_RDWR, 0o666, None) >= 0
pid = os.fork()
if pid == 0:  # a process left behind, detached, with the secret in its command line
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(120)", SECRET])
    os._exit(0)
os.waitpid(pid, 0)
made["process"] = True
time.sleep(%(hold)s)
print(json.dumps(sorted(k for k, v in made.items() if v)))
"""

READER = r"""
import ctypes, json, os, re, sys
control = sys.stdin.read().strip()  # a marker this process holds itself: the memory scan must find it
libc = ctypes.CDLL(None, use_errno=True)
seen = {}
seen["sysv"] = []
for kind in ("shm", "msg", "sem"):
    with open("/proc/sysvipc/" + kind) as f:
        seen["sysv"] += f.read().splitlines()[1:]
seen["sysv_keys"] = [k for k in %(keys)r if libc.shmget(k, 0, 0) >= 0 or libc.msgget(k, 0) >= 0
                     or libc.semget(k, 0, 0) >= 0]
seen["mqueue"] = sorted(os.listdir("/dev/mqueue")) if os.path.isdir("/dev/mqueue") else None
files = []
for d in (".", "/tmp", "/var/tmp", "/dev/shm"):
    for root, dirs, names in os.walk(d):
        files += [os.path.join(root, n) for n in names + dirs if "leak" in n]
seen["files"] = files
procs = []
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            with open("/proc/%%s/cmdline" %% p, "rb") as f:
                if b"ARBITER-LEAK-" in f.read():
                    procs.append(p)
        except OSError:
            pass
seen["processes"] = procs
pattern = re.compile(b"ARBITER" + b"-LEAK-([0-9a-f]{32})")
found = set()
# read our own anonymous memory directly (ctypes): /proc/self/mem is closed to a process that changed its uid
with open("/proc/self/maps") as maps:
    regions = maps.read().splitlines()
for line in regions:
    parts = line.split()
    span, perms, path = parts[0], parts[1], (parts[5] if len(parts) > 5 else "")
    if not perms.startswith("rw") or path not in ("", "[heap]", "[stack]"):
        continue
    lo, hi = (int(x, 16) for x in span.split("-"))
    for pos in range(lo, hi, 1 << 22):
        chunk = ctypes.string_at(pos, min(hi - pos, (1 << 22) + 64))
        found.update(m.decode() for m in pattern.findall(chunk))
seen["memory"] = sorted(found)
seen["control_found"] = control.split("-")[-1] in found
print(json.dumps(seen))
"""


def writer(secret: str, hold_s: float = 0.0) -> RunRequest:
    src = WRITER % {"secret": secret, "k0": KEYS[0], "k1": KEYS[1], "k2": KEYS[2], "hold": hold_s}
    return RunRequest.stdio(src, [f"ARBITER-LEAK-{secret}\n"], [""], limits=LIMITS)


def reader(control: str) -> RunRequest:
    return RunRequest.stdio(READER % {"keys": KEYS}, [f"ARBITER-LEAK-{control}\n"], [""], limits=LIMITS)


def _made(result) -> list[str]:
    t = result.tests[0]
    assert t.verdict in ("AC", "WA"), (t.verdict, t.stderr)
    return json.loads(t.stdout)


def _seen(result) -> dict:
    t = result.tests[0]
    assert t.verdict in ("AC", "WA"), (t.verdict, t.stderr)
    return json.loads(t.stdout)


def _assert_nothing_of(secret: str, seen: dict) -> None:
    assert seen["control_found"], "the memory scan did not find the reader's own marker: it proves nothing"
    assert secret not in seen["memory"], "an earlier job's source/stdin is in this job's memory"
    assert seen["sysv"] == [] and seen["sysv_keys"] == [], seen
    assert seen["mqueue"] in ([], None), seen
    assert seen["files"] == [], seen
    assert seen["processes"] == [], seen


async def test_nothing_of_an_earlier_job_on_the_same_worker(pool):
    secret = secrets.token_hex(16)
    made = _made(await pool.run(writer(secret)))
    # every kind of trace was really made (bwrap and docker both give a private /dev/mqueue and /dev/shm)
    assert {"shm", "msg", "sem", "mq", "process", "file ."} <= set(made), made
    before = [w.transport.id for w in pool._idle]
    seen = _seen(await pool.run(reader(secrets.token_hex(16))))
    assert [w.transport.id for w in pool._idle] == before, "the reader must run on the writer's worker"
    _assert_nothing_of(secret, seen)


async def test_an_assert_candidate_holds_nothing_of_an_earlier_job_nor_of_its_own_test(pool):
    # The candidate of an assert test is forked by the same zygote as every Python test: its memory holds the
    # program only, neither an earlier job's data nor the test code (which the harness, another process, holds).
    secret, test_secret, control = (secrets.token_hex(16) for _ in range(3))
    _made(await pool.run(writer(secret)))
    before = [w.transport.id for w in pool._idle]
    program = (READER % {"keys": KEYS}).replace("sys.stdin.read().strip()", repr(f"ARBITER-LEAK-{control}"))
    program += "\n\ndef f():\n    return 1\n"
    test = f'def check(candidate):\n    marker = "ARBITER-LEAK-{test_secret}"\n    assert candidate() == 1, marker\n'
    r = await pool.run(RunRequest.assert_based(program, test, "f", limits=LIMITS))
    assert [w.transport.id for w in pool._idle] == before, "the candidate must run on the writer's worker"
    assert r.verdicts == ["AC"], r
    seen = _seen(r)
    _assert_nothing_of(secret, seen)
    assert test_secret not in seen["memory"], "the test code reached the candidate's memory"


async def test_nothing_of_a_concurrent_job_on_another_worker(pool_factory):
    pool = await pool_factory(2)
    secret = secrets.token_hex(16)
    w = asyncio.create_task(pool.run(writer(secret, hold_s=3.0)))
    await asyncio.sleep(1.0)  # the writer's traces exist now (it holds them for 3 s)
    assert not w.done()
    seen = _seen(await pool.run(reader(secrets.token_hex(16))))
    assert not w.done(), "the reader must run while the writer still holds its traces"
    _assert_nothing_of(secret, seen)
    assert "shm" in _made(await w)


# What a program finds open beside its own stdio: nothing of the executor's (its protocol, the zygote's socket,
# the setup pipe, the memfd of the test's data) reaches it, whichever way the child closed them (close_range or a
# /proc listing, limits.close_all_but). Probed with fstat, which opens nothing itself.
OPEN_FDS = "import os\nfds = []\nfor fd in range(1024):\n    try:\n        os.fstat(fd)\n        fds.append(fd)\n    except OSError:\n        pass\n"


async def test_a_program_holds_no_fd_but_its_own(pool):
    r = await pool.run(RunRequest.stdio(OPEN_FDS + "print(fds)\n", [""], ["[0, 1, 2]"], limits=LIMITS))
    assert r.verdicts == ["AC"], r
    # an assert candidate: its stdio and the two pipes to the harness (fds 3 / 4), nothing else
    program = OPEN_FDS + "\ndef f():\n    return fds\n"
    r = await pool.run(
        RunRequest.assert_based(program, "def check(candidate):\n    assert candidate() == [0, 1, 2, 3, 4]\n", "f")
    )
    assert r.verdicts == ["AC"], r
