"""The bwrap backend's seccomp filter: the syscalls Docker's default profile refuses, refused here too.

Docker's default profile (moby/profiles/seccomp) is an allow-list whose practical effect, for a process with no
capabilities, is to refuse the kernel's most exposed interfaces: other namespaces (unshare, setns, clone with a
CLONE_NEW* flag, clone3 whose flags a filter cannot read), mounts and the new mount API, ptrace and cross-process
memory access, kernel keyrings, bpf, perf events, userfaultfd, io_uring, modules, kexec, clocks, swap, reboot,
quotas, NUMA policy, handle-based opens, the syslog, and personalities other than the usual ones. This module
builds a classic-BPF program with that deny-list (each refused call fails with EPERM; clone3 with ENOSYS so that
libc falls back to clone, whose flags are checked; a syscall of another ABI, i386 or x32, kills the process) and
hands it to bwrap on a file descriptor (`bwrap --seccomp FD`), which installs it right before it executes the
executor, so that the executor and every program it starts run under it.

Why hand-written: no maintained libseccomp binding installs from PyPI (pyseccomp's last release is from 2021),
and the program is small: a straight list of comparisons, built and checked by tests/sandbox/test_seccomp.py.
Only x86_64 is built in (the machines this project runs on); elsewhere seccomp_filter() raises and the bwrap
backend says so (BwrapConfig(seccomp=False) runs without a filter).
"""

from __future__ import annotations

import errno
import platform
import struct
from dataclasses import dataclass

from ..executor.warm_server import memfd_holding

# classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h)
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_JSET_K = 0x45
BPF_RET_K = 0x06
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
OFF_NR, OFF_ARCH, OFF_ARG0_LO = 0, 4, 16  # struct seccomp_data

# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
# the personalities Docker's profile lets through: PER_LINUX, UNAME26, ADDR_NO_RANDOMIZE (with PER_LINUX), query
ALLOWED_PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)

#: x86_64 numbers of the refused syscalls (arch/x86/entry/syscalls/syscall_64.tbl)
DENIED_X86_64: dict[str, int] = {
    "ptrace": 101,
    "syslog": 103,
    "uselib": 134,
    "ustat": 136,
    "sysfs": 139,
    "vhangup": 153,
    "pivot_root": 155,
    "_sysctl": 156,
    "chroot": 161,
    "acct": 163,
    "settimeofday": 164,
    "mount": 165,
    "umount2": 166,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "sethostname": 170,
    "setdomainname": 171,
    "iopl": 172,
    "ioperm": 173,
    "create_module": 174,
    "init_module": 175,
    "delete_module": 176,
    "get_kernel_syms": 177,
    "query_module": 178,
    "quotactl": 179,
    "nfsservctl": 180,
    "lookup_dcookie": 212,
    "clock_settime": 227,
    "mbind": 237,
    "set_mempolicy": 238,
    "get_mempolicy": 239,
    "kexec_load": 246,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "unshare": 272,
    "move_pages": 279,
    "perf_event_open": 298,
    "fanotify_init": 300,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "clock_adjtime": 305,
    "setns": 308,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "kcmp": 312,
    "finit_module": 313,
    "kexec_file_load": 320,
    "bpf": 321,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "pidfd_getfd": 438,
    "mount_setattr": 442,
    "quotactl_fd": 443,
    "set_mempolicy_home_node": 450,
}
NR_X86_64 = {"clone": 56, "personality": 135, "clone3": 435}


class SeccompUnsupported(RuntimeError):
    """No filter is built in for this machine's architecture."""


@dataclass(frozen=True)
class Insn:
    code: int
    jt: int
    jf: int
    k: int

    def pack(self) -> bytes:
        return struct.pack("=HBBI", self.code, self.jt, self.jf, self.k)  # struct sock_filter


class _Program:
    """Straight-line BPF with forward jumps to named labels (resolved in build())."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str | int, str | int, int] | str] = []

    def label(self, name: str) -> None:
        self.items.append(name)

    def op(self, code: int, k: int, jt: str | int = 0, jf: str | int = 0) -> None:
        self.items.append((code, jt, jf, k))

    def build(self) -> list[Insn]:
        where: dict[str, int] = {}
        n = 0
        for it in self.items:
            if isinstance(it, str):
                where[it] = n
            else:
                n += 1
        out: list[Insn] = []
        for it in self.items:
            if isinstance(it, str):
                continue
            code, jt, jf, k = it
            pc = len(out)

            def rel(target: str | int, pc: int = pc) -> int:
                if isinstance(target, int):
                    return target
                off = where[target] - pc - 1
                if not 0 <= off <= 255:
                    raise ValueError(f"jump to {target} out of range ({off})")
                return off

            out.append(Insn(code, rel(jt), rel(jf), k))
        return out


def build_x86_64() -> list[Insn]:
    p = _Program()
    p.op(BPF_LD_W_ABS, OFF_ARCH)
    p.op(BPF_JEQ_K, AUDIT_ARCH_X86_64, jt=0, jf="kill")  # i386 (int 0x80) has another table: never allowed
    p.op(BPF_LD_W_ABS, OFF_NR)
    p.op(BPF_JGE_K, X32_SYSCALL_BIT, jt="kill", jf=0)  # the x32 ABI: same story
    for nr in sorted(DENIED_X86_64.values()):
        p.op(BPF_JEQ_K, nr, jt="eperm")
    p.op(BPF_JEQ_K, NR_X86_64["clone3"], jt="enosys")
    p.op(BPF_JEQ_K, NR_X86_64["clone"], jt="clone")
    p.op(BPF_JEQ_K, NR_X86_64["personality"], jt="personality")
    p.op(BPF_RET_K, RET_ALLOW)
    p.label("clone")  # clone(flags, ...): a new namespace is refused, threads and fork pass
    p.op(BPF_LD_W_ABS, OFF_ARG0_LO)
    p.op(BPF_JSET_K, CLONE_NAMESPACE_FLAGS, jt="eperm", jf=0)
    p.op(BPF_RET_K, RET_ALLOW)
    p.label("personality")
    p.op(BPF_LD_W_ABS, OFF_ARG0_LO)
    for persona in ALLOWED_PERSONALITIES:
        p.op(BPF_JEQ_K, persona, jt="allow")
    p.label("eperm")
    p.op(BPF_RET_K, RET_ERRNO | errno.EPERM)
    p.label("allow")
    p.op(BPF_RET_K, RET_ALLOW)
    p.label("enosys")
    p.op(BPF_RET_K, RET_ERRNO | errno.ENOSYS)
    p.label("kill")
    p.op(BPF_RET_K, RET_KILL_PROCESS)
    return p.build()


def seccomp_filter(machine: str | None = None) -> bytes:
    """The filter as bwrap reads it: the packed sock_filter array (what seccomp_export_bpf writes)."""
    m = machine or platform.machine()
    if m not in ("x86_64", "amd64"):
        raise SeccompUnsupported(
            f"no seccomp filter is built in for {m}: run bwrap without one (BwrapConfig(seccomp=False)) or use the "
            "docker backend"
        )
    return b"".join(i.pack() for i in build_x86_64())


def filter_fd(program: bytes) -> int:
    """A file descriptor holding the filter at offset 0, for `bwrap --seccomp FD` (inheritable: pass_fds)."""
    return memfd_holding("arbiter-seccomp", program, cloexec=False)
