"""Assert-style tests (HumanEval check(candidate), MBPP asserts, KodCode test_* functions, BigCodeBench TestCases),
judged outside the program's process.

Two processes per test: the CANDIDATE (candidate.run_program under the program's uid and the test's limits,
holding nothing but the program: forked by the zygote, which never held a job, or with python_mode=exec a fresh
interpreter running candidate.py) and the HARNESS (pyharness.run_assert_harness, forked from the executor under
the judge's uid, undumpable; it runs no program code), which runs the test code and reaches the program only
through plain-data calls over two pipes. Only the harness's report decides the verdict: AC when the test ran to
its end, WA otherwise. The program's exit status, patched builtins, objects with a rigged __eq__, frame / gc /
bytecode inspection of its own process or reads of the harness's /proc files gain nothing: the test, its expected
values and the judge are in a process the program cannot see.

Compiled languages (HumanEval-X) build the test into the program instead (languages/base.py assert_sources):
their harness reports the test's nonce on fd 3 after the test's own end (finish below).

Verdicts: the candidate's own TLE / MLE / OLE / SE stand (its limits are the test's); a test that did not run to
its end is WA unless the candidate crashed (RE). A test code that cannot run at all (does not compile, defines no
check) is reported as reference_error: the item's error, never the program's wrong answer.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

from ..candidate import REPLY_FD, REQUEST_FD
from ..harness_zygote import REPORT_FD, become_harness, harness_limits
from ..limits import ChildLimits
from ..verdicts import RAN_OK, Finished, Verdict, classify
from ..zygote import undumpable
from .base import Kind, note

if TYPE_CHECKING:
    from ..main import Executor

CANDIDATE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "candidate.py")
REPORT_CAP = 64 * 1024
HARNESS_GRACE_S = 2.0  # after the candidate is gone, how long the harness has to write its report


class Assert(Kind):
    name = "assert"
    # compiled languages (HumanEval-X) build the test into the program: their harness reports the nonce on fd 3
    result_pipe = True
    needs_nonce = True
    own_run_languages = frozenset({"python"})

    def finish(self, outcome: dict[str, Any], finished: Finished, nonce: bytes | None) -> dict[str, Any]:
        """A compiled language's assert build: AC only when the harness reported the nonce after the test's end."""
        rep = self.report(finished)
        if (
            nonce is None
            or not isinstance(rep, dict)
            or rep.get("ok") is not True
            or rep.get("nonce") != nonce.decode()
        ):
            outcome["verdict"] = Verdict.WA
            note(outcome, "the test did not run to its end (check(candidate) did not complete)")
        else:
            outcome["verdict"] = Verdict.AC
        return outcome

    def run(
        self, ex: Executor, job: dict[str, Any], test: Any, src: str, cwd: str, limits: ChildLimits
    ) -> tuple[dict[str, Any], int]:
        """Run one Python assert test; returns the outcome and the candidate's process group (for the cleanup)."""
        done = self._run(ex, job, str(test), src, cwd, limits, direct=False)
        if done is None:  # the harness zygote was lost during the test: the test again, its harness forked here
            done = self._run(ex, job, str(test), src, cwd, limits, direct=True)
        assert done is not None
        return done

    def _run(
        self, ex: Executor, job: dict[str, Any], test: str, src: str, cwd: str, limits: ChildLimits, direct: bool
    ) -> tuple[dict[str, Any], int] | None:
        lim = job.get("limits") or {}
        cpu = float(lim.get("cpu_s", 2.0))
        memory_mb = int(lim.get("memory_mb", 256))
        wall = float(lim.get("wall_s") or (2 * cpu + 1))
        max_out = int(lim.get("max_output_bytes", 1 << 20))
        entry_point = str(job.get("entry_point") or "")
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        res_r, res_w = os.pipe()
        hlimits = harness_limits(lim)
        hpid = 0
        pending = False  # a fork asked of the harness zygote whose pid is not read yet
        if not direct:
            try:
                # the harness zygote forks it while the candidate starts: its pid is collected after the run
                ex.harnesses.request(hlimits, (req_w, rep_r, res_w), {"test": test, "entry_point": entry_point})
                pending = True
            except OSError as e:  # HarnessZygoteLost, or no fork / socket for a fresh one
                _lost(ex, e)
                direct = True
        if direct:
            hpid = _fork_harness(ex, hlimits, test, entry_point, req_w, rep_r, res_w)
            ex.helpers.add(hpid)
        for fd in (req_w, rep_r, res_w):
            os.close(fd)
        try:
            if ex.cfg.python_mode == "exec":
                runner = _candidate_script(os.path.dirname(src))
                argv: list[str] | None = [ex.cfg.python, "-I", "-B", runner, src]
                python_child = None
            else:
                # forked by the zygote, which never held a job: the candidate's memory holds the program only
                argv, python_child = None, {"role": "candidate", "src": src}
            r = ex.runner.run(
                argv,
                cwd=cwd,
                limits=limits,
                stdin_data=b"",
                wall_s=wall,
                max_out=max_out,
                env={"PYTHONDONTWRITEBYTECODE": "1"},
                python_child=python_child,
                extra_fds={REQUEST_FD: req_r, REPLY_FD: rep_w},
            )
            if not hpid:
                try:
                    pending, hpid = False, ex.harnesses.forked()
                except OSError as e:
                    _lost(ex, e)
                    ex.cleaner.kill_all(r.pid or None)
                    return None
                ex.helpers.add(hpid)
            got = _Report(res_r)
            got.read(0.0)  # the usual case: the harness reported and closed its pipe before the candidate ended
            if not got.complete:
                # every process of the candidate gone: a harness still waiting for a reply sees the end of its
                # pipe (run_test's cleanup after this kills them again, and removes the files)
                ex.cleaner.kill_all(r.pid or None)
                got.read(HARNESS_GRACE_S)
            report = got.value()
        finally:
            os.close(res_r)
            if pending:  # the run failed before the pid was read: its answer must not be taken for the next one's
                ex.harnesses.close()
            if hpid:
                ex.helpers.discard(hpid)
                if direct:
                    _kill_harness(hpid)
                else:
                    ex.harnesses.end(hpid)
        return self.verdict(r, report, cpu, memory_mb), r.pid

    @staticmethod
    def verdict(r: Finished, report: Any, cpu: float, memory_mb: int) -> dict[str, Any]:
        v = classify(r, cpu, memory_mb, ("MemoryError",))
        out: dict[str, Any] = {
            "verdict": v,
            "cpu_s": round(r.cpu_s, 4),
            "wall_s": round(r.wall_s, 4),
            "exit_code": r.exit_code,
            "signal": r.signal,
            "stdout": r.stdout.decode("utf-8", "replace"),
            "stderr": "arbiter: " + r.setup_error if v == Verdict.SE else r.stderr.decode("utf-8", "replace"),
            "return_value": None,
            "truncated": r.truncated,
        }
        ok = isinstance(report, dict) and report.get("ok") is True
        if isinstance(report, dict) and isinstance(report.get("reference_error"), str):
            out["verdict"] = Verdict.WA
            out["reference_error"] = report["reference_error"][:4000]
            return out
        if v in (Verdict.SE, Verdict.OLE, Verdict.TLE, Verdict.MLE):
            return out  # the program's limits: they stand whatever the harness saw
        if ok:
            out["verdict"] = Verdict.AC
            return out
        why = report.get("why") if isinstance(report, dict) else None
        if v == RAN_OK:
            out["verdict"] = Verdict.WA
        note(out, "test failed: %s" % (why or "the test did not run to its end"))
        return out


