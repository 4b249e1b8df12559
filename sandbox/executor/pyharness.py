"""The warm Python interpreter: the child side of a forked Python test (the executor is the "zygote").

The executor imports the modules programs commonly use once (preload()), then forks per test; the child drops its
privileges, applies the limits and runs the program as __main__ with `python3 file.py` semantics (checked by
tests/sandbox/test_conformance.py). Caveat: all children of one worker share the zygote's hash seed
(PYTHONHASHSEED is fixed per interpreter), so set/dict-of-str iteration order is the same across the tests of one
worker (it still differs between workers and restarts). `random` is not preloaded (its at-fork reseed cost every
child): a program that imports it seeds it from os.urandom.

Call tests report the return value (plain JSON data only) on fd 3.

Assert tests never run here with the program: run_assert_harness() is the TEST side of an assert test, forked
from the executor under the judge's uid (not the program's), undumpable, so the program can neither ptrace it
nor read its /proc files. It runs the test code; every name the program defines (the entry point, helpers of the
prompt) is a proxy that sends the call's arguments as plain data to the candidate process (candidate.py, a fresh
interpreter that holds nothing but the program) and decodes the reply into the harness's own objects. Only this
process says whether the test passed.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from types import CodeType
from typing import Any

from .candidate import REPLY_FD, REQUEST_FD, NotPlainData, decode, encode, fresh_streams, read_frame, write_frame

RESULT_CAP = 16 * 1024 * 1024
# inspect.CO_OPTIMIZED | CO_NEWLOCALS: the code of a def (a class body has neither); CO_GENERATOR | CO_COROUTINE |
# CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR: a check() whose call would return without running its asserts
_CO_FUNCTION = 0x1 | 0x2
_CO_DEFERRED = 0x20 | 0x80 | 0x100 | 0x200

# Modules preloaded into the zygote so that forked programs do not pay for importing them.
PRELOAD = (
    "collections",
    "itertools",
    "functools",
    "math",
    "heapq",
    "bisect",
    "re",
    "string",
    "typing",
    "io",
    "decimal",
    "fractions",
    "copy",
    "operator",
    "datetime",
    "traceback",
    "dataclasses",
    "enum",
    "array",
    "hashlib",
    "cmath",
    "numbers",
    "textwrap",
    "unicodedata",
    "types",
    # not unittest (2.5 MB with what it imports): the assert harness, its user, is forked from the executor,
    # which imports it; every page the zygote holds costs every test its fork.
    # Not threading (nor queue, which imports it): its os.register_at_fork hook (threading._after_fork) runs Python
    # code in every forked child, ~130 copy-on-write faults (~0.45 ms of CPU) per test whether or not the program
    # uses threads; a program that imports threading pays ~0.55 ms for the import instead (and then no hook).
    # Not random (nor statistics, which imports it), for the same reason: its hook reseeds the generator in every
    # child (a getrandom and the state's pages written), ~0.12 ms of each fork + exit (0.81 -> 0.65-0.71 ms,
    # /usr/bin/python3 with this list); a program that imports random pays ~0.7 ms instead (none of HumanEval's
    # 164 solutions does).
)

# Captured before any user code runs: the harness relies only on these references.
_type = type
_isinstance = isinstance
_int, _float, _str, _bool, _list, _tuple, _dict = int, float, str, bool, list, tuple, dict
_NoneType = type(None)
_INF = float("inf")
_len = len
_json_dumps = json.dumps
_os_write = os.write
_os_exit = os._exit


def preload() -> None:
    """Import PRELOAD in the zygote so that forked programs do not pay for it (minimal images may lack some)."""
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass


# Harness for forked Python tests. Runs in the child after the limits are applied.
def _plain(v, depth=0):
    """Return v if it is plain JSON data of exact builtin types (recursively), else raise TypeError."""
    if depth > 200:
        raise TypeError("return value nested too deeply")
    t = _type(v)
    if t is _int or t is _str or t is _bool or v is None:
        return v
    if t is _float:
        return v
    if t is _list or t is _tuple:
        return t(_plain(x, depth + 1) for x in v)
    if t is _dict:
        out = {}
        for k, x in v.items():
            if _type(k) is not _str:
                raise TypeError("return value: dict keys must be str, got %s" % _type(k).__name__)
            out[k] = _plain(x, depth + 1)
        return out
    raise TypeError("return value of type %s is not plain JSON data" % t.__name__)


def _to_json(v):
    # tuples become lists; non-finite floats are encoded as strings the judge understands
    t = _type(v)
    if t is _float and (v != v or v == _INF or v == -_INF):
        return {"__float__": repr(v)}
    if t is _list or t is _tuple:
        return [_to_json(x) for x in v]
    if t is _dict:
        return {k: _to_json(x) for k, x in v.items()}
    return v


def run_python_child(job: dict[str, Any], test: Any, path: str) -> None:
    """Executed in the forked child (already limited and unprivileged). Never returns."""
    import builtins

    code_exit = 0
    kind = job.get("kind", "stdio")
    # fresh streams on the new fds, buffered like `python3 file.py` writing to a pipe
    sys.stdin, sys.stdout, sys.stderr = fresh_streams()
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr  # type: ignore[misc,assignment]
    sys.argv = [path]
    # random was reseeded at this process's fork (random.py registers _inst.seed with os.register_at_fork): each
    # test's child has a state of its own without a second getrandom and state fill here
    result_fd = 3  # the report pipe (call tests report their return value)

    def report(obj) -> None:
        # ASCII-only JSON (the frames' encoding): a returned lone surrogate is reported, not an undecodable report
        data = _json_dumps(obj, ensure_ascii=True).encode("ascii")[:RESULT_CAP]
        view = memoryview(data)
        while view:
            view = view[_os_write(result_fd, view) :]

    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
        g = {
            "__name__": "__main__",
            "__file__": path,
            "__builtins__": builtins,
            "__doc__": None,
            "__package__": None,
            "__spec__": None,
            "__loader__": None,
        }
        sys.modules["__main__"] = _Module(g)  # type: ignore[assignment]
        code = compile(source, path, "exec")
        exec(code, g)
        if kind == "call":
            fn = _find_function(g, job.get("fn_name") or "")
            args = test if _type(test) is _list else [test]
            value = fn(*args)
            value = _plain(value)
            report({"ok": True, "value": _to_json(value)})
    except SystemExit as e:
        c = e.code
        if c is None:
            code_exit = 0
        elif _type(c) is _int:
            code_exit = c & 0xFF
        else:
            try:
                print(c, file=sys.stderr)
            except (OSError, ValueError):  # stderr closed by the program: the exit status still says it
                pass
            code_exit = 1
    except BaseException as e:
        try:
            tb = e.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
                tb = tb.tb_next  # hide the harness frames, as `python3 file.py` would show none
            traceback.print_exception(_type(e), e, tb)
        except BaseException:
            pass
        code_exit = 1
    try:
        # wait for non-daemon threads like the interpreter; only a program that imported threading can have them
        threading = sys.modules.get("threading")
        if threading is not None:
            threading._shutdown()
    except BaseException:
        pass
    try:
        import atexit

        atexit._run_exitfuncs()
    except BaseException:
        pass
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except BaseException:
            pass
    _os_exit(code_exit)


class _Module:
    """Minimal stand-in for the __main__ module object (pickle, dataclasses and typing look it up)."""

    def __init__(self, g: dict) -> None:
        object.__setattr__(self, "__dict__", g)


def _find_function(g: dict, name: str):
    sol = g.get("Solution")
    if sol is not None and isinstance(sol, type) and hasattr(sol, name):
        return getattr(sol(), name)
    fn = g.get(name)
    if fn is None or not callable(fn):
        raise NameError("function %r is not defined (neither top level nor a method of class Solution)" % name)
    return fn


# ---------------------------------------------------------------- assert tests: the test side
class CandidateGone(BaseException):
    """The candidate process ended (or sent garbage) while the test waited for a reply. A BaseException, so that
    the test code's own `except Exception` cannot swallow it."""


