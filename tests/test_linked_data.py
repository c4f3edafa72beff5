"""GET /id/{id} without a server: ids, content negotiation, descriptions, responses."""

from __future__ import annotations

import json
import re

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from server.content.linked_data import (
    HTML,
    JSONLD,
    MAX_ID_LENGTH,
    NTRIPLES,
    SUPPORTED,
    TURTLE,
    acceptable,
    description_graph,
    entity_etag,
    id_namespace,
    negotiate,
    resolve,
    safe_id,
)
from server.load.loader import LoadResult, load
from server.rdf.namespaces import CKG, KG
from server.store.dataset_graphs import describe_graph
from server.store.snapshot import Snapshot, build_snapshot

from .conftest import REPO

BASE = "https://clinic-kg.example/"
FBSS = KG["failed-back-surgery-syndrome"]


@pytest.fixture(scope="module")
def loaded() -> LoadResult:
    result = load(REPO)
    assert result.ok, [d.render() for d in result.diagnostics]
    return result


@pytest.fixture(scope="module")
def snap(loaded: LoadResult) -> Snapshot:
    return build_snapshot(loaded)


def describe(snap: Snapshot, iri: URIRef) -> Graph:
    described = snap.describe(str(iri))
    assert described is not None, iri
    return description_graph(described)


# ---------------------------------------------------------------- negotiation


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, HTML),
        ("", HTML),
        ("*/*", HTML),
        ("text/turtle", TURTLE),
        ("application/ld+json", JSONLD),
        ("application/n-triples", NTRIPLES),
        ("TEXT/Turtle", TURTLE),
        ("text/*", HTML),
        ("application/*", JSONLD),
        # A browser's header.
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", HTML),
        ("text/turtle;q=0.5, application/ld+json;q=0.9", JSONLD),
        ("text/html;q=0.1, text/turtle", TURTLE),
        ("text/html;q=0, */*", TURTLE),  # q=0 refuses html; the rest in server order
        ("*/*;q=0.1, application/n-triples;q=0.2", NTRIPLES),
        ("text/*;q=0.9, text/html;q=0.1", TURTLE),  # the more specific range wins for html
        ('application/ld+json; profile="http://www.w3.org/ns/json-ld#compacted"', JSONLD),
        ("text/turtle;charset=utf-8;q=0.8", TURTLE),
        ("application/json, text/turtle;q=0.1", TURTLE),
        ("text/html;q=abc, text/turtle;q=0.2", TURTLE),  # junk q drops that range
        ("garbage, ,;, text/turtle", TURTLE),
    ],
)
def test_negotiate(accept: str | None, expected: str) -> None:
    assert negotiate(accept) == expected


@pytest.mark.parametrize(
    "accept",
    [
        "application/xml",
        "application/json",
        "image/png, text/plain",
        "text/turtle;q=0",
        "*/*;q=0",
        "text/html;q=2",
        "*/html",
        "text/html;q=nan",
    ],
)
def test_negotiate_refuses(accept: str) -> None:
    assert negotiate(accept) is None


# ---------------------------------------------------------------- ids


@pytest.mark.parametrize(
    "raw", ["failed-back-surgery-syndrome", "code-icd-10-cm-m96-1", "a", "A.b_c~d", "x" * 200]
)
def test_safe_id_accepts(raw: str) -> None:
    assert safe_id(raw) == raw


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "..",
        "../etc/passwd",
        "a/../b",
        "a/b",
        "a%2Fb",
        "a%2fb",
        "%2e%2e",
        "a\\b",
        "..\\x",
        "a\x00b",
        "a\nb",
        "a\tb",
        "a b",
        ".hidden",
        "-leading-dash",
        "é",
        "x" * (MAX_ID_LENGTH + 1),
    ],
)
def test_safe_id_rejects(raw: str) -> None:
    assert safe_id(raw) is None


def test_id_namespace() -> None:
    assert id_namespace("https://clinic-kg.example/") == str(KG)
    assert id_namespace("https://clinic-kg.example") == str(KG)


