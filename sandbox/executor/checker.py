"""Custom checkers (special judges) in the testlib calling convention, run inside the sandbox but never in the
program's process: `checker <input> <output> <answer>`; exit 0 = AC, 1 = WA, 2 = presentation error (WA here,
noted); a number in [0, 1] as the first token of its stdout is the test's score (partial credit). Any other exit
(testlib's _fail is 3) means the checker itself failed: the reference's fault, reported as reference_error.

The checker runs under the judge's uid (Settings.judge_uid), from a directory only that uid can read, so the
program (another uid, and already gone when the checker starts) never sees the expected answers. C++ checkers are
compiled once per job with g++ -O2 -std=c++17; `#include "testlib.h"` works where testlib.h is on g++'s include
path (/usr/local/include: see docs/code.md).
"""

from __future__ import annotations

import os
from typing import Any

from .cleanup import Cleaner
from .limits import ChildLimits
from .process import ProcessRunner
from .settings import Settings

CHECKER_OUTPUT_CAP = 64 * 1024
SOURCE_NAMES = {"python": "checker.py", "cpp": "checker.cpp"}


class _AsJudge:
    """Settings seen by the checker's processes: the judge's uid instead of the program's."""

    def __init__(self, cfg: Settings) -> None:
        self.__dict__.update(cfg.__dict__)
        self.uid = cfg.judge_uid
        self.gid = cfg.judge_uid


class Checker:
    what = "checker"

    def __init__(self, cfg: Settings, spec: dict[str, Any], jobdir: str) -> None:
        self.cfg = cfg
        self.language = str(spec.get("language") or "python")
        if self.language not in SOURCE_NAMES:
            raise ValueError("%s language must be python or cpp, not %r" % (self.what, self.language))
        self.judge = _AsJudge(cfg)
        self.runner = ProcessRunner(self.judge)  # type: ignore[arg-type]
        self.dir = os.path.join(jobdir, "judge-" + self.what)
        Cleaner(self.judge).mkdir_for_user(self.dir, 0o700)  # type: ignore[arg-type]
        self.source = os.path.join(self.dir, SOURCE_NAMES[self.language].replace("checker", self.what))
        with open(self.source, "w", encoding="utf-8") as f:
            f.write(str(spec.get("source") or ""))
        if cfg.switch_user:
            os.chown(self.source, cfg.judge_uid, cfg.judge_uid)
        self.argv = [cfg.python, self.source] if self.language == "python" else [os.path.join(self.dir, self.what)]
        self.error: str | None = None

    def prepare(self, compile_limits: dict[str, Any]) -> None:
        """Compile a C++ checker; a compile error is the reference's (self.error), never the program's."""
        if self.language != "cpp":
            return
        r = self.runner.run(
            ["/usr/bin/g++", "-O2", "-std=c++17", "-pipe", "-o", self.argv[0], self.source],
            cwd=self.dir,
            limits=ChildLimits(
                cpu_s=float(compile_limits.get("cpu_s", 20.0)),
                memory_mb=int(compile_limits.get("memory_mb", 2048)),
                max_processes=0,
                file_size_mb=256,
                open_files=256,
            ),
            stdin_data=b"",
            wall_s=float(compile_limits.get("wall_s", 30.0)),
            max_out=CHECKER_OUTPUT_CAP,
            stderr_cap=CHECKER_OUTPUT_CAP,
        )
        if r.exit_code != 0:
            self.error = (
                "the %s does not compile: " % self.what + (r.stderr + r.stdout).decode("utf-8", "replace")[-2000:]
            )

    def check(self, outcome: dict[str, Any], test_input: str, answer: str, index: int) -> dict[str, Any]:
        """Judge one test that ran to completion: sets verdict AC / WA (and score), or reference_error."""
        if self.error is not None:
            outcome["reference_error"] = self.error
            outcome["verdict"] = "WA"
            return outcome
        names = {}
        for what, text in (("input", test_input), ("output", outcome["stdout"]), ("answer", answer)):
            names[what] = os.path.join(self.dir, "%s%d.txt" % (what, index))
            with open(names[what], "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(text)
            if self.cfg.switch_user:
                os.chown(names[what], self.cfg.judge_uid, self.cfg.judge_uid)
        try:
            r = self.runner.run(
                [*self.argv, names["input"], names["output"], names["answer"]],
                cwd=self.dir,
                limits=ChildLimits(cpu_s=10.0, memory_mb=1024, max_processes=0, file_size_mb=16, open_files=64),
                stdin_data=b"",
                wall_s=20.0,
                max_out=CHECKER_OUTPUT_CAP,
                stderr_cap=CHECKER_OUTPUT_CAP,
            )
        finally:
            for path in names.values():
                try:
                    os.unlink(path)
                except OSError:
                    pass
        message = (r.stderr or r.stdout).decode("utf-8", "replace").strip()[:2000]
        if r.exit_code in (0, 1, 2):
            outcome["verdict"] = "AC" if r.exit_code == 0 else "WA"
            outcome["checker_message"] = ("presentation error: " if r.exit_code == 2 else "") + message
            score = _score(r.stdout)
            outcome["score"] = score if score is not None else (1.0 if r.exit_code == 0 else 0.0)
            if r.exit_code != 0:
                outcome["score"] = 0.0 if score is None else score
            return outcome
        outcome["verdict"] = "WA"
        how = "exit %s" % r.exit_code if r.exit_code is not None else "signal %s" % r.signal
        outcome["reference_error"] = "the checker failed (%s): %s" % (how, message)
        return outcome


def _score(stdout: bytes) -> float | None:
    first = stdout.split(None, 1)[:1]
    if not first:
        return None
    try:
        v = float(first[0])
    except ValueError:
        return None
    return v if 0.0 <= v <= 1.0 else None
