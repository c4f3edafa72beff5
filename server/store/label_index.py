"""Search over labels, synonyms, their acronyms and the words of facts: ranked, case- and
accent-insensitive, with English stemming.

Everything is normalized once ("Tylénol!" -> "tylenol") and indexed at construction: each word of a
label or of a fact's quote and claim in a sorted vocabulary (for prefixes) and by its Snowball stem,
and each multi-word label by its initials. A query only scores the rows its words select through
those indexes: no scan of all labels per request.

A label matches *literally* when each query word begins one of its words (the ranking this index
has always had); failing that, by *stem* ("nerve blocks" finds "Nerve block") or as an *acronym*
("FBSS"), scoring below exact and prefix matches; a fact also matches when each query word is in
its quote or claim, below every label. So a query that only matches literally ranks as it always
has.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import overload

import snowballstemmer

from server.model.records import Entity, Fact, SearchHit
from server.store.search_rankings import Ranking, Rankings


def normalize(text: str) -> str:
    """Case-folded, accents stripped, punctuation collapsed to spaces: "Tylénol!" -> "tylenol"."""
    if text.isascii():  # most text: nothing to fold but case, and 10x faster than fold()
        return _ASCII_SEPARATORS.sub(" ", text.lower()).strip()
    return fold(text)


def label_order(entity: Entity) -> tuple[str, str]:
    """Where an entity sorts in label order (the snapshot's, and a search's tie-break)."""
    return (normalize(entity.label()), entity.id)


def fold(text: str) -> str:
    """`normalize` for any text, character by character."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in stripped).split())


# Literal scores (unchanged): exact label, label starts with the query, the query as a phrase at
# a word start, the query inside the label, every query word begins some word.
EXACT, PREFIX, PHRASE, INSIDE, WORDS = 95.0, 75.0, 55.0, 35.0, 20.0
# Added matches, all below a prefix match: the label's stems are the query's ("epidural
# injections" -> "Epidural injection"); the query is the label's initials; the query's stems are a
# run of the label's; each query word begins a word of the label or shares its stem.
STEMMED, ACRONYM, STEMMED_PHRASE, STEMMED_WORDS = 65.0, 60.0, 45.0, 15.0
# A fact's quote or claim holds the query as a phrase (literally or by stems), or each of its
# words: below every label.
TEXT_PHRASE, TEXT_WORDS = 10.0, 5.0
# Added to the score of a match on a preferred label (or its initials).
PREFERRED = 5.0

# Left out of the second acronym of a label ("International Association for the Study of Pain" ->
# IASP as well as IAFTSOP).
MINOR_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to"}
)
EXCERPT_WORDS = 5  # words of context kept on each side of a quote's match
_WORD = re.compile(r"[^\W_]+")
_ASCII_SEPARATORS = re.compile(r"[^a-z0-9]+")


def acronyms(words: Sequence[str]) -> set[str]:
    """The initials of a label of two words or more, with and without its minor words."""
    found: set[str] = set()
    for kept in (words, [w for w in words if w not in MINOR_WORDS]):
        if len(kept) >= 2:
            found.add("".join(w[0] for w in kept))
    return found


class Stemmer:
    """English Snowball stems, memoized for a fixed vocabulary; thread-safe for other words."""

    def __init__(self, vocabulary: Iterable[str], known: Mapping[str, str] | None = None) -> None:
        """known: stems already computed (the previous version's, on a patched reload)."""
        # Snowball stemmers keep state per call, and requests may search from several threads.
        self._lock = threading.Lock()
        self._stemmer = snowballstemmer.stemmer("english")
        known = known or {}
        self._known = {word: known.get(word) or self._stem(word) for word in set(vocabulary)}

    def __call__(self, word: str) -> str:
        known = self._known.get(word)
        return known if known is not None else self._stem(word)

    def _stem(self, word: str) -> str:
        with self._lock:
            return str(self._stemmer.stemWord(word))


