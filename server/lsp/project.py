"""The project as an editor sees it: the files on disk, with the open documents' unsaved text read
instead, validated whole, and the diagnostics grouped by the file they are about."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from server.diagnostics import Diagnostic
from server.load.loader import FOLDERS, LoadCache
from server.settings import Settings
from server.validate.validation import validate_project


@dataclass(frozen=True)
class Findings:
    """One validation of the whole project: the diagnostics of each file (by resolved path), and
    whether validation went past parsing (when a file does not parse, only parse errors are
    known, and what other files had found still stands)."""

    by_file: Mapping[Path, tuple[Diagnostic, ...]]
    complete: bool
    # Diagnostics that name a folder rather than a file (no statement to point at).
    unplaced: tuple[Diagnostic, ...] = ()


def missing_folders(root: Path) -> list[str]:
    """The project folders root lacks (none: it is a clinic-kg project)."""
    return [name for name in FOLDERS if not (root / name).is_dir()]


def find_project(start: Path) -> Path | None:
    """start, or the nearest folder above it, that is a clinic-kg project (an editor opened on
    kg/ or on a folder of it still finds its project)."""
    start = start.resolve()
    return next((f for f in (start, *start.parents) if not missing_folders(f)), None)


class LiveProject:
    """A clinic-kg project under validation while it is edited. Unchanged files are parsed once
    (the load cache); the overlaid ones on every run."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root.resolve()
        self.settings = settings
        self._cache = LoadCache()

    def holds(self, path: Path) -> bool:
        """Whether path is a Turtle file of the project (under ontology/, shapes/ or kg/): the
        only files validated. Any other file an editor opens is not part of the project."""
        if path.suffix != ".ttl":
            return False
        try:
            relative = path.resolve().relative_to(self.root)
        except ValueError:
            return False
        return len(relative.parts) > 1 and relative.parts[0] in FOLDERS

    def validate(self, overlay: Mapping[Path, str]) -> Findings:
        """Validate the whole project with overlay's text read instead of those files' disk text.
        Not thread-safe: one run at a time (the load cache is shared)."""
        texts = {p.resolve(): text for p, text in overlay.items() if self.holds(p)}
        outcome = validate_project(self.root, (), self.settings, self._cache, texts)
        by_file: dict[Path, list[Diagnostic]] = {}
        unplaced: list[Diagnostic] = []
        for d in outcome.report.diagnostics:
            path = (self.root / d.path).resolve()
            if d.path.endswith("/") or not path.suffix:
                unplaced.append(d)
            else:
                by_file.setdefault(path, []).append(d)
        return Findings(
            by_file={p: tuple(ds) for p, ds in by_file.items()},
            complete=outcome.load.ok,
            unplaced=tuple(unplaced),
        )
