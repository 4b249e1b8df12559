"""Test kinds, one module each: what the program gets and what its harness must report before a test counts.

stdio:  the test is the program's stdin; the service compares its stdout
call:   the test is an argument list; the harness reports the return value (plain JSON) on fd 3
assert: the test is test code, run in a harness process of its own that reaches the program (another process,
        forked from a clean zygote) only through plain-data calls; only the harness's report passes a test
"""

from __future__ import annotations

from .asserts import Assert
from .base import Kind, TestKind
from .call import Call
from .stdio import Stdio

KINDS: dict[str, Kind] = {k.name: k for k in (Stdio(), Call(), Assert())}
TEST_KINDS: tuple[TestKind, ...] = ("stdio", "call", "assert")

__all__ = ["KINDS", "TEST_KINDS", "Kind", "TestKind"]
