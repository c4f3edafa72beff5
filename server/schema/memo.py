"""Values the resolvers derive from one store's immutable records, worked out once per store.

A snapshot never changes, so what a resolver derives from its records alone (the entities a
record links to, in label order; the evidence of one relation, wrapped for GraphQL) is the same on
every request that reads that snapshot. `derived(store, key, compute)` keeps such values for the
store the requests read now: a request on another store object (a reload swapped the snapshot in,
or a store that is built per request, like the SPARQL one) starts the memo afresh, so nothing
outlives its store and no value of one version is served for another. At most `LIMIT` values are
kept; past it the memo starts again (a rotation over more edges than that recomputes, as before).

The values live as long as the snapshot, like its records, so they are frozen out of the garbage
collector's walk as the snapshot is (server/store/heap.py): every `SETTLE_EVERY` values, what is
not frozen yet is collected and the rest frozen. Without it, a memo full of the 1,202 condition
pages at a million triples held ~250k tracked objects, and each full collection (which the
in-flight objects of heavy queries bring on) took 200-280 ms while every request waited. Each
settle walks only what came since the last one (~10k objects, a few ms).

What is kept must be immutable, or treated so: tuples, and GraphQL wrapper objects that no
executor mutates. Both executors read the same values, so the compiled and the reference answers
stay equal.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from server.store.heap import settle_heap
from server.store.protocol import Store

T = TypeVar("T")

# Enough for every condition page at 1M triples (46 values a page: each edge's evidence, the
# edge, the sorted lists; ~5,500 for the 119 pages at 100k, 55,292 for the 1,202 at 1M). With
# 20,000 a rotation over the pages at 1M started the memo again every ~400 pages: a page cost
# 3.0 ms of CPU in process instead of 1.1-1.6 warm. A value holds ~0.6 KB (measured at 10k with
# tracemalloc), so the memo stays under ~60 MB (~33 MB at 1M).
LIMIT = 100_000
# Values kept between two settles of the heap (~4.5 tracked objects a value at 1M).
SETTLE_EVERY = 2_048


class _Memo:
    def __init__(self) -> None:
        # (the store, its values), replaced as one object so threads never see half a switch
        self.state: tuple[weakref.ref[Any] | None, dict[Hashable, Any]] = (None, {})


_MEMO = _Memo()


def derived(store: Store, key: Hashable, compute: Callable[[], T]) -> T:
    """The value `compute()` returns for `key` on `store`, computed once per store object."""
    ref, values = _MEMO.state
    if ref is None or ref() is not store:
        try:
            ref = weakref.ref(store)
        except TypeError:  # a store that cannot be referred to weakly: no memo
            return compute()
        values = {}
        _MEMO.state = (ref, values)
    try:
        return values[key]  # type: ignore[no-any-return]
    except KeyError:
        pass
    found = compute()
    if len(values) >= LIMIT:
        values.clear()
    values[key] = found
    if len(values) % SETTLE_EVERY == 0:
        settle_heap(whole=False)
    return found
