"""Every limit and switch of clinic-kg, in one table, each readable from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

from server.rdf.namespaces import id_namespace

ENV_PREFIX = "CLINIC_KG_"
INLINE_COST = 50_000  # the default of inline_query_cost: every execution that is not heavy


@dataclass(frozen=True)
class Setting:
    """One row of the settings table: its name, default and what it is for."""

    name: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "base_iri",
        "https://clinic-kg.example/",
        "Public base of entity IRIs: the files say kg:<slug>; loaded, served and exported "
        "IRIs are <base>id/<slug>.",
    ),
    Setting("host", "127.0.0.1", "Address `clinic-kg serve` listens on (loopback by default)."),
    Setting("port", 8000, "Port `clinic-kg serve` listens on."),
    Setting("max_file_bytes", 64 * 1024 * 1024, "Largest Turtle file accepted, in bytes."),
    Setting(
        "max_literal_bytes",
        1024 * 1024,
        "Largest single literal (string) accepted in a Turtle file, in bytes.",
    ),
    Setting(
        "max_nesting_depth",
        32,
        "Deepest nesting of blank nodes `[ ]` and collections `( )` accepted in a Turtle file.",
    ),
    Setting("max_query_depth", 12, "Deepest GraphQL selection accepted."),
    Setting("max_aliases", 30, "Most aliases accepted in one GraphQL query."),
    Setting("max_tokens", 2000, "Most lexical tokens accepted in one GraphQL query."),
    Setting(
        "max_query_cost",
        100000,
        "Most work one GraphQL operation may ask for, computed before execution: each field "
        "counts once per object it is selected on, a connection multiplies by its page size, "
        "`nodes(ids)` by its ids, other lists by 5, aliases add (README: Query cost).",
    ),
    Setting(
        "execution_timeout_ms",
        5000,
        "Milliseconds one GraphQL execution may run; then it stops with EXECUTION_TIMEOUT.",
    ),
    Setting(
        "max_response_bytes",
        8 * 1024 * 1024,
        "Largest GraphQL response body, in bytes; a larger result is refused with "
        "RESPONSE_TOO_LARGE.",
    ),
    Setting(
        "execution_threads",
        4,
        "GraphQL executions run at once, each in a worker thread off the event loop (more wait).",
    ),
    Setting("max_body_bytes", 64 * 1024, "Largest HTTP request body accepted, in bytes."),
    Setting(
        "http_header_timeout",
        10,
        "Seconds a client has to send a request's line and headers, from connecting (or from "
        "the first byte of its next request on a kept-alive connection); then 408 and closed.",
    ),
    Setting(
        "http_body_timeout",
        10,
        "Seconds a client has to send a request's body once its headers are in; then 408 "
        "REQUEST_TIMEOUT and the connection is closed.",
    ),
    Setting(
        "http_keep_alive_timeout",
        5,
        "Seconds an idle kept-alive connection waits for its next request before it is closed.",
    ),
    Setting("max_page_size", 100, "Largest `first` accepted on a GraphQL connection."),
    Setting(
        "default_page_size", 20, "Page size of a GraphQL connection when `first` is not given."
    ),
    Setting("allow_batching", False, "Accept a JSON array of GraphQL operations in one request."),
    Setting(
        "introspection", True, "Answer GraphQL introspection queries (turn off in production)."
    ),
    Setting("graphiql", True, "Serve the GraphiQL explorer to browsers at /graphql."),
    Setting("watch", False, "Reload the graph when files under ontology/, shapes/ or kg/ change."),
    Setting(
        "watch_debounce_ms",
        300,
        "With --watch: how long saves must pause before one reload runs (a burst is one reload).",
    ),
    Setting(
        "startup_cache",
        True,
        "Keep the validation result and snapshot of a conforming project in "
        "<root>/.clinic-kg-cache/, so a restart on unchanged files skips both.",
    ),
    Setting(
        "response_cache_size",
        1024,
        "Responses kept per dataset version for repeated identical GET/POST queries, and "
        "rendered /id pages kept (0 turns both off).",
    ),
    Setting(
        "response_cache_bytes",
        64 * 1024 * 1024,
        "Most bytes the response cache (and, separately, the /id page cache) holds per process.",
    ),
    Setting(
        "response_cache_entry_bytes",
        1024 * 1024,
        "Largest single response kept in the response cache, in bytes; bigger ones are not cached.",
    ),
    Setting(
        "content_max_age",
        60,
        "Cache-Control max-age, in seconds, of /id and /facts answers; after it, clients "
        "revalidate with If-None-Match (304 while the dataset version is the same).",
    ),
    Setting(
        "publish_timeout",
        120,
        "Seconds `clinic-kg publish` waits on the store for each step (connecting, sending a "
        "chunk of the upload, each answer) before giving up with KG-PUBLISH-UNREACHABLE.",
    ),
    Setting(
        "lsp_debounce_ms",
        250,
        "clinic-kg lsp: how long edits must pause before the project is validated again "
        "(a burst of keystrokes is one run).",
    ),
    Setting(
        "metrics",
        True,
        "Serve Prometheus metrics at /metrics (requests, latency, GraphQL outcomes and refusals, "
        "cache, reloads, dataset version).",
    ),
    Setting(
        "log_format",
        "text",
        "`text`: plain log lines and uvicorn's access log; `json`: every log line a JSON object, "
        "with one access line per request (request id, route, status, duration, dataset "
        "version, GraphQL operation, cost, cache hit, error codes).",
    ),
    Setting(
        "change_history_versions",
        16,
        "Served dataset versions kept (the current one included) for the change feed "
        "(GraphQL `changes`, GET /changes); an older one is UNKNOWN_VERSION. 0 keeps none.",
    ),
    Setting(
        "workers",
        1,
        "Processes `clinic-kg serve` answers requests with (the snapshot is built once and "
        "shared); when neither --workers nor this is given, WEB_CONCURRENCY is honoured.",
    ),
    Setting(
        "persisted_queries_bytes",
        8 * 1024 * 1024,
        "Most bytes of query text registered by automatic persisted queries (hash → query), per "
        "process; the least recently used are forgotten (clients then send the query again).",
    ),
    Setting(
        "safelist_dir",
        "",
        "Folder of reviewed .graphql operations, validated at start-up and registered under "
        "their persisted-query hashes (empty: no safelist).",
    ),
    Setting(
        "safelist_only",
        False,
        "Run only the operations of safelist_dir; any other is refused with "
        "OPERATION_NOT_IN_SAFELIST, and no new persisted query registers.",
    ),
    Setting(
        "compiled_execution",
        True,
        "Answer GraphQL queries with the compiled executor (a plan per validated document, "
        "the same JSON as the reference executor, which runs whatever the plan does not cover).",
    ),
    Setting(
        "store_url",
        "",
        "SPARQL 1.1 query endpoint to serve from (e.g. http://127.0.0.1:7878/query) instead of "
        "validating local files: the version `clinic-kg publish` made current there. Empty: "
        "serve the project's files from memory.",
    ),
    Setting(
        "store_query_budget",
        200,
        "With store_url: most SPARQL queries one request may send; beyond it the request fails "
        "with STORE_BUDGET_EXCEEDED (answers are cached per version, so repeats cost none).",
    ),
    Setting(
        "store_timeout_ms",
        10_000,
        "With store_url: longest time one request may wait on the store, all its queries "
        "together, in milliseconds; beyond it the request fails with STORE_TIMEOUT.",
    ),
    Setting(
        "store_cache_size",
        20_000,
        "With store_url: records and query answers kept in memory per dataset version (least "
        "recently used dropped first); bounds the memory of a server over a big graph.",
    ),
    Setting(
        "store_poll_seconds",
        5,
        "With store_url and --watch: how often the store's current-version pointer is read; a "
        "new version is served once its indexes are built.",
    ),
    Setting(
        "heavy_query_cost",
        50_000,
        "GraphQL executions costing more than this (max_query_cost's units) are heavy: they run "
        "in a lane of their own and pause at their checkpoints while lighter requests are in "
        "flight, so cheap queries stay fast beside them.",
    ),
    Setting(
        "incremental_reload",
        True,
        "With --watch: an edit of kg/ files only is validated by checking again only the nodes "
        "it can affect, and the snapshot is patched, not rebuilt (anything else: everything "
        "again).",
    ),
    Setting(
        "store_catalog_dir",
        "",
        "With store_url: folder of the catalog files (entity ids, label order, search index; "
        "SQLite, one per dataset version, built from the store once and reused by restarts and "
        "workers; all but the last two pruned). Empty: $XDG_CACHE_HOME (or ~/.cache) "
        "/clinic-kg/store-catalogs.",
    ),
    Setting(
        "search_overlay_percent",
        2,
        "With --watch: a patched snapshot searches the last fully built search index plus a "
        "small index of the entities changed since; once those pass this percentage of the "
        "indexed entities, the reload builds the whole search index again (and says so in the "
        "log).",
    ),
    Setting(
        "http_parser",
        "httptools",
        "HTTP/1.1 parser of `serve`: `httptools` (C, about half the CPU per request; `h11` when "
        "it is not installed) or `h11` (pure Python). Both have the same limits and timeouts.",
    ),
    Setting(
        "inline_query_cost",
        INLINE_COST,
        "GraphQL executions costing at most this (max_query_cost's units) run on the event loop, "
        "not in a worker thread (whose hand-off costs them up to a third more CPU), while their "
        "query text takes under 5 ms of CPU there; 0: every execution in a worker thread.",
    ),
)


@dataclass(frozen=True)
class Settings:
    """The effective settings: defaults, overridden by CLINIC_KG_* environment variables."""

    base_iri: str = "https://clinic-kg.example/"
    host: str = "127.0.0.1"
    port: int = 8000
    max_file_bytes: int = 64 * 1024 * 1024
    max_literal_bytes: int = 1024 * 1024
    max_nesting_depth: int = 32
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_query_cost: int = 100000
    execution_timeout_ms: int = 5000
    max_response_bytes: int = 8 * 1024 * 1024
    execution_threads: int = 4
    max_body_bytes: int = 64 * 1024
    http_header_timeout: int = 10
    http_body_timeout: int = 10
    http_keep_alive_timeout: int = 5
    max_page_size: int = 100
    default_page_size: int = 20
    allow_batching: bool = False
    introspection: bool = True
    graphiql: bool = True
    watch: bool = False
    watch_debounce_ms: int = 300
    startup_cache: bool = True
    response_cache_size: int = 1024
    response_cache_bytes: int = 64 * 1024 * 1024
    response_cache_entry_bytes: int = 1024 * 1024
    content_max_age: int = 60
    publish_timeout: int = 120
    lsp_debounce_ms: int = 250
    metrics: bool = True
    log_format: str = "text"
    change_history_versions: int = 16
    workers: int = 1
    persisted_queries_bytes: int = 8 * 1024 * 1024
    safelist_dir: str = ""
    safelist_only: bool = False
    compiled_execution: bool = True
    store_url: str = ""
    store_query_budget: int = 200
    store_timeout_ms: int = 10_000
    store_cache_size: int = 20_000
    store_poll_seconds: int = 5
    heavy_query_cost: int = 50_000
    incremental_reload: bool = True
    store_catalog_dir: str = ""
    search_overlay_percent: int = 2
    http_parser: str = "httptools"
    inline_query_cost: int = INLINE_COST

    @property
    def id_namespace(self) -> str:
        """Where entity IRIs live when served: `<base_iri>id/`."""
        return id_namespace(self.base_iri)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then CLINIC_KG_<NAME> variables, then explicit overrides (from the CLI)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = env.get(setting.env)
            if raw is not None:
                values[setting.name] = _coerce(setting, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class SettingError(ValueError):
    """A setting's value from the environment could not be read."""


def _coerce(setting: Setting, raw: str) -> Any:
    kind = type(setting.default)
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise SettingError(f"{setting.env}={raw!r}: expected true or false")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingError(f"{setting.env}={raw!r}: expected a whole number") from None
    return raw


def _check_table() -> None:
    declared = {f.name: f.default for f in fields(Settings)}
    table = {s.name: s.default for s in SETTINGS}
    if declared != table:  # pragma: no cover - a programming error caught at import
        raise RuntimeError(f"settings table and Settings disagree: {declared ^ table.keys()}")


_check_table()
