"""An immutable in-memory snapshot of one dataset version, and the indexes resolvers read.

Built once per version from a `LoadResult` (after validation conforms); after that GraphQL requests
are dictionary lookups over frozen records, and the pages' local text copies (read at build time)
are in memory too. Linked data's descriptions come from rdflib graphs that are the snapshot's
implementation detail (`graphs`), built on first use, off the event loop.

A reload after an edit of kg/ (`patch_snapshot`) reads again only the records the edit can
change and patches each derived index for them (server/store/grouping.py, page_index.py): label
order and groups by bisection, search through a `LayeredIndex` over the last index built in full
(layered_index.py). The new version shares everything untouched with the previous one, which
requests still reading it keep unchanged.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

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
from server.model.registry import Registry, read_registry
from server.rdf.namespaces import RDF_TYPE
from server.rdf.triple_index import Index
from server.settings import Settings
from server.store.dataset_graphs import DatasetGraphs
from server.store.entity_links import (
    facts_about,
    patched_facts_about,
    patched_iris,
    patched_referrers,
    referrers,
)
from server.store.grouping import copied, freeze_lists, group, patch_groups, resorted
from server.store.heap import collector_paused
from server.store.history import Edited, VersionPrint
from server.store.label_index import LabelIndex, label_order
from server.store.layered_index import layered
from server.store.made_ahead import MadeAhead
from server.store.page_index import PageIndex
from server.store.protocol import DatasetChanged, normalize_text
from server.validate.shacl import shacl_triples

log = logging.getLogger(__name__)


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
    ) -> None:
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
        ordered = sorted(self._entities.values(), key=label_order)
        self._ordered: tuple[Entity, ...] = tuple(ordered)
        self._by_kind = freeze_lists(group(ordered, lambda e: e.kind))
        self._kind_groups: dict[frozenset[str], tuple[Entity, ...]] = {}
        self._by_iri: Mapping[str, str] = MappingProxyType(
            {e.iri: e.id for e in ordered} | {r.iri: r.id for r in self._relations.values()}
        )
        self._concept_by_iri = MappingProxyType({c.iri: c for c in self._concepts.values()})
        self._labels: LabelIndex = LabelIndex(ordered)
        self._evidence = freeze_lists(
            group(sorted(self._relations.values(), key=_relation_id), _statement)
        )
        self._referrers = freeze_lists(referrers(ordered))
        self._facts_about = freeze_lists(facts_about(ordered, self._relations))
        self._facts = tuple(e for e in ordered if isinstance(e, Fact))
        self._pages = PageIndex(ordered, self._relations)
        self._init_patching()

    def _init_patching(self) -> None:
        self._ahead: MadeAhead[dict[str, dict[str, Any]]] = MadeAhead()  # copy_ahead's tables
        # A patched snapshot: the version it was patched from, and the records that differ.
        self._edited: tuple[str, Edited] | None = None

    def indexes(self) -> dict[str, Any]:
        """Every derived index, comparable (tests check a patched snapshot against a build)."""
        pages = self._pages
        return {
            "ordered": self._ordered,
            "by_kind": dict(self._by_kind),
            "by_iri": dict(self._by_iri),
            "concept_by_iri": dict(self._concept_by_iri),
            "evidence": dict(self._evidence),
            "referrers": dict(self._referrers),
            "facts_about": dict(self._facts_about),
            "facts": self._facts,
            "page_texts": dict(self._page_texts),
            **{
                f"pages.{name}": dict(getattr(pages, name))
                for name in (
                    "facts_from",
                    "facts_of",
                    "relations_from",
                    "spoken",
                    "entities_of",
                    "pages_of",
                )
            },
        }

    def _tables(self) -> dict[str, dict[str, Any]]:
        """Copies of the record tables, by name (patch_snapshot edits them, once): those
        copy_ahead made, else made now."""
        return self._ahead.take(self._copy_tables)

    def _copy_tables(self) -> dict[str, dict[str, Any]]:
        return {
            "entities": copied(self._entities),
            "relations": copied(self._relations),
            "concepts": copied(self._concepts),
            "codes": copied(self._codes),
            "definitions": copied(self._definitions),
        }

    def copy_ahead(self) -> None:
        """Make now, while nothing waits for it, the copies of the record tables that the next
        patch of this version edits (`patch_snapshot`).

        Called by the parent of `serve --workers`/`--watch` once a generation of workers is
        ready. The records' memory is then shared with the workers copy-on-write, and copying a
        table writes the reference count of every record in it: each first write to a shared
        page copies that page (at a million triples, in a probe beside two forked workers:
        30,000 to 39,000 page faults in the patch, 4,700 with the copies made ahead). Made
        ahead, the reload finds the copies made and those pages already the parent's own. A
        reload that comes while the copy is made waits for it rather than copying again. Costs
        one more set of tables (the dicts, not the records)."""
        self._ahead.make(self._copy_tables)

    @classmethod
    def _patched(
        cls,
        previous: Snapshot,
        *,
        version: str,
        triple_count: int,
        graphs: DatasetGraphs,
        tables: dict[str, dict[str, Any]],
        old: Mapping[str, Mapping[str, Any]],
        new: Mapping[str, Mapping[str, Any]],
        root: Path,
        overlay_share: float,
    ) -> Snapshot:
        """The snapshot whose records are `tables`, made from `previous` (not changed) where the
        records `old` (by table, by id) were read again as `new`: each derived index is patched
        for those records only, and shares what did not change with `previous`'s."""
        self = cls.__new__(cls)
        self._init_patching()
        self._version, self._registry, self._graphs = version, previous._registry, graphs
        self._triple_count, self._loaded_at = triple_count, datetime.now(UTC)
        entities, relations = tables["entities"], tables["relations"]
        self._entities = MappingProxyType(entities)
        self._relations = MappingProxyType(relations)
        self._concepts = MappingProxyType(tables["concepts"])
        self._codes = MappingProxyType(tables["codes"])
        self._definitions = MappingProxyType(tables["definitions"])
        read_e, read_r = old["entities"], old["relations"]  # every record read again: old...
        again_e, again_r = new["entities"], new["relations"]  # ... and new versions
        # The records that differ (by id; an entity read again unchanged is left in place).
        gone = {i: e for i, e in read_e.items() if again_e.get(i) != e}
        came = {i: e for i, e in again_e.items() if read_e.get(i) != e}
        gone_r = {i: r for i, r in read_r.items() if again_r.get(i) != r}
        came_r = {i: r for i, r in again_r.items() if read_r.get(i) != r}
        self._ordered = resorted(previous._ordered, gone.values(), came.values(), label_order)
        kinds = {e.kind for e in (*gone.values(), *came.values())}
        self._by_kind = patch_groups(
            previous._by_kind,
            kinds,
            lambda k, had: resorted(
                had,
                [e for e in gone.values() if e.kind == k],
                [e for e in came.values() if e.kind == k],
                label_order,
            ),
        )
        self._kind_groups = {}
        self._by_iri = patched_iris(
            previous._by_iri, [*gone.values(), *gone_r.values()], entities, relations, came, came_r
        )
        gone_c = {i: c for i, c in old["concepts"].items() if new["concepts"].get(i) != c}
        came_c = {i: c for i, c in new["concepts"].items() if old["concepts"].get(i) != c}
        by_iri = copied(previous._concept_by_iri)
        for c in gone_c.values():
            by_iri.pop(c.iri, None)
        for c in gone_c.values():
            kept = self._concepts.get(c.id)
            if kept is not None and kept.iri == c.iri:
                by_iri[c.iri] = kept
        by_iri.update((c.iri, c) for c in came_c.values())
        self._concept_by_iri = MappingProxyType(by_iri)
        self._edited = (
            previous._version,
            Edited(
                (tuple(gone.values()), tuple(came.values())),
                (tuple(gone_r.values()), tuple(came_r.values())),
                (tuple(gone_c.values()), tuple(came_c.values())),
            ),
        )
        changed = {i: entities.get(i) for i in gone.keys() | came.keys()}
        self._labels = layered(
            previous._labels, previous._ordered, changed, gone, self._ordered, overlay_share
        )
        if type(self._labels) is LabelIndex:
            log.info(
                "search index rebuilt in full: the entities changed since it was last built"
                " passed %.3g%% of them",
                overlay_share * 100,
            )
        statements = {_statement(r) for r in (*gone_r.values(), *came_r.values())}
        self._evidence = patch_groups(
            previous._evidence,
            statements,
            lambda st, had: resorted(
                had,
                [r for r in gone_r.values() if _statement(r) == st],
                [r for r in came_r.values() if _statement(r) == st],
                _relation_id,
            ),
        )
        self._referrers = patched_referrers(previous._referrers, gone, came, entities)
        self._facts_about = patched_facts_about(
            previous._facts_about, previous._relations, relations, gone, came, gone_r, came_r
        )
        self._facts = resorted(
            previous._facts,
            [e for e in gone.values() if isinstance(e, Fact)],
            [e for e in came.values() if isinstance(e, Fact)],
            label_order,
        )
        # Facts about a changed relation speak of its ends: read again too (the same records).
        read_e, again_e = dict(read_e), dict(again_e)
        for rid in gone_r.keys() | came_r.keys():
            for f in previous._facts_about.get(rid, ()):
                if f.id not in read_e and f.id not in again_e:
                    read_e[f.id] = again_e[f.id] = f
        self._pages = previous._pages.patched(
            previous._entities,
            entities,
            previous._relations,
            relations,
            (read_e, again_e),
            (read_r.values(), again_r.values()),
            gone.keys() | came.keys(),
        )
        texts = copied(previous._page_texts)
        for i in read_e.keys() | again_e.keys():
            texts.pop(i, None)
        # The text copies are read again (the few of them), since one may have changed too.
        again = {*texts, *again_e}
        texts.update(page_texts(root, (entities[i] for i in again if i in entities)))
        self._page_texts = MappingProxyType(texts)
        return self

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

    def supply_files(self, loaded: LoadResult) -> bool:
        """Hand a restored snapshot the files of its version loaded elsewhere (DatasetGraphs)."""
        return self._graphs.supply(loaded)

    def version_print(self, previous: VersionPrint | None) -> VersionPrint | None:
        """What the change feed keeps of this version (server/store/history.py); None when the
        files a snapshot restored from the start-up cache reads have changed since."""
        try:
            files = self._graphs.data_files()
        except DatasetChanged:
            return None
        edited = self._edited
        return VersionPrint.of(
            self._version,
            files,
            self._entities.values(),
            self._relations.values(),
            self._concepts.values(),
            previous,
            # The print of the version this one was patched from: only the records the patch
            # changed are compared.
            edited[1]
            if edited is not None and previous is not None and edited[0] == previous.version
            else None,
        )

    def state(self) -> dict[str, Any]:
        """What the start-up cache keeps: the records; the indexes are rebuilt from them."""
        return {
            "version": self._version,
            "triple_count": self._triple_count,
            "entities": copied(self._entities),
            "relations": copied(self._relations),
            "concepts": copied(self._concepts),
            "codes": copied(self._codes),
            "definitions": copied(self._definitions),
            "registry": self._registry,
            "page_texts": copied(self._page_texts),
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
    with collector_paused():
        return _build(loaded, settings, index)


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
    with collector_paused():
        nodes = set(changed)
        nodes.update(r for n in list(nodes) for r in index.referrers(n))
        reader = GraphReader(_Restricted(index, nodes), settings.id_namespace, previous.registry)
        tables = previous._tables()
        old: dict[str, dict[str, Any]] = {name: {} for name in tables}
        for n in nodes:
            ident, text = reader.ident(n), str(n)
            for name in ("entities", "relations", "codes", "definitions"):
                record = tables[name].get(ident)
                if record is not None and getattr(record, "iri", text) == text:
                    old[name][ident] = tables[name].pop(ident)
            concept = tables["concepts"].get(reader.concept_id(n))
            if concept is not None and concept.iri == text:
                old["concepts"][concept.id] = tables["concepts"].pop(concept.id)
        new: dict[str, dict[str, Any]] = {
            "entities": {r.id: r for r in reader.entities()},
            "relations": {r.id: r for r in reader.relations()},
            "concepts": {r.id: r for r in reader.concepts()},
            "codes": {r.id: r for r in reader.codes()},
            "definitions": {r.id: r for r in reader.definitions()},
        }
        for name, records in new.items():
            tables[name].update(records)
        return Snapshot._patched(
            previous,
            version=loaded.version,
            triple_count=previous.triple_count + data_delta,
            graphs=DatasetGraphs(loaded),
            tables=tables,
            old=old,
            new=new,
            root=loaded.root,
            overlay_share=settings.search_overlay_percent / 100,
        )


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


def _statement(r: Relation) -> tuple[str, str, str]:
    return (r.subject, r.predicate, r.object)


def _relation_id(r: Relation) -> str:
    return r.id
