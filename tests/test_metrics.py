"""GET /metrics: counters that move by exactly the requests sent, a latency histogram per route
template, GraphQL outcomes and refusals by code, the response cache, reloads and the dataset
version; and, against a real server under a bounded load, a scrape that matches the load."""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from server.http.app import create_app
from server.http.metrics import Metrics
from server.load.loader import load
from server.serve.watch import Reloader
from server.settings import Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot, build_snapshot

from . import live_server as live
from .conftest import REPO
from .kg_files import described_in
from .seed import FBSS
from .test_e2e_cost import fan_out

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

QUERY = f'{{ condition(id: "{FBSS}") {{ id label }} }}'
STATISTIC, _ = described_in(REPO, "back-pain-lifetime-prevalence")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(text: str) -> Samples:
    """Every sample of an exposition, by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when the exposition does not have it (a counter never incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def labelled(samples: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for (n, labels) in samples if n == name]


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return build_snapshot(load(REPO))


def make_client(snap: Snapshot, holder: StoreHolder | None = None, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(**settings), holder or StoreHolder(snap)))


def metrics(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return scrape(response.text)


def post(client: TestClient, query: str, **body: Any) -> Any:
    return client.post("/graphql", json={"query": query, **body})


def test_counters_move_by_exactly_the_requests_sent(snap: Snapshot) -> None:
    with make_client(snap) as client:
        before = metrics(client)
        for _ in range(7):
            assert post(client, QUERY).status_code == 200
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
        assert client.get(f"/id/{FBSS}").status_code == 200
        assert client.get("/id/no-such-entity").status_code == 404
        assert client.get("/no/such/route").status_code == 404
        after = metrics(client)
    requests = "clinic_kg_http_requests_total"
    graphql = {"route": "/graphql", "method": "POST", "status": "200"}
    assert value(after, requests, **graphql) - value(before, requests, **graphql) == 7
    assert value(after, requests, route="/healthz", method="GET", status="200") == 3
    # One label value for every id, and one for every path no route matched.
    assert value(after, requests, route="/id/{id}", method="GET", status="200") == 1
    assert value(after, requests, route="/id/{id}", method="GET", status="404") == 1
    assert value(after, requests, route="<unmatched>", method="GET", status="404") == 1
    assert not [labels for labels in labelled(after, requests) if "no-such" in labels["route"]]
    # The scrape before is counted, the one being answered is not yet.
    assert value(after, requests, route="/metrics", method="GET", status="200") == 1
    hist = "clinic_kg_http_request_duration_seconds"
    assert value(after, hist + "_count", route="/graphql") == 7
    assert value(after, hist + "_sum", route="/graphql") > 0
    assert value(after, hist + "_bucket", route="/graphql", le="+Inf") == 7
    assert value(after, hist + "_count", route="/id/{id}") == 2


def test_graphql_outcomes_cache_and_cost(snap: Snapshot) -> None:
    with make_client(snap) as client:
        for _ in range(3):
            post(client, QUERY)
        post(client, '{ facts(page: "no-such-page") { edges { node { id } } } }')  # executed
        post(client, "{ condition(id: ")  # a syntax error: nothing executed
        samples = metrics(client)
    operations = "clinic_kg_graphql_operations_total"
    assert value(samples, operations, operation_type="query", outcome="ok") == 3
    assert value(samples, operations, operation_type="query", outcome="errors") == 1
    assert value(samples, operations, operation_type="unknown", outcome="refused") == 1
    rejections = "clinic_kg_graphql_rejections_total"
    assert labelled(samples, rejections) == [{"code": "GRAPHQL_PARSE_FAILED"}]
    # The same query three times: one execution, then two hits; the other two were looked up.
    assert value(samples, "clinic_kg_response_cache_misses_total") == 3
    assert value(samples, "clinic_kg_response_cache_hits_total") == 2
    assert value(samples, "clinic_kg_response_cache_entries", cache="graphql") == 1
    assert value(samples, "clinic_kg_response_cache_bytes", cache="graphql") > len(QUERY)
    # Two executions were costed (the cached answers are not): condition, id, label (3), and
    # facts, edges, then id and node on each of the 20 items of a default page (42).
    assert value(samples, "clinic_kg_graphql_query_cost_count") == 2
    assert value(samples, "clinic_kg_graphql_query_cost_sum") == 3 + 42
    assert value(samples, "clinic_kg_executions_in_flight") == 0


@pytest.mark.parametrize(
    ("settings", "query", "code"),
    [
        (
            {"max_query_cost": 50},
            "{ facts(first: 100) { edges { node { id } } } }",
            "QUERY_TOO_COSTLY",
        ),
        (
            {"max_query_depth": 2},
            '{ condition(id: "x") { symptoms { edges { node { id } } } } }',
            "QUERY_TOO_DEEP",
        ),
        ({"max_aliases": 1}, "{ a: __typename b: __typename }", "TOO_MANY_ALIASES"),
        ({"max_response_bytes": 50}, QUERY, "RESPONSE_TOO_LARGE"),
    ],
)
def test_a_refused_query_shows_in_its_own_counter(
    snap: Snapshot, settings: dict[str, Any], query: str, code: str
) -> None:
    with make_client(snap, **settings) as client:
        response = post(client, query)
        assert response.json()["errors"][0]["extensions"]["code"] == code
        post(client, "{ __typename }")  # an accepted one beside it
        samples = metrics(client)
    rejections = labelled(samples, "clinic_kg_graphql_rejections_total")
    assert rejections == [{"code": code}]
    assert value(samples, "clinic_kg_graphql_rejections_total", code=code) == 1
    refused = [
        labels
        for labels in labelled(samples, "clinic_kg_graphql_operations_total")
        if labels["outcome"] == "refused"
    ]
    assert len(refused) == 1
    assert value(samples, "clinic_kg_graphql_operations_total", **refused[0]) == 1


def test_a_costly_query_records_its_cost_and_type(snap: Snapshot) -> None:
    with make_client(snap, max_query_cost=50) as client:
        post(client, "{ facts(first: 100) { edges { node { id } } } }")
        samples = metrics(client)
    labels = {"operation_type": "query", "outcome": "refused"}
    assert value(samples, "clinic_kg_graphql_operations_total", **labels) == 1
    assert value(samples, "clinic_kg_graphql_query_cost_sum") > 50
    assert value(samples, "clinic_kg_graphql_query_cost_bucket", le="30.0") == 0


def test_http_refusals_count_by_their_code(snap: Snapshot) -> None:
    with make_client(snap) as client:
        client.post("/graphql", content="{", headers={"content-type": "application/json"})
        client.post("/graphql", content="x", headers={"content-type": "text/plain"})
        client.put("/graphql", json={"query": "{ __typename }"})
        samples = metrics(client)
    rejections = "clinic_kg_graphql_rejections_total"
    assert value(samples, rejections, code="BAD_REQUEST") == 1
    assert value(samples, rejections, code="UNSUPPORTED_MEDIA_TYPE") == 1
    assert value(samples, rejections, code="METHOD_NOT_ALLOWED") == 1
    assert (
        value(
            samples, "clinic_kg_http_requests_total", route="/graphql", method="PUT", status="405"
        )
        == 1
    )


def test_every_response_carries_the_request_id_the_graphql_body_names(snap: Snapshot) -> None:
    with make_client(snap) as client:
        response = post(client, QUERY)
        assert response.headers["x-request-id"] == response.json()["extensions"]["requestId"]
        ids = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
        ids.add(client.get("/no/such/route").headers["x-request-id"])
    assert len(ids) == 4


def test_metrics_can_be_turned_off(snap: Snapshot) -> None:
    with make_client(snap, metrics=False) as client:
        assert client.get("/metrics").status_code == 404
        assert post(client, QUERY).status_code == 200


def test_two_apps_count_apart(snap: Snapshot) -> None:
    with make_client(snap) as one, make_client(snap) as two:
        post(one, QUERY)
        samples = metrics(two)
    assert (
        value(
            samples, "clinic_kg_http_requests_total", route="/graphql", method="POST", status="200"
        )
        == 0
    )


def test_executions_in_flight_and_waiting_are_read_from_the_limiter(snap: Snapshot) -> None:
    limiter = anyio.CapacityLimiter(1)
    metrics = Metrics(StoreHolder(snap), {}, limiter)

    async def busy() -> Samples:
        async with limiter, anyio.create_task_group() as tasks:
            tasks.start_soon(limiter.acquire)  # a second execution waits for the thread
            await anyio.wait_all_tasks_blocked()
            samples = scrape(generate_latest(metrics.registry).decode())
            tasks.cancel_scope.cancel()
            return samples

    samples = anyio.run(busy)
    assert value(samples, "clinic_kg_executions_in_flight") == 1
    assert value(samples, "clinic_kg_executions_waiting") == 1


def _edit(root: Path, old: str, new: str) -> None:
    path = root / STATISTIC
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_reloads_and_the_dataset_version_follow_the_holder(
    reloader: Reloader, project: Path
) -> None:
    holder = reloader.holder
    first = holder.current.version
    with TestClient(create_app(Settings(), holder)) as client:
        samples = metrics(client)
        assert labelled(samples, "clinic_kg_dataset_info") == [{"version": first}]
        assert value(samples, "clinic_kg_dataset_info", version=first) == 1
        # Both outcomes are series from the start (0), so rates and alerts work at once.
        assert sorted(labelled(samples, "clinic_kg_reloads_total"), key=str) == [
            {"outcome": "failed"},
            {"outcome": "ok"},
        ]
        assert value(samples, "clinic_kg_reloads_total", outcome="ok") == 0

        _edit(project, '"85"^^xsd:decimal', '"86"^^xsd:decimal')
        outcome = reloader.reload()
        assert outcome.swapped
        samples = metrics(client)
        # Only the version served now: the old label set is gone.
        assert labelled(samples, "clinic_kg_dataset_info") == [{"version": outcome.version}]
        assert value(samples, "clinic_kg_reloads_total", outcome="ok") == 1
        ok_at = value(samples, "clinic_kg_last_reload_timestamp_seconds", outcome="ok")
        assert abs(ok_at - time.time()) < 600  # a Unix time, not a duration

        _edit(project, "qualifier:almost ;", "qualifier:almost")  # a syntax error
        assert not reloader.reload().swapped
        samples = metrics(client)
        assert value(samples, "clinic_kg_reloads_total", outcome="failed") == 1
        assert value(samples, "clinic_kg_reloads_total", outcome="ok") == 1
        assert labelled(samples, "clinic_kg_dataset_info") == [{"version": outcome.version}]
        assert value(samples, "clinic_kg_last_reload_timestamp_seconds", outcome="failed") >= ok_at


# -- against a real server, under a bounded load

LOAD_REQUESTS = 200
LOAD_THREADS = 4
LOAD_BOUND = 30.0  # seconds: a bound for the test to give up, not a performance assertion
LOAD_QUERIES = [
    QUERY,
    "{ __typename }",
    f'{{ condition(id: "{FBSS}") {{ symptoms(first: 5) {{ edges {{ node {{ id label }} }} }} }} }}',
    "{ dataset { version } }",
]


@pytest.fixture(scope="module")
def served() -> Iterator[live.LiveServer]:
    yield from live.start()


def test_a_scrape_during_a_bounded_load_matches_the_load(served: live.LiveServer) -> None:
    """The must-show: 200 GraphQL requests from 4 threads, scraped meanwhile and after; the
    request count and the latency histogram are the load's, and one costly query is counted as
    refused by its code."""
    base = scrape(httpx.get(f"{served.url}/metrics", timeout=10).text)
    statuses: list[int] = []
    lock = threading.Lock()
    deadline = time.monotonic() + LOAD_BOUND
    load_done = threading.Event()

    def worker(index: int) -> None:
        with httpx.Client(timeout=10) as session:
            for i in range(index, LOAD_REQUESTS, LOAD_THREADS):
                if time.monotonic() > deadline:
                    return
                query = LOAD_QUERIES[i % len(LOAD_QUERIES)]
                status = session.post(served.graphql, json={"query": query}).status_code
                with lock:
                    statuses.append(status)

    scrapes: list[float] = []

    def scraper() -> None:
        # Scrapes during the load see a count that only grows, never past the load's.
        with httpx.Client(timeout=10) as session:
            while not load_done.is_set() and time.monotonic() < deadline:
                samples = scrape(session.get(f"{served.url}/metrics").text)
                scrapes.append(graphql_requests(samples))
                time.sleep(0.05)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(LOAD_THREADS)]
    watcher = threading.Thread(target=scraper)
    started = time.perf_counter()
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(LOAD_BOUND)
    wall = time.perf_counter() - started
    load_done.set()
    watcher.join(LOAD_BOUND)
    assert statuses == [200] * LOAD_REQUESTS, "the load did not finish within its bound"

    after = scrape(httpx.get(f"{served.url}/metrics", timeout=10).text)
    assert graphql_requests(after) - graphql_requests(base) == LOAD_REQUESTS
    assert scrapes == sorted(scrapes)
    assert all(0 <= s - graphql_requests(base) <= LOAD_REQUESTS for s in scrapes)
    # Every scrape made before the last one is counted under its own route.
    counted = value(
        after, "clinic_kg_http_requests_total", route="/metrics", method="GET", status="200"
    )
    assert counted == len(scrapes) + 1  # + the scrape before the load
    hist = "clinic_kg_http_request_duration_seconds"
    count = value(after, hist + "_count", route="/graphql") - value(
        base, hist + "_count", route="/graphql"
    )
    total = value(after, hist + "_sum", route="/graphql") - value(
        base, hist + "_sum", route="/graphql"
    )
    assert count == LOAD_REQUESTS
    assert 0 <= total <= wall * LOAD_THREADS
    assert value(after, hist + "_bucket", route="/graphql", le="+Inf") == value(
        after, hist + "_count", route="/graphql"
    )
    ok = value(after, "clinic_kg_graphql_operations_total", operation_type="query", outcome="ok")
    assert (
        ok - value(base, "clinic_kg_graphql_operations_total", operation_type="query", outcome="ok")
        == LOAD_REQUESTS
    )

    # One expensive query: refused, and counted under its code.
    refused = httpx.post(
        served.graphql, json={"query": fan_out(), "variables": {"ids": [FBSS] * 100}}, timeout=30
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    final = scrape(httpx.get(f"{served.url}/metrics", timeout=10).text)
    assert value(final, "clinic_kg_graphql_rejections_total", code="QUERY_TOO_COSTLY") == 1
    assert labelled(final, "clinic_kg_graphql_rejections_total") == [{"code": "QUERY_TOO_COSTLY"}]
    assert (
        value(final, "clinic_kg_graphql_query_cost_bucket", le="+Inf")
        - value(final, "clinic_kg_graphql_query_cost_bucket", le="1e+06")
        == 1
    )  # the fan-out costs tens of millions
    version = json.loads(httpx.get(f"{served.url}/readyz", timeout=10).text)["datasetVersion"]
    assert labelled(final, "clinic_kg_dataset_info") == [{"version": version}]


def graphql_requests(samples: Samples) -> float:
    return sum(
        v
        for (name, labels), v in samples.items()
        if name == "clinic_kg_http_requests_total" and dict(labels)["route"] == "/graphql"
    )
