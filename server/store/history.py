"""The versions this server process has served, kept compactly for the change feed.

A content tool remembers the version it rendered (`extensions.datasetVersion`) and later asks
what changed since (GraphQL `changes`, `GET /changes`). Answering needs what that version said,
long after its snapshot was swapped out: per served version the history keeps a `VersionPrint`,
the graph-diff core's comparable form of its instance data (server/diff/graph_diff.py, the same
comparison `clinic-kg diff` makes) and the records the feed describes changes with (ids, kinds,
labels, the values and concepts a fact's statement is worded from), not the snapshot with its
indexes. What a version shares with the one before it is shared in memory, so N kept versions
cost about one version plus what was edited between them.

Only the newest `keep` versions are kept; a version this process never served (or served before
a restart) is not known. The first store is printed lazily (`materialize`): a server that never
reloads never pays for it, and `serve --watch` prints it in its watcher thread at start.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from server.diff.graph_diff import Described, describe, merge
from server.model.records import Concept, Entity, Relation
from server.store.made_ahead import MadeAhead

if TYPE_CHECKING:
    from server.load.loader import Triple
    from server.store.protocol import Store

K = TypeVar("K")
V = TypeVar("V")


# A print of every file (the first version, ~30 s at 1M triples) runs beside the reloads of a
# `serve --watch` process, on the same GIL: a reload pauses it between two files (`reloading`),
# so that an edit is served in the reload's own time (1.7-2.0 s at 1M beside the print, 0.3 s
# alone); a print does not start while a reload runs either (the reload's own swap queues one).
# The pause lasts at most this long at a time, so a print is never stopped for good.
PAUSE_BOUND_SECONDS = 10.0
_PRINTS_MAY_RUN = threading.Event()
_PRINTS_MAY_RUN.set()
_reloads = 0
_reloads_lock = threading.Lock()


@contextmanager
def reloading() -> Iterator[None]:
    """While a reload runs in this process, prints wait between two files."""
    global _reloads
    with _reloads_lock:
        _reloads += 1
        _PRINTS_MAY_RUN.clear()
    try:
        yield
    finally:
        with _reloads_lock:
            _reloads -= 1
            if not _reloads:
                _PRINTS_MAY_RUN.set()


@dataclass(frozen=True)
class VersionPrint:
    """What one served version said, as the change feed compares it."""

    version: str
    described: Described  # the instance data (kg/), as the graph diff compares it
    entities: Mapping[str, Entity]  # by IRI, facts included
    relations: Mapping[str, Relation]  # by IRI
    concepts: Mapping[str, Concept]  # by id: the units and qualifiers statements are worded with
    # Each file's triples (the loader's own tuple) and their description, so that the next
    # version describes only the files that changed. Only the newest print keeps them.
    files: Mapping[int, tuple[tuple[Triple, ...], Described]] = field(default_factory=dict)
    # Copies of its tables the next print edits, made ahead (`copy_ahead`); not compared.
    ahead: MadeAhead[dict[str, dict[str, Any]]] = field(
        default_factory=MadeAhead, compare=False, repr=False
    )

    def copy_ahead(self) -> None:
        """Make now, while nothing waits for it, the copies of this print's tables that the
        print of the next version patched from it edits (see `Snapshot.copy_ahead`: in the
        parent of forked workers the copies write pages shared with them, and made during a
        reload at a million triples they took ~1 s instead of ~0.05 s)."""
        self.ahead.make(self._copy_tables)

    def _copies(self) -> dict[str, dict[str, Any]]:
        """The copies `copy_ahead` made (once), else made now."""
        return self.ahead.take(self._copy_tables)

    def _copy_tables(self) -> dict[str, dict[str, Any]]:
        return {
            "values": dict(self.described.values),
            "labels": dict(self.described.labels),
            "entities": dict(self.entities),
            "relations": dict(self.relations),
            "concepts": dict(self.concepts),
        }

    def concept(self, id_or_iri: str) -> Concept | None:
        """The concept by id (as records name them); lets a statement be worded from a print."""
        return self.concepts.get(id_or_iri)

    @classmethod
    def of(
        cls,
        version: str,
        files: Iterable[tuple[Triple, ...]],
        entities: Iterable[Entity],
        relations: Iterable[Relation],
        concepts: Iterable[Concept],
        previous: VersionPrint | None = None,
        edited: Edited | None = None,
    ) -> VersionPrint:
        """The print of a version from its kg/ files' triples; values and records equal to
        `previous`'s are its objects, and a file it described (the same triples: the load cache
        hands out an unchanged file's triples again) is not described again.

        `edited`: the records that differ between `previous`'s version and this one (a patched
        snapshot knows them); the records are then `previous`'s with those changed, instead of
        every record compared with `previous`'s (~0.17 s at a million triples)."""
        known = previous.files if previous is not None else {}
        parts: dict[int, tuple[tuple[Triple, ...], Described]] = {}
        for triples in files:
            _PRINTS_MAY_RUN.wait(PAUSE_BOUND_SECONDS)  # a reload runs: it goes first
            hit = known.get(id(triples))
            part = hit[1] if hit is not None and hit[0] is triples else describe(triples)
            parts[id(triples)] = (triples, part)
        if previous is not None and edited is not None:
            copies = previous._copies()
            return cls(
                version=version,
                described=_described(parts, previous, copies),
                entities=_edited(copies["entities"], *edited.entities, _iri),
                relations=_edited(copies["relations"], *edited.relations, _iri),
                concepts=_edited(copies["concepts"], *edited.concepts, _id),
                files=parts,
            )
        return cls(
            version=version,
            described=_described(parts, previous),
            entities=_shared({e.iri: e for e in entities}, previous.entities if previous else {}),
            relations=_shared(
                {r.iri: r for r in relations}, previous.relations if previous else {}
            ),
            concepts=_shared({c.id: c for c in concepts}, previous.concepts if previous else {}),
            files=parts,
        )


