"""schema.org JSON-LD for a condition as one page says it: a MedicalWebPage about the condition.

Built from the store's records and its registry, never from RDF graphs, so it costs lookups in
memory and no file is read in a request. Only schema.org terms, each on a type within its
domainIncludes and with values within its rangeIncludes (tests/test_schemaorg.py checks against a
vocabulary fixture). Nothing is mapped by hand: a node's types are its kind's `schema_types` (the
nearest schema.org classes above its ckg class), and the condition's properties are the
`schema_property` of the registry's relations whose domain is ckg:Condition, in the registry's
order; a new kind or relation aligned in the ontology needs no code.

What the markup of page P about condition C contains (decided for issue 9):

- the relations of C whose evidence (a ckg:Assertion) derives from P; a relation the ontology lets
  go without evidence, and that has none, counts when C itself derives from P;
- P's citations: the works cited (ckg:citedSource) by facts derived from P, and the definitions of
  C quoted on P;
- names are preferred labels; `alternateName` (and a drug's `proprietaryName`) only for the
  synonyms that appear in P's local text copy (case-insensitive, whitespace-normalized), so a
  synonym another page adds to a shared entity never shows up in P's markup;
- external codes stay: they are curator assertions, on no page;
- `url` is P's schema:url when the data has it.

Which page: the one asked for (an error if it does not speak of C), else C's only page; when C
has several pages and none is asked for, the error lists them (never an arbitrary pick).

One choice keeps the markup range-correct: schema:possibleTreatment expects a MedicalTherapy, Drug
or DrugClass, but a surgical procedure a page offers as a treatment stays a procedure in the graph.
Such a value is typed ["MedicalTherapy", "SurgicalProcedure"]: both are true of it, and
MedicalTherapy is what the property ranges over (`ALSO_TYPED`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from server.model.records import (
    Condition,
    Definition,
    Entity,
    ExternalCode,
    Fact,
    LangText,
    Source,
    Treatment,
)
from server.model.registry import Relation
from server.store.protocol import Store, normalize_text

SCHEMA_CONTEXT = "https://schema.org"
PAGE_KIND = "WebPage"
# A ckg:Definition quoted on a page is a work by its authority; the ontology gives the class no
# schema.org superclass (it is a prov:Entity), and CreativeWork is what `citation` ranges over.
DEFINITION_TYPE = "CreativeWork"
# (schema.org property, ckg kind) -> the schema.org type a value of that kind also gets there,
# because the property's range needs it (see the module docstring).
ALSO_TYPED: dict[tuple[str, str], str] = {
    ("possibleTreatment", "SurgicalProcedure"): "MedicalTherapy",
}


class MarkupError(LookupError):
    """Why no markup can be made; `code` is stable (GraphQL extensions.code, CLI messages)."""

    code = "SCHEMA_ORG"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotACondition(MarkupError):
    """The id is not a condition's."""

    code = "NOT_A_CONDITION"


class PageNotAbout(MarkupError):
    """The page asked for does not speak of the condition (or is not a page)."""

    code = "PAGE_NOT_ABOUT_CONDITION"


class PageRequired(MarkupError):
    """The condition has several pages (or none) and no page was asked for."""

    code = "PAGE_REQUIRED"

    def __init__(self, message: str, pages: Sequence[str]) -> None:
        super().__init__(message)
        self.pages = tuple(pages)


def condition_markup(
    store: Store, condition_id: str, page_id: str | None = None, language: str = "en"
) -> dict[str, Any]:
    """The MedicalWebPage `page_id` (by default the condition's only page) about the condition,
    holding only what that page says. Raises a MarkupError when there is no such markup."""
    condition = store.entity(condition_id)
    if not isinstance(condition, Condition):
        known = ", ".join(c.id for c in conditions(store)) or "(none)"
        raise NotACondition(f"{condition_id!r} is not a condition id; known: {known}")
    page = _choose_page(store, condition, page_id)
    return _Writer(store, page, language).document(condition)


