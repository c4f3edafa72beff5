"""An immutable in-memory snapshot of one dataset version, and the indexes resolvers read.

Built once per version from a `LoadResult` (after validation conforms); after that GraphQL requests
are dictionary lookups over frozen records, and the pages' local text copies (read at build time)
are in memory too. Linked data's descriptions come from rdflib graphs that are the snapshot's
implementation detail (`graphs`), built on first use, off the event loop.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from rdflib.term import Node

from server.load.loader import LoadResult
from server.model.description import Description
from server.model.graph_reader import GraphReader
from server.model.records import (
    Concept,
    Definition,
    Entity,
    ExternalCode,
    Fact,
    Relation,
    SearchHit,
)
from server.model.registry import BROADER, Registry, read_registry
from server.rdf.namespaces import RDF_TYPE
from server.rdf.triple_index import Index
from server.settings import Settings
from server.store.dataset_graphs import DatasetGraphs
from server.store.history import VersionPrint
from server.store.label_index import LabelIndex, normalize
from server.store.protocol import DatasetChanged, normalize_text
from server.validate.shacl import shacl_triples

K = TypeVar("K")
V = TypeVar("V")


class Snapshot:
    """One dataset version, read-only. Implements `server.store.protocol.Store`."""

    def __init__(
        self,
        *,
        version: str,
        triple_count: int,
        loaded_at: datetime,
        entities: Mapping[str, Entity],
        relations: Mapping[str, Relation],
        concepts: Mapping[str, Concept],
        codes: Mapping[str, ExternalCode],
        definitions: Mapping[str, Definition],
        registry: Registry,
        graphs: DatasetGraphs,
        page_texts: Mapping[str, str] = MappingProxyType({}),
        previous: Snapshot | None = None,
    ) -> None:
        """previous: the snapshot of the version before an edit (patch_snapshot), whose search
        index lends its word stems."""
        self._version = version
        self._registry = registry
        self._graphs = graphs
        self._page_texts = MappingProxyType(dict(page_texts))
        self._triple_count = triple_count
        self._loaded_at = loaded_at
        self._entities = MappingProxyType(dict(entities))
        self._relations = MappingProxyType(dict(relations))
        self._concepts = MappingProxyType(dict(concepts))
        self._codes = MappingProxyType(dict(codes))
        self._definitions = MappingProxyType(dict(definitions))
        ordered = sorted(self._entities.values(), key=_order)
        self._ordered: tuple[Entity, ...] = tuple(ordered)
        self._by_kind = _freeze_lists(_group(ordered, lambda e: e.kind))
        self._kind_groups: dict[frozenset[str], tuple[Entity, ...]] = {}
        self._by_iri = MappingProxyType(
            {e.iri: e.id for e in ordered} | {r.iri: r.id for r in self._relations.values()}
        )
        self._concept_by_iri = MappingProxyType({c.iri: c for c in self._concepts.values()})
        self._labels: LabelIndex = LabelIndex(
            ordered, previous._labels if previous is not None else None
        )
        self._evidence = _freeze_lists(
            _group(self._relations.values(), lambda r: (r.subject, r.predicate, r.object))
        )
        self._referrers = _freeze_lists(_referrers(ordered))
        self._facts_about = _freeze_lists(_facts_about(ordered, self._relations))
        self._facts = tuple(e for e in ordered if isinstance(e, Fact))
        self._pages = PageIndex(ordered, self._relations.values())

    # -- dataset

    @property
    def version(self) -> str:
        return self._version

    @property
    def triple_count(self) -> int:
        return self._triple_count

    @property
    def loaded_at(self) -> datetime:
        return self._loaded_at

    @property
    def graphs(self) -> DatasetGraphs:
        """The rdflib graphs `describe` reads (not part of the Store protocol)."""
        return self._graphs

    @property
    def registry(self) -> Registry:
        return self._registry

    # -- lookups

    def entity(self, id_or_iri: str) -> Entity | None:
        key = self._by_iri.get(id_or_iri, id_or_iri)
        return self._entities.get(key)

    def entities(self, kinds: Sequence[str] = ()) -> Sequence[Entity]:
        if not kinds:
            return self._ordered
        wanted = frozenset(kinds)
        if len(wanted) == 1:
            return self._by_kind.get(next(iter(wanted)), ())
        found = self._kind_groups.get(wanted)
        if found is None:
            # A memo, not state: the answer for a set of kinds never changes in a snapshot, and
            # callers ask for a handful of fixed sets (all treatments, all sources).
            found = tuple(e for e in self._ordered if e.kind in wanted)
            self._kind_groups[wanted] = found
        return found

    def search(self, text: str, kinds: Sequence[str] = ()) -> Sequence[SearchHit]:
        return self._labels.search(text, kinds)

    def facts(
        self,
        about: str | None = None,
        measure: str | None = None,
        *,
        related: bool = False,
        page: str | None = None,
        source: str | None = None,
        kind: str | None = None,
    ) -> Sequence[Fact]:
        found: Sequence[Fact] = self._facts
        if about is not None:
            key = self._by_iri.get(about, about)
            found = self._facts_about.get(key, ())
            if related:
                found = self._facts_related(key, found)
        for wanted, index in ((page, self._pages.facts_from), (source, self._pages.facts_of)):
            if wanted is not None:
                allowed = {f.id for f in index.get(self._by_iri.get(wanted, wanted), ())}
                found = tuple(f for f in found if f.id in allowed)
        if kind is not None:
            found = tuple(f for f in found if f.is_a(kind))
        if measure is not None:
            concept = self.concept(measure)
            wanted_measure = concept.id if concept else measure
            found = tuple(f for f in found if f.measure == wanted_measure)
        return found

    def _facts_related(self, key: str, direct: Sequence[Fact]) -> Sequence[Fact]:
        """Facts about `key` or about anything it links to, in the snapshot's order."""
        entity = self._entities.get(key)
        ids = {f.id for f in direct}
        for _, targets in entity.links if entity is not None else ():
            for target in targets:
                ids.update(f.id for f in self._facts_about.get(target, ()))
        return tuple(f for f in self._facts if f.id in ids)

    def pages_of(self, id: str) -> Sequence[str]:
        return self._pages.pages_of.get(id, ())

    def page_entities(self, page: str) -> Sequence[str]:
        return self._pages.entities_of.get(page, ())

    def relations_from(self, source: str) -> Sequence[Relation]:
        return self._pages.relations_from.get(source, ())

    def describe(self, iri: str) -> Description | None:
        return self._graphs.describe(iri)

    def page_text(self, id: str) -> str | None:
        return self._page_texts.get(id)

    def relation(self, id_or_iri: str) -> Relation | None:
        return self._relations.get(self._by_iri.get(id_or_iri, id_or_iri))

    def evidence(self, subject: str, predicate: str, obj: str) -> Sequence[Relation]:
        return self._evidence.get((subject, predicate, obj), ())

    def referrers(self, id: str) -> Sequence[tuple[str, str]]:
        return self._referrers.get(id, ())

    def concept(self, id_or_iri: str) -> Concept | None:
        return self._concepts.get(id_or_iri) or self._concept_by_iri.get(id_or_iri)

    def concepts(self, scheme: str) -> Sequence[Concept]:
        return tuple(
            sorted(
                (c for c in self._concepts.values() if c.scheme == scheme),
                key=lambda c: c.label(),
            )
        )

    def schemes(self) -> Sequence[str]:
        return sorted({c.scheme for c in self._concepts.values()})

    def code(self, id: str) -> ExternalCode | None:
        return self._codes.get(id)

    def definition(self, id: str) -> Definition | None:
        return self._definitions.get(id)

    def version_print(self, previous: VersionPrint | None) -> VersionPrint | None:
        """What the change feed keeps of this version (server/store/history.py); None when the
        files a snapshot restored from the start-up cache reads have changed since."""
        try:
            files = self._graphs.data_files()
        except DatasetChanged:
            return None
        return VersionPrint.of(
            self._version,
            files,
            self._entities.values(),
            self._relations.values(),
            self._concepts.values(),
            previous,
        )

    def state(self) -> dict[str, Any]:
        """What the start-up cache keeps: the records; the indexes are rebuilt from them."""
        return {
            "version": self._version,
            "triple_count": self._triple_count,
            "entities": dict(self._entities),
            "relations": dict(self._relations),
            "concepts": dict(self._concepts),
            "codes": dict(self._codes),
            "definitions": dict(self._definitions),
            "registry": self._registry,
            "page_texts": dict(self._page_texts),
        }

    def __repr__(self) -> str:
        return f"<Snapshot {self._version} entities={len(self._entities)}>"


