"""Building a published version's catalog file: SQLite on disk, streamed from the store.

The catalog (server/store/sparql_catalog.py) is read from one SQLite file per version, built once
here, whatever the graph's size with the same bounded memory:

1. the vocabulary (registry) and the SKOS concepts: small whatever the data's size, kept whole;
2. every label, synonym, brand name, quote, claim and type of the graph, in one CONSTRUCT read as
   it arrives (`SparqlClient.construct_lines`) into a staging table, one N-Triples line a row;
3. the lines by subject (SQLite sorts them on disk), read back `CHUNK` subjects at a time by the
   snapshot's own `GraphReader` into the same light records the in-memory catalog made;
4. those records in label order (SQLite's ORDER BY: UTF-8 byte order is Python's code-point
   order), numbered, with the search index's rows, words, stems and initials exactly as
   `LabelIndex` makes them (server/store/label_index.py), then indexed.

The file is written beside its final name and renamed into place once complete: a reader never
sees half a catalog, and an interrupted build leaves nothing behind but a temporary file.
"""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from rdflib import URIRef

from server.model.graph_reader import GraphReader
from server.model.records import Concept, Entity, Fact
from server.model.registry import Registry, read_registry
from server.rdf.namespaces import RDF_TYPE
from server.rdf.triple_index import Index
from server.store.label_index import Stemmer, acronyms, normalize, stem_key
from server.store.sparql_client import Budget, SparqlClient, iri, parse_ntriples
from server.store.sparql_queries import CATALOG, CONCEPTS, COUNT, VOCABULARY

CHUNK = 2000  # subjects read back into records at a time
ROWS = 5000  # rows written per executemany
STEMS = 100_000  # distinct words whose stems are memoized while building
FORMAT = "1"  # of the file: part of its name, so a changed layout is built afresh

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE entities(n INTEGER PRIMARY KEY, id TEXT NOT NULL, iri TEXT NOT NULL,
    kind TEXT NOT NULL);
CREATE TABLE labels(row INTEGER PRIMARY KEY, owner INTEGER NOT NULL, shown TEXT NOT NULL,
    preferred INTEGER NOT NULL, norm TEXT NOT NULL, stem_key TEXT NOT NULL);
CREATE TABLE label_words(word TEXT NOT NULL, row INTEGER NOT NULL);
CREATE TABLE label_stems(stem TEXT NOT NULL, row INTEGER NOT NULL);
CREATE TABLE acronyms(acronym TEXT NOT NULL, row INTEGER NOT NULL);
CREATE TABLE texts(row INTEGER PRIMARY KEY, owner INTEGER NOT NULL, text TEXT NOT NULL,
    padded TEXT NOT NULL, stem_key TEXT NOT NULL);
CREATE TABLE text_words(word TEXT NOT NULL, row INTEGER NOT NULL);
CREATE TABLE text_stems(stem TEXT NOT NULL, row INTEGER NOT NULL);
"""
# Built after the rows are in: one sort each, not a B-tree updated per row.
SCHEMA_INDEXES = """
CREATE INDEX entities_id ON entities(id);
CREATE INDEX entities_iri ON entities(iri);
CREATE INDEX entities_kind ON entities(kind, n);
CREATE INDEX label_words_word ON label_words(word, row);
CREATE INDEX label_stems_stem ON label_stems(stem, row);
CREATE INDEX acronyms_acronym ON acronyms(acronym, row);
CREATE INDEX text_words_word ON text_words(word, row);
CREATE INDEX text_stems_stem ON text_stems(stem, row);
ANALYZE;
"""
STAGING = """
CREATE TABLE staging.lines(subject BLOB NOT NULL, line BLOB NOT NULL);
CREATE TABLE staging.entities(sort_key TEXT NOT NULL, id TEXT NOT NULL, iri TEXT NOT NULL,
    kind TEXT NOT NULL, labels TEXT NOT NULL, texts TEXT NOT NULL);
