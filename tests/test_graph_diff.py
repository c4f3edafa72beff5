"""The graph-diff core (server/diff/graph_diff.py) that `clinic-kg diff` and the change feed share,
and the per-version prints the feed keeps (server/store/history.py): describing a version file by
file, or only the files that changed, gives what describing it whole gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from server.diff import graph_diff
from server.diff.graph_diff import Described, compare, describe, diff_sides, merge
from server.load.loader import LoadCache, LoadResult, Triple, load
from server.settings import Settings
from server.steward import diffing
from server.steward.revisions import load_side
from server.store.history import VersionPrint

from .conftest import REPO
from .kg_files import described_in

STAT = "https://clinic-kg.example/id/back-pain-lifetime-prevalence"
STAT_FILE, _ = described_in(REPO, "back-pain-lifetime-prevalence")


def kg_files(loaded: LoadResult) -> list[tuple[Triple, ...]]:
    return [f.triples for f in loaded.files if f.kind == "kg"]


def everything(loaded: LoadResult) -> list[Triple]:
    return [t for triples in kg_files(loaded) for t in triples]


def print_of(loaded: LoadResult, previous: VersionPrint | None = None) -> VersionPrint:
    return VersionPrint.of(loaded.version, kg_files(loaded), (), (), (), previous)


def edit(root: Path, path: Path, old: str, new: str) -> None:
    target = root / path
    text = target.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    target.write_text(text.replace(old, new), encoding="utf-8")


def test_the_steward_tools_use_the_one_core() -> None:
    for name in ("BLANK_NODES", "GraphDiff", "Side", "SubjectDiff", "ValueChange", "diff_sides"):
        assert getattr(diffing, name) is getattr(graph_diff, name)


def test_compare_finds_what_diff_sides_finds(project: Path) -> None:
    before = load_side(str(project), project).side
    edit(project, STAT_FILE, '"85"^^xsd:decimal', '"86"^^xsd:decimal')
    edit(project, STAT_FILE, f"kg:{STAT.rsplit('/', 1)[1]} a", "kg:renamed-statistic a")
    after = load_side(str(project), project).side
    found = list(compare(describe(before.triples), describe(after.triples)))
    listed = diff_sides(before, after)
    assert {s: (status, changes) for s, status, changes in found} == {
        d.subject: (d.status, d.changes) for d in listed.subjects
    }
    assert {(s, status) for s, status, _ in found} == {
        (STAT, "removed"),
        ("https://clinic-kg.example/id/renamed-statistic", "added"),
    }


def test_a_version_described_file_by_file_is_the_version_described_whole() -> None:
    loaded = load(REPO, (), Settings())
    assert len(kg_files(loaded)) > 1
    assert merge(describe(f) for f in kg_files(loaded)) == describe(everything(loaded))


def test_described_values_are_sorted_tuples_and_shared_values_are_skipped() -> None:
    loaded = load(REPO, (), Settings())
    described = describe(everything(loaded))
    assert all(
        isinstance(v, tuple) and list(v) == sorted(set(v))
        for values in described.values.values()
        for v in values.values()
    )
    assert list(compare(described, described)) == []
    emptied = Described({s: {} for s in described.values}, {})
    assert {status for _, status, _ in compare(described, emptied)} == {"removed"}
    assert described.label(STAT) == "Lifetime prevalence of back pain in adults"


@pytest.mark.parametrize(
    "change",
    ["edit one file", "add a file", "remove a file", "undo", "touch every file"],
)
def test_a_print_after_a_change_is_what_describing_it_anew_gives(
    project: Path, change: str
) -> None:
    settings, cache = Settings(), LoadCache()
    first = load(project, (), settings, cache=cache)
    previous = print_of(first)
    extra = project / "kg" / "extra.ttl"
    if change == "edit one file":
        edit(project, STAT_FILE, '"85"^^xsd:decimal', '"86"^^xsd:decimal')
    elif change == "add a file":
        extra.write_text(
            "@prefix kg: <https://clinic-kg.example/id/> .\n"
            "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
            'kg:back-pain skos:altLabel "lumbago"@en .\n',
            encoding="utf-8",
        )
    elif change == "touch every file":  # each is parsed again: the print is merged anew
        for path in (project / "kg").rglob("*.ttl"):
            path.write_text(path.read_text(encoding="utf-8") + "# touched\n", encoding="utf-8")
        edit(project, STAT_FILE, '"85"^^xsd:decimal', '"86"^^xsd:decimal')
    elif change == "remove a file":
        victim = next(p for p in sorted((project / "kg").rglob("*.ttl")) if p != STAT_FILE)
        victim.unlink()
    else:
        edit(project, STAT_FILE, '"85"^^xsd:decimal', '"86"^^xsd:decimal')
        previous = print_of(load(project, (), settings, cache=cache), previous)
        edit(project, STAT_FILE, '"86"^^xsd:decimal', '"85"^^xsd:decimal')
    now = load(project, (), settings, cache=cache)
    printed = print_of(now, previous)
    assert printed.described == describe(everything(now))
    # The files that did not change were not described again, and what they say is shared.
    unchanged = set(previous.files) & set(printed.files)
    assert bool(unchanged) == (change != "touch every file")
    assert all(printed.files[k][1] is previous.files[k][1] for k in unchanged)
    shared = [s for s in printed.described.values if s != STAT and s in previous.described.values]
    assert sum(printed.described.values[s] is previous.described.values[s] for s in shared) > (
        len(shared) // 2
    )


def test_a_copy_of_the_project_is_described_like_the_project(tmp_path: Path) -> None:
    for name in ("ontology", "shapes", "kg"):
        shutil.copytree(REPO / name, tmp_path / name)
    ours, theirs = load(REPO, (), Settings()), load(tmp_path, (), Settings())
    assert list(compare(print_of(ours).described, print_of(theirs).described)) == []
