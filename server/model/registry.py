"""The kinds of entity and the relations between them, read from the ontology once per version.

Everything that depends on what kinds exist (which record a subject becomes, its GraphQL type,
the `search` filters, the sections of the HTML page, the schema.org types and properties, which
subjects the diff calls facts) asks this registry instead of keeping a list of its own.

What the ontology says is read from it: the class hierarchy (`rdfs:subClassOf`), the schema.org
alignment, which properties link entities and which need evidence (`ckg:requiresEvidence`).
What it cannot say is declared once here: the *families* a kind can belong to, each with the
record it is read into. A new class below a family root (say `ckg:ImagingTest rdfs:subClassOf
ckg:DiagnosticMethod`) needs no code at all; a class below no family is an error
(KG-UNREGISTERED-KIND) that names this file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal as TypingLiteral

from rdflib import Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from server.rdf.namespaces import CKG, SCHEMA

RecordType = TypingLiteral["entity", "condition", "treatment", "clinic", "source", "fact"]


@dataclass(frozen=True)
class Family:
    """A root class of the ontology and how its kinds are modelled: the record they are read into
    and the heading of their section on an HTML page."""

    root: str
    record: RecordType
    heading: str


# Declared here because the ontology cannot say how code models a kind. Order matters twice: a
# subject typed with classes of two families takes the first listed, and HTML pages list sections
# in this order.
FAMILIES: tuple[Family, ...] = (
    Family("Condition", "condition", "Conditions"),
    Family("Symptom", "entity", "Symptoms"),
    Family("Cause", "entity", "Causes"),
    Family("RiskFactor", "entity", "Risk factors"),
    Family("DiagnosticMethod", "entity", "Tests"),
    Family("Treatment", "treatment", "Treatments"),
    Family("Clinic", "clinic", "Clinics"),
    Family("Spa", "entity", "Spas"),
    Family("Source", "source", "Sources"),
    Family("Curator", "source", "Curators"),
    Family("Fact", "fact", "Facts"),
)

# Classes of the vocabulary that are not kinds of entity: the common superclass, and the
# structures read into records of their own (evidence, definitions, codes, measure classes).
# Classes of vocabulary concepts (below skos:Concept, such as ckg:ProportionMeasure) are not kinds
# of entity either.
STRUCTURAL = frozenset({"Entity", "Assertion", "Definition", "ExternalCode"})

# Relations that pages and markup list first, in this order; the others follow by name.
RELATION_ORDER = ("hasSymptom", "hasCause", "hasRiskFactor", "typicalTest", "possibleTreatment")

# Entity-to-entity links that come from outside the ckg: vocabulary.
BROADER = "broader"


@dataclass(frozen=True)
class Kind:
    """One class of the ontology that entities are typed with."""

    name: str  # the local name in ckg: ("PhysicalTherapy")
    iri: str
    label: str
    ancestors: tuple[str, ...]  # ckg: classes from this one up, nearest first, itself included
    family: Family
    schema_types: tuple[str, ...]  # the nearest schema.org classes above it

    def is_a(self, name: str) -> bool:
        return name in self.ancestors


@dataclass(frozen=True)
class Relation:
    """An object property of ckg: that links one entity to another."""

    name: str  # "hasSymptom"
    iri: str
    label: str
    domain: str | None
    range: str | None
    requires_evidence: bool
    schema_property: str | None  # the schema.org property it refines ("signOrSymptom")


@dataclass(frozen=True)
class Unregistered:
    """A ckg: class below no family: its entities would have no record, type or page section."""

    iri: str
    name: str


class Registry:
    """Kinds and relations of one dataset version (immutable)."""

    def __init__(self, kinds: Mapping[str, Kind], relations: Mapping[str, Relation]) -> None:
        # Plain dicts, never changed after this: the start-up cache pickles the registry.
        self.kinds: Mapping[str, Kind] = dict(kinds)
        self.relations: Mapping[str, Relation] = dict(relations)
        self._by_iri = {k.iri: k for k in kinds.values()}
        self._family_rank = {f.root: i for i, f in enumerate(FAMILIES)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Registry):
            return NotImplemented
        return (self.kinds, self.relations) == (other.kinds, other.relations)

    def kind(self, name: str) -> Kind | None:
        return self.kinds.get(name)

    def kind_of(self, type_iris: Iterable[str]) -> Kind | None:
        """The kind of a subject typed with these classes: the most specific one, of the first
        family (a procedure also typed as a cause is still a procedure)."""
        found = [k for t in type_iris if (k := self._by_iri.get(t)) is not None]
        if not found:
            return None
        return min(found, key=lambda k: (self._family_rank[k.family.root], -len(k.ancestors)))

    def kinds_under(self, roots: Iterable[str]) -> frozenset[str]:
        """Every kind that is one of `roots` or below one of them."""
        wanted = set(roots)
        return frozenset(n for n, k in self.kinds.items() if wanted.intersection(k.ancestors))

    def ordered_relations(self) -> tuple[Relation, ...]:
        """Relations in the order pages show them: RELATION_ORDER first, then by name."""
        rank = {name: i for i, name in enumerate(RELATION_ORDER)}
        return tuple(
            sorted(self.relations.values(), key=lambda r: (rank.get(r.name, len(rank)), r.name))
        )


def read_registry(
    triples: Iterable[tuple[Node, Node, Node]],
) -> tuple[Registry, list[Unregistered]]:
    """The registry of the vocabulary in `triples` (the ontology/ files), and the classes it could
    not place in a family."""
    vocab = _Vocabulary(triples)
    roots = {f.root: f for f in FAMILIES}
    kinds: dict[str, Kind] = {}
    unregistered: list[Unregistered] = []
    for cls in sorted(vocab.classes, key=str):
        name = _local(cls)
        if name is None or name in STRUCTURAL or vocab.is_concept_class(cls):
            continue
        ancestors = vocab.ancestors(cls)
        family = next((roots[a] for a in ancestors if a in roots), None)
        if family is None:
            unregistered.append(Unregistered(str(cls), name))
            continue
        kinds[name] = Kind(
            name=name,
            iri=str(cls),
            label=vocab.label(cls) or name,
            ancestors=ancestors,
            family=family,
            schema_types=tuple(vocab.nearest_schema(cls, RDFS.subClassOf)),
        )
    relations: dict[str, Relation] = {}
    for prop in sorted(vocab.object_properties, key=str):
        name = _local(prop)
        domain, range_ = vocab.one(prop, RDFS.domain), vocab.one(prop, RDFS.range)
        if name is None or not _is_entity_link(range_, kinds):
            continue
        schema = vocab.nearest_schema(prop, RDFS.subPropertyOf)
        relations[name] = Relation(
            name=name,
            iri=str(prop),
            label=vocab.label(prop) or name,
            domain=_local(domain) if domain is not None else None,
            range=_local(range_) if range_ is not None else None,
            requires_evidence=vocab.requires_evidence(prop),
            schema_property=schema[0] if len(schema) == 1 else None,
        )
    return Registry(kinds, relations), unregistered


def _is_entity_link(range_: Node | None, kinds: Mapping[str, Kind]) -> bool:
    # Links to entities (a kind, or a family root such as ckg:Treatment); not to concepts,
    # codes, definitions or literals.
    name = _local(range_) if range_ is not None else None
    return name is not None and name in kinds


class _Vocabulary:
    """The few things the registry asks of the ontology triples, indexed once."""

    def __init__(self, triples: Iterable[tuple[Node, Node, Node]]) -> None:
        self.parents: dict[Node, list[Node]] = defaultdict(list)
        self.values: dict[tuple[Node, Node], list[Node]] = defaultdict(list)
        self.classes: set[Node] = set()
        self.object_properties: set[Node] = set()
        vocabulary = str(CKG)
        for s, p, o in triples:
            # Only ckg: classes and properties are ever asked about: data triples (a diff hands
            # in whole graphs) are passed over, not indexed.
            if not (isinstance(s, URIRef) and s.startswith(vocabulary)):
                continue
            self.values[(s, p)].append(o)
            if p == RDFS.subClassOf or p == RDFS.subPropertyOf:
                self.parents[s].append(o)
            elif p == RDF.type and o in (OWL.Class, RDFS.Class):
                self.classes.add(s)
            elif p == RDF.type and o == OWL.ObjectProperty:
                self.object_properties.add(s)

    def one(self, s: Node, p: Node) -> Node | None:
        found = self.values.get((s, p), [])
        return min(found, key=str) if found else None

    def label(self, s: Node) -> str | None:
        given = [*self.values.get((s, RDFS.label), []), *self.values.get((s, SKOS.prefLabel), [])]
        texts = [o for o in given if isinstance(o, Literal)]
        english = sorted(str(t) for t in texts if t.language in ("en", None))
        return english[0] if english else None

    def requires_evidence(self, prop: Node) -> bool:
        return any(
            isinstance(o, Literal) and o.toPython() is True
            for o in self.values.get((prop, CKG.requiresEvidence), [])
        )

    def is_concept_class(self, cls: Node) -> bool:
        """Whether `cls` is below skos:Concept: a class of vocabulary concepts, not entities."""
        level, seen = [cls], {cls}
        while level:
            if SKOS.Concept in level:
                return True
            level = [p for n in level for p in self.parents.get(n, []) if p not in seen]
            seen.update(level)
        return False

    def ancestors(self, cls: Node) -> tuple[str, ...]:
        """ckg: classes from `cls` up (breadth-first, nearest first), itself included."""
        found: list[str] = []
        level, seen = [cls], {cls}
        while level:
            found.extend(n for node in level if (n := _local(node)) is not None)
            above: list[Node] = []
            for node in level:
                for parent in sorted(self.parents.get(node, []), key=str):
                    if parent not in seen:
                        seen.add(parent)
                        above.append(parent)
            level = above
        return tuple(dict.fromkeys(found))

    def nearest_schema(self, start: Node, link: URIRef) -> list[str]:
        """The nearest schema.org terms above `start` along `link` (one level of hits)."""
        level, seen = [start], {start}
        while level:
            hits = sorted(n for node in level if (n := _schema_name(node)))
            if hits:
                return hits
            above = [o for n in level for o in self.values.get((n, link), []) if o not in seen]
            seen.update(above)
            level = above
        return []


def _local(node: Node | None) -> str | None:
    text = str(node) if isinstance(node, URIRef) else ""
    return text[len(str(CKG)) :] if text.startswith(str(CKG)) else None


def _schema_name(node: Node) -> str:
    text, prefix = str(node), str(SCHEMA)
    return text[len(prefix) :] if isinstance(node, URIRef) and text.startswith(prefix) else ""
