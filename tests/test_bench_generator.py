"""The benchmark generator's graphs conform to the real shapes, so benchmarks measure valid data."""

from __future__ import annotations

from pathlib import Path

from server.validate.validation import validate_project
from tests.benchmarks.generate import count_triples, edit_one_file, generate


def test_generated_graph_conforms(tmp_path: Path) -> None:
    made = generate(tmp_path / "project", 3_000)
    assert made.copies >= 1
    assert count_triples(made.root) == made.triples
    outcome = validate_project(made.root)
    assert outcome.conforms, [str(d) for d in outcome.report.diagnostics]
    assert not outcome.report.diagnostics


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", 3_000)
    second = generate(tmp_path / "b", 3_000)
    names = sorted(p.relative_to(first.root) for p in first.root.rglob("*.ttl"))
    assert names == sorted(p.relative_to(second.root) for p in second.root.rglob("*.ttl"))
    for name in names:
        assert (first.root / name).read_bytes() == (second.root / name).read_bytes()


def test_one_file_edit_keeps_the_graph_valid(tmp_path: Path) -> None:
    made = generate(tmp_path / "project", 3_000)
    edited = edit_one_file(made.root)
    assert "(edited)" in edited.read_text(encoding="utf-8")
    assert validate_project(made.root).conforms
