"""C17 with gcc -O2, linked against libm; a big stack for deep recursion."""

from __future__ import annotations

import os

from ..kinds.base import TestKind
from .base import Build, Language, c_family_assert, c_family_combined


class C(Language):
    name = "c"
    source_name = "main.c"
    compiled = True
    big_stack = True
    toolchain = "/usr/bin/gcc"
    version_argv = ("/usr/bin/gcc", "--version")
    install_hint = "apt-get install -y gcc"
    flags = ("-O2", "-std=c17", "-pipe")
    # combined assert builds: C has no namespaces, so two tests defining one helper fall back to a build per test
    namespaced_tests = False

    def compile_argv(self, build: Build, kind: TestKind) -> list[str]:
        return [self.toolchain, *self.flags, "-o", os.path.join(build.build_dir, "main"), build.main_source, "-lm"]

    def assert_sources(self, source: str, test_code: str) -> dict[str, str]:
        return {self.source_name: c_family_assert(source, test_code)}

    combines_asserts = True

    def combined_sources(self, source: str, tests: list[str]) -> tuple[dict[str, str], list[list[str]]]:
        program, args = c_family_combined(source, tests, namespaces=self.namespaced_tests)
        return {self.source_name: program}, args
