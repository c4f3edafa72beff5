"""The HTTP app, in process: every bad request gets the right status and a clear GraphQL error,
every limit its message, and the next request is served normally."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.http.app import create_app
from server.load.loader import load
from server.settings import Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot, build_snapshot

from .conftest import REPO

with warnings.catch_warnings():
    # Starlette would rather its TestClient ran on httpx2; httpx is what the project has.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

DATASET = "{ dataset { version } }"


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return build_snapshot(load(REPO))


def make_client(snap: Snapshot, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(**settings), StoreHolder(snap)))


@pytest.fixture(scope="module")
def client(snap: Snapshot) -> Iterator[TestClient]:
    with make_client(snap) as c:
        yield c


def post(client: TestClient, query: str, variables: Any = None, **kw: Any) -> Any:
    """POST as a GraphQL-over-HTTP client that accepts the spec's own media type, whose status
    codes say when nothing was executed (application/json answers 200 to those: see
    tests/test_graphql_over_http.py)."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    headers = {"accept": "application/graphql-response+json", **kw.pop("headers", {})}
    return client.post("/graphql", json=body, headers=headers, **kw)


def messages(response: Any) -> list[str]:
    return [e["message"] for e in response.json()["errors"]]


def assert_still_serving(client: TestClient, snap: Snapshot) -> None:
    ok = post(client, DATASET)
    assert ok.status_code == 200
    assert ok.json()["data"] == {"dataset": {"version": snap.version}}


def test_answer_carries_the_dataset_version(client: TestClient, snap: Snapshot) -> None:
    r = post(client, DATASET)
    assert r.status_code == 200
    assert r.headers["x-dataset-version"] == snap.version
    assert r.json()["extensions"]["datasetVersion"] == snap.version
    assert r.json()["extensions"]["requestId"] == r.headers["x-request-id"]


@pytest.mark.parametrize(
    ("content", "headers", "status", "message"),
    [
        (
            "{not json",
            {"content-type": "application/json"},
            400,
            "request is not valid JSON: Expecting property name enclosed in double quotes "
            "(line 1, column 2)",
        ),
        (
            "query { dataset { version } }",
            {"content-type": "text/plain"},
            415,
            "Content-Type must be application/json (got text/plain)",
        ),
        ("{}", {}, 415, "Content-Type must be application/json (got none)"),
        (
            "",
            {"content-type": "application/json"},
            400,
            'request body is empty; send a JSON object {"query": "..."}',
        ),
        (
            '[{"query": "{ dataset { version } }"}]',
            {"content-type": "application/json"},
            400,
            "batching is disabled: send one operation per request, as a JSON object rather than "
            "an array",
        ),
        (
            "42",
            {"content-type": "application/json"},
            400,
            'request body must be a JSON object {"query": "..."}',
        ),
        (
            '{"variables": {}}',
            {"content-type": "application/json"},
            400,
            "missing `query`: the JSON object needs a non-empty string `query`",
        ),
        (
            '{"query": "{ dataset { version } }", "variables": [1]}',
            {"content-type": "application/json"},
            400,
            "`variables` must be a JSON object or null",
        ),
        (
            '{"query": "{ dataset { version } }", "operationName": 5}',
            {"content-type": "application/json"},
            400,
            "`operationName` must be a string or null",
        ),
    ],
)
def test_bad_requests(
    client: TestClient,
    snap: Snapshot,
    content: str,
    headers: dict[str, str],
    status: int,
    message: str,
) -> None:
    r = client.post("/graphql", content=content.encode(), headers=headers)
    assert r.status_code == status
    assert messages(r) == [message]
    assert r.headers["x-dataset-version"] == snap.version
    assert_still_serving(client, snap)


