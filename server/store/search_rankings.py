"""Search rankings kept per query, so that a query reads only the page of results it returns.

Ranking a query scores every label and text row its words select: thousands at a million
triples for a common word ("pain"), while a client reads the first 20. The ranking of a normalized
query never changes within one snapshot version (the index is immutable), so it is computed on
the first search for it and kept in compact columns; every later search for the same words, on
any page, slices it. A ranking restricted to some kinds is the full ranking with the other
kinds' entities left out (each entity's score depends only on its own rows), so it is derived
from the full one, not scored again.

The memo is bounded by the number of entries it holds (12 bytes each), least recently used
first out; a reload builds a new index, and with it an empty memo.
"""

from __future__ import annotations

import sys
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator

# Entries kept across all rankings of one index: about 12 MB at most.
MAX_ENTRIES = 1_000_000

Ranked = tuple[int, float, int]  # (entity number, score, the row that matched)


class Ranking:
    """(entity, score, row) by score, then entity, in three compact columns."""

    __slots__ = ("_entities", "_rows", "_scores")

    def __init__(self, ranked: Iterable[Ranked]) -> None:
        # Transposed and packed in C (zip, array): no Python step per entry.
        entities, scores, rows = list(zip(*ranked, strict=True)) or ((), (), ())
        self._entities = array("i", entities)
        self._scores = array("f", scores)  # every score is a small whole number: exact
        self._rows = array("i", rows)

    def __len__(self) -> int:
        return len(self._entities)

    def at(self, i: int) -> Ranked:
        return self._entities[i], self._scores[i], self._rows[i]

    def __getitem__(self, i: slice) -> list[Ranked]:
        return list(zip(self._entities[i], self._scores[i], self._rows[i], strict=True))

    def __iter__(self) -> Iterator[Ranked]:
        return zip(self._entities, self._scores, self._rows, strict=True)

    def restricted(self, keep: Callable[[int], bool]) -> Ranking:
        """The entries whose entity `keep` accepts, in the same order."""
        return Ranking(r for r in self if keep(r[0]))

    def nbytes(self) -> int:
        """Memory held by the columns."""
        return sum(sys.getsizeof(c) for c in (self._entities, self._scores, self._rows))


class Rankings:
    """A bounded, thread-safe memo of rankings by (normalized query, kinds)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max_entries = max_entries
        self._kept: OrderedDict[tuple[str, frozenset[str]], Ranking] = OrderedDict()
        self._entries = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, frozenset[str]], compute: Callable[[], Ranking]) -> Ranking:
        """The kept ranking for `key`, else `compute()`'s, kept for next time."""
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
        # Computed outside the lock: other queries are not held up; two threads asking for the
        # same new query at once both compute it, and get equal rankings.
        ranking = compute()
        with self._lock:
            if key not in self._kept and len(ranking) <= self._max_entries:
                self._kept[key] = ranking
                self._entries += len(ranking)
                while self._entries > self._max_entries:
                    _, dropped = self._kept.popitem(last=False)
                    self._entries -= len(dropped)
        return ranking

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._entries = 0

    def nbytes(self) -> int:
        """Memory held by the kept rankings' columns."""
        with self._lock:
            return sum(r.nbytes() for r in self._kept.values())

    def __len__(self) -> int:
        return len(self._kept)
