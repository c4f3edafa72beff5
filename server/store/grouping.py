"""Groups of records kept in an order, built once and patched on a reload.

A snapshot's derived indexes map keys to tuples of records in some order (label order, id). A
patched snapshot (server/store/snapshot.py `patch_snapshot`) makes each touched tuple anew from the
previous one: the records of the changed ids left out, their current versions put back in place by
bisection, never by sorting or scanning everything again.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")


def copied(mapping: Mapping[K, V]) -> dict[K, V]:
    """A dict copy of a dict or of a read-only view of one: `.copy()` copies the table in C,
    `dict(view)` looks every key up again (30x slower at a million entries)."""
    if isinstance(mapping, (dict, MappingProxyType)):
        return mapping.copy()
    return dict(mapping)


def group(items: Iterable[V], key: Callable[[V], K]) -> dict[K, list[V]]:
    grouped: dict[K, list[V]] = defaultdict(list)
    for item in items:
        grouped[key(item)].append(item)
    return grouped


def freeze_lists(grouped: Mapping[K, list[V]]) -> Mapping[K, tuple[V, ...]]:
    return MappingProxyType({k: tuple(v) for k, v in grouped.items()})


def resorted(
    items: Sequence[V], removed: Iterable[V], added: Iterable[V], key: Callable[[V], Any]
) -> tuple[V, ...]:
    """`items` (sorted by `key`, keys distinct) without `removed` and with `added`, sorted: each
    found and placed by bisection. A removed item that is not there is ignored."""
    kept = list(items)
    for item in removed:
        k = key(item)
        at = bisect_left(kept, k, key=key)
        if at < len(kept) and key(kept[at]) == k:
            del kept[at]
    for item in added:
        insort(kept, item, key=key)
    return tuple(kept)


def spliced(
    items: Sequence[V],
    dropped: Container[str],
    ident: Callable[[V], str],
    blocks: Iterable[tuple[Any, Sequence[V]]],
    key: Callable[[V], Any],
) -> tuple[V, ...]:
    """`items` (in `key` order, where items of one owner are contiguous) without those whose
    owner (`ident`) is in `dropped`, with each (owner's key, its items) block put in place."""
    kept = [v for v in items if ident(v) not in dropped]
    for k, block in blocks:
        at = bisect_left(kept, k, key=key)
        kept[at:at] = block
    return tuple(kept)


def patch_groups(
    groups: Mapping[K, tuple[V, ...]],
    touched: Iterable[K],
    remake: Callable[[K, tuple[V, ...]], tuple[V, ...]],
) -> Mapping[K, tuple[V, ...]]:
    """A copy of `groups` with each touched key's tuple remade from the old one (() if none);
    a key whose tuple is now empty is left out, as a fresh build leaves it out."""
    touched = list(touched)
    if not touched:
        return groups
    patched = copied(groups)
    for k in touched:
        found = remake(k, groups.get(k, ()))
        if found:
            patched[k] = found
        else:
            patched.pop(k, None)
    return MappingProxyType(patched)
