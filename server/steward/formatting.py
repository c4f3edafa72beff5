"""Canonical Turtle for one file, checked before anything is written.

Statements keep the order the steward gave them (the file's main entity first, sections as
written), since that order carries meaning and keeps diffs small; everything inside a statement is
canonical (see turtle_writer). Comments on lines of their own between statements stay with the
statement that follows them; a comment at the end of a line or inside a statement has no place a
formatter could keep it, so the file is refused with its line and a way to move the note.

Nothing is written unless the output parses back to an isomorphic graph, formats to itself again,
and holds every comment the input held.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph
from rdflib.compare import isomorphic

from server.diagnostics import Diagnostic, Severity
from server.load.loader import FOLDERS, SourceFile, display_path, kind_of, load_file, locate
from server.settings import Settings
from server.turtle.scan import Comment, ScanResult, scan
from server.turtle.terms import PrefixMap
from server.turtle.writer import Triple, TurtleWriter

_DIRECTIVE = re.compile(r"\s*(@prefix|@base|prefix\s|base\s)", re.IGNORECASE)
ROUNDTRIP = "KG-FMT-ROUNDTRIP"


@dataclass(frozen=True)
class FormatResult:
    """One file: its text before, its canonical text (None when it cannot be formatted) and why."""

    path: str
    original: str
    formatted: str | None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def changed(self) -> bool:
        return self.formatted is not None and self.formatted != self.original

    @property
    def internal_error(self) -> bool:
        """The formatter failed its own checks: a bug, never the steward's fault."""
        return any(d.code == ROUNDTRIP for d in self.diagnostics)

    def unified_diff(self) -> str:
        if self.formatted is None:
            return ""
        return "".join(
            difflib.unified_diff(
                self.original.splitlines(keepends=True),
                self.formatted.splitlines(keepends=True),
                fromfile=f"a/{self.path}",
                tofile=f"b/{self.path}",
            )
        )

    def first_changed_line(self) -> int:
        old, new = self.original.splitlines(), (self.formatted or "").splitlines()
        for number, (a, b) in enumerate(zip(old, new, strict=False), start=1):
            if a != b:
                return number
        return min(len(old), len(new)) + 1


def files_to_format(root: Path, paths: Sequence[Path] = ()) -> list[Path]:
    """The given files and the Turtle files under the given folders; by default the project's."""
    found: dict[Path, None] = {}
    for target in paths or [root]:
        for p in turtle_files(target) if target.is_dir() else [target]:
            found[locate(p, root)] = None
    return list(found)


def turtle_files(folder: Path) -> list[Path]:
    """A project's ontology/, shapes/ and kg/ files (those folders it has), else every Turtle
    file under the folder; hidden folders such as .venv or .git are never searched."""
    tops = [folder / name for name in FOLDERS if (folder / name).is_dir()] or [folder]
    return [
        p
        for top in tops
        for p in sorted(top.rglob("*.ttl"))
        if not any(part.startswith(".") for part in p.relative_to(top).parts)
    ]


def format_file(path: Path, root: Path, settings: Settings | None = None) -> FormatResult:
    """Load one file strictly and compute its canonical text; write nothing."""
    settings = settings or Settings()
    shown = display_path(path, root)
    try:
        raw = path.read_bytes()
        original = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        raw, original = b"", ""  # load_file below says precisely what is wrong
    loaded = load_file(path, shown, kind_of(path, root), settings, root=root)
    if isinstance(loaded, Diagnostic):
        return FormatResult(shown, original, None, (loaded,))
    if loaded.sha256 != hashlib.sha256(raw).hexdigest():
        return FormatResult(shown, original, None, (_conflict(shown),))
    base = path.resolve().as_uri()
    laid_out = layout(loaded, original, base)
    if isinstance(laid_out, tuple):
        return FormatResult(shown, original, None, laid_out)
    problem = _verify(loaded, original, laid_out, settings, base)
    if problem is not None:
        return FormatResult(shown, original, None, (problem,))
    return FormatResult(shown, original, laid_out)


