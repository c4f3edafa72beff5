"""The root Query type: every entry point clients start from. Read-only; there are no mutations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, cast

import strawberry

from server.content.lookup import UserInputError, require_concept, unknown
from server.model import records
from server.schema.base import (
    Concept,
    Info,
    Node,
    Source,
    field,
    store_of,
    wrap,
)
from server.schema.changes import Changes, resolve_changes
from server.schema.entities import TREATMENT_CATEGORIES, Clinic, Condition, Treatment
from server.schema.fact_types import (
    AboutArg,
    Fact,
    KindArg,
    MeasureArg,
    RelatedArg,
    SourceArg,
    Statistic,
    find_facts,
    wrap_fact,
)
from server.schema.kinds import NodeType, kinds_of
from server.schema.pages import Page
from server.schema.pagination import After, Connection, Edge, First, PageInfo, connection, paginate

ID_ARG = strawberry.argument(description='An id ("acetaminophen") or full IRI.')
IDS_ARG = strawberry.argument(description="Ids or IRIs; at most max_page_size of them.")


@strawberry.type(
    description="One search result: the entity, how well it matched and which label matched."
)
class SearchEdge:
    cursor: str = strawberry.field(description="Opaque position of this result.")
    node: Node = strawberry.field(description="The entity found.")
    score: float = strawberry.field(
        description="Relevance, higher is better: exact label > label starting with the text > "
        "the label in other word forms (plural, ...) > its initials > phrase > words; preferred "
        "labels rank above synonyms; a fact found by its quote or claim ranks below every label."
    )
    matched_label: str = strawberry.field(
        description="The label or synonym that matched (for initials, the label they stand "
        "for); for a fact found by its quote or claim, a few words of it around the match."
    )


@strawberry.type(description="A page of search results, best first.")
class SearchConnection:
    edges: list[SearchEdge] = strawberry.field(description="The results of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the results.")
    total_count: int = strawberry.field(description="How many entities matched.")


@strawberry.type(description="The dataset version being served.")
class Dataset:
    version: str = strawberry.field(
        description="Content hash of the input files; changes whenever the data changes."
    )
    triple_count: int = strawberry.field(description="Triples in the data and the vocabulary.")
    loaded_at: datetime = strawberry.field(description="When this version was loaded (UTC).")
    last_reload_error: str | None = strawberry.field(
        description="Why the last reload failed (the previous version keeps serving); null when "
        "the last reload succeeded."
    )


def _bounded(ids: list[strawberry.ID], info: Info) -> list[strawberry.ID]:
    limit = info.context.settings.max_page_size
    if len(ids) > limit:
        raise UserInputError(f"at most {limit} ids per request (max_page_size); got {len(ids)}")
    return ids


# Single lookups are nullable (null: nothing has that id); lists are not: a bad argument is an
# error with a code, never an empty or null list.
@strawberry.type(description="Read-only entry points into the clinic knowledge graph.")
class Query:
    @field(
        "Any entity by id: condition, symptom, treatment, source, fact, "
        "clinic... Null when no entity has that id."
    )
    def node(self, info: Info, id: Annotated[strawberry.ID, ID_ARG]) -> Node | None:
        found = store_of(info).entity(id)
        return wrap(found) if found else None

    @field("Several entities by id, in the order asked; null for unknown ids.")
    def nodes(self, info: Info, ids: Annotated[list[strawberry.ID], IDS_ARG]) -> list[Node | None]:
        store = store_of(info)
        return [wrap(e) if e else None for e in (store.entity(i) for i in _bounded(ids, info))]

    @field("A condition by id; null when there is none with that id.")
    def condition(self, info: Info, id: Annotated[strawberry.ID, ID_ARG]) -> Condition | None:
        found = store_of(info).entity(id)
        return Condition(record=found) if isinstance(found, records.Condition) else None

    @field("All conditions, by label.")
    def conditions(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[Condition]:
        items = store_of(info).entities(["Condition"])
        page = paginate(items, lambda e: e.id, first, after, info.context.settings)
        return connection(page, lambda e: Condition(record=e))

    @field(
        "Entities whose label or synonym matches, best first: by the beginnings of its words, "
        'their English stems ("nerve blocks" finds Selective nerve block) or its initials '
        '("FBSS"); facts also by the words of their quote or claim. Case- and '
        'accent-insensitive ("tylenol" finds Acetaminophen).'
    )
    def search(
        self,
        info: Info,
        text: Annotated[str, strawberry.argument(description="What to look for.")],
        types: Annotated[
            list[NodeType] | None,
            strawberry.argument(description="Only entities of these kinds (default: all)."),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> SearchConnection:
        if not text.strip():
            raise UserInputError("`text` must not be empty")
        store = store_of(info)
        hits = store.search(text, sorted(kinds_of(store, *types)) if types else [])
        page = paginate(hits, lambda h: h.id, first, after, info.context.settings)
        edges = []
        for cursor, hit in zip(page.cursors, page.items, strict=True):
            entity = store.entity(hit.id)
            if entity is not None:
                edges.append(
                    SearchEdge(
                        cursor=cursor, node=wrap(entity), score=hit.score, matched_label=hit.matched
                    )
                )
        return SearchConnection(edges=edges, page_info=page.page_info(), total_count=page.total)

    @field(
        "Numeric facts, optionally only those about an entity (directly "
        "or about one of its relations) and/or of one measure.",
        deprecation_reason="Use `facts(kind: STATISTIC, about:, measure:)`, which also "
        "filters by page and source.",
    )
    def statistics(
        self,
        info: Info,
        about: Annotated[
            strawberry.ID | None, strawberry.argument(description="An entity or relation id.")
        ] = None,
        measure: Annotated[
            strawberry.ID | None,
            strawberry.argument(description='A measure concept id, e.g. "success-rate".'),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Statistic]:
        found = [f for f in find_facts(info, about=about, measure=measure) if f.is_statistic]
        page = paginate(found, lambda f: f.id, first, after, info.context.settings)
        return connection(page, lambda f: Statistic(record=f))

    @field("A fact (statistic or qualitative claim) by id; null if unknown.")
    def fact(self, info: Info, id: Annotated[strawberry.ID, ID_ARG]) -> Fact | None:
        found = store_of(info).entity(id)
        return wrap_fact(found) if isinstance(found, records.Fact) else None

    @field(
        "Every fact (statistics and qualitative claims) of the graph, by label, filtered by "
        "any of: the page it was read from, a source it was read from or cites, what it is "
        "about, its kind and its measure. With `ids`, only those facts, in the order asked."
    )
    def facts(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(
                description="Only these facts, in this order (at most max_page_size); an "
                "unknown id is an error. Use `nodes(ids)` to get null for unknown ids instead."
            ),
        ] = None,
        page: Annotated[
            strawberry.ID | None,
            strawberry.argument(description='Only facts read from this page ("clinic-page").'),
        ] = None,
        source: SourceArg = None,
        about: AboutArg = None,
        related: RelatedArg = False,
        kind: KindArg = None,
        measure: MeasureArg = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Fact]:
        filtered = related or any(x is not None for x in (about, page, source, kind, measure))
        found: Sequence[records.Fact] = []
        if ids is None or filtered:  # the filters' own arguments are checked first
            found = find_facts(
                info,
                about=about,
                related=related,
                page=page,
                source=source,
                kind=kind,
                measure=measure,
            )
        if ids is not None:
            # Each id looked up by itself: the work follows the ids asked, not every fact (a
            # SPARQL-backed store would otherwise fetch them all).
            store = store_of(info)
            asked: dict[str, records.Fact] = {}  # in the order asked, each fact once
            for i in _bounded(ids, info):
                record = store.entity(i)
                if not isinstance(record, records.Fact):
                    raise unknown("fact", i, (f.id for f in store.facts()), "UNKNOWN_ID")
                asked.setdefault(record.id, record)
            allowed = {f.id for f in found} if filtered else asked.keys()
            found = [f for f in asked.values() if f.id in allowed]
        page_ = paginate(found, lambda f: f.id, first, after, info.context.settings)
        return connection(page_, wrap_fact)

    @field("The clinic pages the graph was read from, by title.")
    def pages(self, info: Info, first: First = None, after: After = None) -> Connection[Page]:
        store = store_of(info)
        items = store.entities(sorted(store.registry.kinds_under(["WebPage"])))
        page = paginate(items, lambda e: e.id, first, after, info.context.settings)
        return connection(page, lambda e: Page(record=e))

    @field("A clinic page by id; null when there is none with that id.")
    def page(self, info: Info, id: Annotated[strawberry.ID, ID_ARG]) -> Page | None:
        found = store_of(info).entity(id)
        return Page(record=found) if found is not None and found.is_a("WebPage") else None

    @field(
        'Treatments, optionally of one category ("medication", '
        '"physical-therapy", "interventional", "complementary").'
    )
    def treatments(
        self,
        info: Info,
        category: Annotated[
            strawberry.ID | None, strawberry.argument(description="A treatment category id.")
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Treatment]:
        store = store_of(info)
        items = store.entities(sorted(kinds_of(store, NodeType.TREATMENT)))
        if category is not None:
            wanted = require_concept(store, category, TREATMENT_CATEGORIES, "category").id
            items = [t for t in items if getattr(t, "category", None) == wanted]
        page = paginate(items, lambda e: e.id, first, after, info.context.settings)
        return connection(page, lambda e: cast(Treatment, wrap(e)))

    @field("Sources: the pages statements come from, and what they cite.")
    def sources(self, info: Info, first: First = None, after: After = None) -> Connection[Source]:
        store = store_of(info)
        items = store.entities(sorted(kinds_of(store, NodeType.SOURCE)))
        page = paginate(items, lambda e: e.id, first, after, info.context.settings)
        return connection(page, lambda e: cast(Source, wrap(e)))

    @field("Clinics and the services they offer.")
    def clinics(self, info: Info, first: First = None, after: After = None) -> Connection[Clinic]:
        items = store_of(info).entities(["Clinic"])
        page = paginate(items, lambda e: e.id, first, after, info.context.settings)
        return connection(page, lambda e: Clinic(record=e))

    @field(
        'Concepts of one scheme: "Measures", "Units", "Qualifiers", '
        '"TreatmentCategories", "CauseRoles".'
    )
    def concepts(
        self,
        info: Info,
        scheme: Annotated[
            strawberry.ID, strawberry.argument(description='The scheme\'s id ("Measures").')
        ],
    ) -> list[Concept]:
        store = store_of(info)
        if scheme not in store.schemes():
            raise unknown("concept scheme", scheme, store.schemes(), "UNKNOWN_SCHEME")
        return [Concept(record=c) for c in store.concepts(scheme)]

    @field("The dataset version being served, and the last reload error.")
    def dataset(self, info: Info) -> Dataset:
        store = store_of(info)
        error = info.context.holder.last_reload_error
        return Dataset(
            version=store.version,
            triple_count=store.triple_count,
            loaded_at=store.loaded_at,
            last_reload_error=error.message if error else None,
        )

    changes: Changes = strawberry.field(
        resolver=resolve_changes,
        description="The facts, entities and relations added, removed or changed since a version "
        "this server served (README: Change feed); an unknown or no longer kept version is an "
        "UNKNOWN_VERSION error, after which a client refetches everything.",
    )


__all__ = ["Edge", "NodeType", "Query"]
