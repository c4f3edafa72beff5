"""Facts (statistics and qualitative claims) and the relations they can be about."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, cast

import strawberry

from server.content import facts as render
from server.content import lookup
from server.model import records
from server.schema.base import (
    Concept,
    Evidence,
    Info,
    Node,
    Source,
    concept,
    field,
    register,
    sources_of,
    store_of,
    wrap,
)
from server.schema.kinds import FactKind


def _fact(node: Node) -> records.Fact:
    return cast(records.Fact, node.record)


@strawberry.interface(
    description="A citable statement with a stable id, one canonical sentence, "
    "a verbatim quote and its source: a Statistic or a QualitativeClaim."
)
class Fact(Node):
    @field("The entities the fact is about (for a fact about a relation, see `aboutRelations`).")
    def about(self, info: Info) -> list[Node]:
        store = store_of(info)
        found = (store.entity(i) for i in _fact(self).about)
        return [wrap(e) for e in found if e is not None]

    @field(
        "The relations the fact is about, such as 'epidural fibrosis "
        "causes failed back surgery syndrome'."
    )
    def about_relations(self, info: Info) -> list[Relation]:
        store = store_of(info)
        found = (store.relation(i) for i in _fact(self).about_relations)
        return [Relation(record=r) for r in found if r is not None]

    @field("What the fact measures (success rate, lifetime prevalence, ...).")
    def measure(self, info: Info) -> Concept | None:
        return concept(store_of(info), _fact(self).measure)

    @field("Who or what it counts, in the source's words.")
    def population(self) -> str | None:
        return _fact(self).population

    @field("Where it applies, in the source's words.")
    def region(self) -> str | None:
        return _fact(self).region

    @field("When or over what span it applies, in the source's words.")
    def period(self) -> str | None:
        return _fact(self).period

    @field("The source's words, verbatim (typos included).")
    def quote(self) -> str:
        return _fact(self).quote

    @field("The page the fact was read from.")
    def source(self, info: Info) -> Source | None:
        found = sources_of(store_of(info), _fact(self).sources)
        return found[0] if found else None

    @field("The work the page itself cites for the fact (e.g. a journal).")
    def cited_source(self, info: Info) -> Source | None:
        found = sources_of(store_of(info), _fact(self).cited_sources)
        return found[0] if found else None

    @field(
        "The canonical sentence for the fact; every page that states it should use this wording."
    )
    def statement(self, info: Info) -> str:
        return render.statement(_fact(self), store_of(info))

    @field('Short citation: "What is Spine Surgery Pain (clinic page), citing Pain Medicine".')
    def citation(self, info: Info) -> str:
        return render.short_citation(_fact(self), store_of(info))

    @field("Full citation: sources, publishers, cited works and the fact id.")
    def full_citation(self, info: Info) -> str:
        return render.full_citation(_fact(self), store_of(info))


@register("Statistic")
@strawberry.type(
    description="A numeric fact: a value or a low/high range, in a unit, with how "
    "exact the source says it is."
)
class Statistic(Fact):
    @field('"Proportion", "Count" or "RelativeChange".')
    def statistic_type(self) -> str:
        return self.record.kind

    @field("The single value, in `unit` (null when given as a range).")
    def value(self) -> float | None:
        v = _fact(self).value
        return float(v) if v is not None else None

    @field("Lower end of the range, in `unit` (null for a single value).")
    def low(self) -> float | None:
        v = _fact(self).low
        return float(v) if v is not None else None

    @field("Upper end of the range, in `unit` (null for a single value).")
    def high(self) -> float | None:
        v = _fact(self).high
        return float(v) if v is not None else None

    @field('The unit; its `notation` is the symbol ("%", "per year").')
    def unit(self, info: Info) -> Concept | None:
        return concept(store_of(info), _fact(self).unit)

    @field("How exact the number is (approximately, almost); null if exact.")
    def qualifier(self, info: Info) -> Concept | None:
        return concept(store_of(info), _fact(self).qualifier)

    @field('The number as words: "approximately 10%–40%", "almost 85%".')
    def value_text(self, info: Info) -> str | None:
        return render.value_phrase(_fact(self), store_of(info))


@register("QualitativeClaim", "Fact")
@strawberry.type(
    description="A fact without a number, such as 'success rates fall after each repeat surgery'."
)
class QualitativeClaim(Fact):
    @field("The canonical sentence of the claim (typos corrected).")
    def claim(self) -> str:
        return _fact(self).claim or ""


def wrap_fact(fact: records.Fact) -> Fact:
    """The GraphQL object of a fact: the type registered for its class (Statistic or claim)."""
    return cast(Fact, wrap(fact))


@strawberry.type(
    description="One relation triple of the graph (such as a cause of a condition) "
    "with the evidence for it."
)
class Relation:
    record: strawberry.Private[records.Relation]

    @field("Id of the assertion that records the relation.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.id)

    @field("The entity the relation starts from.")
    def subject(self, info: Info) -> Node | None:
        found = store_of(info).entity(self.record.subject)
        return wrap(found) if found else None

    @field('The relation, as the vocabulary names it ("hasCause").')
    def predicate(self) -> str:
        return self.record.predicate

    @field("The entity the relation points at.")
    def object(self, info: Info) -> Node | None:
        found = store_of(info).entity(self.record.object)
        return wrap(found) if found else None

    @field("Main or other cause, for a cause of a condition.")
    def role(self, info: Info) -> Concept | None:
        return concept(store_of(info), self.record.role)

    @field("The evidence: quote and source.")
    def evidence(self) -> Evidence:
        return Evidence(record=self.record)

    @field("Statistics and claims about this relation.")
    def facts(self, info: Info) -> list[Fact]:
        return [wrap_fact(f) for f in store_of(info).facts(about=self.record.id)]


# -- finding facts: the arguments shared by `Query.facts` and `Page.facts`

AboutArg = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        description="Only facts about this entity or relation (directly, or about one of "
        "the entity's relations)."
    ),
]
RelatedArg = Annotated[
    bool,
    strawberry.argument(
        description="With `about`: also facts about anything the entity links to (a "
        "condition's symptoms, causes, treatments, ...). Default false."
    ),
]
SourceArg = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        description='Only facts read from or citing this source ("pain-medicine").'
    ),
]
KindArg = Annotated[
    FactKind | None, strawberry.argument(description="Only statistics, or only claims.")
]
MeasureArg = Annotated[
    strawberry.ID | None,
    strawberry.argument(description='Only facts of this measure concept ("success-rate").'),
]


def find_facts(
    info: Info,
    *,
    about: str | None = None,
    related: bool = False,
    page: str | None = None,
    source: str | None = None,
    kind: FactKind | None = None,
    measure: str | None = None,
) -> Sequence[records.Fact]:
    """The facts matching every filter (server/content/lookup.py checks the ids)."""
    return lookup.find_facts(
        store_of(info),
        about=about,
        related=related,
        page=page,
        source=source,
        kind=cast(str, kind.value) if kind is not None else None,
        measure=measure,
    )
