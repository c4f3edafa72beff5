"""Small LRU caches of rendered answers. Snapshots are immutable, so an answer keyed by the dataset
version and the exact request can be reused until the version changes: GraphQL results here, and
the linked-data pages of `server.http.content_routes`."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")
Key = tuple[str, str, str, str]


def cache_key(
    version: str, query: str, variables: dict[str, Any] | None, operation: str | None
) -> Key:
    """The key of one request: canonical JSON for the variables, so key order does not matter."""
    canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"), default=str)
    return (version, query, canonical, operation or "")


class LRUCache(Generic[K, V]):
    """Least recently used values, at most `size` of them; size 0 turns caching off.

    Not locked: callers use it from the event loop only (renders may run in threads, the cache
    is read before and written after them).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> None:
        if self.size <= 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class ResponseCache(LRUCache[Key, bytes]):
    """GraphQL results (the `data` of successful executions, serialized once), by `cache_key`.

    Keeping the JSON bytes rather than the result dict saves re-serializing a large page on every
    hit; the per-request `extensions` are spliced around them."""
