"""The canonical Turtle writer: same graph, same comments, same bytes every time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Graph
from rdflib.compare import isomorphic

from server.load.loader import SourceFile, load_file
from server.settings import Settings
from server.steward.formatting import FormatResult, files_to_format, format_file, write_formatted

from .conftest import REPO
from .rdf_strategies import graphs, load_graph

PROPERTY = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PREFIXES = (
    "@prefix ckg: <https://clinic-kg.example/ontology#> .\n"
    "@prefix kg: <https://clinic-kg.example/id/> .\n"
    "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
    "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
)


def fmt_text(tmp: Path, text: str, name: str = "x.ttl") -> FormatResult:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return format_file(path, tmp)


def graph_of(text: str, tmp: Path) -> Graph:
    path = tmp / "probe.ttl"
    path.write_text(text, encoding="utf-8")
    loaded = load_file(path, "probe.ttl", "kg", Settings())
    assert isinstance(loaded, SourceFile), loaded
    graph = Graph()
    for triple in loaded.triples:
        graph.add(triple)
    return graph


# ---------------------------------------------------------------------- properties


@PROPERTY
@given(graph=graphs())
def test_random_graphs_round_trip_and_are_idempotent(graph: Graph) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        source = load_graph(graph, tmp / "g.ttl")
        first = format_file(tmp / "g.ttl", tmp)
        assert first.formatted is not None, [d.render() for d in first.diagnostics]
        assert isomorphic(graph_of(first.formatted, tmp), _graph(source))
        second = fmt_text(tmp, first.formatted, "again.ttl")
        assert second.formatted == first.formatted
        assert not second.changed


@settings(max_examples=3, deadline=None)
@given(batch=st.lists(graphs(), min_size=15, max_size=15))
def test_same_bytes_whatever_the_hash_seed(batch: list[Graph]) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for i, graph in enumerate(batch):
            (tmp / f"g{i:02}.ttl").write_text(graph.serialize(format="nt"), encoding="utf-8")
        outputs = {_format_in_subprocess(tmp, seed) for seed in ("0", "1", "4242")}
        assert len(outputs) == 1


def test_real_files_same_bytes_whatever_the_hash_seed() -> None:
    assert _format_in_subprocess(REPO, "1") == _format_in_subprocess(REPO, "2")


def _format_in_subprocess(root: Path, seed: str) -> str:
    script = (
        "import json, sys\nfrom pathlib import Path\n"
        "from server.steward.formatting import files_to_format, format_file\n"
        "root = Path(sys.argv[1])\n"
        "paths = files_to_format(root, [root]) if not (root / 'kg').is_dir() "
        "else files_to_format(root)\n"
        "print(json.dumps({format_file(p, root).path: format_file(p, root).formatted "
        "for p in paths}, sort_keys=True))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run(
        [sys.executable, "-c", script, str(root)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(done.stdout), done.stderr
    return done.stdout


def _graph(source: SourceFile) -> Graph:
    graph = Graph()
    for triple in source.triples:
        graph.add(triple)
    return graph


# ---------------------------------------------------------------------- the project's files


@pytest.mark.parametrize("path", files_to_format(REPO), ids=lambda p: p.name)
def test_every_real_file_formats_isomorphic_with_its_comments(path: Path) -> None:
    result = format_file(path, REPO)
    assert result.formatted is not None, [d.render() for d in result.diagnostics]
    original = load_file(path, result.path, "kg", Settings())
    assert isinstance(original, SourceFile)
    with tempfile.TemporaryDirectory() as tmp:
        assert isomorphic(graph_of(result.formatted, Path(tmp)), _graph(original))
    kept = [c.text for c in original.comments]
    assert [line for line in result.formatted.splitlines() if line.startswith("#")] == kept


# ---------------------------------------------------------------------- layout


def test_statement_layout(tmp_path: Path) -> None:
    text = PREFIXES + (
        'kg:stat ckg:quote "She said \\"85%\\"" ; ckg:value "85"^^xsd:decimal ;\n'
        '  a ckg:Proportion ; skos:prefLabel "Prevalence"@en ;\n'
        "  <http://www.w3.org/ns/prov#wasDerivedFrom> kg:page ; ckg:about kg:b, kg:a .\n"
    )
    assert fmt_text(tmp_path, text).formatted == (
        "@prefix ckg: <https://clinic-kg.example/ontology#> .\n"
        "@prefix kg: <https://clinic-kg.example/id/> .\n"
        "@prefix prov: <http://www.w3.org/ns/prov#> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        "\n"
        "kg:stat a ckg:Proportion ;\n"
        '    skos:prefLabel "Prevalence"@en ;\n'
        "    ckg:about kg:a, kg:b ;\n"
        '    ckg:value "85"^^xsd:decimal ;\n'
        '    ckg:quote "She said \\"85%\\"" ;\n'
        "    prov:wasDerivedFrom kg:page .\n"
    )


def test_statements_keep_their_order_and_unused_prefixes_go(tmp_path: Path) -> None:
    text = PREFIXES + "kg:z a ckg:Thing .\nkg:a a ckg:Thing .\nkg:z skos:note 1 .\n"
    assert fmt_text(tmp_path, text).formatted == (
        "@prefix ckg: <https://clinic-kg.example/ontology#> .\n"
        "@prefix kg: <https://clinic-kg.example/id/> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "\n"
        "kg:z a ckg:Thing ;\n"
        "    skos:note 1 .\n"
        "\n"
        "kg:a a ckg:Thing .\n"
    )


def test_blank_nodes_inline_lists_and_wrapping(tmp_path: Path) -> None:
    many = ", ".join(f"kg:item-number-{i}" for i in range(8))
    text = PREFIXES + (
        "kg:s ckg:shape [ ckg:path kg:p ; ckg:min 1 ], [ ckg:path kg:q ] ;\n"
        f'  ckg:in ( kg:a "b" ) ; ckg:none () ; ckg:many {many} .\n'
    )
    assert fmt_text(tmp_path, text).formatted == PREFIXES.replace(
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n",
        "",
    ) + (
        "\n"
        'kg:s ckg:in ( kg:a "b" ) ;\n'
        "    ckg:many kg:item-number-0, kg:item-number-1, kg:item-number-2, kg:item-number-3,\n"
        "        kg:item-number-4, kg:item-number-5, kg:item-number-6, kg:item-number-7 ;\n"
        "    ckg:none () ;\n"
        "    ckg:shape [\n"
        "        ckg:min 1 ;\n"
        "        ckg:path kg:p\n"
        "    ], [ ckg:path kg:q ] .\n"
    )


def test_shared_blank_node_gets_a_label(tmp_path: Path) -> None:
    text = PREFIXES + 'kg:a ckg:p _:x .\nkg:b ckg:p _:x .\n_:x ckg:q "v" .\n'
    formatted = fmt_text(tmp_path, text).formatted
    assert formatted is not None
    assert formatted.endswith('kg:a ckg:p _:b1 .\n\nkg:b ckg:p _:b1 .\n\n_:b1 ckg:q "v" .\n')


def test_multiline_text_uses_a_long_string(tmp_path: Path) -> None:
    text = PREFIXES + 'kg:a ckg:note "line one\\nline \\"two\\"\\"" .\n'
    formatted = fmt_text(tmp_path, text).formatted
    assert formatted is not None
    assert 'ckg:note """line one\nline "two\\"\\"""" .' in formatted


# ---------------------------------------------------------------------- comments


def test_standalone_comments_stay_with_their_statement(tmp_path: Path) -> None:
    text = (
        "# file header, above the prefixes\n\n" + PREFIXES + "\n# about the file\n\n"
        "kg:b a ckg:Thing .\n\n# ---------------- section\n\n# note on a\nkg:a a ckg:Thing .\n"
        "# trailing note\n"
    )
    result = fmt_text(tmp_path, text)
    assert result.formatted == (
        "# file header, above the prefixes\n\n"
        "@prefix ckg: <https://clinic-kg.example/ontology#> .\n"
        "@prefix kg: <https://clinic-kg.example/id/> .\n\n"
        "# about the file\n\nkg:b a ckg:Thing .\n\n"
        "# ---------------- section\n\n# note on a\nkg:a a ckg:Thing .\n\n"
        "# trailing note\n"
    )


@pytest.mark.parametrize(
    ("body", "line", "where"),
    [
        ("kg:a a ckg:Thing . # why\n", 5, "at the end of a line"),
        ("kg:a a ckg:Thing ;\n    # why\n    skos:note 1 .\n", 6, "inside a statement"),
    ],
)
def test_comments_fmt_cannot_keep_are_refused(
    tmp_path: Path, body: str, line: int, where: str
) -> None:
    result = fmt_text(tmp_path, PREFIXES + body)
    assert result.formatted is None
    [problem] = result.diagnostics
    assert (problem.code, problem.line) == ("KG-FMT-COMMENT", line)
    assert where in problem.message
    assert 'skos:editorialNote "why"@en' in problem.hint


def test_unparsable_file_reports_the_loader_diagnostic(tmp_path: Path) -> None:
    result = fmt_text(tmp_path, PREFIXES + "kg:a a ckg:Thing\n")
    assert result.formatted is None
    assert [d.code for d in result.diagnostics] == ["KG-PARSE"]


# ---------------------------------------------------------------------- writing


def test_write_is_atomic_and_refuses_a_file_changed_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "x.ttl"
    path.write_text(PREFIXES + "kg:a   a ckg:Thing .\n", encoding="utf-8")
    result = format_file(path, tmp_path)
    path.write_text(PREFIXES + "kg:b a ckg:Thing .\n", encoding="utf-8")
    problem = write_formatted(result, path)
    assert problem is not None
    assert problem.code == "KG-FMT-CONFLICT"
    assert "kg:b" in path.read_text()
    result = format_file(path, tmp_path)
    assert write_formatted(result, path) is None
    assert path.read_text() == result.formatted
    assert [p.name for p in tmp_path.iterdir()] == ["x.ttl"]


def test_regression_dots_inside_a_name_do_not_end_a_statement(tmp_path: Path) -> None:
    """The scanner read `kg:a..z` as `kg:a` and a final dot, so statements moved on reformatting."""
    text = PREFIXES + "kg:b a ckg:Thing .\nkg:a..z a ckg:Thing .\nkg:0 a ckg:Thing .\n"
    result = fmt_text(tmp_path, text)
    assert result.formatted is not None, [d.render() for d in result.diagnostics]
    assert result.formatted.endswith(
        "kg:b a ckg:Thing .\n\nkg:a..z a ckg:Thing .\n\nkg:0 a ckg:Thing .\n"
    )
