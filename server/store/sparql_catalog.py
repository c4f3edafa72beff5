"""What a SPARQL-backed store keeps in memory for one published dataset version: its catalog.

Built once per version, when the version becomes current (the version graph is immutable, so
nothing of it ever goes stale), from a handful of queries:

- the registry, from the vocabulary's own (ckg:) triples, as the snapshot reads it;
- the SKOS concepts (measures, units, ...): the vocabulary, small whatever the data's size;
- the entities' ids, IRIs and kinds in label order, and the search index over their labels,
  synonyms and facts' quotes (`LabelIndex`, the snapshot's own): search is an in-process index
  built from the store, not the store's text index, so it ranks exactly like the snapshot;
- the triple count.

Whole records are not kept here: the store fetches them per request (server/store/sparql.py)
and keeps them in the version's bounded cache (`LRU`, `store_cache_size` entries).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from rdflib import URIRef
from rdflib.namespace import PROV, RDF, SKOS

from server.model.graph_reader import GraphReader
from server.model.records import Concept, Entity
from server.model.registry import Registry, read_registry
from server.rdf.namespaces import CKG, RDF_TYPE
from server.rdf.triple_index import Index
from server.store.label_index import LabelIndex, normalize
from server.store.sparql_client import Budget, SparqlClient, iri

PREFIXES = "".join(
    f"PREFIX {name}: <{namespace}>\n"
    for name, namespace in (("rdf", RDF), ("skos", SKOS), ("prov", PROV), ("ckg", CKG))
)
# What search and the label order read of every entity: its types, labels, synonyms (brand names
# too) and a fact's quote and claim.
_CATALOG = (
    PREFIXES
    + """CONSTRUCT { ?s ?p ?o } WHERE { GRAPH %(graph)s {
  VALUES ?p { rdf:type skos:prefLabel skos:altLabel ckg:brandName ckg:quote ckg:claim }
  ?s ?p ?o . FILTER(isIRI(?s))
} }"""
)
_VOCABULARY = """CONSTRUCT { ?s ?p ?o } WHERE { GRAPH %(graph)s {
  ?s ?p ?o . FILTER(STRSTARTS(STR(?s), %(ckg)s))
} }"""
_CONCEPTS = (
    PREFIXES
    + """CONSTRUCT { ?s ?p ?o } WHERE { GRAPH %(graph)s {
  ?s skos:inScheme ?scheme . ?s ?p ?o
} }"""
)
_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH %(graph)s { ?s ?p ?o } }"
MISSING = object()  # what `LRU.get` answers for a key it does not hold


class Catalog:
    """The in-memory part of one published version: immutable after construction."""

    def __init__(
        self,
        *,
        version: str,
        graph: str,
        id_prefix: str,
        registry: Registry,
        entities: Sequence[Entity],
        concepts: Iterable[Concept],
        triple_count: int,
    ) -> None:
        self.version = version
        self.graph = graph  # the version graph's IRI, as a SPARQL term
        self.id_prefix = id_prefix
        self.registry = registry
        self.triple_count = triple_count
        self.loaded_at = datetime.now(UTC)
        ordered = sorted(entities, key=lambda e: (normalize(e.label()), e.id))
        self.ids: tuple[str, ...] = tuple(e.id for e in ordered)
        self.rank = MappingProxyType({e.id: i for i, e in enumerate(ordered)})
        self.kinds = MappingProxyType({e.id: e.kind for e in ordered})
        self.iris = MappingProxyType({e.id: e.iri for e in ordered})
        self.by_iri = MappingProxyType({e.iri: e.id for e in ordered})
        self.labels = LabelIndex(ordered)
        concepts = tuple(concepts)
        self.concepts = MappingProxyType({c.id: c for c in concepts})
        self.concept_by_iri = MappingProxyType({c.iri: c for c in concepts})
        self._kind_groups: dict[frozenset[str], tuple[str, ...]] = {}

    def key(self, id_or_iri: str) -> str:
        """The id of an entity named by id or IRI (other values unchanged)."""
        return self.by_iri.get(id_or_iri, id_or_iri)

    def iri_of(self, id: str) -> str:
        """The IRI of an id: an entity's own, else `<id prefix><id>` (ids of relations, codes and
        definitions are slugs in the same namespace); a whole IRI stays itself."""
        known = self.iris.get(id)
        if known is not None:
            return known
        return id if "://" in id else self.id_prefix + id

    def is_a(self, id: str, kind: str) -> bool:
        """Whether the entity `id` is of class `kind` or below it (False for non-entities)."""
        found = self.registry.kind(self.kinds.get(id, ""))
        return found is not None and found.is_a(kind)

    def is_fact(self, id: str) -> bool:
        found = self.registry.kind(self.kinds.get(id, ""))
        return found is not None and found.family.record == "fact"

    def of_kinds(self, kinds: Sequence[str]) -> tuple[str, ...]:
        """Ids of the entities of these kinds (all when empty), in label order."""
        if not kinds:
            return self.ids
        wanted = frozenset(kinds)
        found = self._kind_groups.get(wanted)
        if found is None:
            # A memo of a pure function of the version, for the few fixed sets callers ask.
            found = tuple(i for i in self.ids if self.kinds[i] in wanted)
            self._kind_groups[wanted] = found
        return found

    def facts(self) -> tuple[str, ...]:
        """Ids of every fact, in label order."""
        return self.of_kinds(
            sorted(k.name for k in self.registry.kinds.values() if k.family.record == "fact")
        )


def build_catalog(
    client: SparqlClient, budget: Budget, *, version: str, graph_iri: str, id_prefix: str
) -> Catalog:
    """Read the catalog of the version held in the named graph `graph_iri`."""
    graph = iri(graph_iri)
    vocabulary = client.construct(_VOCABULARY % {"graph": graph, "ckg": f'"{CKG}"'}, budget)
    registry, _ = read_registry(vocabulary)
    reader = GraphReader(
        Index(client.construct(_CATALOG % {"graph": graph}, budget)), id_prefix, registry
    )
    entities = list(_entities(reader))
    concept_reader = GraphReader(
        Index(client.construct(_CONCEPTS % {"graph": graph}, budget)), id_prefix, registry
    )
    count = client.select(_COUNT % {"graph": graph}, budget)
    return Catalog(
        version=version,
        graph=graph,
        id_prefix=id_prefix,
        registry=registry,
        entities=entities,
        concepts=concept_reader.concepts(),
        triple_count=int(str(count[0]["n"])) if count else 0,
    )


def _entities(reader: GraphReader) -> Iterable[Entity]:
    """Light records (labels, synonyms, quote and claim only) of every subject typed with a kind
    of the registry: the subjects the snapshot's reader makes records of."""
    registry = reader.registry
    for s, predicates in reader.index.out.items():
        if not isinstance(s, URIRef):
            continue
        kind = registry.kind_of(str(t) for t in predicates.get(RDF_TYPE, ()))
        if kind is not None:
            yield reader.entity(s, kind)


class LRU:
    """A bounded, thread-safe least-recently-used cache (None is a value: "nothing there")."""

    def __init__(self, size: int) -> None:
        self._size = max(size, 0)
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            found = self._items.get(key, MISSING)
            if found is not MISSING:
                self._items.move_to_end(key)
            return found

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class Version:
    """One published version: its catalog, and the cache of what requests fetched from it (a
    version never changes, so nothing in it goes stale)."""

    def __init__(self, catalog: Catalog, cache_size: int) -> None:
        self.catalog = catalog
        self.cache = LRU(cache_size)
