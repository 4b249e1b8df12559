"""Framing on the service side: 4-byte big-endian length + a JSON object, in the one encoding both sides share
(sandbox/executor/frames.py: ASCII-only JSON, so every str round-trips, lone surrogates included)."""

from __future__ import annotations

import struct
from typing import Any

from .backends.base import WorkerTransport
from .errors import ProtocolError
from .executor.frames import MAX_FRAME, FrameError
from .executor.frames import decode_body as _decode
from .executor.frames import encode_body as _encode


def encode_frame(obj: Any) -> bytes:
    data = _encode(obj)
    if len(data) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(data)} bytes exceeds {MAX_FRAME}")
    return struct.pack(">I", len(data)) + data


def decode_body(body: bytes) -> dict[str, Any]:
    try:
        obj = _decode(body)
    except FrameError as e:
        raise ProtocolError(str(e)) from None
    if "type" not in obj:
        raise ProtocolError("frame is not an object with a type")
    return obj


async def read_frame(transport: WorkerTransport) -> dict[str, Any]:
    head = await transport.receive_exactly(4)
    (n,) = struct.unpack(">I", head)
    if n > MAX_FRAME:
        raise ProtocolError(f"frame length {n} exceeds {MAX_FRAME}")
    return decode_body(await transport.receive_exactly(n))


async def write_frame(transport: WorkerTransport, obj: Any) -> None:
    await transport.send(encode_frame(obj))