class _Test:
    """One run of test code against the candidate's proxies (in the harness process)."""

    def __init__(self, req_fd: int, rep_fd: int) -> None:
        self.req_fd = req_fd
        self.rep_fd = rep_fd
        self.calls = 0

    def proxy(self, name: str):
        def call(*args, **kwargs):
            self.calls += 1
            # NotPlainData (a TypeError) propagates to the test code: a lambda argument, say, cannot cross
            write_frame(self.req_fd, {"fn": name, "args": encode(list(args)), "kwargs": encode(dict(kwargs))})
            try:
                reply = read_frame(self.rep_fd)
            except NotPlainData as e:
                raise CandidateGone("the program sent a malformed reply: %s" % e) from None
            if _type(reply) is not _dict:
                raise CandidateGone("the program ended during a call to %s()" % name)
            if "ok" in reply:
                try:
                    return decode(reply["ok"])
                except NotPlainData as e:
                    raise CandidateGone("the program sent a malformed value: %s" % e) from None
            found = getattr(__import__("builtins"), str(reply.get("exc")), None)
            # the program's own exception class cannot cross: a builtin one of that name does, else a generic one
            exc: type[Exception] = RuntimeError
            if isinstance(found, type) and issubclass(found, Exception):
                exc = found
            raise exc(str(reply.get("msg", "")))

        call.__name__ = call.__qualname__ = name
        return call


