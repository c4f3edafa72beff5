"""The semantic diff: nothing for the same graph, exactly the edit for an edit."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from rdflib import Graph

from server.steward.diffing import BLANK_NODES, GraphDiff, Side, ValueChange, diff_sides
from server.steward.formatting import format_file
from server.steward.revisions import SideError, load_side

from .conftest import REPO
from .kg_files import described_in
from .rdf_strategies import graphs, load_graph

STAT = "https://clinic-kg.example/id/back-pain-lifetime-prevalence"
# Wherever kg/ keeps it: found from the files, so that moving statements breaks no test.
STAT_FILE, STAT_LINE = described_in(REPO, "back-pain-lifetime-prevalence")
STAT_LOCATION = f"{STAT_FILE}:{STAT_LINE}"


def side(path: Path, name: str = "side") -> Side:
    loaded = load_side(str(path), path.parent)
    assert not loaded.diagnostics, [d.render() for d in loaded.diagnostics]
    return dataclasses.replace(loaded.side, name=name)


@settings(max_examples=100, deadline=None)
@given(graph=graphs())
def test_a_graph_against_itself_reparsed_and_formatted_is_empty(graph: Graph) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        # Two loads give the blank nodes different labels; formatting changes the layout.
        load_graph(graph, tmp / "a.ttl")
        load_graph(graph, tmp / "b.ttl")
        formatted = format_file(tmp / "b.ttl", tmp).formatted
        assert formatted is not None
        (tmp / "c.ttl").write_text(formatted, encoding="utf-8")
        a, b, c = side(tmp / "a.ttl"), side(tmp / "b.ttl"), side(tmp / "c.ttl")
        assert diff_sides(a, a).empty
        assert diff_sides(a, b).empty
        assert diff_sides(a, c).empty


def test_the_project_against_itself_is_empty() -> None:
    assert diff_sides(side(REPO), side(REPO)).empty


def edit(project: Path, old: str, new: str, path: Path = STAT_FILE) -> None:
    target = project / path
    text = target.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    target.write_text(text.replace(old, new), encoding="utf-8")


def test_a_changed_statistic_is_exactly_that_change_and_is_a_fact(project: Path) -> None:
    before = side(project, "before")
    edit(project, 'ckg:value "85"^^xsd:decimal', 'ckg:value "86"^^xsd:decimal')
    result = diff_sides(before, side(project, "after"))
    [changed] = result.subjects
    assert (changed.subject, changed.status, changed.is_fact) == (STAT, "changed", True)
    assert changed.name == "kg:back-pain-lifetime-prevalence"
    assert changed.label == "Lifetime prevalence of back pain in adults"
    assert changed.location == STAT_LOCATION
    assert changed.changes == (
        ValueChange("ckg:value", ('"85"^^xsd:decimal',), ('"86"^^xsd:decimal',)),
    )
    assert result.to_json()["facts"] == [STAT]


def test_added_and_removed_subjects_and_values(project: Path) -> None:
    before = side(project)
    edit(project, "ckg:qualifier qualifier:almost ;\n", "")
    extra = project / "kg" / "extra.ttl"
    extra.write_text(
        "@prefix ckg: <https://clinic-kg.example/ontology#> .\n"
        "@prefix kg: <https://clinic-kg.example/id/> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        'kg:new-symptom a ckg:Symptom ; skos:prefLabel "New symptom"@en .\n',
        encoding="utf-8",
    )
    result = diff_sides(before, side(project))
    by_name = {s.name: s for s in result.subjects}
    assert set(by_name) == {"kg:back-pain-lifetime-prevalence", "kg:new-symptom"}
    assert by_name["kg:back-pain-lifetime-prevalence"].changes == (
        ValueChange("ckg:qualifier", ("qualifier:almost",), ()),
    )
    added = by_name["kg:new-symptom"]
    assert (added.status, added.is_fact, added.label) == ("added", False, "New symptom")
    assert added.location == "kg/extra.ttl:4"
    assert [c.predicate for c in added.changes] == ["a", "skos:prefLabel"]
    assert diff_sides(side(project), before).subjects[1].status == "removed"


def test_blank_nodes_are_compared_under_their_owner(tmp_path: Path) -> None:
    head = "@prefix ex: <http://example.org/> .\n"
    (tmp_path / "a.ttl").write_text(
        head + "ex:shape ex:property [ ex:path ex:p ; ex:min 1 ], [ ex:path ex:q ] .\n"
        "[] ex:orphan 1 .\n",
        encoding="utf-8",
    )
    (tmp_path / "b.ttl").write_text(
        head + "[] ex:orphan 2 .\n"
        "ex:shape ex:property [ ex:path ex:q ] , [ ex:min 2 ; ex:path ex:p ] .\n",
        encoding="utf-8",
    )
    result = diff_sides(side(tmp_path / "a.ttl"), side(tmp_path / "b.ttl"))
    by_subject = {s.subject: s for s in result.subjects}
    assert by_subject["http://example.org/shape"].changes == (
        ValueChange(
            "<http://example.org/property>",
            ("[ <http://example.org/min> 1 ; <http://example.org/path> <http://example.org/p> ]",),
            ("[ <http://example.org/min> 2 ; <http://example.org/path> <http://example.org/p> ]",),
        ),
    )
    assert by_subject[BLANK_NODES].changes == (
        ValueChange(
            "", ("[ <http://example.org/orphan> 1 ]",), ("[ <http://example.org/orphan> 2 ]",)
        ),
    )


# ---------------------------------------------------------------------- git revisions


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True, capture_output=True,
    )  # fmt: skip


@pytest.fixture
def repo(project: Path) -> Path:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "first")
    edit(project, 'ckg:value "85"^^xsd:decimal', 'ckg:value "86"^^xsd:decimal')
    git(project, "commit", "-q", "-am", "second")
    return project


def test_git_revisions_are_read_without_touching_the_work_tree(repo: Path) -> None:
    edit(repo, "ckg:qualifier qualifier:almost ;\n", "", path=STAT_FILE)  # uncommitted
    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip

    def between(a: str, b: str) -> GraphDiff:
        old, new = load_side(a, repo), load_side(b, repo)
        assert not old.diagnostics
        assert not new.diagnostics
        return diff_sides(old.side, new.side)

    [commit] = between("HEAD~1", "main").subjects
    assert commit.changes == (
        ValueChange("ckg:value", ('"85"^^xsd:decimal',), ('"86"^^xsd:decimal',)),
    )
    assert commit.location == STAT_LOCATION
    [work] = between("HEAD", str(repo)).subjects
    assert [c.predicate for c in work.changes] == ["ckg:qualifier"]
    assert between("HEAD", "main").empty
    after = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert after == status


def test_neither_a_path_nor_a_revision_is_refused(repo: Path) -> None:
    with pytest.raises(SideError, match="no such file or folder, and not a git revision"):
        load_side("no-such-branch", repo)
    with pytest.raises(SideError):
        load_side("--output=x", repo)


def test_a_revision_without_shapes_loads_what_it_has(tmp_path: Path) -> None:
    shutil.copytree(REPO / "kg", tmp_path / "kg")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "kg only")
    loaded = load_side("HEAD", tmp_path)
    assert not loaded.diagnostics
    assert diff_sides(loaded.side, side(tmp_path)).empty


# ---------------------------------------------------------------------- the file that was edited

PREFIXES = (
    "@prefix ckg: <https://clinic-kg.example/ontology#> .\n"
    "@prefix kg: <https://clinic-kg.example/id/> .\n"
    "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
)


def two_files(root: Path, code: str) -> None:
    """A condition in one file and its codes in another, as kg/ keeps them."""
    (root / "kg" / "conditions").mkdir(parents=True, exist_ok=True)
    (root / "kg" / "mappings").mkdir(parents=True, exist_ok=True)
    (root / "kg" / "conditions" / "thing.ttl").write_text(
        PREFIXES + 'kg:thing a ckg:Condition ;\n    skos:prefLabel "Thing"@en .\n',
        encoding="utf-8",
    )
    (root / "kg" / "mappings" / "codes.ttl").write_text(
        PREFIXES + "\nkg:other a ckg:Symptom .\n\n" + f"kg:thing ckg:code kg:{code} .\n",
        encoding="utf-8",
    )


def test_a_change_names_the_file_it_was_made_in(tmp_path: Path) -> None:
    # Regression (issue 9): diff named the subject's other file, not the one edited.
    before, codes, label = tmp_path / "before", tmp_path / "codes", tmp_path / "label"
    two_files(before, "code-a")
    two_files(codes, "code-b")
    [changed] = diff_sides(side(before), side(codes)).subjects
    assert changed.name == "kg:thing"
    assert changed.changes == (ValueChange("ckg:code", ("kg:code-a",), ("kg:code-b",)),)
    assert changed.location == "kg/mappings/codes.ttl:7"
    # A change in the file where the subject starts still names that file.
    two_files(label, "code-a")
    edit(label, '"Thing"@en', '"Thing two"@en', path=Path("kg/conditions/thing.ttl"))
    [relabelled] = diff_sides(side(before), side(label)).subjects
    assert [c.predicate for c in relabelled.changes] == ["skos:prefLabel"]
    assert relabelled.location == "kg/conditions/thing.ttl:4"


def test_diff_names_the_mapping_file_of_a_condition(project: Path, tmp_path: Path) -> None:
    # The seed's condition is typed in one file and given its codes in another; wherever those
    # files are, a change to a code is reported in the file that holds the codes.
    condition, _ = described_in(project, "failed-back-surgery-syndrome")
    before = tmp_path / "before"
    for name in ("ontology", "shapes", "kg"):
        shutil.copytree(project / name, before / name)
    codes = next(
        p
        for p in sorted((project / "kg").rglob("*.ttl"))
        if p.relative_to(project) != condition
        and "kg:failed-back-surgery-syndrome ckg:code" in p.read_text(encoding="utf-8")
    )
    edit(
        project,
        "kg:failed-back-surgery-syndrome ckg:code ",
        "kg:failed-back-surgery-syndrome ckg:code kg:code-atc-n02be01, ",
        path=codes.relative_to(project),
    )
    [changed] = diff_sides(side(before), side(project)).subjects
    assert changed.name == "kg:failed-back-surgery-syndrome"
    assert [c.predicate for c in changed.changes] == ["ckg:code"]
    assert changed.location.startswith(f"{codes.relative_to(project)}:")
    done = subprocess.run(
        [sys.executable, "-m", "server", "diff", str(before), str(project), "--format", "json"],
        cwd=project, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [reported] = json.loads(done.stdout)["subjects"]
    assert reported["location"] == changed.location
