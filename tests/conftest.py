"""Shared test helpers: the repository root and throwaway copies of the project."""

from __future__ import annotations

import shutil
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
