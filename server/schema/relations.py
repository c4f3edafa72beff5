"""Relation connections: a page of related entities where every edge carries its evidence."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Generic, TypeVar

import strawberry

from server.model import records
from server.schema.base import Evidence, Info, Source, concept, sources_of, store_of
from server.schema.fact_types import Fact, wrap_fact
from server.schema.memo import derived
from server.schema.pagination import PageInfo, paginate
from server.store.protocol import Store

T = TypeVar("T")


@strawberry.type(
    description="A related entity with the evidence for the relation: quotes, "
    "sources and the statistics about the relation itself."
)
class RelationEdge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this item in its list.")
    node: T = strawberry.field(description="The related entity.")
    quote: str | None = strawberry.field(
        description="The source's words for the relation, verbatim (first of `evidence`)."
    )
    source: Source | None = strawberry.field(description="Where the quote was read.")
    evidence: list[Evidence] = strawberry.field(
        description="Every assertion that supports the relation, with quote and source."
    )
    statistics: list[Fact] = strawberry.field(
        description="Statistics and claims about the relation (e.g. the share of cases a cause "
        "accounts for)."
    )


@strawberry.type(description="A page of related entities, each edge with its evidence.")
class RelationConnection(Generic[T]):
    edges: list[RelationEdge[T]] = strawberry.field(
        description="The related entities of this page."
    )
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    total_count: int = strawberry.field(description="How many related entities there are.")


class EdgeEvidence:
    """Evidence for one (subject, predicate, object), read once and shared by both edge kinds."""

    def __init__(
        self, store: Store, subject: str, predicate: str, obj: str, page: str | None = None
    ) -> None:
        given = store.evidence(subject, predicate, obj)
        # With a page: only what that page says (its quotes, its statistics).
        self.relations: Sequence[records.Relation] = (
            given if page is None else [r for r in given if page in r.sources]
        )
        first = self.relations[0] if self.relations else None
        self.quote = first.quote if first else None
        found = sources_of(store, first.sources) if first else []
        self.source = found[0] if found else None
        self.evidence = [Evidence(record=r) for r in self.relations]
        seen: dict[str, records.Fact] = {}
        for r in self.relations:
            for f in store.facts(about=r.id):
                seen.setdefault(f.id, f)
        self.statistics = [wrap_fact(f) for f in seen.values()]
        self.role = concept(store, first.role) if first else None


def related(store: Store, ids: Sequence[str]) -> Sequence[records.Entity]:
    """The entities with these ids, in label order (RDF lists have no order of their own);
    sorted once per store (server/schema/memo.py), then shared."""
    key = ("related", ids if isinstance(ids, tuple) else tuple(ids))
    return derived(store, key, lambda: _related(store, ids))


def _related(store: Store, ids: Sequence[str]) -> tuple[records.Entity, ...]:
    found = [e for e in (store.entity(i) for i in ids) if e is not None]
    return tuple(sorted(found, key=lambda e: (e.label().casefold(), e.id)))


def edge_evidence(
    store: Store, subject: str, predicate: str, obj: str, page: str | None = None
) -> EdgeEvidence:
    """The evidence of one edge, read and wrapped once per store (server/schema/memo.py)."""
    key = ("edge", subject, predicate, obj, page)
    return derived(store, key, lambda: EdgeEvidence(store, subject, predicate, obj, page))


def relation_connection(
    info: Info,
    subject: str,
    predicate: str,
    targets: Sequence[records.Entity],
    wrap: Callable[[records.Entity], T],
    first: int | None,
    after: str | None,
    page_id: str | None = None,
) -> RelationConnection[T]:
    store = store_of(info)
    targets = stated_by(store, subject, predicate, targets, page_id)
    page = paginate(targets, lambda e: e.id, first, after, info.context.settings)
    edges = []
    for cursor, entity in zip(page.cursors, page.items, strict=True):
        # An edge is derived from the store's records alone: built once per store. `wrap` is
        # part of the key (callers pass one function per type of node: see entities._as).
        key = ("relation edge", subject, predicate, entity.id, page_id, wrap)
        made = partial(_edge, store, subject, predicate, entity, wrap, cursor, page_id)
        edges.append(derived(store, key, made))
    return RelationConnection(edges=edges, page_info=page.page_info(), total_count=page.total)


def _edge(
    store: Store,
    subject: str,
    predicate: str,
    entity: records.Entity,
    wrap: Callable[[records.Entity], T],
    cursor: str,
    page_id: str | None,
) -> RelationEdge[T]:
    parts = edge_evidence(store, subject, predicate, entity.id, page_id)
    return RelationEdge(
        cursor=cursor,
        node=wrap(entity),
        quote=parts.quote,
        source=parts.source,
        evidence=parts.evidence,
        statistics=parts.statistics,
    )


def stated_by(
    store: Store,
    subject: str,
    predicate: str,
    targets: Sequence[records.Entity],
    page: str | None,
) -> Sequence[records.Entity]:
    """The targets whose relation to `subject` the page gives evidence for (all when no page)."""
    if page is None:
        return targets
    return [
        t for t in targets
        if any(page in r.sources for r in store.evidence(subject, predicate, t.id))
    ]  # fmt: skip


def referrers(store: Store, id: str, predicate: str) -> Sequence[records.Entity]:
    """The entities that point at `id` through `predicate`, in label order."""
    return related(store, [s for s, p in store.referrers(id) if p == predicate])