def test_ten_megabyte_body_is_refused_with_413(client: TestClient, snap: Snapshot) -> None:
    big = json.dumps({"query": "{ dataset { version } }", "pad": "x" * 10_000_000})
    r = client.post("/graphql", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert messages(r) == ["request body is larger than 65,536 bytes (max_body_bytes)"]
    assert_still_serving(client, snap)


def test_chunked_body_without_length_is_cut_at_the_limit(
    client: TestClient, snap: Snapshot
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "'
        for _ in range(100):
            yield b"x" * 1024

    r = client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert_still_serving(client, snap)


TOO_DEEP = (
    "request is not valid JSON: arrays and objects are nested too deeply to read; "
    "nest them less deeply"
)


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("levels", [1_000, 30_000])  # the 2 kB of the report; 60 kB, under the cap
def test_json_nested_too_deep_to_decode_is_a_400(
    client: TestClient, snap: Snapshot, levels: int
) -> None:
    bodies = [nested(levels), f'{{"query": "{DATASET}", "variables": {{"v": {nested(levels)}}}}}']
    for body in bodies:
        r = client.post("/graphql", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, r.text
        assert messages(r) == [TOO_DEEP]
        assert r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert_still_serving(client, snap)


def test_get_variables_nested_too_deep_to_decode_are_a_400(
    client: TestClient, snap: Snapshot
) -> None:
    r = client.get("/graphql", params={"query": DATASET, "variables": nested(1_000)})
    assert r.status_code == 400, r.text
    assert messages(r) == [TOO_DEEP]
    assert_still_serving(client, snap)


def test_json_number_too_long_to_decode_is_a_400(client: TestClient, snap: Snapshot) -> None:
    body = f'{{"query": "{DATASET}", "variables": {{"n": {"1" * 5000}}}}}'
    r = client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert messages(r) == [
        "request is not valid JSON: Exceeds the limit (4300 digits) for integer string "
        "conversion: value has 5000 digits"
    ]
    assert_still_serving(client, snap)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ dataset { version }", "Syntax Error: Expected Name, found <EOF>."),
        ("{ nope }", "Cannot query field 'nope' on type 'Query'."),
        ("{ conditionz { totalCount } }", "Cannot query field 'conditionz' on type 'Query'."),
        (
            '{ search(text: "x", types: [DRUGG]) { totalCount } }',
            "Value 'DRUGG' does not exist in 'NodeType' enum.",
        ),
        ("mutation { x }", "only queries are served: this API is read-only"),
    ],
)
def test_query_errors_are_readable_without_suggestions(
    client: TestClient, snap: Snapshot, query: str, message: str
) -> None:
    r = post(client, query)
    assert r.status_code == 400
    assert messages(r) == [message]
    assert "Did you mean" not in r.text
    assert_still_serving(client, snap)


def test_unknown_id_is_null_not_an_error(client: TestClient) -> None:
    r = post(client, '{ node(id: "no-such-id") { id } condition(id: "acetaminophen") { id } }')
    assert r.status_code == 200
    assert r.json()["data"] == {"node": None, "condition": None}
    assert "errors" not in r.json()


def test_wrong_variable_type(client: TestClient, snap: Snapshot) -> None:
    r = post(client, "query ($n: Int) { conditions(first: $n) { totalCount } }", {"n": "ten"})
    assert r.status_code == 400
    assert messages(r) == [
        "Variable '$n' has invalid value: Int cannot represent non-integer value: 'ten'"
    ]
    assert r.json()["errors"][0]["extensions"]["code"] == "BAD_VARIABLES"
    assert_still_serving(client, snap)


def deep_query(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"causes {{ edges {{ node {{ conditions {{ {inner} }} }} }} }}"
    return f'{{ condition(id: "x") {{ {inner} }} }}'


def test_fifty_deep_query_is_refused(client: TestClient, snap: Snapshot) -> None:
    r = post(client, deep_query(13))  # 13 x 4 levels: about 50 deep
    assert r.status_code == 400
    assert messages(r) == ["'anonymous' exceeds maximum operation depth of 12"]
    assert r.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert_still_serving(client, snap)


def aliases(n: int) -> str:
    return "{ " + " ".join(f"a{i}: dataset {{ version }}" for i in range(n)) + " }"


def test_thirty_one_aliases_are_refused(client: TestClient, snap: Snapshot) -> None:
    assert post(client, aliases(30)).status_code == 200
    r = post(client, aliases(31))
    assert r.status_code == 400
    assert messages(r) == ["31 aliases found. Allowed: 30"]
    assert r.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"


def test_thousand_aliases_hit_the_token_limit_first(client: TestClient, snap: Snapshot) -> None:
    r = post(client, aliases(1000))
    assert r.status_code == 400
    assert messages(r) == [
        "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."
    ]
    assert_still_serving(client, snap)


def test_thousand_aliases_with_a_larger_token_budget(snap: Snapshot) -> None:
    with make_client(snap, max_tokens=100_000) as c:
        r = post(c, aliases(1000))
    assert r.status_code == 400
    assert messages(r) == ["1000 aliases found. Allowed: 30"]


def test_hundred_thousand_tokens(client: TestClient, snap: Snapshot) -> None:
    query = "{ dataset { " + "version " * 100_000 + "} }"
    r = post(client, query)
    assert r.status_code == 413  # 800 kB: the body cap stops it before the parser runs
    with make_client(snap, max_body_bytes=10_000_000) as c:
        r = post(c, query)
        assert r.status_code == 400
        assert messages(r) == [
            "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."
        ]
        assert r.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_TOKENS"
        assert_still_serving(c, snap)


def test_page_size_above_the_maximum(client: TestClient) -> None:
    r = post(client, "{ conditions(first: 1000) { totalCount } }")
    assert r.status_code == 200
    # Lists are non-null: a bad argument is an error, and there is no partial answer to give.
    assert r.json()["data"] is None
    assert messages(r) == ["`first` must be between 0 and 100 (max_page_size); got 1000"]
    assert r.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_bad_cursor(client: TestClient) -> None:
    r = post(client, '{ conditions(after: "garbage!") { totalCount } }')
    assert messages(r) == ["`after` is not a cursor from this API: 'garbage!'"]


def test_too_many_ids(client: TestClient) -> None:
    ids = json.dumps([f"x{i}" for i in range(101)])
    r = post(client, f"{{ nodes(ids: {ids}) {{ id }} }}")
    assert messages(r) == ["at most 100 ids per request (max_page_size); got 101"]


def test_unexpected_errors_are_masked_and_logged(
    snap: Snapshot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(snap, "concepts", broken)
    with make_client(snap) as c, caplog.at_level(logging.ERROR, "clinic_kg.graphql"):
        r = post(c, '{ concepts(scheme: "Units") { id } }')
    assert r.status_code == 200
    assert r.json()["data"] is None
    request_id = r.headers["x-request-id"]
    assert messages(r) == [
        f"Internal server error (request id {request_id}); the details are in the server log."
    ]
    assert "secret" not in r.text
    assert request_id in caplog.text
    assert "RuntimeError: secret internal detail" in caplog.text  # the traceback, in the log only


def test_method_not_allowed(client: TestClient) -> None:
    r = client.put("/graphql", json={"query": DATASET})
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
    assert messages(r) == ["method PUT is not allowed; use GET or POST"]


def test_get_query_etag_and_304(client: TestClient, snap: Snapshot) -> None:
    r = client.get("/graphql", params={"query": DATASET})
    assert r.status_code == 200
    etag = r.headers["etag"]
    assert etag.startswith(f'"{snap.version}-')
    again = client.get("/graphql", params={"query": DATASET}, headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    assert again.headers["x-dataset-version"] == snap.version
    weak = client.get("/graphql", params={"query": DATASET}, headers={"if-none-match": f"W/{etag}"})
    assert weak.status_code == 304
    other = client.get("/graphql", params={"query": "{ dataset { tripleCount } }"})
    assert other.headers["etag"] != etag


def test_get_with_variables_and_operation_name(client: TestClient) -> None:
    query = "query A($id: ID!) { node(id: $id) { label } } query B { dataset { version } }"
    r = client.get(
        "/graphql",
        params={
            "query": query,
            "variables": '{"id": "acetaminophen"}',
            "operationName": "A",
        },
    )
    assert r.json()["data"] == {"node": {"label": "Acetaminophen"}}
    bad = client.get("/graphql", params={"query": query, "variables": "{oops"})
    assert bad.status_code == 400
    assert messages(bad)[0].startswith("request is not valid JSON")
    unknown = client.get("/graphql", params={"query": query, "operationName": "C"})
    assert unknown.status_code == 400
    assert messages(unknown) == [
        "unknown operation 'C': name one of the document's operations in `operationName`"
    ]


def test_get_without_query(client: TestClient) -> None:
    r = client.get("/graphql")
    assert r.status_code == 400
    assert messages(r)[0].startswith("missing `query`")


def test_graphiql_for_browsers(client: TestClient, snap: Snapshot) -> None:
    r = client.get("/graphql", headers={"accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 200
    assert "GraphiQL" in r.text
    assert "/graphiql-static/graphiql.min.js" in r.text
    assert r.headers["x-dataset-version"] == snap.version
    js = client.get("/graphiql-static/graphiql.min.js")
    assert js.status_code == 200
    assert len(js.content) > 100_000


def test_graphiql_and_introspection_switch_off(snap: Snapshot) -> None:
    with make_client(snap, graphiql=False, introspection=False) as c:
        page = c.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 400
        assert c.get("/graphiql-static/graphiql.min.js").status_code == 404
        r = post(c, "{ __schema { types { name } } }")
        assert r.status_code == 400
        assert messages(r)[0] == (
            "GraphQL introspection has been disabled, but the requested query contained the "
            "field '__schema'."
        )
        assert_still_serving(c, snap)


def test_introspection_is_on_by_default(client: TestClient) -> None:
    r = post(client, "{ __schema { queryType { name } } }")
    assert r.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}


def test_batching_when_enabled(snap: Snapshot) -> None:
    with make_client(snap, allow_batching=True) as c:
        r = c.post(
            "/graphql", json=[{"query": DATASET}, {"query": '{ node(id: "smoking") { label } }'}]
        )
        assert r.status_code == 200
        assert [item["data"] for item in r.json()] == [
            {"dataset": {"version": snap.version}},
            {"node": {"label": "Smoking"}},
        ]
        too_many = c.post("/graphql", json=[{"query": DATASET}] * 31)
        assert too_many.status_code == 400
        assert messages(too_many) == ["a batch holds 1 to 30 operations (max_aliases); got 31"]


def test_health_and_readiness(client: TestClient, snap: Snapshot) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["lastReloadError"] is None
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["datasetVersion"] == snap.version
    assert ready.headers["x-dataset-version"] == snap.version


def test_identical_queries_are_answered_from_the_cache(snap: Snapshot) -> None:
    app = create_app(Settings(), StoreHolder(snap))
    with TestClient(app) as c:
        first = post(c, "{ conditions { totalCount } }")
        second = post(c, "{ conditions { totalCount } }")
    assert first.json()["data"] == second.json()["data"]
    assert len(app.state.graphql.cache) == 1


def test_swapping_the_store_serves_the_new_version(snap: Snapshot, project: Path) -> None:
    path = project / "kg" / "symptoms.ttl"
    path.write_text(path.read_text().replace('"Back pain"@en', '"Back ache"@en'))
    newer = build_snapshot(load(project))
    assert newer.version != snap.version
    holder = StoreHolder(snap)
    with TestClient(create_app(Settings(), holder)) as c:
        query = '{ node(id: "back-pain") { label } }'
        assert post(c, query).json()["data"] == {"node": {"label": "Back pain"}}
        holder.swap(newer)
        r = post(c, query)
        assert r.json()["data"] == {"node": {"label": "Back ache"}}
        assert r.headers["x-dataset-version"] == newer.version


def test_a_failed_reload_is_reported_while_the_old_version_serves(snap: Snapshot) -> None:
    holder = StoreHolder(snap)
    with TestClient(create_app(Settings(), holder)) as c:
        holder.fail("kg/symptoms.ttl:3: error KG-PARSE Turtle syntax error", snap.loaded_at)
        r = post(c, "{ dataset { version lastReloadError } }")
        assert r.json()["data"]["dataset"] == {
            "version": snap.version,
            "lastReloadError": "kg/symptoms.ttl:3: error KG-PARSE Turtle syntax error",
        }
        assert c.get("/readyz").json()["lastReloadError"].startswith("kg/symptoms.ttl:3")


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("{}", (1, 1)),
        ('{ condition(id: "failed-back-surgery-syndrome") {} }', (1, 49)),
        ("query Q { ... on Query {} }", (1, 24)),
        ("query One { dataset { version } }\nquery Other {}", (2, 13)),
    ],
)
def test_an_empty_selection_set_is_a_validation_error(
    client: TestClient, snap: Snapshot, query: str, where: tuple[int, int]
) -> None:
    """graphql-core parses `{}`; strawberry's depth limiter would fail on it with an internal
    error. It is the client's mistake, said as one, with where it is."""
    r = post(client, query)
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert {e["extensions"]["code"] for e in errors} == {"GRAPHQL_VALIDATION_FAILED"}
    [empty] = [e for e in errors if "at least one field" in e["message"]]
    assert empty["locations"] == [{"line": where[0], "column": where[1]}]
    assert_still_serving(client, snap)
