"""A second implementation of `server.store.protocol.Store`, from records alone: no rdflib, no
snapshot.

It proves the seam: whatever renders content (schema.org, the HTML page, linked data) must work
against any store that hands out the protocol's records. Lookups are linear scans; it is for tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache

from server.load.loader import load
from server.model.description import Description
from server.model.records import (
    Concept,
    Definition,
    Entity,
    ExternalCode,
    Fact,
    Relation,
    SearchHit,
)
from server.model.registry import BROADER, Registry, read_registry

from .conftest import REPO


@lru_cache(maxsize=1)
def repo_registry() -> Registry:
    """The registry of the repository's ontology/."""
    loaded = load(REPO)
    registry, _ = read_registry(t for f in loaded.files if f.kind == "ontology" for t in f.triples)
    return registry


class FakeStore:
    """Answers every Store call from the records it was given."""

    def __init__(
        self,
        *,
        entities: Iterable[Entity] = (),
        relations: Iterable[Relation] = (),
        concepts: Iterable[Concept] = (),
        codes: Iterable[ExternalCode] = (),
        definitions: Iterable[Definition] = (),
        descriptions: Iterable[Description] = (),
        page_texts: Mapping[str, str] | None = None,
        registry: Registry | None = None,
        version: str = "fake-version",
    ) -> None:
        self._entities = {e.id: e for e in entities}
        self._relations = {r.id: r for r in relations}
        self._concepts = {c.id: c for c in concepts}
        self._codes = {c.id: c for c in codes}
        self._definitions = {d.id: d for d in definitions}
        self._descriptions = {d.iri: d for d in descriptions}
        self._page_texts = dict(page_texts or {})
        self._registry = registry or repo_registry()
        self._version = version

    @property
    def version(self) -> str:
        return self._version

    @property
    def triple_count(self) -> int:
        return sum(len(d.triples) for d in self._descriptions.values())

    @property
    def loaded_at(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)

    @property
    def registry(self) -> Registry:
        return self._registry

    def describe(self, iri: str) -> Description | None:
        return self._descriptions.get(iri)

    def page_text(self, id: str) -> str | None:
        return self._page_texts.get(id)

    def entity(self, id_or_iri: str) -> Entity | None:
        found = self._entities.get(id_or_iri)
        return found or next((e for e in self._entities.values() if e.iri == id_or_iri), None)

    def entities(self, kinds: Sequence[str] = ()) -> Sequence[Entity]:
        found = [e for e in self._entities.values() if not kinds or e.kind in kinds]
        return sorted(found, key=lambda e: (e.label().casefold(), e.id))

    def search(self, text: str, kinds: Sequence[str] = ()) -> Sequence[SearchHit]:
        wanted = text.casefold()
        return [
            SearchHit(e.id, 1.0, e.label())
            for e in self.entities(kinds)
            if wanted in e.label().casefold()
        ]

    def facts(
        self,
        about: str | None = None,
        measure: str | None = None,
        *,
        related: bool = False,
        page: str | None = None,
        source: str | None = None,
        kind: str | None = None,
    ) -> Sequence[Fact]:
        found = [e for e in self.entities() if isinstance(e, Fact)]
        if about is not None:
            targets = {about}
            entity = self.entity(about)
            if related and entity is not None:
                targets.update(i for _, ids in entity.links for i in ids)
            found = [
                f for f in found
                if targets & set(f.about) or any(self._about_relation(f, t) for t in targets)
            ]  # fmt: skip
        if page is not None:
            found = [f for f in found if page in f.sources]
        if source is not None:
            found = [f for f in found if source in (*f.sources, *f.cited_sources)]
        if kind is not None:
            found = [f for f in found if f.is_a(kind)]
        if measure is not None:
            found = [f for f in found if f.measure == measure]
        return found

    def pages_of(self, id: str) -> Sequence[str]:
        return [p for p in self._pages() if id in self.page_entities(p)]

    def page_entities(self, page: str) -> Sequence[str]:
        said = {i for r in self.relations_from(page) for i in (r.subject, r.object)}
        said.update(i for f in self.facts(page=page) for i in f.about)
        said.update(e.id for e in self._entities.values() if page in e.sources)
        return [
            e.id for e in self.entities() if e.id in said and e.id != page
            and not isinstance(e, Fact)
        ]  # fmt: skip

    def relations_from(self, source: str) -> Sequence[Relation]:
        return sorted(
            (r for r in self._relations.values() if source in r.sources), key=lambda r: r.id
        )

    def _pages(self) -> list[str]:
        return [e.id for e in self.entities() if e.is_a("WebPage")]

    def _about_relation(self, fact: Fact, id: str) -> bool:
        relations = (self._relations.get(r) for r in fact.about_relations)
        return any(r is not None and id in (r.id, r.subject, r.object) for r in relations)

    def relation(self, id_or_iri: str) -> Relation | None:
        found = self._relations.get(id_or_iri)
        return found or next((r for r in self._relations.values() if r.iri == id_or_iri), None)

    def evidence(self, subject: str, predicate: str, obj: str) -> Sequence[Relation]:
        return [
            r
            for r in self._relations.values()
            if (r.subject, r.predicate, r.object) == (subject, predicate, obj)
        ]

    def referrers(self, id: str) -> Sequence[tuple[str, str]]:
        found = []
        for e in self._entities.values():
            for predicate, targets in (*e.links, (BROADER, e.broader)):
                if id in targets:
                    found.append((e.id, predicate))
        return found

    def concept(self, id_or_iri: str) -> Concept | None:
        found = self._concepts.get(id_or_iri)
        return found or next((c for c in self._concepts.values() if c.iri == id_or_iri), None)

    def concepts(self, scheme: str) -> Sequence[Concept]:
        return sorted((c for c in self._concepts.values() if c.scheme == scheme), key=Concept.label)

    def schemes(self) -> Sequence[str]:
        return sorted({c.scheme for c in self._concepts.values()})

    def code(self, id: str) -> ExternalCode | None:
        return self._codes.get(id)

    def definition(self, id: str) -> Definition | None:
        return self._definitions.get(id)
