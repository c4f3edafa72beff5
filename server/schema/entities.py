"""GraphQL types of the medical entities and the clinic; relations are evidence-carrying edges."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Annotated, TypeVar, cast

import strawberry
from strawberry.scalars import JSON

from server.content.lookup import require_concept, require_entity, require_page
from server.content.schemaorg import condition_markup
from server.model import records
from server.schema.base import (
    PAGE_ARG,
    Concept,
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
from server.schema.fact_types import Fact
from server.schema.pagination import AFTER, FIRST, After, First, PageInfo, paginate
from server.schema.relations import (
    RelationConnection,
    edge_evidence,
    referrers,
    related,
    relation_connection,
    stated_by,
)

# Concept schemes arguments take ids of (the last segment of the scheme's IRI).
TREATMENT_CATEGORIES = "TreatmentCategories"
CAUSE_ROLES = "CauseRoles"
PageArg = Annotated[strawberry.ID | None, PAGE_ARG]


def _page(info: Info, page: str | None) -> str | None:
    return require_page(store_of(info), page).id if page is not None else None


@strawberry.type(description="An authority's definition of a condition, with the verbatim quote.")
class AuthoritativeDefinition:
    record: strawberry.Private[records.Definition]

    @field("The definition, as the authority words it.")
    def text(self) -> str:
        return self.record.text

    @field("The organization whose definition it is (e.g. the IASP).")
    def authority(self, info: Info) -> Source | None:
        found = sources_of(store_of(info), (self.record.authority or "",))
        return found[0] if found else None

    @field("The source's words, verbatim.")
    def quote(self) -> str:
        return self.record.quote

    @field("Where the definition was read.")
    def sources(self, info: Info) -> list[Source]:
        return sources_of(store_of(info), self.record.sources)


@strawberry.type(
    description="A cause of a condition, with how the source presents it (main or "
    "other cause), the quote, the source and the statistics about the relation."
)
class CauseEdge:
    cursor: str = strawberry.field(description="Opaque position of this item in its list.")
    node: Cause = strawberry.field(description="The cause.")
    role: Concept | None = strawberry.field(
        description='Concept "main" (a main cause) or "other" (among other potential causes).'
    )
    quote: str | None = strawberry.field(description="The source's words, verbatim.")
    source: Source | None = strawberry.field(description="Where the quote was read.")
    statistics: list[Fact] = strawberry.field(
        description="Statistics about this cause of this condition (e.g. its share of cases)."
    )


@strawberry.type(description="A page of the causes of a condition.")
class CauseConnection:
    edges: list[CauseEdge] = strawberry.field(description="The causes of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    total_count: int = strawberry.field(description="How many causes there are.")


def _conditions(info: Info, id: str, predicate: str) -> list[Condition]:
    return [Condition(record=e) for e in referrers(store_of(info), id, predicate)]


@register("Condition")
@strawberry.type(
    description="A disease, disorder or syndrome, with its symptoms, causes, risk "
    "factors, treatments and tests; every relation carries its evidence."
)
class Condition(Node):
    def _c(self) -> records.Condition:
        return cast(records.Condition, self.record)

    @field("Signs and symptoms, each with the quote that names it.")
    def symptoms(
        self, info: Info, page: PageArg = None, first: First = None, after: After = None
    ) -> RelationConnection[Symptom]:
        c = self._c()
        targets = related(store_of(info), c.symptoms)
        return relation_connection(
            info, c.id, "hasSymptom", targets, _as(Symptom), first, after, _page(info, page)
        )

    @field(
        "Causes, each with its role (main/other), quote, source and the statistics about it; "
        'optionally only those of one role ("main", "other").'
    )
    def causes(
        self,
        info: Info,
        role: Annotated[
            strawberry.ID | None,
            strawberry.argument(description='A cause role concept id: "main" or "other".'),
        ] = None,
        page: PageArg = None,
        first: First = None,
        after: After = None,
    ) -> CauseConnection:
        c = self._c()
        store = store_of(info)
        page_id = _page(info, page)
        causes = stated_by(store, c.id, "hasCause", related(store, c.causes), page_id)
        if role is not None:
            wanted = require_concept(store, role, CAUSE_ROLES, "cause role").id
            causes = [
                e for e in causes
                if any(r.role == wanted for r in store.evidence(c.id, "hasCause", e.id))
            ]  # fmt: skip
        paged = paginate(causes, lambda e: e.id, first, after, info.context.settings)
        edges = []
        for cursor, entity in zip(paged.cursors, paged.items, strict=True):
            ev = edge_evidence(store, c.id, "hasCause", entity.id, page_id)
            edges.append(
                CauseEdge(
                    cursor=cursor,
                    node=Cause(record=entity),
                    role=ev.role,
                    quote=ev.quote,
                    source=ev.source,
                    statistics=ev.statistics,
                )
            )
        return CauseConnection(edges=edges, page_info=paged.page_info(), total_count=paged.total)

    @field("Risk factors, each with its evidence.")
    def risk_factors(
        self, info: Info, page: PageArg = None, first: First = None, after: After = None
    ) -> RelationConnection[RiskFactor]:
        c = self._c()
        targets = related(store_of(info), c.risk_factors)
        return relation_connection(
            info, c.id, "hasRiskFactor", targets, _as(RiskFactor), first, after, _page(info, page)
        )

    @field(
        "Possible treatments, each with its evidence; optionally only "
        'one category ("medication", "physical-therapy", "interventional", '
        '"complementary", "surgery").'
    )
    def treatments(
        self,
        info: Info,
        category: Annotated[
            strawberry.ID | None, strawberry.argument(description="Treatment category id.")
        ] = None,
        page: PageArg = None,
        first: First = None,
        after: After = None,
    ) -> RelationConnection[Treatment]:
        c = self._c()
        store = store_of(info)
        targets = related(store, c.treatments)
        if category is not None:
            wanted = require_concept(store, category, TREATMENT_CATEGORIES, "category").id
            targets = [t for t in targets if getattr(t, "category", None) == wanted]
        return relation_connection(
            info, c.id, "possibleTreatment", targets, _treatment, first, after, _page(info, page)
        )

    @field("Tests and examinations used to diagnose it, with evidence.")
    def tests(
        self, info: Info, page: PageArg = None, first: First = None, after: After = None
    ) -> RelationConnection[DiagnosticMethod]:
        c = self._c()
        targets = related(store_of(info), c.tests)
        return relation_connection(
            info, c.id, "typicalTest", targets, _as(DiagnosticMethod), first, after,
            _page(info, page),
        )  # fmt: skip

    @field("Authoritative definitions (e.g. the IASP's), with quotes.")
    def authoritative_definitions(self, info: Info) -> list[AuthoritativeDefinition]:
        store = store_of(info)
        found = (store.definition(d) for d in self._c().authoritative_definitions)
        return [AuthoritativeDefinition(record=d) for d in found if d is not None]

    @field(
        "schema.org JSON-LD for a web page about the condition, as that page says it: a "
        "MedicalWebPage about a MedicalCondition with the signOrSymptom, cause, riskFactor, "
        "possibleTreatment and typicalTest the page gives evidence for, the page's synonyms, "
        'codes and citations. Embed it in a <script type="application/ld+json"> element; the '
        "same document as `clinic-kg export --schema-org ID [--page PAGE]`. A condition on "
        "several pages needs `page` (error code PAGE_REQUIRED lists them)."
    )
    def schema_org(
        self,
        info: Info,
        page: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Id of the page whose markup to build."),
        ] = None,
    ) -> JSON | None:
        return cast(JSON, condition_markup(store_of(info), self.record.id, page))


@register("Symptom")
@strawberry.type(description="A sign or symptom a patient with a condition may present.")
class Symptom(Node):
    @field("Conditions that list this symptom.")
    def conditions(self, info: Info) -> list[Condition]:
        return _conditions(info, self.record.id, "hasSymptom")


@register("Cause")
@strawberry.type(
    description="Something a source names as a cause of, or contributor to, a condition."
)
class Cause(Node):
    @field("Conditions this is a cause of.")
    def conditions(self, info: Info) -> list[Condition]:
        return _conditions(info, self.record.id, "hasCause")

    @field("Treatments a source says may reduce the likelihood of this cause.")
    def reduced_by(self, info: Info) -> list[Treatment]:
        return [
            cast(Treatment, wrap(e)) for e in referrers(store_of(info), self.record.id, "mayReduce")
        ]


@register("RiskFactor")
@strawberry.type(description="A factor a source names as increasing the risk of a condition.")
class RiskFactor(Node):
    @field("Conditions this is a risk factor of.")
    def conditions(self, info: Info) -> list[Condition]:
        return _conditions(info, self.record.id, "hasRiskFactor")


@register("DiagnosticMethod")
@strawberry.type(description="A test or examination used to diagnose a condition or its causes.")
class DiagnosticMethod(Node):
    @field("Conditions this test is used for.")
    def conditions(self, info: Info) -> list[Condition]:
        return _conditions(info, self.record.id, "typicalTest")


@strawberry.interface(
    description="Anything used to treat a condition: a therapy, a drug, a drug class or a "
    "surgical procedure a page offers as a treatment."
)
class Treatment(Node):
    def _t(self) -> records.Treatment:
        return cast(records.Treatment, self.record)

    @field(
        "The group it is listed in (medication, physical therapy, interventional, complementary)."
    )
    def category(self, info: Info) -> Concept | None:
        return concept(store_of(info), self._t().category)

    @field("Components of a therapy program, each with its evidence.")
    def components(
        self, info: Info, first: First = None, after: After = None
    ) -> RelationConnection[Treatment]:
        t = self._t()
        targets = related(store_of(info), t.components)
        return relation_connection(info, t.id, "hasComponent", targets, _treatment, first, after)

    @field("The therapy programs this is a component of.")
    def part_of(self, info: Info) -> list[Treatment]:
        found = referrers(store_of(info), self.record.id, "hasComponent")
        return [cast(Treatment, wrap(e)) for e in found]

    @field("Causes a source says this treatment may reduce.")
    def may_reduce(
        self, info: Info, first: First = None, after: After = None
    ) -> RelationConnection[Cause]:
        t = self._t()
        targets = related(store_of(info), t.may_reduce)
        return relation_connection(info, t.id, "mayReduce", targets, _as(Cause), first, after)

    @field("Conditions this is a possible treatment of.")
    def conditions(self, info: Info) -> list[Condition]:
        return _conditions(info, self.record.id, "possibleTreatment")

    @field("Clinics that offer this as a service.")
    def offered_by(self, info: Info) -> list[Clinic]:
        found = referrers(store_of(info), self.record.id, "availableService")
        return [Clinic(record=e) for e in found]


@register("SurgicalProcedure")
@strawberry.type(
    description="A surgical procedure a source discusses: as a possible treatment of a "
    "condition (category surgery), or as the subject of a statistic (see `facts`)."
)
class SurgicalProcedure(Treatment):
    pass


@register("Therapy", "Treatment")
@strawberry.type(description="A therapy or procedure used to treat a condition.")
class Therapy(Treatment):
    pass


@register("PhysicalTherapy")
@strawberry.type(description="Physical therapy, or one of its components (exercise, stretching).")
class PhysicalTherapy(Treatment):
    pass


@register("InterventionalProcedure")
@strawberry.type(
    description="A minimally invasive pain procedure (injection, nerve block, ablation)."
)
class InterventionalProcedure(Treatment):
    pass


@register("ComplementaryTherapy")
@strawberry.type(description="A therapy used alongside conventional treatment.")
class ComplementaryTherapy(Treatment):
    pass


@register("Drug")
@strawberry.type(description="A single medicinal substance; brand names are among its altLabels.")
class Drug(Treatment):
    @field('Brand names it is sold under ("Tylenol").')
    def brand_names(self) -> list[str]:
        return [t.text for t in self._t().brand_names]

    @field("The drug classes it belongs to, with evidence.")
    def drug_classes(
        self, info: Info, first: First = None, after: After = None
    ) -> RelationConnection[DrugClass]:
        t = self._t()
        targets = related(store_of(info), t.drug_classes)
        return relation_connection(info, t.id, "drugClass", targets, _as(DrugClass), first, after)


@register("DrugClass")
@strawberry.type(description="A class of drugs grouped by action or use (NSAIDs, opioids).")
class DrugClass(Treatment):
    @field("Drugs of this class that the graph lists.")
    def drugs(self, info: Info) -> list[Drug]:
        return [Drug(record=e) for e in referrers(store_of(info), self.record.id, "drugClass")]


@register("Spa")
@strawberry.type(description="A day spa run as a department of a clinic.")
class Spa(Node):
    pass


@register("Clinic")
@strawberry.type(description="A medical clinic, the services it offers and its departments.")
class Clinic(Node):
    def _c(self) -> records.Clinic:
        return cast(records.Clinic, self.record)

    @field(
        "Therapies the clinic offers, with evidence. With "
        "`forCondition`, only those relevant to it: a possible treatment of the "
        "condition, or of the same treatment category as one."
    )
    def services(
        self,
        info: Info,
        for_condition: Annotated[
            strawberry.ID | None, strawberry.argument(description="A condition id.")
        ] = None,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> RelationConnection[Treatment]:
        c = self._c()
        store = store_of(info)
        targets = related(store, c.services)
        if for_condition is not None:
            condition = require_entity(store, for_condition, ("Condition",), "condition")
            treats = related(store, getattr(condition, "treatments", ()))
            ids = {t.id for t in treats}
            categories = {getattr(t, "category", None) for t in treats} - {None}
            targets = [
                t for t in targets if t.id in ids or getattr(t, "category", None) in categories
            ]
        return relation_connection(
            info, c.id, "availableService", targets, _treatment, first, after
        )

    @field("Departments of the clinic, such as its spa, with evidence.")
    def departments(
        self, info: Info, first: First = None, after: After = None
    ) -> RelationConnection[Spa]:
        c = self._c()
        targets = related(store_of(info), c.departments)
        return relation_connection(info, c.id, "department", targets, _as(Spa), first, after)


N = TypeVar("N", bound=Node)


def _treatment(entity: records.Entity) -> Treatment:
    return cast(Treatment, wrap(entity))


@cache  # one function per type: relation edges are kept per wrapper (relations.py)
def _as(cls: type[N]) -> Callable[[records.Entity], N]:
    """A wrapper for entities known to be of one GraphQL type."""
    return lambda entity: cls(record=entity)