@dataclass(frozen=True)
class Edited:
    """The records an edit changed, by kind, as (the records gone, the records come): a record
    changed is in both, its old version gone and its new one come."""

    entities: tuple[Iterable[Entity], Iterable[Entity]]
    relations: tuple[Iterable[Relation], Iterable[Relation]]
    concepts: tuple[Iterable[Concept], Iterable[Concept]]


def _iri(record: Entity | Relation | Concept) -> str:
    return record.iri


def _id(record: Entity | Relation | Concept) -> str:
    return record.id


def _edited(
    out: dict[str, V], gone: Iterable[V], came: Iterable[V], key: Callable[[V], str]
) -> dict[str, V]:
    """`out` (a copy of a print's records by key, changed here) without the records gone and
    with those come; a record come equal to the one it replaces keeps the old object, as
    `_shared` does."""
    replaced = {}
    for record in gone:
        k = key(record)
        if out.get(k) == record:
            replaced[k] = out.pop(k)
    for record in came:
        k = key(record)
        kept = replaced.get(k)
        out[k] = kept if kept is not None and kept == record else record
    return out


def _described(
    parts: Mapping[int, tuple[tuple[Triple, ...], Described]],
    previous: VersionPrint | None,
    copies: Mapping[str, dict[str, Any]] | None = None,
) -> Described:
    """The version's `Described`: the previous one with the subjects of the files that changed
    merged again (a one-file edit costs that file, not the graph), else all files merged."""
    known = previous.files if previous is not None else {}
    same = {k for k, (triples, _) in parts.items() if k in known and known[k][0] is triples}
    changed = [known[k][1] for k in known.keys() - same] + [
        parts[k][1] for k in parts.keys() - same
    ]
    if previous is None or not known or len(same) * 2 < len(parts):
        whole = merge(part for _, part in parts.values())
        before = previous.described if previous is not None else Described({}, {})
        return Described(_shared(whole.values, before.values), _shared(whole.labels, before.labels))
    touched = {s for part in changed for s in (*part.values, *part.labels)}
    holders: dict[str, list[Described]] = {s: [] for s in touched}
    for _, part in parts.values():  # which files describe each touched subject, in file order
        # In C, over the smaller of the two; a subject with labels has values too (describe).
        for subject in touched.intersection(part.values):
            holders[subject].append(part)
    if copies is not None:  # made ahead: the previous print's, to change here
        values, labels = copies["values"], copies["labels"]
    else:
        values, labels = dict(previous.described.values), dict(previous.described.labels)
    for subject, held in holders.items():
        again = merge(
            Described(
                {subject: part.values[subject]} if subject in part.values else {},
                {subject: part.labels[subject]} if subject in part.labels else {},
            )
            for part in held
        )
        _renew(values, again.values, subject)
        _renew(labels, again.labels, subject)
    return Described(values, labels)


