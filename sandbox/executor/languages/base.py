"""What a language module declares. One subclass per language, one module per subclass (languages/<name>.py):
everything the executor needs to know about a language lives there and nowhere else.

A job's program is written into a build directory (prepare), compiled once when the language is compiled
(compile_argv, under the job's compile limits), then run once per test (run_argv). Assert-style tests of compiled
languages (HumanEval-X) are built from the program plus the test code and a small harness the language supplies
(assert_sources): the harness reports the test's nonce on fd 3 only after the test's own end, so a program that
exits early, even with status 0, does not pass.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import ClassVar

from ..frames import text_bytes
from ..kinds.base import TestKind
from ..settings import Settings

#: how a harness reads the test's nonce (fd 4) and reports it (fd 3), for runtimes that only open paths
NONCE_PATH = "/proc/self/fd/4"
REPORT_PATH = "/proc/self/fd/3"


@dataclass
class Build:
    """One program written out for building: its files, where the build goes, what runs."""

    src_dir: str
    build_dir: str
    files: list[str] = field(default_factory=list)  # names inside src_dir, the main source first
    entry: str = ""  # what run_argv starts (a binary, a class name, a script path)
    # a combined assert build (every test of the job in one program): the arguments that select test i
    test_args: list[list[str]] = field(default_factory=list)

    @property
    def main_source(self) -> str:
        return os.path.join(self.src_dir, self.files[0])


class Language:
    #: the name used in requests (reference.language) and in the registry
    name: ClassVar[str]
    #: the file the program's source is written to (some compilers care: Java's public class, Go's package)
    source_name: ClassVar[str]
    #: test kinds this language runs
    kinds: ClassVar[frozenset[TestKind]] = frozenset({"stdio", "assert"})
    #: compiled once per job before any test runs (compile errors are CE for every test)
    compiled: ClassVar[bool] = False
    #: the binary whose presence and version say whether this language is available
    toolchain: ClassVar[str]
    #: the command that prints the toolchain's version (first non-empty line of stdout/stderr is kept)
    version_argv: ClassVar[tuple[str, ...]]
    #: what to install when the toolchain is missing
    install_hint: ClassVar[str]
    #: compiler flags (part of the build cache key)
    flags: ClassVar[tuple[str, ...]] = ()
    #: files whose identity (real path, size, mtime) keys the build cache besides the program: the compiler and
    #: what a build reads from the toolchain's installation (empty: the toolchain binary alone)
    identity_paths: ClassVar[tuple[str, ...]] = ()
    #: apply the memory limit as RLIMIT_AS; False for runtimes that reserve far more address space than they use
    #: (the JVM, Go, V8): they get RLIMIT_DATA (committed writable memory) plus their own flags instead
    address_space_limit: ClassVar[bool] = True
    #: RLIMIT_DATA headroom above the test's memory limit, for runtimes limited by RLIMIT_DATA
    data_overhead_mb: ClassVar[int] = 0
    #: raise RLIMIT_STACK for deep recursion (compiled programs)
    big_stack: ClassVar[bool] = False
    #: what the runtime prints on stderr when an allocation fails and it exits with a plain error status
    oom_markers: ClassVar[tuple[str, ...]] = ()
    #: default CPU-time multiplier (Codeforces-style; an item's own multiplier replaces it)
    cpu_multiplier: ClassVar[float] = 1.0
    #: a prebuilt compiler cache (read-only, in the image or bound by the bwrap backend) and the name of the
    #: writable cache directory a build gets seeded from it (see cachelinks.py)
    seed_cache: ClassVar[str] = ""
    cache_name: ClassVar[str] = ""
    #: the compiler runs many threads / processes (counted by RLIMIT_NPROC)
    compile_processes: ClassVar[int] = 0  # 0: the job's compile limit

    def builds_per_test(self, kind: TestKind) -> bool:
        """Assert tests are built (or, for a script, written) with the test's own code: one build per test (the
        service's build cache keys compiled ones the same way, sandbox/build_cache.py). Python's run in the
        warm interpreter's harness instead."""
        return kind == "assert"

    def prepare(self, src_dir: str, build_dir: str, source: str) -> Build:
        """Write the program for a stdio build."""
        return self._write(src_dir, build_dir, {self.source_name: source}, entry=os.path.join(build_dir, "main"))

    def assert_sources(self, source: str, test_code: str) -> dict[str, str]:
        """Files of an assert-style build (the main source first)."""
        raise NotImplementedError(f"{self.name} has no assert harness")

    def prepare_assert(self, src_dir: str, build_dir: str, source: str, test_code: str) -> Build:
        return self._write(
            src_dir, build_dir, self.assert_sources(source, test_code), entry=os.path.join(build_dir, "main")
        )

    #: several assert tests of one job can be built as one program (combined_sources), each test then selected
    #: by its arguments; when that program does not compile (two tests define the same helper, say) the executor
    #: builds test by test instead, so a combined build never changes a verdict
    combines_asserts: ClassVar[bool] = False

    def combined_sources(self, source: str, tests: list[str]) -> tuple[dict[str, str], list[list[str]]]:
        """(files, arguments per test) of one build holding every test of the job."""
        raise NotImplementedError(f"{self.name} builds assert tests one by one")

    def prepare_combined(self, src_dir: str, build_dir: str, source: str, tests: list[str]) -> Build:
        files, args = self.combined_sources(source, tests)
        build = self._write(src_dir, build_dir, files, entry=os.path.join(build_dir, "main"))
        build.test_args = args
        return build

    @staticmethod
    def _write(src_dir: str, build_dir: str, files: dict[str, str], entry: str) -> Build:
        for name, text in files.items():
            path = os.path.join(src_dir, name)
            with open(path, "wb") as f:
                f.write(text_bytes(text))  # a lone surrogate stays as written (the frames' one encoding)
            os.chmod(path, 0o644)
        return Build(src_dir=src_dir, build_dir=build_dir, files=list(files), entry=entry)

    def compile_argv(self, build: Build, kind: TestKind) -> list[str]:
        """The compiler's command line (cwd: build.build_dir, writable)."""
        raise NotImplementedError(f"{self.name} is not compiled")

    def run_argv(self, build: Build, cfg: Settings, kind: TestKind, memory_mb: int) -> list[str] | None:
        """The command that runs the built program, or None to run it in the warm Python interpreter."""
        return [build.entry]

    def run_env(self, build: Build, memory_mb: int) -> dict[str, str]:
        """Environment variables the program's runtime needs beyond the executor's base environment."""
        return {}

    def compile_env(self, build: Build) -> dict[str, str]:
        return {"TMPDIR": build.build_dir, "HOME": build.build_dir}


