"""The one JSON encoder of every response (results, errors, trainer protocols): it cannot fail on what it echoes.

Responses echo text that clients sent (ids, extracted answers, reward names in error details). Python's JSON
parser accepts a lone surrogate such as `"\\udc00"` (a valid JSON escape), but such a string has no UTF-8 form:
encoding it fails, and one item of a batch would turn the whole response into a 500. Likewise a NaN that a
reward's details carry is not JSON. So the common path is pydantic-core's JSON serializer (one pass in Rust, a
few times faster than `json.dumps`; it writes a non-finite float as null, as below), and only when it fails:

- lone surrogates go out as the `\\uXXXX` escapes they arrived as (`ensure_ascii`), so a client reads back
  exactly the string it sent;
- non-finite floats in free-form fields (details) become null. The typed fields (reward, components,
  advantage) are finite by construction (app/rewards/pipeline.py, app/rewards/advantages.py).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pydantic_core
from fastapi.responses import JSONResponse


class EchoSafeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            return pydantic_core.to_json(content, inf_nan_mode="null")
        except pydantic_core.PydanticSerializationError:
            pass  # a lone surrogate (no UTF-8 form), or a type only the standard encoder's path below reports
        try:
            return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
        except UnicodeEncodeError:
            pass
        except ValueError:
            content = _finite(content)
        return json.dumps(_finite(content), ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def _finite(value: Any) -> Any:
    """`value` with every NaN and infinity replaced by None, containers copied."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
