"""JSON request logs (`log_format=json`): one line per request on `clinic_kg.access` with its id
(the X-Request-Id of the response), route, status, duration, dataset version and, for GraphQL,
the operation, its cost, the cache hit and the error codes; masked errors logged as JSON too."""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from server.http.app import create_app
from server.http.request_log import JsonFormatter
from server.load.loader import load
from server.settings import SettingError, Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot, build_snapshot

from . import live_server as live
from .conftest import REPO
from .seed import FBSS
from .test_e2e_cost import fan_out

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

NAMED = f'query Condition {{ condition(id: "{FBSS}") {{ id label }} }}'
ACCESS_FIELDS = {
    "timestamp",
    "level",
    "logger",
    "message",
    "request_id",
    "method",
    "route",
    "path",
    "status",
    "duration_ms",
    "dataset_version",
}
GRAPHQL_FIELDS = {"operation_name", "operation_type", "cost", "cache_hit", "error_codes"}
WAIT = 15.0  # seconds: a bound for the log lines to reach the file, not a performance assertion


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return build_snapshot(load(REPO))


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The access records captured, as the JSON formatter writes them."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "clinic_kg.access"]


def test_one_access_line_per_request_with_the_graphql_fields(
    snap: Snapshot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="clinic_kg.access")
    app = create_app(Settings(log_format="json", max_query_cost=50), StoreHolder(snap))
    with TestClient(app) as client:
        first = client.post("/graphql", json={"query": NAMED})
        second = client.post("/graphql", json={"query": NAMED})
        costly = client.post(
            "/graphql", json={"query": "{ facts(first: 100) { edges { node { id } } } }"}
        )
        page = client.get(f"/id/{FBSS}", headers={"accept": "application/ld+json"})
    lines = access_lines(caplog)
    assert [line["request_id"] for line in lines] == [
        r.headers["x-request-id"] for r in (first, second, costly, page)
    ]
    one, two, refused, entity = lines
    for line in lines:
        assert set(line) >= ACCESS_FIELDS
        assert line["dataset_version"] == snap.version
        assert line["duration_ms"] >= 0
        assert line["timestamp"].endswith("+00:00")
    assert one["request_id"] == first.json()["extensions"]["requestId"]
    assert (one["method"], one["route"], one["path"], one["status"]) == (
        "POST",
        "/graphql",
        "/graphql",
        200,
    )
    assert {k: one[k] for k in GRAPHQL_FIELDS} == {
        "operation_name": "Condition",
        "operation_type": "query",
        "cost": 3,
        "cache_hit": False,
        "error_codes": [],
    }
    # Answered from the cache: no cost computed, no document read (the name is the one sent).
    assert {k: two[k] for k in GRAPHQL_FIELDS} == {
        "operation_name": None,
        "operation_type": "query",
        "cost": None,
        "cache_hit": True,
        "error_codes": [],
    }
    assert refused["error_codes"] == ["QUERY_TOO_COSTLY"]
    assert refused["cost"] > 50
    assert (entity["route"], entity["path"], entity["status"]) == ("/id/{id}", f"/id/{FBSS}", 200)
    assert not GRAPHQL_FIELDS & set(entity)


def test_a_batch_line_lists_each_operation(
    snap: Snapshot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="clinic_kg.access")
    app = create_app(Settings(log_format="json", allow_batching=True), StoreHolder(snap))
    with TestClient(app) as client:
        batch = [{"query": NAMED}, {"query": "{ nope }"}]
        assert client.post("/graphql", json=batch).status_code == 200
    [line] = access_lines(caplog)
    assert [(o["operation_name"], o["error_codes"]) for o in line["operations"]] == [
        ("Condition", []),
        (None, ["GRAPHQL_VALIDATION_FAILED"]),
    ]


def test_no_access_lines_in_text_mode(snap: Snapshot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="clinic_kg.access")
    with TestClient(create_app(Settings(), StoreHolder(snap))) as client:
        client.post("/graphql", json={"query": NAMED})
    assert not access_lines(caplog)


def test_an_unknown_log_format_is_a_setting_error(snap: Snapshot) -> None:
    with pytest.raises(SettingError, match="CLINIC_KG_LOG_FORMAT='xml'"):
        create_app(Settings(log_format="xml"), StoreHolder(snap))