# ---------------------------------------------------------------- describe


def test_describe_condition(loaded: LoadResult, snap: Snapshot) -> None:
    graph = describe(snap, FBSS)
    assert set(loaded.data.triples((FBSS, None, None))) <= set(graph)
    # Evidence for its relations, with quotes.
    assertion = KG["fbss-cause-epidural-fibrosis"]
    assert (assertion, RDF.subject, FBSS) in graph
    assert (assertion, CKG.quote, None) in graph
    # The fact about that assertion (fibrosis causes 20%-36% of cases).
    assert (KG["fibrosis-share-of-cases"], CKG.about, assertion) in graph
    # External codes and the IASP definition.
    assert (KG["code-icd-10-cm-m96-1"], None, Literal("M96.1")) in graph
    assert (KG["failed-back-surgery-syndrome-iasp-definition"], CKG.authority, KG.iasp) in graph
    # Labels of linked entities, and of classes and properties from the ontology.
    assert (KG["stabbing-pain"], SKOS.prefLabel, None) in graph
    assert (KG.iasp, SKOS.prefLabel, None) in graph
    assert (CKG.hasSymptom, None, Literal("has symptom", lang="en")) in graph
    # Not the linked entities' own relations.
    assert (KG["stabbing-pain"], RDF.type, None) not in graph


def test_describe_includes_incoming_links(snap: Snapshot) -> None:
    graph = describe(snap, KG["stabbing-pain"])
    assert (FBSS, CKG.hasSymptom, KG["stabbing-pain"]) in graph
    assert (FBSS, SKOS.prefLabel, None) in graph


def test_describe_follows_blank_nodes() -> None:
    data = Graph().parse(
        data="""
        @prefix kg: <https://clinic-kg.example/id/> .
        @prefix ckg: <https://clinic-kg.example/ontology#> .
        kg:x ckg:note [ ckg:inner [ ckg:deep "yes" ] ] .
        kg:y ckg:note [ ckg:other "no" ] .
        """,
        format="turtle",
    )
    graph = describe_graph(data, KG.x)
    assert len(graph) == 3
    assert any(o == Literal("yes") for o in graph.objects())


# ---------------------------------------------------------------- resolve


def get(snap: Snapshot, raw_id: str, accept: str | None) -> tuple[int, str, str, dict[str, str]]:
    r = resolve(snap, raw_id, accept, base_iri=BASE, version="v1")
    return r.status, r.media_type, r.body, dict(r.headers)


@pytest.mark.parametrize(
    ("accept", "fmt"), [(TURTLE, "turtle"), (JSONLD, "json-ld"), (NTRIPLES, "nt")]
)
def test_rdf_representations(snap: Snapshot, accept: str, fmt: str) -> None:
    status, media_type, body, headers = get(snap, "failed-back-surgery-syndrome", accept)
    assert (status, media_type) == (200, accept)
    assert headers["Vary"] == "Accept"
    assert headers["ETag"] == entity_etag("v1", accept)
    graph = Graph().parse(data=body, format=fmt)
    assert (FBSS, CKG.hasSymptom, KG["stabbing-pain"]) in graph


def test_etags_differ_per_representation() -> None:
    assert len({entity_etag("v1", m) for m in SUPPORTED}) == len(SUPPORTED)
    assert entity_etag("v1", TURTLE) != entity_etag("v2", TURTLE)


def test_html_page_lists_symptoms_and_treatments(snap: Snapshot) -> None:
    status, media_type, body, _ = get(snap, "failed-back-surgery-syndrome", "text/html")
    assert (status, media_type) == (200, HTML)
    for label in (
        "Stabbing pain in the back or extremities",
        "Dull, aching pain in the back or legs",
        "Acetaminophen",
        "Physical therapy",
        "Radiofrequency ablation",
        "Nonsteroidal anti-inflammatory drugs",
    ):
        assert label in body, label
    assert 'href="/id/stabbing-pain"' in body
    assert "<svg" in body
    assert "M96.1" in body
    assert "Curator assertions" in body


