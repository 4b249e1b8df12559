"""C++17 with g++ -O2, linked against libm; a big stack for deep recursion (competitive programs). Built, run and
tested like C (c.py); only the compiler, the flags and the out-of-memory marker differ, and each test of a combined
assert build gets a namespace of its own."""

from __future__ import annotations

from .c import C


class Cpp(C):
    name = "cpp"
    source_name = "main.cpp"
    oom_markers = ("std::bad_alloc",)
    toolchain = "/usr/bin/g++"
    version_argv = ("/usr/bin/g++", "--version")
    install_hint = "apt-get install -y g++"
    flags = ("-O2", "-std=c++17", "-pipe")
    namespaced_tests = True