def layout(source: SourceFile, text: str, base_iri: str = "") -> str | tuple[Diagnostic, ...]:
    """The canonical text of a loaded file, or why its comments cannot be kept."""
    scanned = scan(text, base_iri=base_iri)
    if scanned.relative_iris:
        return tuple(_relative(source.path, line) for line in scanned.relative_iris)
    refused = [c for c in scanned.comments if c.inside or not c.standalone]
    if refused:
        return tuple(_refuse(source.path, c, scanned) for c in refused)
    prefixes = PrefixMap(source.prefixes)
    writer = TurtleWriter(source.triples, prefixes)
    order: dict[str, int] = {}
    for st in scanned.statements:
        if st.subject is not None:
            order.setdefault(st.subject, len(order))
    statements = writer.statements(order)
    preamble, attached, footer = _place_comments(scanned, text)
    written = {st.subject for st in statements}
    for subject in [s for s in attached if s not in written]:
        footer = attached.pop(subject) + footer  # never drop a comment, even if its subject is gone

    lines = text.split("\n")  # line numbers count newlines only, as the scanner's do
    chunks = [_comment_lines(preamble, lines, trailing_gap=False)]
    chunks.append(prefixes.block())
    for written_st in statements:
        above = _comment_lines(attached.get(written_st.subject or "", []), lines)
        chunks.append([*above, written_st.text])
    chunks.append(_comment_lines(footer, lines, trailing_gap=False))
    return "\n\n".join("\n".join(chunk) for chunk in chunks if chunk) + "\n"


def write_formatted(result: FormatResult, path: Path) -> Diagnostic | None:
    """Replace the file by its canonical text atomically, unless it changed since it was read or
    has other names (hard links), which an atomic replace would split from it."""
    if result.formatted is None or not result.changed:
        return None
    try:
        if path.read_bytes().decode("utf-8", "replace") != result.original:
            return _conflict(result.path)
        links = path.stat().st_nlink
        if links > 1:
            return Diagnostic(
                result.path, 0, Severity.ERROR, "KG-FMT-HARDLINK",
                f"the file has {links} names (hard links); fmt replaces a file by a new one, "
                "which would split them, so it was left as it is",
                hint="format a copy and write it back over every name yourself "
                f"(`clinic-kg fmt --check {result.path}` shows the change), or replace the "
                "hard links by one file and symbolic links inside the project",
            )  # fmt: skip
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(result.formatted)
            os.chmod(temp, path.stat().st_mode & 0o7777)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        return Diagnostic(
            result.path, 0, Severity.ERROR, "KG-FMT-WRITE", f"cannot be written: {exc.strerror}",
            hint="check the file's permissions and the free disk space",
        )  # fmt: skip
    return None


# ---------------------------------------------------------------------- comments


def _place_comments(
    scanned: ScanResult, text: str
) -> tuple[list[Comment], dict[str, list[Comment]], list[Comment]]:
    """Split kept comments into the preamble (above the prefixes), those attached to the next
    named statement, and the footer (after the last named statement)."""
    statements = scanned.statements
    first_statement = statements[0].line if statements else 1 << 30
    first_directive = next(
        (n for n, line in enumerate(text.split("\n"), start=1) if _DIRECTIVE.match(line)),
        1 << 30,
    )
    preamble_end = first_directive if first_directive < first_statement else 0
    named = [st for st in statements if st.subject is not None]
    preamble: list[Comment] = []
    attached: dict[str, list[Comment]] = {}
    footer: list[Comment] = []
    for comment in scanned.comments:
        if comment.line < preamble_end:
            preamble.append(comment)
            continue
        following = next((st for st in named if st.line > comment.line), None)
        if following is None or following.subject is None:
            footer.append(comment)
        else:
            attached.setdefault(following.subject, []).append(comment)
    return preamble, attached, footer