"""


def build_catalog_file(
    path: Path,
    client: SparqlClient,
    budget: Budget,
    *,
    version: str,
    graph_iri: str,
    id_prefix: str,
) -> None:
    """Write the catalog of the version in the named graph `graph_iri` to `path`."""
    graph = iri(graph_iri)
    vocabulary = client.construct(VOCABULARY % {"graph": graph}, budget)
    registry, _ = read_registry(vocabulary)
    concepts = tuple(
        GraphReader(
            Index(client.construct(CONCEPTS % {"graph": graph}, budget)), id_prefix, registry
        ).concepts()
    )
    count = client.select(COUNT % {"graph": graph}, budget)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".sqlite")
    os.close(handle)
    staging = Path(temp + "-staging")
    try:
        db = sqlite3.connect(temp)
        try:
            db.executescript(SCHEMA)
            db.execute("ATTACH DATABASE ? AS staging", (str(staging),))
            db.executescript(STAGING)
            _stage_lines(db, client.construct_lines(CATALOG % {"graph": graph}, budget))
            _stage_entities(db, registry, id_prefix)
            labels = _write_ordered(db)
            meta = {
                "version": version.encode(),
                "graph": graph.encode(),
                "id_prefix": id_prefix.encode(),
                "triple_count": str(int(str(count[0]["n"])) if count else 0).encode(),
                "label_rows": str(labels).encode(),
                "registry": pickle.dumps(registry, protocol=pickle.HIGHEST_PROTOCOL),
                "concepts": pickle.dumps(concepts, protocol=pickle.HIGHEST_PROTOCOL),
            }
            db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            db.commit()
            db.execute("DETACH DATABASE staging")
            db.executescript(SCHEMA_INDEXES)
            db.commit()
        finally:
            db.close()
        os.replace(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)
        staging.unlink(missing_ok=True)


def _stage_lines(db: sqlite3.Connection, lines: Iterable[bytes]) -> None:
    """Each N-Triples line with its subject (every subject is an IRI: `<...>`)."""
    for batch in _batches(((line[: line.index(b">") + 1], line) for line in lines), ROWS):
        db.executemany("INSERT INTO staging.lines VALUES (?, ?)", batch)
    db.commit()


def _stage_entities(db: sqlite3.Connection, registry: Registry, id_prefix: str) -> None:
    """The light record of every typed subject, by its sort key, with its search rows."""
    rows = db.execute("SELECT subject, line FROM staging.lines ORDER BY subject")
    writer = db.cursor()  # another cursor: `rows` is still being read
    for chunk in _subject_chunks(rows, CHUNK):
        reader = GraphReader(Index(parse_ntriples(b"".join(chunk))), id_prefix, registry)
        writer.executemany(
            "INSERT INTO staging.entities VALUES (?, ?, ?, ?, ?, ?)",
            [_staged(e) for e in _entities(reader)],
        )
    db.commit()


def _subject_chunks(rows: Iterable[tuple[bytes, bytes]], size: int) -> Iterator[list[bytes]]:
    """The lines of `size` subjects at a time (rows come sorted by subject)."""
    chunk: list[bytes] = []
    subjects = 0
    last = None
    for subject, line in rows:
        if subject != last:
            if subjects == size:
                yield chunk
                chunk, subjects = [], 0
            subjects += 1
            last = subject
        chunk.append(line)
    if chunk:
        yield chunk


def _entities(reader: GraphReader) -> Iterable[Entity]:
    """Light records (labels, synonyms, quote and claim only) of every subject typed with a kind
    of the registry: the subjects the snapshot's reader makes records of."""
    registry = reader.registry
    for s, predicates in reader.index.out.items():
        if not isinstance(s, URIRef):
            continue
        kind = registry.kind_of(str(t) for t in predicates.get(RDF_TYPE, ()))
        if kind is not None:
            yield reader.entity(s, kind)


def _staged(e: Entity) -> tuple[str, str, str, str, str, str]:
    labels = [[t.text, True] for t in e.labels] + [[t.text, False] for t in e.alt_labels]
    texts = [t for t in (e.quote, e.claim) if t] if isinstance(e, Fact) else []
    return normalize(e.label()), e.id, e.iri, e.kind, json.dumps(labels), json.dumps(texts)


def _write_ordered(db: sqlite3.Connection) -> int:
    """Entities numbered in label order, their label and text rows numbered as `LabelIndex`
    numbers them; the count of label rows."""
    stem = _memo_stemmer()
    label_row = text_row = 0
    entities: list[tuple[int, str, str, str]] = []
    labels: list[tuple[int, int, str, int, str, str]] = []
    label_words: list[tuple[str, int]] = []
    label_stems: list[tuple[str, int]] = []
    initials: list[tuple[str, int]] = []
    texts: list[tuple[int, int, str, str, str]] = []
    text_words: list[tuple[str, int]] = []
    text_stems: list[tuple[str, int]] = []
    ordered = db.execute(
        "SELECT id, iri, kind, labels, texts FROM staging.entities ORDER BY sort_key, id"
    )
    writer = db.cursor()

    def flush() -> None:
        for table, rows in (
            ("entities", entities),
            ("labels", labels),
            ("label_words", label_words),
            ("label_stems", label_stems),
            ("acronyms", initials),
            ("texts", texts),
            ("text_words", text_words),
            ("text_stems", text_stems),
        ):
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                writer.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
                rows.clear()

    for n, (id, iri_, kind, labels_json, texts_json) in enumerate(ordered):
        entities.append((n, id, iri_, kind))
        for shown, preferred in json.loads(labels_json):
            norm = normalize(shown)
            words = norm.split()
            stems = [stem(w) for w in words]
            labels.append((label_row, n, shown, int(preferred), norm, stem_key(stems)))
            label_words.extend((w, label_row) for w in set(words))
            label_stems.extend((s, label_row) for s in set(stems))
            initials.extend((a, label_row) for a in acronyms(words))
            label_row += 1
        for text in json.loads(texts_json):
            norm = normalize(text)
            words = norm.split()
            stems = [stem(w) for w in words]
            texts.append((text_row, n, text, f" {norm}", stem_key(stems)))
            text_words.extend((w, text_row) for w in set(words))
            text_stems.extend((s, text_row) for s in set(stems))
            text_row += 1
        if len(labels) + len(texts) >= ROWS:
            flush()
    flush()
    db.commit()
    return label_row


def _memo_stemmer() -> Callable[[str], str]:
    """The index's stemmer, its memo bounded (the vocabulary grows with the graph)."""
    return lru_cache(maxsize=STEMS)(Stemmer(()).__call__)


def _batches(
    items: Iterable[tuple[bytes, bytes]], size: int
) -> Iterator[list[tuple[bytes, bytes]]]:
    batch: list[tuple[bytes, bytes]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def concepts_of(blob: bytes) -> tuple[Concept, ...]:
    """The concepts kept in a catalog file's meta table (a file this module wrote)."""
    found: tuple[Concept, ...] = pickle.loads(blob)
    return found


def read_registry_blob(blob: bytes) -> Registry:
    """The registry kept in a catalog file's meta table (a file this module wrote)."""
    found: Registry = pickle.loads(blob)
    return found