C_REPORT = (
    "    if (rc == 0) {\n"
    "        char nonce[64];\n"
    "        ssize_t n = read(4, nonce, sizeof nonce);\n"
    '        if (n > 0 && write(3, "{\\"ok\\":true,\\"nonce\\":\\"", 20) == 20 && write(3, nonce, (size_t)n) == n)\n'
    '            rc = write(3, "\\"}", 2) == 2 ? 0 : 1;\n'
    "    }\n"
    "    return rc;\n"
    "}\n"
)


def c_family_combined(source: str, tests: list[str], namespaces: bool) -> tuple[str, list[list[str]]]:
    """Every test of a job in one C / C++ program: each test's main renamed (C++: inside a namespace of its own,
    with the test's preprocessor lines ahead of it, so that tests may define the same helpers), and a main of ours
    that runs the test its first argument names and reports the nonce when that test returned 0."""
    parts, calls = [], []
    for i, test in enumerate(tests):
        if namespaces:
            lines = test.splitlines()
            directives = "\n".join(line for line in lines if line.lstrip().startswith("#"))
            body = "\n".join("" if line.lstrip().startswith("#") else line for line in lines)
            renamed = rename_main(body, "__arbiter_test_main")
            parts.append("%s\nnamespace __arbiter_t%d {\n%s\n}\n" % (directives, i, renamed))
            calls.append("        case %d: rc = __arbiter_t%d::__arbiter_test_main(); break;\n" % (i, i))
        else:
            parts.append(rename_main(test, "__arbiter_test_main_%d" % i) + "\n")
            calls.append("        case %d: rc = __arbiter_test_main_%d(); break;\n" % (i, i))
    program = (
        "#include <unistd.h>\n" + source + "\n" + "".join(parts) + "int main(int argc, char **argv) {\n"
        "    int rc = 2, which = -1;\n"
        "    if (argc > 1)\n"
        "        for (const char *p = argv[1]; *p >= '0' && *p <= '9'; ++p) which = (which < 0 ? 0 : which * 10) + (*p - '0');\n"
        "    switch (which) {\n" + "".join(calls) + "        default: return 2;\n    }\n" + C_REPORT
    )
    return program, [[str(i)] for i in range(len(tests))]


def c_family_assert(source: str, test_code: str, extra_headers: str = "") -> str:
    """C / C++ assert build: the test's `int main()` becomes a function (with a final `return 0;`, so that falling
    off its end is defined), called by a main of ours that reports the nonce only when it returned 0."""
    body = rename_main(test_code, "__arbiter_test_main")
    return (
        "#include <unistd.h>\n" + source + "\n" + body + "\nint main(void) {\n"
        "    int rc = __arbiter_test_main();\n"
        "    if (rc == 0) {\n"
        "        char nonce[64];\n"
        "        ssize_t n = read(4, nonce, sizeof nonce);\n"
        '        if (n > 0 && write(3, "{\\"ok\\":true,\\"nonce\\":\\"", 20) == 20 && write(3, nonce, (size_t)n) == n)\n'
        '            rc = write(3, "\\"}", 2) == 2 ? 0 : 1;\n'
        "    }\n"
        "    return rc;\n"
        "}\n"
    )


def rename_main(test_code: str, new_name: str) -> str:
    """`int main(...) { ... }` -> `int <new_name>(void) { ... return 0; }` (the test code is the reference's)."""
    m = re.search(r"\bint\s+main\s*\([^)]*\)\s*\{", test_code)
    if m is None:
        raise ValueError("the test code has no `int main()`")
    close = matching_brace(test_code, m.end() - 1)
    return (
        test_code[: m.start()]
        + "int "
        + new_name
        + "(void) {"
        + test_code[m.end() : close]
        + "\nreturn 0;\n}"
        + test_code[close + 1 :]
    )


def matching_brace(text: str, open_at: int) -> int:
    """Index of the brace closing the one at open_at, skipping strings, characters and comments."""
    depth = 0
    i = open_at
    n = len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            i += 1
            while i < n and text[i] != c:
                i += 2 if text[i] == "\\" else 1
        elif text.startswith("//", i):
            i = text.find("\n", i)
            if i < 0:
                break
        elif text.startswith("/*", i):
            i = text.find("*/", i + 2)
            if i < 0:
                break
            i += 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError("unbalanced braces in the test code")
