"""`clinic-kg validate` as a steward runs it: a real process, real files, exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

PREFIXES = (
    "@prefix ckg: <https://clinic-kg.example/ontology#> .\n"
    "@prefix kg: <https://clinic-kg.example/id/> .\n"
    "@prefix prov: <http://www.w3.org/ns/prov#> .\n"
    "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
    "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
)


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_landed_graph_conforms() -> None:
    done = run("validate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "conforms — 0 errors" in done.stdout


def test_root_option(tmp_path: Path) -> None:
    done = run("validate", "--root", str(REPO), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_not_a_project_is_a_usage_error(tmp_path: Path) -> None:
    done = run("validate", cwd=tmp_path)
    assert done.returncode == 2
    assert "not a clinic-kg project" in done.stderr


def test_unknown_option_is_a_usage_error() -> None:
    assert run("validate", "--frobnicate").returncode == 2


BAD_INPUTS = {
    "syntax-error": (PREFIXES + "kg:x a ckg:Symptom ;\n  skos:prefLabel .\n", "KG-PARSE", 7),
    "unknown-prefix": ("kg:x a ckg:Symptom .\n", "KG-PREFIX", 1),
    "dangling-reference": (
        PREFIXES + 'kg:x a ckg:Symptom ;\n  skos:prefLabel "X"@en ;\n'
        "  prov:wasDerivedFrom kg:clinic-pag .\n",
        "KG-CLASS",
        6,
    ),
    "misspelt-predicate": (
        PREFIXES + 'kg:x a ckg:Symptom ;\n  skos:prefLabel "X"@en ;\n  skos:altLabl "Y"@en ;\n'
        "  prov:wasDerivedFrom kg:clinic-page .\n",
        "KG-CLOSED",
        6,
    ),
    "wrong-datatype": (
        PREFIXES.replace("skos:", "skos:", 1)
        + "@prefix measure: <https://clinic-kg.example/ontology/measure/> .\n"
        "@prefix unit: <https://clinic-kg.example/ontology/unit/> .\n\n"
        "kg:x a ckg:Count ;\n"
        '  skos:prefLabel "X"@en ;\n'
        "  ckg:about kg:laminectomy ;\n"
        "  ckg:measure measure:annual-count ;\n"
        '  ckg:value "about 200,000" ;\n'
        "  ckg:unit unit:procedures-per-year ;\n"
        '  ckg:quote "Almost 85% of adults will suffer from back pain" ;\n'
        "  prov:wasDerivedFrom kg:clinic-page .\n",
        "KG-DATATYPE",
        9,
    ),
    "out-of-range": (
        PREFIXES + "@prefix measure: <https://clinic-kg.example/ontology/measure/> .\n"
        "@prefix unit: <https://clinic-kg.example/ontology/unit/> .\n\n"
        "kg:x a ckg:Proportion ;\n"
        '  skos:prefLabel "X"@en ;\n'
        "  ckg:about kg:back-pain ;\n"
        "  ckg:measure measure:lifetime-prevalence ;\n"
        '  ckg:value "185"^^xsd:decimal ;\n'
        "  ckg:unit unit:percent ;\n"
        '  ckg:quote "Almost 85% of adults will suffer from back pain" ;\n'
        "  prov:wasDerivedFrom kg:clinic-page .\n",
        "KG-RANGE",
        9,
    ),
    "empty-file": ("", "KG-EMPTY", 1),
    "count-in-percent": (
        PREFIXES + "@prefix measure: <https://clinic-kg.example/ontology/measure/> .\n"
        "@prefix unit: <https://clinic-kg.example/ontology/unit/> .\n\n"
        "kg:x a ckg:Count ;\n"
        '  skos:prefLabel "X"@en ;\n'
        "  ckg:about kg:laminectomy ;\n"
        "  ckg:measure measure:annual-count ;\n"
        '  ckg:value "200000"^^xsd:decimal ;\n'
        "  ckg:unit unit:percent ;\n"
        '  ckg:quote "approximately 200,000 lumbar laminectomies and discectomies" ;\n'
        "  prov:wasDerivedFrom kg:clinic-page .\n",
        "KG-UNIT",
        9,
    ),
    "quote-from-the-cited-journal": (
        PREFIXES + "@prefix measure: <https://clinic-kg.example/ontology/measure/> .\n"
        "@prefix unit: <https://clinic-kg.example/ontology/unit/> .\n\n"
        "kg:x a ckg:Proportion ;\n"
        '  skos:prefLabel "X"@en ;\n'
        "  ckg:about kg:spinal-fusion ;\n"
        "  ckg:measure measure:success-rate ;\n"
        '  ckg:low "10"^^xsd:decimal ;\n'
        '  ckg:high "40"^^xsd:decimal ;\n'
        "  ckg:unit unit:percent ;\n"
        '  ckg:quote "the success rate of lumbar spinal fusions is approximately 10% to 40%" ;\n'
        "  prov:wasDerivedFrom kg:pain-medicine .\n",
        "KG-NO-LOCAL-COPY",
        9,
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_reported_with_file_and_line(project: Path, name: str) -> None:
    content, code, line = BAD_INPUTS[name]
    bad = project / "kg" / f"{name}.ttl"
    bad.write_text(content, encoding="utf-8")
    before = {p: p.read_bytes() for p in project.rglob("*.ttl")}
    done = run("validate", cwd=project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"kg/{name}.ttl:{line}: error {code}" in done.stdout, done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert "does not conform" in done.stdout
    assert {p: p.read_bytes() for p in project.rglob("*.ttl")} == before, "validate wrote files"


def test_not_utf8_is_reported(project: Path) -> None:
    (project / "kg" / "latin1.ttl").write_bytes(b"# caf\xe9\n")
    done = run("validate", cwd=project)
    assert done.returncode == 1
    assert "kg/latin1.ttl:1: error KG-ENCODING" in done.stdout


def test_deep_nesting_and_huge_literal(project: Path) -> None:
    deep = PREFIXES + "kg:x kg:p " + "[ kg:p " * 10_000 + "1" + " ]" * 10_000 + " .\n"
    (project / "kg" / "deep.ttl").write_text(deep)
    (project / "kg" / "huge.ttl").write_text(PREFIXES + 'kg:x kg:p "' + "x" * 50_000_000 + '" .\n')
    done = run("validate", cwd=project)
    assert done.returncode == 1
    assert "kg/deep.ttl:6: error KG-DEPTH" in done.stdout
    assert "kg/huge.ttl:6: error KG-LITERAL-SIZE" in done.stdout


def test_literal_limit_comes_from_the_environment(project: Path) -> None:
    (project / "kg" / "long.ttl").write_text(PREFIXES + 'kg:x kg:p "' + "x" * 100 + '" .\n')
    done = subprocess.run(
        [sys.executable, "-m", "server", "validate"],
        cwd=project,
        capture_output=True,
        text=True,
        env={"CLINIC_KG_MAX_LITERAL_BYTES": "50", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert "kg/long.ttl:6: error KG-LITERAL-SIZE" in done.stdout


def test_json_report(project: Path) -> None:
    content, _, _ = BAD_INPUTS["dangling-reference"]
    (project / "kg" / "dangling.ttl").write_text(content)
    done = run("validate", "--format", "json", cwd=project)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["conforms"] is False
    assert report["counts"]["error"] == 1
    [result] = report["results"]
    assert result["path"] == "kg/dangling.ttl"
    assert result["line"] == 6
    assert result["code"] == "KG-CLASS"
    assert result["subject"] == "kg:x"
    assert result["property"] == "prov:wasDerivedFrom"
    assert "did you mean kg:clinic-page?" in result["hint"]


def test_paths_limit_the_report_to_those_files(project: Path) -> None:
    content, _, _ = BAD_INPUTS["misspelt-predicate"]
    (project / "kg" / "a.ttl").write_text(content)
    (project / "kg" / "b.ttl").write_text(content.replace("kg:x", "kg:y").replace('"X"', '"Y2"'))
    done = run("validate", "kg/b.ttl", cwd=project)
    assert done.returncode == 1
    assert "kg/b.ttl:" in done.stdout
    assert "kg/a.ttl:" not in done.stdout


def test_warnings_alone_still_conform(project: Path) -> None:
    condition = project / "kg" / "conditions" / "failed-back-surgery-syndrome.ttl"
    condition.write_text(re.sub(r"    ckg:hasSymptom [^;]*;\n", "", condition.read_text()))
    # Without the symptom triples their assertions (in the page) become orphans: drop those too.
    page = project / "kg" / "pages" / "clinic-page.ttl"
    blocks = [b for b in page.read_text().split("\n\n") if "rdf:predicate ckg:hasSymptom" not in b]
    page.write_text("\n\n".join(blocks))
    done = run("validate", cwd=project)
    assert done.returncode == 0, done.stdout
    assert "warning KG-MINCOUNT kg:failed-back-surgery-syndrome" in done.stdout
    assert "1 warning," in done.stdout


def test_every_code_is_documented() -> None:
    # Codes are written once, as string literals in server/ or `shp:code "…"` in shapes/.
    literal = re.compile(r'"(KG-[A-Z0-9]+(?:-[A-Z0-9]+)*)"')
    sources = [*(REPO / "server").rglob("*.py"), *(REPO / "shapes").glob("*.ttl")]
    codes = {c for p in sources for c in literal.findall(p.read_text(encoding="utf-8"))}
    assert {"KG-CLASS", "KG-UNIT", "KG-NO-LOCAL-COPY"} <= codes
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert sorted(c for c in codes if f"`{c}`" not in readme) == []


def _statistic(measure: str) -> str:
    return (
        PREFIXES + "@prefix measure: <https://clinic-kg.example/ontology/measure/> .\n"
        "@prefix unit: <https://clinic-kg.example/ontology/unit/> .\n\n"
        "kg:share-improving a ckg:Proportion ;\n"
        '  skos:prefLabel "Share improving"@en ;\n'
        "  ckg:about kg:spinal-fusion ;\n"
        f"  ckg:measure {measure} ;\n"
        '  ckg:low "10"^^xsd:decimal ;\n'
        '  ckg:high "40"^^xsd:decimal ;\n'
        "  ckg:unit unit:percent ;\n"
        '  ckg:quote "the success rate of lumbar spinal fusions is approximately 10% to 40%" ;\n'
        "  prov:wasDerivedFrom kg:clinic-page .\n"
    )


HINTS = {
    "wrong-type-link": (
        PREFIXES + 'kg:x a ckg:Symptom ;\n  skos:prefLabel "X"@en ;\n'
        "  prov:wasDerivedFrom kg:clinic .\n",
        "kg/wrong-type-link.ttl:6: error KG-CLASS kg:x",
        "hint: kg:clinic is a ckg:Clinic, not a ckg:Source (the shape wants a source)",
    ),
    "text-for-a-link": (
        PREFIXES + 'kg:x a ckg:Symptom ;\n  skos:prefLabel "X"@en ;\n'
        '  prov:wasDerivedFrom "clinic page" .\n',
        "kg/text-for-a-link.ttl:6: error KG-CLASS kg:x",
        'hint: "clinic page" is text, not a link to a ckg:Source (the shape wants a source); '
        "did you mean kg:clinic-page?",
    ),
    "measure-outside-the-vocabulary": (
        _statistic("measure:share-improving"),
        "kg/measure-outside-the-vocabulary.ttl:9: error KG-NODE kg:share-improving",
        "measure:share-improving is not a concept of ckg:Measures (nothing in the graph describes "
        "it); the allowed values are measure:",
    ),
}


@pytest.mark.parametrize("name", sorted(HINTS))
def test_the_hint_leads_somewhere(project: Path, name: str) -> None:
    content, where, hint = HINTS[name]
    (project / "kg" / f"{name}.ttl").write_text(content, encoding="utf-8")
    done = run("validate", cwd=project)
    assert done.returncode == 1
    assert where in done.stdout
    assert hint in done.stdout
    assert "check the IRI for typos" not in done.stdout


def test_a_measure_is_added_where_the_hint_says(project: Path) -> None:
    # The hint names the file and the scheme; doing just that is enough, with no shape changed.
    (project / "kg" / "share.ttl").write_text(_statistic("measure:share-improving"))
    done = run("validate", cwd=project)
    assert "did you mean kg:share-improving" not in done.stdout  # the statistic is no measure
    to_add = "declare it in ontology/concept-schemes.ttl with skos:inScheme ckg:Measures"
    assert to_add in done.stdout
    schemes = project / "ontology" / "concept-schemes.ttl"
    schemes.write_text(
        schemes.read_text(encoding="utf-8")
        + "\nmeasure:share-improving a ckg:ProportionMeasure, skos:Concept ;\n"
        '    skos:prefLabel "share improving (fixture)"@en ;\n'
        "    skos:inScheme ckg:Measures .\n",
        encoding="utf-8",
    )
    done = run("validate", cwd=project)
    assert done.returncode == 0, done.stdout
