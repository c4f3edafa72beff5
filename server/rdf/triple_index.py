"""The triples of a project indexed for reading: subject → predicate → objects, and instances.

Built once per dataset version over the kg/ data and the ontology; validation (SHACL and the
project's checks) and the snapshot build both read it, so a start indexes the triples once.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Collection, Iterable

from rdflib import Literal
from rdflib.term import Node

from server.rdf.namespaces import RDF_TYPE, RDFS_SUBCLASS_OF, SKOS_PREF_LABEL


class Index:
    """Subject → predicate → objects, and rdf:type with the rdfs:subClassOf closure."""

    def __init__(self, triples: Iterable[tuple[Node, Node, Node]]) -> None:
        # Hundreds of thousands of long-lived dicts and none freed: the cyclic collector would
        # rescan them again and again while they are made (several times the cost of the build).
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._build(triples)
        finally:
            if was_enabled:
                gc.enable()

    def _build(self, triples: Iterable[tuple[Node, Node, Node]]) -> None:
        # An RDF graph is a set: the same triple stated twice (in one file or two) counts once,
        # so objects are kept in insertion-ordered dicts.
        out: dict[Node, dict[Node, dict[Node, None]]] = {}
        get = out.get
        for s, p, o in triples:  # the hottest loop of validation: plain dicts, no defaultdict
            preds = get(s)
            if preds is None:
                out[s] = {p: {o: None}}
                continue
            objects = preds.get(p)
            if objects is None:
                preds[p] = {o: None}
            else:
                objects[o] = None
        self.out = out
        self._incoming: dict[tuple[Node, Node], dict[Node, None]] | None = None
        self._refs: dict[Node, dict[Node, None]] | None = None
        self._with: dict[Node, dict[Node, None]] = {}  # predicate -> its subjects, when asked
        subclass: dict[Node, set[Node]] = defaultdict(set)
        for s, preds in out.items():
            for o in preds.get(RDFS_SUBCLASS_OF, ()):
                subclass[s].add(o)
        self._supers: dict[Node, frozenset[Node]] = {}
        self._subclass = subclass
        self.instances: dict[Node, list[Node]] = defaultdict(list)
        for s, preds in self.out.items():
            for t in preds.get(RDF_TYPE, ()):
                for c in self.superclasses(t):
                    self.instances[c].append(s)

    def values(self, node: Node, predicate: Node) -> Collection[Node]:
        preds = self.out.get(node)
        if preds is None:
            return ()
        return preds.get(predicate, {}).keys()

    def incoming(self, node: Node, predicate: Node) -> Collection[Node]:
        """Subjects with predicate to node (an index built on first use: for sh:inversePath)."""
        if self._incoming is None:
            incoming: dict[tuple[Node, Node], dict[Node, None]] = {}
            for s, preds in self.out.items():
                for p, objects in preds.items():
                    for o in objects:
                        incoming.setdefault((o, p), {})[s] = None
            self._incoming = incoming
        return self._incoming.get((node, predicate), {}).keys()

    def one(self, node: Node, predicate: Node) -> Node | None:
        for value in self.values(node, predicate):
            return value
        return None

    def subjects_with(self, predicate: Node) -> list[Node]:
        """Subjects that have predicate. The first call for a predicate scans every subject;
        its answer is kept, and patch() keeps it up to date: an incremental reload asks again
        for the same few (sources with a local copy, predicates that need evidence), and the
        scan would read every subject of a large graph (~0.15 s at a million triples, most of
        it copy-on-write faults beside forked workers)."""
        found = self._with.get(predicate)
        if found is None:
            found = {s: None for s, preds in self.out.items() if predicate in preds}
            self._with[predicate] = found
        return list(found)

    def label(self, node: Node) -> str:
        """The English preferred label, else any preferred label, else ""."""
        fallback = ""
        for label in self.values(node, SKOS_PREF_LABEL):
            if isinstance(label, Literal) and label.language == "en":
                return str(label)
            fallback = fallback or str(label)
        return fallback

    def superclasses(self, cls: Node) -> frozenset[Node]:
        hit = self._supers.get(cls)
        if hit is None:
            seen: set[Node] = set()
            todo = [cls]
            while todo:
                c = todo.pop()
                if c not in seen:
                    seen.add(c)
                    todo.extend(self._subclass.get(c, ()))
            hit = self._supers[cls] = frozenset(seen)
        return hit

    def is_instance(self, node: Node, cls: Node) -> bool:
        preds = self.out.get(node)
        types = preds.get(RDF_TYPE) if preds is not None else None
        return types is not None and any(cls in self.superclasses(t) for t in types)

    # -- patching (server/validate/incremental.py keeps one index across reloads)

    def referrers(self, node: Node) -> Collection[Node]:
        """Subjects with any triple whose object is node (an index built on first use, kept
        up to date by patch())."""
        if self._refs is None:
            refs: dict[Node, dict[Node, None]] = {}
            for s, preds in self.out.items():
                for objects in preds.values():
                    for o in objects:
                        if not isinstance(o, Literal):
                            found = refs.get(o)
                            if found is None:
                                refs[o] = {s: None}
                            else:
                                found[s] = None
            self._refs = refs
        return self._refs.get(node, {}).keys()

    def has(self, s: Node, p: Node, o: Node) -> bool:
        preds = self.out.get(s)
        objects = preds.get(p) if preds is not None else None
        return objects is not None and o in objects

    def patch(
        self, removed: Iterable[tuple[Node, Node, Node]], added: Iterable[tuple[Node, Node, Node]]
    ) -> None:
        """Take triples out and put others in, keeping instances (and the referrers, when built)
        as a build over the new triples would have them. The caller passes only triples that
        really leave or enter the set, and none of rdfs:subClassOf (the closure is kept)."""
        untyped: dict[Node, dict[Node, int]] = {}  # class -> instance -> times it leaves
        for s, p, o in removed:
            preds = self.out.get(s)
            objects = preds.get(p) if preds is not None else None
            if objects is None or o not in objects:
                continue
            del objects[o]
            if not objects:
                del preds[p]  # type: ignore[union-attr]
                having = self._with.get(p)
                if having is not None:
                    having.pop(s, None)
                if not preds:
                    del self.out[s]
            if p == RDF_TYPE:
                for c in self.superclasses(o):
                    leaving = untyped.setdefault(c, {})
                    leaving[s] = leaving.get(s, 0) + 1
            if self._refs is not None and not isinstance(o, Literal):
                self._drop_ref(s, o)
        for c, leaving in untyped.items():  # one pass over each class's instances
            kept = []
            for n in self.instances.get(c, ()):
                times = leaving.get(n, 0)
                if times:
                    leaving[n] = times - 1
                else:
                    kept.append(n)
            if kept:
                self.instances[c] = kept
            else:
                self.instances.pop(c, None)
        for s, p, o in added:
            preds = self.out.get(s)
            if preds is None:
                preds = self.out[s] = {}
            objects = preds.get(p)
            if objects is None:
                objects = preds[p] = {}
                having = self._with.get(p)
                if having is not None:
                    having[s] = None
            if o in objects:
                continue
            objects[o] = None
            if p == RDF_TYPE:
                for c in self.superclasses(o):
                    self.instances[c].append(s)
            if self._refs is not None and not isinstance(o, Literal):
                self._refs.setdefault(o, {})[s] = None
        self._incoming = None

    def _drop_ref(self, s: Node, o: Node) -> None:
        # s still refers to o through another predicate: the reference stays.
        assert self._refs is not None
        preds = self.out.get(s, {})
        if any(o in objects for objects in preds.values()):
            return
        found = self._refs.get(o)
        if found is not None:
            found.pop(s, None)
            if not found:
                del self._refs[o]


# One compiled constraint: (focus node, its value nodes, the index) -> its results.
