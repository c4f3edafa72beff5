"""The change feed: which facts and entities changed between a version a client saw and now.

A content tool renders facts, remembers the dataset version, and later asks what changed since;
it re-renders those and nothing else. Both GraphQL `changes(since:)` and `GET /changes?since=`
answer from `changes_since`. The comparison is the graph diff of `clinic-kg diff`
(server/diff/graph_diff.py) over the two versions' instance data, as the served-version history
kept it (server/store/history.py); each changed subject the records know (an entity, a fact, a
relation's evidence) becomes one `Change`, worded as the API words it: a fact's statement and
value phrase before and after. A fact whose own triples are unchanged but whose statement reads
differently (the label or notation of its unit or qualifier was edited) is changed too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from server.content.facts import statement, value_phrase
from server.content.lookup import UserInputError
from server.diff.graph_diff import ValueChange, compare
from server.model.records import Entity, Fact, Relation
from server.store.history import VersionHistory, VersionPrint
from server.store.protocol import Store

Kind = Literal["ADDED", "REMOVED", "CHANGED"]
RELATION = "Relation"  # the type of a change to a relation's evidence (a ckg:Assertion)
UNKNOWN_VERSION = "UNKNOWN_VERSION"
_KINDS: Mapping[str, Kind] = {"added": "ADDED", "removed": "REMOVED", "changed": "CHANGED"}


@dataclass(frozen=True)
class Change:
    """One entity, fact or relation added, removed or changed."""

    kind: Kind
    id: str
    type: str  # the entity's kind ("Statistic", "Condition"), or "Relation"
    is_fact: bool
    label: str  # as it reads now (as it read, when removed)
    old_statement: str | None  # facts: the sentence before (None when added)
    new_statement: str | None  # facts: the sentence now (None when removed)
    old_value: str | None  # facts with numbers: the value phrase before ("almost 85%")
    new_value: str | None
    # What changed, property by property, as the graph diff found it.
    properties: tuple[ValueChange, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "entityId": self.id,
            "type": self.type,
            "isFact": self.is_fact,
            "label": self.label,
            "oldStatement": self.old_statement,
            "newStatement": self.new_statement,
            "oldValueText": self.old_value,
            "newValueText": self.new_value,
            "properties": [
                {"property": p.predicate, "removed": list(p.removed), "added": list(p.added)}
                for p in self.properties
            ],
        }


@dataclass(frozen=True)
class Changes:
    """Every change from version `since` to version `to` (the one being served): facts first,
    then entities, then relations, each by id."""

    since: str
    to: str
    changes: tuple[Change, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.since,
            "to": self.to,
            "changes": [c.to_json() for c in self.changes],
        }


def changes_since(history: VersionHistory, store: Store, since: str) -> Changes:
    """What changed from `since` to `store`'s version; UNKNOWN_VERSION unless both are kept."""
    if since == store.version:
        return Changes(since, since, ())
    old = history.get(since)
    new = history.get(store.version) if old is not None else None
    if old is None or new is None:
        raise unknown_version(history, store, since)
    return Changes(since, store.version, tuple(sorted(_changes(old, new), key=_order)))


def unknown_version(history: VersionHistory, store: Store, since: str) -> UserInputError:
    """The coded error for a version the server cannot compare with, saying which it can."""
    current = store.version
    kept = [v for v in history.versions() if v != current]
    if history.keep <= 0:
        which = "this server keeps no versions to compare with (change_history_versions is 0)"
    elif kept:
        which = (
            f"this server compares only with the last {history.keep} versions it served since "
            f'it started (oldest kept "{kept[0]}", current "{current}"; '
            f"extensions.resolvableVersions lists all {len(kept) + 1})"
        )
    else:
        which = "this server has served no other version since it started"
    shown = since if len(since) <= 64 else since[:64] + "…"
    return UserInputError(
        f'unknown dataset version "{shown}": {which}. Refetch everything and remember the '
        f'current version "{current}"',
        UNKNOWN_VERSION,
        resolvableVersions=[*kept, current],
        currentVersion=current,
    )


def _changes(old: VersionPrint, new: VersionPrint) -> Iterator[Change]:
    reported: set[str] = set()
    for subject, status, values in compare(old.described, new.described):
        before = old.entities.get(subject) or old.relations.get(subject)
        after = new.entities.get(subject) or new.relations.get(subject)
        if before is None and after is None:
            continue  # not something clients address: a vocabulary term, a code, a definition
        reported.add(subject)
        yield _change(_KINDS[status], before, after, old, new, values)
    # The wording of a fact also depends on its unit's and qualifier's labels.
    edited = {c for c in old.concepts.keys() | new.concepts.keys()
              if old.concepts.get(c) is not new.concepts.get(c)}  # fmt: skip
    if not edited:
        return
    for iri, fact in new.entities.items():
        if not isinstance(fact, Fact) or iri in reported:
            continue
        was = old.entities.get(iri)
        if not isinstance(was, Fact) or not {fact.unit, fact.qualifier} & edited:
            continue
        if statement(was, old) != statement(fact, new):
            yield _change("CHANGED", was, fact, old, new, ())


def _change(
    kind: Kind,
    before: Entity | Relation | None,
    after: Entity | Relation | None,
    old: VersionPrint,
    new: VersionPrint,
    values: tuple[ValueChange, ...],
) -> Change:
    record = after if after is not None else before
    assert record is not None
    was = before if isinstance(before, Fact) else None
    now = after if isinstance(after, Fact) else None
    return Change(
        kind=kind,
        id=record.id,
        type=record.kind if isinstance(record, Entity) else RELATION,
        is_fact=isinstance(record, Fact),
        label=record.label() if isinstance(record, Entity) else _relation_label(record),
        old_statement=statement(was, old) if was else None,
        new_statement=statement(now, new) if now else None,
        old_value=value_phrase(was, old) if was else None,
        new_value=value_phrase(now, new) if now else None,
        properties=values,
    )


def _relation_label(relation: Relation) -> str:
    return f"{relation.subject} {relation.predicate} {relation.object}"


def _order(change: Change) -> tuple[bool, bool, str]:
    return (not change.is_fact, change.type == RELATION, change.id)
