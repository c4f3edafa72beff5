"""The change feed's history prints a version off the reload's path (server/store/history.py):
`record` returns at once, a background thread prints the queue in order, a reader that needs a
print waits for it, and `settle` leaves no thread of the history running (a forked worker must not
inherit a lock held by a thread it does not have)."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from server.diff.graph_diff import Described
from server.store.history import VersionHistory, VersionPrint, reloading

WAIT = 10.0  # seconds: a bound on waiting for a thread, not a performance assertion


@dataclass
class Printing:
    """The part of a Store the history reads; its print waits until `go` is set."""

    version: str
    go: threading.Event = field(default_factory=threading.Event)
    shared_with: list[str | None] = field(default_factory=list)

    def version_print(self, previous: VersionPrint | None) -> VersionPrint:
        assert self.go.wait(WAIT), f"{self.version} was never let through"
        self.shared_with.append(previous.version if previous is not None else None)
        return VersionPrint(self.version, Described({}, {}), {}, {}, {})


def _history_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "clinic-kg-history"]


def test_record_returns_before_the_print_and_readers_wait_for_it() -> None:
    first, second = Printing("v1"), Printing("v2")
    history = VersionHistory(first, keep=4)  # type: ignore[arg-type]
    first.go.set()
    history.record(second)  # type: ignore[arg-type]  # returns while v2's print waits
    assert history.versions() == ("v1", "v2")  # a queued version is already comparable
    got: list[VersionPrint | None] = []
    reader = threading.Thread(target=lambda: got.append(history.get("v2")))
    reader.start()
    reader.join(0.2)
    assert reader.is_alive()  # it waits for the print
    second.go.set()
    reader.join(WAIT)
    assert [p.version if p else None for p in got] == ["v2"]
    assert second.shared_with == ["v1"]  # printed after v1, sharing with it


def test_versions_are_printed_in_the_order_they_were_served() -> None:
    stores = [Printing(f"v{n}") for n in range(6)]
    history = VersionHistory(stores[0], keep=10)  # type: ignore[arg-type]
    for store in stores[1:]:
        history.record(store)  # type: ignore[arg-type]
    for store in stores:
        store.go.set()
    history.settle()
    assert [s.shared_with for s in stores] == [[None]] + [[f"v{n}"] for n in range(5)]
    assert all(history.get(s.version) is not None for s in stores)


def test_settle_leaves_no_thread_of_the_history_running() -> None:
    stores = [Printing(f"v{n}") for n in range(4)]
    history = VersionHistory(stores[0], keep=10)  # type: ignore[arg-type]
    for store in stores:
        store.go.set()
    for store in stores[1:]:
        history.record(store)  # type: ignore[arg-type]
        history.settle()
        assert _history_threads() == []
    assert history.versions() == tuple(s.version for s in stores)


def test_a_worker_forked_while_a_print_runs_prints_its_own_copy() -> None:
    """`serve --workers` forks a new generation while the parent still prints (the first version
    at a million triples takes ~30 s): the child's history locks start free, and a request for
    the changes there prints what the parent had not finished."""
    parent = os.getpid()
    entered = threading.Event()

    @dataclass
    class ParentWaits(Printing):
        def version_print(self, previous: VersionPrint | None) -> VersionPrint:
            if os.getpid() != parent:  # the child: print at once
                return VersionPrint(self.version, Described({}, {}), {}, {}, {})
            entered.set()
            return super().version_print(previous)

    first = ParentWaits("v1")
    history = VersionHistory(first, keep=4)  # type: ignore[arg-type]
    printer = threading.Thread(target=history.materialize)
    printer.start()
    try:
        assert entered.wait(WAIT)  # the parent's print holds the history's printing lock
        pid = os.fork()
        if pid == 0:  # the child: a deadlock ends it by the alarm, a wrong answer by its code
            code = 3
            try:
                signal.alarm(int(WAIT))
                got = history.get("v1")
                code = 0 if got is not None and got.version == "v1" else 2
            finally:
                os._exit(code)
        deadline = time.monotonic() + WAIT + 5
        status = None
        while status is None and time.monotonic() < deadline:
            done, raw = os.waitpid(pid, os.WNOHANG)
            status = raw if done else None
            time.sleep(0.01)
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        assert status is not None, "the child hung on the history's locks"
        assert os.WIFEXITED(status), status
        assert os.WEXITSTATUS(status) == 0, status
    finally:
        first.go.set()
        printer.join(WAIT)
    assert history.get("v1") is not None


def test_a_reload_pauses_a_print_between_two_files() -> None:
    """A print of every file runs beside the reloads on the same GIL: while one runs, the print
    waits before its next file (server/serve/watch.py wraps each reload in `reloading`)."""
    files: list[tuple[Any, ...]] = [(), ()]
    printed: list[VersionPrint] = []
    printer = threading.Thread(
        target=lambda: printed.append(VersionPrint.of("v1", files, [], [], []))
    )
    with reloading(), reloading():  # two at once: the print waits for both
        printer.start()
        printer.join(0.2)
        assert printer.is_alive()  # it waits for the reloads
    printer.join(WAIT)
    assert [p.version for p in printed] == ["v1"]


def test_a_version_recorded_during_a_reload_prints_after_it() -> None:
    """The reload's own swap records the new version: its print starts once the reload is done
    (at 1M a one-file edit's print takes ~0.3 s of the reload's GIL otherwise)."""
    first, second = Printing("v1"), Printing("v2")
    first.go.set()
    second.go.set()
    history = VersionHistory(first, keep=4)  # type: ignore[arg-type]
    history.materialize()
    with reloading():
        history.record(second)  # type: ignore[arg-type]
        assert not history.printed(0.2)  # it waits for the reload
        assert second.shared_with == []
    assert history.printed(WAIT)
    assert second.shared_with == ["v1"]
