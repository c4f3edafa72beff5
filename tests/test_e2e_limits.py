"""End to end, bad input and limits: each gets the right status and its exact message from a real
`clinic-kg serve`, and the server keeps serving."""

from __future__ import annotations

import json
from typing import Any

import pytest

from . import live_server as live
from .live_server import LiveServer, raw, refused, run

# Fixtures shared with the other end-to-end modules (a real server and a gql client).
live_server = live.live_server
client = live.client

pytestmark = pytest.mark.e2e


def test_malformed_json(live_server: LiveServer) -> None:
    r = raw(live_server, "{not json")
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"] == (
        "request is not valid JSON: Expecting property name enclosed in double quotes "
        "(line 1, column 2)"
    )


def test_non_json_content_type(live_server: LiveServer) -> None:
    r = raw(live_server, "{ dataset { version } }", "application/graphql")
    assert r.status_code == 415
    assert r.json()["errors"][0]["message"] == (
        "Content-Type must be application/json (got application/graphql)"
    )


def test_empty_body(live_server: LiveServer) -> None:
    r = raw(live_server, b"")
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"] == (
        'request body is empty; send a JSON object {"query": "..."}'
    )


def test_ten_megabyte_body(live_server: LiveServer, client: Any) -> None:
    r = raw(live_server, json.dumps({"query": "{ dataset { version } }", "x": "y" * 10_000_000}))
    assert r.status_code == 413
    assert r.json()["errors"][0]["message"] == (
        "request body is larger than 65,536 bytes (max_body_bytes)"
    )
    assert run(client, "{ dataset { version } }")["dataset"]["version"]


def test_batch_is_refused(live_server: LiveServer) -> None:
    r = raw(live_server, json.dumps([{"query": "{ dataset { version } }"}] * 2))
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"] == (
        "batching is disabled: send one operation per request, as a JSON object rather than an "
        "array"
    )


def test_syntax_error(live_server: LiveServer) -> None:
    r = raw(live_server, json.dumps({"query": "{ dataset { version }"}))
    assert r.status_code == 400
    [error] = r.json()["errors"]
    assert error["message"] == "Syntax Error: Expected Name, found <EOF>."
    assert error["locations"] == [{"line": 1, "column": 22}]


def test_unknown_field_has_no_suggestion(client: Any) -> None:
    assert refused(client, "{ datasets { version } }") == [
        "Cannot query field 'datasets' on type 'Query'."
    ]


def test_wrong_variable_type(client: Any) -> None:
    assert refused(client, "query ($n: Int) { conditions(first: $n) { totalCount } }", n="ten") == [
        "Variable '$n' has invalid value: Int cannot represent non-integer value: 'ten'"
    ]


def test_fifty_deep_query(client: Any) -> None:
    inner = "id"
    for _ in range(13):
        inner = f"causes {{ edges {{ node {{ conditions {{ {inner} }} }} }} }}"
    assert refused(client, f'{{ condition(id: "x") {{ {inner} }} }}') == [
        "'anonymous' exceeds maximum operation depth of 12"
    ]


def test_too_many_aliases(client: Any) -> None:
    query = "{ " + " ".join(f"a{i}: dataset {{ version }}" for i in range(31)) + " }"
    assert refused(client, query) == ["31 aliases found. Allowed: 30"]


def test_thousand_aliases(client: Any) -> None:
    query = "{ " + " ".join(f"a{i}: dataset {{ version }}" for i in range(1000)) + " }"
    assert refused(client, query) == [
        "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."
    ]


def test_too_many_tokens(client: Any, live_server: LiveServer) -> None:
    assert refused(client, "{ dataset { " + "version " * 2500 + "} }") == [
        "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."
    ]
    huge = raw(live_server, json.dumps({"query": "{ dataset { " + "version " * 100_000 + "} }"}))
    assert huge.status_code == 413  # 100,000 tokens are 800 kB: the body cap answers first


def test_page_size_above_maximum(client: Any) -> None:
    assert refused(client, "{ conditions(first: 101) { totalCount } }") == [
        "`first` must be between 0 and 100 (max_page_size); got 101"
    ]


def test_server_keeps_serving_after_all_of_the_above(client: Any) -> None:
    assert run(client, '{ node(id: "smoking") { label } }') == {"node": {"label": "Smoking"}}
