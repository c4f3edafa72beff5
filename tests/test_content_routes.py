"""/id and /facts in process: negotiation, errors, ETags and 304, Cache-Control, and /facts/{id}
worded exactly as the GraphQL `fact` field."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from server.content.linked_data import HTML, JSONLD, NTRIPLES, SUPPORTED, TURTLE
from server.http.app import create_app
from server.load.loader import load
from server.rdf.namespaces import KG, SCHEMA
from server.settings import Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot, build_snapshot

from . import seed
from .conftest import REPO

with warnings.catch_warnings():
    # Starlette would rather its TestClient ran on httpx2; httpx is what the project has.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

CONTENT_CACHE = "public, max-age=60"

FACT_QUERY = """query ($id: ID!) { fact(id: $id) {
  __typename id iri label statement citation fullCitation quote population region period
  source { id } citedSource { id } measure { id label } about { id label }
  aboutRelations { id predicate subject { id } object { id } }
  ... on Statistic { statisticType value low high valueText unit { id notation } qualifier { id } }
  ... on QualitativeClaim { claim }
} }"""


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return build_snapshot(load(REPO))


@pytest.fixture(scope="module")
def client(snap: Snapshot) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), StoreHolder(snap))) as c:
        yield c


def get(client: TestClient, path: str, accept: str | None = None, **headers: str) -> Any:
    if accept is not None:
        headers["accept"] = accept
    return client.get(path, headers=headers)


# ---------------------------------------------------------------- /id


@pytest.mark.parametrize(
    ("accept", "media_type", "parse"),
    [(TURTLE, TURTLE, "turtle"), (JSONLD, JSONLD, "json-ld"), (NTRIPLES, NTRIPLES, "nt")],
)
def test_id_serves_each_rdf_representation(
    client: TestClient, accept: str, media_type: str, parse: str
) -> None:
    r = get(client, "/id/acetaminophen", accept)
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media_type
    graph = Graph().parse(data=r.text, format=parse)
    assert (KG.acetaminophen, None, None) in graph
    assert any(str(o) == "Tylenol" for o in graph.objects(KG.acetaminophen, None))


@pytest.mark.parametrize("accept", [HTML, None, "*/*", "text/html,application/xhtml+xml,*/*;q=0.8"])
def test_id_serves_html_to_people(client: TestClient, accept: str | None) -> None:
    r = get(client, "/id/failed-back-surgery-syndrome", accept)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Failed back surgery syndrome</h1>" in r.text
    assert "<svg" in r.text
    for label in ("Sharp pain in the extremities", "Acetaminophen", "Physical therapy"):
        assert label in r.text


def test_every_representation_has_its_own_etag(client: TestClient, snap: Snapshot) -> None:
    tags = set()
    for media_type in SUPPORTED:
        r = get(client, "/id/acetaminophen", media_type)
        assert r.headers["vary"] == "Accept"
        assert r.headers["cache-control"] == CONTENT_CACHE
        assert r.headers["etag"].startswith(f'"{snap.version}-')
        tags.add(r.headers["etag"])
    assert len(tags) == len(SUPPORTED)


def test_id_if_none_match_answers_304(client: TestClient) -> None:
    first = get(client, "/id/acetaminophen", TURTLE)
    again = get(client, "/id/acetaminophen", TURTLE, **{"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["vary"] == "Accept"
    assert again.headers["cache-control"] == CONTENT_CACHE
    # Another representation's tag is not this one's.
    other = get(client, "/id/acetaminophen", JSONLD, **{"if-none-match": first.headers["etag"]})
    assert other.status_code == 200
    listed = get(
        client, "/id/acetaminophen", TURTLE, **{"if-none-match": f'"x", W/{first.headers["etag"]}'}
    )
    assert listed.status_code == 304


@pytest.mark.parametrize("accept", ["image/png", "application/json", "text/turtle;q=0"])
def test_id_unsupported_accept_is_406_listing_the_types(client: TestClient, accept: str) -> None:
    r = get(client, "/id/acetaminophen", accept)
    assert r.status_code == 406
    for media_type in SUPPORTED:
        assert media_type in r.text
    assert "etag" not in r.headers


@pytest.mark.parametrize(("accept", "media_type"), [(HTML, "text/html"), (TURTLE, "text/plain")])
def test_unknown_id_is_a_404_page(client: TestClient, accept: str, media_type: str) -> None:
    r = get(client, "/id/no-such-thing", accept)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith(media_type)
    assert "no-such-thing" in r.text
    assert "Traceback" not in r.text
    assert r.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    ["/id/a%2Fb", "/id/..%2Fsettings", "/id/%2E%2E", "/id/a/b", "/id/", "/id/" + "a" * 300],
)
def test_bad_ids_are_400(client: TestClient, path: str) -> None:
    r = get(client, path, HTML)
    assert r.status_code == 400
    assert "<h1>400 Bad id</h1>" in r.text


def test_head_has_the_headers_without_the_body(client: TestClient) -> None:
    got = get(client, "/id/acetaminophen", TURTLE)
    head = client.head("/id/acetaminophen", headers={"accept": TURTLE})
    assert head.status_code == 200
    assert head.headers["etag"] == got.headers["etag"]


def test_rendered_pages_are_cached_per_version_and_type(snap: Snapshot) -> None:
    app = create_app(Settings(), StoreHolder(snap))
    with TestClient(app) as c:
        first = get(c, "/id/failed-back-surgery-syndrome", HTML).text
        assert get(c, "/id/failed-back-surgery-syndrome", HTML).text == first
        get(c, "/id/failed-back-surgery-syndrome", TURTLE)
        get(c, "/id/no-such-thing", HTML)  # errors are not kept
    assert len(app.state.content.pages) == 2


def test_graphs_are_built_on_the_first_linked_data_request() -> None:
    snap = build_snapshot(load(REPO))
    assert not snap.graphs.built
    with TestClient(create_app(Settings(), StoreHolder(snap))) as c:
        get(c, "/facts/lumbar-fusion-success-rate")
        assert not snap.graphs.built  # facts come from the records
        get(c, "/id/acetaminophen", TURTLE)
    assert snap.graphs.built


def test_content_max_age_is_a_setting(snap: Snapshot) -> None:
    with TestClient(create_app(Settings(content_max_age=5), StoreHolder(snap))) as c:
        assert get(c, "/id/acetaminophen").headers["cache-control"] == "public, max-age=5"
        assert get(c, "/facts").headers["cache-control"] == "public, max-age=5"


# ---------------------------------------------------------------- /facts


def graphql_fact(client: TestClient, fact_id: str) -> dict[str, Any]:
    r = client.post("/graphql", json={"query": FACT_QUERY, "variables": {"id": fact_id}})
    assert r.status_code == 200, r.text
    fact: dict[str, Any] = r.json()["data"]["fact"]
    return fact


@pytest.mark.parametrize("fact_id", sorted(seed.FACT_IDS))
def test_fact_json_matches_the_graphql_fact(client: TestClient, fact_id: str) -> None:
    r = get(client, f"/facts/{fact_id}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    doc = r.json()
    gql = graphql_fact(client, fact_id)
    assert doc["statement"] == gql["statement"]
    assert doc["citation"] == {"short": gql["citation"], "full": gql["fullCitation"]}
    for key in ("id", "iri", "label", "quote", "population", "region", "period"):
        assert doc[key] == gql[key], key
    assert doc["source"]["id"] == gql["source"]["id"]
    assert (doc["citedSource"] or {}).get("id") == (gql["citedSource"] or {}).get("id")
    assert [a["id"] for a in doc["about"]] == [a["id"] for a in gql["about"]]
    assert [r["id"] for r in doc["aboutRelations"]] == [r["id"] for r in gql["aboutRelations"]]
    if gql["__typename"] == "Statistic":
        assert doc["kind"] == gql["statisticType"]
        for key in ("value", "low", "high", "valueText"):
            assert doc[key] == gql[key], key
        assert doc["measure"]["id"] == gql["measure"]["id"]
        assert (doc["unit"] or {}).get("notation") == (gql["unit"] or {}).get("notation")
        assert (doc["qualifier"] or {}).get("id") == (gql["qualifier"] or {}).get("id")
    else:
        assert doc["kind"] == "QualitativeClaim"
        assert doc["claim"] == gql["claim"]
        assert doc["value"] is None


def test_fact_json_wording(client: TestClient, snap: Snapshot) -> None:
    doc = get(client, "/facts/lumbar-fusion-success-rate").json()
    assert doc["statement"] == "Success rate of lumbar spinal fusion: approximately 10%–40%."
    assert doc["citation"]["short"] == (
        "What is Spine Surgery Pain (clinic page), citing Pain Medicine"
    )
    assert doc["citation"]["full"].endswith("Fact lumbar-fusion-success-rate.")
    assert (doc["low"], doc["high"], doc["unit"]["notation"]) == (10, 40, "%")
    assert doc["qualifier"]["id"] == "approximately"
    assert doc["datasetVersion"] == snap.version


def test_fact_list_names_every_fact(client: TestClient, snap: Snapshot) -> None:
    r = get(client, "/facts")
    assert r.status_code == 200
    body = r.json()
    listed = [f["id"] for f in body["facts"]]
    assert set(listed) == {f.id for f in snap.facts()}
    assert set(listed) >= seed.FACT_IDS
    assert body["count"] == len(listed) == len(set(listed))
    assert all(f["href"] == f"/facts/{f['id']}" for f in body["facts"])
    assert body["datasetVersion"] == snap.version


@pytest.mark.parametrize("path", ["/facts", "/facts/lumbar-fusion-success-rate"])
def test_facts_etag_and_304(client: TestClient, snap: Snapshot, path: str) -> None:
    first = get(client, path)
    etag = first.headers["etag"]
    assert etag.startswith(f'"{snap.version}-')
    assert first.headers["cache-control"] == CONTENT_CACHE
    again = get(client, path, **{"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert get(client, path, **{"if-none-match": '"older"'}).status_code == 200


def test_unknown_fact_is_404_json(client: TestClient) -> None:
    r = get(client, "/facts/no-such-fact")
    assert r.status_code == 404
    assert r.json()["code"] == "NOT_FOUND"
    assert "no-such-fact" in r.json()["error"]
    # An entity that is not a fact is not one either, and the message says where it is.
    other = get(client, "/facts/acetaminophen").json()
    assert other["code"] == "NOT_FOUND"
    assert "/id/acetaminophen" in other["error"]


@pytest.mark.parametrize("path", ["/facts/a%2Fb", "/facts/..%2Fx", "/facts/" + "f" * 300])
def test_bad_fact_id_is_400_json(client: TestClient, path: str) -> None:
    r = get(client, path)
    assert r.status_code == 400
    assert r.json()["code"] == "BAD_ID"


def test_facts_refuse_accept_without_json(client: TestClient) -> None:
    r = get(client, "/facts/lumbar-fusion-success-rate", "text/turtle")
    assert r.status_code == 406
    assert r.json()["supported"] == ["application/json"]
    assert get(client, "/facts", "application/*").status_code == 200


# ---------------------------------------------------------------- the other GET routes


def test_graphiql_page_and_status_routes_have_etags(client: TestClient, snap: Snapshot) -> None:
    for path, accept in (("/graphql", HTML), ("/healthz", None), ("/readyz", None)):
        r = get(client, path, accept)
        assert r.status_code == 200
        assert r.headers["cache-control"] == "no-cache"
        assert snap.version in r.headers["etag"]
        again = get(client, path, accept, **{"if-none-match": r.headers["etag"]})
        assert again.status_code == 304, path


def test_status_etag_changes_with_a_rejected_reload(snap: Snapshot) -> None:
    from datetime import UTC, datetime

    holder = StoreHolder(snap)
    with TestClient(create_app(Settings(), holder)) as c:
        before = c.get("/healthz").headers["etag"]
        holder.fail("kg/x.ttl:1: error KG-PARSE", datetime.now(UTC))
        after = c.get("/healthz", headers={"if-none-match": before})
    assert after.status_code == 200
    assert after.json()["lastReloadError"].startswith("kg/x.ttl:1")


def test_schema_org_over_http_is_schema_org_rdf(client: TestClient) -> None:
    query = '{ condition(id: "failed-back-surgery-syndrome") { schemaOrg } }'
    doc = client.post("/graphql", json={"query": query}).json()["data"]["condition"]["schemaOrg"]
    assert doc["@context"] == "https://schema.org"
    # https://schema.org is not fetched in tests; its context amounts to this @vocab.
    graph = Graph().parse(
        data=json.dumps({**doc, "@context": {"@vocab": str(SCHEMA)}}), format="json-ld"
    )
    fbss = KG["failed-back-surgery-syndrome"]
    assert (URIRef(doc["@id"]), SCHEMA.about, fbss) in graph
    assert (fbss, RDF.type, SCHEMA.MedicalCondition) in graph
    symptoms = set(graph.objects(fbss, SCHEMA.signOrSymptom))
    assert symptoms >= {KG[s] for s in seed.SYMPTOMS}


def test_facts_of_one_page_and_of_one_source(client: TestClient) -> None:
    page = client.get("/facts", params={"page": "clinic-page"}).json()
    cited = client.get("/facts", params={"source": "pain-medicine"}).json()
    assert {"lumbar-fusion-success-rate", "success-rate-falls-after-repeat-surgery"} <= {
        f["id"] for f in page["facts"]
    }
    assert {f["id"] for f in cited["facts"]} == {
        "lumbar-fusion-success-rate",
        "laminectomy-discectomy-success-rate",
    }
    everything = client.get("/facts")
    assert (
        everything.headers["etag"]
        != client.get("/facts", params={"page": "clinic-page"}).headers["etag"]
    )


def test_facts_filters_refuse_what_names_nothing(client: TestClient) -> None:
    r = client.get("/facts", params={"page": "clinic-pag"})
    assert r.status_code == 400
    assert r.json()["code"] == "UNKNOWN_ID"
    assert r.json()["didYouMean"] == "clinic-page"
    r = client.get("/facts", params={"pages": "clinic-page"})
    assert r.status_code == 400
    assert r.json()["code"] == "BAD_PARAMETER"