def _plain_callables(hello: Any) -> list[str]:
    if _type(hello) is not _dict or _type(hello.get("names")) is not _list:
        raise CandidateGone("the program ended before its functions could be called")
    return [n for n in hello["names"] if _type(n) is _str and n.isidentifier()]


def _solution_module(names: dict):
    """`solution`: the module KodCode-style tests import the program as (`from solution import f`)."""
    import types

    m = types.ModuleType("solution")
    m.__dict__.update(names)
    return m


def run_assert_harness(test: str, entry_point: str, report_fd: int) -> None:
    """The harness process (already limited, under the judge's uid). Reports on report_fd one JSON object:
    {"ok": true} when the test ran to its end, {"ok": false, "why": ...} when it failed, or
    {"ok": false, "reference_error": ...} when the test code itself cannot run. Never returns."""
    out: dict[str, Any]
    t = _Test(REQUEST_FD, REPLY_FD)
    try:
        out = _run_test(t, test, entry_point)
    except CandidateGone as e:
        out = {"ok": False, "why": str(e)}
    except BaseException as e:  # any failure of the test is a failed test, with the test's traceback
        out = {"ok": False, "why": "".join(traceback.format_exception_only(_type(e), e)).strip()[:4000]}
    try:
        data = _json_dumps(out).encode("utf-8", "backslashreplace")
        view = memoryview(data)
        while view:
            view = view[_os_write(report_fd, view) :]
    except OSError:
        pass
    # closed before the exit (which tears the memory down first, the fds last): the executor has the whole report
    # and the candidate the end of its requests at once
    for fd in (report_fd, REQUEST_FD, REPLY_FD):
        try:
            os.close(fd)
        except OSError:
            pass
    _os_exit(0)


def _run_test(t: _Test, test: str, entry_point: str) -> dict[str, Any]:
    import builtins
    import unittest

    try:
        code = compile(test, "<test>", "exec")  # straight from the source: no AST objects built in Python
    except (SyntaxError, ValueError) as e:
        return {"ok": False, "reference_error": "the test code does not compile: %s" % e}
    # HumanEval's form, a `def check` at top level: a plain function's code object among the module's constants
    check_mode = any(
        _type(c) is CodeType
        and c.co_name == "check"
        and c.co_flags & _CO_FUNCTION == _CO_FUNCTION
        and not c.co_flags & _CO_DEFERRED
        for c in code.co_consts
    )
    import builtins as _b

    # Names of builtins are never proxied: a program defining abs() must not answer the test's own abs() calls.
    names = {n: t.proxy(n) for n in _plain_callables(read_frame(REPLY_FD)) if not hasattr(_b, n)}
    sys.modules["solution"] = _solution_module(names)
    g: dict[str, Any] = {"__name__": "__arbiter_test__", "__builtins__": builtins}
    g.update(names)
    if not check_mode:
        # MBPP-style asserts at top level, then KodCode-style test_* functions and BigCodeBench-style TestCases
        exec(code, g)
        for name, fn in list(g.items()):
            if name.startswith("test") and _type(fn).__name__ == "function" and names.get(name) is not fn:
                fn()
        cases = [c for c in g.values() if _isinstance(c, _type) and issubclass(c, unittest.TestCase)]
        if cases:
            suite = unittest.TestSuite(unittest.defaultTestLoader.loadTestsFromTestCase(c) for c in cases)
            result = unittest.TestResult()
            suite.run(result)
            if result.errors or result.failures or not result.wasSuccessful() or result.testsRun == 0:
                first = (result.failures + result.errors)[0][1] if (result.failures or result.errors) else ""
                return {"ok": False, "why": ("unittest: %s" % first.strip().splitlines()[-1:])[:4000]}
        if t.calls == 0:  # nothing in the test involves the program: the reference's fault, not the program's
            return {
                "ok": False,
                "reference_error": "the test code never calls the program (no check(candidate), test_* function, "
                "TestCase or assert that calls it)",
            }
        return {"ok": True}
    try:
        exec(code, g)
    except (CandidateGone, NameError):
        raise
    except BaseException as e:
        if t.calls == 0:  # the test's own definitions failed before the program was involved
            return {"ok": False, "reference_error": "the test code fails before calling the program: %r" % e}
        raise
    check = g.get("check")
    if not callable(check) or check in names.values():
        return {"ok": False, "reference_error": "the test code defines no check(candidate)"}
    if entry_point not in names:
        return {"ok": False, "why": "the program defines no function %s" % entry_point}
    check(names[entry_point])
    return {"ok": True}
