"""`clinic-kg serve`: validate the project, then serve it over GraphQL with uvicorn."""

from __future__ import annotations

from pathlib import Path

import click

from server.cli.options import require_project, root_option
from server.load.loader import LoadCache
from server.serve.startup import settle_heap, start
from server.settings import Settings
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
    "--store",
    "store_url",
    default=None,
    metavar="URL",
    help="Serve the version `clinic-kg publish` made current in this SPARQL 1.1 store (its "
    "query endpoint, e.g. http://127.0.0.1:7878/query) instead of the local files; with --watch, "
    "follow its pointer [default: CLINIC_KG_STORE_URL, else the local files].",
)
def serve(
    root: Path, host: str | None, port: int | None, watch: bool | None, store_url: str | None
) -> int:
    """Validate, then serve the graph at http://HOST:PORT/graphql (GraphiQL in a browser).

    Refuses to start (exit 1, the report printed) when the data does not conform.
    """
    settings = Settings.from_env(host=host, port=port, watch=watch, store_url=store_url)
    if settings.store_url:
        return serve_store(root, settings)
    require_project(root)
    reloader_cache = LoadCache()
    started = start(root, settings, cache=reloader_cache)
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
    holder = StoreHolder(started.snapshot)
    settle_heap()
    watcher = None
    if settings.watch:
        from server.serve.watch import Reloader, Watcher

        reloader = Reloader(root, settings, holder, cache=reloader_cache)
        watcher = Watcher(reloader, settings.watch_debounce_ms)
        watcher.start()
        click.echo(f"watching {root.resolve()}/{{ontology,shapes,kg}} for changes")
    try:
        run(settings, holder)
    finally:
        if watcher is not None:
            watcher.stop()
    return 0


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
        watcher.start()
        click.echo(f"polling the store's pointer every {settings.store_poll_seconds} s")
    try:
        run(settings, holder)
    finally:
        if watcher is not None:
            watcher.stop()
    return 0


def run(settings: Settings, holder: StoreHolder) -> None:
    """Serve until interrupted."""
    import logging

    import uvicorn

    from server.http.app import create_app
    from server.http.slow_clients import header_timeout_protocol

    # Masked errors are logged with their request id and traceback; make sure they show.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    app = create_app(settings, holder)
    click.echo(
        f"serving dataset {holder.current.version} on "
        f"http://{settings.host}:{settings.port}/graphql"
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        server_header=False,
        timeout_keep_alive=settings.http_keep_alive_timeout,
        # uvicorn's h11 protocol (the one the project runs) with a deadline on request heads,
        # which uvicorn does not have: slow clients would otherwise hold their sockets forever.
        http=header_timeout_protocol(settings.http_header_timeout),
    )
