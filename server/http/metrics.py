"""`GET /metrics`: the service's Prometheus metrics, in the text exposition format.

Counted from each request's note (`server.http.request_log`): requests and their latency by
route template, GraphQL operations by outcome, refusals by error code, query costs, response-cache
hits and misses. Read at scrape time: the dataset version served, the response caches' sizes, the
executions running and waiting. Reloads are counted as the `StoreHolder` reports them.

Each app owns its `CollectorRegistry` (not prometheus-client's global one), so several apps in
one process (tests) count apart. The counts are per process: a pre-forked server would need
prometheus-client's multiprocess mode (README: Metrics and logs).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import anyio
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from server.http.lanes import Lanes
from server.http.request_log import RequestNote
from server.http.response_cache import LRUCache
from server.store.protocol import StoreHolder

PREFIX = "clinic_kg_"
# Answers take milliseconds (a cached one well under one); the top buckets catch the deadline.
DURATION_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# Query cost in fields (server/schema/cost.py); max_query_cost is 100,000 by default.
COST_BUCKETS = (1, 10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000, 1_000_000)

# `_created` series (one timestamp per counter and label set) double the exposition for what
# Prometheus does not use; prometheus-client only has this process-wide switch for them.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    """The metrics of one app, fed by request notes and reload events, exposed by `endpoint`."""

    def __init__(
        self,
        holder: StoreHolder,
        caches: Mapping[str, LRUCache[Any, Any]],
        executions: anyio.CapacityLimiter | Lanes,
    ) -> None:
        self.registry = registry = CollectorRegistry()
        self.requests = Counter(
            PREFIX + "http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            PREFIX + "http_request_duration_seconds",
            "Time from a request's arrival to its answer sent, by route template.",
            ["route"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.operations = Counter(
            PREFIX + "graphql_operations",
            "GraphQL operations by type and outcome: ok, errors (executed, with errors in the "
            "answer) or refused (nothing answered; see graphql_rejections_total).",
            ["operation_type", "outcome"],
            registry=registry,
        )
        self.rejections = Counter(
            PREFIX + "graphql_rejections",
            "Refused GraphQL operations by error code (QUERY_TOO_COSTLY, EXECUTION_TIMEOUT, ...).",
            ["code"],
            registry=registry,
        )
        self.cost = Histogram(
            PREFIX + "graphql_query_cost",
            "Computed cost of GraphQL operations (refused ones too; cached answers are not "
            "costed).",
            buckets=COST_BUCKETS,
            registry=registry,
        )
        self.cache_hits = Counter(
            PREFIX + "response_cache_hits",
            "GraphQL operations answered from the response cache.",
            registry=registry,
        )
        self.cache_misses = Counter(
            PREFIX + "response_cache_misses",
            "GraphQL operations looked up in the response cache and executed.",
            registry=registry,
        )
        self.reloads = Counter(
            PREFIX + "reloads",
            "Reloads (serve --watch) by outcome: ok (swapped, or unchanged) or failed (the last "
            "good version kept serving).",
            ["outcome"],
            registry=registry,
        )
        for outcome in ("ok", "failed"):  # 0 until the first: rates and alerts need a series
            self.reloads.labels(outcome)
        self.last_reload = Gauge(
            PREFIX + "last_reload_timestamp_seconds",
            "Unix time of the last reload, by outcome.",
            ["outcome"],
            registry=registry,
        )
        # Children by label values (bounded: routes are templates, methods and statuses few).
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._outcomes: dict[tuple[str, str], Any] = {}
        registry.register(_Served(holder, caches, executions))
        holder.subscribe(self.reloaded)

    def observe(self, note: RequestNote) -> None:
        """Count one answered request (a sink of `server.http.request_log.Observed`)."""
        request = (note.route, note.method, note.status)
        children = self._children.get(request)
        if children is None:  # labels() costs a lock and a lookup: keep the few children used
            children = (
                self.requests.labels(note.route, note.method, str(note.status)),
                self.duration.labels(note.route),
            )
            self._children[request] = children
        children[0].inc()
        children[1].observe(note.seconds)
        for operation in note.operations:
            outcome = (operation.type or "unknown", operation.outcome)
            counter = self._outcomes.get(outcome)
            if counter is None:
                counter = self._outcomes[outcome] = self.operations.labels(*outcome)
            counter.inc()
            if operation.refused:
                for code in dict.fromkeys(operation.codes):
                    self.rejections.labels(code).inc()
            if operation.cost is not None:
                self.cost.observe(operation.cost)
            if operation.cache_hit is not None:
                (self.cache_hits if operation.cache_hit else self.cache_misses).inc()

    def reloaded(self, ok: bool) -> None:
        """Count one reload (called by the StoreHolder, from the watcher's thread)."""
        outcome = "ok" if ok else "failed"
        self.reloads.labels(outcome).inc()
        self.last_reload.labels(outcome).set(time.time())

    async def endpoint(self, request: Request) -> Response:
        """GET /metrics."""
        return Response(
            generate_latest(self.registry),
            media_type=CONTENT_TYPE_LATEST,
            headers={"Cache-Control": "no-store"},
        )


class _Served(Collector):
    """What is read at scrape time: the dataset version, the caches, the executions."""

    def __init__(
        self,
        holder: StoreHolder,
        caches: Mapping[str, LRUCache[Any, Any]],
        executions: anyio.CapacityLimiter | Lanes,
    ) -> None:
        self.holder = holder
        self.caches = caches
        self.executions = executions

    def collect(self) -> Iterator[Metric]:
        store = self.holder.current
        # The version is a label, so only the one served now is exposed: a swap replaces it.
        info = GaugeMetricFamily(
            PREFIX + "dataset_info", "The dataset version served (always 1).", labels=["version"]
        )
        info.add_metric([store.version], 1)
        yield info
        yield GaugeMetricFamily(
            PREFIX + "dataset_loaded_timestamp_seconds",
            "Unix time the served dataset version was loaded.",
            value=store.loaded_at.timestamp(),
        )
        size = GaugeMetricFamily(
            PREFIX + "response_cache_bytes",
            "Bytes held by each response cache (graphql: GraphQL results; id_pages: /id pages).",
            labels=["cache"],
        )
        entries = GaugeMetricFamily(
            PREFIX + "response_cache_entries",
            "Entries held by each response cache.",
            labels=["cache"],
        )
        for name, cache in self.caches.items():
            size.add_metric([name], cache.bytes)
            entries.add_metric([name], len(cache))
        yield size
        yield entries
        executions = self.executions
        if isinstance(executions, Lanes):
            in_flight, waiting = executions.in_flight(), executions.waiting()
        else:
            in_flight = {"light": executions.borrowed_tokens}
            waiting = {"light": executions.statistics().tasks_waiting}
        yield GaugeMetricFamily(
            PREFIX + "executions_in_flight",
            "GraphQL executions running now in worker threads (at most execution_threads per "
            "lane).",
            value=sum(in_flight.values()),
        )
        yield GaugeMetricFamily(
            PREFIX + "executions_waiting",
            "GraphQL executions waiting for a worker thread.",
            value=sum(waiting.values()),
        )
        if not isinstance(executions, Lanes):
            return
        lanes = GaugeMetricFamily(
            PREFIX + "lane_executions_in_flight",
            "GraphQL executions running now, by lane: heavy (costing more than "
            "heavy_query_cost) or light.",
            labels=["lane"],
        )
        for lane, count in in_flight.items():
            lanes.add_metric([lane], count)
        yield lanes
        yield GaugeMetricFamily(
            PREFIX + "heavy_executions_paused",
            "Heavy executions waiting at a checkpoint now, while lighter requests are answered.",
            value=executions.paused,
        )
        yield CounterMetricFamily(
            PREFIX + "heavy_execution_pauses",
            "Times a heavy execution paused at a checkpoint for lighter requests.",
            value=executions.pauses,
        )
