"""`clinic-kg serve`: validate the project, then serve it over GraphQL with uvicorn."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Protocol

import click

from server.cli.options import require_project, root_option
from server.http.request_log import log_format
from server.load.loader import LoadCache
from server.serve.startup import start
from server.serve.workers import MAX_WORKERS, can_fork, serve_workers, worker_count
from server.settings import Settings
from server.store.heap import settle_heap
from server.store.protocol import StoreHolder


@click.command()
@root_option()
@click.option("--host", default=None, help="Address to listen on [default: 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [default: 8000].")
@click.option(
    "--watch/--no-watch",
    default=None,
    help="Reload when files under ontology/, shapes/ or kg/ change; an invalid edit is not "
    "served (the last good version keeps serving) [default: off].",
)
@click.option(
    "--workers",
    type=click.IntRange(1, MAX_WORKERS),
    default=None,
    help="Processes answering requests, sharing one validated snapshot [default: "
    "CLINIC_KG_WORKERS, else WEB_CONCURRENCY, else 1].",
)
@click.option(
    "--store",
    "store_url",
    default=None,
    metavar="URL",
    help="Serve the version `clinic-kg publish` made current in this SPARQL 1.1 store (its "
    "query endpoint, e.g. http://127.0.0.1:7878/query) instead of the local files; with --watch, "
    "follow its pointer [default: CLINIC_KG_STORE_URL, else the local files].",
)
def serve(
    root: Path,
    host: str | None,
    port: int | None,
    watch: bool | None,
    workers: int | None,
    store_url: str | None,
) -> int:
    """Validate, then serve the graph at http://HOST:PORT/graphql (GraphiQL in a browser).

    Refuses to start (exit 1, the report printed) when the data does not conform.
    """
    settings = Settings.from_env(
        host=host, port=port, watch=watch, workers=workers, store_url=store_url
    )
    count = worker_count(workers, settings)  # a bad value stops here, before validating
    log_format(settings)  # so does an unknown log format (SettingError: exit 2)
    from server.http.protocols import http_parser

    http_parser(settings)  # and an unknown HTTP parser
    if not safelist_loads(settings):
        return 1
    if settings.store_url:
        if count > 1:
            click.echo(
                f"note: a SPARQL store is served by one process ({count} workers asked); "
                "run replicas behind a load balancer instead (README: Deployment)",
                err=True,
            )
        return serve_store(root, settings)
    require_project(root)
    reloader_cache = LoadCache()
    watching = bool(settings.watch and settings.incremental_reload)
    started = start(root, settings, cache=reloader_cache, keep_validation=watching)
    report = started.report
    if started.snapshot is None:
        for d in report.diagnostics:
            click.echo(d.render(), err=True)
        click.echo(report.summary(), err=True)
        click.echo("not serving: fix the errors above, then run `clinic-kg serve` again", err=True)
        return 1
    for d in report.diagnostics:  # warnings: the project conforms, but say what they are
        click.echo(d.render())
    cached = (
        " (unchanged since the last start: from .clinic-kg-cache/)" if started.from_cache else ""
    )
    click.echo(report.summary() + cached)
    # The holder is the seam for `--watch`: a reload builds a new snapshot and calls swap().
    holder = StoreHolder(started.snapshot, settings.change_history_versions)
    validated = started.validated  # the baseline of --watch's incremental reloads, if made
    del started  # the rest of the start is not needed while serving
    # With --watch even one worker runs under the supervisor: the reload (seconds of CPU, and a
    # full garbage collection of the new snapshot) runs in a process that serves no request.
    if count > 1 or (settings.watch and can_fork()):
        from server.http.app import create_app

        return serve_workers(
            root,
            settings,
            holder,
            count,
            reloader_cache,
            lambda served: create_app(settings, served),
            uvicorn_options(settings),
            validated,
        )
    settle_heap()
    watcher = None
    if settings.watch:
        from server.serve.watch import Reloader, Watcher

        reloader = Reloader(root, settings, holder, cache=reloader_cache, validated=validated)
        watcher = Watcher(reloader, settings.watch_debounce_ms)
        click.echo(f"watching {root.resolve()}/{{ontology,shapes,kg}} for changes")
    return run_watched(settings, holder, watcher)


def serve_store(root: Path, settings: Settings) -> int:
    """`serve --store URL`: serve the SPARQL store's current version (nothing to validate: the
    store holds only what `publish` validated); with --watch, follow the store's pointer."""
    from server.serve.startup import open_store
    from server.store.protocol import StoreUnavailable
    from server.store.sparql_poll import PointerWatcher

    try:
        holder = open_store(settings, root)
    except (StoreUnavailable, ValueError) as exc:
        click.echo(f"not serving: {exc}", err=True)
        return 1
    click.echo(f"serving dataset {holder.dataset.version} from {settings.store_url}")
    watcher = PointerWatcher(holder, settings.store_poll_seconds) if settings.watch else None
    if watcher is not None:
        click.echo(f"polling the store's pointer every {settings.store_poll_seconds} s")
    return run_watched(settings, holder, watcher)


