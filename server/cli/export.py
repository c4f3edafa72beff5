"""`clinic-kg export`: the graph as Turtle, N-Triples or JSON-LD; a condition as schema.org."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import click

from server.cli.options import require_project, root_option
from server.content.export import FORMATS, Format, context_document, export_graph
from server.content.schemaorg import MarkupError, NotACondition, condition_markup
from server.load.loader import load
from server.settings import Settings
from server.store.snapshot import build_snapshot


@click.command(name="export")
@root_option()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="turtle (default), ntriples (sorted lines) or jsonld (with the clinic-kg context).",
)
@click.option(
    "--ontology/--no-ontology",
    "include_ontology",
    default=True,
    show_default=True,
    help="Include the vocabulary (ontology/) with the instance data (kg/).",
)
@click.option(
    "--schema-org",
    "condition",
    metavar="CONDITION_ID",
    default=None,
    help="Instead of the graph, the schema.org JSON-LD (MedicalWebPage) for one condition.",
)
@click.option(
    "--page",
    "page",
    default=None,
    metavar="PAGE_ID",
    help="With --schema-org: the page whose markup to write (needed when the condition is on "
    "several pages).",
)
@click.option(
    "--page-url",
    default=None,
    metavar="URL",
    help="With --schema-org: the URL the page is published at, instead of its schema:url.",
)
@click.option(
    "--context",
    "context_only",
    is_flag=True,
    help="Print the JSON-LD context (server/context.jsonld) that --format jsonld embeds.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to FILE (replaced atomically) instead of standard output.",
)
def export(
    root: Path,
    fmt: Format | None,
    include_ontology: bool,
    condition: str | None,
    page: str | None,
    page_url: str | None,
    context_only: bool,
    output: Path | None,
) -> int:
    """Export the graph, or one condition as schema.org JSON-LD for a web page.

    Exit codes: 0 written, 1 the files do not parse, 2 usage error (such as an unknown
    condition id), 3 internal error. Nothing is validated beyond parsing: run `clinic-kg
    validate` for that.
    """
    if context_only:
        if fmt or condition:
            raise click.UsageError("--context prints the context only; drop --format/--schema-org")
        _write(context_document(), output)
        return 0
    if condition is not None and fmt not in (None, "jsonld"):
        raise click.UsageError("--schema-org always writes JSON-LD; drop --format or use jsonld")
    if (page_url is not None or page is not None) and condition is None:
        raise click.UsageError("--page and --page-url go with --schema-org CONDITION_ID")
    require_project(root, ("ontology", "kg"))
    settings = Settings.from_env()
    loaded = load(root, settings=settings)
    if not loaded.ok:
        for diagnostic in loaded.diagnostics:
            click.echo(diagnostic.render(), err=True)
        click.echo("export: the files above do not parse; nothing was written", err=True)
        return 1
    if condition is None:
        _write(export_graph(loaded, fmt or "turtle", include_ontology=include_ontology), output)
        return 0
    try:
        document = condition_markup(build_snapshot(loaded, settings), condition, page)
    except MarkupError as exc:
        hint = "'--schema-org'" if isinstance(exc, NotACondition) else "'--page'"
        raise click.BadParameter(f"{exc.message} [{exc.code}]", param_hint=hint) from None
    if page_url is not None:
        document["url"] = page_url
    _write(json.dumps(document, ensure_ascii=False, indent=2) + "\n", output)
    return 0


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    # Write beside the target and rename, so a reader never sees half an export.
    target = output.resolve()
    if not target.parent.is_dir():
        raise click.UsageError(f"{output}: folder {target.parent} does not exist")
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        # mkstemp creates the file private (0600); an export is meant to be read by others.
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