def _renew(mine: dict[str, V], theirs: Mapping[str, V], subject: str) -> None:
    """`mine[subject]` as `theirs` has it now; the old object while it is equal."""
    if subject not in theirs:
        mine.pop(subject, None)
    elif mine.get(subject) != theirs[subject]:
        mine[subject] = theirs[subject]


@runtime_checkable
class Printable(Protocol):
    """A store that can print its version (the in-memory Snapshot); other stores' versions are
    served but not kept, so the feed cannot compare with them."""

    def version_print(self, previous: VersionPrint | None) -> VersionPrint | None:
        """The print, sharing what is equal with `previous`; None when the store cannot say
        what its version holds any more (the files a restored snapshot reads have changed)."""
        ...


class VersionHistory:
    """The last `keep` versions served, oldest first; `StoreHolder.swap` records each new one.

    A version is printed off the reload's path: `record` queues it and a background thread
    prints the queue in order (each print shares what is equal with the one before it); a caller
    that needs a print (`get`) prints what is still queued, or waits for the thread that is."""

    def __init__(self, first: Store, keep: int) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._printing = threading.Lock()  # held while queued stores are printed
        # version -> its print; None while it is queued, or when it could not be printed (a
        # store that cannot print, files changed under a restored snapshot).
        self._prints: OrderedDict[str, VersionPrint | None] = OrderedDict()
        self._queued: deque[Store] = deque()  # recorded, not printed yet, oldest first
        self._last: VersionPrint | None = None  # the newest print made: the next one shares it
        self._printer: threading.Thread | None = None  # the thread `record` started last
        self._printer_busy = False  # it has not found the queue empty yet
        if keep > 0:
            self._prints[first.version] = None
            self._queued.append(first)
        _LIVE.add(self)

    def printed(self, timeout: float) -> bool:
        """Whether every version recorded is printed, waiting up to `timeout` seconds for the
        history's printer thread. A print shares the files the one before it described; it
        describes them all (seconds at 100k triples, ~30 s at 1M) when there is none yet, or
        when the files were read anew (a snapshot restored from the start-up cache reads its
        own copy, the reloader another)."""
        printer = self._printer
        if printer is not None:
            printer.join(timeout)
        with self._lock:
            return not self._queued

    # -- a fork while a print runs (`serve --workers`: server/serve/workers.py)

    def _before_fork(self) -> None:
        self._lock.acquire()  # the child gets a consistent queue and set of prints

    def _after_fork_in_parent(self) -> None:
        self._lock.release()

    def _after_fork_in_child(self) -> None:
        """The printer thread is not in the child: its locks start free, and what it had not
        printed yet is printed by the child itself if a request needs it (`get`)."""
        self._lock = threading.Lock()
        self._printing = threading.Lock()
        self._printer = None
        self._printer_busy = False
        # Nor is a thread making a print's copies ahead.
        for kept in (*self._prints.values(), self._last):
            if kept is not None:
                kept.ahead.after_fork_in_child()

    def copy_ahead(self) -> None:
        """The newest print's copies for the next print, made now (`VersionPrint.copy_ahead`),
        when every version recorded is printed."""
        with self._lock:
            last = self._last if not self._queued else None
        if last is not None:
            last.copy_ahead()

    def materialize(self) -> None:
        """Print every queued store now (the watcher prints the first at start); a caller that
        finds them being printed waits for it."""
        self._print_queue(printer=False)

    def settle(self) -> None:
        """Print every queued store and wait until no thread of the history runs: before a
        fork, whose child must not inherit a lock held by a thread it does not have."""
        self.materialize()
        printer = self._printer
        if printer is not None:
            printer.join()

    def record(self, store: Store) -> None:
        """Keep the version `store` serves from now on (the holder swaps it in after this); it
        is printed in a background thread."""
        if self.keep <= 0:
            return
        with self._lock:
            self._queued.append(store)
            self._prints.pop(store.version, None)  # served again (an edit undone): newest now
            self._prints[store.version] = None
            while len(self._prints) > self.keep:
                self._prints.popitem(last=False)
            start, self._printer_busy = not self._printer_busy, True
        if start:
            self._printer = threading.Thread(
                target=self._print_queue, args=(True,), name="clinic-kg-history", daemon=True
            )
            self._printer.start()

    def _print_queue(self, printer: bool) -> None:
        with self._printing:
            while True:
                with self._lock:
                    if not self._queued:
                        if printer:  # under the lock: a store recorded after this starts a
                            self._printer_busy = False  # printer of its own
                        return
                    store = self._queued[0]
                _PRINTS_MAY_RUN.wait(PAUSE_BOUND_SECONDS)  # a reload runs: it goes first
                printed = _print(store, self._last)
                with self._lock:
                    self._queued.popleft()
                    before = self._last
                    if printed is not None:
                        self._last = printed
                        if before is not None and self._prints.get(before.version) is before:
                            # only the newest print keeps its files' triples: it hands them on
                            self._prints[before.version] = replace(
                                before, files={}, ahead=MadeAhead()
                            )
                    if store.version in self._prints:  # not evicted meanwhile
                        self._prints[store.version] = printed

    def get(self, version: str) -> VersionPrint | None:
        """The print of `version`, None when it is not kept (or could not be printed)."""
        with self._lock:
            if version not in self._prints:
                return None
        self.materialize()  # it may still be queued (at once when that is done)
        with self._lock:
            return self._prints.get(version)

    def versions(self) -> tuple[str, ...]:
        """The versions a change feed can compare with, oldest first (the current one last)."""
        with self._lock:
            queued = {s.version for s in self._queued}
            return tuple(v for v, p in self._prints.items() if p is not None or v in queued)


