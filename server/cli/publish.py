"""`clinic-kg publish ENDPOINT`: the validated graph into a SPARQL 1.1 store, then the pointer."""

from __future__ import annotations

import os
from pathlib import Path

import click

from server.cli.options import require_project, root_option
from server.settings import Settings
from server.steward.graph_store import GraphStore, UsageProblem, credentials_from_env, endpoints
from server.steward.publish import Publication, publish

EXIT_OK, EXIT_REFUSED, EXIT_STORE = 0, 1, 4


@click.command(name="publish")
@click.argument("endpoint", metavar="ENDPOINT")
@root_option()
@click.option(
    "--gsp",
    metavar="URL",
    default=None,
    help="The store's Graph Store Protocol URL [default: ENDPOINT/store, as Oxigraph serves it].",
)
@click.option(
    "--query",
    "query_url",
    metavar="URL",
    default=None,
    help="The store's SPARQL query URL [default: ENDPOINT/query].",
)
@click.option(
    "--prune",
    metavar="K",
    type=click.IntRange(min=0),
    default=None,
    help="After switching, drop all version graphs but the K newest (never the current one).",
)
def publish_command(
    endpoint: str, root: Path, gsp: str | None, query_url: str | None, prune: int | None
) -> int:
    """Validate the project, upload it to the SPARQL store at ENDPOINT as the named graph of its
    version, check the store holds every triple, and only then switch the store's current version.

    Credentials come from the environment only: CLINIC_KG_PUBLISH_USER and
    CLINIC_KG_PUBLISH_PASSWORD (HTTP Basic, or Digest when the store asks for it) or
    CLINIC_KG_PUBLISH_TOKEN (bearer).

    Exit codes: 0 published (or already there: the pointer switched), 1 the project does not
    conform (nothing sent), 2 usage error, 3 internal error, 4 the store failed (unreachable, an
    HTTP error, or the upload did not verify; the current version was not switched unless said).
    """
    require_project(root)
    try:
        where = endpoints(endpoint, gsp, query_url)
        credentials = credentials_from_env(os.environ)
    except UsageProblem as exc:
        raise click.UsageError(str(exc)) from None
    settings = Settings.from_env()
    with GraphStore(where, credentials, settings.publish_timeout) as store:
        result = publish(root, store, settings, prune=prune)
    return _render(result)


def _render(result: Publication) -> int:
    report = result.report
    if result.refused:
        for d in report.diagnostics:
            click.echo(d.render(), err=True)
        click.echo(report.summary(), err=True)
        click.echo("not published: fix the errors above; nothing was sent to the store", err=True)
        return EXIT_REFUSED
    for d in report.diagnostics:  # warnings only: the project conforms
        click.echo(d.render())
    click.echo(report.summary())
    was = result.previous or "none"
    if result.switched:
        if result.uploaded:
            click.echo(
                f"uploaded {result.triples} triples to <{result.graph}>; the store counts them"
            )
        else:
            click.echo(
                f"version {result.version} was already in the store ({result.triples} triples)"
            )
        click.echo(f"current version: {result.version} (was {was})")
    if result.pruned:
        click.echo(f"pruned {len(result.pruned)} older versions: {', '.join(result.pruned)}")
    if result.failure is None:
        return EXIT_OK
    click.echo(result.failure.render(), err=True)
    if result.switched:
        click.echo(f"published {result.version}, but pruning stopped at the error above", err=True)
    else:
        click.echo(f"not switched: the store's current version is still {was}", err=True)
    return EXIT_STORE
