"""`clinic-kg serve --watch`: reload on save, and never serve an invalid graph.

A background thread waits for changes under ontology/, shapes/ and kg/ (watchfiles, which batches
a burst of saves into one set of changes), then loads and validates the project beside the
snapshot being served. Only a graph that conforms becomes a new snapshot, swapped in with one
reference assignment; otherwise the old snapshot keeps serving and the validation report is
logged and shown in /healthz and in the `dataset { lastReloadError }` field. Requests in flight
keep the snapshot they started with.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import watchfiles

from server.load.loader import FOLDERS, LoadCache, LoadResult
from server.rdf.triple_index import Index
from server.serve.startup import settle_heap
from server.settings import Settings
from server.store.protocol import Store, StoreHolder
from server.store.snapshot import build_snapshot
from server.validate.validation import validate_project

log = logging.getLogger("clinic_kg.watch")

# Shown in lastReloadError; the full report goes to the log.
MAX_REPORTED_DIAGNOSTICS = 20


@dataclass(frozen=True)
class ReloadOutcome:
    """What one reload did: swapped to a new version, kept the old one, or found nothing new."""

    swapped: bool
    version: str
    seconds: float
    error: str | None = None


class Reloader:
    """Validates the project off to the side and swaps the holder's store when it conforms."""

    def __init__(
        self,
        root: Path,
        settings: Settings,
        holder: StoreHolder,
        build: Callable[[LoadResult, Settings, Index | None], Store] = build_snapshot,
        cache: LoadCache | None = None,
    ) -> None:
        self.root = root
        self.settings = settings
        self.holder = holder
        self.build = build
        self.cache = cache or LoadCache()
        self._lock = threading.Lock()  # one reload at a time

    def reload(self) -> ReloadOutcome:
        with self._lock:
            started = time.perf_counter()
            outcome = validate_project(self.root, (), self.settings, cache=self.cache)
            seconds = time.perf_counter() - started
            version = outcome.load.version
            if not outcome.conforms:
                lines = [d.render() for d in outcome.report.diagnostics]
                shown = lines[:MAX_REPORTED_DIAGNOSTICS]
                if len(lines) > len(shown):
                    shown.append(f"… and {len(lines) - len(shown)} more")
                message = "\n".join([*shown, outcome.report.summary()])
                self.holder.fail(message, datetime.now(UTC))
                log.warning(
                    "reload rejected, still serving %s:\n%s", self.holder.current.version, message
                )
                return ReloadOutcome(False, self.holder.current.version, seconds, message)
            if version == self.holder.current.version:
                self.holder.swap(self.holder.current)  # same content again: clear a stale error
                return ReloadOutcome(False, version, seconds)
            store = self.build(outcome.load, self.settings, outcome.index)
            del outcome  # frees validation's index now, before the heap is settled
            self.holder.swap(store)
            settle_heap()
            seconds = time.perf_counter() - started
            log.info("reloaded: now serving %s (%.0f ms)", version, seconds * 1000)
            return ReloadOutcome(True, version, seconds)


class Watcher:
    """Runs a Reloader on every batch of file changes, in a daemon thread, until stopped."""

    def __init__(self, reloader: Reloader, debounce_ms: int) -> None:
        self.reloader = reloader
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clinic-kg-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        folders = [str(self.reloader.root / name) for name in FOLDERS]
        for changes in watchfiles.watch(
            *folders,
            watch_filter=_relevant,
            debounce=self.debounce_ms,
            step=50,
            stop_event=self._stop,
            raise_interrupt=False,
        ):
            log.info("%d file change(s); reloading", len(changes))
            try:
                self.reloader.reload()
            except Exception:  # a bug in a reload must not kill the watcher or the server
                log.exception("reload failed unexpectedly; still serving the last good version")
                self.reloader.holder.fail(
                    "internal error during reload (see the server log)", datetime.now(UTC)
                )


def _relevant(change: watchfiles.Change, path: str) -> bool:
    # Turtle files, and the plain-text copies of sources that quotes are checked against.
    return path.endswith((".ttl", ".txt")) and "/." not in path