def build_snapshot(
    loaded: LoadResult, settings: Settings | None = None, index: Index | None = None
) -> Snapshot:
    """Read every record out of a loaded (and validated) project into a new snapshot.

    `index` is validation's index of the same project (`Outcome.index`), reused when given so
    the triples are indexed once; the snapshot keeps no reference to it."""
    settings = settings or Settings()
    # The build allocates hundreds of thousands of long-lived objects and frees almost none;
    # the cyclic collector would rescan them again and again, so it pauses meanwhile.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(loaded, settings, index)
    finally:
        if was_enabled:
            gc.enable()


def _build(loaded: LoadResult, settings: Settings, index: Index | None) -> Snapshot:
    id_prefix = settings.id_namespace
    registry, _ = read_registry(t for f in loaded.files if f.kind == "ontology" for t in f.triples)
    # The data and the vocabulary (concept schemes), as SHACL sees them; shapes are not part of
    # the dataset. The reader is local: the index is freed with it unless the caller keeps it.
    reader = GraphReader(index or Index(shacl_triples(loaded)), id_prefix, registry)
    graphs = DatasetGraphs(loaded)
    entities = {e.id: e for e in reader.entities()}
    return Snapshot(
        version=loaded.version,
        triple_count=graphs.triple_count(),
        loaded_at=datetime.now(UTC),
        entities=entities,
        relations={r.id: r for r in reader.relations()},
        concepts={c.id: c for c in reader.concepts()},
        codes={c.id: c for c in reader.codes()},
        definitions={d.id: d for d in reader.definitions()},
        registry=registry,
        graphs=graphs,
        page_texts=page_texts(loaded.root, entities.values()),
    )