# Every history of this process, for the fork hooks below: a worker may be forked while the
# parent prints a version (the first one at 1M takes ~30 s, and a reload's new version must not
# wait for it), so the child must not inherit a lock held by a thread it does not have.
_LIVE: weakref.WeakSet[VersionHistory] = weakref.WeakSet()
_HELD: list[VersionHistory] = []  # whose lock the forking thread holds, from before to after


def _before_fork() -> None:
    for history in list(_LIVE):
        history._before_fork()
        _HELD.append(history)


def _after_fork(in_child: bool) -> None:
    while _HELD:
        history = _HELD.pop()
        if in_child:
            history._after_fork_in_child()
        else:
            history._after_fork_in_parent()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=lambda: _after_fork(False),
        after_in_child=lambda: _after_fork(True),
    )


def _print(store: Store, previous: VersionPrint | None) -> VersionPrint | None:
    return store.version_print(previous) if isinstance(store, Printable) else None


def _shared(new: Mapping[K, V], old: Mapping[K, V]) -> dict[K, V]:
    """`new`, with each value equal to `old`'s for the same key replaced by `old`'s object."""
    out: dict[K, V] = {}
    for key, value in new.items():
        kept = old.get(key)
        # The same object (a patched snapshot hands unchanged records on) needs no comparison.
        out[key] = kept if kept is not None and (kept is value or kept == value) else value
    return out