def test_unknown_id_is_404_page(snap: Snapshot) -> None:
    status, media_type, body, _ = get(snap, "no-such-entity", "text/html")
    assert (status, media_type) == (404, HTML)
    assert "no entity has the id" in body
    status, media_type, body, _ = get(snap, "no-such-entity", TURTLE)
    assert (status, media_type) == (404, "text/plain")


@pytest.mark.parametrize("raw", ["../secret", "a%2Fb", "x" * 201, "a\\b", "<script>"])
def test_bad_id_is_400(snap: Snapshot, raw: str) -> None:
    status, _, body, _ = get(snap, raw, None)
    assert status == 400
    assert "<script>" not in body


def test_unsupported_accept_is_406_listing_types(snap: Snapshot) -> None:
    status, media_type, body, headers = get(snap, "failed-back-surgery-syndrome", "image/png")
    assert (status, media_type) == (406, "text/plain")
    for supported in SUPPORTED:
        assert supported in body
    assert headers["Vary"] == "Accept"


def test_every_entity_resolves(loaded: LoadResult, snap: Snapshot) -> None:
    subjects = {s for s in loaded.data.subjects() if isinstance(s, URIRef)}
    for subject in sorted(subjects):
        slug = str(subject)[len(str(KG)) :]
        assert safe_id(slug) == slug, slug
        status, _, body, _ = get(snap, slug, "text/html")
        assert status == 200, slug
        assert "<h1>" in body


def test_jsonld_body_uses_the_context(snap: Snapshot) -> None:
    _, _, body, _ = get(snap, "acetaminophen", JSONLD)
    document = json.loads(body)
    nodes = {n["@id"]: n for n in document["@graph"]}
    assert nodes["kg:acetaminophen"]["brandName"] == {"en": "Tylenol"}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, True),
        ("", True),
        ("*/*", True),
        ("application/*", True),
        ("application/json", True),
        ("text/html,application/xhtml+xml,*/*;q=0.8", True),
        ("text/html", False),
        ("application/json;q=0, */*", False),
        ("text/turtle, application/ld+json", False),
    ],
)
def test_acceptable(accept: str | None, expected: bool) -> None:
    assert acceptable(accept, "application/json") is expected


def test_html_shows_facts_as_their_statement_with_citation(snap: Snapshot) -> None:
    _, _, body, _ = get(snap, "epidural-fibrosis", "text/html")
    evidence = body[body.index("<h2>Evidence</h2>") :]
    statement = (
        "Share of chronic pain after back surgery caused by fibrosis: approximately 20%–36%."
    )
    assert statement in evidence
    assert "What is Spine Surgery Pain (clinic page)" in evidence
    assert 'href="/id/fibrosis-share-of-cases"' in evidence


def test_html_of_a_page_lists_the_facts_it_states(snap: Snapshot) -> None:
    _, _, body, _ = get(snap, "clinic-page", "text/html")
    facts = body[body.index("<h2>Facts from this page</h2>") :]
    for fact in snap.facts(page="clinic-page"):
        assert f'href="/id/{fact.id}"' in facts, fact.id
    assert "Success rate of lumbar spinal fusion: approximately 10%–40%." in facts
    assert "citing Pain Medicine" in facts


def test_html_sections_follow_the_registry(snap: Snapshot) -> None:
    _, _, body, _ = get(snap, "failed-back-surgery-syndrome", "text/html")
    relations = body[body.index("<h2>Relations</h2>") :]
    headings = re.findall(r"<h3>([^<]+)</h3>", relations)
    # The registry's order (RELATION_ORDER), whatever relations the pages give the condition.
    order = ["Has symptom", "Has cause", "Has risk factor", "Typical test", "Possible treatment"]
    shown = [h for h in headings if h in order]
    assert shown == [h for h in order if h in shown]
    assert {"Has symptom", "Has cause", "Typical test", "Possible treatment"} <= set(shown)
