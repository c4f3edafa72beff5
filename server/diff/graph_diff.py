"""A semantic diff of two versions of the graph: which subjects were added, removed or changed,
and for each changed subject which values of which property went and came.

Values are compared as the formatter writes them, with every blank node written out in place
(`[ sh:path skos:prefLabel ; sh:minCount 1 ]`), so blank-node labels, statement order and layout
never show up as changes. Facts (statistics and qualitative claims) are singled out, because
published pages quote their numbers.

The core of `clinic-kg diff` (server/steward: sides read from files, folders and git revisions)
and of the change feed (server/store/history.py keeps a `Described` per served version): no files,
no git, just triples in and typed changes out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rdflib import BNode, URIRef
from rdflib.namespace import RDF, RDFS, SKOS
from rdflib.term import Node

from server.model.registry import read_registry
from server.turtle.terms import PrefixMap, predicate_key
from server.turtle.writer import Triple, TurtleWriter

Status = Literal["added", "removed", "changed"]
BLANK_NODES = "_:"  # the key under which blank-node structures no named subject owns are compared


@dataclass(frozen=True)
class Side:
    """One version of the graph: what the user called it, its triples, where subjects live."""

    name: str
    triples: tuple[Triple, ...]
    locations: Mapping[str, str] = field(default_factory=dict)  # subject IRI -> "path:line"
    # (subject IRI, predicate IRI) -> "path:line" of the file that states it, for subjects
    # described in several files
    statements: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def where(self, subject: str, predicates: Iterable[str]) -> str:
        """Where the first of `predicates` is stated about `subject`, else where it starts."""
        for p in predicates:
            found = self.statements.get((subject, p))
            if found:
                return found
        return self.locations.get(subject, "")


@dataclass(frozen=True)
class ValueChange:
    """The values of one property that went (removed) and came (added)."""

    predicate: str
    removed: tuple[str, ...]
    added: tuple[str, ...]

    @property
    def replaced(self) -> bool:
        """One value replaced by one other: shown as `old → new`."""
        return len(self.removed) == 1 and len(self.added) == 1

    def to_json(self) -> dict[str, Any]:
        return {"predicate": self.predicate, "removed": list(self.removed),
                "added": list(self.added)}  # fmt: skip


@dataclass(frozen=True)
class SubjectDiff:
    """One subject that differs: how, its label and location, and its property changes."""

    subject: str
    name: str
    label: str
    status: Status
    location: str
    is_fact: bool
    changes: tuple[ValueChange, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "name": self.name,
            "label": self.label,
            "status": self.status,
            "location": self.location,
            "fact": self.is_fact,
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass(frozen=True)
class GraphDiff:
    """Every subject that differs between two versions, ordered by name."""

    old: str
    new: str
    subjects: tuple[SubjectDiff, ...]

    @property
    def empty(self) -> bool:
        return not self.subjects

    def select(self, status: Status, facts: bool) -> tuple[SubjectDiff, ...]:
        return tuple(s for s in self.subjects if s.status == status and s.is_fact == facts)

    def counts(self) -> dict[str, int]:
        counts = {f"{kind}{status}": 0 for kind in ("", "facts_") for status in
                  ("added", "removed", "changed")}  # fmt: skip
        for s in self.subjects:
            counts[s.status] += 1
            if s.is_fact:
                counts[f"facts_{s.status}"] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "counts": self.counts(),
            "facts": [s.subject for s in self.subjects if s.is_fact],
            "subjects": [s.to_json() for s in self.subjects],
        }


def diff_sides(old: Side, new: Side, vocabulary: Iterable[Triple] = ()) -> GraphDiff:
    """Compare two versions subject by subject. Facts are told apart by the ontology on either
    side, or by `vocabulary` (the project's ontology) when the sides are data files alone."""
    before, after = describe(old.triples), describe(new.triples)
    classes = _fact_classes((*old.triples, *new.triples, *vocabulary))
    facts = _fact_subjects(old.triples, classes) | _fact_subjects(new.triples, classes)
    prefixes = PrefixMap()
    out: list[SubjectDiff] = []
    for subject, status, changes in compare(before, after):
        old_values = before.values.get(subject, {})
        new_values = after.values.get(subject, {})
        # The file the edit is in: where the first changed property is stated now (or was).
        changed = sorted(p for p in {*old_values, *new_values}
                         if old_values.get(p) != new_values.get(p))  # fmt: skip
        location = new.where(subject, changed) or old.where(subject, changed)
        out.append(
            SubjectDiff(
                subject=subject,
                name=prefixes.iri(subject) if subject != BLANK_NODES else "(blank nodes)",
                label=after.label(subject) or before.label(subject),
                status=status,
                location=location,
                is_fact=subject in facts,
                changes=changes,
            )
        )
    out.sort(key=lambda s: (s.name.startswith("("), s.name, s.subject))
    return GraphDiff(old.name, new.name, tuple(out))


def compare(
    before: Described, after: Described
) -> Iterator[tuple[str, Status, tuple[ValueChange, ...]]]:
    """(subject, status, property changes) of every subject that differs, by subject IRI."""
    for subject in sorted(before.values.keys() | after.values.keys()):
        old_values = before.values.get(subject, {})
        new_values = after.values.get(subject, {})
        if old_values is new_values:  # shared between two versions (server/store/history.py)
            continue
        changes = _changes(old_values, new_values)
        if changes:
            status: Status = (
                "added" if not old_values else "removed" if not new_values else "changed"
            )
            yield subject, status, changes


# predicate IRI -> its values, spelled as fmt writes them, sorted (a set, kept compactly: the
# change feed keeps one per subject for every version it can compare with)
Values = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Described:
    """Each named subject's values, property by property, spelled as the formatter spells them,
    and its labels: what two versions are compared by."""

    values: Mapping[str, Values]
    labels: Mapping[str, Mapping[tuple[str, str], str]]

    def label(self, subject: str) -> str:
        """The English (else untagged, else any) preferred label or rdfs:label; "" if none."""
        known = self.labels.get(subject, {})
        for key in ((str(SKOS.prefLabel), "en"), (str(RDFS.label), "en"),
                    (str(SKOS.prefLabel), ""), (str(RDFS.label), "")):  # fmt: skip
            if key in known:
                return known[key]
        return next(iter(sorted(known.values())), "")


def describe(triples: Iterable[Triple]) -> Described:
    """The comparable form of a version's triples."""
    triples = list(triples)
    writer = TurtleWriter(triples, PrefixMap(), canonical_labels=False)
    values: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    owned: set[Node] = set()
    labels: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
    by_subject: dict[Node, list[tuple[Node, Node]]] = defaultdict(list)
    for s, p, o in triples:
        by_subject[s].append((p, o))
        if isinstance(s, URIRef):
            values[str(s)][str(p)].add(writer.describe(o))
            if p in (SKOS.prefLabel, RDFS.label):
                lang = getattr(o, "language", None) or ""
                labels[str(s)][(str(p), lang)] = str(o)
    # Blank nodes reachable from a named subject are compared as part of its values; any
    # other blank-node structure is compared whole, under one pseudo-subject.
    stack = [o for s, p, o in triples if isinstance(s, URIRef) and isinstance(o, BNode)]
    while stack:
        node = stack.pop()
        if node not in owned:
            owned.add(node)
            stack.extend(o for _, o in by_subject.get(node, []) if isinstance(o, BNode))
    for s in by_subject:
        if isinstance(s, BNode) and s not in owned:
            values[BLANK_NODES][""].add(writer.describe(s))
    return Described(_frozen(values), dict(labels))


def merge(parts: Iterable[Described]) -> Described:
    """One version's `Described` from those of its files, each described on its own (a file's
    blank nodes are its own, so this is `describe` of all their triples, file by file). A subject
    only one file describes keeps that file's objects."""
    parts = list(parts)
    seen: dict[str, int] = defaultdict(int)
    for part in parts:
        for subject in part.values:
            seen[subject] += 1
    single: dict[str, Mapping[str, tuple[str, ...]]] = {}
    values: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    labels: dict[str, Mapping[tuple[str, str], str]] = {}
    for part in parts:
        for subject, by_predicate in part.values.items():
            if seen[subject] == 1:
                single[subject] = by_predicate
                continue
            for predicate, spelled in by_predicate.items():
                values[subject][predicate].update(spelled)
        for subject, known in part.labels.items():
            if subject in labels:
                labels[subject] = {**labels[subject], **known}
            else:
                labels[subject] = known
    return Described({**single, **_frozen(values)}, labels)


def _frozen(values: Mapping[str, Mapping[str, set[str]]]) -> dict[str, Values]:
    return {s: {p: tuple(sorted(v)) for p, v in by_p.items()} for s, by_p in values.items()}


def _changes(old: Values, new: Values) -> tuple[ValueChange, ...]:
    prefixes = PrefixMap()
    spelled = {p: ("a" if p == str(RDF.type) else prefixes.iri(p) if p else "") for p in
               set(old) | set(new)}  # fmt: skip
    out = []
    for p in sorted(spelled, key=lambda p: predicate_key(p, spelled[p])):
        before, after = set(old.get(p, ())), set(new.get(p, ()))
        if before != after:
            out.append(ValueChange(spelled[p], tuple(sorted(before - after)),
                                   tuple(sorted(after - before))))  # fmt: skip
    return tuple(out)


def _fact_classes(triples: Iterable[Triple]) -> set[Node]:
    """The fact classes, with every subclass the ontology among `triples` declares."""
    registry, _ = read_registry(triples)
    return {URIRef(registry.kinds[k].iri) for k in registry.kinds_under(["Fact"])}


def _fact_subjects(triples: Iterable[Triple], classes: set[Node]) -> set[str]:
    return {str(s) for s, p, o in triples if p == RDF.type and o in classes}
