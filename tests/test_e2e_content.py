"""/id and /facts against a real `clinic-kg serve`: path tricks sent byte for byte (a client
library would normalize them), HEAD, 304s, and the GraphQL `schemaOrg` field over the wire."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from . import live_server as live
from .live_server import LiveServer, run

live_server = live.live_server_on_each_store
client = live.client

pytestmark = pytest.mark.e2e

TYPES = ("text/html", "text/turtle", "application/ld+json", "application/n-triples")


def raw_get(server: LiveServer, path: str, method: str = "GET", **headers: str) -> Any:
    """Send `path` exactly as written: no normalization of `..` or of percent-escapes."""
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name.replace("_", "-"), value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "path",
    [
        "/id/..%2F..%2Fetc%2Fpasswd",
        "/id/../graphql",
        "/id/%2e%2e",
        "/id/a%2Fb",
        "/id/a%5Cb",
        "/id/acetaminophen%00",
        "/id/" + "a" * 300,
        "/facts/..%2Flumbar-fusion-success-rate",
        "/facts/" + "f" * 300,
    ],
)
def test_path_tricks_are_400(live_server: LiveServer, path: str) -> None:
    status, _, body = raw_get(live_server, path, accept="text/html")
    assert status == 400, body
    assert "Traceback" not in body


@pytest.mark.parametrize("media_type", TYPES)
def test_id_negotiates_each_type(live_server: LiveServer, media_type: str) -> None:
    r = httpx.get(f"{live_server.url}/id/acetaminophen", headers={"accept": media_type}, timeout=30)
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media_type
    assert r.headers["vary"] == "Accept"
    assert r.headers["cache-control"].startswith("public, max-age=")
    assert r.headers["x-dataset-version"] in r.headers["etag"]
    again = httpx.get(
        f"{live_server.url}/id/acetaminophen",
        headers={"accept": media_type, "if-none-match": r.headers["etag"]},
        timeout=30,
    )
    assert again.status_code == 304
    assert again.content == b""


def test_head_sends_no_body(live_server: LiveServer) -> None:
    status, headers, body = raw_get(
        live_server, "/id/failed-back-surgery-syndrome", "HEAD", accept="text/turtle"
    )
    assert status == 200
    assert body == ""
    assert headers["etag"].endswith('-ttl"')


def test_unknown_id_and_unsupported_accept(live_server: LiveServer) -> None:
    missing = httpx.get(f"{live_server.url}/id/no-such-entity", timeout=30)
    assert missing.status_code == 404
    assert "<h1>404 Not found</h1>" in missing.text
    refused = httpx.get(
        f"{live_server.url}/id/acetaminophen", headers={"accept": "image/png"}, timeout=30
    )
    assert refused.status_code == 406
    assert all(t in refused.text for t in TYPES)


def test_fact_json_and_304(live_server: LiveServer) -> None:
    url = f"{live_server.url}/facts/lumbar-fusion-success-rate"
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200
    assert r.json()["statement"] == "Success rate of lumbar spinal fusion: approximately 10%–40%."
    again = httpx.get(url, headers={"if-none-match": r.headers["etag"]}, timeout=30)
    assert again.status_code == 304
    unknown = httpx.get(f"{live_server.url}/facts/no-such-fact", timeout=30)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "NOT_FOUND"


def test_schema_org_field_over_the_wire(client: Any) -> None:
    data = run(client, '{ condition(id: "failed-back-surgery-syndrome") { schemaOrg } }')
    document = data["condition"]["schemaOrg"]
    assert document["@context"] == "https://schema.org"
    assert document["about"]["@id"].endswith("/id/failed-back-surgery-syndrome")
    symptoms = {s["name"] for s in document["about"]["signOrSymptom"]}
    assert "Sharp pain in the extremities" in symptoms
    json.dumps(document)  # plain JSON all the way down