class _Watcher(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def run_watched(settings: Settings, holder: StoreHolder, watcher: _Watcher | None) -> int:
    """Serve in this process, with `watcher` (files or a store's pointer) running meanwhile."""
    if watcher is not None:
        watcher.start()
    try:
        run(settings, holder)
    finally:
        if watcher is not None:
            watcher.stop()
    return 0


def safelist_loads(settings: Settings) -> bool:
    """Whether the safelist (if any) loads; else its problems are printed, before validating."""
    if not settings.safelist_dir and not settings.safelist_only:
        return True
    from server.http.persisted import check_settings
    from server.schema import build_schema

    problems = check_settings(settings, build_schema(settings)._schema)
    for problem in problems:
        click.echo(problem.render(), err=True)
    if problems:
        click.echo("not serving: fix the safelist operations above", err=True)
    return not problems


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options, for one process or each of several workers; sets up logging."""
    import uvicorn

    from server.http.protocols import header_timeout_protocol, http_parser
    from server.http.request_log import configure_logging
    from server.http.slow_clients import MAX_HEAD_BYTES

    # Executions run in worker threads; the event loop thread must get the GIL back quickly to
    # answer /healthz and cached queries meanwhile: switch threads every millisecond (Python's
    # default, 5 ms, let a probe wait behind several slices of a long execution).
    sys.setswitchinterval(0.001)
    # Masked errors are logged with their request id and traceback; make sure they show.
    configure_logging(settings)
    # JSON logs: our access line replaces uvicorn's, and its own lines go through our handler.
    json_logs = settings.log_format == "json"
    return {
        "log_level": "info",
        "server_header": False,
        "access_log": not json_logs,
        "log_config": None if json_logs else uvicorn.config.LOGGING_CONFIG,
        "timeout_keep_alive": settings.http_keep_alive_timeout,
        # uvicorn's httptools or h11 protocol with a deadline on request heads, which uvicorn
        # does not have: slow clients would otherwise hold their sockets forever.
        "http": header_timeout_protocol(settings.http_header_timeout, http_parser(settings)),
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,  # the httptools twin's limit too
    }


def run(settings: Settings, holder: StoreHolder) -> None:
    """Serve until interrupted, in this one process."""
    import uvicorn

    from server.http.app import create_app

    options = uvicorn_options(settings)
    app = create_app(settings, holder)
    click.echo(
        f"serving dataset {holder.current.version} on "
        f"http://{settings.host}:{settings.port}/graphql"
    )
    # workers=1: uvicorn would otherwise read WEB_CONCURRENCY itself, and refuse an app object.
    uvicorn.run(app, host=settings.host, port=settings.port, workers=1, **options)