def _candidate_script(jobdir: str) -> str:
    """candidate.py copied beside the program (root-owned, read-only to the program): the executor's own directory
    need not be readable by the program's uid (bwrap creates the parents of its binds 0700)."""
    path = os.path.join(jobdir, "arbiter_candidate.py")
    if not os.path.exists(path):
        with open(CANDIDATE, "rb") as f, open(path, "wb") as g:
            g.write(f.read())
        os.chmod(path, 0o644)
    return path


def _lost(ex: Executor, e: OSError) -> None:
    """The harness zygote is gone: the next test starts a fresh one (HarnessZygote.request)."""
    print("arbiter executor: the harness zygote was lost (%s); forking this test's harness itself" % e, file=sys.stderr)
    ex.harnesses.close()


def _fork_harness(
    ex: Executor, limits: ChildLimits, test: str, entry_point: str, req_w: int, rep_r: int, res_w: int
) -> int:
    """The harness forked from the executor itself: only when the harness zygote cannot be started."""
    from ..pyharness import run_assert_harness

    pid = os.fork()
    if pid == 0:
        try:
            become_harness(ex.cfg, limits, (req_w, rep_r, res_w), undumpable)
        except BaseException:
            os._exit(127)
        run_assert_harness(test, entry_point, REPORT_FD)
        os._exit(127)
    return pid


class _Report:
    """The harness's report as it arrives on its pipe: complete once the harness closed it (end of file)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.chunks: list[bytes] = []
        self.size = 0
        self.complete = False

    def read(self, grace_s: float) -> None:
        """Read what arrives within grace_s (0: only what is there already), until end of file or the cap."""
        deadline = time.monotonic() + grace_s
        while not self.complete and self.size < REPORT_CAP:
            left = max(0.0, deadline - time.monotonic())
            if not select.select([self.fd], [], [], left)[0]:
                return
            data = os.read(self.fd, 65536)
            if not data:
                self.complete = True
                return
            self.chunks.append(data)
            self.size += len(data)

    def value(self) -> Any:
        try:
            return json.loads(b"".join(self.chunks).decode("utf-8", "replace"))
        except ValueError:
            return None


def _kill_harness(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except OSError:
            pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
