"""The executor's command line (set by the backends): who runs programs, where, and with which Python."""

from __future__ import annotations

import os
import sys


class Settings:
    def __init__(self, argv: list[str]) -> None:
        self.argv = list(argv)  # handed on to the zygote (zygote.py), which parses the same settings
        uid: int | None = None
        gid: int | None = None
        judge_uid: int | None = None
        self.workroot = "/tmp"
        self.python = sys.executable or "/usr/bin/python3"
        self.python_mode = "fork"  # or "exec": run `python3 file.py` per test (slower, exact)
        self.private_pidns = False
        it = iter(argv)
        for a in it:
            if a == "--uid":
                uid = int(next(it))
            elif a == "--gid":
                gid = int(next(it))
            elif a == "--workroot":
                self.workroot = next(it)
            elif a == "--python":
                self.python = next(it)
            elif a == "--python-mode":
                self.python_mode = next(it)
            elif a == "--judge-uid":
                judge_uid = int(next(it))
            elif a == "--private-pidns":
                self.private_pidns = True
        env_uid = os.environ.get("ARBITER_SANDBOX_UID")
        if uid is None and env_uid:
            uid = int(env_uid)
        self.is_root = os.geteuid() == 0
        if self.is_root:
            self.uid: int = 65534 if uid is None else uid
            self.gid: int = self.uid if gid is None else gid
        else:  # cannot switch users: run as is; cleanup relies on the process group and the private pid ns
            self.uid = os.getuid()
            self.gid = os.getgid()
        self.switch_user = self.is_root and self.uid != 0
        # The test side of assert tests (pyharness.run_assert_harness) runs under a uid of its own, so that the
        # program (self.uid) can neither signal, ptrace nor read the /proc files of the process holding the test.
        # Without root there is one uid: the harness makes itself undumpable instead.
        self.judge_uid: int = (
            (judge_uid if judge_uid is not None else self.uid + 100000) if self.switch_user else self.uid
        )
