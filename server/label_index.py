"""Search over labels and synonyms: case- and accent-insensitive, ranked, indexed by word prefix.

Every label is normalized once ("Tylénol!" -> "tylenol") and each of its words is put in a sorted
list, so a query only scores the labels in which every query word begins a word: no scan of all
labels per request. A label matches when each word of the query begins one of its words.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left
from collections.abc import Sequence

from .records import Entity, SearchHit


def normalize(text: str) -> str:
    """Case-folded, accents stripped, punctuation collapsed to spaces: "Tylénol!" -> "tylenol"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in stripped).split())


# Scores: exact label, label starts with the query, the query as a phrase at a word start, the
# query inside the label, every query word begins some word. Preferred labels get PREFERRED more.
EXACT, PREFIX, PHRASE, INSIDE, WORDS, PREFERRED = 95.0, 75.0, 55.0, 35.0, 20.0, 5.0


class LabelIndex:
    """Immutable after construction; `search` only reads. Entities must come in label order."""

    def __init__(self, entities: Sequence[Entity]) -> None:
        # One row per label, in parallel tuples (the search loop is the hot path); an entity's
        # rows are contiguous, preferred labels first.
        norm: list[str] = []
        shown: list[str] = []
        owner: list[str] = []
        kind: list[str] = []
        preferred: list[bool] = []
        for e in entities:
            for texts, is_preferred in ((e.labels, True), (e.alt_labels, False)):
                for t in texts:
                    norm.append(normalize(t.text))
                    shown.append(t.text)
                    owner.append(e.id)
                    kind.append(e.kind)
                    preferred.append(is_preferred)
        self._norm, self._shown, self._owner = tuple(norm), tuple(shown), tuple(owner)
        self._kind, self._preferred = tuple(kind), tuple(preferred)
        self._padded = tuple(f" {n}" for n in norm)
        postings: dict[str, set[int]] = {}
        for i, label in enumerate(norm):
            for word in label.split():
                postings.setdefault(word, set()).add(i)
        self._words = tuple(sorted(postings))
        self._postings = tuple(frozenset(postings[w]) for w in self._words)

    def __len__(self) -> int:
        return len(self._norm)

    def search(self, text: str, kinds: Sequence[str] = ()) -> list[SearchHit]:
        """Matching entities, best score first, then in label order; one hit per entity."""
        query = normalize(text)
        if not query:
            return []
        candidates: set[int] | None = None
        for token in set(query.split()):
            rows = self._beginning_with(token)
            candidates = rows if candidates is None else candidates & rows
            if not candidates:
                return []
        wanted = frozenset(kinds)
        norm, padded, owner, kind = self._norm, self._padded, self._owner, self._kind
        preferred, shown = self._preferred, self._shown
        phrase = f" {query}"
        hits: list[SearchHit] = []
        current, best, best_label = "", 0.0, ""
        # Rows are in label order and each entity's rows are contiguous, so one pass keeps the
        # best row per entity and emits entities in label order.
        for i in sorted(candidates or ()):
            if wanted and kind[i] not in wanted:
                continue
            label = norm[i]
            if label == query:
                score = EXACT
            elif label.startswith(query):
                score = PREFIX
            elif phrase in padded[i]:
                score = PHRASE
            elif query in label:
                score = INSIDE
            else:
                score = WORDS  # a candidate: every query word begins one of its words
            if preferred[i]:
                score += PREFERRED
            if owner[i] != current:
                if current:
                    hits.append(SearchHit(current, best, best_label))
                current, best, best_label = owner[i], score, shown[i]
            elif score > best:
                best, best_label = score, shown[i]
        if current:
            hits.append(SearchHit(current, best, best_label))
        hits.sort(key=lambda h: -h.score)  # stable: label order within a score
        return hits

    def _beginning_with(self, prefix: str) -> set[int]:
        """Rows with a word that begins with `prefix`: a range of the sorted word list."""
        found: set[int] = set()
        i = bisect_left(self._words, prefix)
        while i < len(self._words) and self._words[i].startswith(prefix):
            found |= self._postings[i]
            i += 1
        return found
