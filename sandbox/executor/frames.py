"""Framing on the executor side: 4-byte big-endian length + UTF-8 JSON (sandbox/protocol.py is the service's
side of the same format)."""

from __future__ import annotations

import json
import os
import struct
from typing import Any

MAX_FRAME = 256 * 1024 * 1024


class Frames:
    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd

    def _read_exactly(self, n: int) -> bytes | None:
        chunks = []
        while n:
            b = os.read(self.rfd, min(n, 1 << 20))
            if not b:
                return None
            chunks.append(b)
            n -= len(b)
        return b"".join(chunks)

    def read(self) -> dict[str, Any] | None:
        """The next frame, or None at end of stream."""
        head = self._read_exactly(4)
        if head is None:
            return None
        (n,) = struct.unpack(">I", head)
        if n > MAX_FRAME:
            raise ValueError("frame too large")
        body = self._read_exactly(n)
        if body is None:
            return None
        obj = json.loads(body.decode("utf-8"))
        if not isinstance(obj, dict):
            raise ValueError("frame is not a JSON object")
        return obj

    def write(self, obj: dict[str, Any]) -> None:
        data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
        view = memoryview(struct.pack(">I", len(data)) + data)
        while view:
            n = os.write(self.wfd, view)
            view = view[n:]
