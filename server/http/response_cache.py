"""Small LRU caches of rendered answers. Snapshots are immutable, so an answer keyed by the dataset
version and the exact request can be reused until the version changes: GraphQL results here, and
the linked-data pages of `server.http.content_routes`.

Bounded twice: in entries, and in bytes (the key's text counts as much as the answer's: ten
heavy queries differing by a space are ten entries). An answer bigger than `max_entry_bytes` is
not kept at all, so one huge result cannot flush everything else.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")
Key = tuple[str, str, str, str]
Asked = tuple[str, str, str]  # what a request asks, whatever the version: see `asked`


def cache_key(
    version: str, query: str, variables: dict[str, Any] | None, operation: str | None
) -> Key:
    """The key of one request: canonical JSON for the variables, so key order does not matter."""
    return (version, *asked(query, variables, operation))


def asked(query: str, variables: dict[str, Any] | None, operation: str | None) -> Asked:
    """The version-free part of a request's key (`cache_key` is the version and this)."""
    canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"), default=str)
    return (query, canonical, operation or "")


def _weight(key: Any, value: Any) -> int:
    """Roughly the bytes an entry holds: its strings and bytes, key and value."""
    if isinstance(key, tuple):
        size = sum(len(part) for part in key if isinstance(part, str | bytes))
    else:
        size = len(key) if isinstance(key, str | bytes) else 0
    if isinstance(value, str | bytes):
        return size + len(value)
    body = getattr(value, "body", b"")
    return size + (len(body) if isinstance(body, str | bytes) else 0)


class LRUCache(Generic[K, V]):
    """Least recently used values: at most `size` of them and `max_bytes` in all (by `weigh`),
    none bigger than `max_entry_bytes`; size 0 turns caching off.

    Not locked: callers use it from the event loop only (renders and executions run in threads,
    the cache is read before and written after them).
    """

    def __init__(
        self,
        size: int,
        *,
        max_bytes: int = 64 * 1024 * 1024,
        max_entry_bytes: int = 1024 * 1024,
        weigh: Callable[[K, V], int] = _weight,
    ) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.weigh = weigh
        self.bytes = 0
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def get(self, key: K) -> V | None:
        found = self._items.get(key)
        if found is None:
            return None
        self._items.move_to_end(key)
        return found[0]

    def put(self, key: K, value: V) -> None:
        if self.size <= 0:
            return
        weight = self.weigh(key, value)
        if weight > min(self.max_entry_bytes, self.max_bytes):
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        self._items[key] = (value, weight)
        self.bytes += weight
        while len(self._items) > self.size or self.bytes > self.max_bytes:
            _, (_, dropped) = self._items.popitem(last=False)
            self.bytes -= dropped

    def __len__(self) -> int:
        return len(self._items)


class ResponseCache(LRUCache[Key, bytes]):
    """GraphQL results (the `data` of successful executions, serialized once), by `cache_key`.

    Keeping the JSON bytes rather than the result dict saves re-serializing a large page on every
    hit; the per-request `extensions` are spliced around them."""
