"""Validate an edit of kg/ by revalidating only what it can affect (`serve --watch` reloads).

A `Baseline` is the last version that conformed, kept between reloads: the triples of each file,
the triple index validation reads (patched in place, not rebuilt), and the diagnostics that
version had (warnings only: it conformed) by the node they are about. `Baseline.revalidate`
takes the next load and, when only kg/ files changed:

1. diffs each changed file's triples against its previous ones and patches the index with the
   triples that really enter or leave the graph (a triple also stated in another file stays);
2. finds the nodes whose results can change: every subject of a changed file (before and after:
   their lines may have moved), every node of a changed triple, the nodes that link to those
   (as many hops as the shapes read away from their focus node; the checks read one: evidence,
   assertions, the source of a quote), the sources whose text copy changed, and everyone sharing
   a preferred label with one of them (unique labels);
3. runs the SHACL engine, the unique-label constraint and the project's checks on those nodes
   only, and keeps the rest of the last report as it was.

A change it cannot scope (ontology/ or shapes/, a file that does not parse, rdfs:subClassOf or
requiresEvidence in kg/, shapes the native engine cannot run or that follow paths other than
predicates) returns None: the caller validates everything, as a start does. A result that does
not conform leaves the baseline as it was (the index is patched back); one that conforms becomes
the new baseline once the caller `commit()`s it. tests/test_incremental_reload.py checks on random
edits that the result is the whole validation's, diagnostic for diagnostic.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection as RDFList
from rdflib.namespace import OWL, RDFS, SH
from rdflib.term import Node

from server.diagnostics import Diagnostic
from server.load.loader import LoadResult, SourceFile
from server.rdf.namespaces import CKG, RDF_TYPE, SKOS_PREF_LABEL
from server.rdf.triple_index import Index
from server.validate.checks import Scope, scoped_checks
from server.validate.engine import Engine, ShapeRecursion
from server.validate.native_constraints import NativeConstraint, evaluate, split_shapes
from server.validate.shacl import _diagnostics
from server.validate.validation import Outcome, ordered_report

log = logging.getLogger("clinic_kg.incremental")

Triple = tuple[Node, Node, Node]
# Predicates whose change in kg/ reshapes what validation itself reads (the class closure, which
# relations need evidence): not scoped, everything is validated again.
_UNSCOPED = frozenset({RDFS.subClassOf, CKG.requiresEvidence})
# Shape parameters whose values are shapes applied to the same node, or to the values.
_SAME_NODE = (SH["and"], SH["or"], SH.xone)
_MAX_HOPS = 8


@dataclass
class Edit:
    """One revalidated edit, not yet committed: what changed and what validating it found."""

    outcome: Outcome
    removed: list[Triple]  # the triples that left the graph (the index has them out)
    added: list[Triple]
    changed: set[Node]  # every node whose own description (or text copy) changed
    checked: set[Node]  # the nodes revalidated
    found: dict[Node, list[Diagnostic]]
    files: dict[str, SourceFile]
    copies: dict[Path, str | None]
    data_delta: int  # distinct kg/ triples gained (or lost, negative)
    base_version: str  # the version the edit was made to


@dataclass
class Baseline:
    """The last version that conformed, kept to validate the next edit incrementally."""

    loaded: LoadResult
    index: Index
    engine: Engine
    native: list[tuple[NativeConstraint, Node]]
    hops: int
    diagnostics: dict[Node, list[Diagnostic]]
    files: dict[str, SourceFile] = field(default_factory=dict)
    subject_files: dict[Node, set[str]] = field(default_factory=dict)
    labels: dict[str, dict[Node, None]] = field(default_factory=dict)
    copies: dict[Path, str | None] = field(default_factory=dict)
    ontology: frozenset[Triple] = frozenset()

    @classmethod
    def of(cls, outcome: Outcome) -> Baseline | None:
        """The baseline of a conforming outcome; None when its edits cannot be scoped."""
        loaded, index = outcome.load, outcome.index
        if not outcome.conforms or index is None:
            return None
        remaining, native = split_shapes(loaded.shapes)
        engine = Engine(remaining)
        hops = _hops(loaded.shapes)
        if not engine.supports() or hops is None:
            return None
        base = cls(loaded, index, engine, native, hops, {})
        base.files = {f.path: f for f in loaded.files}
        base.ontology = frozenset(
            t for f in loaded.files if f.kind == "ontology" for t in f.triples
        )
        for f in loaded.files:
            if f.kind == "kg":
                for s in dict.fromkeys(s for s, _, _ in f.triples):
                    base.subject_files.setdefault(s, set()).add(f.path)
        for s, preds in index.out.items():
            for label in preds.get(SKOS_PREF_LABEL, ()):
                base.labels.setdefault(str(label).lower(), {})[s] = None
        base.copies = _copies(loaded.root, index, _copy_sources(index))
        index.referrers(URIRef(""))  # built now, kept up to date by every patch
        if outcome.report.diagnostics:  # warnings: each kept with the node it is about
            try:
                everything = list({**dict.fromkeys(index.out), **dict.fromkeys(index._refs or {})})
                for node, d in _validate_nodes(base, everything, base.subject_files):
                    base.diagnostics.setdefault(node, []).append(d)
            except ShapeRecursion:
                return None
        return base

    # -- one edit

    def revalidate(self, loaded: LoadResult) -> Edit | None:
        """The validation of loaded, scoped to what changed since the baseline; None when the
        change cannot be scoped (the caller validates everything)."""
        if not loaded.ok or loaded.root != self.loaded.root:
            return None
        new = {f.path: f for f in loaded.files}
        changed_files = [
            p for p in {*new, *self.files} if _sha(new.get(p)) != _sha(self.files.get(p))
        ]
        for p in changed_files:
            kind = (new.get(p) or self.files[p]).kind
            if kind != "kg":
                log.info("incremental: %s changed, not kg/: validating everything", p)
                return None
        removed_kg, added_kg = self._diff(changed_files, new)
        if any(t[1] in _UNSCOPED or t[2] == OWL.Class for t in (*removed_kg, *added_kg)):
            log.info("incremental: the class hierarchy or evidence rules changed in kg/")
            return None
        removed = [t for t in removed_kg if t not in self.ontology]
        added = [t for t in added_kg if t not in self.ontology and not self.index.has(*t)]
        changed: set[Node] = set()  # nodes whose own description changed
        objects: set[Node] = set()  # nodes a changed triple points to
        for s, _, o in (*removed_kg, *added_kg):
            changed.add(s)
            if not isinstance(o, Literal):
                objects.add(o)
        for p in changed_files:
            for f in (self.files.get(p), new.get(p)):
                if f is not None:
                    changed.update(s for s, _, _ in f.triples)
        self.index.patch(removed, added)
        try:
            copies = _copies(loaded.root, self.index, _copy_sources(self.index))
            for path, text in copies.items():
                if self.copies.get(path, "\0") != text:
                    changed.update(_sources_of(self.index, loaded.root, path))
            for path in self.copies.keys() - copies.keys():
                changed.update(_sources_of(self.index, loaded.root, path))
            checked = self._affected(changed, removed_kg) | objects
            found: dict[Node, list[Diagnostic]] = {}
            kg_subjects = _KgSubjects(self.subject_files, changed_files, self.files, new)
            scope = (checked, self._peers(checked, ()))
            for node, d in _validate_nodes(self, checked, kg_subjects, scope[1], loaded):
                found.setdefault(node, []).append(d)
        except ShapeRecursion:
            self.index.patch(added, removed)
            return None
        except BaseException:
            self.index.patch(added, removed)
            raise
        merged = [d for n, ds in self.diagnostics.items() if n not in checked for d in ds]
        merged.extend(d for ds in found.values() for d in ds)
        report = ordered_report(loaded, [*loaded.diagnostics, *loaded.findings, *merged])
        edit = Edit(
            Outcome(loaded, report, self.index),
            removed,
            added,
            changed,
            checked,
            found,
            new,
            copies,
            len(added_kg) - len(removed_kg),
            self.loaded.version,
        )
        if not report.conforms:
            self.index.patch(added, removed)  # the baseline stays the last conforming version
        return edit

    def commit(self, edit: Edit) -> None:
        """Make a conforming edit the baseline."""
        old_files = self.files
        for path in {*edit.files, *old_files}:
            before, after = old_files.get(path), edit.files.get(path)
            if _sha(before) == _sha(after):
                continue
            for f, add in ((before, False), (after, True)):
                if f is None or f.kind != "kg":
                    continue
                for s in dict.fromkeys(s for s, _, _ in f.triples):
                    held = self.subject_files.setdefault(s, set())
                    if add:
                        held.add(path)
                    else:
                        held.discard(path)
                        if not held:
                            del self.subject_files[s]
        for s, p, o in edit.removed:
            if p == SKOS_PREF_LABEL:
                group = self.labels.get(str(o).lower())
                if group is not None:
                    group.pop(s, None)
                    if not group:
                        del self.labels[str(o).lower()]
        for s, p, o in edit.added:
            if p == SKOS_PREF_LABEL:
                self.labels.setdefault(str(o).lower(), {})[s] = None
        for node in edit.checked:
            self.diagnostics.pop(node, None)
        self.diagnostics.update(edit.found)
        self.files = edit.files
        self.copies = edit.copies
        self.loaded = edit.outcome.load

    # -- helpers

    def _diff(
        self, changed_files: list[str], new: dict[str, SourceFile]
    ) -> tuple[list[Triple], list[Triple]]:
        """The kg/ triples that leave and enter the set of all kg/ triples."""
        gone: dict[Triple, None] = {}
        came: dict[Triple, None] = {}
        for p in changed_files:
            before = set(self.files[p].triples) if p in self.files else set()
            after = set(new[p].triples) if p in new else set()
            gone.update(dict.fromkeys(before - after))
            came.update(dict.fromkeys(after - before))
        changed = set(changed_files)

        def elsewhere(t: Triple, files: dict[str, SourceFile], skip_changed: bool) -> bool:
            for path in self.subject_files.get(t[0], ()):
                if skip_changed and path in changed:
                    continue
                if path in files and t in _triple_set(files[path]):
                    return True
            return False

        # Still stated by an unchanged file, or by a changed one's new text: not removed.
        removed = [
            t
            for t in gone
            if t not in came
            and not elsewhere(t, new, True)
            and not any(t in _triple_set(new[p]) for p in changed_files if p in new)
        ]
        # Already stated by an unchanged file, or by a changed one's old text: not added.
        added = [
            t
            for t in came
            if t not in gone
            and not elsewhere(t, self.files, True)
            and not any(t in _triple_set(self.files[p]) for p in changed_files if p in self.files)
        ]
        return removed, added

    def _affected(self, changed: set[Node], removed: Iterable[Triple]) -> set[Node]:
        """changed, the nodes linking to them (hops deep), and the label peers of changed."""
        reached = set(changed)
        frontier = set(changed)
        for _ in range(self.hops):
            frontier = {r for n in frontier for r in self.index.referrers(n)} - reached
            if not frontier:
                break
            reached |= frontier
        old_labels = [str(o).lower() for _, p, o in removed if p == SKOS_PREF_LABEL]
        return reached | self._peers(changed, old_labels)

    def _peers(self, nodes: Collection[Node], labels: Iterable[str]) -> set[Node]:
        """nodes, and every node with a preferred label one of them has (or had: labels)."""
        found = set(nodes)
        keys = set(labels)
        for n in nodes:
            keys.update(str(label).lower() for label in self.index.values(n, SKOS_PREF_LABEL))
        for key in keys:
            found.update(self.labels.get(key, ()))
        return found


class _KgSubjects:
    """Whether a node is a subject of some kg/ file of the edited version."""

    def __init__(
        self,
        held: dict[Node, set[str]],
        changed: list[str],
        old: dict[str, SourceFile],
        new: dict[str, SourceFile],
    ) -> None:
        self._held = held
        self._changed = set(changed)
        self._new_subjects: set[Node] = set()
        for p in changed:
            f = new.get(p)
            if f is not None and f.kind == "kg":
                self._new_subjects.update(s for s, _, _ in f.triples)

    def __contains__(self, node: object) -> bool:
        if node in self._new_subjects:
            return True
        return any(p not in self._changed for p in self._held.get(node, ()))  # type: ignore[call-overload]

    def __len__(self) -> int:  # pragma: no cover - Collection protocol only
        return len(self._held)

    def __iter__(self):  # type: ignore[no-untyped-def]  # pragma: no cover
        return iter(self._held)


def _validate_nodes(
    base: Baseline,
    nodes: Collection[Node],
    kg_subjects: Collection[Node],
    peers: Collection[Node] | None = None,
    loaded: LoadResult | None = None,
) -> list[tuple[Node, Diagnostic]]:
    """SHACL, the unique labels and the checks on nodes: each diagnostic with its node."""
    loaded = loaded or base.loaded
    index = base.index
    results = base.engine.validate_nodes(index, nodes)
    results.extend(evaluate(index, loaded.shapes, base.native, (nodes, peers or nodes)))
    found = list(zip((r.focus for r in results), _diagnostics(results, loaded, index), strict=True))
    found.extend(scoped_checks(loaded, index, Scope(nodes, kg_subjects)))
    return found


def _hops(shapes: Graph) -> int | None:
    """How far from its focus node a shape reads: 1 for a property's values' types, one more for
    each shape applied to those values; None for paths other than a predicate, or a cycle."""

    def reach(shape: Node, depth: int) -> int | None:
        if depth > _MAX_HOPS:
            return None
        far = depth
        for path in shapes.objects(shape, SH.path):
            if not isinstance(path, URIRef):
                return None
        on_values = depth + 1 if (shape, SH.path, None) in shapes else depth
        if on_values > depth:
            far = on_values  # sh:class, sh:closed and the like read the values' own triples
        nested: list[tuple[Node, int]] = [(p, depth) for p in shapes.objects(shape, SH.property)]
        for p in (SH.node, SH.qualifiedValueShape, SH["not"]):
            nested.extend((s, on_values) for s in shapes.objects(shape, p))
        for p in _SAME_NODE:
            for head in shapes.objects(shape, p):
                nested.extend((s, on_values) for s in RDFList(shapes, head))
        for s, at in nested:
            got = reach(s, at)
            if got is None:
                return None
            far = max(far, got)
        return far

    deepest = 1  # the checks read one hop (an assertion's subject, a quote's source)
    targeted = {
        s
        for p in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
        for s in shapes.subjects(p, None)
    } | set(shapes.subjects(RDF_TYPE, SH.NodeShape))
    for shape in targeted:
        got = reach(shape, 0)
        if got is None:
            return None
        deepest = max(deepest, got)
    return deepest


def _sha(f: SourceFile | None) -> str | None:
    return f.sha256 if f is not None else None


_SETS: dict[tuple[str, str], frozenset[Triple]] = {}


def _triple_set(f: SourceFile) -> frozenset[Triple]:
    key = (f.path, f.sha256)
    found = _SETS.get(key)
    if found is None:
        if len(_SETS) > 64:
            _SETS.clear()
        found = _SETS[key] = frozenset(f.triples)
    return found


def _copy_sources(index: Index) -> list[Node]:
    return index.subjects_with(CKG.localCopy)


def _copies(root: Path, index: Index, sources: Iterable[Node]) -> dict[Path, str | None]:
    """The text of every local copy the sources name (None: unreadable), by path."""
    found: dict[Path, str | None] = {}
    kg = root / "kg"
    for source in sources:
        for path in index.values(source, CKG.localCopy):
            copy = kg / str(path)
            try:
                found[copy] = copy.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError, ValueError):
                found[copy] = None
    return found


def _sources_of(index: Index, root: Path, path: Path) -> set[Node]:
    kg = root / "kg"
    return {
        s
        for s in _copy_sources(index)
        for p in index.values(s, CKG.localCopy)
        if kg / str(p) == path
    }


__all__ = ["BNode", "Baseline", "Edit"]
