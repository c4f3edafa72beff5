"""serve --watch under unlucky file-system events: folders deleted, recreated, renamed or swapped
(a branch switch, `rsync --delete`), edits that keep size and mtime (`cp -p`, `rsync -t`), and
files that become unreadable and readable again."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.load.loader import load
from server.serve.watch import Reloader, Watcher

from . import live_server
from .conftest import REPO
from .kg_files import described_in

STATISTIC, _ = described_in(REPO, "back-pain-lifetime-prevalence")
WAIT = 30.0  # an upper bound for the test to give up, not a performance assertion


def _edited(path: Path, old: str, new: str, keep_mtime: bool = False) -> None:
    st = path.stat()
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {WAIT} s")


# Item 4: what changed is decided by content, and read errors follow the file's state.


def test_same_size_edit_that_keeps_its_mtime_is_served(reloader: Reloader, project: Path) -> None:
    reloader.reload()  # the cache now holds every file
    before = reloader.holder.current.version
    path = project / STATISTIC
    size = path.stat().st_size
    _edited(path, '"85"^^xsd:decimal', '"86"^^xsd:decimal', keep_mtime=True)
    assert path.stat().st_size == size  # what `cp -p` or `rsync -t` leaves behind
    outcome = reloader.reload()
    assert outcome.swapped
    assert outcome.version == load(project).version != before


def _unreadable(monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
    """`chmod 000` as seen by a reader that is not root: opening the file fails."""
    real_open, real_read = Path.open, Path.read_bytes

    def refuse(path: Path) -> None:
        if path.resolve() == target.resolve():
            raise PermissionError(13, "Permission denied", str(path))

    def fake_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        refuse(self)
        return real_open(self, *args, **kwargs)

    def fake_read(self: Path) -> bytes:
        refuse(self)
        return real_read(self)

    monkeypatch.setattr(Path, "open", fake_open)
    monkeypatch.setattr(Path, "read_bytes", fake_read)


def test_unreadable_unchanged_file_is_reported_and_cleared_when_readable(
    reloader: Reloader, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reloader.reload()
    good = reloader.holder.current
    with monkeypatch.context() as patch:
        _unreadable(patch, project / STATISTIC)
        outcome = reloader.reload()
        assert not outcome.swapped
        assert outcome.error is not None
        assert f"{STATISTIC}:" in outcome.error
        assert "Permission denied" in outcome.error
        assert reloader.reload().error is not None  # still unreadable: still reported
    assert reloader.holder.current is good
    outcome = reloader.reload()  # readable again, content unchanged
    assert outcome.error is None
    assert outcome.version == good.version
    assert reloader.holder.last_reload_error is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_chmod_000_is_reported_and_cleared(reloader: Reloader, project: Path) -> None:
    reloader.reload()
    path = project / STATISTIC
    path.chmod(0)
    try:
        assert "Permission denied" in (reloader.reload().error or "")
    finally:
        path.chmod(0o644)
    assert reloader.reload().error is None
    assert reloader.holder.last_reload_error is None


# Item 3: the watcher outlives the folders it watches.


@pytest.fixture
def watching(reloader: Reloader) -> Iterator[Reloader]:
    watcher = Watcher(reloader, debounce_ms=50)
    watcher.start()
    time.sleep(0.3)  # the watch is armed
    yield reloader
    watcher.stop()


def _serves(reloader: Reloader, project: Path) -> Callable[[], bool]:
    expected = load(project).version
    return lambda: (
        reloader.holder.current.version == expected and reloader.holder.last_reload_error is None
    )


def test_folder_deleted_then_recreated_is_watched_again(watching: Reloader, project: Path) -> None:
    saved = project.parent / f"{project.name}-kg"
    shutil.copytree(project / "kg", saved)
    shutil.rmtree(project / "kg")
    _until(lambda: watching.holder.last_reload_error is not None, "the deletion is reported")
    shutil.copytree(saved, project / "kg")
    _until(_serves(watching, project), "the recreated folder is served")
    # and later edits inside the new folder are served too
    _edited(project / STATISTIC, '"85"^^xsd:decimal', '"86"^^xsd:decimal')
    _until(_serves(watching, project), "an edit in the recreated folder is served")


def test_folder_swapped_by_renames_is_watched(watching: Reloader, project: Path) -> None:
    staged = project / "kg.new"
    shutil.copytree(project / "kg", staged)
    _edited(staged / Path(STATISTIC).relative_to("kg"), '"85"^^xsd:decimal', '"86"^^xsd:decimal')
    (project / "kg").rename(project / "kg.old")
    staged.rename(project / "kg")
    _until(_serves(watching, project), "the swapped-in folder is served")
    _edited(project / STATISTIC, '"86"^^xsd:decimal', '"87"^^xsd:decimal')
    _until(_serves(watching, project), "an edit in the swapped-in folder is served")
    # the old folder is no longer the project's: editing it changes nothing served
    _edited(project / "kg.old" / Path(STATISTIC).relative_to("kg"), '"85"', '"84"')
    time.sleep(0.5)
    assert _serves(watching, project)()


@pytest.fixture
def watched(project: Path) -> Iterator[live_server.LiveServer]:
    yield from live_server.start(
        project, env={"CLINIC_KG_WATCH_DEBOUNCE_MS": "100"}, extra=("--watch",)
    )


@pytest.mark.e2e
def test_live_server_serves_kg_recreated_by_a_branch_switch(
    watched: live_server.LiveServer, project: Path
) -> None:
    saved = project.parent / f"{project.name}-kg"
    shutil.copytree(project / "kg", saved)
    _edited(saved / Path(STATISTIC).relative_to("kg"), '"85"^^xsd:decimal', '"86"^^xsd:decimal')
    shutil.rmtree(project / "kg")

    def health() -> dict[str, object]:
        body: dict[str, object] = httpx.get(f"{watched.url}/healthz", timeout=10).json()
        return body

    _until(lambda: "KG-" in str(health().get("lastReloadError")), "the deletion is reported")
    shutil.copytree(saved, project / "kg")
    expected = load(project).version

    def fresh() -> bool:
        body = health()
        return body.get("lastReloadError") is None and body.get("datasetVersion") == expected

    try:
        _until(fresh, "the recreated kg/ is served and /healthz is clear")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{health()}\n{watched.output()[-3000:]}") from None
