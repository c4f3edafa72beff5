"""Validate the project: strict parsing, then SHACL, then the project's own checks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import URIRef

from server.diagnostics import Diagnostic, Report, Severity
from server.load.loader import LoadCache, LoadResult, discover, display_path, load
from server.load.locations import SourceMap
from server.model.registry import FAMILIES, read_registry
from server.rdf.namespaces import curie
from server.rdf.triple_index import Index
from server.settings import Settings
from server.validate.checks import run_checks
from server.validate.shacl import run_shacl, shacl_triples


@dataclass(frozen=True)
class Outcome:
    """What was loaded and what validating it found, and the triple index validation built (None
    when a file did not parse), for the snapshot build to reuse instead of indexing again."""

    load: LoadResult
    report: Report
    index: Index | None = field(default=None, compare=False, repr=False)

    @property
    def conforms(self) -> bool:
        return self.report.conforms


def validate_project(
    root: Path,
    paths: Iterable[Path] = (),
    settings: Settings | None = None,
    cache: LoadCache | None = None,
    overlay: Mapping[Path, str] | None = None,
) -> Outcome:
    """Load ontology/, shapes/, kg/ under root (plus extra paths) and validate them.

    When paths are given, only diagnostics about those files are reported; the rest of the project
    is loaded as context so references into it resolve. overlay: text to read instead of the disk
    for some files (see load()).
    """
    settings = settings or Settings()
    extra = [Path(p) for p in paths]
    return validate_loaded(load(root, extra, settings, cache, overlay), extra)


def validate_loaded(loaded: LoadResult, extra: list[Path] | None = None) -> Outcome:
    """validate_project() on a project already loaded (with those extra paths)."""
    extra = extra or []
    diagnostics: list[Diagnostic] = [*loaded.diagnostics, *loaded.findings]
    # SHACL over a graph with a broken file left out would report its absence as dangling links
    # elsewhere; the parse errors already say what is wrong, so stop there.
    index = None
    if loaded.ok:
        index = Index(shacl_triples(loaded))
        diagnostics.extend(run_shacl(loaded, index))
        diagnostics.extend(run_checks(loaded, index))
        diagnostics.extend(_registry_diagnostics(loaded))
    if extra:
        wanted = _shown(loaded, extra)
        # A file that does not parse stops validation for every file, so its errors are shown
        # whatever was asked: the files asked about were not checked, and must not "conform".
        stopping = set(loaded.diagnostics) if not loaded.ok else set()
        diagnostics = [d for d in diagnostics if d.path in wanted or d in stopping]
    return Outcome(loaded, ordered_report(loaded, diagnostics), index)


def ordered_report(loaded: LoadResult, diagnostics: Iterable[Diagnostic]) -> Report:
    """The report of a validation of loaded that found diagnostics, sorted by file and line."""
    return Report(
        diagnostics=tuple(sorted(set(diagnostics), key=_order)),
        files=tuple(sorted({*loaded.paths(), *(d.path for d in loaded.diagnostics)})),
        triples=sum(len(f.triples) for f in loaded.files),
    )


def _registry_diagnostics(loaded: LoadResult) -> list[Diagnostic]:
    """A class of the ontology that no family of the registry covers would be served as nothing:
    refuse it, where it is declared."""
    ontology = (t for f in loaded.files if f.kind == "ontology" for t in f.triples)
    _, unregistered = read_registry(ontology)
    if not unregistered:
        return []
    where = SourceMap(loaded)
    roots = ", ".join(f"ckg:{f.root}" for f in FAMILIES)
    found = []
    for u in unregistered:
        loc = where.locate(URIRef(u.iri))
        found.append(
            Diagnostic(
                path=loc.path or "ontology/",
                line=loc.line,
                severity=Severity.ERROR,
                code="KG-UNREGISTERED-KIND",
                message=f"class {curie(u.iri)} is below no kind the service knows, so its "
                "entities would have no record, GraphQL type or page section",
                subject=curie(u.iri),
                hint=f"make it rdfs:subClassOf one of {roots} (or a class below one), or, for a "
                "new family of kinds, add one line to FAMILIES in server/model/registry.py",
            )
        )
    return found


def _shown(loaded: LoadResult, extra: list[Path]) -> set[str]:
    shown: set[str] = set()
    for path in discover(loaded.root, extra):
        if any(_within(path, p) for p in extra):
            shown.add(display_path(path, loaded.root))
    return shown


def _within(path: Path, given: Path) -> bool:
    given = given.resolve()
    return path == given or given in path.parents


def _order(d: Diagnostic) -> tuple[str, int, int, str, str, str]:
    rank = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}[d.severity]
    return (d.path, d.line, rank, d.code, d.subject, d.property)
