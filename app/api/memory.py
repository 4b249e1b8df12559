"""Give the heap memory a big request freed back to the operating system.

Parsing a large body makes many medium-sized objects (completion strings, dicts); once the request is done they
are freed, but glibc's malloc keeps freed heap pages mapped for reuse, so the server's RSS stays at its peak
(823 MB held after six 117 MB bodies in issue 11). `malloc_trim(0)` returns every free page of every arena.
Python's own small-object arenas are unmapped by CPython itself and need nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own symbols: glibc's when linked against it
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim with
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_freed_memory() -> bool:
    """Return free heap pages to the OS; False where the C library has no malloc_trim. Takes milliseconds on a
    large heap and releases the GIL (a ctypes call), so callers run it in a thread."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
