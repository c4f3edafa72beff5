"""Clinic pages: what each page says (its conditions, facts, the entities it speaks of, what it
cites), so a content tool can render "this condition as page X says it" in one query."""

from __future__ import annotations

from typing import Annotated

import strawberry

from server.model import records
from server.schema.base import Info, Node, Source, field, register, sources_of, store_of, wrap
from server.schema.entities import Condition
from server.schema.fact_types import (
    AboutArg,
    Fact,
    KindArg,
    MeasureArg,
    RelatedArg,
    SourceArg,
    find_facts,
    wrap_fact,
)
from server.schema.kinds import NodeType, kinds_of
from server.schema.pagination import After, Connection, First, connection, paginate


@register("WebPage")
@strawberry.type(
    description="A clinic page: the source its statements were read from, with its address, "
    "title (`label`) and the local text copy quotes are checked against. Entities are shared "
    "by every page that speaks of them; relations and facts belong to the page they come from."
)
class Page(Source):
    @field("The conditions the page speaks of, by label.")
    def conditions(self, info: Info) -> list[Condition]:
        store = store_of(info)
        found = (store.entity(i) for i in store.page_entities(self.record.id))
        return [Condition(record=e) for e in found if isinstance(e, records.Condition)]

    @field(
        "The facts (statistics and qualitative claims) read from this page, by label; "
        "optionally only those about an entity (with `related`, or anything it links to), "
        "citing a source, of a kind or of a measure. Top-level `facts(page:)` paginates."
    )
    def facts(
        self,
        info: Info,
        related: RelatedArg = False,
        about: AboutArg = None,
        source: SourceArg = None,
        kind: KindArg = None,
        measure: MeasureArg = None,
    ) -> list[Fact]:
        found = find_facts(
            info,
            about=about,
            related=related,
            page=self.record.id,
            source=source,
            kind=kind,
            measure=measure,
        )
        return [wrap_fact(f) for f in found]

    @field(
        "The entities the page speaks of (its conditions, their symptoms, causes and "
        "treatments, what its facts are about), by label; optionally only some kinds."
    )
    def entities(
        self,
        info: Info,
        types: Annotated[
            list[NodeType] | None,
            strawberry.argument(description="Only entities of these kinds (default: all)."),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Node]:
        store = store_of(info)
        wanted = kinds_of(store, *types) if types else None
        found = [e for e in (store.entity(i) for i in store.page_entities(self.record.id)) if e]
        items = [e for e in found if wanted is None or e.kind in wanted]
        page = paginate(items, lambda e: e.id, first, after, info.context.settings)
        return connection(page, wrap)

    @field("The works and organizations the page cites (for its facts and definitions).")
    def cited_sources(self, info: Info) -> list[Source]:
        store = store_of(info)
        cited: dict[str, None] = {}
        for fact in store.facts(page=self.record.id):
            cited.update(dict.fromkeys(fact.cited_sources))
        for entity in (store.entity(i) for i in store.page_entities(self.record.id)):
            for definition_id in getattr(entity, "authoritative_definitions", ()):
                definition = store.definition(definition_id)
                if definition and definition.authority and self.record.id in definition.sources:
                    cited[definition.authority] = None
        return sources_of(store, sorted(cited))
