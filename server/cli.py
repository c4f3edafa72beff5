"""`clinic-kg`: one command line for stewards and operators. Commands only render core results."""

from __future__ import annotations

import sys

import click

from .commands.diff import diff
from .commands.export import export
from .commands.fmt import fmt
from .commands.serve import serve
from .commands.validate import validate

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clinic-kg")
def cli() -> None:
    """Validate, format, diff, export and serve the clinic knowledge graph."""


for command in (validate, fmt, diff, serve, export):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: usage errors exit 2, unexpected errors exit 3 with a one-line message."""
    try:
        code = cli.main(args=argv, prog_name="clinic-kg", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_USAGE)
    except click.UsageError as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # no traceback for users: one line, exit 3
        click.echo(f"clinic-kg: internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo("please report this with the command you ran", err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
