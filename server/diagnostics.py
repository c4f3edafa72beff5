"""What validation reports: one typed diagnostic per problem, with a stable code and a location."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding: where (file:line), how bad, which rule (code), about what, and how to fix it."""

    path: str
    line: int
    severity: Severity
    code: str
    message: str
    subject: str = ""
    label: str = ""
    property: str = ""
    shape: str = ""
    value: str = ""
    hint: str = ""

    def render(self) -> str:
        """`path:line: severity CODE subject "label" property — message (shape)`."""
        where = f"{self.path}:{self.line}" if self.line else self.path
        parts = [f"{where}: {self.severity.value} {self.code}"]
        if self.subject:
            parts.append(self.subject)
        if self.label:
            parts.append(f'"{self.label}"')
        if self.property:
            parts.append(self.property)
        text = " ".join(parts) + f" — {self.message}"
        if self.value:
            text += f" (value: {self.value})"
        if self.shape:
            text += f" (shape {self.shape})"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data


@dataclass(frozen=True)
class Report:
    """The outcome of a validation: every diagnostic, sorted by file and line."""

    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)
    files: tuple[str, ...] = field(default_factory=tuple)
    triples: int = 0

    @property
    def conforms(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)

    def counts(self) -> dict[str, int]:
        counted = Counter(d.severity.value for d in self.diagnostics)
        return {s.value: counted.get(s.value, 0) for s in Severity}

    def summary(self) -> str:
        c = self.counts()
        verdict = "conforms" if self.conforms else "does not conform"
        return (
            f"{_count(len(self.files), 'file')}, {self.triples} triples: {verdict} — "
            f"{_count(c['error'], 'error')}, {_count(c['warning'], 'warning')}, {c['info']} info"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "conforms": self.conforms,
            "counts": self.counts(),
            "files": list(self.files),
            "triples": self.triples,
            "results": [d.to_json() for d in self.diagnostics],
        }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
