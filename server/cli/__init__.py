"""`clinic-kg`: one command line for stewards and operators. Commands only render core results."""

from __future__ import annotations

import importlib
import sys

import click

from server.settings import SettingError

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

# Commands are imported only when run, so `validate` never pays for the web stack's imports.
COMMANDS: dict[str, str] = {
    "validate": "server.cli.validate:validate",
    "fmt": "server.cli.fmt:fmt",
    "diff": "server.cli.diff:diff",
    "serve": "server.cli.serve:serve",
    "export": "server.cli.export:export",
    "new": "server.cli.new:new",
    "publish": "server.cli.publish:publish_command",
    "lsp": "server.cli.lsp:lsp",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clinic-kg")
def cli() -> None:
    """Validate, format, diff, export, publish and serve the clinic knowledge graph; start a new
    page; show its diagnostics in an editor (lsp)."""


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
    except SettingError as exc:
        click.echo(f"clinic-kg: bad setting: {exc}", err=True)
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
