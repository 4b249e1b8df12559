"""Python 3: runs in the worker's warm interpreter (fork per test, `python3 file.py` semantics), or as
`python3 file.py` per test with python_mode=exec. The only language with call-based tests; its assert tests are
HumanEval's `check(candidate)`, run by the in-process harness (pyharness.py)."""

from __future__ import annotations

import os
from typing import ClassVar

from ..kinds.base import TestKind
from ..settings import Settings
from .base import Build, Language


class Python(Language):
    name = "python"
    source_name = "main.py"
    kinds: ClassVar[frozenset[TestKind]] = frozenset({"stdio", "call", "assert"})
    toolchain = "/usr/bin/python3"
    version_argv = ("/usr/bin/python3", "--version")
    install_hint = "apt-get install -y python3"
    oom_markers = ("MemoryError",)

    def prepare(self, src_dir: str, build_dir: str, source: str) -> Build:
        build = self._write(src_dir, build_dir, {self.source_name: source}, entry="")
        build.entry = os.path.join(src_dir, self.source_name)
        return build

    def builds_per_test(self, kind: TestKind) -> bool:
        return False  # check(candidate) runs in the in-process harness (pyharness.py)

    def run_argv(self, build: Build, cfg: Settings, kind: TestKind, memory_mb: int) -> list[str] | None:
        # call and assert tests need the in-process harness; stdio tests may exec a fresh interpreter
        if cfg.python_mode == "exec" and kind == "stdio":
            return [cfg.python, build.entry]
        return None
