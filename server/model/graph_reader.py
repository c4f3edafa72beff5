"""Read the records of a snapshot out of an rdflib graph; runs once per dataset version."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from rdflib import Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS
from rdflib.term import Node

from server.model.records import (
    Clinic,
    Concept,
    Condition,
    Definition,
    Entity,
    ExternalCode,
    Fact,
    LangText,
    Relation,
    Source,
    Treatment,
)
from server.model.registry import Kind, Registry
from server.rdf.namespaces import CKG, RDF_TYPE, SCHEMA, SKOS_IN_SCHEME
from server.rdf.triple_index import Index

_RECORDS: dict[str, type[Entity]] = {
    "entity": Entity,
    "condition": Condition,
    "treatment": Treatment,
    "clinic": Clinic,
    "source": Source,
    "fact": Fact,
}


class GraphReader:
    """Turns triples into frozen records, ids relative to `id_prefix`.

    Reads through the SHACL engine's `Index` (subject → predicate → objects in plain dictionaries:
    at a million triples several times faster than asking an rdflib graph), so a start that has
    just validated reuses the index validation built instead of indexing the triples again.
    """

    def __init__(self, index: Index, id_prefix: str, registry: Registry) -> None:
        self.index = index
        self.id_prefix = id_prefix
        self.registry = registry

    def objects(self, s: Node, p: Node) -> list[Node]:
        return list(self.index.values(s, p))

    def value(self, s: Node, p: Node) -> Node | None:
        """One object; the smallest, so a (wrongly) repeated value still reads deterministically."""
        found = self.index.values(s, p)
        return min(found, key=str) if found else None

    def subjects(self, cls: Node) -> list[Node]:
        """Subjects typed `cls` itself (the index's instances also hold those of its subclasses)."""
        index = self.index
        return sorted(
            {s for s in index.instances.get(cls, ()) if cls in index.values(s, RDF_TYPE)}, key=str
        )

    def has_type(self, s: Node, cls: Node) -> bool:
        return cls in self.index.values(s, RDF_TYPE)

    def ident(self, node: Node) -> str:
        """`<base>id/acetaminophen` -> `acetaminophen`; other IRIs stay whole."""
        text = str(node)
        return text[len(self.id_prefix) :] if text.startswith(self.id_prefix) else text

    def concept_id(self, node: Node) -> str:
        """Concepts are named by the last segment of their IRI: `measure/success-rate`."""
        text = str(node)
        return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]

    def entities(self) -> Iterator[Entity]:
        """One record per subject typed with a kind of the registry, in IRI order."""
        kind_iris = {URIRef(k.iri) for k in self.registry.kinds.values()}
        # Instances of a kind's subclasses too, but kind_of() reads only the direct types, so a
        # subject typed with no kind itself is still left out.
        instances = self.index.instances
        subjects = {s for c in kind_iris for s in instances.get(c, ()) if isinstance(s, URIRef)}
        for s in sorted(subjects, key=str):
            kind = self.registry.kind_of(str(t) for t in self.index.values(s, RDF_TYPE))
            if kind is not None:
                yield self.entity(s, kind)

    def entity(self, s: URIRef, kind: Kind) -> Entity:
        """The record of `s`, of the class its kind's family is read into."""
        record = _RECORDS[kind.family.record]
        common = Entity(
            id=self.ident(s),
            iri=str(s),
            kind=kind.name,
            lineage=kind.ancestors,
            labels=self.texts(s, SKOS.prefLabel),
            alt_labels=self.texts(s, SKOS.altLabel) + self.texts(s, CKG.brandName),
            definitions=self.texts(s, SKOS.definition),
            codes=self.ids(s, CKG.code),
            sources=self.ids(s, PROV.wasDerivedFrom),
            links=self.links(s),
            broader=self.ids(s, SKOS.broader),
        )
        if record is Condition:
            return _as(common, Condition, authoritative_definitions=self.ids(s, CKG.hasDefinition))
        if record is Treatment:
            return _as(
                common,
                Treatment,
                category=self.concept(s, CKG.category),
                brand_names=self.texts(s, CKG.brandName),
            )
        if record is Source:
            publisher = self.value(s, CKG.publisher)
            url = self.value(s, SCHEMA.url)  # an IRI, as the shapes ask (a literal is read too)
            return _as(
                common,
                Source,
                publisher=self.ident(publisher) if publisher is not None else None,
                local_copy=self.string(s, CKG.localCopy),
                url=str(url) if url is not None else None,
            )
        if record is Fact:
            return self.fact(s, common)
        return _as(common, record)

    def links(self, s: URIRef) -> tuple[tuple[str, tuple[str, ...]], ...]:
        found = ((r.name, self.ids(s, URIRef(r.iri))) for r in self.registry.relations.values())
        return tuple(sorted((name, ids) for name, ids in found if ids))

    def fact(self, s: URIRef, common: Entity) -> Fact:
        about = sorted(self.objects(s, CKG.about), key=str)
        relations = {o for o in about if self.has_type(o, CKG.Assertion)}
        return _as(
            common,
            Fact,
            about=tuple(self.ident(o) for o in about if o not in relations),
            about_relations=tuple(self.ident(o) for o in about if o in relations),
            measure=self.concept(s, CKG.measure),
            value=self.decimal(s, CKG.value),
            low=self.decimal(s, CKG.low),
            high=self.decimal(s, CKG.high),
            unit=self.concept(s, CKG.unit),
            qualifier=self.concept(s, CKG.qualifier),
            population=self.string(s, CKG.population),
            region=self.string(s, CKG.region),
            period=self.string(s, CKG.period),
            claim=self.string(s, CKG.claim),
            quote=self.string(s, CKG.quote) or "",
            cited_sources=self.ids(s, CKG.citedSource),
        )

    def relations(self) -> Iterator[Relation]:
        for s in self.subjects(CKG.Assertion):
            predicate = self.value(s, RDF.predicate)
            role = self.value(s, CKG.causeRole)
            yield Relation(
                id=self.ident(s),
                iri=str(s),
                subject=self.ident(self.value(s, RDF.subject) or URIRef("")),
                predicate=self.concept_id(predicate) if predicate is not None else "",
                object=self.ident(self.value(s, RDF.object) or URIRef("")),
                quote=self.string(s, CKG.quote) or "",
                sources=self.ids(s, PROV.wasDerivedFrom),
                role=self.concept_id(role) if role is not None else None,
            )

    def concepts(self) -> Iterator[Concept]:
        for s in sorted(self.index.subjects_with(SKOS_IN_SCHEME), key=str):
            scheme = self.value(s, SKOS.inScheme)
            yield Concept(
                id=self.concept_id(s),
                iri=str(s),
                scheme=self.concept_id(scheme) if scheme is not None else "",
                labels=self.texts(s, SKOS.prefLabel),
                notation=self.string(s, SKOS.notation),
                definition=self.string(s, SKOS.definition),
            )

    def codes(self) -> Iterator[ExternalCode]:
        for s in self.subjects(CKG.ExternalCode):
            relation = self.value(s, CKG.mappingRelation)
            agent = self.value(s, PROV.wasAttributedTo)
            yield ExternalCode(
                id=self.ident(s),
                system=self.string(s, SCHEMA.codingSystem) or "",
                value=self.string(s, SCHEMA.codeValue) or "",
                label=self.string(s, RDFS.label) or "",
                mapping_relation=self.concept_id(relation) if relation is not None else "",
                found_in=self.string(s, CKG.foundIn) or "",
                attributed_to=self.ident(agent) if agent is not None else None,
            )

    def definitions(self) -> Iterator[Definition]:
        for s in self.subjects(CKG.Definition):
            authority = self.value(s, CKG.authority)
            yield Definition(
                id=self.ident(s),
                text=self.string(s, CKG.text) or "",
                authority=self.ident(authority) if authority is not None else None,
                quote=self.string(s, CKG.quote) or "",
                sources=self.ids(s, PROV.wasDerivedFrom),
            )

    # -- value helpers

    def ids(self, s: Node, p: URIRef) -> tuple[str, ...]:
        # Sorted so the order is independent of parse order and hash seed.
        return tuple(sorted(self.ident(o) for o in self.objects(s, p) if isinstance(o, URIRef)))

    def texts(self, s: Node, p: URIRef) -> tuple[LangText, ...]:
        found = [
            LangText(o.language or "", str(o)) for o in self.objects(s, p) if isinstance(o, Literal)
        ]
        return tuple(sorted(found, key=lambda t: (t.lang, t.text)))

    def string(self, s: Node, p: URIRef) -> str | None:
        texts = self.texts(s, p)
        for t in texts:
            if t.lang == "en":
                return t.text
        return texts[0].text if texts else None

    def concept(self, s: Node, p: URIRef) -> str | None:
        o = self.value(s, p)
        return self.concept_id(o) if o is not None else None

    def decimal(self, s: Node, p: URIRef) -> Decimal | None:
        o = self.value(s, p)
        if o is None:
            return None
        try:
            return Decimal(str(o))
        except InvalidOperation:
            return None


E = TypeVar("E", bound=Entity)


_COMMON_FIELDS = tuple(f.name for f in fields(Entity))


def _as(common: Entity, record: type[E], **own: Any) -> E:
    """The fields every record shares, read once into `common`, in a record of the kind's class
    with the fields of its own."""
    return record(**{name: getattr(common, name) for name in _COMMON_FIELDS}, **own)
