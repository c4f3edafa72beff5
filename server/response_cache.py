"""A small LRU cache of GraphQL results. Snapshots are immutable, so a result keyed by the dataset
version and the exact request can be reused until the version changes."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

Key = tuple[str, str, str, str]


def cache_key(
    version: str, query: str, variables: dict[str, Any] | None, operation: str | None
) -> Key:
    """The key of one request: canonical JSON for the variables, so key order does not matter."""
    canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"), default=str)
    return (version, query, canonical, operation or "")


class ResponseCache:
    """Least recently used results, at most `size` of them; size 0 turns caching off."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Key, dict[str, Any]] = OrderedDict()

    def get(self, key: Key) -> dict[str, Any] | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: Key, result: dict[str, Any]) -> None:
        if self.size <= 0:
            return
        self._items[key] = result
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
