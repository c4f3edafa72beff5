"""`clinic-kg lsp`: the language server on stdin/stdout, for editors (see README)."""

from __future__ import annotations

from pathlib import Path

import click

from server.lsp.server import build, quiet_logging
from server.settings import Settings


@click.command()
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project folder holding ontology/, shapes/ and kg/ (default: the editor's workspace "
    "folder, else the current folder).",
)
def lsp(root: Path | None) -> int:
    """Serve the project's diagnostics to an editor over the Language Server Protocol (stdio).

    Exit codes: 0 after the editor's shutdown and exit, 1 when it exits (or goes) without
    shutdown.
    """
    settings = Settings.from_env()
    quiet_logging()
    server = build(settings, root)
    server.start_io()
    return 0 if server.shut_down else 1