def _comment_lines(
    comments: list[Comment], lines: list[str], trailing_gap: bool = True
) -> list[str]:
    """The comments as written, keeping a blank line wherever one followed a comment."""
    out: list[str] = []
    for i, comment in enumerate(comments):
        out.append(comment.text.rstrip())
        gap = comment.line < len(lines) and not lines[comment.line].strip()
        if gap and (trailing_gap or i < len(comments) - 1):
            out.append("")
    return out


def _relative(path: str, line: int) -> Diagnostic:
    return Diagnostic(
        path, line, Severity.ERROR, "KG-FMT-RELATIVE-IRI",
        "a relative IRI, which fmt would write out as an absolute file:/// IRI naming this "
        "machine's folders; the file was left as it is",
        hint="write the IRI in full (`<https://…>`) or as a prefixed name (`kg:…`), or declare "
        "`@base <https://…> .` at the top of the file",
    )  # fmt: skip


def _refuse(path: str, comment: Comment, scanned: ScanResult) -> Diagnostic:
    enclosing = [st for st in scanned.statements if st.line <= comment.line]
    subject = enclosing[-1].subject if enclosing and comment.inside else None
    where = "inside a statement" if comment.inside else "at the end of a line"
    named = PrefixMap(scanned.prefixes).iri(subject) if subject else "kg:…"
    note = comment.text.lstrip("#").strip().replace('"', '\\"')
    return Diagnostic(
        path, comment.line, Severity.ERROR, "KG-FMT-COMMENT",
        f"a comment {where} cannot be kept by fmt, and fmt never drops one",
        hint="put the comment on a line of its own above the statement (fmt keeps those), or make "
        f'the note part of the graph: `{named} skos:editorialNote "{note}"@en`',
    )  # fmt: skip


# ---------------------------------------------------------------------- checks


def _verify(
    source: SourceFile, original: str, formatted: str, settings: Settings, base: str
) -> Diagnostic | None:
    """Parse the output back: same graph, same comments, and formatting it again changes nothing."""
    with tempfile.TemporaryDirectory(prefix="clinic-kg-fmt-") as tmp:
        probe = Path(tmp) / Path(source.path).name
        probe.write_text(formatted, encoding="utf-8")
        reparsed = load_file(probe, source.path, source.kind, settings)
        if not isinstance(reparsed, Diagnostic):
            reparsed.scanned  # noqa: B018 - scan the probe while it exists (SourceFile scans lazily)
    if isinstance(reparsed, Diagnostic):
        return _internal(source.path, f"the formatted text does not parse ({reparsed.message})")
    if not isomorphic(_graph(source.triples), _graph(reparsed.triples)):
        return _internal(source.path, "the formatted text does not hold the same graph")
    if _comment_texts(scan(original).comments) != _comment_texts(reparsed.comments):
        return _internal(source.path, "the formatted text lost or altered a comment")
    if layout(reparsed, formatted, base) != formatted:
        return _internal(source.path, "formatting the formatted text changes it again")
    return None


def _graph(triples: Iterable[Triple]) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    return graph


def _comment_texts(comments: Iterable[Comment]) -> Counter[str]:
    return Counter(c.text.rstrip() for c in comments)


def _conflict(path: str) -> Diagnostic:
    return Diagnostic(
        path, 0, Severity.ERROR, "KG-FMT-CONFLICT",
        "the file changed while it was being formatted; it was left as it is",
        hint="run `clinic-kg fmt` again once the file is saved",
    )  # fmt: skip


def _internal(path: str, message: str) -> Diagnostic:
    return Diagnostic(
        path, 0, Severity.ERROR, ROUNDTRIP,
        f"internal error: {message}; the file was not written",
        hint="please report this with the file attached; format the file by hand meanwhile",
    )  # fmt: skip