def patch_snapshot(
    previous: Snapshot,
    loaded: LoadResult,
    index: Index,
    changed: Iterable[Node],
    data_delta: int,
    settings: Settings | None = None,
) -> Snapshot:
    """The snapshot of loaded, made from previous (of the version before an edit of kg/ only) by
    reading again the records of the nodes whose description changed and of the nodes linking to
    them (a fact reads whether what it is about is an assertion). index holds loaded's triples;
    data_delta is how many distinct kg/ triples the edit added (negative: removed). previous is
    not changed: requests still reading it keep their version. Equal to build_snapshot(loaded),
    which tests/test_incremental_reload.py checks on random edits."""
    settings = settings or Settings()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        nodes = set(changed)
        nodes.update(r for n in list(nodes) for r in index.referrers(n))
        reader = GraphReader(_Restricted(index, nodes), settings.id_namespace, previous.registry)
        state = previous.state()
        tables: dict[str, dict[str, Any]] = {
            name: state[name]
            for name in ("entities", "relations", "concepts", "codes", "definitions")
        }
        for n in nodes:
            ident, text = reader.ident(n), str(n)
            for name in ("entities", "relations", "codes", "definitions"):
                record = tables[name].get(ident)
                if record is not None and getattr(record, "iri", text) == text:
                    del tables[name][ident]
            concept = tables["concepts"].get(reader.concept_id(n))
            if concept is not None and concept.iri == text:
                del tables["concepts"][concept.id]
        for name, records in (
            ("entities", reader.entities()),
            ("relations", reader.relations()),
            ("concepts", reader.concepts()),
            ("codes", reader.codes()),
            ("definitions", reader.definitions()),
        ):
            tables[name].update((r.id, r) for r in records)
        entities = tables["entities"]
        return Snapshot(
            version=loaded.version,
            triple_count=previous.triple_count + data_delta,
            loaded_at=datetime.now(UTC),
            entities=entities,
            relations=tables["relations"],
            concepts=tables["concepts"],
            codes=tables["codes"],
            definitions=tables["definitions"],
            registry=previous.registry,
            graphs=DatasetGraphs(loaded),
            page_texts=page_texts(loaded.root, entities.values()),
            previous=previous,
        )
    finally:
        if was_enabled:
            gc.enable()


class _Restricted(Index):
    """An index that shows a GraphReader only some subjects (their values are all there)."""

    def __init__(self, index: Index, nodes: Iterable[Node]) -> None:  # no build: a view
        self.out = index.out
        self._subclass = index._subclass
        self._supers = index._supers
        self._incoming = None
        self._refs = None
        self._nodes = [n for n in nodes if n in index.out]
        self.instances = defaultdict(list)
        for n in self._nodes:
            for t in index.values(n, RDF_TYPE):
                for c in index.superclasses(t):
                    self.instances[c].append(n)

    def subjects_with(self, predicate: Node) -> list[Node]:
        return [n for n in self._nodes if predicate in self.out[n]]