class Words:
    """Rows (of labels or texts) by the words they hold: a sorted vocabulary for prefixes, and
    postings by stem."""

    def __init__(self, rows: Sequence[Sequence[str]], stem: Stemmer) -> None:
        postings: dict[str, set[int]] = defaultdict(set)
        stemmed: dict[str, set[int]] = defaultdict(set)
        for i, words in enumerate(rows):
            for word in words:
                postings[word].add(i)
                stemmed[stem(word)].add(i)
        self._words = tuple(sorted(postings))
        self._postings = tuple(frozenset(postings[w]) for w in self._words)
        self._stemmed = {s: frozenset(rows) for s, rows in stemmed.items()}

    def beginning_with(self, prefix: str) -> set[int]:
        """Rows with a word that begins with `prefix`: a range of the sorted vocabulary."""
        found: set[int] = set()
        i = bisect_left(self._words, prefix)
        while i < len(self._words) and self._words[i].startswith(prefix):
            found |= self._postings[i]
            i += 1
        return found

    def stemmed(self, stem: str) -> frozenset[int]:
        """Rows with a word of this stem."""
        return self._stemmed.get(stem, frozenset())


def stem_key(stems: Iterable[str]) -> str:
    """Stems as one padded string, so that a run of stems is a substring: " nerv block "."""
    return f" {' '.join(stems)} "


class Query:
    """A query once normalized: its phrase, words and their stems."""

    def __init__(self, text: str, stem: Stemmer) -> None:
        self.text = normalize(text)
        self.phrase = f" {self.text}"
        self.words = tuple(self.text.split())
        self.stems = tuple(stem(w) for w in self.words)
        self.stem_key = stem_key(self.stems)

    def find(self, words: Sequence[str], stems: Sequence[str]) -> tuple[int, int]:
        """Where the query matches `words` (with their `stems`), as (start, length): its words
        one for one in a run, else the first word one of them begins or shares a stem with."""
        n = len(self.words)
        for start in range(len(words) - n + 1):
            if all(self._matches(i, words[start + i], stems[start + i]) for i in range(n)):
                return start, n
        for j, (word, stem) in enumerate(zip(words, stems, strict=True)):
            if any(self._matches(i, word, stem) for i in range(n)):
                return j, 1
        return 0, 0

    def _matches(self, i: int, word: str, stem: str) -> bool:
        return word.startswith(self.words[i]) or self.stems[i] == stem


def rows_matching(words: Words, query: Query) -> tuple[set[int], set[int]]:
    """The rows each query word begins a word of (literal), and those where each query word
    begins a word or shares its stem (loose, a superset)."""
    literal: set[int] | None = None
    loose: set[int] | None = None
    for word, stem in dict(zip(query.words, query.stems, strict=True)).items():
        prefixed = words.beginning_with(word)
        extra = words.stemmed(stem) - prefixed
        literal = prefixed if literal is None else literal & prefixed
        either = prefixed | extra if extra else prefixed
        loose = either if loose is None else loose & either
        if not loose:  # a superset of `literal`
            break
    return literal or set(), loose or set()


