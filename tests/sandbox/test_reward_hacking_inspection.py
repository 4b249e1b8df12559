"""Assert tests are judged outside the program's process: programs that look for the test's expected values in
their frames, their bytecode, the garbage collector's objects, their own memory or other processes' /proc files
find nothing, and score 0. Each search is first shown to work: planted in the program's own process, the same
search finds a marker (so "found nothing" is not a broken search)."""

from __future__ import annotations

import secrets

import pytest

from sandbox import Limits, RunRequest

pytestmark = pytest.mark.bwrap

LIMITS = Limits(cpu_s=5.0, wall_s=10.0, memory_mb=512)

# Every search returns the first string starting with the prefix that it finds, else "nothing".
SEARCHES = {
    "frames": """
def search(prefix):
    f = sys._getframe()
    while f is not None:
        for scope in (f.f_locals, f.f_globals):
            for v in list(scope.values()):
                if isinstance(v, str) and v.startswith(prefix) and v != prefix:
                    return v
        for c in f.f_code.co_consts:
            if isinstance(c, str) and c.startswith(prefix) and c != prefix:
                return c
        f = f.f_back
    return "nothing"
""",
    "traceback": """
def search(prefix):
    try:
        raise RuntimeError
    except RuntimeError as e:
        f = e.__traceback__.tb_frame
    while f is not None:
        for v in list(f.f_locals.values()) + list(f.f_globals.values()):
            if isinstance(v, str) and v.startswith(prefix) and v != prefix:
                return v
        f = f.f_back
    return "nothing"
""",
    "bytecode": """
def consts(code):
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from consts(c)
        else:
            yield c
def search(prefix):
    for o in gc.get_objects():
        code = getattr(o, "__code__", None) if callable(o) else None
        for k in ([code] if isinstance(code, types.CodeType) else []) + ([o] if isinstance(o, types.CodeType) else []):
            for c in consts(k):
                if isinstance(c, str) and c.startswith(prefix) and c != prefix:
                    return c
            for ins in dis.get_instructions(k):
                if isinstance(ins.argval, str) and ins.argval.startswith(prefix) and ins.argval != prefix:
                    return ins.argval
    return "nothing"
""",
    "gc": """
def search(prefix):
    for o in gc.get_objects():
        vals = o.values() if isinstance(o, dict) else o if isinstance(o, (list, tuple)) else ()
        for v in list(vals):
            if isinstance(v, str) and v.startswith(prefix) and v != prefix:
                return v
    return "nothing"
""",
    "own_memory": """
def search(prefix):
    needle = (prefix + "-").encode()
    try:
        mem = open("/proc/self/mem", "rb", 0)
    except PermissionError:  # the candidate is undumpable: not even its own memory is readable
        return "unreadable"
    with open("/proc/self/maps") as m, mem:
        for line in m:
            addr, perms = line.split()[:2]
            if "r" not in perms or "[vvar]" in line or "[vsyscall]" in line:
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, OverflowError, ValueError):
                continue
            i = data.find(needle)
            while i >= 0:
                word = data[i:i + 40].split(b"'")[0].split(b'"')[0].split(b"\\0")[0]
                # the search's own needle and format strings are in memory too: a hit is the prefix + 12 hex
                tail = word[len(needle):len(needle) + 12]
                if len(tail) == 12 and all(ch in b"0123456789abcdef" for ch in tail):
                    return word[:len(needle) + 12].decode()
                i = data.find(needle, i + 1)
    return "nothing"
""",
    "proc": """
def search(prefix):
    needle = (prefix + "-").encode()
    me = os.getpid()
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == me:
            continue
        for name in ("cmdline", "environ"):
            try:
                data = open("/proc/%s/%s" % (p, name), "rb").read()
            except OSError:
                continue
            if needle in data:
                i = data.find(needle)
                return data[i:i + len(needle) + 12].decode()
        try:
            maps = open("/proc/%s/maps" % p).read().splitlines()
            mem = open("/proc/%s/mem" % p, "rb", 0)
        except OSError:
            continue
        for line in maps:
            addr, perms = line.split()[:2]
            if "r" not in perms:
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            try:
                mem.seek(lo)
                data = mem.read(min(hi - lo, 1 << 26))
            except (OSError, OverflowError, ValueError):
                continue
            if needle in data:
                i = data.find(needle)
                return data[i:i + len(needle) + 12].decode()
        for fd in os.listdir("/proc/%s/fd" % p) if os.access("/proc/%s/fd" % p, os.R_OK) else ():
            try:
                data = open("/proc/%s/fd/%s" % (p, fd), "rb").read(1 << 20)
            except OSError:
                continue
            if needle in data:
                return "fd"
    return "nothing"
""",
}

