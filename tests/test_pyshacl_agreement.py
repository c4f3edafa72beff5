"""pyshacl, the reference: its own command line agrees with `clinic-kg validate` on the same
files, and the fallback (pyshacl-turbo) agrees with it."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import SH
from rdflib.term import Node

from server.load.loader import load
from server.validate.engine import Index, Result
from server.validate.native_constraints import split_shapes
from server.validate.shacl import (
    _fallback_results,
    _pyshacl_results,
    shacl_data_graph,
    shacl_triples,
)
from server.validate.validation import validate_project

from .conftest import REPO

PYSHACL = str(Path(sys.executable).with_name("pyshacl"))
# A typo'd property, a dangling reference and a label another cause already has.
BROKEN = (
    "@prefix ckg: <https://clinic-kg.example/ontology#> .\n"
    "@prefix kg: <https://clinic-kg.example/id/> .\n"
    "@prefix prov: <http://www.w3.org/ns/prov#> .\n"
    "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
    "kg:x a ckg:Cause ;\n"
    '  skos:prefLabel "Smoking"@en ;\n'
    '  skos:altLabl "typo"@en ;\n'
    "  prov:wasDerivedFrom kg:clinic-pag .\n"
)


def _concat(folder_names: list[str], root: Path, out: Path) -> Path:
    # Turtle files concatenate into one valid document (prefixes may be re-declared).
    parts = [
        p.read_text(encoding="utf-8")
        for n in folder_names
        for p in sorted((root / n).rglob("*.ttl"))
    ]
    out.write_text("\n".join(parts), encoding="utf-8")
    return out


def _pyshacl(root: Path, tmp: Path) -> tuple[int, Graph]:
    # The data graph as the project loads it: compact evidence blocks are the project's own
    # shorthand for ckg:Assertion nodes, expanded on load, which pyshacl cannot know of.
    data = tmp / "data.nt"
    shacl_data_graph(load(root)).serialize(data, format="nt", encoding="utf-8")
    shapes = _concat(["shapes"], root, tmp / "shapes.ttl")
    done = subprocess.run(
        [PYSHACL, "-s", str(shapes), "-f", "nt", str(data)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = Graph().parse(data=done.stdout, format="turtle")
    return done.returncode, report


def test_pyshacl_cli_agrees_the_landed_graph_conforms(tmp_path: Path) -> None:
    code, report = _pyshacl(REPO, tmp_path)
    assert code == 0
    assert (None, SH.conforms, None) in report
    assert not list(report.subjects(SH.resultSeverity, SH.Violation))
    assert validate_project(REPO).report.conforms


def test_pyshacl_cli_finds_the_same_violations(project: Path, tmp_path: Path) -> None:
    (project / "kg" / "broken.ttl").write_text(BROKEN)
    out = tmp_path / "out"
    out.mkdir()
    code, report = _pyshacl(project, out)
    assert code == 1
    theirs = {
        (str(report.value(r, SH.focusNode)).rsplit("/", 1)[1], str(report.value(r, SH.resultPath)))
        for r in report.subjects(SH.resultSeverity, SH.Violation)
    }
    ours = {
        (d.subject.removeprefix("kg:"), d.property)
        for d in validate_project(project).report.diagnostics
        if d.severity.value == "error" and d.code.startswith("KG-") and d.shape
    }
    expanded = {
        (
            s,
            p.replace("skos:", "http://www.w3.org/2004/02/skos/core#").replace(
                "prov:", "http://www.w3.org/ns/prov#"
            ),
        )
        for s, p in ours
    }
    assert theirs == expanded
    assert ("x", "http://www.w3.org/2004/02/skos/core#altLabl") in theirs
    assert ("smoking", "http://www.w3.org/2004/02/skos/core#prefLabel") in theirs  # same label


def test_the_fallback_agrees_with_pyshacl(project: Path) -> None:
    """pyshacl-turbo, which runs what our engine does not, gives pyshacl's results on the real
    shapes, over the landed graph plus a broken file."""
    (project / "kg" / "broken.ttl").write_text(BROKEN)
    loaded = load(project)
    index = Index(shacl_triples(loaded))
    shapes, _ = split_shapes(loaded.shapes)
    data = shacl_data_graph(loaded)

    def rows(results: list[Result]) -> Counter[tuple[Node | None, ...]]:
        return Counter(
            (r.focus, r.path, r.value, r.shape, r.component, r.severity) for r in results
        )

    theirs = rows(_pyshacl_results(data, shapes, index))
    assert rows(_fallback_results(data, shapes, index)) == theirs
    assert theirs  # the broken file does break shapes
