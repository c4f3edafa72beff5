"""The rdflib graphs of one dataset version, built on first use, and what is rendered from them.

GraphQL reads the snapshot's records and never needs rdflib; linked data (`GET /id/...`) and the
schema.org JSON-LD of a condition walk rdflib graphs. A snapshot holds one `DatasetGraphs` over
the LoadResult it was built from, so the graphs cost nothing until the first such request, and
they are swapped together with the snapshot: one request never mixes two versions.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Callable, Iterable
from typing import Any

from rdflib import Graph

from .loader import LoadResult, Triple
from .schemaorg import NotACondition, condition_jsonld

# The folders whose triples make up the dataset; shapes describe files, not the domain.
DATA_KIND, VOCABULARY_KIND = "kg", "ontology"


class DatasetChanged(RuntimeError):
    """The files on disk no longer hold the version being served (a snapshot from the start-up
    cache reads its files only when a graph is first needed)."""


class DatasetGraphs:
    """The instance data and the vocabulary of one version as rdflib graphs (read-only)."""

    def __init__(
        self,
        loaded: LoadResult | None = None,
        *,
        version: str = "",
        reload: Callable[[], LoadResult] | None = None,
    ) -> None:
        # Either the LoadResult the snapshot was built from, or (for a snapshot restored from the
        # start-up cache) a way to load it again on first use, checked against the version.
        self._lock = threading.Lock()
        self._schema_org: dict[str, dict[str, Any]] = {}
        self._reload = reload
        self._version = loaded.version if loaded is not None else version
        self._loaded = _kept(loaded) if loaded is not None else None

    def _files(self) -> LoadResult:
        # Callers hold the lock.
        if self._loaded is None:
            assert self._reload is not None
            loaded = self._reload()
            if loaded.version != self._version:
                raise DatasetChanged(
                    f"the files now hold version {loaded.version}, not the {self._version} being "
                    "served: restart the server, or run it with --watch"
                )
            self._loaded = _kept(loaded)
        return self._loaded

    @property
    def version(self) -> str:
        return self._version

    @property
    def data(self) -> Graph:
        """kg/ as one graph (built on first use; callers must not change it)."""
        with self._lock:
            return self._files().data

    @property
    def ontology(self) -> Graph:
        """ontology/ as one graph (built on first use; callers must not change it)."""
        with self._lock:
            return self._files().ontology

    @property
    def built(self) -> bool:
        """Whether the graphs exist yet (for tests and diagnostics)."""
        if self._loaded is None:
            return False
        cached = vars(self._loaded)
        return "data" in cached and "ontology" in cached

    def triple_count(self) -> int:
        """Distinct triples in the data plus those in the vocabulary, without building graphs."""
        return _distinct(self._triples(DATA_KIND)) + _distinct(self._triples(VOCABULARY_KIND))

    def schema_org(self, condition_iri: str) -> dict[str, Any] | None:
        """The schema.org MedicalWebPage about the condition (a fresh copy); None for an IRI that
        is not a condition. Rendered once per version: the snapshot never changes."""
        with self._lock:
            found = self._schema_org.get(condition_iri)
        if found is None:
            data, ontology = self.data, self.ontology
            try:
                found = condition_jsonld(data, ontology, condition_iri)
            except NotACondition:
                return None
            with self._lock:
                # Only conditions are remembered, so the memo is bounded by the data.
                found = self._schema_org.setdefault(condition_iri, found)
        return copy.deepcopy(found)

    def _triples(self, kind: str) -> Iterable[Triple]:
        with self._lock:
            loaded = self._files()
        return (t for f in loaded.files if f.kind == kind for t in f.triples)


def _kept(loaded: LoadResult) -> LoadResult:
    # Only what the graphs are made of: the shapes (and the graph validation built of them) and
    # the diagnostics are not kept alive for as long as the snapshot serves.
    kept = tuple(f for f in loaded.files if f.kind in (DATA_KIND, VOCABULARY_KIND))
    return dataclasses.replace(loaded, files=kept, diagnostics=())


def _distinct(triples: Iterable[Triple]) -> int:
    # rdflib's memory store keeps a set of triples with the same term equality, so this is
    # len(graph) without paying for the graph.
    return len(set(triples))
