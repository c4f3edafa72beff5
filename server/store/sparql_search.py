"""Search over a catalog file: the snapshot's ranking, with its rows on disk.

`DiskLabelIndex` is a `LabelIndex` (server/store/label_index.py) whose rows live in the catalog's
SQLite file (server/store/sparql_catalog_build.py writes them as `LabelIndex` numbers them). A
query first asks SQLite for the rows its words select (by prefix of a word, by stem, by initials),
then reads those rows' columns, and hands them to `LabelIndex.rank` itself in a view that holds
only them: the scoring code is the snapshot's, not a copy, so the ranking is the same. The
rankings memo is the snapshot's too (`search_rankings`, bounded); a `SearchHit` reads its label
or quote when a client reads it.

What a search holds in memory is the rows its words select, while it ranks them: a common word
at 10M triples selects tens of thousands; nothing else grows with the graph.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from server.model.records import SearchHit
from server.store.label_index import LabelIndex, Query, Stemmer, excerpt, rows_matching
from server.store.search_rankings import Rankings

Rows = Callable[[str, Iterable[Any]], list[tuple[Any, ...]]]  # (sql, parameters) -> rows
_TOP = "\U0010ffff"  # above every character a normalized word holds


class SqlWords:
    """`label_index.Words` over a words table and a stems table, remembering its answers (one
    query's): `LabelIndex.rank` then asks the same again, from memory."""

    def __init__(self, rows: Rows, words: str, stems: str) -> None:
        self._rows, self._words, self._stems = rows, words, stems
        self._prefixes: dict[str, set[int]] = {}
        self._stemmed: dict[str, frozenset[int]] = {}

    def beginning_with(self, prefix: str) -> set[int]:
        found = self._prefixes.get(prefix)
        if found is None:
            sql = f"SELECT row FROM {self._words} WHERE word >= ? AND word <= ?"
            found = {r for (r,) in self._rows(sql, (prefix, prefix + _TOP))}
            self._prefixes[prefix] = found
        return set(found)

    def stemmed(self, stem: str) -> frozenset[int]:
        found = self._stemmed.get(stem)
        if found is None:
            sql = f"SELECT row FROM {self._stems} WHERE stem = ?"
            found = frozenset(r for (r,) in self._rows(sql, (stem,)))
            self._stemmed[stem] = found
        return found


class Numbered(dict[int, Any]):
    """Some rows by number, as long as all of them: text rows are numbered after the label
    rows (`len(index._norm) + i`), which a view holding only some must keep."""

    def __init__(self, items: Iterable[tuple[int, Any]], length: int) -> None:
        super().__init__(items)
        self._length = length

    def __len__(self) -> int:
        return self._length


class Kinds:
    """Entity number -> kind, read from the catalog file when asked (a restricted ranking)."""

    def __init__(self, rows: Rows) -> None:
        self._rows = rows

    def __getitem__(self, n: int) -> str:
        found = self._rows("SELECT kind FROM entities WHERE n = ?", (n,))
        return str(found[0][0]) if found else ""


class DiskLabelIndex(LabelIndex):
    """Search over a catalog file; `search` and `Hits` are `LabelIndex`'s own."""

    def __init__(self, rows: Rows, label_rows: int) -> None:
        # Not LabelIndex.__init__: nothing of the rows is held here.
        self._query_rows = rows
        self._label_rows = label_rows
        self._stem = Stemmer(())
        self._kinds = Kinds(rows)  # type: ignore[assignment]
        self._rankings = Rankings()

    def __len__(self) -> int:
        return self._label_rows

    def rank(self, query: Query, kinds: Iterable[str] = ()) -> list[tuple[int, float, int]]:
        return LabelIndex.rank(self._view(query), query, tuple(kinds))

    def _view(self, query: Query) -> LabelIndex:
        """A `LabelIndex` holding just the rows `query` selects."""
        rows = self._query_rows
        labels = SqlWords(rows, "label_words", "label_stems")
        texts = SqlWords(rows, "text_words", "text_stems")
        # The literal rows are among the loose ones. (SqlWords is a Words by its methods.)
        selected = rows_matching(labels, query)[1]  # type: ignore[arg-type]
        initials: frozenset[int] = frozenset()
        if len(query.words) == 1 and len(query.text) >= 2:
            found = rows("SELECT row FROM acronyms WHERE acronym = ?", (query.text,))
            initials = frozenset(r for (r,) in found)
        label_rows = self._columns(
            "SELECT row, owner, preferred, norm, stem_key FROM labels", selected | initials
        )
        text_rows = self._columns(
            "SELECT row, owner, padded, stem_key FROM texts",
            rows_matching(texts, query)[1],  # type: ignore[arg-type]
        )
        owners = {r[1] for r in label_rows} | {r[1] for r in text_rows}
        size = self._label_rows
        view = LabelIndex.__new__(LabelIndex)
        view._labels = labels  # type: ignore[assignment]
        view._text_words = texts  # type: ignore[assignment]
        view._acronyms = {query.text: initials}
        view._owner = Numbered(((r[0], r[1]) for r in label_rows), size)  # type: ignore[assignment]
        view._preferred = Numbered(((r[0], bool(r[2])) for r in label_rows), size)  # type: ignore[assignment]
        view._norm = Numbered(((r[0], r[3]) for r in label_rows), size)  # type: ignore[assignment]
        view._padded = Numbered(((r[0], f" {r[3]}") for r in label_rows), size)  # type: ignore[assignment]
        view._stem_keys = Numbered(((r[0], r[4]) for r in label_rows), size)  # type: ignore[assignment]
        view._text_owner = {r[0]: r[1] for r in text_rows}  # type: ignore[assignment]
        view._text_padded = {r[0]: r[2] for r in text_rows}  # type: ignore[assignment]
        view._text_stem_keys = {r[0]: r[3] for r in text_rows}  # type: ignore[assignment]
        view._kinds = dict(  # type: ignore[assignment]
            self._columns("SELECT n, kind FROM entities", owners, key="n")
        )
        view._stem = self._stem
        return view

    def _columns(self, select: str, wanted: Iterable[int], key: str = "row") -> list[Any]:
        numbers = sorted(wanted)
        if not numbers:
            return []
        sql = f"{select} WHERE {key} IN (SELECT value FROM json_each(?))"
        return self._query_rows(sql, (json.dumps(numbers),))

    def hit(self, query: Query, n: int, score: float, row: int) -> SearchHit:
        rows = self._query_rows
        id = rows("SELECT id FROM entities WHERE n = ?", (n,))[0][0]
        if row < self._label_rows:
            shown = rows("SELECT shown FROM labels WHERE row = ?", (row,))[0][0]
            return SearchHit(id, score, shown)
        text = rows("SELECT text FROM texts WHERE row = ?", (row - self._label_rows,))[0][0]
        return SearchHit(id, score, excerpt(text, query, self._stem))