def page_texts(root: Path, entities: Iterable[Entity]) -> dict[str, str]:
    """Each source's local text copy (kg/<path>), whitespace-normalized, by source id; read once
    per version so that rendering never reads a file. Validation has checked every copy."""
    found: dict[str, str] = {}
    kg = (root / "kg").resolve()
    for e in entities:
        copy = getattr(e, "local_copy", None)
        if not copy:
            continue
        path = (kg / copy).resolve()
        try:
            if path.is_relative_to(kg):
                found[e.id] = normalize_text(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue  # validation reports it (KG-SOURCE-COPY); the page just has no text here
    return found


def _order(entity: Entity) -> tuple[str, str]:
    return (normalize(entity.label()), entity.id)


def _referrers(entities: Sequence[Entity]) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for e in entities:
        for predicate, targets in _links(e):
            for target in targets:
                found[target].append((e.id, predicate))
    return found


def _links(e: Entity) -> list[tuple[str, tuple[str, ...]]]:
    return [*e.links, (BROADER, e.broader)]


def _facts_about(
    entities: Sequence[Entity], relations: Mapping[str, Relation]
) -> dict[str, list[Fact]]:
    """A fact about a relation is also about both ends of it (fibrosis, and the condition)."""
    found: dict[str, list[Fact]] = defaultdict(list)
    for e in entities:
        if not isinstance(e, Fact):
            continue
        keys: dict[str, None] = dict.fromkeys(e.about)
        for rid in e.about_relations:
            keys[rid] = None
            rel = relations.get(rid)
            if rel:
                keys[rel.subject] = None
                keys[rel.object] = None
        for key in keys:
            found[key].append(e)
    return found


class PageIndex:
    """What each source says: the facts and relations derived from it, the facts that cite it,
    and, for web pages, the entities they speak of (and the reverse: the pages of an entity)."""

    def __init__(self, ordered: Sequence[Entity], relations: Iterable[Relation]) -> None:
        pages = {e.id for e in ordered if e.is_a("WebPage")}
        from_: dict[str, list[Fact]] = defaultdict(list)
        of: dict[str, list[Fact]] = defaultdict(list)
        said: dict[str, list[Relation]] = defaultdict(list)
        speaks: dict[str, dict[str, None]] = defaultdict(dict)
        for r in sorted(relations, key=lambda r: r.id):
            for s in r.sources:
                said[s].append(r)
                speaks[s].update(dict.fromkeys((r.subject, r.object)))
        by_id = {r.id: r for rs in said.values() for r in rs}
        for e in ordered:
            for s in e.sources:
                if not isinstance(e, Fact):
                    speaks[s][e.id] = None
                    continue
                from_[s].append(e)
                speaks[s].update(dict.fromkeys(e.about))
                for rid in e.about_relations:
                    rel = by_id.get(rid)
                    if rel is not None:
                        speaks[s].update(dict.fromkeys((rel.subject, rel.object)))
            if isinstance(e, Fact):
                for s in dict.fromkeys((*e.sources, *e.cited_sources)):
                    of[s].append(e)
        rank = {e.id: i for i, e in enumerate(ordered) if not isinstance(e, Fact)}
        entities = {
            p: tuple(
                sorted((i for i in speaks.get(p, {}) if i in rank and i != p), key=rank.__getitem__)
            )
            for p in pages
        }
        back: dict[str, list[str]] = defaultdict(list)
        for p in sorted(pages, key=lambda p: rank[p]):
            for i in entities[p]:
                back[i].append(p)
        self.facts_from = _freeze_lists(from_)
        self.facts_of = _freeze_lists(of)
        self.relations_from = _freeze_lists(said)
        self.entities_of: Mapping[str, tuple[str, ...]] = MappingProxyType(entities)
        self.pages_of = _freeze_lists(back)


def _group(items: Iterable[V], key: Callable[[V], K]) -> dict[K, list[V]]:
    grouped: dict[K, list[V]] = defaultdict(list)
    for item in items:
        grouped[key(item)].append(item)
    return grouped


def _freeze_lists(grouped: Mapping[K, list[V]]) -> Mapping[K, tuple[V, ...]]:
    return MappingProxyType({k: tuple(v) for k, v in grouped.items()})