class LabelIndex:
    """Immutable after construction; `search` only reads. Entities must come in label order."""

    def __init__(self, entities: Sequence[Entity], previous: LabelIndex | None = None) -> None:
        """previous: the index of the version before an edit, whose word stems are reused."""
        self._ids = tuple(e.id for e in entities)
        self._kinds = tuple(e.kind for e in entities)
        # One row per label, in parallel tuples (the search loop is the hot path); an entity's
        # rows are contiguous, preferred labels first.
        owner: list[int] = []
        shown: list[str] = []
        preferred: list[bool] = []
        # One row per quote or claim of a fact, quote first.
        text_owner: list[int] = []
        texts: list[str] = []
        for n, e in enumerate(entities):
            for labels, is_preferred in ((e.labels, True), (e.alt_labels, False)):
                for t in labels:
                    owner.append(n)
                    shown.append(t.text)
                    preferred.append(is_preferred)
            if isinstance(e, Fact):
                for text in (e.quote, e.claim):
                    if text:
                        text_owner.append(n)
                        texts.append(text)
        norm = [normalize(s) for s in shown]
        label_words = [n.split() for n in norm]
        text_norm = [normalize(t) for t in texts]
        text_words = [n.split() for n in text_norm]
        self._stem: Stemmer = Stemmer(
            (w for rows in (label_words, text_words) for ws in rows for w in ws),
            previous._stem._known if previous is not None else None,
        )
        self._owner, self._shown, self._preferred = tuple(owner), tuple(shown), tuple(preferred)
        self._norm = tuple(norm)
        self._padded = tuple(f" {n}" for n in norm)
        self._stem_keys = tuple(stem_key(map(self._stem, ws)) for ws in label_words)
        self._labels = Words(label_words, self._stem)
        initials: dict[str, set[int]] = defaultdict(set)
        for i, ws in enumerate(label_words):
            for acronym in acronyms(ws):
                initials[acronym].add(i)
        self._acronyms: Mapping[str, frozenset[int]] = {
            a: frozenset(rows) for a, rows in initials.items()
        }
        self._text_owner, self._texts = tuple(text_owner), tuple(texts)
        self._text_padded = tuple(f" {n}" for n in text_norm)
        self._text_stem_keys = tuple(stem_key(map(self._stem, ws)) for ws in text_words)
        self._text_words = Words(text_words, self._stem)
        self._rankings = Rankings()

    def __len__(self) -> int:
        return len(self._norm)

    def search(self, text: str, kinds: Sequence[str] = ()) -> Sequence[SearchHit]:
        """Matching entities, best score first, then in label order; one hit per entity.

        The ranking is kept per normalized query (`search_rankings`): only the first search for
        some words scores their rows; later ones, on any page, read the part they return."""
        query = Query(text, self._stem)
        if not query.words:
            return []
        wanted = frozenset(kinds)
        if not wanted:
            ranking = self._rankings.get((query.text, wanted), lambda: Ranking(self.rank(query)))
        else:
            kind = self._kinds
            ranking = self._rankings.get(
                (query.text, wanted),
                lambda: self._rankings.get(
                    (query.text, frozenset()), lambda: Ranking(self.rank(query))
                ).restricted(lambda n: kind[n] in wanted),
            )
        return Hits(self, query, ranking) if len(ranking) else []

    def forget_rankings(self) -> None:
        """Drop the kept rankings (benchmarks time the computation with it)."""
        self._rankings.clear()

    def rankings_bytes(self) -> int:
        """Memory the kept rankings hold."""
        return self._rankings.nbytes()

    def rank(self, query: Query, kinds: Sequence[str] = ()) -> list[tuple[int, float, int]]:
        """(entity, score, row) of every match, ranked: scores the rows the query's words select.

        The reference computation (`search` keeps its results); `kinds` restricts it."""
        wanted = frozenset(kinds)
        kind = self._kinds
        # entity -> (score, row): label rows, then text rows numbered after them, so that on a
        # tie the earlier row wins (a preferred label, then a synonym, a quote, a claim).
        best: dict[int, tuple[float, int]] = {}
        literal, loose = rows_matching(self._labels, query)
        self._score_literally(query, literal, wanted, best)
        literally = set(best)

        def offer(n: int, score: float, row: int) -> None:
            if wanted and kind[n] not in wanted:
                return
            old = best.get(n)
            # On a tie the earlier row wins, but not over a literal match: that one stays.
            if (
                old is None
                or score > old[0]
                or (score == old[0] and row < old[1] and n not in literally)
            ):
                best[n] = (score, row)

        for i in loose - literal:
            offer(self._owner[i], self._stemmed_score(query, i), i)
        for i in self._acronym_rows(query):
            offer(self._owner[i], ACRONYM + PREFERRED if self._preferred[i] else ACRONYM, i)
        labelled = set(best)  # text scores are below every label score
        for i in rows_matching(self._text_words, query)[1]:
            n = self._text_owner[i]
            if n not in labelled:
                phrase = (
                    query.phrase in self._text_padded[i]
                    or query.stem_key in self._text_stem_keys[i]
                )
                offer(n, TEXT_PHRASE if phrase else TEXT_WORDS, len(self._norm) + i)
        return _ranked(best)

    def _score_literally(
        self,
        query: Query,
        rows: set[int],
        wanted: frozenset[str],
        best: dict[int, tuple[float, int]],
    ) -> None:
        """The literal score of each entity with a row in `rows`, into `best`."""
        norm, padded, owner, kind = self._norm, self._padded, self._owner, self._kinds
        preferred, text, phrase = self._preferred, query.text, query.phrase
        for i in rows:
            n = owner[i]
            if wanted and kind[n] not in wanted:
                continue
            label = norm[i]
            if label == text:
                score = EXACT
            elif label.startswith(text):
                score = PREFIX
            elif phrase in padded[i]:
                score = PHRASE
            elif text in label:
                score = INSIDE
            else:
                score = WORDS  # a candidate: every query word begins one of its words
            if preferred[i]:
                score += PREFERRED
            old = best.get(n)
            if old is None or score > old[0] or (score == old[0] and i < old[1]):
                best[n] = (score, i)

    def _acronym_rows(self, query: Query) -> frozenset[int]:
        """Label rows whose initials are the query, a single word of two letters or more."""
        if len(query.words) != 1 or len(query.text) < 2:
            return frozenset()
        return self._acronyms.get(query.text, frozenset())

    def _stemmed_score(self, query: Query, i: int) -> float:
        key = self._stem_keys[i]
        if key == query.stem_key:
            score = STEMMED
        elif query.stem_key in key:
            score = STEMMED_PHRASE
        else:
            score = STEMMED_WORDS
        return score + PREFERRED if self._preferred[i] else score

    def hit(self, query: Query, n: int, score: float, row: int) -> SearchHit:
        """The hit for entity `n` found by `row`: its label, or an excerpt of its quote."""
        if row < len(self._shown):
            return SearchHit(self._ids[n], score, self._shown[row])
        text = self._texts[row - len(self._shown)]
        return SearchHit(self._ids[n], score, excerpt(text, query, self._stem))


