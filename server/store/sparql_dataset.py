"""A SPARQL store's published dataset, followed through its pointer, and the holder serving it.

`SparqlDataset` reads the store's pointer (server/store/published.py) at start and on
`refresh()`, and opens the version's catalog (registry, concepts, entity ids in label order, the
search index: server/store/sparql_catalog.py), a SQLite file in the catalog folder
(`store_catalog_dir`): built from the store once per version (server/store/sparql_catalog_build.py)
beside the one serving, before it serves it, and reused by every later start (and by the other
workers) while the version is current. Building a new version's file prunes all but it and the
one before it. Each request gets its own `SparqlStore` (server/store/sparql.py), pinned to the
version current when it started (a new version never mixes into a request under way) and to a
`Budget` of queries and time of its own.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path

from server.settings import Settings
from server.store import published
from server.store import sparql_queries as q
from server.store.protocol import Store, StoreHolder, StoreUnavailable
from server.store.sparql import SparqlStore
from server.store.sparql_catalog import Catalog, Version, catalog_file, prune
from server.store.sparql_catalog_build import build_catalog_file
from server.store.sparql_client import UNAVAILABLE, Budget, SparqlClient, iri, unlimited

log = logging.getLogger("clinic_kg.store")


class SparqlDataset:
    """The published dataset of one SPARQL store, as of the last `refresh()`."""

    def __init__(self, endpoint: str, settings: Settings, *, texts_root: Path | None = None):
        self.client = SparqlClient(endpoint)
        self.settings = settings
        self.texts_root = texts_root
        self._current: Version | None = None
        self._lock = threading.Lock()
        self.catalogs = catalog_folder(settings)

    @property
    def version(self) -> str:
        return self.serving.catalog.version

    def published(self) -> str | None:
        """The version the store's pointer names now (None when nothing is published)."""
        base = self.settings.base_iri
        rows = self.client.select(
            q.pointer(
                iri(published.pointer_graph(base)),
                iri(published.dataset_iri(base)),
                iri(published.CURRENT_VERSION),
            ),
            unlimited(),
        )
        versions = sorted({v for r in rows if (v := published.version_of(str(r["g"]), base))})
        if len(versions) > 1:
            log.warning(
                "the store's pointer names several versions %s; serving the first", versions
            )
        return versions[0] if versions else None

    def refresh(self) -> bool:
        """Read the pointer; when it names another version, build that version's catalog and
        serve it from the next request on. Whether the version changed."""
        with self._lock:
            version = self.published()
            if version is None:
                raise StoreUnavailable(
                    f"no dataset version is published at {self.client.endpoint}: the pointer "
                    f"graph <{published.pointer_graph(self.settings.base_iri)}> names none "
                    "(run `clinic-kg publish` first)",
                    UNAVAILABLE,
                )
            if self._current is not None and self._current.catalog.version == version:
                return False
            previous = self._current
            catalog = self._catalog(version, [previous.catalog.path] if previous else [])
            self._current = Version(catalog, self.settings.store_cache_size)
            log.info("serving dataset %s from %s", version, self.client.endpoint)
            return True

    def _catalog(self, version: str, keep: list[Path]) -> Catalog:
        """The catalog of `version`: its file, built first unless an earlier start (or another
        worker, meanwhile: a lock file serializes the builds) made it; once built, the folder's
        other files but `keep` are removed."""
        graph_iri = published.version_graph(self.settings.base_iri, version)
        id_prefix = self.settings.id_namespace
        path = catalog_file(
            self.catalogs, version=version, graph_iri=graph_iri, id_prefix=id_prefix
        )
        self.catalogs.mkdir(parents=True, exist_ok=True)
        ignore = self.catalogs / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n")
        with (self.catalogs / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.exists():
                log.info("building the catalog of %s in %s", version, path)
                build_catalog_file(
                    path,
                    self.client,
                    unlimited(),
                    version=version,
                    graph_iri=graph_iri,
                    id_prefix=id_prefix,
                )
                for removed in prune(self.catalogs, [path, *keep]):
                    log.info("removed the catalog file %s", removed)
            return Catalog(path)  # opened under the lock: no prune removes it first

    def store(self) -> SparqlStore:
        """A Store for one request: the current version, and a fresh budget."""
        budget = Budget(self.settings.store_query_budget, self.settings.store_timeout_ms / 1000)
        return SparqlStore(self.serving, self.client, budget, self.texts_root)

    @property
    def serving(self) -> Version:
        """The version served now, with its catalog and cache."""
        current = self._current
        if current is None:
            raise RuntimeError("SparqlDataset.refresh() was never called")
        return current


def catalog_folder(settings: Settings) -> Path:
    """Where catalog files live: `store_catalog_dir`, else the user's cache folder."""
    if settings.store_catalog_dir:
        return Path(settings.store_catalog_dir)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "clinic-kg" / "store-catalogs"


class SparqlHolder(StoreHolder):
    """The holder of a SPARQL-served dataset: each request that reads `current` gets a store of
    its own (its own budget), of the version current at that moment."""

    def __init__(self, dataset: SparqlDataset) -> None:
        super().__init__(dataset.store())
        self.dataset = dataset

    @property
    def current(self) -> Store:
        return self.dataset.store()