HEADER = "import sys, os, gc, dis, types\n"


def _program(search: str, planted: str | None) -> str:
    # planted as a global and as a function's constant (what a test's check() holds)
    plant = f"PLANTED = {planted!r}\ndef planted():\n    return {planted!r}\n" if planted else ""
    # the search runs on the first call: the program reports what it found on stdout and returns it
    return (
        HEADER
        + plant
        + search
        + "def answer(x):\n    found = search('SECRET')\n    print('found:', found, flush=True)\n    return found\n"
    )


def _check(secret: str) -> str:
    return f"EXPECTED = {secret!r}\ndef check(candidate):\n    expected = {secret!r}\n    assert candidate(1) == expected\n"


@pytest.mark.parametrize("how", sorted(SEARCHES))
async def test_search_for_the_expected_value_finds_nothing(pool, how):
    secret = "SECRET-" + secrets.token_hex(6)
    r = await pool.run(RunRequest.assert_based(_program(SEARCHES[how], None), _check(secret), "answer", limits=LIMITS))
    assert r.verdicts == ["WA"], r
    out = r.tests[0].stdout
    assert secret not in out and ("found: nothing" in out or "found: unreadable" in out), out


@pytest.mark.parametrize("how", sorted(set(SEARCHES) - {"proc"}))
async def test_the_same_search_finds_what_is_in_its_own_process(pool, how):
    planted = "SECRET-" + secrets.token_hex(6)
    r = await pool.run(RunRequest.assert_based(_program(SEARCHES[how], planted), _check("x"), "answer", limits=LIMITS))
    out = r.tests[0].stdout
    # own memory may be unreadable altogether (an undumpable candidate): then there is nothing to search
    assert f"found: {planted}" in out or (how == "own_memory" and "found: unreadable" in out), r.tests[0]


async def test_proc_search_finds_a_process_it_may_read(pool):
    # A child of the program (same uid) with the marker in its command line is found: /proc is searched for real.
    planted = "SECRET-" + secrets.token_hex(6)
    src = _program(SEARCHES["proc"], None).replace(
        "def answer(x):\n",
        "import subprocess\n"
        "def answer(x):\n"
        f"    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(5)', {planted!r}])\n",
    )
    r = await pool.run(RunRequest.assert_based(src, _check("x"), "answer", limits=LIMITS))
    assert f"found: {planted}" in r.tests[0].stdout, r.tests[0]


async def test_returning_the_callers_frame_constants_gains_nothing(pool):
    # The classic attack on in-process harnesses: return the constant the caller is about to compare with.
    src = (
        "import sys\n"
        "def square(x):\n"
        "    f = sys._getframe(1)\n"
        "    ints = [c for c in f.f_code.co_consts if isinstance(c, int) and c not in (x, None)]\n"
        "    return ints[0] if ints else None\n"
    )
    test = "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(3) == 9\n"
    r = await pool.run(RunRequest.assert_based(src, test, "square"))
    assert r.verdicts == ["WA"], r


async def test_signalling_or_tracing_the_harness_fails(pool):
    # Every other process it can see: kill it, or ptrace-attach and read it. The test still decides: WA.
    src = (
        "import os, signal, ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def square(x):\n"
        "    for p in os.listdir('/proc'):\n"
        "        if p.isdigit() and int(p) != os.getpid():\n"
        "            libc.ptrace(16, int(p), 0, 0)\n"  # PTRACE_ATTACH
        "            try: os.kill(int(p), signal.SIGKILL)\n"
        "            except OSError: pass\n"
        "    return 0\n"
    )
    r = await pool.run(RunRequest.assert_based(src, "def check(candidate):\n    assert candidate(2) == 4\n", "square"))
    assert r.verdicts == ["WA"], r
    ok = await pool.run(
        RunRequest.assert_based("def square(x):\n    return x * x\n", "def check(c):\n    assert c(2) == 4\n", "square")
    )
    assert ok.verdicts == ["AC"], ok
