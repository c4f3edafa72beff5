"""Search over a patched snapshot: the index of an earlier version plus a small one of what changed.

Building a `LabelIndex` costs seconds at a million triples, and an edit of one file changes a few
entities. So a patched snapshot (server/store/snapshot.py `patch_snapshot`) searches through a
`LayeredIndex`: the *base* (the full index of the version last built from scratch, shared by every
version patched from it and never changed), the base's entities left out (*masked*: changed or
removed since), and an *overlay*: a `LabelIndex` of the entities added or changed since, current
versions. An entity's score depends only on its own labels and texts, so each layer scores its
own entities as a fresh index would; the two rankings are merged by score, then label order, and
the result is the one a fresh index of the whole version gives (tests/test_layered_index.py).

Entity numbers: the base's own, then `len(base)` + the overlay's; a row of the overlay is kept as
`-1 - row` (rows only matter to `hit`). The base's kept rankings (per query, all kinds) stay valid
across versions: the masked entities are dropped from them, not scored again.

The overlay is rebuilt at each patch (it is small); once it holds more than a share of the base
(`search_overlay_percent`), the patch builds a whole new index instead.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Mapping, Sequence

from server.model.records import Entity, SearchHit
from server.store.label_index import LabelIndex, Query, label_order
from server.store.search_rankings import Ranked, Ranking, Rankings


class LayeredIndex(LabelIndex):
    """A base index, some of its entities masked, and an overlay index; immutable."""

    def __init__(
        self,
        base: LabelIndex,
        base_entities: Sequence[Entity],
        masked: frozenset[int],
        overlay: Sequence[Entity],
    ) -> None:
        """base_entities: the entities base was built from, in label order (its numbering);
        masked: the numbers of those no longer current; overlay: the current entities that are
        not in base unmasked, in label order."""
        # Not LabelIndex.__init__: this index holds two others.
        self.base, self.base_entities = base, base_entities
        self.masked = masked
        self.overlay_entities = tuple(overlay)
        self.overlay = LabelIndex(self.overlay_entities, base)
        self._stem = base._stem
        size, count = len(base_entities), len(self.overlay_entities)
        self._size = size
        # Each overlay entity's place among the base's (they are all distinct in label order):
        # a merged order key, base entity n -> n*(count+1)+count, overlay m placed before base
        # entity p -> p*(count+1)+m.
        self._places = tuple(
            bisect_left(base_entities, label_order(e), key=label_order) * (count + 1) + m
            for m, e in enumerate(self.overlay_entities)
        )
        self._kinds = _Kinds(base._kinds, self.overlay._kinds, size)  # type: ignore[assignment]
        rows = len(base) + len(self.overlay)
        for n in masked:
            e = base_entities[n]
            rows -= len(e.labels) + len(e.alt_labels)
        self._rows = rows
        self._rankings = Rankings()

    def __len__(self) -> int:
        return self._rows

    @property
    def entity_count(self) -> int:
        """Entities searched (the base's unmasked, and the overlay's)."""
        return self._size - len(self.masked) + len(self.overlay_entities)

    def _order(self, n: int) -> int:
        count = len(self.overlay_entities)
        return n * (count + 1) + count if n < self._size else self._places[n - self._size]

    def rank(self, query: Query, kinds: Sequence[str] = ()) -> list[tuple[int, float, int]]:
        base, wanted, masked = self.base, frozenset(kinds), self.masked
        ranking = base._rankings.get((query.text, frozenset()), lambda: Ranking(base.rank(query)))
        kind = base._kinds
        merged: list[Ranked] = [
            r for r in ranking if r[0] not in masked and (not wanted or kind[r[0]] in wanted)
        ]
        order = self._order

        def key(r: Ranked) -> tuple[float, int]:
            return (-r[1], order(r[0]))

        size = self._size
        for m, score, row in self.overlay.rank(query, kinds):
            insort(merged, (size + m, score, -1 - row), key=key)
        return merged

    def hit(self, query: Query, n: int, score: float, row: int) -> SearchHit:
        if n < self._size:
            return self.base.hit(query, n, score, row)
        return self.overlay.hit(query, n - self._size, score, -1 - row)

    def forget_rankings(self) -> None:
        self._rankings.clear()
        self.base.forget_rankings()


class _Kinds(Sequence[str]):
    """The kinds of a layered index's entities, by its numbers."""

    def __init__(self, base: Sequence[str], overlay: Sequence[str], size: int) -> None:
        self._base, self._overlay, self._size = base, overlay, size

    def __len__(self) -> int:
        return self._size + len(self._overlay)

    def __getitem__(self, n: int) -> str:  # type: ignore[override]
        return self._base[n] if n < self._size else self._overlay[n - self._size]


def layered(
    previous: LabelIndex,
    previous_entities: Sequence[Entity],
    changed: Mapping[str, Entity | None],
    before: Mapping[str, Entity],
    ordered: Sequence[Entity],
    max_share: float,
) -> LabelIndex:
    """The search index of a version made from `previous`'s (of `previous_entities`, in label
    order) by `changed` (each changed entity's id, and its current record or None if removed;
    `before`: their records in the previous version, if any); `ordered` is every current entity
    in label order. A layered index, or a fresh one once the overlay would hold more than
    `max_share` of the base's entities."""
    if isinstance(previous, LayeredIndex):
        base, base_entities = previous.base, previous.base_entities
        masked = set(previous.masked)
        overlay = {e.id: e for e in previous.overlay_entities}
    else:
        base, base_entities = previous, previous_entities
        masked, overlay = set(), {}
    for id, entity in changed.items():
        if overlay.pop(id, None) is None and id in before:
            # Its previous record is the base's (not changed since the base was built): found
            # by bisection, where it is in the base's label order.
            key = label_order(before[id])
            n = bisect_left(base_entities, key, key=label_order)
            if n < len(base_entities) and base_entities[n].id == id:
                masked.add(n)
        if entity is not None:
            overlay[id] = entity
    if len(overlay) > max_share * len(base_entities):
        return LabelIndex(ordered, base)
    return LayeredIndex(
        base, base_entities, frozenset(masked), sorted(overlay.values(), key=label_order)
    )
