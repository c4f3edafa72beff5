"""End to end: a real `clinic-kg serve` (uvicorn) on 127.0.0.1 and a real GraphQL client (gql).

Every entry point, and every statistic of the seed page with its numbers, unit, statement, quote
and source. Bad input and limits are in test_e2e_limits.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXTransport
from graphql import build_schema, find_breaking_changes, print_schema

from server.schema import SDL_PATH

from . import live_server as live
from . import seed
from .live_server import LiveServer, refused, run

# Fixtures shared with the other end-to-end modules (a real server and a gql client); every test
# runs twice, on the in-memory snapshot and on the SPARQL-backed store (`serve --store`).
live_server = live.live_server_on_each_store
client = live.client

pytestmark = pytest.mark.e2e

FBSS = "failed-back-surgery-syndrome"
PAGE = "What is Spine Surgery Pain (clinic page)"


# ---------------------------------------------------------------- entry points


def test_node_and_nodes(client: Any) -> None:
    data = run(
        client,
        """{
      node(id: "acetaminophen") { __typename id iri label altLabels
        ... on Drug { brandNames category { id label } } }
      nodes(ids: ["smoking", "nope", "https://clinic-kg.example/id/back-pain"]) { id label }
    }""",
    )
    assert data["node"] == {
        "__typename": "Drug",
        "id": "acetaminophen",
        "iri": "https://clinic-kg.example/id/acetaminophen",
        "label": "Acetaminophen",
        "altLabels": ["Tylenol"],
        "brandNames": ["Tylenol"],
        "category": {"id": "medication", "label": "medication"},
    }
    assert data["nodes"] == [
        {"id": "smoking", "label": "Smoking"},
        None,
        {"id": "back-pain", "label": "Back pain"},
    ]


def test_unknown_id_is_null(client: Any) -> None:
    data = run(
        client,
        '{ node(id: "no-such") { id } condition(id: "no-such") { id } fact(id: "smoking") { id } }',
    )
    assert data == {"node": None, "condition": None, "fact": None}


def test_condition_with_evidence_on_every_relation(client: Any) -> None:
    data = run(
        client,
        """query ($id: ID!) { condition(id: $id) {
      label altLabels definition label_de: label(lang: "de")
      externalCodes { system code mappingRelation curatorAssertion attributedTo { id } }
      sources { id label sourceType }
      authoritativeDefinitions { text quote authority { label } }
      symptoms { totalCount edges { node { id label } quote source { id } } }
      causes { totalCount edges { role { id label } quote source { id } node { id label }
               statistics { id statement } } }
      treatments(category: "interventional") { totalCount edges { node { id label } quote } }
      tests { edges { node { label } } }
    } }""",
        id=FBSS,
    )
    c = data["condition"]
    assert c["label"] == c["label_de"] == "Failed back surgery syndrome"
    assert "Postlaminectomy syndrome" in c["altLabels"]
    assert c["definition"].startswith("Lumbar/cervical pain of unknown origin")
    assert {
        "system": "ICD-10-CM",
        "code": "M96.1",
        "mappingRelation": "exactMatch",
        "curatorAssertion": True,
        "attributedTo": {"id": "curator"},
    } in c["externalCodes"]
    assert {
        "id": "clinic-page",
        "label": "What is Spine Surgery Pain",
        "sourceType": "WebPage",
    } in c["sources"]
    [definition] = c["authoritativeDefinitions"]
    assert definition["authority"] == {"label": "International Association for the Study of Pain"}
    # The seed page's relations are there, each with its evidence; another page may add more.
    symptoms = {e["node"]["id"]: e for e in c["symptoms"]["edges"]}
    assert set(symptoms) >= seed.SYMPTOMS
    assert c["symptoms"]["totalCount"] == len(symptoms)
    assert all(symptoms[s]["quote"] and symptoms[s]["source"] for s in seed.SYMPTOMS)
    assert symptoms["stabbing-pain"]["source"] == {"id": "clinic-page"}
    causes = {e["node"]["id"]: e for e in c["causes"]["edges"]}
    assert set(causes) >= set(seed.CAUSES)
    assert c["causes"]["totalCount"] == len(causes)
    assert {cause: causes[cause]["role"]["id"] for cause in seed.CAUSES} == seed.CAUSES
    fibrosis = causes["epidural-fibrosis"]
    assert fibrosis["role"] == {"id": "main", "label": "main cause"}
    assert fibrosis["quote"].startswith("Scar tissue (fibrosis): Epidural scarring")
    assert {
        "id": "fibrosis-share-of-cases",
        "statement": "Share of chronic pain after back surgery caused by fibrosis: "
        "approximately 20%–36%.",
    } in fibrosis["statistics"]
    assert causes["smoking"]["role"]["id"] == "other"
    assert causes["smoking"]["statistics"] == []
    interventional = c["treatments"]["edges"]
    assert {e["node"]["id"] for e in interventional} >= seed.INTERVENTIONAL
    assert "acetaminophen" not in {e["node"]["id"] for e in interventional}  # a medication
    labels = [e["node"]["label"] for e in interventional]
    assert labels == sorted(labels, key=str.casefold)
    assert {e["node"]["label"] for e in c["tests"]["edges"]} >= {
        "Imaging studies",
        "Patient examination",
    }


def walk(client: Any, field: str, first: int) -> tuple[list[str], dict[str, Any]]:
    """Every page of a top-level connection, cursor after cursor: the ids and the last page."""
    query = (
        f"query ($after: String) {{ {field}(first: {first}, after: $after) {{ totalCount "
        "edges { node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }"
    )
    seen: list[str] = []
    after = None
    while True:
        page: dict[str, Any] = run(client, query, after=after)[field]
        assert 0 < len(page["edges"]) <= first
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen, page
        after = page["pageInfo"]["endCursor"]


def test_conditions_paginate_with_cursors(client: Any) -> None:
    seen, page = walk(client, "conditions", 1)
    # Every condition exactly once, one per page, whatever their number.
    assert len(seen) == len(set(seen)) == page["totalCount"]
    assert FBSS in seen
    past_the_end = run(
        client,
        "query ($after: String) { conditions(after: $after) { edges { cursor } "
        "pageInfo { hasPreviousPage } } }",
        after=page["pageInfo"]["endCursor"],
    )
    assert past_the_end["conditions"] == {"edges": [], "pageInfo": {"hasPreviousPage": True}}


def test_treatment_pages_follow_one_another(client: Any) -> None:
    seen, page = walk(client, "treatments", 5)
    # Every treatment exactly once, whatever their number; surgery offered as a treatment too.
    assert len(seen) == len(set(seen)) == page["totalCount"] > 5
    assert {"acetaminophen", "physical-therapy", "spinal-fusion"} <= set(seen)


@pytest.mark.parametrize("text", ["tylenol", "TYLÉNOL", "Tylenol"])
def test_search_finds_acetaminophen_by_brand_name(client: Any, text: str) -> None:
    data = run(
        client,
        "query ($t: String!) { search(text: $t) { totalCount edges { score "
        "matchedLabel node { __typename id label } } } }",
        t=text,
    )
    top = data["search"]["edges"][0]
    assert top["node"] == {"__typename": "Drug", "id": "acetaminophen", "label": "Acetaminophen"}
    assert top["matchedLabel"] == "Tylenol"


def test_search_is_ranked_and_filtered_by_type(client: Any) -> None:
    data = run(
        client,
        '{ all: search(text: "fibrosis") { edges { score node { id } } } '
        'causes: search(text: "pain", types: [CONDITION]) { edges { node { __typename id } } }'
        "}",
    )
    scores = [e["score"] for e in data["all"]["edges"]]
    assert data["all"]["edges"][0]["node"]["id"] == "epidural-fibrosis"
    assert scores == sorted(scores, reverse=True)
    assert FBSS in {e["node"]["id"] for e in data["causes"]["edges"]}
    assert {e["node"]["__typename"] for e in data["causes"]["edges"]} == {"Condition"}
    assert refused(client, '{ search(text: "  ") { totalCount } }') == ["`text` must not be empty"]


def test_statistics_by_about_and_measure(client: Any) -> None:
    data = run(
        client,
        """{
      success: statistics(measure: "success-rate") { totalCount edges { node { id } } }
      fusion: statistics(about: "spinal-fusion") { edges { node { id } } }
      fibrosis: statistics(about: "epidural-fibrosis") { edges { node { id aboutRelations {
        predicate subject { id } object { id } role { id } } } } }
    }""",
    )
    success = {e["node"]["id"] for e in data["success"]["edges"]}
    assert success >= {"lumbar-fusion-success-rate", "laminectomy-discectomy-success-rate"}
    assert "back-pain-lifetime-prevalence" not in success  # another measure
    fusion = {e["node"]["id"] for e in data["fusion"]["edges"]}
    assert fusion >= {"lumbar-fusion-success-rate", "spinal-fusion-increase"}
    assert "laminectomy-discectomy-success-rate" not in fusion  # about other procedures
    fibrosis = next(
        e for e in data["fibrosis"]["edges"] if e["node"]["id"] == "fibrosis-share-of-cases"
    )
    assert fibrosis["node"]["aboutRelations"] == [
        {
            "predicate": "hasCause",
            "subject": {"id": FBSS},
            "object": {"id": "epidural-fibrosis"},
            "role": {"id": "main"},
        }
    ]


def test_facts_by_ids_keep_order(client: Any) -> None:
    data = run(
        client,
        '{ facts(ids: ["success-rate-falls-after-repeat-surgery", '
        '"back-pain-lifetime-prevalence"]) { totalCount edges { node { __typename id } } } }',
    )
    assert [e["node"] for e in data["facts"]["edges"]] == [
        {"__typename": "QualitativeClaim", "id": "success-rate-falls-after-repeat-surgery"},
        {"__typename": "Statistic", "id": "back-pain-lifetime-prevalence"},
    ]


def test_nodes_by_ids_keep_order_and_nulls(client: Any) -> None:
    data = run(
        client,
        '{ nodes(ids: ["success-rate-falls-after-repeat-surgery", "nope", '
        '"back-pain-lifetime-prevalence"]) { __typename id } }',
    )
    assert data["nodes"] == [
        {"__typename": "QualitativeClaim", "id": "success-rate-falls-after-repeat-surgery"},
        None,
        {"__typename": "Statistic", "id": "back-pain-lifetime-prevalence"},
    ]


def test_treatments_by_category_with_parts(client: Any) -> None:
    data = run(
        client,
        """{ treatments(category: "physical-therapy") { totalCount edges { node {
      id ... on Treatment { partOf { id } components { edges { node { id } quote } }
        offeredBy { id } conditions { id } } } } } }""",
    )
    nodes = {e["node"]["id"]: e["node"] for e in data["treatments"]["edges"]}
    assert data["treatments"]["totalCount"] == len(nodes)
    pt = nodes["physical-therapy"]
    assert {e["node"]["id"] for e in pt["components"]["edges"]} == {
        "body-mechanics-education",
        "exercise-regimen",
        "electrical-stimulation",
        "ice-therapy",
        "stretching",
    }
    assert all(e["quote"] for e in pt["components"]["edges"])
    assert pt["offeredBy"] == [{"id": "clinic"}]
    assert {"id": FBSS} in pt["conditions"]
    assert "acetaminophen" not in nodes  # a medication
    assert nodes["stretching"]["partOf"] == [{"id": "physical-therapy"}]


def test_sources_and_the_clinic(client: Any) -> None:
    data = run(
        client,
        """{
      sources { edges { node { id sourceType publisher { id } } } }
      clinics { edges { node { label
        services { totalCount edges { node { id } quote } }
        forFbss: services(forCondition: "failed-back-surgery-syndrome") { edges { node { id } } }
        departments { edges { node { label } quote } } } } }
      concepts(scheme: "Measures") { id label }
    }""",
    )
    sources = {e["node"]["id"]: e["node"] for e in data["sources"]["edges"]}
    assert set(sources) >= {"clinic-page", "pain-medicine", "iasp", "curator"}
    assert sources["clinic-page"]["publisher"] == {"id": "clinic"}
    [clinic] = data["clinics"]["edges"]
    services = {e["node"]["id"] for e in clinic["node"]["services"]["edges"]}
    assert clinic["node"]["services"]["totalCount"] == len(services)
    assert services >= {"interventional-pain-management", "physical-therapy", "massage-therapy"}
    for_fbss = {e["node"]["id"] for e in clinic["node"]["forFbss"]["edges"]}
    assert for_fbss >= {"interventional-pain-management", "physical-therapy"}
    assert for_fbss <= services
    assert clinic["node"]["departments"]["edges"][0]["node"]["label"] == "VIDA Massage & Spa"
    assert {c["id"] for c in data["concepts"]} >= {
        "success-rate",
        "lifetime-prevalence",
        "share-of-cases",
        "annual-count",
        "relative-change",
    }


def test_dataset_and_version_everywhere(client: Any, live_server: LiveServer) -> None:
    result = client.execute(
        GraphQLRequest("{ dataset { version tripleCount loadedAt lastReloadError } }"),
        get_execution_result=True,
    )
    dataset = result.data["dataset"]
    assert len(dataset["version"]) == 16
    assert dataset["tripleCount"] > 1000
    assert dataset["lastReloadError"] is None
    assert result.extensions["datasetVersion"] == dataset["version"]
    assert client.transport.response_headers["x-dataset-version"] == dataset["version"]
    ready = httpx.get(f"{live_server.url}/readyz", timeout=10).json()
    assert ready["datasetVersion"] == dataset["version"]
    health = httpx.get(f"{live_server.url}/healthz", timeout=10).json()
    assert health["status"] == "ok"
    assert health["datasetVersion"] == dataset["version"]
    assert health["lastReloadError"] is None


def test_get_etag_and_not_modified(live_server: LiveServer) -> None:
    params = {"query": '{ fact(id: "back-pain-lifetime-prevalence") { statement } }'}
    first = httpx.get(live_server.graphql, params=params, timeout=10)
    assert first.status_code == 200
    assert first.json()["data"]["fact"]["statement"] == (
        "Lifetime prevalence of back pain in adults: almost 85%."
    )
    again = httpx.get(
        live_server.graphql,
        params=params,
        timeout=10,
        headers={"if-none-match": first.headers["etag"]},
    )
    assert again.status_code == 304
    assert again.content == b""


def test_introspected_schema_is_the_committed_contract(live_server: LiveServer) -> None:
    transport = HTTPXTransport(url=live_server.graphql, timeout=30)
    with Client(transport=transport, fetch_schema_from_transport=True) as session:
        assert session.client.schema is not None
        served = build_schema(print_schema(session.client.schema))
    committed = build_schema(SDL_PATH.read_text(encoding="utf-8"))
    assert find_breaking_changes(committed, served) == []


# ---------------------------------------------------------------- every statistic of the seed

STATISTICS = {
    # id: (value, low, high, unit notation, qualifier, statement, cited source, quote start)
    "back-pain-lifetime-prevalence": (
        85,
        None,
        None,
        "%",
        "almost",
        "Lifetime prevalence of back pain in adults: almost 85%.",
        None,
        "Almost 85% of adults will suffer from back pain",
    ),
    "spinal-fusion-increase": (
        220,
        None,
        None,
        "%",
        None,
        "Increase in spinal fusion surgeries over ten years: 220%.",
        None,
        "In one recent 10-year period, there was a 220% increase",
    ),
    "laminectomy-discectomy-annual-count": (
        200000,
        None,
        None,
        "per year",
        "approximately",
        "Lumbar laminectomies and discectomies performed in the United States: "
        "approximately 200,000 per year.",
        None,
        "Statistics have also revealed that approximately 200,000 lumbar laminectomies",
    ),
    "lumbar-fusion-success-rate": (
        None,
        10,
        40,
        "%",
        "approximately",
        "Success rate of lumbar spinal fusion: approximately 10%–40%.",
        "Pain Medicine",
        "According to research published in a recent edition ofPain Medicine",
    ),
    "laminectomy-discectomy-success-rate": (
        None,
        75,
        80,
        "%",
        None,
        "Success rate of laminectomy and discectomy: 75%–80%.",
        "Pain Medicine",
        "According to research published in a recent edition ofPain Medicine",
    ),
    "fibrosis-share-of-cases": (
        None,
        20,
        36,
        "%",
        "approximately",
        "Share of chronic pain after back surgery caused by fibrosis: approximately 20%–36%.",
        None,
        "Both preclinical and clinical research indicates that fibrosis",
    ),
}

STATISTIC_QUERY = """query ($id: ID!) { fact(id: $id) {
  __typename id statement citation quote source { id label } citedSource { label }
  measure { id } population region period
  ... on Statistic { value low high unit { notation } qualifier { label } valueText }
} }"""


@pytest.mark.parametrize(("fact_id", "expected"), STATISTICS.items())
def test_every_statistic_with_numbers_unit_statement_quote_and_source(
    client: Any, fact_id: str, expected: tuple[Any, ...]
) -> None:
    value, low, high, unit, qualifier, statement, cited, quote = expected
    fact = run(client, STATISTIC_QUERY, id=fact_id)["fact"]
    assert fact["__typename"] == "Statistic"
    assert (fact["value"], fact["low"], fact["high"]) == (value, low, high)
    assert fact["unit"] == {"notation": unit}
    assert fact["qualifier"] == ({"label": qualifier} if qualifier else None)
    assert fact["statement"] == statement
    assert fact["quote"].startswith(quote)
    assert fact["source"] == {"id": "clinic-page", "label": "What is Spine Surgery Pain"}
    assert fact["citedSource"] == ({"label": cited} if cited else None)
    assert fact["citation"] == (f"{PAGE}, citing {cited}" if cited else PAGE)


@pytest.mark.parametrize(
    ("fact_id", "claim"),
    [
        (
            "decompression-success-higher-than-fusion",
            "The success rate for laminectomies and discectomies is higher than that of fusions.",
        ),
        (
            "success-rate-falls-after-repeat-surgery",
            "After the initial surgery, success rates are progressively reduced.",
        ),
    ],
)
def test_qualitative_claims(client: Any, fact_id: str, claim: str) -> None:
    fact = run(
        client,
        "query ($id: ID!) { fact(id: $id) { __typename statement quote "
        "source { id } ... on QualitativeClaim { claim } } }",
        id=fact_id,
    )["fact"]
    assert fact["__typename"] == "QualitativeClaim"
    assert fact["claim"] == fact["statement"] == claim
    assert fact["quote"]
    assert fact["source"] == {"id": "clinic-page"}


def test_every_seed_fact_is_reachable_from_what_it_is_about(client: Any) -> None:
    data = run(
        client,
        '{ nodes(ids: ["spinal-fusion", "laminectomy", "back-pain", '
        '"spine-surgery", "epidural-fibrosis"]) { facts { id } } }',
    )
    ids = {f["id"] for node in data["nodes"] for f in node["facts"]}
    assert ids >= seed.FACT_IDS
