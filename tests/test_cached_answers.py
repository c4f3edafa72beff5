"""The fast path of cached `POST /graphql` answers (server/http/cached_answers.py): the same
answer, headers, metrics and access-log line as the endpoint gives, and the endpoint's own answer
for everything it does not take (other media, bad requests, misses)."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.http import cached_answers
from server.http.app import GraphQLEndpoint, create_app
from server.http.request_log import ACCESS_LOG
from server.load.loader import load
from server.settings import Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot, build_snapshot

from .test_app_limits import snap
from .test_metrics import scrape, value

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

snap = snap  # the module's fixture, shared
QUERY = "query Page($id: ID!) { condition(id: $id) { id label symptoms(first: 3) { totalCount } } }"
VARIABLES = {"id": "failed-back-surgery-syndrome"}
GRAPHQL_RESPONSE = "application/graphql-response+json"
LABEL = '"Failed back surgery syndrome"@en'


@pytest.fixture
def endpoint_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The requests that reached the endpoint (the slow path)."""
    calls: list[str] = []
    handle = GraphQLEndpoint.handle

    async def counted(self: GraphQLEndpoint, request: Any) -> Any:
        calls.append(request.url.path)
        return await handle(self, request)

    monkeypatch.setattr(GraphQLEndpoint, "handle", counted)
    return calls


@pytest.fixture
def client(snap: Snapshot, endpoint_calls: list[str]) -> Iterator[TestClient]:
    app = create_app(Settings(log_format="json"), StoreHolder(snap))
    with TestClient(app) as test_client:
        yield test_client


def post(client: TestClient, body: Any = None, **headers: str) -> Any:
    content = json.dumps({"query": QUERY, "variables": VARIABLES} if body is None else body)
    headers = {"content-type": "application/json", **headers}
    return client.post("/graphql", content=content, headers=headers)


def without_request_id(response: Any) -> tuple[Any, list[tuple[str, str]]]:
    body = response.json()
    assert body["extensions"]["requestId"] == response.headers["x-request-id"]
    del body["extensions"]["requestId"]
    headers = [(k, v) for k, v in response.headers.items() if k != "x-request-id"]
    return body, headers


def test_a_cache_hit_is_answered_before_the_endpoint_with_the_same_answer(
    client: TestClient, endpoint_calls: list[str], snap: Snapshot
) -> None:
    executed = post(client)  # a miss: the endpoint executes and caches it
    assert endpoint_calls == ["/graphql"]
    hit = post(client)
    assert endpoint_calls == ["/graphql"]  # the hit never reached it
    assert hit.status_code == executed.status_code == 200
    assert without_request_id(hit) == without_request_id(executed)
    assert hit.headers["x-request-id"] != executed.headers["x-request-id"]
    assert hit.headers["x-dataset-version"] == snap.version
    assert list(hit.headers) == list(executed.headers)  # the same headers, in the same order


def test_a_cache_hit_is_counted_and_logged_like_any_answer(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    post(client)
    with caplog.at_level(logging.INFO, logger=ACCESS_LOG.name):
        hit = post(client, accept=GRAPHQL_RESPONSE)
    [line] = [r for r in caplog.records if r.name == ACCESS_LOG.name]
    fields = line.fields  # type: ignore[attr-defined]
    assert fields["request_id"] == hit.headers["x-request-id"]
    assert fields["route"] == "/graphql"
    assert fields["status"] == 200
    assert fields["cache_hit"] is True
    assert fields["operation_name"] is None  # as sent: no operationName
    assert fields["dataset_version"] == hit.headers["x-dataset-version"]
    samples = scrape(client.get("/metrics").text)
    route = {"route": "/graphql", "method": "POST", "status": "200"}
    assert value(samples, "clinic_kg_http_requests_total", **route) == 2
    assert value(samples, "clinic_kg_http_request_duration_seconds_count", route="/graphql") == 2
    assert value(samples, "clinic_kg_response_cache_hits_total") == 1
    assert value(samples, "clinic_kg_response_cache_misses_total") == 1
    ok = {"operation_type": "query", "outcome": "ok"}
    assert value(samples, "clinic_kg_graphql_operations_total", **ok) == 2


def test_the_media_type_of_a_hit_follows_accept(client: TestClient) -> None:
    post(client)
    assert post(client, accept=GRAPHQL_RESPONSE).headers["content-type"] == GRAPHQL_RESPONSE
    assert post(client, accept="*/*").headers["content-type"] == "application/json"
    refused = post(client, accept="text/html")
    assert refused.status_code == 406
    assert refused.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


def test_what_the_endpoint_would_refuse_is_still_refused_by_it(
    client: TestClient, endpoint_calls: list[str]
) -> None:
    post(client)
    plain = client.post(
        "/graphql",
        content=json.dumps({"query": QUERY, "variables": VARIABLES}),
        headers={"content-type": "text/plain"},
    )
    assert plain.status_code == 415
    bad = post(client, {"query": QUERY, "variables": VARIABLES, "extensions": "nope"})
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    other = post(client, {"query": QUERY, "variables": {"id": "chronic-low-back-pain"}})
    assert other.status_code == 200  # a miss: executed
    assert len(endpoint_calls) == 4


def _fast_path(client: TestClient) -> Any:
    front = client.app.middleware_stack.app  # type: ignore[attr-defined]
    return front.cached


def test_a_body_sent_again_is_read_from_its_bytes_and_answers_the_current_version(
    snap: Snapshot, project: Path, endpoint_calls: list[str]
) -> None:
    holder = StoreHolder(snap)
    with TestClient(create_app(Settings(), holder)) as client:
        executed = post(client)
        hit = post(client)
        assert without_request_id(hit) == without_request_id(executed)
        assert len(_fast_path(client)._asked) == 1  # one body, remembered by its bytes
        assert endpoint_calls == ["/graphql"]
        # A reload: the remembered body is asked of the new version (a miss, then its hit).
        path = project / "kg" / "conditions" / "failed-back-surgery-syndrome.ttl"
        path.write_text(path.read_text().replace(LABEL, '"Failed back surgery syndrome (FBSS)"@en'))
        newer = build_snapshot(load(project))
        holder.swap(newer)
        for answer in (post(client), post(client)):
            assert answer.headers["x-dataset-version"] == newer.version
            assert (
                answer.json()["data"]["condition"]["label"] == "Failed back surgery syndrome (FBSS)"
            )
        assert endpoint_calls == ["/graphql", "/graphql"]


def test_bodies_with_extensions_are_decoded_every_time(client: TestClient) -> None:
    # Persisted queries depend on what clients registered, not on the bytes alone.
    body = {"query": QUERY, "variables": VARIABLES, "extensions": {}}
    post(client, body)
    assert post(client, body).status_code == 200
    assert _fast_path(client)._asked == {}


def test_the_remembered_bodies_are_bounded(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cached_answers, "DECODED", 2)
    for n in (3, 5, 7, 9):
        post(client, {"query": QUERY, "variables": {"id": f"condition-{n}"}})
        assert 1 <= len(_fast_path(client)._asked) <= 2
    monkeypatch.setattr(cached_answers, "DECODED_BYTES", 10)
    _fast_path(client)._asked.clear()
    post(client)
    assert _fast_path(client)._asked == {}  # longer than DECODED_BYTES: never kept
