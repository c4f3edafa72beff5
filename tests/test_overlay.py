"""The overlay seam: validation reads an editor's unsaved text instead of the file on disk
(`load(..., overlay=)`, `validate_project(..., overlay=)`), and `LiveProject` groups what it finds
by file for `clinic-kg lsp`."""

from __future__ import annotations

from pathlib import Path

from server.load.loader import LoadCache, load
from server.lsp.project import LiveProject
from server.settings import Settings
from server.validate.validation import validate_project

from .kg_files import described_in
from .seed import FBSS


def _misspelt(project: Path) -> tuple[Path, str, int]:
    """The file describing FBSS, its text with ckg:hasSymptom misspelt, and the subject's line,
    two lines further down than on disk (two comment lines put above it)."""
    relative, line = described_in(project, FBSS)
    path = (project / relative).resolve()
    text = path.read_text(encoding="utf-8")
    statement = f"kg:{FBSS} a "
    text = text.replace(statement, f"# moved\n# down\n{statement}", 1)
    return path, text.replace("ckg:hasSymptom", "ckg:hasSymtom", 1), line + 2


def test_the_overlay_is_validated_not_the_disk(project: Path) -> None:
    path, text, line = _misspelt(project)
    on_disk = path.read_bytes()
    outcome = validate_project(project, (), Settings(), overlay={path: text})
    closed = [d for d in outcome.report.diagnostics if d.code == "KG-CLOSED"]
    assert closed
    assert {d.property for d in closed} == {"ckg:hasSymtom"}
    # Located in the overlay's text (the subject moved down two lines there), not the disk's.
    assert {(d.path, d.line) for d in closed} == {(str(path.relative_to(project)), line)}
    assert path.read_bytes() == on_disk
    assert validate_project(project, (), Settings()).conforms


def test_overlaid_files_bypass_the_load_cache(project: Path) -> None:
    path, text, _ = _misspelt(project)
    cache = LoadCache()
    clean = load(project, cache=cache)
    overlaid = load(project, cache=cache, overlay={path: text})
    assert overlaid.version != clean.version
    source = next(f for f in overlaid.files if f.location == path)
    assert source.read_text() == text
    # The cache still holds the disk's parse: the next run without the overlay is the clean one.
    again = load(project, cache=cache)
    assert again.version == clean.version
    assert next(f for f in again.files if f.location == path).text is None


def test_an_unsaved_new_file_is_part_of_the_project(project: Path) -> None:
    new = (project / "kg" / "draft.ttl").resolve()
    text = "@prefix ckg: <https://clinic-kg.example/ontology#> .\n"
    text += "@prefix kg: <https://clinic-kg.example/id/> .\n\nkg:draft a ckg:Symptm .\n"
    found = LiveProject(project, Settings()).validate({new: text})
    assert found.complete
    assert {d.code for d in found.by_file[new]} >= {"KG-UNKNOWN-CLASS"}
    assert not new.exists()


def test_a_file_that_does_not_parse_leaves_the_rest_unknown(project: Path) -> None:
    path, text, _ = _misspelt(project)
    live = LiveProject(project, Settings())
    found = live.validate({path: text + "\nkg:x kg:y"})
    assert not found.complete
    assert [d.code for d in found.by_file[path]] == ["KG-PARSE"]
    assert set(found.by_file) == {path}


def test_only_turtle_files_of_the_project_folders_are_overlaid(project: Path) -> None:
    live = LiveProject(project, Settings())
    assert live.holds(project / "kg" / "symptoms.ttl")
    assert live.holds(project / "ontology" / "new.ttl")
    assert not live.holds(project / "notes.ttl")
    assert not live.holds(project / "kg" / "sources" / "clinic-page.txt")
    assert not live.holds(project.parent / "kg" / "x.ttl")
    stray = project / "notes.ttl"
    found = live.validate({stray: "not turtle"})
    assert found.complete
    assert found.by_file == {}
