"""The immutable records a snapshot holds: one frozen dataclass per kind of thing in the graph.

Records refer to each other by id (the slug of the IRI), never by object, so a snapshot can be built
in one pass and a store backed by SPARQL can hand out the same records later.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class LangText:
    """A literal with its language tag ("" when it has none)."""

    lang: str
    text: str


@dataclass(frozen=True, kw_only=True)
class Entity:
    """Anything with an id and labels: medical entities, the clinic, sources and facts."""

    id: str
    iri: str
    kind: str  # the ckg: class it is typed with ("PhysicalTherapy")
    # that class and every ckg: class above it, nearest first (from the ontology's registry)
    lineage: tuple[str, ...] = ()
    labels: tuple[LangText, ...] = ()
    alt_labels: tuple[LangText, ...] = ()
    definitions: tuple[LangText, ...] = ()
    codes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    # (predicate, object ids) for every ckg: relation to another entity, sorted by predicate.
    links: tuple[tuple[str, tuple[str, ...]], ...] = ()
    broader: tuple[str, ...] = ()  # skos:broader: more general entities (a page's own wording)

    def is_a(self, kind: str) -> bool:
        """Whether the entity is of class `kind` or of a class below it."""
        return kind in self.lineage

    def linked(self, predicate: str) -> tuple[str, ...]:
        """Ids of the entities this one links to through `predicate` (a ckg: local name)."""
        for name, ids in self.links:
            if name == predicate:
                return ids
        return ()

    def label(self, lang: str = "en") -> str:
        """The preferred label in `lang`, else in English, else any, else the id."""
        return pick(self.labels, lang) or self.id

    def alt(self, lang: str = "en") -> tuple[str, ...]:
        return tuple(t.text for t in self.alt_labels if t.lang in (lang, ""))

    def definition(self, lang: str = "en") -> str | None:
        return pick(self.definitions, lang)


@dataclass(frozen=True, kw_only=True)
class Condition(Entity):
    """A condition; what it is related to is in `links`, named below for readability."""

    authoritative_definitions: tuple[str, ...] = ()

    @property
    def symptoms(self) -> tuple[str, ...]:
        return self.linked("hasSymptom")

    @property
    def causes(self) -> tuple[str, ...]:
        return self.linked("hasCause")

    @property
    def risk_factors(self) -> tuple[str, ...]:
        return self.linked("hasRiskFactor")

    @property
    def treatments(self) -> tuple[str, ...]:
        return self.linked("possibleTreatment")

    @property
    def tests(self) -> tuple[str, ...]:
        return self.linked("typicalTest")


@dataclass(frozen=True, kw_only=True)
class Treatment(Entity):
    """A therapy, drug, drug class or surgical procedure: its category and brand names."""

    category: str | None = None
    brand_names: tuple[LangText, ...] = ()

    @property
    def components(self) -> tuple[str, ...]:
        return self.linked("hasComponent")

    @property
    def drug_classes(self) -> tuple[str, ...]:
        return self.linked("drugClass")

    @property
    def may_reduce(self) -> tuple[str, ...]:
        return self.linked("mayReduce")


@dataclass(frozen=True, kw_only=True)
class Clinic(Entity):
    """A clinic; the therapies it offers and its departments are in `links`."""

    @property
    def services(self) -> tuple[str, ...]:
        return self.linked("availableService")

    @property
    def departments(self) -> tuple[str, ...]:
        return self.linked("department")


@dataclass(frozen=True, kw_only=True)
class Source(Entity):
    """A web page, periodical or organization statements come from or cite."""

    publisher: str | None = None
    local_copy: str | None = None
    url: str | None = None  # where a page is published (schema:url), when the data says


@dataclass(frozen=True, kw_only=True)
class Fact(Entity):
    """A statistic (numbers) or a qualitative claim (a sentence), with its quote and source."""

    about: tuple[str, ...] = ()
    about_relations: tuple[str, ...] = ()
    measure: str | None = None
    value: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None
    unit: str | None = None
    qualifier: str | None = None
    population: str | None = None
    region: str | None = None
    period: str | None = None
    claim: str | None = None
    quote: str = ""
    cited_sources: tuple[str, ...] = ()

    @property
    def is_statistic(self) -> bool:
        return self.claim is None


@dataclass(frozen=True)
class Relation:
    """A ckg:Assertion: the evidence (quote, source, role) for one relation triple."""

    id: str
    iri: str
    subject: str
    predicate: str
    object: str
    quote: str
    sources: tuple[str, ...]
    role: str | None = None


@dataclass(frozen=True)
class ExternalCode:
    """A curator-asserted code in an external terminology."""

    id: str
    system: str
    value: str
    label: str
    mapping_relation: str
    found_in: str
    attributed_to: str | None


@dataclass(frozen=True)
class Concept:
    """A SKOS concept of the vocabulary (measure, unit, qualifier, category, cause role)."""

    id: str
    iri: str
    scheme: str
    labels: tuple[LangText, ...]
    notation: str | None
    definition: str | None

    def label(self, lang: str = "en") -> str:
        return pick(self.labels, lang) or self.id


@dataclass(frozen=True)
class Definition:
    """An authority's definition of a concept, with the verbatim quote and where it was read."""

    id: str
    text: str
    authority: str | None
    quote: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class SearchHit:
    """One search result: the entity, its score (higher is better) and the label that matched."""

    id: str
    score: float
    matched: str


def pick(texts: tuple[LangText, ...], lang: str) -> str | None:
    """The text in `lang`, else English, else untagged, else the first one."""
    for wanted in (lang, "en", ""):
        for t in texts:
            if t.lang == wanted:
                return t.text
    return texts[0].text if texts else None
