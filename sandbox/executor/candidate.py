"""The candidate's side of an assert test: run the program, then answer plain-data calls, nothing else.

Run as a fresh interpreter (`python3 -I candidate.py main.py`) by kinds/asserts.py: the process is exec'd, not
forked from the executor, so it never holds the job (test code, other tests) in its memory, its frames or its
heap. It executes the program as __main__ (`python3 file.py` semantics), sends the names of the program's
top-level functions, then serves calls that the test harness (another process, another uid: pyharness.py) makes
through two pipes: a request {"fn": name, "args": [...], "kwargs": {...}} in, a reply {"ok": value} or
{"exc": builtin exception name, "msg": text} out. Values cross in the PLAIN encoding below: exact builtin types
only, so an object whose __eq__ is always true, a str subclass or a lazy proxy cannot cross; what the harness
compares is data it decoded into its own objects.

This file is imported by the harness for the codec (encode / decode), and run as a script for the loop: it must
stay standalone (no imports of the executor package, which is not on sys.path of an -I interpreter).
"""

from __future__ import annotations

import json
import os
import struct
import sys
from typing import Any, TextIO

REQUEST_FD = 3  # harness -> candidate
REPLY_FD = 4  # candidate -> harness
MAX_FRAME = 16 * 1024 * 1024
MAX_DEPTH = 100

# The encoding: JSON with tagged containers, so that types survive the crossing exactly (a tuple stays a tuple,
# a dict with int keys stays one, inf stays inf). Only exact builtin types are accepted.
_type = type
_int, _float, _str, _bool, _list, _tuple, _dict, _set, _frozenset, _bytes, _complex = (
    int,
    float,
    str,
    bool,
    list,
    tuple,
    dict,
    set,
    frozenset,
    bytes,
    complex,
)
_NoneType = type(None)


class NotPlainData(TypeError):
    """A value that may not cross the boundary (not an exact builtin type, or nested too deeply)."""


