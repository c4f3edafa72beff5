"""`clinic-kg fmt [PATHS] [--check]`: write Turtle files in canonical form."""

from __future__ import annotations

from pathlib import Path

import click

from server.cli.options import root_option
from server.diagnostics import Diagnostic, Severity
from server.load.loader import FOLDERS
from server.settings import Settings
from server.steward.formatting import FormatResult, files_to_format, format_file, write_formatted

EXIT_OK, EXIT_CHANGES, EXIT_INTERNAL = 0, 1, 3


@click.command(name="fmt")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing: print a unified diff for each file that is not in canonical form.",
)
@root_option()
def fmt(paths: tuple[Path, ...], check: bool, root: Path) -> int:
    """Format ontology/, shapes/ and kg/ (or only PATHS) as canonical Turtle, in place.

    Statements keep their order; inside each, predicates and objects are sorted, blank nodes are
    inlined and long lists wrap at 100 columns. A file is written only if the result holds the
    same graph and every comment. Comments on a line of their own between statements are kept
    above the statement that follows; a comment at the end of a line or inside a statement is
    refused (KG-FMT-COMMENT) with its line, never dropped. Also refused, and left as they are: a
    file with a relative IRI and no @base (KG-FMT-RELATIVE-IRI: it would become a file:/// IRI of
    this machine), a file with several names (KG-FMT-HARDLINK: replacing it would split them), a
    link out of the project or in a loop (KG-SYMLINK) and a file starting with a BOM (KG-ENCODING).

    Exit codes: 0 all files formatted (or, with --check, already canonical); 1 a file would change
    (--check) or could not be formatted (it does not parse, or holds a comment fmt cannot keep);
    2 usage error; 3 internal error (the formatter failed its own checks; nothing was written).
    """
    if not paths and not any((root / name).is_dir() for name in FOLDERS):
        raise click.UsageError(
            f"{root} is not a clinic-kg project: it has none of {', '.join(FOLDERS)} "
            "(run from the project folder, pass --root DIR, or name the files to format)"
        )
    for p in paths:
        if not p.exists():
            raise click.UsageError(f"{p}: no such file or folder")
    settings = Settings.from_env()
    files = files_to_format(root, paths)
    results = [format_file(p, root, settings) for p in files]
    problems = [d for r in results for d in r.diagnostics]
    unwritten = 0  # formatted, but the write was refused or failed
    for path, r in zip(files, results, strict=True):
        if not r.changed:
            continue
        if check:
            click.echo(r.unified_diff(), nl=False)
            click.echo(_would_change(r).render())
            continue
        failure = write_formatted(r, path)
        if failure is None:
            click.echo(f"reformatted {r.path}")
        else:
            problems.append(failure)
            unwritten += 1
    for d in problems:
        click.echo(d.render())
    click.echo(_summary(results, check, unwritten))
    changed = [r for r in results if r.changed]
    if any(r.internal_error for r in results):
        return EXIT_INTERNAL
    if problems or (check and changed):
        return EXIT_CHANGES
    return EXIT_OK


def _would_change(result: FormatResult) -> Diagnostic:
    return Diagnostic(
        result.path, result.first_changed_line(), Severity.ERROR, "KG-FMT",
        "not in canonical form (the diff above shows what fmt would change)",
        hint=f"run `clinic-kg fmt {result.path}`",
    )  # fmt: skip


def _summary(results: list[FormatResult], check: bool, unwritten: int = 0) -> str:
    changed = sum(r.changed for r in results) - unwritten
    refused = sum(r.formatted is None for r in results) + unwritten
    verb = "would be reformatted" if check else "reformatted"
    text = f"{len(results)} files: {changed} {verb}, {len(results) - changed - refused} unchanged"
    if refused:
        text += f", {refused} could not be formatted"
    return text
