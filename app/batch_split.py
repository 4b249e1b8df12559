"""How one large /v1/score batch is cut into parts that several replicas score at once.

A GRPO group (items sharing `group`) always stays in one part: its advantages are computed over its members, and
its repeated answers and programs are deduplicated inside one pipeline call. Parts are index lists into the
original batch, so results go back to request order whatever order the parts finish in.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence


def plan_parts(groups: Sequence[Hashable | None], part_items: int) -> list[list[int]]:
    """Index lists of about `part_items` items each, every group whole, in order of first appearance.

    An item without a group is a unit of its own. A group larger than `part_items` is one part by itself (it is
    never cut). The number of parts is ceil(n / part_items) or more only where whole groups force it.
    """
    if part_items < 1:
        raise ValueError("part_items must be >= 1")
    units: dict[object, list[int]] = {}
    for i, group in enumerate(groups):
        key: object = ("__single__", i) if group is None else ("group", group)
        units.setdefault(key, []).append(i)
    n = len(groups)
    if n == 0:
        return []
    # Even parts: with n=300 and part_items=256, two parts of 150 rather than 256 + 44.
    target = math.ceil(n / math.ceil(n / part_items))
    parts: list[list[int]] = []
    current: list[int] = []
    for members in units.values():
        if current and len(current) + len(members) > target:
            parts.append(current)
            current = []
        current.extend(members)
    if current:
        parts.append(current)
    return parts
