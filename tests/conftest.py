"""Shared test helpers: the repository root and throwaway copies of the project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of ontology/, shapes/ and kg/ that a test may break freely."""
    for name in ("ontology", "shapes", "kg"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path
