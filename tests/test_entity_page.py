"""The HTML page of an entity: readable, linked, and safe whatever the data says."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, SKOS

from server.content.entity_page import MAX_DIAGRAM_NODES, render_error_html, render_html
from server.content.export import new_graph
from server.model.description import Description, sorted_triples
from server.model.records import Concept, Entity, Fact, LangText, Source
from server.rdf.namespaces import CKG, KG
from server.store.dataset_graphs import triple_of

from .fake_store import FakeStore

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


def render(graph: Graph, iri: URIRef = KG.x, store: FakeStore | None = None, **options: str) -> str:
    """The page of `iri` from a graph, through the records a store hands out."""
    description = Description(str(iri), sorted_triples(triple_of(t) for t in graph))
    return render_html(description, store or FakeStore(), id_namespace=NS, **options)


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
    page = render(small_graph(), version="v9")
    assert page.startswith("<!DOCTYPE html>")
    parsed = parse(page)
    text = " ".join(parsed.text)
    for expected in ("Sample condition", "What it is.", "Other name", "A symptom", "The page"):
        assert expected in text
    hrefs = {attrs.get("href") for tag, attrs in parsed.tags if tag == "a"}
    assert {"/id/a-symptom", "/id/page"} <= hrefs
    assert "v9" in text


def test_custom_id_path() -> None:
    page = render(small_graph(), id_path="/kg/id/")
    assert 'href="/kg/id/a-symptom"' in page


def test_everything_from_the_graph_is_escaped() -> None:
    graph = small_graph(NASTY)
    graph.add((KG.x, SKOS.altLabel, Literal(NASTY, lang="en")))
    graph.add((KG.x, CKG.quote, Literal(NASTY)))
    odd = URIRef(NS + 'odd"><script>')
    graph.add((KG.x, CKG.hasCause, odd))
    page = render(graph)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    # Attributes stay well-formed: nothing breaks out of its quotes into a tag of its own.
    parsed = parse(page)
    assert "script" not in {tag for tag, _ in parsed.tags}
    assert any(NASTY in (value or "") for _, attrs in parsed.tags for value in attrs.values())


def test_no_external_resources_or_scripts() -> None:
    page = render(small_graph())
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_entities_outside_the_base_are_not_links() -> None:
    graph = small_graph()
    graph.add((KG.x, CKG.hasCause, URIRef("https://elsewhere.example/thing")))
    page = render(graph)
    assert 'href="https://elsewhere.example' not in page
    assert 'title="https://elsewhere.example/thing"' in page


def test_diagram_is_bounded() -> None:
    graph = small_graph()
    for k in range(MAX_DIAGRAM_NODES + 5):
        graph.add((KG.x, CKG.possibleTreatment, KG[f"t{k}"]))
    page = render(graph)
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert svg.count("<circle") == MAX_DIAGRAM_NODES
    assert "and 6 more" in svg


def test_entity_without_links_has_no_diagram() -> None:
    graph = new_graph()
    graph.add((KG.x, SKOS.prefLabel, Literal("Alone", lang="en")))
    page = render(graph)
    assert "<svg" not in page
    assert "<h1>Alone</h1>" in page


def test_error_page_escapes() -> None:
    page = render_error_html(404, "Not found", NASTY)
    assert "<script>" not in page
    assert "404 Not found" in page


def entity(id: str, kind: str, label: str, **fields: Any) -> Entity:
    return Entity(
        id=id, iri=NS + id, kind=kind, lineage=(kind,), labels=(LangText("en", label),), **fields
    )


def test_sections_follow_the_registry_order() -> None:
    graph = small_graph()
    graph.add((KG.x, CKG.possibleTreatment, KG.t))
    graph.add((KG.x, CKG.typicalTest, KG.e))
    graph.add((KG.x, CKG.hasCause, KG.c))
    page = render(graph)
    headings = re.findall(r"<h3>(Has symptom|Has cause|Typical test|Possible treatment)</h3>", page)
    assert headings == ["Has symptom", "Has cause", "Typical test", "Possible treatment"]


PERCENT = Concept("percent", NS + "percent", "unit", (LangText("en", "percent"),), "%", None)


def a_fact(**fields: Any) -> Fact:
    return Fact(
        id="f",
        iri=NS + "f",
        kind="Statistic",
        lineage=("Statistic", "Fact"),
        labels=(LangText("en", "Share of sample cases"),),
        about=("x",),
        value=Decimal("12.50"),
        unit="percent",
        quote="about twelve and a half per cent of them, the page says",
        sources=("page",),
        **fields,
    )


def page_source() -> Source:
    return Source(
        id="page", iri=NS + "page", kind="WebPage", lineage=("WebPage", "Source"),
        labels=(LangText("en", "The page"),),
    )  # fmt: skip


def test_facts_show_their_statement_and_citation_not_the_quote() -> None:
    graph = small_graph()
    graph.add((KG.f, CKG.about, KG.x))
    graph.add((KG.f, CKG.quote, Literal("about twelve and a half per cent of them, the page says")))
    store = FakeStore(entities=[a_fact(), page_source()], concepts=[PERCENT])
    page = render(graph, store=store)
    assert "Share of sample cases: 12.5%." in page
    assert "The page (web page)" in page  # the short citation
    assert "twelve and a half" not in page


def test_broader_and_narrower_entities() -> None:
    store = FakeStore(
        entities=[
            entity("x", "Condition", "Sample condition", broader=("general",)),
            entity("general", "Condition", "General condition"),
            entity("special", "Condition", "Special condition", broader=("x",)),
        ]
    )
    graph = small_graph()
    graph.add((KG.x, SKOS.broader, KG.general))
    graph.add((KG.special, SKOS.broader, KG.x))
    page = render(graph, store=store)
    section = page[page.index("Broader and narrower") :]
    broader = section[section.index("<h3>Broader</h3>") : section.index("<h3>Narrower</h3>")]
    assert 'href="/id/general"' in broader
    assert 'href="/id/special"' in section[section.index("<h3>Narrower</h3>") :]


def test_a_page_lists_its_own_facts_as_statements() -> None:
    graph = new_graph()
    graph.add((KG.page, SKOS.prefLabel, Literal("The page", lang="en")))
    graph.add((KG.f, PROV.wasDerivedFrom, KG.page))
    store = FakeStore(entities=[a_fact(), page_source()], concepts=[PERCENT])
    page = render(graph, KG.page, store=store)
    facts = page[page.index("Facts from this page") :]
    assert "Share of sample cases: 12.5%." in facts
    assert 'href="/id/f"' in facts
    assert "Referenced by" not in page  # the fact is listed once, with its statement
