"""Unlucky files under a project (issue 11, items 6, 8 and 10): a symlink loop, a symlink out of
the project, a folder named like a Turtle file, a BOM, relative IRIs, hard links and a file that
ends inside a statement. Each is a coded diagnostic with its path, never an internal error, and
fmt never writes through or around it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from server.diagnostics import Diagnostic
from server.load.loader import load_file
from server.settings import Settings

PREFIXES = (
    "@prefix ckg: <https://clinic-kg.example/ontology#> .\n"
    "@prefix kg: <https://clinic-kg.example/id/> .\n"
    "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
)
# A fictional entity written out of canonical form: fmt would rewrite it.
UNCANONICAL = PREFIXES + 'kg:example-thing skos:prefLabel "Example"@en ; a ckg:Symptom .\n'


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args], cwd=cwd, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def _loop(project: Path, tmp: Path) -> str:
    (project / "kg" / "loop.ttl").symlink_to("loop.ttl")
    return "kg/loop.ttl"


def _out_of_project(project: Path, tmp: Path) -> str:
    outside = tmp / "elsewhere.ttl"
    outside.write_text(UNCANONICAL, encoding="utf-8")
    (project / "kg" / "elsewhere.ttl").symlink_to(outside)
    return "kg/elsewhere.ttl"


def _folder(project: Path, tmp: Path) -> str:
    (project / "kg" / "folder.ttl").mkdir()
    return "kg/folder.ttl"


HOSTILE: dict[str, tuple[Callable[[Path, Path], str], str]] = {
    "symlink-loop": (_loop, "KG-SYMLINK"),
    "symlink-out-of-project": (_out_of_project, "KG-SYMLINK"),
    "folder-named-ttl": (_folder, "KG-NOT-A-FILE"),
}


@pytest.mark.parametrize("command", ["validate", "fmt"])
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_entries_are_coded_diagnostics_not_internal_errors(
    project: Path, tmp_path_factory: pytest.TempPathFactory, case: str, command: str
) -> None:
    make, code = HOSTILE[case]
    outside = tmp_path_factory.mktemp("outside")
    shown = make(project, outside)
    before = {p: p.read_bytes() for p in outside.iterdir()}
    done = run(command, cwd=project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "internal error" not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    found = [n for n, line in enumerate(lines) if line.startswith(f"{shown}: error {code} ")]
    assert found, done.stdout
    assert lines[found[0] + 1].strip().startswith("hint: "), done.stdout
    # Only the hostile entry is reported: the rest of the project still loads and validates.
    assert sum(" error " in line for line in lines) == 1, done.stdout
    assert {p: p.read_bytes() for p in outside.iterdir()} == before  # fmt wrote nothing there


def test_a_bom_is_an_encoding_error_that_fmt_leaves_alone(project: Path) -> None:
    path = project / "kg" / "bom.ttl"
    path.write_bytes(b"\xef\xbb\xbf" + UNCANONICAL.encode())
    for command in ("validate", "fmt"):
        done = run(command, cwd=project)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "kg/bom.ttl:1: error KG-ENCODING" in done.stdout, done.stdout
        assert "without BOM" in done.stdout
        assert "\ufeff" not in done.stdout  # the invisible character is named, not printed
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_fmt_refuses_relative_iris_instead_of_writing_the_machines_path(project: Path) -> None:
    path = project / "kg" / "relative.ttl"
    text = UNCANONICAL + "kg:example-thing skos:related\n  <other-thing> .\n"
    path.write_text(text, encoding="utf-8")
    done = run("fmt", "kg/relative.ttl", cwd=project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "kg/relative.ttl:6: error KG-FMT-RELATIVE-IRI" in done.stdout, done.stdout
    assert "hint: " in done.stdout
    assert path.read_text(encoding="utf-8") == text  # no file:/// IRI written


def test_fmt_keeps_relative_iris_under_a_declared_base(project: Path) -> None:
    path = project / "kg" / "based.ttl"
    path.write_text("@base <https://clinic-kg.example/id/> .\n" + UNCANONICAL.replace(
        "kg:example-thing skos", "<example-thing> skos"
    ), encoding="utf-8")  # fmt: skip
    done = run("fmt", "kg/based.ttl", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "file:" not in path.read_text(encoding="utf-8")


def test_fmt_refuses_to_split_hard_links(project: Path) -> None:
    path = project / "kg" / "linked.ttl"
    path.write_text(UNCANONICAL, encoding="utf-8")
    other = project / "linked-copy.ttl"
    os.link(path, other)
    done = run("fmt", "kg/linked.ttl", cwd=project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "kg/linked.ttl: error KG-FMT-HARDLINK" in done.stdout, done.stdout
    assert "0 reformatted, 0 unchanged, 1 could not be formatted" in done.stdout
    assert path.stat().st_ino == other.stat().st_ino  # still one file with two names
    assert path.read_text(encoding="utf-8") == UNCANONICAL


def test_fmt_still_formats_a_file_with_one_name(project: Path) -> None:
    path = project / "kg" / "single.ttl"
    path.write_text(UNCANONICAL, encoding="utf-8")
    done = run("fmt", "kg/single.ttl", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert path.read_text(encoding="utf-8") != UNCANONICAL


@pytest.mark.parametrize(
    ("ending", "start"),
    [
        ('kg:b skos:prefLabel "B"@en ;\n  skos:altLabel "C"@en\n', 7),
        ('kg:b skos:prefLabel "B"@en ;\n  skos:related [\n    skos:prefLabel "C"@en ]\n\n', 7),
        ('kg:b skos:prefLabel "B"@en ;', 7),
    ],
)
def test_a_file_ending_inside_a_statement_names_the_statements_line(
    tmp_path: Path, ending: str, start: int
) -> None:
    path = tmp_path / "unfinished.ttl"
    path.write_text(PREFIXES + '\nkg:a skos:prefLabel "A"@en .\n\n' + ending, encoding="utf-8")
    found = load_file(path, "unfinished.ttl", "kg", Settings())
    assert isinstance(found, Diagnostic)
    assert (found.code, found.line) == ("KG-PARSE", start)
    assert re.search(r"final ' \.' is missing", found.message), found.message
