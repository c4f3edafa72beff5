"""Shared test helpers: the repository root and throwaway copies of the project."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from server.settings import Settings
from server.snapshot import build_snapshot
from server.store import StoreHolder
from server.validation import validate_project
from server.watch import Reloader

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of ontology/, shapes/ and kg/ that a test may break freely."""
    for name in ("ontology", "shapes", "kg"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def reloader(project: Path) -> Reloader:
    """A `serve --watch` reloader over a copy of the project, serving its first version."""
    settings = Settings()
    outcome = validate_project(project, (), settings)
    assert outcome.conforms
    return Reloader(project, settings, StoreHolder(build_snapshot(outcome.load, settings)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per W3C suite with how its entries fared (tests/test_w3c_*.py record each one;
    read from the reports, so it works under pytest-xdist too)."""
    tally: dict[str, Counter[str]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == "w3c":
                    suite, outcome = value
                    tally.setdefault(suite, Counter())[outcome] += 1
    for suite, counts in sorted(tally.items()):
        total = sum(counts.values())
        first = "passed" if "passed" in counts else "native"
        parts = [f"{counts[first]}/{total} {first}"]
        parts += [f"{n} {o}" for o, n in sorted(counts.items()) if o not in (first, "wrong")]
        parts.append(f"{counts['wrong']} wrong")
        terminalreporter.write_line(f"{suite}: " + ", ".join(parts))
