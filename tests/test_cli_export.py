"""`clinic-kg export` as content tools run it: a real process, real files, exit codes."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from server.content.export import context_document, export_graph_triples
from server.load.loader import load

from .conftest import REPO


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "export", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_default_is_turtle_of_data_and_ontology() -> None:
    done = run()
    assert done.returncode == 0, done.stderr
    graph = Graph().parse(data=done.stdout, format="turtle")
    assert isomorphic(graph, export_graph_triples(load(REPO)))


def test_jsonld_without_ontology_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "graph.jsonld"
    done = run("--format", "jsonld", "--no-ontology", "--output", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    graph = Graph().parse(target, format="json-ld")
    assert len(graph) == len(load(REPO).data)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_schema_org_for_a_condition() -> None:
    done = run("--schema-org", "failed-back-surgery-syndrome", "--page-url", "https://c.example/p")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["@type"] == "MedicalWebPage"
    assert document["url"] == "https://c.example/p"
    assert document["about"]["name"] == "Failed back surgery syndrome"


@pytest.mark.parametrize("condition", ["no-such-condition", "acetaminophen", "../kg", "a%2Fb"])
def test_unknown_condition_lists_the_known_ones(condition: str) -> None:
    done = run("--schema-org", condition)
    assert done.returncode == 2
    assert "is not a condition id; known: failed-back-surgery-syndrome" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "turtle", "--schema-org", "x"], "--schema-org always writes JSON-LD"),
        (["--page-url", "https://x.example/"], "--page and --page-url go with --schema-org"),
        (["--format", "rdfxml"], "'rdfxml' is not one of"),
        (["--context", "--format", "jsonld"], "--context prints the context only"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert message in done.stderr


def test_not_a_project(tmp_path: Path) -> None:
    done = run(cwd=tmp_path)
    assert done.returncode == 2
    assert "is not a clinic-kg project" in done.stderr


def test_missing_output_folder(tmp_path: Path) -> None:
    done = run("--output", str(tmp_path / "nowhere" / "x.ttl"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr


def test_parse_errors_exit_1_and_write_nothing(project: Path) -> None:
    broken = project / "kg" / "symptoms.ttl"
    broken.write_text(broken.read_text(encoding="utf-8") + "\nkg:x a ckg:Symptom\n", "utf-8")
    target = project / "out.ttl"
    done = run("--root", str(project), "--output", str(target))
    assert done.returncode == 1
    assert "kg/symptoms.ttl:" in done.stderr
    assert "nothing was written" in done.stderr
    assert not target.exists()


def test_context_option_prints_the_context_file() -> None:
    done = run("--context")
    assert done.returncode == 0
    assert done.stdout == context_document()
