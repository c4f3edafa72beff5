"""The narrow read interface resolvers use, and the single swappable reference to the current one.

Resolvers only ever see a `Store`. Today it is the in-memory `Snapshot`; a store backed by a
SPARQL 1.1 endpoint (Oxigraph server, Fuseki, ...) can implement the same protocol later. Every
method returns plain records (server.model.records, server.model.description), never rdflib objects.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from server.model.description import Description
from server.model.records import (
    Concept,
    Definition,
    Entity,
    ExternalCode,
    Fact,
    Relation,
    SearchHit,
)
from server.model.registry import Registry
from server.store.history import VersionHistory

# How many served versions the change feed can compare with, unless told (change_history_versions).
KEPT_VERSIONS = 16


class DatasetChanged(RuntimeError):
    """The store can no longer answer for the version it serves (a snapshot restored from the
    start-up cache reads its files on first use, and they changed meanwhile)."""


class StoreUnavailable(RuntimeError):
    """A store could not answer this request: a remote (SPARQL) store failed or timed out, or the
    request needed more queries than its budget. `code` says which (STORE_UNAVAILABLE,
    STORE_TIMEOUT, STORE_BUDGET_EXCEEDED); the message is meant for the client."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class Store(Protocol):
    """Read-only lookups over one dataset version; every call is answered from memory or cache."""

    @property
    def version(self) -> str: ...

    @property
    def triple_count(self) -> int: ...

    @property
    def loaded_at(self) -> datetime: ...

    @property
    def registry(self) -> Registry:
        """The kinds and relations of this version's ontology."""
        ...

    def describe(self, iri: str) -> Description | None:
        """The triples describing `iri` for linked data (None when no triple has it as subject).
        The first call of a version may build indexes: call it off the event loop. May raise
        DatasetChanged."""
        ...

    def page_text(self, id: str) -> str | None:
        """The local text copy of a source, whitespace-normalized (None when it has none);
        answered from memory, read once per version."""
        ...

    def entity(self, id_or_iri: str) -> Entity | None:
        """The entity (medical entity, clinic, source or fact) with this id or IRI."""
        ...

    def entities(self, kinds: Sequence[str] = ()) -> Sequence[Entity]:
        """Every entity of the given kinds (all when empty), ordered by English label."""
        ...

    def search(self, text: str, kinds: Sequence[str] = ()) -> Sequence[SearchHit]:
        """Entities whose labels or synonyms match `text`, best first."""
        ...

    def facts(
        self,
        about: str | None = None,
        measure: str | None = None,
        *,
        related: bool = False,
        page: str | None = None,
        source: str | None = None,
        kind: str | None = None,
    ) -> Sequence[Fact]:
        """Facts, optionally only those about an entity (directly or via one of its relations;
        with `related`, also about anything it links to), of a measure, derived from a page
        (`page`), derived from or citing a source (`source`), or of a kind ("Statistic")."""
        ...

    def pages_of(self, id: str) -> Sequence[str]:
        """Ids of the web pages that speak of the entity: it, its relations or facts about it."""
        ...

    def page_entities(self, page: str) -> Sequence[str]:
        """Ids of the entities a web page speaks of (facts excluded), in label order."""
        ...

    def relations_from(self, source: str) -> Sequence[Relation]:
        """The relations (evidence) whose quote was read in the source."""
        ...

    def relation(self, id_or_iri: str) -> Relation | None: ...

    def evidence(self, subject: str, predicate: str, obj: str) -> Sequence[Relation]:
        """The assertions that support the triple (subject, ckg:predicate, object)."""
        ...

    def referrers(self, id: str) -> Sequence[tuple[str, str]]:
        """(subject id, predicate) pairs of the relations that point at this entity."""
        ...

    def concept(self, id_or_iri: str) -> Concept | None: ...

    def concepts(self, scheme: str) -> Sequence[Concept]: ...

    def schemes(self) -> Sequence[str]:
        """Ids of the concept schemes ("Measures", "Units", ...), sorted."""
        ...

    def code(self, id: str) -> ExternalCode | None: ...

    def definition(self, id: str) -> Definition | None: ...


def normalize_text(text: str) -> str:
    """Runs of whitespace as one space, trimmed: the form of `Store.page_text`, in which quotes
    and synonyms are looked up."""
    return " ".join(text.split())


@dataclass(frozen=True)
class ReloadError:
    """Why the last reload failed; the previous snapshot keeps serving meanwhile."""

    message: str
    at: datetime


class StoreHolder:
    """The one mutable reference of the service: the store that answers new requests.

    A request reads `current` once and uses that store throughout, so a swap mid-request never
    mixes two dataset versions in one answer. `clinic-kg serve --watch` (server/serve/watch.py)
    calls `swap()` or `fail()` after each reload; subscribers hear of each (the metrics count them).
    Each version swapped in is kept in `history` (the last `keep`), for the change feed.
    """

    def __init__(self, store: Store, keep: int = KEPT_VERSIONS) -> None:
        self._store = store
        self._error: ReloadError | None = None
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[bool], None]] = []
        self.history = VersionHistory(store, keep)

    @property
    def current(self) -> Store:
        return self._store

    @property
    def last_reload_error(self) -> ReloadError | None:
        return self._error

    def swap(self, store: Store) -> None:
        """Serve `store` from the next request on and clear the last reload error."""
        with self._lock:
            if store.version != self._store.version:
                self.history.record(store)
            self._store = store
            self._error = None
        self._tell(True)

    def fail(self, message: str, at: datetime) -> None:
        """Record a failed reload; the current store keeps serving."""
        with self._lock:
            self._error = ReloadError(message, at)
        self._tell(False)

    def subscribe(self, listener: Callable[[bool], None]) -> None:
        """Call `listener(True)` after each swap, `listener(False)` after each failed reload."""
        self._subscribers.append(listener)

    def _tell(self, ok: bool) -> None:
        for listener in self._subscribers:
            listener(ok)
