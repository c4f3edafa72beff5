"""Export: every format parses back to the same triples, deterministically."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, RDFS, SKOS

from server.content.export import (
    FORMATS,
    Format,
    context_document,
    export_graph,
    export_graph_triples,
    jsonld_context,
    new_graph,
    serialize,
)
from server.load.loader import LoadResult, load
from server.rdf.namespaces import CKG, KG, PREFIXES

from .conftest import REPO

# rdflib's XSD namespace warns when pytest inspects module attributes; use the IRI.
DECIMAL = URIRef("http://www.w3.org/2001/XMLSchema#decimal")
RDFLIB_FORMAT = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld"}


@pytest.fixture(scope="module")
def loaded() -> LoadResult:
    result = load(REPO)
    assert result.ok, [d.render() for d in result.diagnostics]
    return result


def parse(text: str, fmt: Format) -> Graph:
    return Graph().parse(data=text, format=RDFLIB_FORMAT[fmt])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("include_ontology", [True, False])
def test_round_trip(loaded: LoadResult, fmt: Format, include_ontology: bool) -> None:
    expected = export_graph_triples(loaded, include_ontology=include_ontology)
    assert len(expected) == len(loaded.data) + (len(loaded.ontology) if include_ontology else 0)
    back = parse(export_graph(loaded, fmt, include_ontology=include_ontology), fmt)
    assert len(back) == len(expected)
    assert isomorphic(back, expected)


def test_shapes_are_not_exported(loaded: LoadResult) -> None:
    graph = export_graph_triples(loaded)
    assert not set(graph) & set(loaded.shapes)


@pytest.mark.parametrize("fmt", FORMATS)
def test_byte_identical_whatever_the_hash_seed(fmt: str) -> None:
    script = (
        "import sys; from server.content.export import export_graph; "
        "from server.load.loader import load;"
        f"sys.stdout.write(export_graph(load(__import__('pathlib').Path('.')), {fmt!r}))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


def test_ntriples_lines_are_sorted(loaded: LoadResult) -> None:
    lines = export_graph(loaded, "ntriples").splitlines()
    assert lines == sorted(lines)
    assert len(lines) == len(set(lines))


def test_literals_keep_their_lexical_form(loaded: LoadResult) -> None:
    # rdflib would write "85"^^xsd:decimal as `85.0`: the same number, not the same literal.
    text = export_graph(loaded, "turtle")
    assert 'ckg:value "85"^^xsd:decimal' in text
    back = parse(text, "turtle")
    value = Literal("85", datatype=DECIMAL)
    assert (KG["back-pain-lifetime-prevalence"], CKG.value, value) in back


def test_jsonld_is_readable_with_the_context(loaded: LoadResult) -> None:
    document = json.loads(export_graph(loaded, "jsonld"))
    assert document["@context"] == jsonld_context()
    by_id = {node["@id"]: node for node in document["@graph"]}
    fbss = by_id["kg:failed-back-surgery-syndrome"]
    assert fbss["@type"] == "ckg:Condition"
    assert fbss["prefLabel"] == {"en": "Failed back surgery syndrome"}
    assert "kg:stabbing-pain" in fbss["hasSymptom"]
    fact = by_id["kg:back-pain-lifetime-prevalence"]
    assert fact["value"] == "85"
    assert fact["population"] == {"en": "adults"}
    code = by_id["kg:code-icd-10-cm-m96-1"]
    assert code["codeValue"] == "M96.1"
    assert code["wasAttributedTo"] == "kg:curator"


def test_context_declares_every_project_prefix() -> None:
    context = jsonld_context()
    for prefix, namespace in PREFIXES.items():
        assert context[prefix] == namespace


def test_context_names_every_ontology_property(loaded: LoadResult) -> None:
    """A new ckg: property needs a term (or a deliberate CURIE) so the JSON stays readable."""
    named = {term["@id"] if isinstance(term, dict) else term for term in jsonld_context().values()}
    # These four share their name with a project prefix (measure:, unit:, qualifier:,
    # category:), and a JSON-LD term cannot be both: they stay CURIEs such as "ckg:measure".
    curies = {"ckg:measure", "ckg:unit", "ckg:qualifier", "ckg:category"}
    missing = []
    for prop in loaded.ontology.subjects(RDFS.label, None):
        text = str(prop)
        if text.startswith(str(CKG)) and text[len(CKG) :][:1].islower():
            name = "ckg:" + text[len(CKG) :]
            if name not in named and name not in curies:
                missing.append(name)
    assert missing == []


def test_context_file_is_valid_json() -> None:
    assert set(json.loads(context_document())) == {"@context"}


def test_blank_nodes_and_lists_round_trip() -> None:
    """The data has no blank nodes today; the stewards may add some (or an RDF list)."""
    graph = new_graph()
    node, items = BNode("b1"), [Literal("a"), Literal("b")]
    graph.add((KG.x, CKG.population, node))
    graph.add((node, SKOS.prefLabel, Literal("inner", lang="en")))
    head = BNode("l0")
    graph.add((KG.x, RDFS.seeAlso, head))
    graph.add((head, RDF.first, items[0]))
    graph.add((head, RDF.rest, BNode("l1")))
    graph.add((BNode("l1"), RDF.first, items[1]))
    graph.add((BNode("l1"), RDF.rest, RDF.nil))
    graph.add((KG.x, CKG.value, Literal("1.50", datatype=DECIMAL)))
    graph.add((KG.x, CKG.requiresEvidence, Literal(True)))
    graph.add((KG.x, CKG.code, URIRef("https://example.org/other")))
    for fmt in FORMATS:
        back = parse(serialize(graph, fmt), fmt)
        assert isomorphic(back, graph), fmt


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown export format"):
        serialize(new_graph(), "rdfxml")  # type: ignore[arg-type]


def test_single_node_graph_keeps_the_graph_shape() -> None:
    graph = new_graph()
    graph.add((KG.x, SKOS.prefLabel, Literal("x", lang="en")))
    document = json.loads(serialize(graph, "jsonld"))
    assert [node["@id"] for node in document["@graph"]] == ["kg:x"]