def _ranked(best: Mapping[int, tuple[float, int]]) -> list[tuple[int, float, int]]:
    """(entity, score, row) by score, then entity (label order)."""
    by_score: dict[float, list[int]] = defaultdict(list)
    for n, (score, _) in best.items():
        by_score[score].append(n)
    ranked: list[tuple[int, float, int]] = []
    for score in sorted(by_score, reverse=True):
        ranked.extend((n, score, best[n][1]) for n in sorted(by_score[score]))
    return ranked


class Hits(Sequence[SearchHit]):
    """One query's hits, ranked; a `SearchHit` (and a quote's excerpt) is made only when read,
    since a client pages through a few of possibly thousands."""

    def __init__(self, index: LabelIndex, query: Query, ranked: Ranking) -> None:
        self._index, self._query, self._ranked = index, query, ranked

    def __len__(self) -> int:
        return len(self._ranked)

    @overload
    def __getitem__(self, i: int) -> SearchHit: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[SearchHit]: ...

    def __getitem__(self, i: int | slice) -> SearchHit | Sequence[SearchHit]:
        if isinstance(i, slice):
            return [self._index.hit(self._query, *r) for r in self._ranked[i]]
        return self._index.hit(self._query, *self._ranked.at(i))

    def __iter__(self) -> Iterator[SearchHit]:
        return (self._index.hit(self._query, *r) for r in self._ranked)


def excerpt(text: str, query: Query, stem: Stemmer) -> str:
    """A few words of `text` around the first place the query's words match, "…" where cut."""
    spans = [
        (word, m.start(), m.end())
        for m in _WORD.finditer(text)
        # normalize() is the slow path: ASCII words only need lower-casing.
        for word in ((m[0].lower(),) if m[0].isascii() else normalize(m[0]).split())
    ]
    if not spans:
        return text
    words = [w for w, _, _ in spans]
    joined = f" {' '.join(words)}"
    at = joined.find(query.phrase)
    if at >= 0:  # the common case, found by a string search: the query's words in a row
        first, width = joined.count(" ", 0, at), len(query.words)
    else:
        first, width = query.find(words, [stem(w) for w in words])
    start = max(0, first - EXCERPT_WORDS)
    end = min(len(spans), first + width + EXCERPT_WORDS) - 1
    # Cut at spaces, so "40%" and "(approximately" stay whole.
    left = text.rfind(" ", 0, spans[start][1]) + 1
    right = text.find(" ", spans[end][2])
    right = right if right >= 0 else len(text)
    cut = text[left:right].rstrip(",;:")
    return ("…" if text[:left].strip() else "") + cut + ("…" if text[right:].strip() else "")
