"""A Store backed by a SPARQL 1.1 endpoint holding versions published by `clinic-kg publish`.

One `SparqlStore` serves one request, over one published version (server/store/sparql_dataset.py
follows the store's pointer and hands them out). It answers every Store call as the in-memory
`Snapshot` does on the same data, and with the same reader: it fetches the triples a call needs
(batched with VALUES, an entity with what it points at), reads them with `GraphReader` into the
same records, and keeps them in the version's bounded least-recently-used cache
(`store_cache_size`): a published version never changes, so nothing cached is ever stale, and
memory stays bounded whatever the graph's size. Lists (`entities`, `facts`) are lazy: their ids
come from the catalog or one query, records are fetched only for the items a client reads.

The pages' local text copies are not triples: `page_text` reads them from the project folder
given (`texts_root`, `serve --root`), and is None without one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast, overload

from rdflib import Graph, URIRef

from server.model.description import Description, sorted_triples
from server.model.graph_reader import GraphReader
from server.model.records import (
    Concept,
    Definition,
    Entity,
    ExternalCode,
    Fact,
    Relation,
    SearchHit,
    Source,
)
from server.model.registry import BROADER, Registry
from server.rdf.namespaces import CKG
from server.rdf.triple_index import Index
from server.store import sparql_queries as q
from server.store.dataset_graphs import describe_graph, triple_of
from server.store.snapshot import page_texts
from server.store.sparql_catalog import MISSING, Version
from server.store.sparql_client import Budget, SparqlClient, Triple, iri, is_iri

BATCH = 100  # subjects per VALUES block
BULK = 500  # records per VALUES block when a whole list is read through (no neighbours)
LABELS = 2000  # nodes per VALUES block whose labels a description fetches (one lookup each)
PREFETCH_HITS = 20  # search hits whose records are fetched at once (a default GraphQL page)
E = TypeVar("E", bound=Entity)


class SparqlStore:
    """One request's view of one published version. Implements `server.store.protocol.Store`."""

    def __init__(
        self, version: Version, client: SparqlClient, budget: Budget, texts_root: Path | None
    ) -> None:
        self._catalog = version.catalog
        self._cache = version.cache
        self._client = client
        self.budget = budget
        self._texts_root = texts_root

    # -- dataset

    @property
    def version(self) -> str:
        return self._catalog.version

    @property
    def triple_count(self) -> int:
        return self._catalog.triple_count

    @property
    def loaded_at(self) -> datetime:
        return self._catalog.loaded_at

    @property
    def registry(self) -> Registry:
        return self._catalog.registry

    # -- records by id

    def entity(self, id_or_iri: str) -> Entity | None:
        key = self._catalog.key(id_or_iri)
        if self._catalog.kind(key) is None:
            return None
        return self._entities([key])[0]

    def relation(self, id_or_iri: str) -> Relation | None:
        node = self._catalog.iri_of(self._catalog.key(id_or_iri))
        if not is_iri(node):
            return None
        found = self._plain("relation", [node], GraphReader.relations)[0]
        return cast(Relation | None, found)

    def code(self, id: str) -> ExternalCode | None:
        node = self._catalog.iri_of(id)
        if not is_iri(node):
            return None
        return cast(ExternalCode | None, self._plain("code", [node], GraphReader.codes)[0])

    def definition(self, id: str) -> Definition | None:
        node = self._catalog.iri_of(id)
        if not is_iri(node):
            return None
        found = self._plain("definition", [node], GraphReader.definitions)[0]
        return cast(Definition | None, found)

    def concept(self, id_or_iri: str) -> Concept | None:
        return self._catalog.concepts.get(id_or_iri) or self._catalog.concept_by_iri.get(id_or_iri)

    def concepts(self, scheme: str) -> Sequence[Concept]:
        found = (c for c in self._catalog.concepts.values() if c.scheme == scheme)
        return tuple(sorted(found, key=lambda c: c.label()))

    def schemes(self) -> Sequence[str]:
        return sorted({c.scheme for c in self._catalog.concepts.values()})

    # -- lists

    def entities(self, kinds: Sequence[str] = ()) -> Sequence[Entity]:
        return Records(self, self._catalog.of_kinds(kinds))

    def search(self, text: str, kinds: Sequence[str] = ()) -> Sequence[SearchHit]:
        hits = self._catalog.labels.search(text, kinds)
        # A client shows the hits' entities next: the first page of them in one query.
        self.prefetch([h.id for h in hits[:PREFETCH_HITS]])
        return hits

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
        key = ("facts", about, measure, related, page, source, kind)
        ids = self._cache.get(key)
        if ids is MISSING:
            ids = self._fact_ids(about, measure, related, page, source, kind)
            self._cache.put(key, ids)
        return cast(Sequence[Fact], Records(self, ids))

    def _fact_ids(
        self,
        about: str | None,
        measure: str | None,
        related: bool,
        page: str | None,
        source: str | None,
        kind: str | None,
    ) -> Sequence[str]:
        cat = self._catalog
        named = [cat.iri_of(cat.key(v)) for v in (about, page, source) if v is not None]
        if not all(is_iri(n) for n in named):
            return ()  # nothing in any store is about, or derived from, what no IRI names
        if about is None and page is None and source is None and measure is None:
            return cat.facts(kind)  # read from the catalog file as it is read: never held
        else:
            targets = None
            if about is not None:
                key = cat.key(about)
                targets = [key]
                entity = self.entity(key) if related else None
                for _, linked in entity.links if entity is not None else ():
                    targets.extend(linked)
            query = q.facts(
                cat.graph,
                about=[iri(cat.iri_of(t)) for t in dict.fromkeys(targets)] if targets else None,
                page=iri(cat.iri_of(cat.key(page))) if page is not None else None,
                source=iri(cat.iri_of(cat.key(source))) if source is not None else None,
                measure=measure is not None,
            )
            rows = self._select(query)
            ids = cat.ids_of(str(row["f"]) for row in rows)
            facts = cat.fact_kinds()
            kinds = cat.kinds_of(ids.values())
            measures: dict[str, list[str]] = {}
            for row in rows:
                fact = ids.get(str(row["f"]))
                if fact is not None and kinds.get(fact) in facts:
                    measures.setdefault(fact, []).extend([str(row["m"])] if "m" in row else [])
            found: Iterable[str] = measures
            if measure is not None:
                concept = self.concept(measure)
                wanted = concept.id if concept else measure
                found = [f for f, ms in measures.items() if ms and _local(min(ms)) == wanted]
        if kind is not None:
            of_kind = cat.fact_kinds(kind)
            kinds = cat.kinds_of(found)
            found = [f for f in found if kinds.get(f) in of_kind]
        return cat.in_label_order(found)

    def pages_of(self, id: str) -> Sequence[str]:
        cat = self._catalog
        if cat.kind(id) is None or cat.is_fact(id):
            return ()
        rows = self._cached(("pages_of", id), q.page_speaks(cat.graph, "?p", iri(cat.iri_of(id))))
        ids, kinds = self._kinds_of(rows, "f", "p")
        web_pages = frozenset(cat.registry.kinds_under(["WebPage"]))
        pages = {
            page
            for row in rows
            if "f" not in row or kinds.get(ids.get(str(row["f"]), "")) in cat.fact_kinds()
            if (page := ids.get(str(row["p"]))) is not None
            and page != id
            and kinds.get(page) in web_pages
        }
        return cat.in_label_order(pages)

    def page_entities(self, page: str) -> Sequence[str]:
        cat = self._catalog
        if not cat.is_a(page, "WebPage"):
            return ()
        rows = self._cached(
            ("page_entities", page), q.page_speaks(cat.graph, iri(cat.iri_of(page)), "?e")
        )
        ids, kinds = self._kinds_of(rows, "f", "e")
        facts = cat.fact_kinds()
        spoken = {
            entity
            for row in rows
            if "f" not in row or kinds.get(ids.get(str(row["f"]), "")) in facts
            if (entity := ids.get(str(row["e"]))) is not None
            and entity != page
            and kinds.get(entity) not in facts
        }
        return cat.in_label_order(spoken)

    def _kinds_of(
        self, rows: list[dict[str, Any]], *columns: str
    ) -> tuple[dict[str, str], dict[str, str]]:
        """IRI -> id of the entities in these columns of `rows`, and id -> kind: one lookup."""
        ids = self._catalog.ids_of(str(row[c]) for row in rows for c in columns if c in row)
        return ids, self._catalog.kinds_of(ids.values())

    def relations_from(self, source: str) -> Sequence[Relation]:
        cat = self._catalog
        if not is_iri(cat.iri_of(source)):
            return ()
        key = ("relations_from", source)
        found = self._cache.get(key)
        if found is MISSING:
            query = q.assertions_from(cat.graph, iri(cat.iri_of(source)))
            reader = GraphReader(Index(self._construct(query)), cat.id_prefix, cat.registry)
            found = tuple(sorted(reader.relations(), key=lambda r: r.id))
            self._cache.put(key, found)
        return cast(tuple[Relation, ...], found)

    def evidence(self, subject: str, predicate: str, obj: str) -> Sequence[Relation]:
        wanted = (subject, predicate, obj)
        found = (
            r for r in self._assertions_of(subject) if (r.subject, r.predicate, r.object) == wanted
        )
        return tuple(sorted(found, key=lambda r: r.iri))

    def _assertions_of(self, subject: str) -> tuple[Relation, ...]:
        """Every assertion whose subject is `subject`, whole, in one query: the evidence of all
        its relations, which a page of GraphQL asks for one relation at a time."""
        key = ("assertions_of", subject)
        found = self._cache.get(key)
        if found is MISSING and not is_iri(self._catalog.iri_of(subject)):
            found = ()
        if found is MISSING:
            cat = self._catalog
            query = q.assertions_of(cat.graph, iri(cat.iri_of(subject)))
            index = Index(self._construct(query))
            found = tuple(GraphReader(index, cat.id_prefix, cat.registry).relations())
            # The facts about each of them (their statistics), asked next on a page of evidence:
            # their ids as `facts(about=<relation>)` answers, their records in one query.
            about = URIRef(str(CKG) + "about")
            facts: list[str] = []
            facts_ = cat.fact_kinds()
            for relation in found:
                node = URIRef(relation.iri)
                ids = cat.ids_of(str(s) for s in index.incoming(node, about))
                kinds = cat.kinds_of(ids.values())
                ordered = cat.in_label_order(f for f in ids.values() if kinds.get(f) in facts_)
                self._cache.put(("relation", relation.iri), relation)
                self._cache.put(("facts", relation.id, None, False, None, None, None), ordered)
                facts.extend(ordered)
            self._cache.put(key, found)
            self.prefetch(facts)
        return cast(tuple[Relation, ...], found)

    def referrers(self, id: str) -> Sequence[tuple[str, str]]:
        cat = self._catalog
        if not is_iri(cat.iri_of(id)):
            return []
        rows = self._cached(
            ("referrers", id), q.referrers(cat.graph, iri(cat.iri_of(id)), cat.registry)
        )
        names = {r.iri: r.name for r in cat.registry.relations.values()}
        ids = cat.ids_of(str(row["s"]) for row in rows)
        found = {
            (subject, names.get(str(row["l"]), BROADER))
            for row in rows
            if (subject := ids.get(str(row["s"]))) is not None
        }
        rank = {id: n for n, id in enumerate(cat.in_label_order(s for s, _ in found))}
        # As the snapshot lists them: by referring entity, its links by name, broader last.
        return sorted(found, key=lambda sp: (rank[sp[0]], sp[1] == BROADER, sp[1]))

    # -- linked data

    def describe(self, iri_: str) -> Description | None:
        if not is_iri(iri_):
            return None
        key = ("describe", iri_)
        found = self._cache.get(key)
        if found is MISSING:
            found = self._describe(iri_)
            self._cache.put(key, found)
        return cast(Description | None, found)

    def _describe(self, node: str) -> Description | None:
        cat = self._catalog
        graph = Graph(bind_namespaces="none")
        for triple in self._construct(q.description(cat.graph, iri(node))):
            graph.add(triple)
        subject = URIRef(node)
        if (subject, None, None) not in graph:
            return None
        mentioned = sorted({n for t in graph for n in t if isinstance(n, URIRef)}, key=str)
        for chunk in _chunks(mentioned, LABELS):
            for triple in self._construct(q.labels(cat.graph, (iri(str(n)) for n in chunk))):
                graph.add(triple)
        described = describe_graph(graph, subject)
        return Description(node, sorted_triples(triple_of(t) for t in described))

    def page_text(self, id: str) -> str | None:
        if self._texts_root is None:
            return None
        key = ("page_text", id)
        found = self._cache.get(key)
        if found is MISSING:
            source = self.entity(id)
            found = None
            if isinstance(source, Source):
                found = page_texts(self._texts_root, [source]).get(id)
            self._cache.put(key, found)
        return cast(str | None, found)

    # -- fetching

    def prefetch(self, ids: Sequence[str]) -> None:
        """Fetch the records of these entity ids not in the cache yet, in batches."""
        self._entities(ids)

    def _entities(self, ids: Sequence[str], *, bulk: bool = False) -> list[Entity | None]:
        """The records of `ids`; each batch fetched with what it points at, or, in `bulk` (a
        whole list read through), alone and in bigger batches."""
        cat, cache = self._catalog, self._cache
        found = {i: cache.get(("entity", i)) for i in ids}
        missing = [i for i, f in found.items() if f is MISSING]
        for chunk in _chunks(missing, BULK if bulk else BATCH):
            wanted = [iri(cat.iri_of(i)) for i in chunk]
            if bulk:
                query = q.entities(cat.graph, wanted)
            else:
                query = q.entities_with_neighbours(cat.graph, wanted, cat.registry)
            read = self._read(Index(self._construct(query)), chunk, neighbours=not bulk)
            found.update((i, read.get(("entity", i))) for i in chunk)
        return [cast(Entity | None, found[i]) for i in ids]

    def _read(
        self, index: Index, asked: Sequence[str], *, neighbours: bool
    ) -> dict[tuple[str, str], Any]:
        """The records of the subjects whose every triple `index` holds (those asked for, and
        with `neighbours` those they point at: `entities_with_neighbours` fetches them whole),
        also cached."""
        cat = self._catalog
        reader = GraphReader(index, cat.id_prefix, cat.registry)
        whole = {URIRef(cat.iri_of(i)) for i in asked}
        links = q.neighbour_links(cat.registry) if neighbours else frozenset()
        for s in list(whole):
            for p, objects in index.out.get(s, {}).items():
                if p in links:
                    whole.update(o for o in objects if isinstance(o, URIRef))
        read: dict[tuple[str, str], Any] = {("entity", i): None for i in asked}
        ids = cat.ids_of(str(s) for s in whole)
        kinds = cat.kinds_of(ids.values())
        for s in whole:
            id = ids.get(str(s))
            kind = cat.registry.kind(kinds.get(id or "", ""))
            if id is not None and kind is not None and s in index.out:
                read["entity", id] = reader.entity(s, kind)
        for name, records in (
            ("relation", GraphReader.relations),
            ("code", GraphReader.codes),
            ("definition", GraphReader.definitions),
        ):
            for record in records(reader):
                node = getattr(record, "iri", None) or cat.iri_of(record.id)
                if URIRef(node) in whole:
                    read[name, node] = record
        for key, record in read.items():
            self._cache.put(key, record)
        return read

    def _plain(
        self, name: str, nodes: Sequence[str], read: Callable[[GraphReader], Iterable[Any]]
    ) -> list[Any]:
        """Relations, codes or definitions by IRI, fetched when not cached (None: no such)."""
        cat, cache = self._catalog, self._cache
        found = {n: cache.get((name, n)) for n in nodes}
        for chunk in _chunks([n for n, f in found.items() if f is MISSING]):
            triples = self._construct(q.subjects(cat.graph, (iri(n) for n in chunk)))
            reader = GraphReader(Index(triples), cat.id_prefix, cat.registry)
            fetched: dict[str, Any] = dict.fromkeys(chunk)
            for record in read(reader):
                fetched[getattr(record, "iri", None) or cat.iri_of(record.id)] = record
            for n in chunk:
                cache.put((name, n), fetched[n])
            found.update((n, fetched[n]) for n in chunk)
        return [found[n] for n in nodes]

    def _cached(self, key: tuple[str, ...], query: str) -> list[dict[str, Any]]:
        rows = self._cache.get(key)
        if rows is MISSING:
            rows = [{k: str(v) for k, v in row.items()} for row in self._select(query)]
            self._cache.put(key, rows)
        return cast(list[dict[str, Any]], rows)

    def _select(self, query: str) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._client.select(query, self.budget))

    def _construct(self, query: str) -> Iterator[Triple]:
        return self._client.construct(query, self.budget)

    def __repr__(self) -> str:
        return f"<SparqlStore {self.version} at {self._client.endpoint}>"


class Records(Sequence[E]):
    """The records of a list of entity ids, fetched (in batches) only when read."""

    def __init__(self, store: SparqlStore, ids: Sequence[str]) -> None:
        self._store, self._ids = store, ids

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, i: int) -> E: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[E]: ...

    def __getitem__(self, i: int | slice) -> E | Sequence[E]:
        if isinstance(i, slice):
            return self._records(self._ids[i])
        return self._records([self._ids[i]])[0]

    def __iter__(self) -> Iterator[E]:
        # Read through (a scan for some ids, a did-you-mean): records alone, in big batches.
        for chunk in _chunks(self._ids, BULK):
            yield from self._records(chunk, bulk=True)

    def _records(self, ids: Sequence[str], *, bulk: bool = False) -> list[E]:
        found = self._store._entities(ids, bulk=bulk)
        return [cast(E, e) for e in found if e is not None]

    def __repr__(self) -> str:
        return f"<Records of {len(self._ids)}>"


def _chunks(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _local(node: str) -> str:
    """A concept's id: the last segment of its IRI (as `GraphReader.concept_id`)."""
    return node.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
