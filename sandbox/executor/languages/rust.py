"""Rust: rustc -O (edition 2021), one crate, no external crates. rustc's temporary files go to the build
directory. An allocation failure aborts with "memory allocation of N bytes failed" (MLE).

Assert tests (HumanEval-X: `#[cfg(test)] mod tests { #[test] fn ... }`) are built as a plain binary rather than
with libtest: the test module is compiled unconditionally, its #[test] functions made public and called one after
another by a main of ours, which reports the nonce after the last returned. A panic (a failed assert) exits 101;
process::exit(0) in the program never reaches the report.
"""

from __future__ import annotations

import re

from ..kinds.base import TestKind
from .base import NONCE_PATH, REPORT_PATH, Build, Language

_CFG_TEST = re.compile(r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]")
_TEST_FN = re.compile(
    r"#\s*\[\s*test\s*\]\s*(?://[^\n]*\s*)*(?:pub\s+)?fn\s+([A-Za-z_]\w*)"
)  # comments may sit between
_MOD = re.compile(r"\bmod\s+([A-Za-z_]\w*)\s*\{")
_PROGRAM_MAIN = re.compile(r"\bfn\s+main\s*\(\s*\)")


class Rust(Language):
    name = "rust"
    source_name = "main.rs"
    compiled = True
    big_stack = True
    toolchain = "/usr/bin/rustc"
    version_argv = ("/usr/bin/rustc", "--version")
    install_hint = "apt-get install -y rustc"
    flags = ("-O", "--edition", "2021", "-C", "debuginfo=0")
    oom_markers = ("memory allocation of",)

    def compile_argv(self, build: Build, kind: TestKind) -> list[str]:
        return [self.toolchain, *self.flags, "-o", build.entry, build.main_source]

    def assert_sources(self, source: str, test_code: str) -> dict[str, str]:
        tests, calls = _public_tests(test_code, "    ")
        program = _PROGRAM_MAIN.sub("fn __arbiter_program_main()", source)
        main = "\nfn main() {\n" + calls + REPORT + "}\n"
        return {self.source_name: HEADER + program + "\n" + tests + main}

    # each test in a module of its own (tests may then define the same helpers and the same `mod tests`), run by
    # a main that picks it by its first argument
    combines_asserts = True

    def combined_sources(self, source: str, tests: list[str]) -> tuple[dict[str, str], list[list[str]]]:
        program = _PROGRAM_MAIN.sub("fn __arbiter_program_main()", source)
        mods, arms = [], []
        for i, test_code in enumerate(tests):
            body, calls = _public_tests(test_code, "        ")
            mods.append(
                "mod __arbiter_t%d {\n    use super::*;\n%s\n    pub fn __arbiter_run() {\n%s    }\n}\n"
                % (i, body, calls)
            )
            arms.append('        "%d" => __arbiter_t%d::__arbiter_run(),\n' % (i, i))
        main = (
            '\nfn main() {\n    match std::env::args().nth(1).as_deref().unwrap_or("") {\n'
            + "".join(arms)
            + "        _ => std::process::exit(2),\n    }\n"
            + REPORT
            + "}\n"
        )
        return {self.source_name: HEADER + program + "\n" + "".join(mods) + main}, [[str(i)] for i in range(len(tests))]


HEADER = "#![allow(unused, dead_code, deprecated)]\n"
REPORT = (
    f'    let nonce = std::fs::read_to_string("{NONCE_PATH}").expect("nonce");\n'
    + f'    std::fs::write("{REPORT_PATH}", format!("{{{{\\"ok\\":true,\\"nonce\\":\\"{{}}\\"}}}}", nonce))'
    + '.expect("report");\n'
)


def _public_tests(test_code: str, indent: str) -> tuple[str, str]:
    """(the test code compiled unconditionally, its #[test] functions public; the calls of those functions)."""
    tests = _CFG_TEST.sub("", test_code)
    names = _TEST_FN.findall(tests)
    if not names:
        raise ValueError("the test code has no #[test] function")
    mod = _MOD.search(tests)
    prefix = mod.group(1) + "::" if mod and mod.start() < tests.find(names[0]) else ""
    tests = _TEST_FN.sub(lambda m: "pub fn " + m.group(1), tests)
    return tests, "".join(f"{indent}{prefix}{n}();\n" for n in names)
