"""Search: literal ranking, English stems, acronyms, and facts found by their quote or claim."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.load.loader import load
from server.model.records import Entity, Fact, LangText, SearchHit
from server.store.label_index import (
    ACRONYM,
    EXACT,
    PREFERRED,
    PREFIX,
    STEMMED,
    STEMMED_PHRASE,
    STEMMED_WORDS,
    WORDS,
    LabelIndex,
    fold,
    normalize,
)
from server.store.snapshot import Snapshot, build_snapshot
from tests.benchmarks.generate import generate

from .conftest import REPO


def entity(id: str, label: str, *alts: str, kind: str = "Therapy") -> Entity:
    return Entity(
        id=id,
        iri=f"https://example.org/{id}",
        kind=kind,
        labels=(LangText("en", label),),
        alt_labels=tuple(LangText("en", a) for a in alts),
    )


def fact(id: str, label: str, quote: str, claim: str | None = None) -> Fact:
    return Fact(
        id=id,
        iri=f"https://example.org/{id}",
        kind="QualitativeClaim" if claim else "Proportion",
        labels=(LangText("en", label),),
        quote=quote,
        claim=claim,
    )


def index(*entities: Entity) -> LabelIndex:
    """An index over `entities` in label order, as the snapshot gives them."""
    return LabelIndex(sorted(entities, key=lambda e: (normalize(e.label()), e.id)))


def ids(hits: Sequence[SearchHit]) -> list[str]:
    return [h.id for h in hits]


# -- normalizing


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_fast_path_normalizes_like_the_general_one(text: str) -> None:
    assert normalize(text) == fold(text)


def test_normalize_folds_case_accents_and_punctuation() -> None:
    assert normalize("  Tylénol®, ANTI-inflammatory! ") == "tylenol anti inflammatory"
    assert normalize("Dull/aching pain") == "dull aching pain"


# -- stemming


def test_plural_query_finds_singular_label_by_stem() -> None:
    found = index(
        entity("snb", "Selective nerve block", "Nerve block"),
        entity("epi", "Epidural injection"),
        entity("rfa", "Radiofrequency ablation"),
    )
    assert ids(found.search("nerve blocks")) == ["snb"]
    assert found.search("nerve blocks")[0].matched == "Nerve block"
    hit = found.search("Épidural INJECTIONS")[0]
    assert (hit.id, hit.score, hit.matched) == ("epi", STEMMED + PREFERRED, "Epidural injection")
    assert ids(found.search("ablations")) == ["rfa"]


def test_singular_query_finds_plural_label() -> None:
    found = index(entity("inj", "Facet joint injections"), entity("other", "Ice"))
    assert ids(found.search("injection")) == ["inj"]
    assert ids(found.search("facet joint injection")) == ["inj"]


def test_exact_and_prefix_rank_above_stem_matches() -> None:
    found = index(
        entity("stem", "Nerve block"),
        entity("prefix-alt", "Regional anaesthesia", "Nerve blocks of the neck"),
        entity("exact-alt", "Peripheral block", "Nerve blocks"),
        entity("phrase", "Selective nerve blocks"),
    )
    hits = found.search("nerve blocks")
    assert ids(hits) == ["exact-alt", "prefix-alt", "stem", "phrase"]
    assert [h.score for h in hits] == [EXACT, PREFIX, STEMMED + PREFERRED, 60.0]


def test_stem_match_can_beat_a_weaker_literal_one_of_the_same_entity() -> None:
    found = index(entity("nb", "Nerve block", "Blocks of a nerve"))
    assert found.search("nerve blocks")[0] == SearchHit("nb", STEMMED + PREFERRED, "Nerve block")
    assert found.search("nerve block")[0] == SearchHit("nb", EXACT + PREFERRED, "Nerve block")


def test_literal_match_wins_a_tie_with_a_stem_match() -> None:
    found = index(entity("nb", "Block for a nerve", "Blocks given to a nerve"))
    assert found.search("nerve blocks")[0] == SearchHit("nb", WORDS, "Blocks given to a nerve")
    assert found.search("nerve blocks")[0].score == STEMMED_WORDS + PREFERRED


def test_stem_match_within_a_longer_label_ranks_below_a_whole_one() -> None:
    found = index(
        entity("long", "Lumbar epidural injection"), entity("whole", "Epidural injection")
    )
    hits = found.search("epidural injections")
    assert ids(hits) == ["whole", "long"]
    assert hits[1].score == STEMMED_PHRASE + PREFERRED


def test_every_query_word_must_match_by_prefix_or_stem() -> None:
    found = index(entity("epi", "Epidural injection"))
    assert ids(found.search("injections epidural")) == ["epi"]
    assert ids(found.search("epidural injections knee")) == []


# -- acronyms


def test_initials_of_a_label_find_it() -> None:
    found = index(
        entity(
            "fbss", "Failed back surgery syndrome", "Post-laminectomy syndrome", kind="Condition"
        ),
        entity("iasp", "International Association for the Study of Pain", kind="Organization"),
    )
    hit = found.search("FBSS")[0]
    assert (hit.id, hit.score, hit.matched) == (
        "fbss",
        ACRONYM + PREFERRED,
        "Failed back surgery syndrome",
    )
    assert found.search("pls")[0] == SearchHit("fbss", ACRONYM, "Post-laminectomy syndrome")
    # Minor words count, or not: both spellings of the initials find the label.
    assert ids(found.search("IASP")) == ["iasp"]
    assert ids(found.search("iaftsop")) == ["iasp"]
    # Initials are one word: split, they are two words that begin no word of a label.
    assert found.search("fb ss") == []


def test_acronym_synonym_in_any_case_and_number() -> None:
    plural = index(entity("nsaids", "Nonsteroidal anti-inflammatory drugs", "NSAIDs"))
    for text in ("NSAIDs", "nsaids", "NSAIDS"):
        assert plural.search(text)[0] == SearchHit("nsaids", EXACT, "NSAIDs")
    assert plural.search("NSAID")[0] == SearchHit("nsaids", PREFIX, "NSAIDs")
    singular = index(entity("nsaid", "Nonsteroidal anti-inflammatory drug", "NSAID"))
    assert singular.search("NSAIDs")[0] == SearchHit("nsaid", STEMMED, "NSAID")


def test_acronym_ranks_below_exact_and_above_phrase() -> None:
    found = index(
        entity("day-spa", "Day spa"),
        entity("spa", "Spa"),
        entity("assessment", "Spine physiotherapy assessment"),
    )
    hits = found.search("SPA")
    assert ids(hits) == ["spa", "assessment", "day-spa"]
    assert hits[1].score == ACRONYM + PREFERRED


# -- facts by the words of their quote or claim

QUOTE = (
    "According to the entirely fictional registry of Examplestan, the incidence of surgery for "
    "widget pain is increasing every year, as the report notes."
)
INCIDENCE = fact(
    "incidence",
    "Widget operations are more frequent",
    QUOTE,
    claim="The incidence of widget surgery is increasing.",
)


@pytest.fixture
def with_facts() -> LabelIndex:
    return index(
        entity("spine-surgery", "Spine surgery"),
        INCIDENCE,
        fact("other", "Another widget statistic", "Nothing to see here."),
    )


def test_fact_found_by_a_phrase_of_its_quote(with_facts: LabelIndex) -> None:
    (hit,) = with_facts.search("incidence of surgery")
    assert hit.id == "incidence"
    assert hit.matched == (
        "…fictional registry of Examplestan, the incidence of surgery for widget pain is "
        "increasing…"
    )
    assert with_facts.search("Incidence of surgeries")[0].score == hit.score  # by stems too


def test_fact_found_by_a_word_only_in_its_quote(with_facts: LabelIndex) -> None:
    (hit,) = with_facts.search("registry")
    assert hit.id == "incidence"
    assert hit.matched.startswith("According to the entirely fictional registry of")


def test_quote_matches_rank_below_label_matches(with_facts: LabelIndex) -> None:
    hits = with_facts.search("surgery")
    assert ids(hits) == ["spine-surgery", "incidence"]
    assert hits[1].score < hits[0].score
    # A fact found by its own label keeps that label and its rank as a label.
    labelled = with_facts.search("widget operations")[0]
    assert labelled == SearchHit(
        "incidence", PREFIX + PREFERRED, "Widget operations are more frequent"
    )


def test_claim_phrase_beats_scattered_quote_words(with_facts: LabelIndex) -> None:
    words_apart = with_facts.search("pain registry")[0]
    (hit,) = with_facts.search("widget surgery")
    assert hit.matched == "The incidence of widget surgery is increasing."
    assert hit.score > words_apart.score


def test_quote_matches_honour_the_kind_filter(with_facts: LabelIndex) -> None:
    assert ids(with_facts.search("registry", ["Proportion"])) == []
    assert ids(with_facts.search("registry", ["QualitativeClaim"])) == ["incidence"]


# -- the hit list


def test_hits_read_alike_by_index_slice_and_iteration(with_facts: LabelIndex) -> None:
    hits = with_facts.search("widget")
    assert len(hits) == 2
    assert list(hits) == list(hits[0:2]) == [hits[0], hits[1]]
    assert list(hits[1:]) == [hits[-1]]
    assert with_facts.search("   ") == []
    assert with_facts.search("zzz") == []


# -- today's ranking is kept: a plain scan of the literal ranking as the reference


def literal_ranking(entities: Sequence[Entity], text: str, kinds: Sequence[str]) -> list[SearchHit]:
    """Search as it ranked before stems, acronyms and quotes: each query word begins a word of
    the label; exact 95, prefix 75, phrase at a word start 55, inside 35, words 20; +5 preferred."""
    query = normalize(text)
    hits: list[SearchHit] = []
    for e in entities:
        if kinds and e.kind not in kinds:
            continue
        best: SearchHit | None = None
        for texts, bonus in ((e.labels, 5.0), (e.alt_labels, 0.0)):
            for t in texts:
                label = normalize(t.text)
                if not all(any(w.startswith(q) for w in label.split()) for q in query.split()):
                    continue
                tiers = (
                    (label == query, 95.0),
                    (label.startswith(query), 75.0),
                    (f" {query}" in f" {label}", 55.0),
                    (query in label, 35.0),
                    (True, 20.0),
                )
                score = next(s for ok, s in tiers if ok) + bonus
                if best is None or score > best.score:
                    best = SearchHit(e.id, score, t.text)
        if best is not None:
            hits.append(best)
    return sorted(hits, key=lambda h: -h.score)


def queries_from(entities: Sequence[Entity]) -> list[str]:
    """Whole labels, their words, word prefixes and first two words, and a few by hand."""
    found = {"pain", "spinal fusion", "a", "of the", "Acétaminophen", "BACK pain", "sur", "block"}
    for e in entities:
        for t in (*e.labels, *e.alt_labels):
            words = t.text.split()
            found.update((t.text, " ".join(words[:2]), *words, *(w[:3] for w in words)))
    return sorted(q for q in found if normalize(q))


def assert_literal_ranking_kept(entities: Sequence[Entity]) -> None:
    searched = LabelIndex(entities)
    unchanged = 0
    queries = queries_from(entities)
    for text in queries:
        for kinds in ((), ("Symptom",), ("Drug", "DrugClass", "Proportion")):
            old = literal_ranking(entities, text, kinds)
            new = list(searched.search(text, kinds))
            now = {h.id: h for h in new}
            for before in old:
                # Nothing found before is lost or ranked lower; at the same score, same label.
                after = now[before.id]
                assert after.score >= before.score, (text, kinds, before, after)
                assert after.score > before.score or after == before, (text, kinds, before)
            # Hits that stay the same keep their order.
            kept = set(old) & set(new)
            assert [h for h in new if h in kept] == [h for h in old if h in kept], (text, kinds)
            # Where stems, acronyms and quotes match nothing more, nothing changes at all.
            if len(kept) == len(new):
                assert new == old, (text, kinds)
                unchanged += 1
    assert unchanged > len(queries)  # most queries match nothing more: the check above ran


def test_literal_ranking_kept_on_the_seed() -> None:
    assert_literal_ranking_kept(build_snapshot(load(REPO)).entities())


def test_literal_ranking_kept_on_a_generated_graph(tmp_path: Path) -> None:
    made = generate(tmp_path / "project", 3_000)
    assert made.copies >= 1
    assert_literal_ranking_kept(build_snapshot(load(made.root)).entities())


# -- the real graph (presence only: kg/ grows)


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return build_snapshot(load(REPO))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nerve blocks", "selective-nerve-block"),
        ("epidural injections", "epidural-injection"),
        ("FBSS", "failed-back-surgery-syndrome"),
        ("nsaid", "nsaids"),
        # only in the fact's quote, not in any label
        ("preclinical and clinical research", "fibrosis-share-of-cases"),
    ],
)
def test_seed_search_finds(snap: Snapshot, text: str, expected: str) -> None:
    assert expected in ids(snap.search(text))
