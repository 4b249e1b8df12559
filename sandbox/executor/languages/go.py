"""Go: `go build` (stdio) or `go test -c` (assert tests, HumanEval-X's `func TestX(t *testing.T)` with testify),
in GOPATH mode without network: GOPATH is Debian's /usr/share/gocode (testify), and GOCACHE lives in the job's
build directory (writable, removed with the job).

The Go runtime reserves large arenas, so the memory limit is GOMEMLIMIT plus RLIMIT_DATA with headroom (committed
memory), not RLIMIT_AS; "out of memory" is MLE. Assert builds add a TestMain that reports the nonce after m.Run()
returned 0, and run with -test.paniconexit0, so that os.Exit(0) during a test fails it.
"""

from __future__ import annotations

import os
import re
from typing import ClassVar

from ..kinds.base import TestKind
from ..settings import Settings
from .base import NONCE_PATH, REPORT_PATH, Build, Language

TEST_MAIN = (
    "package main\n\n"
    'import (\n\t"os"\n\t"testing"\n)\n\n'
    "func TestMain(m *testing.M) {\n"
    "\tcode := m.Run()\n"
    "\tif code == 0 {\n"
    '\t\tnonce, err := os.ReadFile("' + NONCE_PATH + '")\n'
    "\t\tif err != nil {\n\t\t\tos.Exit(3)\n\t\t}\n"
    '\t\tif os.WriteFile("' + REPORT_PATH + '", []byte(`{"ok":true,"nonce":"`+string(nonce)+`"}`), 0) != nil {\n'
    "\t\t\tos.Exit(3)\n\t\t}\n"
    "\t}\n"
    "\tos.Exit(code)\n"
    "}\n"
)


_PACKAGE = re.compile(r"^\s*package\s+\w+\s*;?\s*")
_IMPORT_BLOCK = re.compile(r"^\s*import\s*\((.*?)\)\s*", re.S)
_IMPORT_ONE = re.compile(r"^\s*import\s+((?:[\w.]+\s+)?\"[^\"]*\")\s*;?\s*")
_COMMENT_LINE = re.compile(r"^\s*//[^\n]*\n")
_TEST_FUNC = re.compile(r"\bfunc\s+(Test\w*)\s*\(")


def split_imports(code: str) -> tuple[list[str], str]:
    """(import specs, the rest) of a Go file's beginning (its package clause dropped)."""
    rest = _PACKAGE.sub("", code, count=1)
    specs: list[str] = []
    while True:
        m = _COMMENT_LINE.match(rest) or _IMPORT_BLOCK.match(rest) or _IMPORT_ONE.match(rest)
        if m is None:
            return specs, rest
        if m.re is _IMPORT_BLOCK:
            specs += [line.split("//")[0].strip() for line in m.group(1).splitlines() if line.split("//")[0].strip()]
        elif m.re is _IMPORT_ONE:
            specs.append(m.group(1).strip())
        rest = rest[m.end() :]


class Go(Language):
    name = "go"
    source_name = "main.go"
    compiled = True
    toolchain = "/usr/bin/go"
    version_argv = ("/usr/bin/go", "version")
    install_hint = "apt-get install -y golang-go golang-github-stretchr-testify-dev"
    flags: ClassVar[
        tuple[str, ...]
    ] = ()  # no -trimpath: it would rebuild the standard library in every job's empty cache
    address_space_limit = False
    data_overhead_mb = 192
    oom_markers = ("runtime: out of memory", "fatal error: out of memory")
    compile_processes = 256
    # testify and its dependencies compiled once (the image's build, or the bwrap backend's first start):
    # without it every job's empty cache recompiles them (~15 s of CPU)
    seed_cache = "/opt/arbiter/gocache"
    # the standard library and testify are compiled into every binary: their installation keys the build cache
    identity_paths = (
        "/usr/bin/go",
        "/usr/lib/go/VERSION",
        "/usr/share/gocode/src/github.com/stretchr/testify/assert/assertions.go",
    )
    cache_name = ".gocache"

    def assert_sources(self, source: str, test_code: str) -> dict[str, str]:
        # One file, as HumanEval-X's own harness builds it: Go imports are per file, and the dataset's tests use
        # packages only the program imports (math, strings, ...). Import specs of both are merged, deduplicated.
        prog_imports, prog_rest = split_imports(source)
        test_imports, test_rest = split_imports(test_code)
        specs = list(dict.fromkeys(test_imports + prog_imports))
        header = "package main\n\nimport (\n" + "".join("\t%s\n" % spec for spec in specs) + ")\n\n"
        return {"main_test.go": header + prog_rest + "\n" + test_rest, "arbiter_main_test.go": TEST_MAIN}

    # every test's functions renamed with the test's index (TestX -> TestX_arbiter3) in one test binary, each test
    # run with -test.run selecting its own; helpers two tests both define make that build fail (then one by one)
    combines_asserts = True

    def combined_sources(self, source: str, tests: list[str]) -> tuple[dict[str, str], list[list[str]]]:
        prog_imports, prog_rest = split_imports(source)
        specs: list[str] = []
        rests, args = [], []
        for i, test_code in enumerate(tests):
            imports, rest = split_imports(test_code)
            specs += imports
            rests.append(_TEST_FUNC.sub(r"func \g<1>_arbiter%d(" % i, rest))
            args.append(["-test.run", "^Test.*_arbiter%d$" % i])
        header = (
            "package main\n\nimport (\n" + "".join("\t%s\n" % s for s in dict.fromkeys(specs + prog_imports)) + ")\n\n"
        )
        return {"main_test.go": header + prog_rest + "\n" + "\n".join(rests), "arbiter_main_test.go": TEST_MAIN}, args

    def prepare_combined(self, src_dir: str, build_dir: str, source: str, tests: list[str]) -> Build:
        build = super().prepare_combined(src_dir, build_dir, source, tests)
        build.entry = os.path.join(build_dir, "main.test")
        return build

    def prepare_assert(self, src_dir: str, build_dir: str, source: str, test_code: str) -> Build:
        files = self.assert_sources(source, test_code)
        return self._write(src_dir, build_dir, files, entry=os.path.join(build_dir, "main.test"))

    def compile_argv(self, build: Build, kind: TestKind) -> list[str]:
        if kind == "assert":
            return [
                self.toolchain,
                "test",
                "-c",
                *self.flags,
                "-o",
                build.entry,
                "..",
            ]  # the package dir (cwd is its build/)
        return [self.toolchain, "build", *self.flags, "-o", build.entry, build.main_source]

    def compile_env(self, build: Build) -> dict[str, str]:
        return {
            "HOME": build.build_dir,
            "TMPDIR": build.build_dir,
            "GOCACHE": os.path.join(build.build_dir, self.cache_name),
            "GOPATH": "/usr/share/gocode",
            "GO111MODULE": "off",
            "GOFLAGS": "-p=2",
            "GOMAXPROCS": "2",
            "CGO_ENABLED": "0",
            "GOTELEMETRY": "off",
        }

    def run_argv(self, build: Build, cfg: Settings, kind: TestKind, memory_mb: int) -> list[str] | None:
        if kind == "assert":
            return [build.entry, "-test.paniconexit0", "-test.count=1"]
        return [build.entry]

    def run_env(self, build: Build, memory_mb: int) -> dict[str, str]:
        return {"GOMEMLIMIT": f"{memory_mb}MiB", "GOMAXPROCS": "1", "GOTRACEBACK": "single"}
