"""GraphQL over HTTP as the spec says: the answer's media type follows Accept, and its status says
what happened; plus the bounds on one execution (deadline, response size) and on the cache."""

from __future__ import annotations

import json
from typing import Any

import pytest

from server.http.app import create_app
from server.http.media import GRAPHQL_RESPONSE, JSON, negotiate
from server.http.response_cache import LRUCache, ResponseCache, cache_key
from server.settings import Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot

from . import test_app_limits as limits
from .seed import FBSS
from .test_app_limits import TestClient, make_client

# The same in-process app and client as the limit tests.
snap = limits.snap
client = limits.client

FACT_PAGE = (
    "{ facts(first: 100) { edges { node { id statement citation quote source { id label } } } } }"
)


def post(client: TestClient, body: Any, accept: str | None) -> Any:
    headers = {"content-type": "application/json"}
    if accept is not None:
        headers["accept"] = accept
    return client.post("/graphql", content=json.dumps(body), headers=headers)


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json", JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),  # Apollo Client
        (f"application/json, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.5, application/json", JSON),
        (f"{GRAPHQL_RESPONSE};q=0.5, */*", JSON),
        (f"{GRAPHQL_RESPONSE}, */*;q=0.1", GRAPHQL_RESPONSE),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", JSON),  # a browser
        ("application/json;charset=utf-8", JSON),
        ("application/json;charset=latin-1", None),
        ("application/json;q=0", None),
        ("text/turtle", None),
        ("application/json;q=bad", None),
    ],
)
def test_media_type_negotiation(accept: str | None, chosen: str | None) -> None:
    assert negotiate(accept) == chosen


REQUEST_ERRORS = [
    ({"query": "{ dataset { version }"}, "GRAPHQL_PARSE_FAILED"),
    ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
    (
        {
            "query": "query Q($n: Int) { conditions(first: $n) { totalCount } }",
            "variables": {"n": "ten"},
        },
        "BAD_VARIABLES",
    ),
    (
        {
            "query": "{ conditions(first: 100) { edges { node { treatments(first: 100) { "
            "edges { node { conditions { treatments(first: 100) { totalCount } } } } } } } } }"
        },
        "QUERY_TOO_COSTLY",
    ),
]


@pytest.mark.parametrize(("body", "code"), REQUEST_ERRORS)
def test_unexecuted_requests_are_400_in_the_new_type_and_200_in_json(
    client: TestClient, body: dict[str, Any], code: str
) -> None:
    modern = post(client, body, GRAPHQL_RESPONSE)
    assert modern.status_code == 400
    assert modern.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in modern.json()
    assert [e["extensions"]["code"] for e in modern.json()["errors"]] == [code]
    for accept in (JSON, "*/*", None):
        legacy = post(client, body, accept)
        assert legacy.status_code == 200, accept
        assert legacy.headers["content-type"] == JSON
        assert [e["message"] for e in legacy.json()["errors"]] == [
            e["message"] for e in modern.json()["errors"]
        ]
        assert [e["extensions"]["code"] for e in legacy.json()["errors"]] == [code]


def test_successful_answers_carry_the_negotiated_type(client: TestClient) -> None:
    for accept, media in ((GRAPHQL_RESPONSE, GRAPHQL_RESPONSE), (JSON, JSON), (None, JSON)):
        r = post(client, {"query": "{ __typename }"}, accept)
        assert r.status_code == 200
        assert r.headers["content-type"] == media
        assert r.json()["data"] == {"__typename": "Query"}


def test_malformed_requests_are_4xx_whatever_the_type(client: TestClient) -> None:
    for accept in (GRAPHQL_RESPONSE, JSON):
        for body in (
            {"query": "{ __typename }", "extensions": "x"},
            {"query": "{ __typename }", "variables": [1]},
            {"qeury": "{ __typename }"},
            {"query": 0},
        ):
            r = post(client, body, accept)
            assert r.status_code == 400, (accept, body)
            assert r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    ok = post(client, {"query": "{ __typename }", "extensions": {"some": "value"}}, JSON)
    assert ok.status_code == 200
    assert "errors" not in ok.json()


def test_an_accept_naming_neither_type_is_406(client: TestClient) -> None:
    r = post(client, {"query": "{ __typename }"}, "text/turtle")
    assert r.status_code == 406
    assert r.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"
    assert GRAPHQL_RESPONSE in r.json()["errors"][0]["message"]


