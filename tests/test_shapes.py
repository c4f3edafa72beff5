"""Every constraint in shapes/ has a fixture that violates it, with its code, file and line pinned.

Each tests/fixtures/shapes/<name>.ttl describes new entities (kg:fixture-…) that are valid except
for one violation, and says in its header comment what it expects and what it covers:

    # expect: <code> line <n> <node shape or -> <property or -> [warning|info]
    # covers: <shape> <constraint parameter>
    # xfail: <reason>            (a known problem in shapes/ or server/; the expectation is the fix)
    # says: <text>               (in the rendered report of the file: message, value or hint)

The fixture must produce exactly its expect lines (code, path, line, shape, property, severity),
nothing more, and its report must contain every says text (what the steward reads: a wrong-type
link names the type, a value outside a vocabulary names the scheme and the file to extend, …).
Project checks (server/validate/checks.py) have fixtures too: check.*.ttl.

All fixtures are validated in one call: each has fresh IRIs and its own labels, and diagnostics are
reported per file, so they cannot interfere (test_batch_matches_a_lone_run spot-checks that). A
fixture that fails to parse would switch SHACL off for the whole batch, so none may be broken Turtle
(test_batch_loads_every_fixture).

Node shapes used only as values of another constraint (shp:EnglishLiteral, shp:IsEntity,
shp:HasRange, shp:*Concept, …) are covered through that parent constraint; see value_shapes().
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from server.diagnostics import Diagnostic
from server.rdf.namespaces import curie
from server.validate.validation import Outcome, validate_project

from .conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "shapes"
SHAPES = REPO / "shapes"

# The constraint parameters a fixture must exercise, per shape that carries them.
PARAMETERS: tuple[URIRef, ...] = (
    SH.minCount,
    SH.maxCount,
    SH["class"],
    SH.datatype,
    SH.closed,
    SH.pattern,
    SH.uniqueLang,
    SH.qualifiedMinCount,
    SH.qualifiedMaxCount,
    SH.minInclusive,
    SH.maxInclusive,
    SH.minExclusive,
    SH.maxExclusive,
    SH.lessThan,
    SH.lessThanOrEquals,
    SH.hasValue,
    SH["in"],
    SH.node,
    SH["or"],
    SH.xone,
    SH["and"],
    SH["not"],
    SH.nodeKind,
    SH.sparql,
    SH.languageIn,
    SH.minLength,
    SH.maxLength,
)
TARGETS: tuple[URIRef, ...] = (
    SH.targetClass,
    SH.targetNode,
    SH.targetSubjectsOf,
    SH.targetObjectsOf,
)
# Links to shapes that are only ever checked as the value of another shape's constraint.
VALUE_SHAPE_LINKS: tuple[URIRef, ...] = (SH.node, SH.qualifiedValueShape, SH["not"])
VALUE_SHAPE_LISTS: tuple[URIRef, ...] = (SH["or"], SH.xone, SH["and"])

Row = tuple[str, int, str, str, str]  # code, line, shape, property, severity
_EXPECT = re.compile(
    r"# expect: (?P<code>\S+) line (?P<line>\d+) (?P<shape>\S+) (?P<property>\S+)"
    r"(?: (?P<severity>error|warning|info))?"
)
_COVERS = re.compile(r"# covers: (?P<shape>\S+) (?P<parameter>\S+)")
_XFAIL = re.compile(r"# xfail: (?P<reason>.+)")
_SAYS = re.compile(r"# says: (?P<text>.+)")


@dataclass(frozen=True)
class Fixture:
    """One fixture file and what its header says about it."""

    path: Path
    expected: tuple[Row, ...]
    covers: frozenset[tuple[str, str]]
    xfail: str | None
    says: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def shown(self) -> str:
        """The path diagnostics use: relative to the repository root."""
        return self.path.relative_to(REPO).as_posix()


def read_fixture(path: Path) -> Fixture:
    expected: list[Row] = []
    covers: set[tuple[str, str]] = set()
    xfail: str | None = None
    says: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break  # the header is the leading comment block
        if m := _EXPECT.fullmatch(line):
            expected.append(
                (
                    m["code"],
                    int(m["line"]),
                    "" if m["shape"] == "-" else m["shape"],
                    "" if m["property"] == "-" else m["property"],
                    m["severity"] or "error",
                )
            )
        elif m := _COVERS.fullmatch(line):
            covers.add((m["shape"], m["parameter"]))
        elif m := _XFAIL.fullmatch(line):
            xfail = m["reason"]
        elif m := _SAYS.fullmatch(line):
            says.append(m["text"])
        elif line.startswith(("# expect", "# covers", "# xfail", "# says:")):
            raise ValueError(f"{path.name}: malformed header line {line!r}")
    return Fixture(path, tuple(sorted(expected)), frozenset(covers), xfail, tuple(says))


ALL_FIXTURES: tuple[Fixture, ...] = tuple(read_fixture(p) for p in sorted(FIXTURES.glob("*.ttl")))


def _param(fixture: Fixture) -> object:
    marks = [pytest.mark.xfail(reason=fixture.xfail, strict=True)] if fixture.xfail else []
    return pytest.param(fixture, id=fixture.name, marks=marks)


@pytest.fixture(scope="module")
def batch() -> Outcome:
    """The project plus every fixture, validated once (about 3 s)."""
    return validate_project(REPO, [f.path for f in ALL_FIXTURES])


@pytest.fixture(scope="module")
def reported(batch: Outcome) -> dict[str, list[Row]]:
    by_path: dict[str, list[Row]] = {}
    for d in batch.report.diagnostics:
        by_path.setdefault(d.path, []).append(_row(d))
    return by_path


def _row(d: Diagnostic) -> Row:
    return (d.code, d.line, d.shape, d.property, d.severity.value)


# ---------------------------------------------------------------- each fixture, its diagnostics


@pytest.mark.parametrize("fixture", [_param(f) for f in ALL_FIXTURES])
def test_fixture_reports_exactly_its_violation(
    fixture: Fixture, reported: dict[str, list[Row]]
) -> None:
    assert fixture.expected, f"{fixture.name} has no `# expect:` line"
    assert sorted(reported.get(fixture.shown, [])) == list(fixture.expected)


SAYING = [_param(f) for f in ALL_FIXTURES if f.says]


@pytest.mark.parametrize("fixture", SAYING)
def test_fixture_report_says_what_to_do(fixture: Fixture, batch: Outcome) -> None:
    shown = "\n".join(d.render() for d in batch.report.diagnostics if d.path == fixture.shown)
    for text in fixture.says:
        assert text in shown


def test_batch_loads_every_fixture(batch: Outcome) -> None:
    # One fixture that fails to parse would leave SHACL unrun for all of them.
    assert batch.load.ok, [d.render() for d in batch.load.diagnostics]
    loaded = set(batch.load.paths())
    assert {f.shown for f in ALL_FIXTURES} <= loaded


def test_only_fixture_files_are_reported(batch: Outcome) -> None:
    shown = {f.shown for f in ALL_FIXTURES}
    assert {d.path for d in batch.report.diagnostics} <= shown


def test_batch_matches_a_lone_run(reported: dict[str, list[Row]]) -> None:
    # The label check compares nodes across files: run its fixture alone, as a steward would.
    fixture = next(f for f in ALL_FIXTURES if f.name == "UniqueLabelShape.sparql")
    alone = validate_project(REPO, [fixture.path])
    assert sorted(_row(d) for d in alone.report.diagnostics) == sorted(reported[fixture.shown])


# ---------------------------------------------------------------- coverage of shapes/


def load_shapes(paths: Iterable[Path]) -> Graph:
    graph = Graph()
    for path in paths:
        graph.parse(path, format="turtle")
    return graph


def _show(node: Node) -> str:
    return curie(str(node)) if isinstance(node, URIRef) else f"_:{node}"


def applied_shapes(shapes: Graph) -> set[Node]:
    """Node shapes with a target, and the property shapes they list with sh:property."""
    targeted = {s for t in TARGETS for s in shapes.subjects(t, None)}
    listed = {p for s in targeted for p in shapes.objects(s, SH.property)}
    return targeted | listed


def value_shapes(shapes: Graph) -> set[Node]:
    """Shapes only checked as the value of another constraint (sh:node, sh:or, sh:xone, …).

    Their own constraints (shp:EnglishLiteral's sh:languageIn, shp:HasValue-value's sh:minCount,
    shp:MeasureConcept-scheme's sh:hasValue, …) are covered through the parent's constraint: a
    violation surfaces only as the parent's KG-NODE, KG-OR, KG-XONE or qualified count.
    """
    found: set[Node] = {o for link in VALUE_SHAPE_LINKS for o in shapes.objects(None, link)}
    for link in VALUE_SHAPE_LISTS:
        for head in shapes.objects(None, link):
            found.update(Collection(shapes, head))
    todo = list(found)
    while todo:
        for p in shapes.objects(todo.pop(), SH.property):
            if p not in found:
                found.add(p)
                todo.append(p)
    return found


def constraint_pairs(shapes: Graph) -> set[tuple[str, str]]:
    """(shape, constraint parameter) for every applied shape, as CURIEs."""
    return {
        (_show(shape), _show(param))
        for shape in applied_shapes(shapes)
        for param in PARAMETERS
        if (shape, param, None) in shapes
    }


def uncovered(shapes: Graph, covered: Iterable[tuple[str, str]]) -> list[str]:
    return sorted(f"{s} {p}" for s, p in constraint_pairs(shapes) - set(covered))


def unapplied(shapes: Graph) -> list[str]:
    """Named shapes no target, sh:property or value link ever reaches: they check nothing."""
    named = set(shapes.subjects(RDF.type, SH.NodeShape)) | set(
        shapes.subjects(RDF.type, SH.PropertyShape)
    )
    reached = applied_shapes(shapes) | value_shapes(shapes)
    return sorted(_show(s) for s in named - reached)


def _covered_by_fixtures() -> Iterator[tuple[str, str]]:
    for fixture in ALL_FIXTURES:
        if not fixture.xfail:  # an xfail fixture's expectation does not hold yet
            yield from fixture.covers


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return load_shapes(sorted(SHAPES.glob("*.ttl")))


def test_every_constraint_has_a_fixture(shapes: Graph) -> None:
    missing = uncovered(shapes, _covered_by_fixtures())
    assert not missing, "no fixture in tests/fixtures/shapes/ covers:\n" + "\n".join(missing)


def test_covers_lines_name_real_constraints(shapes: Graph) -> None:
    pairs = constraint_pairs(shapes)
    stale = sorted(
        f"{f.name}: {s} {p}" for f in ALL_FIXTURES for s, p in f.covers if (s, p) not in pairs
    )
    assert not stale, "covers lines naming no constraint of shapes/:\n" + "\n".join(stale)


def test_every_shape_is_applied(shapes: Graph) -> None:
    assert unapplied(shapes) == []


def test_coverage_check_can_fail(shapes: Graph) -> None:
    extended = Graph()
    for triple in shapes:
        extended.add(triple)
    extended.parse(
        format="turtle",
        data="""
            @prefix ckg: <https://clinic-kg.example/ontology#> .
            @prefix sh: <http://www.w3.org/ns/shacl#> .
            @prefix shp: <https://clinic-kg.example/shapes#> .

            shp:MetaShape a sh:NodeShape ;
                sh:targetClass ckg:Condition ;
                sh:closed true ;
                sh:property shp:Meta-note .
            shp:Meta-note a sh:PropertyShape ;
                sh:path ckg:note ;
                sh:maxCount 1 .
            shp:Statistic-low sh:minInclusive 0 .
            shp:Dangling a sh:PropertyShape ;
                sh:path ckg:note ;
                sh:minCount 1 .
        """,
    )
    assert uncovered(extended, _covered_by_fixtures()) == [
        "shp:Meta-note sh:maxCount",
        "shp:MetaShape sh:closed",
        "shp:Statistic-low sh:minInclusive",
    ]
    assert unapplied(extended) == ["shp:Dangling"]
