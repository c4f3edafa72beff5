"""The project's diagnostics as an editor shows them: an LSP range on the reported line (the
offending term's columns when it is written there), the severity, the code, the message and hint,
and, where the hint has a did-you-mean, the quick fix that writes the suggestion instead."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property
from typing import Any

from lsprotocol import types as lsp

from server.diagnostics import Diagnostic, Severity
from server.rdf.namespaces import PREFIXES
from server.turtle.scan import scan

SOURCE = "clinic-kg"
_SEVERITY = {
    Severity.ERROR: lsp.DiagnosticSeverity.Error,
    Severity.WARNING: lsp.DiagnosticSeverity.Warning,
    Severity.INFO: lsp.DiagnosticSeverity.Information,
}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_DID_YOU_MEAN = re.compile(r"did you mean (\S+)\?")
# A prefixed name stands alone: not part of a longer name (`kg:pain` in `kg:pain-relief`).
_NAME_BEFORE = r"(?<![\w:.#/<-])"
_NAME_AFTER = r"(?![\w:#/-]|\.[\w-])"

# Client code units of a text (UTF-16 by default in LSP; UTF-8 or UTF-32 when negotiated).
Units = Callable[[str], int]


class Text:
    """A document's lines (split where LSP splits them) and where its statements start."""

    def __init__(self, source: str) -> None:
        self.lines = _LINE_BREAK.split(source)

    @cached_property
    def starts(self) -> list[int]:
        """The 0-based line of each statement's start."""
        return sorted({st.line - 1 for st in scan("\n".join(self.lines)).statements})

    def line(self, n: int) -> str:
        return self.lines[n] if 0 <= n < len(self.lines) else ""


@dataclass(frozen=True)
class Fix:
    """Write `right` where `wrong` is written in the statement at line (0-based)."""

    wrong: str
    right: str
    line: int

    def to_data(self) -> dict[str, Any]:
        return {"wrong": self.wrong, "right": self.right, "line": self.line}

    @classmethod
    def from_data(cls, data: object) -> Fix | None:
        if not isinstance(data, dict):
            return None
        wrong, right, line = data.get("wrong"), data.get("right"), data.get("line")
        if isinstance(wrong, str) and isinstance(right, str) and isinstance(line, int):
            return cls(wrong, right, line)
        return None

    @property
    def title(self) -> str:
        return f"Replace {self.wrong} with {self.right}"


def to_lsp(d: Diagnostic, text: Text, uri: str, units: Units = len) -> lsp.Diagnostic:
    """d as an LSP diagnostic on the line it reports, in the document's text."""
    line = max(d.line - 1, 0)
    fix = _fix(d, line, text)
    terms = [fix.wrong] if fix else []
    terms += [t for t in (d.value, d.property) if t and t not in terms]
    on_line = text.line(line)
    span = next((s for t in terms for s in _spans(on_line, t)), None)
    if span is None:  # the whole line, less its indentation
        span = (len(on_line) - len(on_line.lstrip()), len(on_line))
    related = None
    if fix is not None and not _spans(on_line, fix.wrong):
        written = next(iter(find_in_statement(text, fix.line, fix.wrong)), None)
        if written is not None:
            related = [
                lsp.DiagnosticRelatedInformation(
                    location=lsp.Location(uri, _range(text, *written, units)),
                    message=f"{fix.wrong} is written here",
                )
            ]
    return lsp.Diagnostic(
        range=_range(text, line, *span, units),
        severity=_SEVERITY[d.severity],
        code=d.code,
        source=SOURCE,
        message=message(d),
        related_information=related,
        data={"fix": fix.to_data()} if fix else None,
    )


def message(d: Diagnostic) -> str:
    """What `validate` prints for d, without the file:line, severity and code the editor shows."""
    where = f"{d.path}:{d.line}" if d.line else d.path
    return d.render().removeprefix(f"{where}: {d.severity.value} {d.code}").lstrip()


def fix_edits(text: Text, fix: Fix, units: Units = len) -> list[lsp.TextEdit]:
    """The edits that write fix.right for every fix.wrong of the statement at fix.line."""
    edits = []
    for line, start, end in find_in_statement(text, fix.line, fix.wrong):
        written = text.line(line)[start:end]
        new = f"<{_expand(fix.right)}>" if written.startswith("<") else fix.right
        edits.append(lsp.TextEdit(range=_range(text, line, start, end, units), new_text=new))
    return edits


def find_in_statement(text: Text, line: int, term: str) -> list[tuple[int, int, int]]:
    """(line, start, end) of each place term (a prefixed name, or its full IRI in <>) is written
    in the statement that starts on or before line and runs to the next statement."""
    first = max((s for s in text.starts if s <= line), default=line)
    last = min((s for s in text.starts if s > first), default=len(text.lines))
    return [(n, a, b) for n in range(first, last) for a, b in _spans(text.line(n), term)]


def _fix(d: Diagnostic, line: int, text: Text) -> Fix | None:
    """The did-you-mean of d's hint, and the term of d it corrects (the one it is closest to),
    when that term is written in the subject's statement."""
    guess = _DID_YOU_MEAN.search(d.hint)
    if guess is None:
        return None
    right = guess.group(1)
    candidates = [t for t in (d.property, d.value) if t and t != right]
    if not candidates:
        return None
    wrong = max(candidates, key=lambda t: SequenceMatcher(None, t, right).ratio())
    if not find_in_statement(text, line, wrong):
        return None
    return Fix(wrong, right, line)


def _spans(text: str, term: str) -> list[tuple[int, int]]:
    """Where term is written in text: as the prefixed name, or as its full IRI in <>."""
    patterns = [_NAME_BEFORE + re.escape(term) + _NAME_AFTER]
    iri = _expand(term)
    if iri != term:
        patterns.append(re.escape(f"<{iri}>"))
    return sorted(m.span() for p in patterns for m in re.finditer(p, text))


def _expand(term: str) -> str:
    prefix, colon, local = term.partition(":")
    namespace = PREFIXES.get(prefix) if colon else None
    return namespace + local if namespace else term


def _range(text: Text, line: int, start: int, end: int, units: Units) -> lsp.Range:
    written = text.line(line)
    return lsp.Range(
        start=lsp.Position(line=line, character=units(written[:start])),
        end=lsp.Position(line=line, character=units(written[:end])),
    )
