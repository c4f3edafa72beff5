"""The HTML page of an entity: readable, linked, and safe whatever the data says."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, SKOS

from server.entity_page import MAX_DIAGRAM_NODES, render_error_html, render_html
from server.export import new_graph
from server.namespaces import CKG, KG

NS = str(KG)
NASTY = "<script>alert(\"x\")</script> & 'quotes'"


class _Collector(HTMLParser):
    """Every start tag and text node, to check structure without a browser."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    return collector


def small_graph(label: str = "Sample condition") -> Graph:
    graph = new_graph()
    x, symptom = KG.x, KG["a-symptom"]
    graph.add((x, RDF.type, CKG.Condition))
    graph.add((x, SKOS.prefLabel, Literal(label, lang="en")))
    graph.add((x, SKOS.definition, Literal("What it is.", lang="en")))
    graph.add((x, SKOS.altLabel, Literal("Other name", lang="en")))
    graph.add((x, CKG.hasSymptom, symptom))
    graph.add((symptom, SKOS.prefLabel, Literal("A symptom", lang="en")))
    graph.add((x, PROV.wasDerivedFrom, KG.page))
    graph.add((KG.page, SKOS.prefLabel, Literal("The page", lang="en")))
    return graph


def test_sections_and_links() -> None:
    page = render_html(small_graph(), KG.x, id_namespace=NS, version="v9")
    assert page.startswith("<!DOCTYPE html>")
    parsed = parse(page)
    text = " ".join(parsed.text)
    for expected in ("Sample condition", "What it is.", "Other name", "A symptom", "The page"):
        assert expected in text
    hrefs = {attrs.get("href") for tag, attrs in parsed.tags if tag == "a"}
    assert {"/id/a-symptom", "/id/page"} <= hrefs
    assert "v9" in text


def test_custom_id_path() -> None:
    page = render_html(small_graph(), KG.x, id_namespace=NS, id_path="/kg/id/")
    assert 'href="/kg/id/a-symptom"' in page


def test_everything_from_the_graph_is_escaped() -> None:
    graph = small_graph(NASTY)
    graph.add((KG.x, SKOS.altLabel, Literal(NASTY, lang="en")))
    graph.add((KG.x, CKG.quote, Literal(NASTY)))
    odd = URIRef(NS + 'odd"><script>')
    graph.add((KG.x, CKG.hasCause, odd))
    page = render_html(graph, KG.x, id_namespace=NS)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    # Attributes stay well-formed: nothing breaks out of its quotes into a tag of its own.
    parsed = parse(page)
    assert "script" not in {tag for tag, _ in parsed.tags}
    assert any(NASTY in (value or "") for _, attrs in parsed.tags for value in attrs.values())


def test_no_external_resources_or_scripts() -> None:
    page = render_html(small_graph(), KG.x, id_namespace=NS)
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_entities_outside_the_base_are_not_links() -> None:
    graph = small_graph()
    graph.add((KG.x, CKG.hasCause, URIRef("https://elsewhere.example/thing")))
    page = render_html(graph, KG.x, id_namespace=NS)
    assert 'href="https://elsewhere.example' not in page
    assert 'title="https://elsewhere.example/thing"' in page


def test_diagram_is_bounded() -> None:
    graph = small_graph()
    for k in range(MAX_DIAGRAM_NODES + 5):
        graph.add((KG.x, CKG.possibleTreatment, KG[f"t{k}"]))
    page = render_html(graph, KG.x, id_namespace=NS)
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert svg.count("<circle") == MAX_DIAGRAM_NODES
    assert "and 6 more" in svg


def test_entity_without_links_has_no_diagram() -> None:
    graph = new_graph()
    graph.add((KG.x, SKOS.prefLabel, Literal("Alone", lang="en")))
    page = render_html(graph, KG.x, id_namespace=NS)
    assert "<svg" not in page
    assert "<h1>Alone</h1>" in page


def test_error_page_escapes() -> None:
    page = render_error_html(404, "Not found", NASTY)
    assert "<script>" not in page
    assert "404 Not found" in page
