"""`clinic-kg new page SLUG`: start a clinic page as data (its text and a page file to fill in)."""

from __future__ import annotations

from pathlib import Path

import click

from server.cli.options import require_project, root_option
from server.steward.scaffold import ScaffoldError, new_page


@click.group(name="new")
def new() -> None:
    """Start something new in the graph from a template."""


@new.command(name="page")
@click.argument("slug")
@click.option("--url", required=True, help="The address the page is published at (http/https).")
@click.option("--title", required=True, help="The page's title, as it shows on the page.")
@click.option(
    "--text",
    "text_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A UTF-8 text file with the page's text: quotes are checked against it.",
)
@click.option(
    "--condition",
    metavar="CONDITION_SLUG",
    default=None,
    help="The condition the page is about (kg:CONDITION_SLUG), used in the examples.",
)
@root_option()
def page(
    slug: str, url: str, title: str, text_file: Path, condition: str | None, root: Path
) -> int:
    """Write kg/sources/SLUG.txt (the page's text) and kg/pages/SLUG.ttl: the page source and one
    commented example of every kind of statement (symptom, cause, risk factor, medication,
    therapy, surgery as a treatment, statistic, claim) to uncomment and fill in.

    SLUG is the page's id: lowercase letters, digits and hyphens. Existing files are never
    overwritten. Exit codes: 0 written, 2 usage error (nothing written), 3 internal error.
    """
    require_project(root)
    try:
        made = new_page(root, slug, url, title, text_file, condition)
    except ScaffoldError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"wrote {made.text_file}")
    click.echo(f"wrote {made.page_file}")
    click.echo("next:")
    for number, step in enumerate(made.next_steps(), start=1):
        click.echo(f"  {number}. {step}")
    return 0
