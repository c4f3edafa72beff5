"""The rdflib graphs of one dataset version, built on first use, and the descriptions read off them.

GraphQL and schema.org read the snapshot's records and never need rdflib; linked data
(`GET /id/...`) needs every triple about an entity, which `describe()` collects from rdflib graphs
and hands out as plain records (server.model.description). The graphs are an implementation
detail of the in-memory store: a snapshot holds one `DatasetGraphs` over the LoadResult it was
built from, so they cost nothing until the first such request, and they are swapped together with
the snapshot: one request never mixes two versions.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS
from rdflib.term import Node

from server.load.loader import LoadResult, Triple
from server.model.description import (
    BlankTerm,
    Description,
    IriTerm,
    LiteralTerm,
    Subject,
    Term,
    sorted_triples,
)
from server.model.description import Triple as TermTriple
from server.rdf.namespaces import CKG
from server.store.protocol import DatasetChanged

# The folders whose triples make up the dataset; shapes describe files, not the domain.
DATA_KIND, VOCABULARY_KIND = "kg", "ontology"


class DatasetGraphs:
    """The instance data and the vocabulary of one version as rdflib graphs (read-only)."""

    def __init__(
        self,
        loaded: LoadResult | None = None,
        *,
        version: str = "",
        reload: Callable[[], LoadResult] | None = None,
    ) -> None:
        # Either the LoadResult the snapshot was built from, or (for a snapshot restored from the
        # start-up cache) a way to load it again on first use, checked against the version.
        self._lock = threading.Lock()
        self._reload = reload
        self._version = loaded.version if loaded is not None else version
        self._loaded = _kept(loaded) if loaded is not None else None

    def _files(self) -> LoadResult:
        # Callers hold the lock.
        if self._loaded is None:
            assert self._reload is not None
            loaded = self._reload()
            if loaded.version != self._version:
                raise DatasetChanged(
                    f"the files now hold version {loaded.version}, not the {self._version} being "
                    "served: restart the server, or run it with --watch"
                )
            self._loaded = _kept(loaded)
        return self._loaded

    def supply(self, loaded: LoadResult) -> bool:
        """Take the files as loaded elsewhere (`serve --watch`'s reloader, for its baseline) when
        they hold this version and none are loaded yet: a snapshot restored from the start-up
        cache then needs not read them again, which fails once an edit has changed them."""
        with self._lock:
            if self._loaded is not None or loaded.version != self._version:
                return False
            self._loaded = _kept(loaded)
            return True

    @property
    def version(self) -> str:
        return self._version

    @property
    def data(self) -> Graph:
        """kg/ as one graph (built on first use; callers must not change it)."""
        with self._lock:
            return self._files().data

    @property
    def ontology(self) -> Graph:
        """ontology/ as one graph (built on first use; callers must not change it)."""
        with self._lock:
            return self._files().ontology

    @property
    def built(self) -> bool:
        """Whether the graphs exist yet (for tests and diagnostics)."""
        if self._loaded is None:
            return False
        cached = vars(self._loaded)
        return "data" in cached and "ontology" in cached

    def triple_count(self) -> int:
        """Distinct triples in the data plus those in the vocabulary, without building graphs."""
        return _distinct(self._triples(DATA_KIND)) + _distinct(self._triples(VOCABULARY_KIND))

    def data_files(self) -> list[tuple[Triple, ...]]:
        """The triples of each kg/ file, as loaded; may raise DatasetChanged."""
        with self._lock:
            loaded = self._files()
        return [f.triples for f in loaded.files if f.kind == DATA_KIND]

    def describe(self, iri: str) -> Description | None:
        """What a client needs to show one entity (see `describe_graph`), as plain records; None
        when the data has no triple about `iri`."""
        data, ontology = self.data, self.ontology
        node = URIRef(iri)
        if (node, None, None) not in data:
            return None
        graph = describe_graph(data, node, ontology)
        return Description(iri, sorted_triples(triple_of(t) for t in graph))

    def _triples(self, kind: str) -> Iterable[Triple]:
        with self._lock:
            loaded = self._files()
        return (t for f in loaded.files if f.kind == kind for t in f.triples)


def _kept(loaded: LoadResult) -> LoadResult:
    # Only what the graphs are made of: the shapes (and the graph validation built of them) and
    # the diagnostics are not kept alive for as long as the snapshot serves.
    kept = tuple(f for f in loaded.files if f.kind in (DATA_KIND, VOCABULARY_KIND))
    return dataclasses.replace(loaded, files=kept, diagnostics=())


def _distinct(triples: Iterable[Triple]) -> int:
    # rdflib's memory store keeps a set of triples with the same term equality, so this is
    # len(graph) without paying for the graph.
    return len(set(triples))


_LABELS = (SKOS.prefLabel, RDFS.label)


def describe_graph(data: Graph, iri: URIRef, vocab: Graph | None = None) -> Graph:
    """What a client needs to show one entity, as one graph.

    The entity's own triples (with the blank nodes under them), the triples that point at it, the
    evidence for its relations (assertions, the facts about it or about those assertions), its
    external codes and authoritative definitions, and the labels of every node and property these
    mention (from `data`, then `vocab`, the ontology, for classes, concepts and properties).
    """
    out = Graph(bind_namespaces="none")
    _closure(data, iri, out)
    for subject, predicate in data.subject_predicates(iri):
        out.add((subject, predicate, iri))
    assertions = {
        a
        for link in (RDF.subject, RDF.object)
        for a in data.subjects(link, iri)
        if (a, RDF.type, CKG.Assertion) in data
    }
    for node in sorted(assertions, key=str):
        _closure(data, node, out)
    for about in [iri, *sorted(assertions, key=str)]:
        for fact in data.subjects(CKG.about, about):
            _closure(data, fact, out)
    for link in (CKG.code, CKG.hasDefinition):
        for node in data.objects(iri, link):
            _closure(data, node, out)
    _add_labels(out, [data] if vocab is None else [data, vocab])
    return out


def _closure(data: Graph, node: Node, out: Graph) -> None:
    """`node`'s triples, and those of the blank nodes below it (each visited once)."""
    pending, seen = [node], {node}
    while pending:
        current = pending.pop()
        for predicate, obj in data.predicate_objects(current):
            out.add((current, predicate, obj))
            if isinstance(obj, BNode) and obj not in seen:
                seen.add(obj)
                pending.append(obj)


def _add_labels(out: Graph, sources: Iterable[Graph]) -> None:
    mentioned = {n for triple in out for n in triple if isinstance(n, URIRef)}
    labelled = {s for s, p, _ in out if p in _LABELS}
    for graph in sources:
        for node in sorted(mentioned - labelled, key=str):
            for prop in _LABELS:
                for label in graph.objects(node, prop):
                    out.add((node, prop, label))
                    labelled.add(node)


def term_of(node: Node) -> Term:
    """The record of an rdflib term."""
    if isinstance(node, Literal):
        datatype = str(node.datatype) if node.datatype is not None else None
        return LiteralTerm(str(node), datatype, node.language)
    if isinstance(node, BNode):
        return BlankTerm(str(node))
    return IriTerm(str(node))


def triple_of(triple: tuple[Node, Node, Node]) -> TermTriple:
    """The record of an rdflib triple."""
    s, p, o = (term_of(n) for n in triple)
    # RDF says so: subjects are IRIs or blank nodes, predicates IRIs.
    assert not isinstance(s, LiteralTerm)
    assert isinstance(p, IriTerm)
    subject: Subject = s
    return subject, p, o
