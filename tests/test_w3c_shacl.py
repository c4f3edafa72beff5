"""The W3C SHACL test suite (tests/w3c/shacl) against server/validate/shacl.py's `validate_graph`.

Every entry either passes on our engine, or the engine declares it unsupported and the run is
handed to the fallback: FALLBACK lists those entries, each with the reason. An entry that the
engine claims to support and gets wrong fails here, so no gap of the engine stays silent.

Results are compared as the suite asks: the same conforms flag and the same results (focus node,
path, value, source shape, constraint component, severity), messages and details aside.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from server.load.loader import SourceFile, load_file
from server.settings import Settings
from server.validate.engine import Index, Result
from server.validate.shacl import validate_graph

from .conftest import REPO

SUITE = REPO / "tests" / "w3c" / "shacl"
MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
SHT = "http://www.w3.org/ns/shacl-test#"

_SPARQL = "SHACL-SPARQL constraints need a SPARQL engine: only the project's own is native"
_COMPONENT = "SPARQL-based constraint components need a SPARQL engine"

# Core entries the native engine declares unsupported, so that the fallback validates them, each
# with the reason (none today: every core entry runs natively).
FALLBACK: dict[str, str] = {}
# Entries the fallback gets wrong, each with the reason (none with pyshacl-turbo; with pyshacl as
# the fallback, sparql/node/prefixes-001 and sparql/pre-binding/shapesGraph-001 fail).
FALLBACK_FAILS: dict[str, str] = {}


@dataclass(frozen=True)
class Entry:
    """One test of the suite: its name, the graphs it validates and the report it expects."""

    name: str
    data: Path
    shapes: Path
    manifest: Path
    node: Node

    def __str__(self) -> str:
        return self.name


def _entries(manifest: Path) -> Iterator[Entry]:
    graph = Graph().parse(manifest, format="turtle", publicID=manifest.as_uri())
    for included in graph.objects(None, URIRef(MF + "include")):
        yield from _entries(Path(str(included).removeprefix("file://")))
    for head in graph.objects(None, URIRef(MF + "entries")):
        for node in Collection(graph, head):
            action = graph.value(node, URIRef(MF + "action"))
            data = graph.value(action, URIRef(SHT + "dataGraph"))
            shapes = graph.value(action, URIRef(SHT + "shapesGraph"))
            name = manifest.relative_to(SUITE).with_suffix("").as_posix()
            if manifest.name == "manifest.ttl":  # a manifest that lists entries of other files
                name = str(node).removeprefix(manifest.parent.as_uri() + "/")
            yield Entry(
                name,
                Path(str(data).removeprefix("file://")),
                Path(str(shapes).removeprefix("file://")),
                manifest,
                node,
            )


def suite(part: str) -> list[Entry]:
    return sorted(_entries(SUITE / part / "manifest.ttl"), key=str)


CORE = suite("core")
SPARQL = suite("sparql")

Row = tuple[object, ...]


def _canon(graph: Graph, node: Node | None, seen: frozenset[Node] = frozenset()) -> object:
    """A node as the report means it: IRIs and literals as themselves, a blank node by what it
    says (so a path written out again in the expected report equals the shapes graph's)."""
    if not isinstance(node, BNode):
        return node
    if node in seen:
        return "cycle"
    inner = seen | {node}
    return tuple(sorted((str(p), repr(_canon(graph, o, inner))) for p, o in graph[node]))


def _path(graph: Graph, node: Node | None, depth: int = 0) -> object:
    """A result path as SHACL reads it (a list is a sequence, whatever else its node says)."""
    if not isinstance(node, BNode) or depth > 32:
        return node
    if (node, RDF.first, None) in graph:
        return ("sequence", *(_path(graph, m, depth + 1) for m in Collection(graph, node)))
    for p, o in sorted(graph.predicate_objects(node)):
        if p == SH.alternativePath:
            return ("alternative", *(_path(graph, m, depth + 1) for m in Collection(graph, o)))
        if str(p).startswith(str(SH)):
            return (str(p), _path(graph, o, depth + 1))
    return _canon(graph, node)


def _row(graph: Graph, focus: Node | None, path: Node | None, *rest: Node | None) -> Row:
    return (_canon(graph, focus), _path(graph, path), *(_canon(graph, n) for n in rest))


def _expected(entry: Entry, graph: Graph) -> tuple[bool, Counter[Row]]:
    report = graph.value(entry.node, URIRef(MF + "result"))
    conforms = graph.value(report, SH.conforms)
    rows: Counter[Row] = Counter()
    for r in graph.objects(report, SH.result):
        rows[
            _row(
                graph,
                graph.value(r, SH.focusNode),
                graph.value(r, SH.resultPath),
                graph.value(r, SH.value),
                graph.value(r, SH.sourceShape),
                graph.value(r, SH.sourceConstraintComponent),
                graph.value(r, SH.resultSeverity),
            )
        ] += 1
    return isinstance(conforms, Literal) and conforms.value is True, rows


def _actual(graph: Graph, results: tuple[Result, ...]) -> tuple[bool, Counter[Row]]:
    rows: Counter[Row] = Counter(
        _row(graph, r.focus, r.path, r.value, r.shape, r.component, r.severity) for r in results
    )
    # A report conforms when it has no results at all, whatever their severity (SHACL 3.1).
    return not results, rows


def _graph(path: Path) -> tuple[Graph, tuple[tuple[Node, Node, Node], ...]]:
    """A file of the suite, read as the project reads its own (server/load/loader.py)."""
    loaded = load_file(path, path.name, "kg", Settings())
    assert isinstance(loaded, SourceFile), loaded
    graph = Graph(bind_namespaces="none")
    for t in loaded.triples:
        graph.add(t)
    return graph, loaded.triples


@dataclass(frozen=True)
class Outcome:
    engine: str  # "native", or the fallback that ran
    right: bool  # the report is the expected one (or the failure the entry expects happened)
    detail: str = ""


def run(entry: Entry) -> Outcome:
    """Validate one entry through server/validate/shacl.py's public entry; judge the report."""
    data, triples = _graph(entry.data)
    shapes = data if entry.shapes == entry.data else _graph(entry.shapes)[0]
    manifest = data if entry.manifest == entry.data else _graph(entry.manifest)[0]
    expected = manifest.value(entry.node, URIRef(MF + "result"))
    try:
        done = validate_graph(Index(triples), shapes, lambda: data)
    except Exception as exc:  # the fallback refused the shapes: right when a failure is expected
        return Outcome("fallback", expected == URIRef(SHT + "Failure"), repr(exc)[:200])
    if expected == URIRef(SHT + "Failure"):
        return Outcome(done.engine, False, "validated shapes the suite says must fail")
    canon = data + shapes + manifest
    want, got = _expected(entry, manifest), _actual(canon, done.results)
    detail = "" if want == got else f"expected {want}, got {got}"
    return Outcome(done.engine, want == got, detail)


def _judge(entry: Entry, fallback: dict[str, str], fails: dict[str, str]) -> str:
    """native | via fallback | fallback fails (listed, with its reason) | wrong: why."""
    outcome = run(entry)
    if outcome.engine == "native":
        return "native" if outcome.right else f"wrong: {outcome.detail}"
    if entry.name not in fallback:
        return f"wrong: handed to {outcome.engine}, but not listed as unsupported"
    if outcome.right:
        return "via fallback" if entry.name not in fails else "wrong: listed as failing, passes"
    if entry.name in fails:
        return "fallback fails (listed)"
    return f"wrong: {outcome.engine} {outcome.detail}"


@pytest.mark.parametrize("entry", CORE, ids=str)
def test_w3c_shacl_core(entry: Entry, record_property: pytest.RecordProperty) -> None:
    verdict = _judge(entry, FALLBACK, FALLBACK_FAILS)
    record_property("w3c", ("W3C SHACL core", verdict.split(":")[0]))
    assert not verdict.startswith("wrong"), verdict
    # The list stays exact: an entry that the engine comes to support leaves it.
    assert (verdict == "native") == (entry.name not in FALLBACK), f"{entry} is native now"


@pytest.mark.parametrize("entry", SPARQL, ids=str)
def test_w3c_shacl_sparql(entry: Entry, record_property: pytest.RecordProperty) -> None:
    """SHACL-SPARQL is never run natively (bar the project's own constraint): every entry must be
    recognised as unsupported and handed over, never validated as if it had no constraint."""
    fallback = {e.name: _COMPONENT if "/component/" in e.name else _SPARQL for e in SPARQL}
    verdict = _judge(entry, fallback, FALLBACK_FAILS)
    record_property("w3c", ("W3C SHACL-SPARQL", verdict.split(":")[0]))
    assert not verdict.startswith("wrong"), verdict
    assert verdict != "native"
