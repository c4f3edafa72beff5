"""`clinic-kg diff A B`: what changed in the graph, subject by subject, facts first."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import click

from server.cli.options import root_option
from server.settings import Settings
from server.steward.diffing import GraphDiff, Status, SubjectDiff, ValueChange, diff_sides
from server.steward.revisions import SideError, load_side, vocabulary

EXIT_OK, EXIT_UNREADABLE = 0, 1
_STATUSES: tuple[Status, ...] = ("changed", "added", "removed")


@click.command(name="diff")
@click.argument("old")
@click.argument("new", required=False)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text for a terminal, markdown for a pull request, json for tools.",
)
@root_option("Project folder (and git work tree) that revisions are read from.")
def diff(old: str, new: str | None, output: str, root: Path) -> int:
    """Compare two versions of the graph: OLD and NEW are Turtle files, folders or git revisions
    (HEAD~1, main, a tag); NEW defaults to the working tree (--root). A revision means the project's
    ontology/, shapes/ and kg/ as committed there; a path that exists wins over a revision.

    Lists added, removed and changed subjects with their labels and, for a change, each property's
    old value → new value; facts (statistics, claims) come first, since published pages quote
    them. Layout, statement order and blank-node labels are not changes.

    Exit codes: 0 the diff ran (whether or not there are differences: it informs, it does not
    judge — use `git diff --exit-code` to fail on any change); 1 a side has files that do not
    parse (listed); 2 usage error (OLD or NEW is neither a path nor a revision); 3 internal error.
    """
    settings = Settings.from_env()
    try:
        before = load_side(old, root, settings)
        after = load_side(str(root) if new is None else new, root, settings)
    except SideError as exc:
        raise click.UsageError(str(exc)) from None
    if new is None:
        after = replace(after, side=replace(after.side, name="working tree"))
    unreadable = before.diagnostics + after.diagnostics
    if unreadable:
        for d in unreadable:
            click.echo(d.render(), err=True)
        click.echo(
            "clinic-kg diff: a side has files that do not parse; a diff would show their "
            "subjects as removed, so none is shown — fix or validate them first",
            err=True,
        )
        return EXIT_UNREADABLE
    result = diff_sides(before.side, after.side, vocabulary(root, settings))
    if output == "json":
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    elif output == "markdown":
        click.echo(render_markdown(result))
    else:
        click.echo(render_text(result))
    return EXIT_OK


def render_text(result: GraphDiff) -> str:
    lines = [f"clinic-kg diff {result.old} → {result.new}: {_summary(result)}"]
    for facts, title in ((True, "Facts"), (False, "Subjects")):
        for status in _STATUSES:
            group = result.select(status, facts)
            if not group:
                continue
            lines += ["", f"{title} {status}" + (" (quoted on published pages)" if facts else "")]
            for s in group:
                lines.append(f"  {_heading(s, str)}")
                lines += [f"    {line}" for line in _changes(s, str)]
    return "\n".join(lines)


def render_markdown(result: GraphDiff) -> str:
    lines = [f"### Graph changes: {_code(result.old)} → {_code(result.new)}", "", _summary(result)]
    for facts, title in ((True, "Facts"), (False, "Subjects")):
        for status in _STATUSES:
            group = result.select(status, facts)
            if not group:
                continue
            note = " — published pages quote these" if facts else ""
            lines += ["", f"#### {title} {status} ({len(group)}){note}", ""]
            for s in group:
                lines.append(f"- {_heading(s, _code)}")
                lines += [f"  - {line}" for line in _changes(s, _code)]
    return "\n".join(lines)


def _summary(result: GraphDiff) -> str:
    if result.empty:
        return "no differences"
    c = result.counts()
    facts = sum(c[f"facts_{s}"] for s in _STATUSES)
    return (
        f"{c['changed']} changed, {c['added']} added, {c['removed']} removed subjects; "
        f"{facts} of them facts"
    )


def _heading(s: SubjectDiff, code: Callable[[str], str]) -> str:
    label = f' "{s.label}"' if s.label else ""
    where = f" ({s.location})" if s.location else ""
    return f"{code(s.name)}{label}{where}"


def _changes(s: SubjectDiff, code: Callable[[str], str]) -> list[str]:
    lines: list[str] = []
    for change in s.changes:
        lines += _change(change, s.status, code)
    return lines


def _change(c: ValueChange, status: Status, code: Callable[[str], str]) -> list[str]:
    name = code(c.predicate) if c.predicate else "blank node"
    if c.replaced and status == "changed":
        return [f"{name}: {code(c.removed[0])} → {code(c.added[0])}"]
    return [f"{name}: − {code(v)}" for v in c.removed] + [f"{name}: + {code(v)}" for v in c.added]


def _code(text: str) -> str:
    """A markdown code span that survives backticks inside the value."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
