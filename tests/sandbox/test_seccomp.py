"""Issue 11, item 8: the bwrap backend runs everything under a seccomp filter in the spirit of Docker's default
profile (sandbox/backends/seccomp.py). The filter is checked twice: by a small classic-BPF interpreter here (every
refused call, the argument checks, the other ABIs), and for real inside the sandbox, where the same program gets
EPERM with the filter and succeeds without it (so the test would fail if the filter were not applied)."""

from __future__ import annotations

import errno
import struct

import pytest
from sbx_helpers import unavailable

from sandbox import BackendUnavailable, PoolConfig, RunRequest, SandboxPool
from sandbox.backends import seccomp as sc

X86_64 = sc.AUDIT_ARCH_X86_64
I386 = 0x40000003
THREAD_FLAGS = 0x003D0F00  # what glibc's pthread_create passes to clone
FORK_FLAGS = 0x01200011  # CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD


def run_bpf(program: bytes, nr: int, arch: int = X86_64, args: tuple[int, ...] = ()) -> int:
    """Evaluate a seccomp cBPF program over one struct seccomp_data (the subset of BPF the builder emits)."""
    a6 = (list(args) + [0] * 6)[:6]
    data = struct.pack("=IIQ6Q", nr, arch, 0, *a6)
    insns = [struct.unpack("=HBBI", program[i : i + 8]) for i in range(0, len(program), 8)]
    acc, pc = 0, 0
    for _ in range(len(insns) + 1):
        code, jt, jf, k = insns[pc]
        if code == sc.BPF_LD_W_ABS:
            (acc,) = struct.unpack_from("=I", data, k)
            pc += 1
        elif code in (sc.BPF_JEQ_K, sc.BPF_JGE_K, sc.BPF_JSET_K):
            hit = {sc.BPF_JEQ_K: acc == k, sc.BPF_JGE_K: acc >= k, sc.BPF_JSET_K: bool(acc & k)}[code]
            pc += 1 + (jt if hit else jf)
        elif code == sc.BPF_RET_K:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")
    raise AssertionError("program does not terminate")


@pytest.fixture(scope="module")
def program() -> bytes:
    return sc.seccomp_filter("x86_64")


def test_program_is_a_packed_sock_filter_array(program):
    assert len(program) % 8 == 0 and 0 < len(program) // 8 <= 4096  # BPF_MAXINSNS


@pytest.mark.parametrize("name", sorted(sc.DENIED_X86_64))
def test_each_refused_syscall_fails_with_eperm(program, name):
    assert run_bpf(program, sc.DENIED_X86_64[name]) == sc.RET_ERRNO | errno.EPERM


@pytest.mark.parametrize("nr", [0, 1, 2, 9, 39, 57, 59, 60, 61, 231, 257, 262, 302, 319, 434])
def test_ordinary_syscalls_pass(program, nr):  # read write open mmap getpid fork execve exit wait4 ... pidfd_open
    assert run_bpf(program, nr) == sc.RET_ALLOW


def test_clone_is_checked_by_its_flags(program):
    clone = sc.NR_X86_64["clone"]
    assert run_bpf(program, clone, args=(THREAD_FLAGS,)) == sc.RET_ALLOW
    assert run_bpf(program, clone, args=(FORK_FLAGS,)) == sc.RET_ALLOW
    for flag in (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000):
        assert run_bpf(program, clone, args=(FORK_FLAGS | flag,)) == sc.RET_ERRNO | errno.EPERM, hex(flag)
    assert run_bpf(program, sc.NR_X86_64["clone3"]) == sc.RET_ERRNO | errno.ENOSYS  # libc falls back to clone


def test_personality_only_the_usual_ones(program):
    nr = sc.NR_X86_64["personality"]
    for p in sc.ALLOWED_PERSONALITIES:
        assert run_bpf(program, nr, args=(p,)) == sc.RET_ALLOW
    assert run_bpf(program, nr, args=(0x0040000,)) == sc.RET_ERRNO | errno.EPERM  # READ_IMPLIES_EXEC


def test_other_abis_are_killed(program):
    assert run_bpf(program, 39, arch=I386) == sc.RET_KILL_PROCESS
    assert run_bpf(program, 39 | sc.X32_SYSCALL_BIT) == sc.RET_KILL_PROCESS


def test_unsupported_architecture_says_what_to_do():
    with pytest.raises(sc.SeccompUnsupported, match="seccomp=False"):
        sc.seccomp_filter("riscv64")


# A program that calls refused syscalls directly (ctypes' syscall(), so no libc wrapper hides anything).
PROBE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *a):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(x) for x in a])
    return "ok" if r >= 0 else errno_name(ctypes.get_errno())
def errno_name(e):
    import errno
    return errno.errorcode.get(e, str(e))
print("unshare", call(272, 0x10000000))
print("clone_newns", call(56, 0x00020000 | 17, 0, 0, 0, 0))  # fork-like: the child goes on, prints as well
print("keyctl", call(250, 0, -1, 0))
print("getpid", call(39))
"""


async def _probe_output(seccomp: bool) -> dict[str, str]:
    from sandbox.backends.bwrap import BwrapBackend, BwrapConfig

    backend = BwrapBackend(BwrapConfig(seccomp=seccomp))
    await backend.probe()
    async with SandboxPool(backend, PoolConfig(size=1)) as pool:
        r = await pool.run(RunRequest.stdio(PROBE, [""], [""]))
    assert r.tests[0].verdict != "SE", r
    lines = [ln.split() for ln in r.tests[0].stdout.splitlines() if ln.strip()]
    return {ln[0]: ln[1] for ln in lines if len(ln) == 2}


async def test_forbidden_syscalls_fail_inside_the_bwrap_sandbox():
    try:
        on = await _probe_output(True)
    except BackendUnavailable as e:
        unavailable("bwrap", e)
    assert on == {"unshare": "EPERM", "clone_newns": "EPERM", "keyctl": "EPERM", "getpid": "ok"}, on
    off = await _probe_output(False)  # the same calls get past the kernel without the filter
    assert off["unshare"] == "ok" and off["clone_newns"] == "ok" and off["keyctl"] != "EPERM", off
