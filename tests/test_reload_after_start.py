"""An edit made right after `serve --watch` starts is served without waiting for work it does not
need (server/serve/watch.py, server/serve/workers.py).

At a million triples a start from the start-up cache takes ~8 s, and then the watcher makes the
baseline of incremental reloads (~28 s: the served version parsed and validated again) and prints
the first version for the change feed (~30 s). An edit 3 s after the start was served ~92 s
later. Now:
- a start that validated hands its validation to the reloader, which keeps it as the baseline
  instead of validating again;
- the baseline is made before the first print, in one thread, so an edit waits only for it;
- a reload while the first print runs serves the new version at once; the workers are forked
  again once the prints are done.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest

import server.serve.watch as watch_module
import server.store.history as history_module
from server.load.loader import LoadCache
from server.serve.startup import start
from server.serve.watch import Reloader
from server.serve.workers import ForkingReloader
from server.settings import Settings
from server.store.history import VersionPrint
from server.store.protocol import Store, StoreHolder

from .test_incremental_reload import apply

WAIT = 60.0  # seconds: a bound on waiting for a thread, not a performance assertion
EDIT = ("label", "kg/symptoms.ttl", 0, "edit")


def _no_second_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the served version was loaded and validated again")

    monkeypatch.setattr(watch_module, "validate_loaded", refuse)


def test_the_start_s_validation_is_the_baseline(
    project: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(startup_cache=False)
    started = start(project, settings, keep_validation=True)
    assert started.snapshot is not None
    assert started.validated is not None
    reloader = Reloader(
        project, settings, StoreHolder(started.snapshot), validated=started.validated
    )
    _no_second_validation(monkeypatch)
    with caplog.at_level("INFO", logger="clinic_kg.watch"):
        reloader.prepare()
    assert "ready for incremental reloads: kept from the start's validation" in caplog.text
    monkeypatch.undo()  # the edit's own validation runs as usual
    apply(project, EDIT)
    assert reloader.reload().swapped
    assert reloader.last_path == "incremental"


def test_a_start_that_did_not_validate_validates_for_its_baseline(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings()  # the start-up cache on: the second start validates nothing
    start(project, settings)
    started = start(project, settings, keep_validation=True)
    assert started.from_cache
    assert started.validated is None
    assert started.snapshot is not None
    reloader = Reloader(project, settings, StoreHolder(started.snapshot))
    with caplog.at_level("INFO", logger="clinic_kg.watch"):
        reloader.prepare()
    assert "ready for incremental reloads: validated again" in caplog.text
    apply(project, EDIT)
    assert reloader.reload().swapped
    assert reloader.last_path == "incremental"


def test_start_keeps_no_validation_unless_asked(project: Path) -> None:
    assert start(project, Settings(startup_cache=False)).validated is None


def test_a_reload_does_not_wait_for_the_first_print(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reload serves the new version and has the workers forked while the first version
    still prints; once both are printed, the workers are forked again (so they inherit them)."""
    settings = Settings(startup_cache=False)
    started = start(project, settings, keep_validation=True)
    assert started.snapshot is not None
    holder = StoreHolder(started.snapshot)
    first = holder.current.version
    gate, printing = threading.Event(), threading.Event()
    real_print = history_module._print

    def gated(store: Store, previous: VersionPrint | None) -> VersionPrint | None:
        if store.version == first:
            printing.set()
            assert gate.wait(WAIT)
        return real_print(store, previous)

    monkeypatch.setattr(history_module, "_print", gated)
    changed = threading.Event()
    reloader = ForkingReloader(
        project, settings, holder, changed, LoadCache(), threading.Lock(), started.validated
    )
    reloader.prepare()
    first_print = threading.Thread(target=holder.history.materialize)
    first_print.start()
    try:
        assert printing.wait(WAIT)
        apply(project, EDIT)
        done = threading.Thread(target=reloader.reload)
        done.start()
        done.join(WAIT)
        assert not done.is_alive(), "the reload waited for the first version's print"
        assert holder.current.version != first
        assert changed.is_set()  # the workers are forked for the new version now
        changed.clear()
        assert not gate.is_set()
    finally:
        gate.set()
    first_print.join(WAIT)
    assert changed.wait(WAIT)  # and again once the prints are done
    assert holder.history.get(first) is not None
    assert holder.history.get(holder.current.version) is not None


def test_the_baseline_is_kept_out_of_the_collector_s_walk(project: Path) -> None:
    """After a start from the start-up cache the baseline is validated afresh: millions of
    objects at 1M triples, whose first full collection came during the first reload (2.1 s
    instead of 0.4 s). `prepare` collects and freezes them, as the snapshot is."""
    settings = Settings()
    start(project, settings)
    started = start(project, settings)  # from the cache: the baseline is validated again
    assert started.snapshot is not None
    reloader = Reloader(project, settings, StoreHolder(started.snapshot))
    gc.unfreeze()
    try:
        reloader.prepare()
        baseline = reloader._baseline
        assert baseline is not None
        walked = {id(o) for o in gc.get_objects()}
        assert id(baseline.subject_files) not in walked  # frozen: never walked again
        assert id(baseline) not in walked
    finally:
        gc.unfreeze()
        gc.collect()
