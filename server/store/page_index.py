"""What each source says, built for one snapshot version and patched for the next.

A source speaks of the ends of the relations derived from it, of the other entities derived from
it, and of what the facts derived from it are about (for a fact about a relation, both of its
ends). The index keeps, per source, how many of its records speak of each id (`spoken`), so that a
patched version (server/store/snapshot.py `patch_snapshot`) takes away what the records read again
said and adds what they say now, and re-sorts only the ids whose presence or place changed, never
the whole of a page that thousands of facts cite.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType

from server.model.records import Entity, Fact, Relation
from server.store.grouping import copied, freeze_lists, patch_groups, resorted
from server.store.label_index import label_order


class PageIndex:
    """What each source says: the facts and relations derived from it, the facts that cite it,
    and, for web pages, the entities they speak of (and the reverse: the pages of an entity)."""

    facts_from: Mapping[str, tuple[Fact, ...]]
    facts_of: Mapping[str, tuple[Fact, ...]]
    relations_from: Mapping[str, tuple[Relation, ...]]
    spoken: Mapping[str, Mapping[str, int]]  # per source, how many of its records speak of an id
    entities_of: Mapping[str, tuple[str, ...]]
    pages_of: Mapping[str, tuple[str, ...]]

    def __init__(self, ordered: Sequence[Entity], relations: Mapping[str, Relation]) -> None:
        from_: dict[str, list[Fact]] = defaultdict(list)
        of: dict[str, list[Fact]] = defaultdict(list)
        said: dict[str, list[Relation]] = defaultdict(list)
        spoken: dict[str, Counter[str]] = defaultdict(Counter)
        for r in sorted(relations.values(), key=lambda r: r.id):
            for s in r.sources:
                said[s].append(r)
        records: Iterable[Entity | Relation] = (*relations.values(), *ordered)
        for record in records:
            for s, ids in _speaks(record, relations):
                spoken[s].update(ids)
        for e in ordered:
            if isinstance(e, Fact):
                for s in e.sources:
                    from_[s].append(e)
                for s in dict.fromkeys((*e.sources, *e.cited_sources)):
                    of[s].append(e)
        self.facts_from = freeze_lists(from_)
        self.facts_of = freeze_lists(of)
        self.relations_from = freeze_lists(said)
        self.spoken = MappingProxyType({s: dict(c) for s, c in spoken.items()})
        rank = {e.id: i for i, e in enumerate(ordered) if not isinstance(e, Fact)}
        pages = [e.id for e in ordered if e.is_a("WebPage")]  # in label order
        entities = {
            p: tuple(
                sorted(
                    (i for i in self.spoken.get(p, {}) if i in rank and i != p),
                    key=rank.__getitem__,
                )
            )
            for p in pages
        }
        back: dict[str, list[str]] = defaultdict(list)
        for p in pages:
            for i in entities[p]:
                back[i].append(p)
        self.entities_of = MappingProxyType(entities)
        self.pages_of = freeze_lists(back)

    def patched(
        self,
        before: Mapping[str, Entity],
        entities: Mapping[str, Entity],
        old_relations: Mapping[str, Relation],
        relations: Mapping[str, Relation],
        read: tuple[Mapping[str, Entity], Mapping[str, Entity]],
        read_relations: tuple[Collection[Relation], Collection[Relation]],
        changed: Collection[str],
    ) -> PageIndex:
        """This index (left as it is) for the version whose records are `entities` and
        `relations`, the version of this one having `before` and `old_relations`: `read` holds
        the (old, new) versions of the entities read again (changed or not: whatever a changed
        record speaks of, or whose words it changes, is among them), `read_relations` likewise,
        and `changed` the ids of the entities whose record differs."""
        old, new = read
        old_r, new_r = read_relations
        sources: set[str] = set()
        for e in (*old.values(), *new.values()):
            sources.update(e.sources)
            if isinstance(e, Fact):
                sources.update(e.cited_sources)
        for r in (*old_r, *new_r):
            sources.update(r.sources)
        index = PageIndex.__new__(PageIndex)
        old_facts = [e for e in old.values() if isinstance(e, Fact)]
        new_facts = [e for e in new.values() if isinstance(e, Fact)]
        index.facts_from = patch_groups(
            self.facts_from,
            sources,
            lambda s, had: resorted(
                had,
                [f for f in old_facts if s in f.sources],
                [f for f in new_facts if s in f.sources],
                label_order,
            ),
        )
        index.facts_of = patch_groups(
            self.facts_of,
            sources,
            lambda s, had: resorted(
                had,
                [f for f in old_facts if s in f.sources or s in f.cited_sources],
                [f for f in new_facts if s in f.sources or s in f.cited_sources],
                label_order,
            ),
        )
        index.relations_from = patch_groups(
            self.relations_from,
            sources,
            lambda s, had: resorted(
                had,
                [r for r in old_r if s in r.sources],
                [r for r in new_r if s in r.sources],
                lambda r: r.id,
            ),
        )
        spoken = copied(self.spoken)
        counts: dict[str, dict[str, int]] = {}  # the sources' counts being patched (copies)
        flipped: dict[str, set[str]] = defaultdict(set)  # ids a source now speaks of, or not
        steps: tuple[tuple[Iterable[Entity | Relation], Mapping[str, Relation], int], ...] = (
            (old_r, old_relations, -1),
            (new_r, relations, 1),
            (old.values(), old_relations, -1),
            (new.values(), relations, 1),
        )
        for records, rels, step in steps:
            for record in records:
                _count(spoken, counts, flipped, _speaks(record, rels), step)
        for s, c in counts.items():
            if c:
                spoken[s] = c
            else:
                spoken.pop(s, None)
        index.spoken = MappingProxyType(spoken)
        # The pages whose list may change: those whose counts did, those that speak of a changed
        # entity (its place in the list, or whether it is listed), and changed pages.
        pages = set(flipped)
        for i in changed:
            pages.update(self.pages_of.get(i, ()))
            if _page(before.get(i)) or _page(entities.get(i)):
                pages.add(i)
        listed = copied(self.entities_of)
        gone: dict[str, set[str]] = defaultdict(set)  # id -> pages no longer listing it
        came: dict[str, list[str]] = defaultdict(list)  # id -> pages listing it anew
        for p in pages:
            had = listed.pop(p, ())
            if not _page(entities.get(p)):
                for i in had:
                    gone[i].add(p)
                continue
            now = spoken.get(p, {})
            if p in changed or not _page(before.get(p)):  # a new or changed page: all again
                found = tuple(
                    sorted(
                        (i for i in now if i != p and _other(entities.get(i))),
                        key=lambda i: label_order(entities[i]),
                    )
                )
                for i in had:
                    gone[i].add(p)
                for i in found:
                    came[i].append(p)
                listed[p] = found
                continue
            was = self.spoken.get(p, {})
            again = flipped.get(p, set()) | {i for i in changed if i in was or i in now}
            out = [i for i in again if i != p and i in was and _other(before.get(i))]
            into = [i for i in again if i != p and i in now and _other(entities.get(i))]
            kept = resorted(had, out, (), lambda i: label_order(before[i]))
            listed[p] = resorted(kept, (), into, lambda i: label_order(entities[i]))
            for i in out:
                gone[i].add(p)
            for i in into:
                came[i].append(p)
        index.entities_of = MappingProxyType(listed)
        index.pages_of = patch_groups(
            self.pages_of,
            gone.keys() | came.keys(),
            lambda i, had: resorted(
                tuple(p for p in had if p not in gone.get(i, ())),
                (),
                came.get(i, ()),
                lambda p: label_order(entities[p]),
            ),
        )
        return index


def _speaks(
    record: Entity | Relation, relations: Mapping[str, Relation]
) -> Iterator[tuple[str, set[str]]]:
    """(source, the ids it speaks of through this record) for each source of the record."""
    if isinstance(record, Relation):
        ids = {record.subject, record.object}
    elif isinstance(record, Fact):
        ids = set(record.about)
        for rid in record.about_relations:
            rel = relations.get(rid)
            if rel is not None and rel.sources:
                ids.update((rel.subject, rel.object))
    else:
        ids = {record.id}
    for s in record.sources:
        yield s, ids


def _count(
    spoken: Mapping[str, Mapping[str, int]],
    counts: dict[str, dict[str, int]],
    flipped: dict[str, set[str]],
    said: Iterable[tuple[str, set[str]]],
    step: int,
) -> None:
    for s, ids in said:
        c = counts.get(s)
        if c is None:
            c = counts[s] = dict(spoken.get(s, {}))
        for i in ids:
            n = c.get(i, 0) + step
            if n:
                c[i] = n
            else:
                del c[i]
            if n == 0 or (n == 1 and step == 1):
                flipped[s].add(i)


def _page(entity: Entity | None) -> bool:
    return entity is not None and entity.is_a("WebPage")


def _other(entity: Entity | None) -> bool:
    return entity is not None and not isinstance(entity, Fact)
