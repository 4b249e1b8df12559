"""Framing on the executor side: 4-byte big-endian length + a JSON object (sandbox/protocol.py is the service's
side of the same format).

The encoding is one and the same on both sides: JSON with every non-ASCII character escaped (ensure_ascii), so a
frame body is plain ASCII. Every Python str round-trips exactly, lone surrogates included ("\\udc00" is a valid
JSON escape that no UTF-8 codec may encode): a completion holding one can never make either side fail to encode
or decode a frame. Text becomes bytes only where a program gets it (text_bytes below: its source file, its stdin).
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

MAX_FRAME = 256 * 1024 * 1024


class FrameError(ValueError):
    """A frame that is not a JSON object: answered with an error frame, the stream stays in step."""


def encode_body(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def decode_body(body: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(body.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as e:
        raise FrameError("invalid frame body: %s" % e) from None
    if not isinstance(obj, dict):
        raise FrameError("frame is not a JSON object")
    return obj


def text_bytes(text: str) -> bytes:
    """The bytes a program gets for a text (source, stdin): UTF-8, a lone surrogate kept as its 3-byte form
    (invalid UTF-8, which the program's own decoder reports as `python3 file.py` would), never an executor error."""
    return text.encode("utf-8", "surrogatepass")


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
        """The next frame, or None at end of stream. Raises FrameError for a body that is not a JSON object (the
        length prefix was read: the next frame starts in step); ValueError for a length over MAX_FRAME."""
        head = self._read_exactly(4)
        if head is None:
            return None
        (n,) = struct.unpack(">I", head)
        if n > MAX_FRAME:
            raise ValueError("frame too large")
        body = self._read_exactly(n)
        if body is None:
            return None
        return decode_body(body)

    def write(self, obj: dict[str, Any]) -> None:
        data = encode_body(obj)
        view = memoryview(struct.pack(">I", len(data)) + data)
        while view:
            n = os.write(self.wfd, view)
            view = view[n:]
