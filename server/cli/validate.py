"""`clinic-kg validate [PATHS]`: strict parse, SHACL, project checks; one line per finding."""

from __future__ import annotations

import json
from pathlib import Path

import click

from server.cli.options import require_project, root_option
from server.settings import Settings
from server.validate.validation import validate_project


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@root_option()
@click.option(
    "--format",
    "output",
    type=click.Choice(["human", "json"]),
    default="human",
    show_default=True,
    help="human: one line per finding and a summary; json: a machine-readable report.",
)
def validate(paths: tuple[Path, ...], root: Path, output: str) -> int:
    """Validate ontology/, shapes/ and kg/ (or only PATHS, against the rest of the project).

    Exit codes: 0 conforms (warnings allowed), 1 violations, 2 usage error, 3 internal error.
    """
    require_project(root)
    for p in paths:
        if not p.exists():
            raise click.UsageError(f"{p}: no such file or folder")
    outcome = validate_project(root, paths, Settings.from_env())
    report = outcome.report
    if output == "json":
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        for d in report.diagnostics:
            click.echo(d.render())
        click.echo(report.summary())
    return 0 if report.conforms else 1