def test_get_answers_vary_by_accept(client: TestClient) -> None:
    params = {"query": "{ nope }"}
    modern = client.get("/graphql", params=params, headers={"accept": GRAPHQL_RESPONSE})
    legacy = client.get("/graphql", params=params, headers={"accept": JSON})
    assert (modern.status_code, legacy.status_code) == (400, 200)
    ok_modern = client.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"accept": GRAPHQL_RESPONSE}
    )
    ok_legacy = client.get("/graphql", params={"query": "{ __typename }"}, headers={"accept": JSON})
    assert ok_modern.headers["etag"] != ok_legacy.headers["etag"]
    assert ok_modern.headers["vary"] == "Accept"
    bad = client.get("/graphql", params={"query": "{ __typename }", "extensions": "[1]"})
    assert bad.status_code == 400


def test_an_execution_past_its_deadline_is_stopped(snap: Snapshot) -> None:
    # A deadline already past: the executor stops at its first clock check (64 fields in).
    with make_client(snap, execution_timeout_ms=0) as c:
        modern = post(c, {"query": FACT_PAGE}, GRAPHQL_RESPONSE)
        assert modern.status_code == 503
        [error] = modern.json()["errors"]
        assert error["extensions"]["code"] == "EXECUTION_TIMEOUT"
        assert "longer than 0 ms (execution_timeout_ms)" in error["message"]
        assert "data" not in modern.json()
        assert post(c, {"query": FACT_PAGE}, JSON).status_code == 200
        # a query under 64 fields finishes: the check is cheap, not per field
        small = post(c, {"query": "{ dataset { version } }"}, GRAPHQL_RESPONSE)
        assert small.status_code == 200
    with make_client(snap) as c:
        assert post(c, {"query": FACT_PAGE}, GRAPHQL_RESPONSE).status_code == 200


def test_a_response_over_the_cap_is_refused_with_its_size(snap: Snapshot) -> None:
    with make_client(snap, max_response_bytes=2_000) as c:
        r = post(c, {"query": FACT_PAGE}, GRAPHQL_RESPONSE)
        assert r.status_code == 400
        [error] = r.json()["errors"]
        assert error["extensions"]["code"] == "RESPONSE_TOO_LARGE"
        assert "more than 2,000 (max_response_bytes)" in error["message"]
        assert post(c, {"query": "{ __typename }"}, GRAPHQL_RESPONSE).status_code == 200


def test_the_response_cache_is_bounded_in_bytes(snap: Snapshot) -> None:
    with make_client(snap) as c:
        size = len(post(c, {"query": FACT_PAGE}, JSON).content)
    limit = 4 * size  # room for about three entries (key and data) of the query below
    app = create_app(
        Settings(response_cache_bytes=limit, response_cache_entry_bytes=2 * size),
        StoreHolder(snap),
    )
    cache = app.state.graphql.cache
    with TestClient(app) as c:
        # The same heavy query, differing by trailing spaces: each is an entry of its own.
        for spaces in range(20):
            r = post(c, {"query": FACT_PAGE + " " * spaces}, JSON)
            assert r.status_code == 200
            assert cache.bytes <= limit
        assert 2 <= len(cache) <= 4
        # a repeated query is still answered from the cache, byte for byte
        again = post(c, {"query": FACT_PAGE + " " * 19}, JSON)
        assert again.json()["data"] == r.json()["data"]


def test_entries_over_the_entry_limit_are_not_cached() -> None:
    cache = ResponseCache(100, max_bytes=10_000, max_entry_bytes=1_000)
    small, big = cache_key("v", "{ a }", None, None), cache_key("v", "{ b }", None, None)
    cache.put(small, b"x" * 500)
    cache.put(big, b"x" * 5_000)
    assert cache.get(small) == b"x" * 500
    assert cache.get(big) is None
    assert cache.bytes == 500 + len("v{ a }{}")


def test_the_byte_bound_evicts_the_least_recently_used() -> None:
    cache: LRUCache[str, bytes] = LRUCache(100, max_bytes=30, max_entry_bytes=30)
    for key in "abc":
        cache.put(key, b"0123456789"[:9])  # 1 + 9 bytes each
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("d", b"012345678")
    assert cache.get("b") is None
    assert {k for k in "acd" if cache.get(k) is not None} == {"a", "c", "d"}
    assert cache.bytes == 30
    cache.put("a", b"0")  # replacing an entry re-weighs it
    assert cache.bytes == 22


def test_the_condition_page_is_not_refused(client: TestClient) -> None:
    from .benchmarks.queries import CONDITION_PAGE

    r = post(client, {"query": CONDITION_PAGE, "variables": {"id": FBSS}}, GRAPHQL_RESPONSE)
    assert r.status_code == 200
    assert r.json()["data"]["condition"]["id"] == FBSS
