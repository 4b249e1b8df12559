"""Python 3: runs in the worker's warm interpreter (fork per test, `python3 file.py` semantics), or as
`python3 file.py` per test with python_mode=exec. The only language with call-based tests."""

from __future__ import annotations

from typing import ClassVar

from ..kinds.base import TestKind
from ..settings import Settings
from .base import Language


class Python(Language):
    name = "python"
    source_name = "main.py"
    kinds: ClassVar[frozenset[TestKind]] = frozenset({"stdio", "call", "assert"})
    oom_markers = ("MemoryError",)

    def run_argv(self, src: str, build_dir: str, cfg: Settings, kind: TestKind, memory_mb: int) -> list[str] | None:
        # call and assert tests need the in-process harness; stdio tests may exec a fresh interpreter
        if cfg.python_mode == "exec" and kind == "stdio":
            return [cfg.python, src]
        return None
