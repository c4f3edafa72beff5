"""What each source says, built for one snapshot version and patched for the next."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from types import MappingProxyType

from server.model.records import Entity, Fact, Relation
from server.store.grouping import freeze_lists, patch_groups, resorted
from server.store.label_index import label_order


class PageIndex:
    """What each source says: the facts and relations derived from it, the facts that cite it,
    and, for web pages, the entities they speak of (and the reverse: the pages of an entity)."""

    facts_from: Mapping[str, tuple[Fact, ...]]
    facts_of: Mapping[str, tuple[Fact, ...]]
    relations_from: Mapping[str, tuple[Relation, ...]]
    others_from: Mapping[str, frozenset[str]]  # the other entities derived from a source
    entities_of: Mapping[str, tuple[str, ...]]
    pages_of: Mapping[str, tuple[str, ...]]
    _sourced: Mapping[str, Relation]  # the relations that have a source, by id

    def __init__(self, ordered: Sequence[Entity], relations: Mapping[str, Relation]) -> None:
        self._sourced = _Sourced(relations)
        pages = {e.id for e in ordered if e.is_a("WebPage")}
        from_: dict[str, list[Fact]] = defaultdict(list)
        of: dict[str, list[Fact]] = defaultdict(list)
        said: dict[str, list[Relation]] = defaultdict(list)
        others: dict[str, set[str]] = defaultdict(set)
        for r in sorted(relations.values(), key=lambda r: r.id):
            for s in r.sources:
                said[s].append(r)
        for e in ordered:
            for s in e.sources:
                if isinstance(e, Fact):
                    from_[s].append(e)
                else:
                    others[s].add(e.id)
            if isinstance(e, Fact):
                for s in dict.fromkeys((*e.sources, *e.cited_sources)):
                    of[s].append(e)
        self.facts_from = freeze_lists(from_)
        self.facts_of = freeze_lists(of)
        self.relations_from = freeze_lists(said)
        self.others_from = MappingProxyType({s: frozenset(ids) for s, ids in others.items()})
        rank = {e.id: i for i, e in enumerate(ordered) if not isinstance(e, Fact)}
        entities = {
            p: tuple(sorted((i for i in self._speaks(p) if i in rank), key=rank.__getitem__))
            for p in pages
        }
        back: dict[str, list[str]] = defaultdict(list)
        for p in sorted(pages, key=lambda p: rank[p]):
            for i in entities[p]:
                back[i].append(p)
        self.entities_of = MappingProxyType(entities)
        self.pages_of = freeze_lists(back)

    def _speaks(self, page: str) -> dict[str, None]:
        """The ids a source speaks of (whatever they are), but itself: the ends of its
        relations, its other entities, what its facts are about (a relation: both ends)."""
        speaks: dict[str, None] = {}
        said = self.relations_from.get(page, ())
        for r in said:
            speaks.update(dict.fromkeys((r.subject, r.object)))
        speaks.update(dict.fromkeys(self.others_from.get(page, ())))
        for f in self.facts_from.get(page, ()):
            speaks.update(dict.fromkeys(f.about))
            for rid in f.about_relations:
                rel = self._sourced.get(rid)
                if rel is not None:
                    speaks.update(dict.fromkeys((rel.subject, rel.object)))
        speaks.pop(page, None)
        return speaks

    def patched(
        self,
        entities: Mapping[str, Entity],
        relations: Mapping[str, Relation],
        old: Mapping[str, Entity],
        new: Mapping[str, Entity],
        old_relations: Collection[Relation],
        new_relations: Collection[Relation],
    ) -> PageIndex:
        """This index for a version whose records are `entities` and `relations`, made from
        this one (left as it is) where the records `old` were replaced by `new` (by id: every
        record read again, changed or not) and `old_relations` by `new_relations`."""
        sources: set[str] = set()
        for e in (*old.values(), *new.values()):
            sources.update(e.sources)
            if isinstance(e, Fact):
                sources.update(e.cited_sources)
            if e.is_a("WebPage"):
                sources.add(e.id)
        for r in (*old_relations, *new_relations):
            sources.update(r.sources)
        for id in (*old, *new):
            sources.update(self.pages_of.get(id, ()))
        ids = old.keys() | new.keys()
        rids = {r.id for r in (*old_relations, *new_relations)}
        facts = [e for e in new.values() if isinstance(e, Fact)]
        index = PageIndex.__new__(PageIndex)
        index._sourced = _Sourced(relations)
        index.facts_from = patch_groups(
            self.facts_from,
            sources,
            lambda s, had: resorted(
                had,
                [f for f in had if f.id in ids],
                [f for f in facts if s in f.sources],
                label_order,
            ),
        )
        index.facts_of = patch_groups(
            self.facts_of,
            sources,
            lambda s, had: resorted(
                had,
                [f for f in had if f.id in ids],
                [f for f in facts if s in f.sources or s in f.cited_sources],
                label_order,
            ),
        )
        index.relations_from = patch_groups(
            self.relations_from,
            sources,
            lambda s, had: resorted(
                had,
                [r for r in had if r.id in rids],
                [r for r in new_relations if s in r.sources],
                lambda r: r.id,
            ),
        )
        others = dict(self.others_from)
        for s in sources:
            found = (others.get(s, frozenset()) - ids) | {
                e.id for e in new.values() if not isinstance(e, Fact) and s in e.sources
            }
            if found:
                others[s] = frozenset(found)
            else:
                others.pop(s, None)
        index.others_from = MappingProxyType(others)
        spoken = dict(self.entities_of)
        touched: dict[str, None] = {}
        for s in sources:
            touched.update(dict.fromkeys(spoken.pop(s, ())))
            page = entities.get(s)
            if page is not None and page.is_a("WebPage"):
                spoken[s] = tuple(
                    sorted(
                        (i for i in index._speaks(s) if _other(entities.get(i))),
                        key=lambda i: label_order(entities[i]),
                    )
                )
                touched.update(dict.fromkeys(spoken[s]))
        index.entities_of = MappingProxyType(spoken)
        index.pages_of = patch_groups(
            self.pages_of,
            touched,
            lambda i, had: resorted(
                tuple(p for p in had if p not in sources),
                (),
                [s for s in sources if i in spoken.get(s, ())],
                lambda p: label_order(entities[p]),
            ),
        )
        return index


def _other(entity: Entity | None) -> bool:
    return entity is not None and not isinstance(entity, Fact)


class _Sourced(Mapping[str, Relation]):
    """The relations that have a source, by id (a view of all of them)."""

    def __init__(self, relations: Mapping[str, Relation]) -> None:
        self._relations = relations

    def __getitem__(self, rid: str) -> Relation:
        r = self._relations[rid]
        if not r.sources:
            raise KeyError(rid)
        return r

    def __iter__(self) -> Iterator[str]:
        return (rid for rid, r in self._relations.items() if r.sources)

    def __len__(self) -> int:
        return sum(1 for _ in self)
