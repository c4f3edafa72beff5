"""Long-lived objects kept out of the cyclic garbage collector's walk.

A snapshot is millions of long-lived objects at a million triples. The collector's full
collection walks every tracked object that is not frozen, and every thread waits for it: a
300 ms pause per full collection if the snapshot were walked, which is the tail a reader sees.
Frozen objects (`gc.freeze`) are never walked; they are still freed by reference counting, and a
snapshot holds no reference cycles (tests/test_settle_heap.py checks that a patched reload frees
what it replaced).

Two callers: `serve` before it listens and after each reload (`settle_heap`), and the resolver
memo as it grows (server/schema/memo.py), whose values live as long as the snapshot they were
derived from.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def settle_heap(whole: bool = True) -> None:
    """Move the snapshot out of the cyclic garbage collector's sight, before serving.

    A snapshot is hundreds of thousands of long-lived objects; every full collection would walk
    them all while requests wait (the p99 tail under load). Frozen objects are never scanned;
    they are still freed by reference counting when a reload drops the snapshot. After a full
    reload the old snapshot's cycles are collected first (unfreeze), then the new one is frozen.

    whole=False, after a patched reload (server/store/snapshot.py `patch_snapshot`): only what
    is not frozen yet is collected (the patch and the reload's own garbage), then frozen. The
    frozen heap is not walked again (1.3 s at a million triples): a snapshot holds no reference
    cycles, so the records a patch replaced and the version it swapped out are freed by reference
    counting (tests/test_settle_heap.py checks it)."""
    if whole:
        gc.unfreeze()
    gc.collect()
    gc.freeze()


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector paused meanwhile (as it was before, after): for work that allocates
    many objects, frees few and ends with `settle_heap`, which collects what it left. An
    incremental reload at a million triples paid ~0.07 s of young collections without it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
