from __future__ import annotations

from pathlib import Path

import pytest

from server.diagnostics import Diagnostic, Severity
from server.load.loader import load, load_file
from server.settings import Settings

from .conftest import REPO

PREFIXES = "@prefix kg: <https://clinic-kg.example/id/> .\n"


def _load_text(tmp_path: Path, content: bytes, settings: Settings | None = None) -> Diagnostic:
    path = tmp_path / "x.ttl"
    path.write_bytes(content)
    result = load_file(path, "x.ttl", "kg", settings or Settings())
    assert isinstance(result, Diagnostic), "expected the file to be rejected"
    assert result.severity is Severity.ERROR
    assert result.path == "x.ttl"
    return result


def test_real_project_loads_without_diagnostics() -> None:
    loaded = load(REPO)
    assert loaded.ok, [d.render() for d in loaded.diagnostics]
    assert {f.kind for f in loaded.files} == {"ontology", "shapes", "kg"}
    assert len(loaded.data) > 500


def test_version_is_a_content_hash(project: Path) -> None:
    first = load(project).version
    assert load(project).version == first
    target = project / "kg" / "symptoms.ttl"
    target.write_text(target.read_text() + "\n# a new comment changes the bytes\n")
    assert load(project).version != first


def test_subject_lines_point_at_statement_starts() -> None:
    loaded = load(REPO)
    symptoms = next(f for f in loaded.files if f.path == "kg/symptoms.ttl")
    lines = (REPO / "kg/symptoms.ttl").read_text().splitlines()
    for iri, line in symptoms.subject_lines.items():
        assert lines[line - 1].startswith("kg:" + iri.rsplit("/", 1)[1])


@pytest.mark.parametrize(
    ("content", "code", "line"),
    [
        (PREFIXES + "kg:a kg:b kg:c ;\n  kg:d .\n", "KG-PARSE", 3),
        (PREFIXES + "kg:a ckg:b kg:c .\n", "KG-PREFIX", 2),
        (PREFIXES + "kg:a kg:b <http://x/a b> .\n", "KG-IRI", 2),
        (PREFIXES + 'kg:a kg:b "never closed .\n', "KG-PARSE", 2),
        (b"", "KG-EMPTY", 1),
        (PREFIXES + "# only a comment\n", "KG-EMPTY", 1),
        (PREFIXES + '\nkg:a kg:b "caf\xe9" .\n', "KG-ENCODING", 3),
    ],
    ids=[
        "syntax",
        "unknown-prefix",
        "space-in-iri",
        "open-string",
        "empty",
        "no-triples",
        "latin1",
    ],
)
def test_bad_files_are_rejected_with_code_and_line(
    tmp_path: Path, content: str | bytes, code: str, line: int
) -> None:
    raw = (
        content.encode("latin-1") if isinstance(content, str) and code == "KG-ENCODING" else content
    )
    raw = raw.encode() if isinstance(raw, str) else raw
    found = _load_text(tmp_path, raw)
    assert (found.code, found.line) == (code, line), found.render()
    assert found.hint


@pytest.mark.parametrize(
    ("opened", "what", "close"),
    [
        ('"never closed .', "the string", 'close it with " on the same line'),
        ("'never closed .", "the string", "close it with ' on the same line"),
        ('"""never closed .', "the long string", 'close it with """'),
        ('"é" , "never closed .', "the string", 'close it with " on the same line'),
        ("<https://clinic-kg.example/never-closed .", "the IRI", "close it with '>'"),
    ],
    ids=["double-quote", "single-quote", "long-string", "after-non-ascii", "iri"],
)
def test_a_token_open_to_the_end_of_the_file_is_named_where_it_opens(
    tmp_path: Path, opened: str, what: str, close: str
) -> None:
    """The parser says "Unexpected end of file"; the steward needs what was left open, and
    where."""
    found = _load_text(tmp_path, (PREFIXES + "\nkg:a kg:b " + opened + "\n").encode())
    assert (found.code, found.line) == ("KG-PARSE", 3), found.render()
    assert f"{what} that starts on this line is never closed" in found.message
    assert close in found.hint


def test_a_string_left_open_at_the_end_of_its_line_is_named(tmp_path: Path) -> None:
    body = 'kg:a kg:b "no closing quote@en ;\n    kg:c "closed"@en .\n'
    found = _load_text(tmp_path, (PREFIXES + body).encode())
    assert (found.code, found.line) == ("KG-PARSE", 2), found.render()
    assert "a string on this line is not closed before the line ends" in found.message
    assert '"""' in found.hint


def test_unknown_prefix_hint_names_the_project_namespace(tmp_path: Path) -> None:
    found = _load_text(tmp_path, (PREFIXES + "kg:a ckg:b kg:c .\n").encode())
    assert "@prefix ckg: <https://clinic-kg.example/ontology#> ." in found.hint


def test_deeply_nested_blank_nodes_are_refused_before_parsing(tmp_path: Path) -> None:
    body = "kg:a kg:b " + "[ kg:p " * 10_000 + "kg:o" + " ]" * 10_000 + " .\n"
    found = _load_text(tmp_path, (PREFIXES + body).encode())
    assert (found.code, found.line) == ("KG-DEPTH", 2)


def test_huge_literal_is_refused(tmp_path: Path) -> None:
    body = 'kg:a kg:b "' + "x" * 50_000_000 + '" .\n'
    found = _load_text(tmp_path, (PREFIXES + body).encode())
    assert (found.code, found.line) == ("KG-LITERAL-SIZE", 2)
    assert "50,000,000 bytes" in found.message


def test_file_size_limit_is_a_setting(tmp_path: Path) -> None:
    found = _load_text(
        tmp_path, (PREFIXES + "kg:a kg:b kg:c .\n").encode(), Settings(max_file_bytes=10)
    )
    assert found.code == "KG-FILE-SIZE"


def test_a_broken_file_does_not_hide_the_good_ones(project: Path) -> None:
    (project / "kg" / "broken.ttl").write_text(PREFIXES + "kg:a kg:b .\n")
    loaded = load(project)
    assert not loaded.ok
    assert [d.path for d in loaded.diagnostics] == ["kg/broken.ttl"]
    assert "kg/symptoms.ttl" in loaded.paths()


def test_blank_nodes_of_different_files_never_merge(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.ttl").write_text(PREFIXES + "_:x kg:p kg:o .\n")
    loaded = load(tmp_path, [tmp_path / "a.ttl", tmp_path / "b.ttl"])
    assert len({s for s, _, _ in loaded.data}) == 2


def test_configured_base_moves_entity_iris(project: Path) -> None:
    default = load(project)
    moved = load(project, settings=Settings(base_iri="https://kg.clinic.test/"))
    subjects = {str(s) for f in moved.files for s, _, _ in f.triples}
    assert "https://kg.clinic.test/id/acetaminophen" in subjects
    assert not any(s.startswith("https://clinic-kg.example/id/") for s in subjects)
    assert moved.id_namespace == "https://kg.clinic.test/id/"
    assert moved.version != default.version
    # vocabulary IRIs are not entity IRIs and stay where they are
    assert "https://clinic-kg.example/ontology#Condition" in {
        str(o) for f in moved.files for _, _, o in f.triples
    }


def test_validation_under_a_configured_base(project: Path) -> None:
    from server.validate.validation import validate_project

    outcome = validate_project(project, (), Settings(base_iri="https://kg.clinic.test"))
    assert outcome.conforms, [d.render() for d in outcome.report.diagnostics]
