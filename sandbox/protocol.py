"""Framing on the service side: 4-byte big-endian length + UTF-8 JSON (the executor has its own copy)."""

from __future__ import annotations

import json
import struct
from typing import Any

from .backends.base import WorkerTransport
from .errors import ProtocolError

MAX_FRAME = 256 * 1024 * 1024


def encode_frame(obj: Any) -> bytes:
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    if len(data) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(data)} bytes exceeds {MAX_FRAME}")
    return struct.pack(">I", len(data)) + data


def decode_body(body: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(body.decode("utf-8", "surrogatepass"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"invalid frame body: {e}") from None
    if not isinstance(obj, dict) or "type" not in obj:
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