def conditions(store: Store) -> list[Entity]:
    """Every condition of the store, sorted by id."""
    under = store.registry.kinds_under(["Condition"])
    return sorted(store.entities(tuple(sorted(under))), key=lambda e: e.id)


def pages_about(store: Store, condition: Condition) -> list[Source]:
    """The pages that speak of the condition (the store's page index), sorted by id."""
    found = (store.entity(i) for i in sorted(store.pages_of(condition.id)))
    return [s for s in found if isinstance(s, Source) and s.is_a(PAGE_KIND)]


def _choose_page(store: Store, condition: Condition, page_id: str | None) -> Source:
    pages = pages_about(store, condition)
    listed = ", ".join(p.id for p in pages) or "(none)"
    if page_id is not None:
        found = store.entity(page_id)
        for page in pages:
            if found is not None and page.id == found.id:
                return page
        raise PageNotAbout(
            f"{page_id!r} is not a page that speaks of {condition.id!r}; its pages: {listed}"
        )
    if len(pages) == 1:
        return pages[0]
    if not pages:
        raise PageRequired(f"no page speaks of {condition.id!r}, so no page markup exists", ())
    raise PageRequired(
        f"{condition.id!r} is on several pages; name one ({listed})", [p.id for p in pages]
    )


def _condition_relations(store: Store) -> list[Relation]:
    # The registry's order (RELATION_ORDER first): the order a reader of the markup expects.
    return [
        r
        for r in store.registry.ordered_relations()
        if r.schema_property and r.domain is not None and _is_condition_kind(store, r.domain)
    ]


def _is_condition_kind(store: Store, name: str) -> bool:
    kind = store.registry.kind(name)
    return kind is not None and kind.is_a("Condition")


def _definitions(store: Store, condition: Condition) -> list[Definition]:
    found = (store.definition(d) for d in condition.authoritative_definitions)
    return [d for d in found if d is not None]


