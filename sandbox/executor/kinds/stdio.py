"""stdin/stdout tests: the test is the program's input; what it printed goes to the judge (in the service)."""

from __future__ import annotations

import json
from typing import Any

from ..frames import text_bytes
from .base import Kind


class Stdio(Kind):
    name = "stdio"

    def stdin(self, test: Any) -> bytes:
        return text_bytes(test if isinstance(test, str) else json.dumps(test))
