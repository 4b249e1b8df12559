"""C++17 with g++ -O2, linked against libm; a big stack for deep recursion (competitive programs)."""

from __future__ import annotations

import os

from ..kinds.base import TestKind
from ..settings import Settings
from .base import Language


class Cpp(Language):
    name = "cpp"
    source_name = "main.cpp"
    compiled = True
    big_stack = True
    oom_markers = ("std::bad_alloc",)
    compiler = "/usr/bin/g++"
    flags = ("-O2", "-std=c++17", "-pipe")

    def compile_argv(self, src: str, build_dir: str) -> list[str]:
        return [self.compiler, *self.flags, "-o", os.path.join(build_dir, "main"), src, "-lm"]

    def run_argv(self, src: str, build_dir: str, cfg: Settings, kind: TestKind, memory_mb: int) -> list[str] | None:
        return [os.path.join(build_dir, "main")]
