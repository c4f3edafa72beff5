"""The layered search index of a patched snapshot answers as a fresh index of the same entities.

Random entities (labels, synonyms, facts with quotes and claims, over a small vocabulary so that
queries match many of them with equal scores), changed in two rounds (removed, relabelled,
retyped, added): after each, a `LayeredIndex` over the first index gives every query (words,
prefixes, stems, acronyms, a quote's words) the hits a `LabelIndex` built from scratch gives,
in the same order, for all kinds and per kind, page by page."""

from __future__ import annotations

from dataclasses import astuple, replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from server.model.records import Entity, Fact, LangText
from server.store.label_index import LabelIndex, acronyms, label_order, normalize
from server.store.layered_index import LayeredIndex, layered

WORDS = ("back", "pain", "pains", "nerve", "block", "blocks", "epidural", "injection", "of", "the")
KINDS = ("Symptom", "Therapy", "Condition")

labels = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)


@st.composite
def records(draw: Any, id: str) -> Entity:
    label = LangText("en", draw(labels).capitalize())
    alts = tuple(LangText("en", t) for t in draw(st.lists(labels, max_size=2)))
    if draw(st.booleans()):
        return Fact(
            id=id,
            iri=f"https://example.org/{id}",
            kind="Proportion",
            labels=(label,),
            quote=draw(labels) + " in the clinic",
            claim=draw(st.none() | labels),
        )
    return Entity(
        id=id,
        iri=f"https://example.org/{id}",
        kind=draw(st.sampled_from(KINDS)),
        labels=(label,),
        alt_labels=alts,
    )


@st.composite
def changes(draw: Any, ids: list[str], new: str) -> dict[str, Entity | None]:
    """Some ids removed (None) or given another record, and a few new ones."""
    found: dict[str, Entity | None] = {}
    for id in draw(st.lists(st.sampled_from(ids), max_size=6, unique=True)) if ids else []:
        found[id] = draw(st.none() | records(id))
    for i in range(draw(st.integers(0, 3))):
        found[f"{new}{i}"] = draw(records(f"{new}{i}"))
    return found


def queries(entities: list[Entity]) -> set[str]:
    found = {"pain", "pa", "nerve blocks", "epidural injections", "clinic", "in the", "bp"}
    for e in entities:
        for t in (*e.labels, *e.alt_labels):
            words = normalize(t.text).split()
            found.update((*words, words[0][:2], " ".join(words), *acronyms(words)))
    return found


def hits(index: LabelIndex, text: str, kinds: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    return [astuple(h) for h in index.search(text, kinds)]


def assert_same(layer: LabelIndex, fresh: LabelIndex, entities: list[Entity]) -> None:
    for text in sorted(queries(entities)):
        expected = hits(fresh, text)
        assert hits(layer, text) == expected, text
        assert [astuple(h) for h in layer.search(text)[2:5]] == expected[2:5], text
        for kinds in [(k,) for k in (*KINDS, "Proportion")] + [KINDS[:2]]:
            assert hits(layer, text, kinds) == hits(fresh, text, kinds), (text, kinds)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), count=st.integers(1, 25))
def test_a_layered_index_searches_as_a_fresh_one(data: Any, count: int) -> None:
    current = {f"e{i}": data.draw(records(f"e{i}")) for i in range(count)}
    ordered = sorted(current.values(), key=label_order)
    index: LabelIndex = LabelIndex(ordered)
    for round in ("a", "b"):
        changed = data.draw(changes(sorted(current), round))
        previously = {id: current[id] for id in changed if id in current}
        for id, e in changed.items():
            if e is None:
                current.pop(id, None)
            else:
                current[id] = e
        before, ordered = ordered, sorted(current.values(), key=label_order)
        index = layered(index, before, changed, previously, ordered, max_share=100.0)
        assert isinstance(index, LayeredIndex)
        assert index.entity_count == len(ordered)
        assert_same(index, LabelIndex(ordered), ordered)


def test_past_the_bound_the_index_is_built_again() -> None:
    entities = [
        Entity(id=f"e{i}", iri=f"x:{i}", kind="Symptom", labels=(LangText("en", f"Pain {i}"),))
        for i in range(20)
    ]
    ordered = sorted(entities, key=label_order)
    index = LabelIndex(ordered)
    one = {"e1": replace(entities[1], labels=(LangText("en", "Back pain"),))}
    now = sorted([one["e1"], *entities[:1], *entities[2:]], key=label_order)
    small = layered(index, ordered, one, {"e1": entities[1]}, now, max_share=0.1)
    assert isinstance(small, LayeredIndex)
    assert hits(small, "pain") == hits(LabelIndex(now), "pain")
    assert type(layered(index, ordered, one, {}, now, max_share=0.01)) is LabelIndex
