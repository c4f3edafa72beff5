"""schema.org JSON-LD for a condition: the clinic's MedicalWebPage about a MedicalCondition.

Only schema.org terms, each on a type within its domainIncludes and with values within its
rangeIncludes (tests/test_schemaorg.py checks against a vocabulary fixture). Types and properties
are not mapped by hand: each node's type is the nearest schema.org class above its ckg class, and
each relation is the schema.org property its ckg property is an rdfs:subPropertyOf, both read
from the ontology, so a new condition or treatment class needs no code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS
from rdflib.term import Node

from .namespaces import CKG, SCHEMA

SCHEMA_CONTEXT = "https://schema.org"

# The condition's relations, in the order a reader of the markup expects them.
CONDITION_PROPERTIES = ("signOrSymptom", "cause", "riskFactor", "possibleTreatment", "typicalTest")

# A ckg:Definition quoted on a page is a work by its authority; the ontology gives the class no
# schema.org superclass (it is a prov:Entity), and CreativeWork is what `citation` ranges over.
DEFINITION_TYPE = "CreativeWork"


class NotACondition(LookupError):
    """The IRI is not described in the data as a ckg:Condition (or a subclass)."""


def condition_jsonld(
    data: Graph,
    ontology: Graph,
    condition_iri: str | URIRef,
    *,
    page_iri: str | URIRef | None = None,
    page_url: str | None = None,
    language: str = "en",
) -> dict[str, Any]:
    """The page (by default the one the condition's record was derived from) about the condition.

    `page_url` is where the page is published; the graph does not know it, so it is only added
    when given. Raises NotACondition for an IRI that is not a condition.
    """
    vocab = _Vocabulary(ontology)
    condition = URIRef(str(condition_iri))
    if not any(vocab.is_a(t, CKG.Condition) for t in data.objects(condition, RDF.type)):
        raise NotACondition(str(condition))
    page = URIRef(str(page_iri)) if page_iri is not None else _source_page(data, vocab, condition)
    writer = _Writer(data, vocab, language)

    document: dict[str, Any] = {"@context": SCHEMA_CONTEXT, "@type": "MedicalWebPage"}
    if page is not None:
        document["@id"] = str(page)
        writer.add_text(document, "name", _label(data, page, language))
        writer.add_text(document, "description", _literal(data, page, SKOS.definition, language))
    if page_url:
        document["url"] = page_url
    document["inLanguage"] = language
    document["about"] = writer.condition(condition)
    if page is not None:
        publisher = [
            writer.publisher(p) for p in sorted(data.objects(page, CKG.publisher), key=str)
        ]
        if publisher:
            document["publisher"] = _one_or_many(publisher)
        citations = writer.citations(page)
        if citations:
            document["citation"] = citations
    return document


def condition_ids(data: Graph, ontology: Graph, id_namespace: str) -> list[str]:
    """Ids (IRIs relative to `id_namespace`) of every condition in the data, sorted."""
    vocab = _Vocabulary(ontology)
    found = {
        str(s)[len(id_namespace) :]
        for s, _, t in data.triples((None, RDF.type, None))
        if isinstance(s, URIRef)
        and str(s).startswith(id_namespace)
        and vocab.is_a(t, CKG.Condition)
    }
    return sorted(found)


class _Vocabulary:
    """What the ontology says about classes and properties, with the schema.org alignment."""

    def __init__(self, ontology: Graph) -> None:
        self.ontology = ontology

    def is_a(self, cls: Node, target: URIRef) -> bool:
        return any(c == target for c in self.ontology.transitive_objects(cls, RDFS.subClassOf))

    def schema_types(self, classes: Iterable[Node]) -> list[str]:
        """The nearest schema.org classes above any of `classes` (breadth-first, one level)."""
        found: set[str] = set()
        for cls in classes:
            found.update(self._nearest(cls, RDFS.subClassOf))
        return sorted(found)

    def schema_property(self, prop: Node) -> str | None:
        nearest = self._nearest(prop, RDFS.subPropertyOf)
        return nearest[0] if len(nearest) == 1 else None

    def _nearest(self, start: Node, link: URIRef) -> list[str]:
        level, seen = [start], {start}
        while level:
            hits = sorted(_schema_name(n) for n in level if _schema_name(n))
            if hits:
                return hits
            above = [o for n in level for o in self.ontology.objects(n, link) if o not in seen]
            seen.update(above)
            level = above
        return []


class _Writer:
    """Builds the JSON-LD nodes; values are sorted by name so the output is stable."""

    def __init__(self, data: Graph, vocab: _Vocabulary, language: str) -> None:
        self.data, self.vocab, self.language = data, vocab, language

    def condition(self, condition: URIRef) -> dict[str, Any]:
        node = self.entity(condition)
        by_property: dict[str, list[dict[str, Any]]] = {}
        for prop, value in self.data.predicate_objects(condition):
            name = self.vocab.schema_property(prop)
            if name in CONDITION_PROPERTIES and isinstance(value, URIRef):
                item = self.entity(value)
                # A value with no schema.org type cannot be checked against the property's
                # range, so it is left out rather than published untyped.
                if "@type" in item:
                    by_property.setdefault(name, []).append(item)
        for name in CONDITION_PROPERTIES:
            if name in by_property:
                node[name] = _sorted_items(by_property[name])
        return node

    def entity(self, iri: URIRef) -> dict[str, Any]:
        """A medical entity: type, id, names, description, codes (and drug class, brand names)."""
        node = self.thing(iri)
        types = node.get("@type", [])
        alternate = sorted(
            str(v) for v in self.data.objects(iri, SKOS.altLabel) if _in_language(v, self.language)
        )
        if alternate:
            node["alternateName"] = _one_or_many(alternate)
        self.add_text(node, "description", _literal(self.data, iri, SKOS.definition, self.language))
        if "Drug" in ([types] if isinstance(types, str) else types):
            brands = sorted(
                str(v)
                for v in self.data.objects(iri, CKG.brandName)
                if _in_language(v, self.language)
            )
            if brands:
                node["proprietaryName"] = _one_or_many(brands)
            classes = [self.thing(c) for c in self.data.objects(iri, CKG.drugClass)]
            if classes:
                node["drugClass"] = _one_or_many(_sorted_items(classes))
        codes = [self.code(c) for c in self.data.objects(iri, CKG.code)]
        if codes:
            node["code"] = _sorted_items(codes)
        return node

    def thing(self, iri: Node) -> dict[str, Any]:
        node: dict[str, Any] = {}
        types = self.vocab.schema_types(self.data.objects(iri, RDF.type))
        if types:
            node["@type"] = _one_or_many(types)
        node["@id"] = str(iri)
        self.add_text(node, "name", _label(self.data, iri, self.language))
        return node

    def code(self, iri: Node) -> dict[str, Any]:
        node: dict[str, Any] = {"@type": "MedicalCode", "@id": str(iri)}
        self.add_text(node, "name", _literal(self.data, iri, RDFS.label, self.language))
        self.add_text(node, "codeValue", _literal(self.data, iri, SCHEMA.codeValue, None))
        self.add_text(node, "codingSystem", _literal(self.data, iri, SCHEMA.codingSystem, None))
        return node

    def publisher(self, iri: Node) -> dict[str, Any]:
        node = self.thing(iri)
        services = []
        for prop, service in self.data.predicate_objects(iri):
            if self.vocab.schema_property(prop) == "availableService":
                item = self.thing(service)
                if "@type" in item:
                    services.append(item)
        if services:
            node["availableService"] = _sorted_items(services)
        return node

    def citations(self, page: URIRef) -> list[dict[str, Any]]:
        """What the page cites: the works its statements name, and the definitions it quotes."""
        cited: dict[str, dict[str, Any]] = {}
        for statement in self.data.subjects(PROV.wasDerivedFrom, page):
            for work in self.data.objects(statement, CKG.citedSource):
                cited[str(work)] = self.thing(work)
            if (statement, RDF.type, CKG.Definition) in self.data:
                cited[str(statement)] = self.definition(statement)
        return _sorted_items(cited.values())

    def definition(self, iri: Node) -> dict[str, Any]:
        node: dict[str, Any] = {"@type": DEFINITION_TYPE, "@id": str(iri)}
        self.add_text(node, "text", _literal(self.data, iri, CKG.text, self.language))
        authors = [self.thing(a) for a in self.data.objects(iri, CKG.authority)]
        if authors:
            node["author"] = _one_or_many(_sorted_items(authors))
        return node

    @staticmethod
    def add_text(node: dict[str, Any], key: str, value: str | None) -> None:
        if value:
            node[key] = value


def _source_page(data: Graph, vocab: _Vocabulary, condition: URIRef) -> URIRef | None:
    pages = sorted(
        p
        for p in data.objects(condition, PROV.wasDerivedFrom)
        if isinstance(p, URIRef)
        and any(vocab.is_a(t, CKG.WebPage) for t in data.objects(p, RDF.type))
    )
    return pages[0] if pages else None


def _label(graph: Graph, iri: Node, language: str) -> str | None:
    return _literal(graph, iri, SKOS.prefLabel, language) or _literal(
        graph, iri, RDFS.label, language
    )


def _literal(graph: Graph, iri: Node, prop: URIRef, language: str | None) -> str | None:
    """The value in `language`, else an untagged one, else any (the smallest, for stability)."""
    values = [v for v in graph.objects(iri, prop) if isinstance(v, Literal)]
    for wanted in (language, None):
        matching = sorted(str(v) for v in values if v.language == wanted)
        if matching:
            return matching[0]
    return min((str(v) for v in values), default=None)


def _in_language(value: Node, language: str) -> bool:
    return isinstance(value, Literal) and value.language in (language, None)


def _schema_name(node: Node) -> str:
    text = str(node)
    return text[len(str(SCHEMA)) :] if isinstance(node, URIRef) and text.startswith(SCHEMA) else ""


def _sorted_items(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda n: (str(n.get("name", "")).casefold(), str(n.get("@id"))))


def _one_or_many(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values
