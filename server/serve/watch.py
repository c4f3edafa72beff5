"""`clinic-kg serve --watch`: reload on save, and never serve an invalid graph.

A background thread waits for changes under ontology/, shapes/ and kg/ (watchfiles, which batches
a burst of saves into one set of changes), then loads and validates the project beside the
snapshot being served. Only a graph that conforms becomes a new snapshot, swapped in with one
reference assignment; otherwise the old snapshot keeps serving and the validation report is
logged and shown in /healthz and in the `dataset { lastReloadError }` field. Requests in flight
keep the snapshot they started with. A watched folder that is deleted, recreated, renamed or
swapped (a branch switch, `rsync --delete`) is watched again as it is now, and what it holds is
reloaded; which files changed is decided by their bytes (server/load/loader.py, LoadCache).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import watchfiles

from server.diagnostics import Report
from server.load.loader import FOLDERS, LoadCache, LoadResult, load
from server.rdf.triple_index import Index
from server.settings import Settings
from server.store.heap import collector_paused, settle_heap
from server.store.history import reloading
from server.store.protocol import Store, StoreHolder
from server.store.snapshot import Snapshot, build_snapshot, patch_snapshot
from server.validate.incremental import Baseline
from server.validate.validation import Outcome, validate_loaded

log = logging.getLogger("clinic_kg.watch")

# Shown in lastReloadError; the full report goes to the log.
MAX_REPORTED_DIAGNOSTICS = 20
# How often a quiet watcher checks that the folders it watches are still the project's.
REARM_CHECK_MS = 250


@dataclass(frozen=True)
class ReloadOutcome:
    """What one reload did: swapped to a new version, kept the old one, or found nothing new."""

    swapped: bool
    version: str
    seconds: float
    error: str | None = None


class Reloader:
    """Validates the project off to the side and swaps the holder's store when it conforms.

    It keeps the last conforming version (server/validate/incremental.py `Baseline`): an edit of
    kg/ files only is then validated on the nodes it can affect and the snapshot patched
    (`patch_snapshot`); anything else, or with the incremental_reload setting off, everything is
    validated and built again. Each reload logs which path it took (`last_path`)."""

    def __init__(
        self,
        root: Path,
        settings: Settings,
        holder: StoreHolder,
        build: Callable[[LoadResult, Settings, Index | None], Store] = build_snapshot,
        cache: LoadCache | None = None,
        validated: Outcome | None = None,
    ) -> None:
        """`validated`: the start's own validation of the version being served (a start that
        did not come from the start-up cache), which `prepare` keeps instead of validating it
        again (~28 s at a million triples)."""
        self.root = root
        self.settings = settings
        self.holder = holder
        self.build = build
        self.cache = cache or LoadCache()
        self._lock = threading.Lock()  # one reload at a time
        self._baseline: Baseline | None = None
        self._validated = validated if settings.incremental_reload else None
        self.last_path = ""  # "incremental" or "full": how the last reload validated
        self.last_report: Report | None = None  # what it found

    def prepare(self) -> None:
        """Keep the version being served as the baseline of incremental reloads: from the
        start's validation when there was one, else validated once more, off to the side
        (`Watcher.start` runs it in a thread; a reload meanwhile waits for it). Without it the
        first reload validates everything and keeps its result."""
        if not self.settings.incremental_reload:
            return
        with self._lock:
            if self._baseline is not None:
                return
            started = time.perf_counter()
            validated, self._validated = self._validated, None
            how = "kept from the start's validation"
            if validated is None or validated.load.version != self.holder.current.version:
                loaded = load(self.root, (), self.settings, self.cache)
                if loaded.version != self.holder.current.version:
                    return  # already edited: the next reload validates everything
                current = self.holder.current
                if isinstance(current, Snapshot):
                    # The change feed's first print reads these, not the files again (an edit
                    # made meanwhile would leave it nothing to print), and the next print shares
                    # them with the reloader's.
                    current.supply_files(loaded)
                validated, how = validate_loaded(loaded), "validated again"
            self._baseline = Baseline.of(validated)
            del validated  # what the baseline does not keep is garbage now
            # Out of the collector's walk, as the snapshot is: else the next full collection
            # walks the baseline (~2 s at 1M triples, validated again after a start from the
            # start-up cache), and it came during the first reload (2.1 s instead of 0.4 s).
            settle_heap(whole=False)
            if self._baseline is not None:
                log.info(
                    "ready for incremental reloads: %s version %s (%.1f s)",
                    how,
                    self.holder.current.version,
                    time.perf_counter() - started,
                )

    def reload(self) -> ReloadOutcome:
        with self._lock, reloading():  # a print of the change feed waits meanwhile
            started = time.perf_counter()
            with collector_paused():  # the settle at the end collects what this leaves
                loaded = load(self.root, (), self.settings, self.cache)
                edit = self._baseline.revalidate(loaded) if self._baseline is not None else None
            if edit is not None:
                outcome, self.last_path = edit.outcome, "incremental"
            else:
                outcome, self.last_path = validate_loaded(loaded), "full"
            seconds = time.perf_counter() - started
            version = outcome.load.version
            self.last_report = outcome.report
            if not outcome.conforms:
                lines = [d.render() for d in outcome.report.diagnostics]
                shown = lines[:MAX_REPORTED_DIAGNOSTICS]
                if len(lines) > len(shown):
                    shown.append(f"… and {len(lines) - len(shown)} more")
                message = "\n".join([*shown, outcome.report.summary()])
                self.holder.fail(message, datetime.now(UTC))
                log.warning(
                    "reload rejected (%s validation), still serving %s:\n%s",
                    self.last_path,
                    self.holder.current.version,
                    message,
                )
                return ReloadOutcome(False, self.holder.current.version, seconds, message)
            previous = self.holder.current
            if edit is not None and self._baseline is not None:
                self._baseline.commit(edit)
            elif self.settings.incremental_reload:
                self._baseline = Baseline.of(outcome)
            if version == previous.version:
                self.holder.swap(previous)  # same content again: clear a stale error
                return ReloadOutcome(False, version, seconds)
            if (
                edit is not None
                and outcome.index is not None
                and self.build is build_snapshot
                and isinstance(previous, Snapshot)
                and previous.version == edit.base_version
            ):
                store: Store = patch_snapshot(
                    previous, loaded, outcome.index, edit.changed, edit.data_delta, self.settings
                )
                how, patched = "incremental validation, snapshot patched", True
            else:
                store = self.build(outcome.load, self.settings, outcome.index)
                how, patched = f"{self.last_path} validation, snapshot built", False
            del outcome, edit, previous  # frees a full validation's index now, and the old
            # snapshot once no request reads it, before the heap is settled
            self.holder.swap(store)
            settle_heap(whole=not patched)
            seconds = time.perf_counter() - started
            log.info("reloaded (%s): now serving %s (%.0f ms)", how, version, seconds * 1000)
            return ReloadOutcome(True, version, seconds)


class Watcher:
    """Runs a Reloader on every batch of file changes, in a daemon thread, until stopped."""

    def __init__(self, reloader: Reloader, debounce_ms: int) -> None:
        self.reloader = reloader
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clinic-kg-watch", daemon=True)
        self._startup = threading.Thread(
            target=self._prepare, name="clinic-kg-incremental", daemon=True
        )

    def start(self) -> None:
        """Watch at once (an edit made meanwhile is not missed), and in one thread beside it make
        the baseline of incremental reloads, then print the first version for the change feed:
        in that order, because an edit waits for the first and not for the second (~28 s and
        ~30 s at a million triples, from the start-up cache)."""
        self._startup.start()
        self._thread.start()

    def wait_started(self) -> None:
        """Wait until the baseline is made and the first version printed."""
        self._startup.join()

    def _prepare(self) -> None:
        try:
            self.reloader.prepare()
        except Exception:  # the reloads validate everything instead
            log.exception("could not prepare incremental reloads")
        started = time.perf_counter()
        self.reloader.holder.history.materialize()
        log.info("the change feed has the first version (%.1f s)", time.perf_counter() - started)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        # The folders are watched by what they are when armed; a folder deleted, recreated,
        # renamed or swapped (a branch switch, `rsync --delete`) is another folder, so the
        # watch is armed again on what is there now, and the project reloaded once it is.
        reload_due = False
        while not self._stop.is_set():
            armed = _identities(self.reloader.root)
            present = [os.path.abspath(self.reloader.root / n) for n, i in armed.items() if i]
            if not present:  # nothing to watch yet: look again shortly
                if reload_due:
                    self._reload("the watched folders are gone")
                    reload_due = False
                self._stop.wait(REARM_CHECK_MS / 1000)
                reload_due = reload_due or _identities(self.reloader.root) != armed
                continue
            watched = set(present)
            try:
                for changes in watchfiles.watch(
                    *present,
                    watch_filter=_relevant_or(watched),
                    debounce=self.debounce_ms,
                    step=50,
                    stop_event=self._stop,
                    rust_timeout=REARM_CHECK_MS,
                    yield_on_timeout=True,  # so that a replaced folder is noticed while quiet
                    raise_interrupt=False,
                ):
                    # A watched folder itself deleted or moved: its watch is gone with it (the
                    # identity alone misses a recreated folder that reuses the inode number).
                    if _identities(self.reloader.root) != armed or any(
                        path in watched for _, path in changes
                    ):
                        reload_due = True
                        break
                    if changes or reload_due:
                        # The first batch after arming: whatever changed while re-arming is read.
                        self._reload(f"{len(changes)} file change(s)")
                        reload_due = False
            except OSError as exc:  # a folder vanished while being armed: arm again
                log.info("re-arming the watch: %s", exc)
                reload_due = True
                self._stop.wait(REARM_CHECK_MS / 1000)
            else:
                if reload_due:
                    log.info("a watched folder was replaced; watching it again")

    def _reload(self, why: str) -> None:
        log.info("%s; reloading", why)
        try:
            self.reloader.reload()
        except Exception:  # a bug in a reload must not kill the watcher or the server
            log.exception("reload failed unexpectedly; still serving the last good version")
            self.reloader.holder.fail(
                "internal error during reload (see the server log)", datetime.now(UTC)
            )


def _identities(root: Path) -> dict[str, tuple[int, int] | None]:
    """Each watched folder's (device, inode), None where it is missing or not a folder."""
    found: dict[str, tuple[int, int] | None] = {}
    for name in FOLDERS:
        try:
            st = (root / name).stat()
        except OSError:
            found[name] = None
            continue
        found[name] = (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None
    return found


def _relevant_or(folders: set[str]) -> Callable[[watchfiles.Change, str], bool]:
    """The filter, letting through what happens to a watched folder itself (deleted, moved)."""
    return lambda change, path: path in folders or _relevant(change, path)


def _relevant(change: watchfiles.Change, path: str) -> bool:
    # Turtle files, and the plain-text copies of sources that quotes are checked against.
    return path.endswith((".ttl", ".txt")) and "/." not in path
