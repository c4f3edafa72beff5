"""The project's own checks, beyond SHACL: types the ontology knows, evidence for every clinical
relation, and quotes that really are verbatim in their source."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rdflib import Literal, URIRef
from rdflib.namespace import OWL, SKOS
from rdflib.term import Node

from server.diagnostics import Diagnostic, Severity
from server.load.loader import LoadResult
from server.load.locations import SourceMap
from server.rdf.namespaces import (
    CKG,
    PROV_DERIVED_FROM,
    RDF_OBJECT,
    RDF_PREDICATE,
    RDF_SUBJECT,
    RDF_TYPE,
    closest_curie,
    curie,
)
from server.rdf.triple_index import Index

_WS = re.compile(r"\s+")
_KNOWN_EXTERNAL_TYPES = {SKOS.Concept, SKOS.ConceptScheme}

Finding = tuple[Node, Node | None, Node | None, str, str, str]
# Terms used per subject or per triple, bound once (rdflib's namespace lookup is slow).
_QUOTE: URIRef = CKG.quote
_ASSERTION: URIRef = CKG.Assertion
_SOURCE: URIRef = CKG.Source


@dataclass(frozen=True)
class Scope:
    """The nodes a run of the checks looks at: every one (None) or only these (an incremental
    reload's affected nodes, server/validate/incremental.py)."""

    nodes: Collection[Node] | None = None
    kg_subjects: Collection[Node] | None = None  # which of nodes are described in kg/ files

    def subjects(self, loaded: LoadResult) -> list[Node]:
        if self.nodes is None:
            return _kg_subjects(loaded)
        assert self.kg_subjects is not None
        return [n for n in self.nodes if n in self.kg_subjects]

    def having(self, index: Index, predicate: Node) -> list[Node]:
        if self.nodes is None:
            return index.subjects_with(predicate)
        return [n for n in self.nodes if predicate in index.out.get(n, {})]

    def instances(self, index: Index, cls: Node) -> Collection[Node]:
        found = index.instances.get(cls, ())
        if self.nodes is None:
            return found
        return [n for n in self.nodes if index.is_instance(n, cls)]


def run_checks(loaded: LoadResult, index: Index) -> list[Diagnostic]:
    """index holds the kg/ data and the ontology (as SHACL sees them)."""
    return [d for _, d in scoped_checks(loaded, index, Scope())]


def scoped_checks(loaded: LoadResult, index: Index, scope: Scope) -> list[tuple[Node, Diagnostic]]:
    """The checks' diagnostics about the nodes in scope, each with the node it is about."""
    where: SourceMap | None = None
    found: list[tuple[Node, Diagnostic]] = []
    subjects = scope.subjects(loaded)
    for check in (_types, _evidence, _orphan_assertions, _quotes, _base):
        for subject, prop, value, code, message, hint in check(loaded, index, subjects, scope):
            where = where or SourceMap(loaded)
            loc = where.locate(subject, prop)
            found.append(
                (
                    subject,
                    Diagnostic(
                        path=loc.path or "kg/",
                        line=loc.line,
                        severity=Severity.WARNING if code == "KG-BASE" else Severity.ERROR,
                        code=code,
                        message=message,
                        subject=curie(str(loc.subject)),
                        label=index.label(loc.subject),
                        property=curie(str(prop)) if prop is not None else "",
                        value=curie(str(value)) if isinstance(value, URIRef) else "",
                        hint=hint,
                    ),
                )
            )
    return found


def _kg_subjects(loaded: LoadResult) -> list[Node]:
    """Subjects described in kg/ files, each once, in file order."""
    seen: dict[Node, None] = {}
    for f in loaded.files:
        if f.kind == "kg":
            seen.update(dict.fromkeys(s for s, _, _ in f.triples))
    return list(seen)


def _types(
    loaded: LoadResult, index: Index, subjects: list[Node], scope: Scope
) -> Iterator[Finding]:
    classes = set(index.instances.get(OWL.Class, ())) | _KNOWN_EXTERNAL_TYPES
    shown = sorted(curie(str(c)) for c in classes)
    for subject in subjects:
        types = index.values(subject, RDF_TYPE)
        if not types:
            yield (
                subject,
                None,
                None,
                "KG-UNTYPED",
                "has no type, so no shape checks it",
                "add `a ckg:…` (ckg:Condition, ckg:Symptom, …), or fix the subject's spelling",
            )
        for t in sorted((t for t in types if t not in classes), key=str):
            close = closest_curie(curie(str(t)), shown)
            yield (
                subject,
                RDF_TYPE,
                t,
                "KG-UNKNOWN-CLASS",
                f"type {curie(str(t))} is not a class of the ontology",
                f"did you mean {close}?" if close else "classes are declared in ontology/",
            )


def _evidence(
    loaded: LoadResult, index: Index, subjects: list[Node], scope: Scope
) -> Iterator[Finding]:
    evidenced = {
        p
        for p in index.subjects_with(CKG.requiresEvidence)
        if Literal(True) in index.values(p, CKG.requiresEvidence)
    }
    backed = set()
    if scope.nodes is None:
        assertions: Iterable[Node] = index.instances.get(_ASSERTION, ())
    else:  # the assertions about the subjects in scope: they refer to them
        assertions = {
            a for s in subjects for a in index.referrers(s) if index.is_instance(a, _ASSERTION)
        }
    for a in assertions:
        backed.add(
            (index.one(a, RDF_SUBJECT), index.one(a, RDF_PREDICATE), index.one(a, RDF_OBJECT))
        )
    for s in subjects:
        for predicate, objects in index.out.get(s, {}).items():
            if predicate not in evidenced:
                continue
            for o in objects:
                if (s, predicate, o) not in backed:
                    yield (
                        s,
                        predicate,
                        o,
                        "KG-NO-EVIDENCE",
                        f"no assertion gives the source and quote for {curie(str(predicate))} "
                        f"{curie(str(o))}",
                        "add a ckg:Assertion with rdf:subject, rdf:predicate, rdf:object, "
                        "ckg:quote and prov:wasDerivedFrom, or an evidence block "
                        "(see kg/pages/ for examples)",
                    )


def _orphan_assertions(
    loaded: LoadResult, index: Index, subjects: list[Node], scope: Scope
) -> Iterator[Finding]:
    for a in scope.instances(index, _ASSERTION):
        s = index.one(a, RDF_SUBJECT)
        p = index.one(a, RDF_PREDICATE)
        o = index.one(a, RDF_OBJECT)
        if not all(isinstance(x, URIRef) for x in (s, p, o)):
            continue  # SHACL reports a missing or malformed part
        assert s is not None
        assert p is not None
        if o not in index.values(s, p):
            yield (
                a,
                RDF_SUBJECT,
                None,
                "KG-ORPHAN-ASSERTION",
                f"is evidence for {curie(str(s))} {curie(str(p))} {curie(str(o))}, "
                "which is not in the graph",
                "add that triple to the subject's description, or remove the assertion",
            )


def _normalize(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _quotes(
    loaded: LoadResult, index: Index, subjects: list[Node], scope: Scope
) -> Iterator[Finding]:
    kg_root = loaded.root / "kg"
    copies: dict[Node, str | None] = {}
    quoted = scope.having(index, _QUOTE)
    sources = scope.having(index, CKG.localCopy)
    if scope.nodes is not None:  # the copies the quotes in scope are checked against, too
        cited = {src for q in quoted for src in index.values(q, PROV_DERIVED_FROM)}
        sources = [*sources, *(c for c in cited if CKG.localCopy in index.out.get(c, {}))]
    in_scope = set(sources) if scope.nodes is None else set(scope.nodes)
    for source in dict.fromkeys(sources):
        for path in index.values(source, CKG.localCopy):
            copy = (kg_root / str(path)).resolve()
            problem = ""
            if Path(str(path)).is_absolute() or not copy.is_relative_to(kg_root.resolve()):
                problem = f"the local copy {path} is not a path inside kg/"
            elif not copy.is_file():
                problem = f"the local copy kg/{path} does not exist"
            else:
                try:
                    copies[source] = _normalize(copy.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError):
                    problem = f"the local copy kg/{path} cannot be read as UTF-8 text"
            if problem:
                copies[source] = None
                if source not in in_scope:
                    continue
                yield (
                    source,
                    CKG.localCopy,
                    None,
                    "KG-SOURCE-COPY",
                    problem,
                    "give a path relative to kg/ (like sources/clinic-page.txt) "
                    "of a UTF-8 text file",
                )
    for subject in quoted:
        for quote in index.values(subject, _QUOTE):
            text = _normalize(str(quote))
            if not text:
                continue  # SHACL (shp:quote-text) reports blank quotes
            for source in index.values(subject, PROV_DERIVED_FROM):
                if source not in copies and index.is_instance(source, _SOURCE):
                    # A quote is checked against its source's copy: with none, it never would be.
                    yield (
                        subject,
                        PROV_DERIVED_FROM,
                        source,
                        "KG-NO-LOCAL-COPY",
                        f"was derived from {curie(str(source))}, which has no local text copy: "
                        "quotes are checked against the page's copy",
                        "put the page in prov:wasDerivedFrom and the journal (or other work the "
                        "page cites) in ckg:citedSource",
                    )
                page = copies.get(source)
                if page is not None and text not in page:
                    yield (
                        subject,
                        _QUOTE,
                        None,
                        "KG-QUOTE-NOT-VERBATIM",
                        f"the quote is not found verbatim in {curie(str(source))}",
                        "copy the sentence exactly from the source, typos included "
                        "(spacing may differ); fix typos in labels, never in quotes",
                    )


def _base(
    loaded: LoadResult, index: Index, subjects: list[Node], scope: Scope
) -> Iterator[Finding]:
    for subject in subjects:
        if isinstance(subject, URIRef) and not str(subject).startswith(loaded.id_namespace):
            yield (
                subject,
                None,
                None,
                "KG-BASE",
                f"IRI is outside the graph's base {loaded.id_namespace}",
                "name entities kg:<slug> so their ids stay stable and resolvable",
            )