class _Broken:
    """A store whose entity lookups fail: a bug the client sees masked."""

    def __init__(self, store: Snapshot) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def entity(self, id_or_iri: str) -> None:
        raise RuntimeError("the store broke")


def test_a_masked_error_is_one_json_line_with_its_request_id_and_traceback(
    snap: Snapshot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = create_app(Settings(log_format="json"), StoreHolder(_Broken(snap)))  # type: ignore[arg-type]
    with TestClient(app) as client:
        response = client.post("/graphql", json={"query": NAMED})
    request_id = response.headers["x-request-id"]
    assert request_id in response.json()["errors"][0]["message"]
    formatter = JsonFormatter()
    [error] = [json.loads(formatter.format(r)) for r in caplog.records if r.levelname == "ERROR"]
    assert error["request_id"] == request_id
    assert error["logger"] == "clinic_kg.graphql"
    assert "Traceback" in error["exc_info"]
    assert "RuntimeError: the store broke" in error["exc_info"]
    [access] = access_lines(caplog)
    assert access["request_id"] == request_id
    assert access["error_codes"] == ["INTERNAL_SERVER_ERROR"]


def test_the_formatter_renders_any_record_as_one_json_line() -> None:
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed: %s", ("why",), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "failed: why"
    assert "ZeroDivisionError" in parsed["exc_info"]


# -- a real server


@pytest.fixture(scope="module")
def json_server() -> Iterator[live.LiveServer]:
    yield from live.start(env={"CLINIC_KG_LOG_FORMAT": "json"})


def test_a_live_server_writes_exactly_one_json_line_per_request(
    json_server: live.LiveServer,
) -> None:
    url = json_server.url
    with httpx.Client(timeout=30) as session:
        responses = [
            session.post(json_server.graphql, json={"query": NAMED}),
            session.post(json_server.graphql, json={"query": NAMED}),
            session.post(
                json_server.graphql,
                json={"query": fan_out(), "variables": {"ids": [FBSS] * 100}},
            ),
            session.post(
                json_server.graphql, content="{", headers={"content-type": "application/json"}
            ),
            session.get(f"{url}/healthz"),
            session.get(f"{url}/id/{FBSS}", headers={"accept": "text/turtle"}),
            session.get(f"{url}/no/such/route"),
            session.get(f"{url}/metrics"),
        ]
    ids = [r.headers["x-request-id"] for r in responses]
    assert len(set(ids)) == len(ids)

    deadline = time.monotonic() + WAIT
    while True:
        records = _json_records(json_server.output())
        access = [r for r in records if r["logger"] == "clinic_kg.access"]
        if {r["request_id"] for r in access} >= set(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.1)

    by_id = {r["request_id"]: r for r in access}
    # Exactly one line per request: ours, plus the readiness probes of the test harness.
    assert len(by_id) == len(access)
    assert {r["request_id"] for r in access if r["route"] != "/readyz"} == set(ids)
    for response, request_id in zip(responses, ids, strict=True):
        line = by_id[request_id]
        assert set(line) >= ACCESS_FIELDS
        assert line["status"] == response.status_code
        assert line["path"] == response.request.url.path
        assert line["dataset_version"] == response.headers["x-dataset-version"]
    graphql = [by_id[i] for i in ids[:4]]
    assert [(r["cache_hit"], r["error_codes"]) for r in graphql] == [
        (False, []),
        (True, []),
        (False, ["QUERY_TOO_COSTLY"]),
        (None, ["BAD_REQUEST"]),
    ]
    assert graphql[0]["operation_name"] == "Condition"
    assert graphql[0]["cost"] == 3
    assert by_id[ids[5]]["route"] == "/id/{id}"
    assert by_id[ids[6]]["route"] == "<unmatched>"
    # uvicorn's own lines are JSON too, and its access log is off.
    assert any(r["logger"].startswith("uvicorn") for r in records)
    output = json_server.output()
    assert "HTTP/1.1" not in output
    assert not [line for line in output.splitlines() if line.startswith(("INFO:", "WARNING:"))]


def _json_records(output: str) -> list[dict[str, Any]]:
    """The log lines of the server's output (the CLI's own report lines are plain text)."""
    found = []
    for line in output.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))  # every log line must parse
    return found
