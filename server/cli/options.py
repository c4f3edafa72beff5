"""Options and checks every command shares."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
PROJECT_FOLDERS = ("ontology", "shapes", "kg")


def root_option(
    help: str = "Project folder holding ontology/, shapes/ and kg/.",
) -> Callable[[F], F]:
    """`--root DIR`, the project folder (the current folder by default)."""
    return click.option(
        "--root",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help=help,
    )


def require_project(root: Path, folders: Iterable[str] = PROJECT_FOLDERS) -> None:
    """A usage error (exit 2) naming what is missing when root is not a clinic-kg project."""
    missing = [str(root / name) for name in folders if not (root / name).is_dir()]
    if missing:
        raise click.UsageError(
            f"{root} is not a clinic-kg project: missing {', '.join(missing)} "
            "(run from the project folder or pass --root DIR)"
        )
