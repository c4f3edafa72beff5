"""Kept search rankings answer exactly as the ranking computed afresh for every query.

`LabelIndex.rank` is the reference: it scores every row a query selects, as search always has.
`LabelIndex.search` keeps each query's ranking (`server/store/search_rankings.py`), derives the
ranking for some kinds from the full one, and reads pages out of it. Both must agree on every
hit, its order, score and matched label, on every page, with and without kinds, on first and
later searches.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.load.loader import load
from server.model.records import Entity, Fact, LangText, SearchHit
from server.schema import ClinicSchema, Context, build_schema
from server.settings import Settings
from server.store.label_index import LabelIndex, Query, normalize
from server.store.protocol import StoreHolder
from server.store.search_rankings import Ranking, Rankings
from server.store.snapshot import Snapshot, build_snapshot
from tests.benchmarks.generate import generate

from .conftest import REPO

KIND_FILTERS: tuple[tuple[str, ...], ...] = (
    (),
    ("Symptom",),
    ("Drug", "DrugClass", "Proportion"),
    ("QualitativeClaim", "Condition"),
)
# (start, size) of the pages compared; a start past the end gives an empty page.
PAGES = ((0, 20), (20, 20), (0, 1), (3, 7), (0, 100), (10_000, 5))


def reference(index: LabelIndex, text: str, kinds: Sequence[str]) -> list[SearchHit]:
    """The hits as search computed them before rankings were kept: afresh, with the kinds."""
    query = Query(text, index._stem)
    if not query.words:
        return []
    return [index.hit(query, *r) for r in index.rank(query, kinds)]


def assert_same(index: LabelIndex, text: str, kinds: Sequence[str]) -> None:
    old = reference(index, text, kinds)
    new = index.search(text, kinds)
    assert len(new) == len(old), (text, kinds)
    assert list(new) == old, (text, kinds)
    for start, size in PAGES:
        assert list(new[start : start + size]) == old[start : start + size], (text, kinds, start)
    if old:
        for i in (0, -1, len(old) // 2):
            assert new[i] == old[i], (text, kinds, i)
    # Asked again (the kept ranking), and spelled another way that normalizes alike.
    assert list(index.search(text, kinds)) == old
    assert list(index.search(f"  {text.upper()}!", kinds)) == reference(index, text.upper(), kinds)


def queries_from(entities: Sequence[Entity], sample: int, seed: int = 12) -> list[str]:
    """Labels, their words, word prefixes and first two words (a seeded sample), and by hand."""
    found = {t.text for e in entities for t in (*e.labels, *e.alt_labels)}
    for label in list(found):
        words = label.split()
        found.update((" ".join(words[:2]), *words, *(w[:3] for w in words)))
        found.update(w[:1] for w in words)
    chosen = sorted(q for q in found if normalize(q))
    if len(chosen) > sample:
        chosen = random.Random(seed).sample(chosen, sample)
    by_hand = [
        "pain",
        "chronic pain",
        "back pain",
        "FBSS",
        "nerve blocks",
        "injections",
        "surgery",
        "p",
        "of the",
        "Acétaminophen",
        "tylenol",
        "40%",
        "fusion spinal",
    ]
    return by_hand + chosen


def assert_same_everywhere(index: LabelIndex, queries: Sequence[str]) -> None:
    matched = 0
    # Filters first for half the queries, so a filtered ranking is derived before or after the
    # full one is kept.
    for n, text in enumerate(queries):
        for kinds in KIND_FILTERS if n % 2 else KIND_FILTERS[::-1]:
            assert_same(index, text, kinds)
        matched += bool(index.search(text))
    assert matched > len(queries) // 2  # the comparisons above compared hits, not empty lists


def test_same_ranking_on_the_seed() -> None:
    entities = build_snapshot(load(REPO)).entities()
    assert_same_everywhere(LabelIndex(entities), queries_from(entities, sample=400))


# 100k takes ~13 s (generate, load, build, compare): left out of the inner loop (--fast) like the
# property tests, run by the whole suite.
@pytest.mark.parametrize("triples", [10_000, pytest.param(100_000, marks=pytest.mark.slow)])
def test_same_ranking_on_generated_graphs(tmp_path: Path, triples: int) -> None:
    made = generate(tmp_path / "project", triples)
    assert made.copies >= 2
    entities = build_snapshot(load(made.root)).entities()
    index = LabelIndex(entities)
    assert_same_everywhere(index, queries_from(entities, sample=150))
    # A common word matches many entities of every copy: their order is compared in full.
    assert len(index.search("pain")) > 20 * made.copies // 10


# -- hypothesis: any labels, synonyms, quotes and queries, with unicode, case and punctuation

WORDS = [
    "pain",
    "Pain",
    "PAINFUL",
    "painkiller",
    "nerve",
    "nerves",
    "block",
    "blocks",
    "épidural",
    "Epidural",
    "injection",
    "spinal",
    "fusion",
    "back",
    "of",
    "the",
    "a",
    "x",
    "ß",
    "straße",
    "Ḁb",
    "naïve",
    "40%",
    "(approx.)",
    "co-codamol",
    "I",
    "İstanbul",
    "ﬁbrosis",
    "日本",
]
KINDS = ["Symptom", "Drug", "DrugClass", "Condition"]

label = st.lists(st.sampled_from(WORDS) | st.text(min_size=1, max_size=6), min_size=1, max_size=4)
text_of = label.map(" ".join)


@st.composite
def entity_sets(draw: st.DrawFn) -> list[Entity]:
    count = draw(st.integers(min_value=1, max_value=12))
    found: list[Entity] = []
    for n in range(count):
        labels = (LangText("en", draw(text_of)),)
        alts = tuple(LangText("en", t) for t in draw(st.lists(text_of, max_size=3)))
        if draw(st.booleans()):
            found.append(
                Fact(
                    id=f"f{n}",
                    iri=f"https://example.org/f{n}",
                    kind=draw(st.sampled_from(["Proportion", "QualitativeClaim"])),
                    labels=labels,
                    alt_labels=alts,
                    quote=draw(text_of),
                    claim=draw(st.none() | text_of),
                )
            )
        else:
            found.append(
                Entity(
                    id=f"e{n}",
                    iri=f"https://example.org/e{n}",
                    kind=draw(st.sampled_from(KINDS)),
                    labels=labels,
                    alt_labels=alts,
                )
            )
    # In label order, as the snapshot gives them.
    return sorted(found, key=lambda e: (normalize(e.label()), e.id))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entity_sets(),
    st.lists(text_of | st.sampled_from(WORDS) | st.text(max_size=8), min_size=1, max_size=5),
    st.lists(st.sampled_from([*KINDS, "Proportion", "QualitativeClaim"]), max_size=2),
)
def test_same_ranking_for_any_labels_and_queries(
    entities: list[Entity], queries: list[str], kinds: list[str]
) -> None:
    index = LabelIndex(entities)
    for text in queries:
        for wanted in (kinds, (), kinds):
            assert_same(index, text, wanted)


# -- the memo itself


def test_rankings_keep_the_most_recent_within_their_bound() -> None:
    computed: list[str] = []

    def compute(name: str, size: int) -> Any:
        def run() -> Ranking:
            computed.append(name)
            return Ranking((n, 1.0, n) for n in range(size))

        return run

    memo = Rankings(max_entries=10)
    none: frozenset[str] = frozenset()
    assert len(memo.get(("a", none), compute("a", 4))) == 4
    memo.get(("b", none), compute("b", 4))
    memo.get(("a", none), compute("a", 4))  # kept: not computed again, and now the most recent
    memo.get(("c", none), compute("c", 4))  # 12 entries: the least recent (b) goes
    memo.get(("a", none), compute("a", 4))
    memo.get(("b", none), compute("b", 4))
    assert computed == ["a", "b", "c", "b"]
    # A ranking larger than the whole bound is answered, never kept.
    assert len(memo.get(("huge", none), compute("huge", 11))) == 11
    memo.get(("huge", none), compute("huge", 11))
    assert computed[-2:] == ["huge", "huge"]
    assert memo.nbytes() > 0


def test_a_reload_starts_with_no_rankings(tmp_path: Path) -> None:
    # Rankings belong to one index; a new snapshot is a new index (nothing stale is served).
    first = build_snapshot(load(REPO))
    first.search("pain")
    second = build_snapshot(load(REPO))
    assert second._labels.rankings_bytes() == 0 < first._labels.rankings_bytes()


# -- GraphQL: pages through `first`/`after` and totalCount, against the reference

SEARCH = """query($text: String!, $first: Int, $after: String, $types: [NodeType!]) {
  search(text: $text, first: $first, after: $after, types: $types) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { score matchedLabel node { id } }
  }
}"""


@pytest.fixture(scope="module")
def seed() -> tuple[ClinicSchema, Snapshot]:
    return build_schema(Settings()), build_snapshot(load(REPO))


@pytest.mark.parametrize("text", ["pain", "surgery", "back pain", "injections", "FBSS"])
@pytest.mark.parametrize("first", [1, 7, 20])
def test_graphql_pages_follow_the_reference(
    seed: tuple[ClinicSchema, Snapshot], text: str, first: int
) -> None:
    schema, snap = seed
    old = reference(snap._labels, text, ())
    assert old
    context = Context(store=snap, settings=Settings(), holder=StoreHolder(snap), request_id="t")
    seen: list[tuple[str, float, str]] = []
    after = None
    for _ in range(len(old) // first + 2):
        result = schema.execute_sync(
            SEARCH, {"text": text, "first": first, "after": after}, context_value=context
        )
        assert result.errors is None, result.errors
        page = result.data["search"]  # type: ignore[index]
        assert page["totalCount"] == len(old)
        seen.extend((e["node"]["id"], e["score"], e["matchedLabel"]) for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [(h.id, h.score, h.matched) for h in old]
