"""The change feed's GraphQL types: `Changes` (from one version to the one served) and `Change`.

Built from `server.content.changes`, which `GET /changes` renders as JSON with the same names.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from server.content import changes as feed
from server.schema.base import Info, Node, field, store_of, wrap

SINCE_ARG = strawberry.argument(
    description="The dataset version the client last saw (`extensions.datasetVersion` of a "
    "response, or its `X-Dataset-Version` header)."
)


@strawberry.enum(description="How an entity, fact or relation differs from the earlier version.")
class ChangeKind(Enum):
    ADDED = strawberry.enum_value("ADDED", description="New since then.")
    REMOVED = strawberry.enum_value("REMOVED", description="Gone since then.")
    CHANGED = strawberry.enum_value(
        "CHANGED", description="Still there, with other values (or, for a fact, other wording)."
    )


@strawberry.type(
    description="One property whose values changed, spelled as `clinic-kg fmt` writes them."
)
class PropertyChange:
    property: str = strawberry.field(
        description='The property, as a prefixed name ("skos:prefLabel", "ckg:value"; "a" for '
        "the type)."
    )
    removed: list[str] = strawberry.field(description="Values it had then and has no more.")
    added: list[str] = strawberry.field(description="Values it has now and did not have then.")


@strawberry.type(description="One entity, fact or relation added, removed or changed.")
class Change:
    record: strawberry.Private[feed.Change]

    @field("ADDED, REMOVED or CHANGED.")
    def kind(self) -> ChangeKind:
        return ChangeKind(self.record.kind)

    @field(
        "The id of what changed: what `node`, `fact` and `/id/` take (a relation's id for a "
        "relation). Not named `id`: a change is not that entity, and clients that cache objects "
        "by type and id (Apollo Client) would merge the changes of one entity from two feeds."
    )
    def entity_id(self) -> strawberry.ID:
        return strawberry.ID(self.record.id)

    @field(
        'Its kind: the ontology class of an entity or fact ("Statistic", "Condition", ...), or '
        '"Relation" for the evidence of a relation.'
    )
    def type(self) -> str:
        return self.record.type

    @field("Whether it is a fact (a statistic or qualitative claim), which pages quote.")
    def is_fact(self) -> bool:
        return self.record.is_fact

    @field("Its English label now (as it was, when removed).")
    def label(self) -> str:
        return self.record.label

    @field("A fact's statement in the earlier version; null when added, or not a fact.")
    def old_statement(self) -> str | None:
        return self.record.old_statement

    @field("A fact's statement now (as `Fact.statement` words it); null if removed or not a fact.")
    def new_statement(self) -> str | None:
        return self.record.new_statement

    @field("A statistic's value phrase in the earlier version (as `Fact.valueText`); else null.")
    def old_value_text(self) -> str | None:
        return self.record.old_value

    @field("A statistic's value phrase now (as `Fact.valueText`); else null.")
    def new_value_text(self) -> str | None:
        return self.record.new_value

    @field(
        "What changed, property by property (labels, values, links); for a fact reworded only "
        "because its unit or qualifier was relabelled, empty."
    )
    def properties(self) -> list[PropertyChange]:
        return [
            PropertyChange(property=p.predicate, removed=list(p.removed), added=list(p.added))
            for p in self.record.properties
        ]

    @field("The entity or fact as served now, to re-render it; null when removed or a relation.")
    def node(self, info: Info) -> Node | None:
        found = store_of(info).entity(self.record.id)
        return wrap(found) if found is not None and self.record.kind != "REMOVED" else None


@strawberry.type(
    description="What changed between a version a client saw and the version served now."
)
class Changes:
    record: strawberry.Private[feed.Changes]

    @field("The version asked about (`since`).", name="from")
    def from_(self) -> str:
        return self.record.since

    @field("The version served now, which the changes lead to: remember it for the next call.")
    def to(self) -> str:
        return self.record.to

    @field("Every change: facts first, then entities, then relations, each by id.")
    def changes(self) -> list[Change]:
        return [Change(record=c) for c in self.record.changes]


def resolve_changes(info: Info, since: Annotated[str, SINCE_ARG]) -> Changes:
    """The resolver of `Query.changes`."""
    found = feed.changes_since(info.context.holder.history, store_of(info), since)
    return Changes(record=found)
