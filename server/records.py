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
    kind: str
    labels: tuple[LangText, ...] = ()
    alt_labels: tuple[LangText, ...] = ()
    definitions: tuple[LangText, ...] = ()
    codes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def label(self, lang: str = "en") -> str:
        """The preferred label in `lang`, else in English, else any, else the id."""
        return pick(self.labels, lang) or self.id

    def alt(self, lang: str = "en") -> tuple[str, ...]:
        return tuple(t.text for t in self.alt_labels if t.lang in (lang, ""))

    def definition(self, lang: str = "en") -> str | None:
        return pick(self.definitions, lang)


@dataclass(frozen=True, kw_only=True)
class Condition(Entity):
    """A condition and the ids of what it is related to, in the order the data lists them."""

    symptoms: tuple[str, ...] = ()
    causes: tuple[str, ...] = ()
    risk_factors: tuple[str, ...] = ()
    treatments: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    authoritative_definitions: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Treatment(Entity):
    """A therapy, drug or drug class: its category concept, components and drug classes."""

    category: str | None = None
    components: tuple[str, ...] = ()
    drug_classes: tuple[str, ...] = ()
    brand_names: tuple[LangText, ...] = ()
    may_reduce: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Clinic(Entity):
    """A clinic, the therapies it offers and its departments."""

    services: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Source(Entity):
    """A web page, periodical or organization statements come from or cite."""

    publisher: str | None = None
    local_copy: str | None = None


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
