"""Hypothesis strategies for small, awkward RDF graphs, and a way to load them like a real file."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

from server.load.loader import SourceFile, load_file
from server.settings import Settings

NAMESPACES = (
    "https://clinic-kg.example/id/",
    "https://clinic-kg.example/ontology#",
    "http://www.w3.org/2004/02/skos/core#",
    "http://example.org/other/",
    "urn:x-test:",
)
# Local parts that are prefixed names, and some that must stay <full IRIs>.
LOCALS = st.one_of(
    st.sampled_from(["a", "b", "back-pain", "x_1", "A.b", "9lives", "value", "prefLabel"]),
    st.sampled_from(["", "ends.", "a/b", "é", "-lead", "q?x=1", "%41"]),
    st.text(alphabet="abcz019-_.", min_size=1, max_size=6),
)
IRIS = st.builds(lambda ns, local: URIRef(ns + local), st.sampled_from(NAMESPACES), LOCALS)
PREDICATES = st.one_of(
    st.sampled_from([RDF.type, RDF.value, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")]),
    IRIS,
)
TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]),  # lone surrogates are not UTF-8
    max_size=40,
) | st.sampled_from(['"', '""', '"""', 'end"', "\\", "a\nb", '\n"\n', "\r\n", "\t", "é✓ 漢字 🙂"])
LANGS = st.sampled_from(["en", "de", "en-gb", "fr-ca", "zh-hant"])
DATATYPED = st.one_of(
    st.builds(
        lambda d: Literal(str(d), datatype=XSD.decimal),
        st.decimals(allow_nan=False, allow_infinity=False, places=3),
    ),
    st.builds(lambda i: Literal(str(i), datatype=XSD.integer), st.integers()),
    st.builds(lambda b: Literal(b, datatype=XSD.boolean), st.sampled_from(["true", "false"])),
    st.builds(lambda t: Literal(t, datatype=URIRef("http://example.org/dt")), TEXT),
)
LITERALS = st.one_of(
    st.builds(Literal, TEXT),
    st.builds(lambda t, lang: Literal(t, lang=lang), TEXT, LANGS),
    DATATYPED,
)


@st.composite
def graphs(draw: st.DrawFn, max_triples: int = 14) -> Graph:
    """A graph of named and blank subjects: nested, shared and cyclic blank nodes, and lists."""
    blanks = [BNode() for _ in range(draw(st.integers(0, 5)))]
    subjects: st.SearchStrategy[Node] = IRIS | st.sampled_from(blanks) if blanks else IRIS
    objects: st.SearchStrategy[Node] = IRIS | LITERALS
    if blanks:
        objects = objects | st.sampled_from(blanks)
    graph = Graph()
    for _ in range(draw(st.integers(1, max_triples))):
        graph.add((draw(subjects), draw(PREDICATES), draw(objects)))
    for _ in range(draw(st.integers(0, 2))):
        items = draw(st.lists(IRIS | LITERALS, max_size=4))
        head: Node = RDF.nil
        for item in reversed(items):
            cell = BNode()
            graph.add((cell, RDF.first, item))
            graph.add((cell, RDF.rest, head))
            head = cell
        graph.add((draw(IRIS), draw(PREDICATES), head))
    return graph


def load_graph(graph: Graph, path: Path) -> SourceFile:
    """Write the graph as N-Triples (valid Turtle) and load it as the loader loads any file."""
    path.write_text(graph.serialize(format="nt"), encoding="utf-8")
    loaded = load_file(path, path.name, "kg", Settings())
    assert isinstance(loaded, SourceFile), loaded
    return loaded
