"""Java (OpenJDK 17): javac then `java -cp build <class>`.

The class to run is found whatever the program calls it: the public class (javac wants the file named after it),
else the class that declares `static void main`. The JVM reserves far more address space than it uses, so its
memory limit is -Xmx (heap) plus RLIMIT_DATA with headroom for metaspace, code cache and thread stacks, not
RLIMIT_AS; an OutOfMemoryError is MLE. JIT and GC threads count against RLIMIT_NPROC: a serial GC, one active
processor and two compiler threads keep a JVM within a few threads. Assert tests (HumanEval-X: a `public class
Main` whose main throws on a wrong answer) run through a harness class that reports the nonce after main returned.
"""

from __future__ import annotations

import os
import re

from ..kinds.base import TestKind
from ..settings import Settings
from .base import NONCE_PATH, REPORT_PATH, Build, Language, matching_brace

_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_PUBLIC_CLASS = re.compile(r"\bpublic\s+(?:final\s+|abstract\s+)*class\s+([A-Za-z_$][\w$]*)")
_CLASS = re.compile(r"\bclass\s+([A-Za-z_$][\w$]*)")
_MAIN = re.compile(r"\bstatic\s+(?:public\s+|final\s+)*void\s+main\s*\(")

HARNESS = (
    "public class ArbiterHarness {\n"
    "    public static void main(String[] args) throws Exception {\n"
    "        %s.main(args);\n"
    '        byte[] nonce = java.nio.file.Files.readAllBytes(java.nio.file.Paths.get("' + NONCE_PATH + '"));\n'
    '        try (java.io.FileOutputStream out = new java.io.FileOutputStream("' + REPORT_PATH + '")) {\n'
    '            out.write(("{\\"ok\\":true,\\"nonce\\":\\"" + new String(nonce, "US-ASCII") + "\\"}").getBytes("US-ASCII"));\n'
    "        }\n"
    "    }\n"
    "}\n"
)

JVM_FLAGS = (
    "-XX:+UseSerialGC",
    "-XX:ActiveProcessorCount=1",
    "-XX:CICompilerCount=2",
    "-XX:-UsePerfData",
    "-XX:MaxMetaspaceSize=128m",
    "-XX:ReservedCodeCacheSize=64m",
    "-Xshare:auto",
)


def main_class(source: str) -> tuple[str, str]:
    """(file stem, class to run) of a Java program."""
    text = _COMMENTS.sub(" ", source)
    public = _PUBLIC_CLASS.search(text)
    runs = None
    m = _MAIN.search(text)
    if m is not None:
        # the classes whose bodies enclose main, outermost first: main belongs to the innermost one, which the
        # JVM names Outer$Inner when it is nested (a helper class declared before main is not one of them)
        enclosing = []
        for c in _CLASS.finditer(text, 0, m.start()):
            body = text.find("{", c.end())
            try:
                if 0 <= body < m.start() and matching_brace(text, body) > m.start():
                    enclosing.append(c.group(1))
            except ValueError:  # unbalanced: javac will say so
                pass
        runs = "$".join(enclosing) if enclosing else None
    stem = public.group(1) if public else (runs or "Main")
    return stem, runs or stem


class Java(Language):
    name = "java"
    source_name = "Main.java"
    compiled = True
    toolchain = "/usr/bin/javac"
    version_argv = ("/usr/bin/javac", "-version")
    install_hint = "apt-get install -y openjdk-17-jdk-headless"
    flags = ("-encoding", "UTF-8", "-nowarn")
    address_space_limit = False
    data_overhead_mb = 320
    oom_markers = ("java.lang.OutOfMemoryError", "insufficient memory for the Java Runtime")
    cpu_multiplier = 2.0
    compile_processes = 64

    def prepare(self, src_dir: str, build_dir: str, source: str) -> Build:
        stem, runs = main_class(source)
        return self._write(src_dir, build_dir, {stem + ".java": source}, entry=runs)

    def prepare_assert(self, src_dir: str, build_dir: str, source: str, test_code: str) -> Build:
        program = source + "\n" + test_code
        stem, runs = main_class(program)
        files = {stem + ".java": program, "ArbiterHarness.java": HARNESS % runs}
        return self._write(src_dir, build_dir, files, entry="ArbiterHarness")

    def compile_argv(self, build: Build, kind: TestKind) -> list[str]:
        return [
            self.toolchain,
            "-J-XX:+UseSerialGC",
            "-J-XX:TieredStopAtLevel=1",
            "-J-Xmx512m",
            "-J-XX:-UsePerfData",
            *self.flags,
            "-d",
            build.build_dir,
            *(os.path.join(build.src_dir, f) for f in build.files),
        ]

    def run_argv(self, build: Build, cfg: Settings, kind: TestKind, memory_mb: int) -> list[str] | None:
        return ["/usr/bin/java", f"-Xmx{memory_mb}m", *JVM_FLAGS, "-cp", build.build_dir, build.entry]
