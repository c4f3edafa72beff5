"""What a SPARQL-backed store knows of one published version without asking the store: its
catalog, read from a SQLite file on disk.

The catalog file (built once per version by server/store/sparql_catalog_build.py, kept in a
folder of catalog files: `catalog_file`, `prune`) holds every entity's id, IRI and kind in label
order, and the search index over their labels, synonyms and facts' quotes: search is an index
built from the store, not the store's text index, and ranks exactly like the snapshot
(server/store/sparql_search.py). In memory stay only what does not grow with the graph: the
registry and the SKOS concepts (the vocabulary), the triple count, SQLite's page cache per
catalog (`PAGE_CACHE_KIB`), the search rankings memo (bounded) and the records the store fetched,
in the version's `LRU` (`store_cache_size` entries). A published version never changes, so
nothing of this ever goes stale; the file is opened read-only and immutable.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from hashlib import sha256
from pathlib import Path
from types import MappingProxyType
from typing import Any, overload

from server.model.registry import Registry
from server.store.sparql_catalog_build import FORMAT, concepts_of, read_registry_blob
from server.store.sparql_search import DiskLabelIndex

log = logging.getLogger("clinic_kg.store")
MISSING = object()  # what `LRU.get` answers for a key it does not hold
KEEP = 2  # catalog files kept in the folder: the one served and the one before it
PAGE_CACHE_KIB = 8192  # SQLite's page cache of a catalog file's connection
REMEMBERED = 32_768  # entities whose IRI and kind a catalog remembers (about 10 MiB at most)


def catalog_file(folder: Path, *, version: str, graph_iri: str, id_prefix: str) -> Path:
    """Where the catalog of a version lives: named by the version and what its ids depend on."""
    key = sha256(f"{FORMAT}\0{graph_iri}\0{id_prefix}".encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in version)[:80]
    return folder / f"{safe}-{key}.sqlite"


def prune(folder: Path, keep: Iterable[Path]) -> list[Path]:
    """Remove the catalog files of `folder` but `keep`, and stale temporary files; the removed.
    (A server still reading a removed file keeps reading it: the file goes when it is closed.)"""
    kept = {p.resolve() for p in keep}
    removed = []
    for path in sorted(folder.glob("*.sqlite*")) + sorted(folder.glob(".tmp-*")):
        if path.resolve() not in kept:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


class Catalog:
    """One version's catalog file, read by any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # One connection, opened now and shared by every thread in turn (lookups take
        # microseconds): a file pruned meanwhile (a newer version's build, maybe in another
        # process) stays readable while it is open, and one page cache bounds the memory.
        uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
        self._connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._connection.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
        self._reading = threading.Lock()
        meta = dict(self._rows("SELECT key, value FROM meta", ()))
        self.version: str = meta["version"].decode()
        self.graph: str = meta["graph"].decode()  # the version graph's IRI, as a SPARQL term
        self.id_prefix: str = meta["id_prefix"].decode()
        self.triple_count = int(meta["triple_count"])
        self.registry: Registry = read_registry_blob(meta["registry"])
        concepts = concepts_of(meta["concepts"])
        self.concepts = MappingProxyType({c.id: c for c in concepts})
        self.concept_by_iri = MappingProxyType({c.iri: c for c in concepts})
        self.labels = DiskLabelIndex(self._rows, int(meta["label_rows"]))
        self.loaded_at = datetime.now(UTC)
        self._counts: dict[frozenset[str], int] = {}  # entities per set of kinds asked
        self._facts = self.fact_kinds()
        # A page asks the same few entities' kind and IRI many times: remembered, bounded.
        self._entity = lru_cache(maxsize=REMEMBERED)(self._entity)  # type: ignore[method-assign]
        self._id = lru_cache(maxsize=REMEMBERED)(self._id)  # type: ignore[method-assign]
        self._lock = threading.Lock()

    def _rows(self, sql: str, parameters: Iterable[Any]) -> list[tuple[Any, ...]]:
        with self._reading:
            return self._connection.execute(sql, tuple(parameters)).fetchall()

    # -- one entity

    def _entity(self, id: str) -> tuple[str, str] | None:
        """(IRI, kind) of the entity `id`; memoized (`_remember`)."""
        found = self._rows("SELECT iri, kind FROM entities WHERE id = ? LIMIT 1", (id,))
        return (str(found[0][0]), str(found[0][1])) if found else None

    def _id(self, iri: str) -> str | None:
        found = self._rows("SELECT id FROM entities WHERE iri = ? LIMIT 1", (iri,))
        return str(found[0][0]) if found else None

    def kind(self, id: str) -> str | None:
        """The kind of the entity `id` (None: no such entity)."""
        found = self._entity(id)
        return found[1] if found else None

    def key(self, id_or_iri: str) -> str:
        """The id of an entity named by id or IRI (other values unchanged)."""
        found = self._id(id_or_iri)
        return found if found is not None else id_or_iri

    def iri_of(self, id: str) -> str:
        """The IRI of an id: an entity's own, else `<id prefix><id>` (ids of relations, codes and
        definitions are slugs in the same namespace); a whole IRI stays itself."""
        found = self._entity(id)
        if found:
            return found[0]
        return id if "://" in id else self.id_prefix + id

    def is_a(self, id: str, kind: str) -> bool:
        """Whether the entity `id` is of class `kind` or below it (False for non-entities)."""
        found = self.registry.kind(self.kind(id) or "")
        return found is not None and found.is_a(kind)

    def is_fact(self, id: str) -> bool:
        return self.kind(id) in self._facts

    # -- many entities at once

    def ids_of(self, iris: Iterable[str]) -> dict[str, str]:
        """IRI -> id of the entities among `iris`."""
        return dict(self._many("SELECT iri, id FROM entities", "iri", iris))

    def kinds_of(self, ids: Iterable[str]) -> dict[str, str]:
        """id -> kind of the entities among `ids`."""
        return dict(self._many("SELECT id, kind FROM entities", "id", ids))

    def in_label_order(self, ids: Iterable[str]) -> tuple[str, ...]:
        """The entities among `ids`, each once, in label order (others left out)."""
        rows = self._many("SELECT id, n FROM entities", "id", ids)
        return tuple(id for id, _ in sorted(rows, key=lambda r: r[1]))

    def _many(self, select: str, column: str, values: Iterable[str]) -> list[tuple[Any, ...]]:
        wanted = sorted(set(values))
        if not wanted:
            return []
        sql = f"{select} WHERE {column} IN (SELECT value FROM json_each(?))"
        return self._rows(sql, (json.dumps(wanted),))

    # -- lists

    def of_kinds(self, kinds: Sequence[str]) -> IdList:
        """Ids of the entities of these kinds (all when empty), in label order."""
        wanted = frozenset(kinds)
        with self._lock:
            count = self._counts.get(wanted)
        if count is None:
            where, parameters = _kinds_filter(wanted)
            count = int(self._rows(f"SELECT COUNT(*) FROM entities {where}", parameters)[0][0])
            with self._lock:
                self._counts[wanted] = count
        return IdList(self, wanted, count)

    def fact_kinds(self, under: str | None = None) -> frozenset[str]:
        """The kinds of facts, or those of them that are `under` a kind."""
        return frozenset(
            k.name
            for k in self.registry.kinds.values()
            if k.family.record == "fact" and (under is None or k.is_a(under))
        )

    def facts(self, kind: str | None = None) -> IdList:
        """Ids of every fact (of `kind` or below), in label order."""
        kinds = self.fact_kinds(kind)
        if not kinds:  # no kind of fact is `kind`: none (of_kinds(()) would be every entity)
            return IdList(self, frozenset({""}), 0)
        return self.of_kinds(sorted(kinds))


