"""C++17 with g++ -O2, linked against libm; a big stack for deep recursion (competitive programs)."""

from __future__ import annotations

import os

from ..kinds.base import TestKind
from .base import Build, Language, c_family_assert, c_family_combined


class Cpp(Language):
    name = "cpp"
    source_name = "main.cpp"
    compiled = True
    big_stack = True
    oom_markers = ("std::bad_alloc",)
    toolchain = "/usr/bin/g++"
    version_argv = ("/usr/bin/g++", "--version")
    install_hint = "apt-get install -y g++"
    flags = ("-O2", "-std=c++17", "-pipe")

    def compile_argv(self, build: Build, kind: TestKind) -> list[str]:
        return [self.toolchain, *self.flags, "-o", os.path.join(build.build_dir, "main"), build.main_source, "-lm"]

    def assert_sources(self, source: str, test_code: str) -> dict[str, str]:
        return {self.source_name: c_family_assert(source, test_code)}

    combines_asserts = True

    def combined_sources(self, source: str, tests: list[str]) -> tuple[dict[str, str], list[list[str]]]:
        program, args = c_family_combined(source, tests, namespaces=True)
        return {self.source_name: program}, args
