"""The JSON of a result, serialized in pieces with a checkpoint between them.

`json.dumps` of a megabyte of result runs in C for 40 ms holding the GIL, and freeing the result
afterwards holds it about as long again: every other thread, the event loop's included, waits that
long. A heavy execution (server/http/lanes.py) serializes its result one small piece at a time
instead: the items of the lists two levels down (the items of `nodes(ids)`, of a connection's
`edges`), each dropped once written, with the execution's checkpoint between pieces, where it
gives way to lighter requests. The bytes are those of one `json.dumps` call with the same options
(tests/test_lanes.py compares them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

DEPTH = 2  # containers split: the top object and its lists; a piece is an item of those
# Built once: json.dumps with options other than the defaults builds an encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def dumps(value: Any) -> str:
    """Compact JSON as the GraphQL answers are written (UTF-8 text, no NaN)."""
    return _ENCODER.encode(value)


def serialized(data: Any, checkpoint: Callable[[], None] | None = None) -> str:
    """`dumps(data)`; with a checkpoint, in pieces, emptying `data` as it goes (it is not read
    again)."""
    if checkpoint is None:
        return dumps(data)
    out: list[str] = []
    _write(data, DEPTH, out, checkpoint)
    return "".join(out)


def _write(value: Any, depth: int, out: list[str], checkpoint: Callable[[], None]) -> None:
    if depth == 0 or not isinstance(value, dict | list) or not value:
        out.append(dumps(value))
        checkpoint()
        return
    if isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(list(value)):
            if i:
                out.append(",")
            out.append(dumps(key))
            out.append(":")
            _write(value.pop(key), depth - 1, out, checkpoint)
        out.append("}")
        return
    out.append("[")
    for i in range(len(value)):
        if i:
            out.append(",")
        item, value[i] = value[i], None
        _write(item, depth - 1, out, checkpoint)
    out.append("]")