def encode(v: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise NotPlainData("value nested more than %d levels deep" % MAX_DEPTH)
    t = _type(v)
    if t is _bool or t is _int or t is _str or t is _NoneType:
        return v
    if t is _float:
        if v != v or v in (float("inf"), float("-inf")):
            return {"$float": repr(v)}
        return v
    if t is _list:
        return [encode(x, depth + 1) for x in v]
    if t is _tuple:
        return {"$tuple": [encode(x, depth + 1) for x in v]}
    if t is _dict:
        return {"$dict": [[encode(k, depth + 1), encode(x, depth + 1)] for k, x in v.items()]}
    if t is _set or t is _frozenset:
        return {("$set" if t is _set else "$frozenset"): [encode(x, depth + 1) for x in v]}
    if t is _bytes:
        return {"$bytes": v.hex()}
    if t is _complex:
        return {"$complex": [encode(v.real, depth + 1), encode(v.imag, depth + 1)]}
    raise NotPlainData("a value of type %s is not plain data (exact builtin types only)" % t.__name__)


def decode(v: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise NotPlainData("value nested more than %d levels deep" % MAX_DEPTH)
    t = _type(v)
    if t is _bool or t is _int or t is _str or t is _NoneType or t is _float:
        return v
    if t is _list:
        return [decode(x, depth + 1) for x in v]
    if t is _dict and len(v) == 1:
        ((tag, x),) = v.items()
        if tag == "$float" and _type(x) is _str and x in ("nan", "inf", "-inf"):
            return float(x)
        if tag == "$tuple" and _type(x) is _list:
            return tuple(decode(y, depth + 1) for y in x)
        if tag == "$dict" and _type(x) is _list:
            out = {}
            for pair in x:
                if _type(pair) is not _list or len(pair) != 2:
                    raise NotPlainData("malformed dict entry")
                k = decode(pair[0], depth + 1)
                out[k] = decode(pair[1], depth + 1)
            return out
        if tag in ("$set", "$frozenset") and _type(x) is _list:
            items = [decode(y, depth + 1) for y in x]
            return set(items) if tag == "$set" else frozenset(items)
        if tag == "$bytes" and _type(x) is _str:
            return bytes.fromhex(x)
        if tag == "$complex" and _type(x) is _list and len(x) == 2:
            return complex(decode(x[0], depth + 1), decode(x[1], depth + 1))
    raise NotPlainData("malformed plain-data value")


#: one encoder for every frame: json.dumps with arguments builds a JSONEncoder (and its C encoder) per call, twice
#: per call of the test (the request, the reply)
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def write_frame(fd: int, obj: Any) -> None:
    data = _encode(obj).encode("utf-8", "surrogatepass")
    if len(data) > MAX_FRAME:
        raise NotPlainData("value of %d bytes is larger than the %d bytes a call may carry" % (len(data), MAX_FRAME))
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, n: int) -> bytes | None:
    chunks = []
    while n:
        b = os.read(fd, min(n, 1 << 20))
        if not b:
            return None
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def read_frame(fd: int) -> Any:
    """The next frame, or None at end of file (the other side is gone). Raises NotPlainData on garbage."""
    head = _read_exactly(fd, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    if n > MAX_FRAME:
        raise NotPlainData("frame of %d bytes is over the %d-byte cap" % (n, MAX_FRAME))
    body = _read_exactly(fd, n)
    if body is None:
        return None
    try:
        return json.loads(body.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        raise NotPlainData("frame is not JSON") from None


class _Module:
    """Minimal stand-in for the __main__ module object (pickle, dataclasses and typing look it up)."""

    def __init__(self, g: dict) -> None:
        object.__setattr__(self, "__dict__", g)


def _serve(g: dict) -> None:
    names = sorted(k for k, v in g.items() if _type(k) is _str and not k.startswith("__") and callable(v))
    write_frame(REPLY_FD, {"names": names})
    while True:
        req = read_frame(REQUEST_FD)
        if req is None:
            return
        try:
            fn = g.get(req.get("fn"))
            if fn is None or not callable(fn):
                raise NameError("name %r is not defined by the program" % req.get("fn"))
            value = fn(*decode(req.get("args", [])), **decode(req.get("kwargs", {"$dict": []})))
            reply = {"ok": encode(value)}
        except NotPlainData as e:
            reply = {"exc": "TypeError", "msg": str(e)}
        except Exception as e:  # the program's own exception crosses by name (tests may expect ValueError ...)
            reply = {"exc": _type(e).__name__, "msg": str(e)[:2000]}
        try:
            write_frame(REPLY_FD, reply)
        except NotPlainData as e:
            write_frame(REPLY_FD, {"exc": "TypeError", "msg": str(e)})


def _run(path: str) -> None:
    sys.argv = [path]
    with open(path, encoding="utf-8") as f:
        source = f.read()
    g = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__, "__doc__": None}
    sys.modules["__main__"] = _Module(g)  # type: ignore[assignment]
    exec(compile(source, path, "exec"), g)
    _serve(g)


def main() -> None:
    _run(sys.argv[1])


def fresh_streams() -> tuple[TextIO, TextIO, TextIO]:
    """stdin, stdout, stderr on fds 0 / 1 / 2 as `python3 file.py` has them on pipes (stdout block-buffered,
    stderr line-buffered, undecodable output escaped); the fds stay open when a stream is closed."""
    import io

    return (
        io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8"),
        io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8", errors="backslashreplace"
        ),
        io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
            encoding="utf-8",
            errors="backslashreplace",
            line_buffering=True,
        ),
    )


def run_program(path: str) -> None:
    """The candidate forked from the clean zygote (zygote.py; already limited, unprivileged): fresh streams as
    `python3 file.py` has them, the program, the call loop; exit status as the interpreter would. Never returns."""
    import traceback

    sys.stdin, sys.stdout, sys.stderr = fresh_streams()
    # random was reseeded at this process's fork (random.py's os.register_at_fork hook): nothing to do here
    code = 0
    try:
        _run(path)
    except SystemExit as e:
        code = e.code if _type(e.code) is _int else 0 if e.code is None else 1
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    os._exit(code & 0xFF)


if __name__ == "__main__":
    # The program runs in its own namespace g (not this file's globals); an exception it raises ends the
    # interpreter with a traceback and status 1, as `python3 file.py` would.
    main()
