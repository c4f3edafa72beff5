"""`serve --store URL --watch`: follow the store's pointer, so a new published version is served.

A thread reads the pointer every `store_poll_seconds`; when it names another version, the
dataset builds that version's catalog (beside the one serving) and the holder serves it from the
next request on. A store that cannot be read is recorded as the last reload error (in /healthz
and `dataset { lastReloadError }`) while the last good version keeps serving.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from server.store.protocol import StoreUnavailable
from server.store.sparql_dataset import SparqlHolder

log = logging.getLogger("clinic_kg.store")


class PointerWatcher:
    """Polls the pointer of `holder.dataset` in a daemon thread until `stop()`."""

    def __init__(self, holder: SparqlHolder, interval: float) -> None:
        self.holder = holder
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clinic-kg-store-poll", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def poll(self) -> bool:
        """Read the pointer once; whether a new version is now served."""
        dataset = self.holder.dataset
        try:
            changed = dataset.refresh()
        except StoreUnavailable as exc:
            log.warning("store pointer not read, still serving %s: %s", dataset.version, exc)
            self.holder.fail(str(exc), datetime.now(UTC))
            return False
        if changed:
            log.info("serving dataset %s (the store's pointer moved)", dataset.version)
        if changed or self.holder.last_reload_error is not None:
            self.holder.swap(dataset.store())  # clears a stale error
        return changed

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # the watcher must outlive any one failure; the old version serves
                log.exception("store pointer poll failed")