class _Writer:
    """Builds the JSON-LD nodes of one page; values are sorted by name so the output is stable."""

    def __init__(self, store: Store, page: Source, language: str) -> None:
        self.store, self.page, self.language = store, page, language
        self.text = (store.page_text(page.id) or "").casefold()
        # Codes and definitions are records without an IRI; they live in the entities' namespace.
        self.namespace = page.iri[: len(page.iri) - len(page.id)]

    def document(self, condition: Condition) -> dict[str, Any]:
        page = self.page
        document: dict[str, Any] = {
            "@context": SCHEMA_CONTEXT,
            "@type": "MedicalWebPage",
            "@id": page.iri,
        }
        _add(document, "name", page.label(self.language))
        _add(document, "description", page.definition(self.language))
        _add(document, "url", page.url)
        document["inLanguage"] = self.language
        document["about"] = self.condition(condition)
        publisher = self.store.entity(page.publisher) if page.publisher else None
        if publisher is not None:
            document["publisher"] = self.publisher(publisher)
        citations = self.citations(condition)
        if citations:
            document["citation"] = citations
        return document

    def condition(self, condition: Condition) -> dict[str, Any]:
        node = self.entity(condition)
        by_property: dict[str, list[dict[str, Any]]] = {}
        for relation in _condition_relations(self.store):
            name = relation.schema_property
            assert name is not None  # _condition_relations keeps aligned relations only
            for target in self.said(condition, relation.name):
                item = self.entity(target, name)
                # A value with no schema.org type cannot be checked against the property's
                # range, so it is left out rather than published untyped.
                if "@type" in item:
                    by_property.setdefault(name, []).append(item)
        for name, items in by_property.items():
            node[name] = _sorted_items(items)
        return node

    def said(self, subject: Entity, predicate: str) -> list[Entity]:
        """The entities `subject` links to through `predicate` on this page."""
        found = []
        for target in subject.linked(predicate):
            evidence = self.store.evidence(subject.id, predicate, target)
            if evidence:
                on_page = any(self.page.id in e.sources for e in evidence)
            else:
                on_page = self.page.id in subject.sources
            entity = self.store.entity(target)
            if on_page and entity is not None:
                found.append(entity)
        return found

    def entity(self, entity: Entity, as_value_of: str | None = None) -> dict[str, Any]:
        """A medical entity: type, id, names, description, codes (and drug class, brand names)."""
        node = self.thing(entity, as_value_of)
        brands = entity.brand_names if isinstance(entity, Treatment) else ()
        synonyms = [t for t in entity.alt_labels if t not in brands]
        _add_many(node, "alternateName", self.on_page(synonyms))
        _add(node, "description", entity.definition(self.language))
        if "Drug" in _types(node):
            _add_many(node, "proprietaryName", self.on_page(brands))
            classes = [self.thing(c) for c in self.said(entity, "drugClass")]
            if classes:
                node["drugClass"] = _one_or_many(_sorted_items(classes))
        found = (self.store.code(c) for c in entity.codes)
        codes = [self.code(c) for c in found if c is not None]
        if codes:
            node["code"] = _sorted_items(codes)
        return node

    def thing(self, entity: Entity, as_value_of: str | None = None) -> dict[str, Any]:
        node: dict[str, Any] = {}
        kind = self.store.registry.kind(entity.kind)
        types = set(kind.schema_types) if kind is not None else set()
        if as_value_of is not None:
            types.update(
                extra
                for (prop, name), extra in ALSO_TYPED.items()
                if prop == as_value_of and entity.is_a(name)
            )
        if types:
            node["@type"] = _one_or_many(sorted(types))
        node["@id"] = entity.iri
        _add(node, "name", entity.label(self.language))
        return node

    def on_page(self, texts: Iterable[LangText]) -> list[str]:
        """The texts in this language that the page's text contains."""
        return sorted(
            {
                t.text
                for t in texts
                if t.lang in (self.language, "") and normalize_text(t.text).casefold() in self.text
            }
        )

    def code(self, code: ExternalCode) -> dict[str, Any]:
        node: dict[str, Any] = {"@type": "MedicalCode", "@id": self.namespace + code.id}
        _add(node, "name", code.label)
        _add(node, "codeValue", code.value)
        _add(node, "codingSystem", code.system)
        return node

    def publisher(self, publisher: Entity) -> dict[str, Any]:
        node = self.thing(publisher)
        services = [self.thing(s) for s in self.said(publisher, "availableService")]
        typed = [s for s in services if "@type" in s]
        if typed:
            node["availableService"] = _sorted_items(typed)
        return node

    def citations(self, condition: Condition) -> list[dict[str, Any]]:
        """What the page cites: the works its facts name, and the definitions it quotes."""
        cited: dict[str, dict[str, Any]] = {}
        for fact in self.store.facts(page=self.page.id):
            for work in _entities(self.store, fact):
                cited[work.iri] = self.thing(work)
        for definition in _definitions(self.store, condition):
            if self.page.id in definition.sources:
                node = self.definition(definition)
                cited[node["@id"]] = node
        return _sorted_items(cited.values())

    def definition(self, definition: Definition) -> dict[str, Any]:
        node: dict[str, Any] = {"@type": DEFINITION_TYPE, "@id": self.namespace + definition.id}
        _add(node, "text", definition.text)
        author = self.store.entity(definition.authority) if definition.authority else None
        if author is not None:
            node["author"] = self.thing(author)
        return node


def _entities(store: Store, fact: Fact) -> list[Entity]:
    found = (store.entity(i) for i in fact.cited_sources)
    return [e for e in found if e is not None]


def _types(node: dict[str, Any]) -> list[str]:
    value = node.get("@type", [])
    return [value] if isinstance(value, str) else list(value)


def _add(node: dict[str, Any], key: str, value: str | None) -> None:
    if value:
        node[key] = value


def _add_many(node: dict[str, Any], key: str, values: list[str]) -> None:
    if values:
        node[key] = _one_or_many(values)


def _sorted_items(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda n: (str(n.get("name", "")).casefold(), str(n.get("@id"))))


def _one_or_many(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values
