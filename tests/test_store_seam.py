"""The Store seam: no rdflib object crosses it, and content renders against any Store."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS

from server.content.linked_data import HTML, TURTLE, resolve
from server.load.loader import load
from server.model.description import Description, IriTerm, LiteralTerm
from server.model.records import Condition, LangText
from server.model.registry import Registry
from server.rdf.namespaces import CKG, KG
from server.store.protocol import Store
from server.store.snapshot import Snapshot, build_snapshot

from .conftest import REPO
from .fake_store import FakeStore

FBSS = "failed-back-surgery-syndrome"

# One call of every member of the protocol, with arguments that find something.
CALLS: dict[str, Callable[[Store], object]] = {
    "version": lambda s: s.version,
    "triple_count": lambda s: s.triple_count,
    "loaded_at": lambda s: s.loaded_at,
    "registry": lambda s: s.registry,
    "describe": lambda s: s.describe(str(KG[FBSS])),
    "page_text": lambda s: s.page_text("clinic-page"),
    "entity": lambda s: s.entity(FBSS),
    "entities": lambda s: s.entities(),
    "search": lambda s: s.search("pain"),
    "facts": lambda s: s.facts(about=FBSS),
    "pages_of": lambda s: s.pages_of(FBSS),
    "page_entities": lambda s: s.page_entities("clinic-page"),
    "relations_from": lambda s: s.relations_from("clinic-page"),
    "schemes": lambda s: s.schemes(),
    "relation": lambda s: s.relation("fbss-cause-epidural-fibrosis"),
    "evidence": lambda s: s.evidence(FBSS, "hasCause", "epidural-fibrosis"),
    "referrers": lambda s: s.referrers("stabbing-pain"),
    "concept": lambda s: s.concept("percent"),
    "concepts": lambda s: s.concepts("Measures"),
    "code": lambda s: s.code("code-icd-10-cm-m96-1"),
    "definition": lambda s: s.definition(f"{FBSS}-iasp-definition"),
}


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return build_snapshot(load(REPO))


def rdflib_objects(value: Any, seen: set[int] | None = None) -> Iterator[str]:
    """A description of every rdflib object reachable from `value`."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if type(value).__module__.split(".")[0] == "rdflib":
        yield f"{type(value).__name__}: {value!r:.80}"
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from rdflib_objects(getattr(value, f.name), seen)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from rdflib_objects(k, seen)
            yield from rdflib_objects(v, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from rdflib_objects(item, seen)
    elif isinstance(value, Registry):
        yield from rdflib_objects(vars(value), seen)


def test_every_member_of_the_protocol_is_checked() -> None:
    members = {name for name in dir(Store) if not name.startswith("_")}
    assert members == set(CALLS)


@pytest.mark.parametrize("member", sorted(CALLS))
def test_no_rdflib_object_crosses_the_store(snap: Snapshot, member: str) -> None:
    result = CALLS[member](snap)
    assert result is not None
    assert result != ()
    assert list(rdflib_objects(result)) == []


def test_the_check_finds_rdflib_objects() -> None:
    assert list(rdflib_objects((1, {"a": [URIRef("https://x.example/")]})))


def a_fake_store() -> FakeStore:
    iri = str(KG.sample)
    description = Description(
        iri,
        (
            (IriTerm(iri), IriTerm(str(SKOS.prefLabel)), LiteralTerm("Sample", language="en")),
            (IriTerm(iri), IriTerm(str(CKG.hasSymptom)), IriTerm(str(KG.other))),
        ),
    )
    condition = Condition(
        id="sample",
        iri=iri,
        kind="Condition",
        lineage=("Condition",),
        labels=(LangText("en", "Sample"),),
        links=(("hasSymptom", ("other",)),),
    )
    return FakeStore(entities=[condition], descriptions=[description])


def test_linked_data_renders_from_any_store() -> None:
    store = a_fake_store()
    base = "https://clinic-kg.example/"
    page = resolve(store, "sample", HTML, base_iri=base)
    assert page.status == 200
    assert "<h1>Sample</h1>" in page.body
    assert 'href="/id/other"' in page.body
    turtle = resolve(store, "sample", TURTLE, base_iri=base)
    graph = Graph().parse(data=turtle.body, format="turtle")
    assert (KG.sample, SKOS.prefLabel, Literal("Sample", lang="en")) in graph
    assert (KG.sample, CKG.hasSymptom, KG.other) in graph
    assert resolve(store, "unknown", HTML, base_iri=base).status == 404
