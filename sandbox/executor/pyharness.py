"""The warm Python interpreter: the child side of a forked Python test (the executor is the "zygote").

The executor imports the modules programs commonly use once (preload()), then forks per test; the child drops its
privileges, applies the limits and runs the program as __main__ with `python3 file.py` semantics (checked by
tests/sandbox/test_conformance.py). Caveat: all children of one worker share the zygote's hash seed
(PYTHONHASHSEED is fixed per interpreter), so set/dict-of-str iteration order is the same across the tests of one
worker (it still differs between workers and restarts). `random` is reseeded per fork.

Call tests report the return value (plain JSON data only) on fd 3; assert tests report on fd 3 the nonce they
read from fd 4 only after check(candidate) returned: a program that exits early never reports it.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import traceback
from typing import Any

RESULT_CAP = 16 * 1024 * 1024

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
    "random",
    "decimal",
    "fractions",
    "copy",
    "operator",
    "statistics",
    "datetime",
    "traceback",
    "threading",
    "dataclasses",
    "enum",
    "array",
    "hashlib",
    "queue",
    "cmath",
    "numbers",
    "textwrap",
    "unicodedata",
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
    import io
    import random as _random

    code_exit = 0
    kind = job.get("kind", "stdio")
    # fresh streams on the new fds, buffered like `python3 file.py` writing to a pipe
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8", errors="strict")
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8", errors="backslashreplace"
    )
    sys.stderr = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
        encoding="utf-8",
        errors="backslashreplace",
        line_buffering=True,
    )
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr  # type: ignore[misc]
    sys.argv = [path]
    _random.seed()
    result_fd = 3  # the report pipe (call and assert tests only report)
    saved_builtins = dict(builtins.__dict__)
    saved_modules = _snapshot_modules() if kind == "assert" else None

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
        elif kind == "assert":
            entry = g.get(job.get("entry_point") or "")
            if entry is None or not callable(entry):
                raise NameError("entry point %r is not defined" % job.get("entry_point"))
            # Restore builtins and the preloaded modules before the test's code runs; the test sees the program's
            # globals (HumanEval tests call helpers of the prompt) but a private copy of the builtins snapshot.
            builtins.__dict__.clear()
            builtins.__dict__.update(saved_builtins)
            if saved_modules is not None:
                _restore_modules(saved_modules)
            tg = dict(g)
            tg["__name__"] = "__arbiter_test__"
            tg["__builtins__"] = dict(saved_builtins)
            exec(compile(test, "<test>", "exec"), tg)
            check = tg.get("check")
            if check is None or not callable(check):
                raise NameError("test code defines no check(candidate)")

            def candidate(*a, **k):
                return _plain(entry(*a, **k))

            check(candidate)
            # only now read the nonce: it was never in this process's memory while user code ran
            nonce = os.read(4, 64).decode("ascii", "replace")
            report({"ok": True, "nonce": nonce})
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
        t = threading._shutdown  # type: ignore[attr-defined]  # wait for non-daemon threads like the interpreter
        t()
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


def _snapshot_modules() -> dict:
    return {
        name: (m, dict(m.__dict__))
        for name, m in list(sys.modules.items())
        if m is not None and _type(getattr(m, "__dict__", None)) is _dict
    }


def _restore_modules(snap: dict) -> None:
    """Undo attribute patches of modules loaded before the program ran (math.isclose = lambda *a: True ...)."""
    for name, (m, saved) in snap.items():
        sys.modules[name] = m
        d = m.__dict__
        for k in [k for k in d if k not in saved]:
            del d[k]
        for k, v in saved.items():
            if d.get(k, d) is not v:
                d[k] = v


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
