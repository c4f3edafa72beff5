"""LoadCache (server/load/loader.py) trusts an unchanged stat instead of hashing a file again, as
git does for its index: only where that cannot miss an edit. A file is hashed again when its stat
moved (a write moves ctime even when size and mtime are put back: `cp -p`, `rsync -t`), when it was
replaced (another inode), and while it is too recent for its stat to vouch for it."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from server.load import loader
from server.load.loader import RACY_SECONDS, LoadCache, load
from server.settings import Settings

from .conftest import REPO

HOUR = 3600 * 1_000_000_000


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file the loader hashes, in order."""
    seen: list[Path] = []
    real = loader._digest

    def counting(path: Path) -> str | None:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(loader, "_digest", counting)
    return seen


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for folder in ("ontology", "shapes", "kg"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def _later(offset_ns: int) -> Callable[[], int]:
    return lambda: time.time_ns() + offset_ns


def _a_kg_file(root: Path) -> Path:
    return next(p for p in sorted((root / "kg").rglob("*.ttl")) if p.stat().st_size > 200)


def test_files_whose_stat_is_settled_are_not_hashed_again(
    tmp_path: Path, hashed: list[Path]
) -> None:
    root = _project(tmp_path)
    cache = LoadCache(clock=_later(HOUR))  # every file already older than the racy window
    first = load(root, (), Settings(), cache)
    assert hashed  # the first load hashes every file
    hashed.clear()
    again = load(root, (), Settings(), cache)
    assert hashed == []
    assert again.version == first.version


def _settled(tmp_path: Path) -> tuple[Path, LoadCache, str, Path, os.stat_result]:
    """A project loaded once, its files older than the racy window; a kg/ file and its stat."""
    root = _project(tmp_path)
    cache = LoadCache(clock=_later(HOUR))
    before = load(root, (), Settings(), cache).version
    path = _a_kg_file(root)
    return root, cache, before, path, path.stat()


def test_a_same_size_edit_that_keeps_its_mtime_is_hashed_and_seen(
    tmp_path: Path, hashed: list[Path]
) -> None:
    root, cache, before, path, st = _settled(tmp_path)
    data = path.read_bytes()
    assert data.endswith(b"\n")
    path.write_bytes(data[:-1] + b" ")  # the last newline becomes a space: still valid Turtle
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # what `cp -p` or `rsync -t` leave
    assert path.stat().st_size == st.st_size
    assert path.stat().st_mtime_ns == st.st_mtime_ns
    hashed.clear()
    after = load(root, (), Settings(), cache)
    assert [p.name for p in hashed] == [path.name]  # only the edited file
    assert after.version != before
    assert after.version == load(root).version  # as a load without any cache


def test_a_file_replaced_by_another_with_the_same_stat_times_is_hashed(
    tmp_path: Path, hashed: list[Path]
) -> None:
    root, cache, before, path, st = _settled(tmp_path)
    swap = path.with_suffix(".new")
    swap.write_bytes(path.read_bytes().rstrip() + b"  \n")  # an editor's save: write, rename
    os.utime(swap, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(swap, path)
    hashed.clear()
    after = load(root, (), Settings(), cache)
    assert path in hashed
    assert after.version != before


def test_recent_files_are_hashed_on_every_load(tmp_path: Path, hashed: list[Path]) -> None:
    """Within RACY_SECONDS of a change, an edit in the same clock tick could leave the stat as
    it was: such files are hashed every time until they are older."""
    root = _project(tmp_path)
    cache = LoadCache(clock=_later(0))  # the files were written just now
    load(root, (), Settings(), cache)
    count = len(hashed)
    hashed.clear()
    load(root, (), Settings(), cache)
    assert len(hashed) == count
    hashed.clear()
    settled = LoadCache(clock=_later((RACY_SECONDS + 1) * 1_000_000_000))
    load(root, (), Settings(), settled)
    hashed.clear()
    load(root, (), Settings(), settled)
    assert hashed == []


def test_the_shapes_graph_is_built_again_only_when_a_shapes_file_changed(tmp_path: Path) -> None:
    root = _project(tmp_path)
    cache = LoadCache(clock=_later(HOUR))
    first = load(root, (), Settings(), cache).shapes
    _a_kg_file(root).write_text(
        _a_kg_file(root).read_text(encoding="utf-8") + "\n", encoding="utf-8"
    )
    assert load(root, (), Settings(), cache).shapes is first  # the same shapes triples
    shapes = next(iter(sorted((root / "shapes").rglob("*.ttl"))))
    shapes.write_text(
        shapes.read_text(encoding="utf-8") + "\nckg:ExtraShape a sh:NodeShape .\n", encoding="utf-8"
    )
    again = load(root, (), Settings(), cache).shapes
    assert again is not first
    assert len(again) == len(first) + 1
