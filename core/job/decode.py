"""JSON text in: bounded in size and depth, refused with a message naming what it was for.

Every JSON a user or host hands genvfx (a job file, a worker request, a take's manifest)
is read through `parse_json`, so no input can exhaust the stack or memory of the reader.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidField

MAX_JSON = 16 * 1024 * 1024
"""The most characters a JSON document may hold."""
MAX_DEPTH = 32
"""The deepest nesting of arrays and objects allowed (a job needs 3)."""


def parse_json(text: str | bytes, field: str) -> Any:
    """The value of a JSON document, or `InvalidField(field, ...)` saying what is wrong."""
    if len(text) > MAX_JSON:
        raise InvalidField(field, f"<{len(text)} characters>", f"JSON of at most {MAX_JSON}")
    try:
        value = json.loads(text)
    except RecursionError:
        raise InvalidField(field, "<deeply nested JSON>", too_deep()) from None
    except ValueError as exc:
        raise InvalidField(field, _head(text), f"valid JSON ({exc})") from None
    if nesting(value) > MAX_DEPTH:
        raise InvalidField(field, "<deeply nested JSON>", too_deep())
    return value


def too_deep() -> str:
    return f"JSON nested at most {MAX_DEPTH} levels deep"


def nesting(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (a scalar is 0); no recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def _head(text: str | bytes) -> str:
    head = text[:80]
    if isinstance(head, bytes):
        return head.decode("utf-8", "backslashreplace")
    return head
