"""The one owner of verdict codes and of their priority.

A test's verdict is the first of VERDICT_PRIORITY whose condition holds for the finished process (a program that
floods its output and also runs out of time is OLE; one that runs out of memory and then crashes is MLE). Inside
the boundary a program that ran to completion is `OK` (RAN_OK): whether that is AC or WA is decided by the judge
in the service (sandbox/judge.py), which never lets expected outputs into the sandbox. Only the assert harness
may report AC or WA itself, after it saw the test's own end.
"""

from __future__ import annotations

import enum
import os
import signal
from dataclasses import dataclass
from typing import Literal


class Verdict(enum.StrEnum):
    AC = "AC"  # accepted
    WA = "WA"  # wrong answer (the judge's comparison, or an assert test that did not complete)
    TLE = "TLE"  # CPU time (the verdict's clock) or the wall-clock cap
    MLE = "MLE"  # memory limit
    RE = "RE"  # runtime error: non-zero exit or a signal
    OLE = "OLE"  # output limit (captured stdout cap, or RLIMIT_FSIZE)
    CE = "CE"  # compile error: no test ran
    SE = "SE"  # sandbox error: the boundary failed, never the program's fault (retried once)
    SKIP = "SKIP"  # not run: an earlier test of the job failed and the job asked to stop there


#: "ran to completion" inside the sandbox: not a verdict yet (the judge decides AC or WA).
RanOK = Literal["OK"]
RAN_OK: RanOK = "OK"
VERDICTS: tuple[Verdict, ...] = tuple(Verdict)

#: Classification order of a finished process: the first that applies wins.
VERDICT_PRIORITY: tuple[Verdict, ...] = (Verdict.SE, Verdict.OLE, Verdict.TLE, Verdict.MLE, Verdict.RE)


@dataclass
class Finished:
    """What the supervisor saw of one process (see process.py)."""

    pid: int
    status: int
    cpu_s: float
    wall_s: float
    stdout: bytes
    stderr: bytes
    result: bytes  # the harness's report pipe (call / assert tests)
    ole: bool  # captured stdout passed its cap
    truncated: bool
    killed_wall: bool
    maxrss_mb: float
    setup_error: str = ""  # the sandbox failed to start the program

    @property
    def exit_code(self) -> int | None:
        return os.WEXITSTATUS(self.status) if os.WIFEXITED(self.status) else None

    @property
    def signal(self) -> int | None:
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else None


def _conditions(
    r: Finished, cpu_limit_s: float, memory_mb: float, stderr_tail: str, oom_markers: tuple[str, ...]
) -> dict[Verdict, bool]:
    sig, code = r.signal, r.exit_code
    failed = code not in (0, None) or sig is not None
    return {
        Verdict.SE: bool(r.setup_error),
        Verdict.OLE: r.ole or sig == signal.SIGXFSZ,
        Verdict.TLE: r.killed_wall
        or sig == signal.SIGXCPU
        or r.cpu_s > cpu_limit_s
        or (sig == signal.SIGKILL and r.cpu_s >= cpu_limit_s * 0.95),
        # a runtime's own out-of-memory message, or a crash at the limit (a C program whose malloc failed, the
        # cgroup's OOM kill)
        Verdict.MLE: failed and (any(m in stderr_tail for m in oom_markers) or r.maxrss_mb >= memory_mb * 0.9),
        Verdict.RE: failed,
    }


def classify(r: Finished, cpu_limit_s: float, memory_mb: float, oom_markers: tuple[str, ...] = ()) -> Verdict | RanOK:
    """The verdict of a finished process under its limits. oom_markers: what the language's runtime prints when
    an allocation fails (its module says), since many runtimes exit with a plain error status then."""
    stderr_tail = r.stderr[-4000:].decode("utf-8", "replace")
    holds = _conditions(r, cpu_limit_s, memory_mb, stderr_tail, oom_markers)
    for verdict in VERDICT_PRIORITY:
        if holds[verdict]:
            return verdict
    return RAN_OK
