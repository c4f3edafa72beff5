"""Read the records of a snapshot out of an rdflib graph; runs once per dataset version."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation

from rdflib import Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS
from rdflib.term import Node

from .namespaces import CKG, SCHEMA
from .records import (
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

# Most specific class first: an entity's kind is the first of these it is typed with.
KINDS = (
    "Condition",
    "Symptom",
    "Cause",
    "RiskFactor",
    "PhysicalTherapy",
    "InterventionalProcedure",
    "ComplementaryTherapy",
    "Therapy",
    "Drug",
    "DrugClass",
    "SurgicalProcedure",
    "DiagnosticMethod",
    "Clinic",
    "Spa",
    "WebPage",
    "Periodical",
    "Organization",
    "Curator",
    "Proportion",
    "Count",
    "RelativeChange",
    "Statistic",
    "QualitativeClaim",
)
TREATMENT_KINDS = frozenset(
    {
        "PhysicalTherapy",
        "InterventionalProcedure",
        "ComplementaryTherapy",
        "Therapy",
        "Drug",
        "DrugClass",
    }
)
SOURCE_KINDS = frozenset({"WebPage", "Periodical", "Organization", "Curator"})
FACT_KINDS = frozenset({"Proportion", "Count", "RelativeChange", "Statistic", "QualitativeClaim"})


class GraphReader:
    """Turns triples into frozen records, ids relative to `id_prefix`.

    One pass indexes the triples by subject and predicate in plain dictionaries: at a million
    triples that is several times faster than asking an rdflib graph, and needs no merged copy.
    """

    def __init__(self, triples: Iterable[tuple[Node, Node, Node]], id_prefix: str) -> None:
        self.id_prefix = id_prefix
        # subject -> predicate -> objects; dicts as ordered sets, so a repeated triple counts once
        self.spo: dict[Node, dict[Node, dict[Node, None]]] = defaultdict(lambda: defaultdict(dict))
        self.typed: dict[Node, dict[Node, None]] = defaultdict(dict)
        rdf_type, in_scheme = RDF.type, SKOS.inScheme  # namespace lookups are slow in the loop
        spo, typed = self.spo, self.typed
        for s, p, o in triples:
            spo[s][p][o] = None
            if p == rdf_type:
                typed[o][s] = None
            elif p == in_scheme:
                typed[in_scheme][s] = None

    def objects(self, s: Node, p: Node) -> list[Node]:
        by_predicate = self.spo.get(s)
        return list(by_predicate.get(p, ())) if by_predicate else []

    def value(self, s: Node, p: Node) -> Node | None:
        """One object; the smallest, so a (wrongly) repeated value still reads deterministically."""
        found = self.objects(s, p)
        return min(found, key=str) if found else None

    def subjects(self, cls: Node) -> list[Node]:
        return sorted(self.typed.get(cls, ()), key=str)

    def has_type(self, s: Node, cls: Node) -> bool:
        return cls in self.spo.get(s, {}).get(RDF.type, {})

    def ident(self, node: Node) -> str:
        """`<base>id/acetaminophen` -> `acetaminophen`; other IRIs stay whole."""
        text = str(node)
        return text[len(self.id_prefix) :] if text.startswith(self.id_prefix) else text

    def concept_id(self, node: Node) -> str:
        """Concepts are named by the last segment of their IRI: `measure/success-rate`."""
        text = str(node)
        return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]

    def entities(self) -> Iterator[Entity]:
        kinds = {CKG[k]: k for k in KINDS}
        seen: set[Node] = set()
        for cls, kind in kinds.items():
            for s in self.subjects(cls):
                if s in seen or not isinstance(s, URIRef):
                    continue
                seen.add(s)
                yield self.entity(s, kind)

    def entity(self, s: URIRef, kind: str) -> Entity:
        common: dict[str, object] = {
            "id": self.ident(s),
            "iri": str(s),
            "kind": kind,
            "labels": self.texts(s, SKOS.prefLabel),
            "alt_labels": self.texts(s, SKOS.altLabel) + self.texts(s, CKG.brandName),
            "definitions": self.texts(s, SKOS.definition),
            "codes": self.ids(s, CKG.code),
            "sources": self.ids(s, PROV.wasDerivedFrom),
        }
        if kind == "Condition":
            return Condition(
                **common,  # type: ignore[arg-type]
                symptoms=self.ids(s, CKG.hasSymptom),
                causes=self.ids(s, CKG.hasCause),
                risk_factors=self.ids(s, CKG.hasRiskFactor),
                treatments=self.ids(s, CKG.possibleTreatment),
                tests=self.ids(s, CKG.typicalTest),
                authoritative_definitions=self.ids(s, CKG.hasDefinition),
            )
        if kind in TREATMENT_KINDS:
            category = self.value(s, CKG.category)
            return Treatment(
                **common,  # type: ignore[arg-type]
                category=self.concept_id(category) if category is not None else None,
                components=self.ids(s, CKG.hasComponent),
                drug_classes=self.ids(s, CKG.drugClass),
                brand_names=self.texts(s, CKG.brandName),
                may_reduce=self.ids(s, CKG.mayReduce),
            )
        if kind == "Clinic":
            return Clinic(
                **common,  # type: ignore[arg-type]
                services=self.ids(s, CKG.availableService),
                departments=self.ids(s, CKG.department),
            )
        if kind in SOURCE_KINDS:
            publisher = self.value(s, CKG.publisher)
            return Source(
                **common,  # type: ignore[arg-type]
                publisher=self.ident(publisher) if publisher is not None else None,
                local_copy=self.string(s, CKG.localCopy),
            )
        if kind in FACT_KINDS:
            return self.fact(s, common)
        return Entity(**common)  # type: ignore[arg-type]

    def fact(self, s: URIRef, common: dict[str, object]) -> Fact:
        about = sorted(self.objects(s, CKG.about), key=str)
        relations = {o for o in about if self.has_type(o, CKG.Assertion)}
        return Fact(
            **common,  # type: ignore[arg-type]
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
        for s in self.subjects(SKOS.inScheme):
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
