"""Interactive problems: an interactor program connected to the program's stdin and stdout (testlib convention:
`interactor <input> <output>`; it reads the test's input from the file, talks with the program through its
stdin/stdout, exits 0 = AC, 1 = WA, 2 = presentation error; any other exit is its own failure: reference_error).

The interactor runs under the judge's uid with limits of its own (checker.py's directory and compilation); the
program keeps the test's limits, so its TLE / MLE / OLE stand whatever the interactor saw, and a program that
crashes after a correct dialogue is RE. An interactor that says WA wins over a program that then crashes (it
usually crashes because the interactor hung up on it).
"""

from __future__ import annotations

import os
import select
import signal
import time
from typing import Any

from .checker import Checker
from .limits import ChildLimits, child_setup
from .verdicts import Finished, Verdict

INTERACTOR_LIMITS = ChildLimits(cpu_s=10.0, memory_mb=1024, max_processes=0, file_size_mb=16, open_files=64)
GRACE_S = 2.0  # how long the interactor may run on after the program is gone


class Interactor(Checker):
    what = "interactor"

    def start(self, test_input: str, index: int) -> Dialogue:
        """Fork the interactor for one test; returns the dialogue (the fds the program gets, the process)."""
        inp = os.path.join(self.dir, "input%d.txt" % index)
        out = os.path.join(self.dir, "output%d.txt" % index)
        with open(inp, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(test_input)
        if self.cfg.switch_user:
            os.chown(inp, self.cfg.judge_uid, self.cfg.judge_uid)
        to_prog_r, to_prog_w = os.pipe()  # interactor stdout -> program stdin
        from_prog_r, from_prog_w = os.pipe()  # program stdout -> interactor stdin
        err_r, err_w = os.pipe()
        argv = [*self.argv, inp, out]
        pid = os.fork()
        if pid == 0:
            try:
                given = {0: from_prog_r, 1: to_prog_w, 2: err_w}
                fds = {t: os.dup(s) if s < 10 else s for t, s in given.items()}
                child_setup(self.judge, INTERACTOR_LIMITS, fds, self.dir)  # type: ignore[arg-type]
                os.execve(argv[0], argv, {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": self.dir})
            except BaseException:
                os._exit(127)
        for fd in (from_prog_r, to_prog_w, err_w):
            os.close(fd)
        return Dialogue(pid, {0: to_prog_r, 1: from_prog_w}, err_r, [inp, out])


class Dialogue:
    def __init__(self, pid: int, program_fds: dict[int, int], err_r: int, files: list[str]) -> None:
        self.pid = pid
        self.program_fds = program_fds  # handed to the program's process (ProcessRunner closes ours)
        self.err_r = err_r
        self.files = files

    def finish(self, outcome: dict[str, Any], r: Finished) -> dict[str, Any]:
        status = self._wait(GRACE_S)
        err = self._stderr()
        for path in self.files:
            try:
                os.unlink(path)
            except OSError:
                pass
        if outcome["verdict"] in (Verdict.SE, Verdict.TLE, Verdict.MLE, Verdict.OLE):
            return outcome
        code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None
        outcome["checker_message"] = err
        if code in (1, 2):
            outcome["verdict"] = Verdict.WA
            if code == 2:
                outcome["checker_message"] = "presentation error: " + err
            return outcome
        if code != 0:
            how = "did not finish" if status is None else "exit %s" % code if code is not None else "killed"
            outcome["verdict"] = Verdict.WA
            outcome["reference_error"] = "the interactor failed (%s): %s" % (how, err)
            return outcome
        outcome["verdict"] = Verdict.RE if outcome["verdict"] == Verdict.RE else Verdict.AC
        return outcome

    def _wait(self, grace_s: float) -> int | None:
        deadline = time.monotonic() + grace_s
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                return status
            if time.monotonic() >= deadline:
                break
            time.sleep(0.005)
        for kill in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                kill()
            except OSError:
                pass
        os.waitpid(self.pid, 0)
        return None

    def _stderr(self) -> str:
        chunks: list[bytes] = []
        size = 0
        os.set_blocking(self.err_r, False)
        try:
            while size < 8192 and select.select([self.err_r], [], [], 0)[0]:
                data = os.read(self.err_r, 65536)
                if not data:
                    break
                chunks.append(data)
                size += len(data)
        except OSError:
            pass
        finally:
            os.close(self.err_r)
        return b"".join(chunks).decode("utf-8", "replace").strip()[:2000]
