"""`publish`: the validated graph into a SPARQL 1.1 store, as one named graph per dataset version
and a pointer graph naming the current one (the layout is `server/store/published.py`).

The order is what makes it safe to run against a store that is being read: validate (refuse
what does not conform, before any request), upload the version graph unless the store already
holds it, count it there, and only then replace the pointer graph, in one request. A failure
anywhere before that leaves the previous current version in place; an unreferenced, half-uploaded
graph is replaced by the next publish of that version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rdflib import Graph, Literal, URIRef

from server.content.export import export_graph_triples
from server.diagnostics import Diagnostic, Report
from server.rdf.namespaces import XSD_DATETIME
from server.settings import Settings
from server.steward.graph_store import GraphStore, StoreError
from server.store.published import (
    CREATED,
    CURRENT_VERSION,
    dataset_iri,
    pointer_graph,
    version_graph,
    version_of,
)
from server.validate.validation import validate_project


@dataclass(frozen=True)
class Publication:
    """What publish did: the report, the version and its graph, and how far it got."""

    report: Report
    version: str = ""
    graph: str = ""
    triples: int = 0
    uploaded: bool = False  # False when the store already held the version's graph
    switched: bool = False  # the pointer names this version
    previous: str | None = None  # the current version before, if any
    pruned: tuple[str, ...] = ()
    failure: Diagnostic | None = None

    @property
    def refused(self) -> bool:
        """The project does not conform: nothing was sent to the store."""
        return not self.report.conforms


@dataclass(frozen=True)
class Pointer:
    """What the pointer graph says: the current version and when each version was published."""

    current: str | None
    created: dict[str, datetime]


def publish(
    root: Path,
    store: GraphStore,
    settings: Settings,
    *,
    prune: int | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Publication:
    """Validate the project at root, then publish it to the store; `prune` keeps the K newest."""
    outcome = validate_project(root, (), settings)
    if not outcome.conforms:
        return Publication(outcome.report)
    base, version = settings.base_iri, outcome.load.version
    data = export_graph_triples(outcome.load, include_ontology=True)
    target, expected = version_graph(base, version), len(data)
    uploaded = switched = False
    pruned: list[str] = []
    previous: str | None = None
    failure: Diagnostic | None = None
    try:
        pointer = read_pointer(store, base)
        previous = pointer.current
        if store.count(target) != expected:
            uploaded = True
            store.put(target, data.serialize(format="nt", encoding="utf-8"))
            found = store.count(target)
            if found != expected:
                raise StoreError(
                    "KG-PUBLISH-MISMATCH",
                    store.endpoints.gsp,
                    f"after the upload the store holds {found} triples in <{target}>, not the "
                    f"{expected} sent; the current version was not switched",
                    hint="run publish again; if it persists, the store rewrote or dropped triples",
                )
        created = {**pointer.created}
        created.setdefault(version, now())
        store.put(pointer_graph(base), pointer_document(base, version, created))
        switched = True
        if prune is not None:
            for old in versions_to_prune(created, version, prune):
                store.drop(version_graph(base, old))
                pruned.append(old)
            if pruned:  # forgotten only once dropped: a failed drop is retried by the next prune
                kept = {v: t for v, t in created.items() if v not in pruned}
                store.put(pointer_graph(base), pointer_document(base, version, kept))
    except StoreError as exc:
        failure = exc.diagnostic()
    return Publication(
        outcome.report,
        version,
        target,
        expected,
        uploaded,
        switched,
        previous,
        tuple(pruned),
        failure,
    )


def read_pointer(store: GraphStore, base_iri: str) -> Pointer:
    """The pointer graph's current version and publication times (empty for a new store)."""
    graph, dataset = pointer_graph(base_iri), dataset_iri(base_iri)
    rows = store.select(
        f"SELECT ?version ?created ?current WHERE {{ GRAPH <{graph}> {{ "
        f"{{ ?version <{CREATED}> ?created }} UNION {{ <{dataset}> <{CURRENT_VERSION}> ?current }} "
        "} }"
    )
    current: str | None = None
    created: dict[str, datetime] = {}
    for row in rows:
        if "current" in row:
            current = version_of(row["current"], base_iri) or current
        elif (name := version_of(row.get("version", ""), base_iri)) is not None:
            created[name] = _parse_time(row.get("created", ""))
    return Pointer(current, created)


def pointer_document(base_iri: str, current: str, created: dict[str, datetime]) -> bytes:
    """The whole pointer graph, as N-Triples: the current version and each version's time."""
    graph = Graph(bind_namespaces="none")
    graph.add(
        (
            URIRef(dataset_iri(base_iri)),
            URIRef(CURRENT_VERSION),
            URIRef(version_graph(base_iri, current)),
        )
    )
    for name, when in created.items():
        stamp = Literal(when.isoformat(timespec="microseconds"), datatype=XSD_DATETIME)
        graph.add((URIRef(version_graph(base_iri, name)), URIRef(CREATED), stamp))
    return graph.serialize(format="nt", encoding="utf-8")


def versions_to_prune(created: dict[str, datetime], current: str, keep: int) -> list[str]:
    """All but the `keep` newest versions, never the current one, oldest first."""
    newest = sorted(created, key=lambda v: (created[v], v), reverse=True)
    kept = set(newest[:keep]) | {current}
    return [v for v in reversed(newest) if v not in kept]


def _parse_time(text: str) -> datetime:
    """An xsd:dateTime; one that cannot be read counts as the oldest (pruned first)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
