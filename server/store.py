"""The narrow read interface resolvers use, and the single swappable reference to the current one.

Resolvers only ever see a `Store`. Today it is the in-memory `Snapshot`; a store backed by a
SPARQL 1.1 endpoint (Oxigraph server, Fuseki, ...) can implement the same protocol later.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from .records import Concept, Definition, Entity, ExternalCode, Fact, Relation, SearchHit
from .registry import Registry

if TYPE_CHECKING:
    from .dataset_graphs import DatasetGraphs


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

    @property
    def graphs(self) -> DatasetGraphs:
        """The same version as rdflib graphs, for linked data and schema.org (built on first use;
        a SPARQL-backed store would answer these with CONSTRUCT queries instead)."""
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


@dataclass(frozen=True)
class ReloadError:
    """Why the last reload failed; the previous snapshot keeps serving meanwhile."""

    message: str
    at: datetime


class StoreHolder:
    """The one mutable reference of the service: the store that answers new requests.

    A request reads `current` once and uses that store throughout, so a swap mid-request never
    mixes two dataset versions in one answer. `clinic-kg serve --watch` will call `swap()` or
    `fail()` after each reload.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._error: ReloadError | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> Store:
        return self._store

    @property
    def last_reload_error(self) -> ReloadError | None:
        return self._error

    def swap(self, store: Store) -> None:
        """Serve `store` from the next request on and clear the last reload error."""
        with self._lock:
            self._store = store
            self._error = None

    def fail(self, message: str, at: datetime) -> None:
        """Record a failed reload; the current store keeps serving."""
        with self._lock:
            self._error = ReloadError(message, at)