class IdList(Sequence[str]):
    """The ids of the entities of some kinds, in label order, read from the catalog file when
    read (a list of a million ids is never held)."""

    PAGE = 1000  # ids read at a time when iterated

    def __init__(self, catalog: Catalog, kinds: frozenset[str], count: int) -> None:
        self._catalog, self._kinds, self._count = catalog, kinds, count

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...

    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            start, stop, step = i.indices(self._count)
            if step != 1:
                return list(self)[i]
            return self._read(start, max(0, stop - start))
        n = i + self._count if i < 0 else i
        if not 0 <= n < self._count:
            raise IndexError(i)
        return self._read(n, 1)[0]

    def __iter__(self) -> Iterator[str]:
        # Page after page from the last number read (an OFFSET would rescan what came before).
        where, parameters = _kinds_filter(self._kinds)
        sql = f"SELECT n, id FROM entities {where} {'AND' if where else 'WHERE'} n > ? "
        last = -1
        while True:
            rows = self._catalog._rows(f"{sql} ORDER BY n LIMIT ?", [*parameters, last, self.PAGE])
            yield from (str(r[1]) for r in rows)
            if len(rows) < self.PAGE:
                return
            last = rows[-1][0]

    def _read(self, offset: int, limit: int) -> list[str]:
        where, parameters = _kinds_filter(self._kinds)
        rows = self._catalog._rows(
            f"SELECT id FROM entities {where} ORDER BY n LIMIT ? OFFSET ?",
            [*parameters, limit, offset],
        )
        return [str(r[0]) for r in rows]

    def __repr__(self) -> str:
        return f"<IdList of {self._count}>"


def _kinds_filter(kinds: frozenset[str]) -> tuple[str, list[str]]:
    if not kinds:
        return "", []
    return f"WHERE kind IN ({', '.join('?' * len(kinds))})", sorted(kinds)


class LRU:
    """A bounded, thread-safe least-recently-used cache (None is a value: "nothing there")."""

    def __init__(self, size: int) -> None:
        self._size = max(size, 0)
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            found = self._items.get(key, MISSING)
            if found is not MISSING:
                self._items.move_to_end(key)
            return found

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class Version:
    """One published version: its catalog, and the cache of what requests fetched from it (a
    version never changes, so nothing in it goes stale)."""

    def __init__(self, catalog: Catalog, cache_size: int) -> None:
        self.catalog = catalog
        self.cache = LRU(cache_size)
