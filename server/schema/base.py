"""What every GraphQL type builds on: request context, Node interface, concepts and codes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import strawberry

from server.model import records
from server.model.registry import BROADER
from server.settings import Settings
from server.store.protocol import StoreHolder

if TYPE_CHECKING:
    from server.schema.fact_types import Fact
    from server.schema.pages import Page
    from server.store.protocol import Store

PAGE_ARG = strawberry.argument(
    description='Only what this clinic page states (a page id, e.g. "clinic-page").'
)
LANG = strawberry.argument(
    description='BCP 47 language tag; falls back to English, then to any language. Default "en".'
)


_F = TypeVar("_F", bound=Callable[..., Any])


def field(description: str, **options: Any) -> Callable[[_F], _F]:
    """`strawberry.field` as a typed decorator (mypy sees strawberry's own as untyped)."""
    return cast(Callable[[_F], _F], strawberry.field(description=description, **options))


@dataclass(frozen=True)
class Context:
    """What resolvers may read: one store (fixed for the whole request) and the settings."""

    store: Store
    settings: Settings
    holder: StoreHolder
    request_id: str
    # time.monotonic() after which execution stops (server.schema.execution); None: no deadline
    deadline: float | None = None
    usage: Usage = dataclass_field(default_factory=lambda: Usage())

    def record_cost(
        self, cost: int, operation_type: str | None = None, operation_name: str | None = None
    ) -> None:
        """Called by the cost limiter before execution (server.schema.cost)."""
        self.usage.cost = cost
        self.usage.operation_type = operation_type
        self.usage.operation_name = operation_name


class NotHere(Exception):
    """Raised by a context's `record_cost` to stop an execution before any resolver runs: it
    costs more than may run where it was started (its caller runs it elsewhere)."""


@dataclass
class Usage:
    """What one request used, for logs and metrics: its cost and the operation it ran (None
    until computed)."""

    cost: int | None = None
    operation_type: str | None = None  # query, mutation, subscription
    operation_name: str | None = None


Info = strawberry.Info[Context, None]


def store_of(info: Info) -> Store:
    return info.context.store


# -- Node wrappers: every kind of entity maps to exactly one GraphQL object type, the one
# registered for its own ontology class or the nearest class above it (server/model/registry.py).

_N = TypeVar("_N", bound="Node")
_BY_CLASS: dict[str, type[Node]] = {}


class UnknownKind(LookupError):
    """No GraphQL type covers the entity's class or any class above it (a bug, not bad input:
    validation refuses ontology classes outside the registry's families)."""


def register(*classes: str) -> Callable[[type[_N]], type[_N]]:
    """Record that this GraphQL type wraps entities of these ontology classes (local names in
    ckg:) and of every class below them that has no type of its own."""

    def add(cls: type[_N]) -> type[_N]:
        for name in classes:
            _BY_CLASS[name] = cls
        return cls

    return add


def registered_types() -> tuple[type[Node], ...]:
    """Every GraphQL type registered for an ontology class, in registration order."""
    return tuple(dict.fromkeys(_BY_CLASS.values()))


def graphql_type(lineage: tuple[str, ...]) -> type[Node] | None:
    """The GraphQL type for an entity whose class and ancestors are `lineage`, nearest first."""
    for name in lineage:
        found = _BY_CLASS.get(name)
        if found is not None:
            return found
    return None


def wrap(entity: records.Entity) -> Node:
    """The GraphQL object for an entity, chosen by its class."""
    cls = graphql_type(entity.lineage)
    if cls is None:
        raise UnknownKind(f"no GraphQL type for {entity.kind} (classes {entity.lineage})")
    return cls(record=entity)


def wrap_all(entities: list[records.Entity | None]) -> list[Node]:
    return [wrap(e) for e in entities if e is not None]


@strawberry.type(
    description="A term of a controlled vocabulary (SKOS concept): a measure, unit, "
    "qualifier, treatment category or cause role."
)
class Concept:
    record: strawberry.Private[records.Concept]

    @field('Stable id, the last segment of the IRI ("success-rate").')
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.id)

    @field("The concept's IRI.")
    def iri(self) -> str:
        return self.record.iri

    @field('The concept scheme it belongs to ("Measures", "Units", ...).')
    def scheme(self) -> str:
        return self.record.scheme

    @field("Preferred label in the requested language.")
    def label(self, lang: Annotated[str, LANG] = "en") -> str:
        return self.record.label(lang)

    @field('Short notation, for units ("%", "per year").')
    def notation(self) -> str | None:
        return self.record.notation

    @field("What the concept means.")
    def definition(self) -> str | None:
        return self.record.definition


def concept(store: Store, id: str | None) -> Concept | None:
    found = store.concept(id) if id else None
    return Concept(record=found) if found else None


@strawberry.type(
    description="A code for the entity in an external terminology (ICD-10-CM, SNOMED "
    "CT, MeSH, HPO, ATC, ...). A curator assertion: no source page gives it."
)
class ExternalCode:
    record: strawberry.Private[records.ExternalCode]

    @field('The terminology ("ICD-10-CM", "MeSH", ...).')
    def system(self) -> str:
        return self.record.system

    @field('The code itself ("M96.1").')
    def code(self) -> str:
        return self.record.value

    @field("The terminology's own label for the code.")
    def label(self) -> str:
        return self.record.label

    @field('How closely it matches: "exactMatch" or "closeMatch" (SKOS).')
    def mapping_relation(self) -> str:
        return self.record.mapping_relation

    @field("The published terminology file or value set it was verified in.")
    def found_in(self) -> str:
        return self.record.found_in

    @field("Always true: codes are added by curators, not read from sources.")
    def curator_assertion(self) -> bool:
        return True

    @field("The curator the code is attributed to.")
    def attributed_to(self, info: Info) -> Source | None:
        found = sources_of(store_of(info), (self.record.attributed_to or "",))
        return found[0] if found else None


@strawberry.interface(
    description="Anything with a stable id: medical entities, the clinic, sources "
    "and facts. Look any of them up with `node(id)`."
)
class Node:
    record: strawberry.Private[records.Entity]

    @field('Stable id, the slug of the IRI ("failed-back-surgery-syndrome").')
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.id)

    @field("The full IRI in the knowledge graph.")
    def iri(self) -> str:
        return self.record.iri

    @field("Preferred label in the requested language (typos corrected).")
    def label(self, lang: Annotated[str, LANG] = "en") -> str:
        return self.record.label(lang)

    @field("Synonyms and brand names in the requested language.")
    def alt_labels(self, lang: Annotated[str, LANG] = "en") -> list[str]:
        return list(self.record.alt(lang))

    @field("A short definition in the requested language, when there is one.")
    def definition(self, lang: Annotated[str, LANG] = "en") -> str | None:
        return self.record.definition(lang)

    @field("Codes in external terminologies, added by curators.")
    def external_codes(self, info: Info) -> list[ExternalCode]:
        store = store_of(info)
        found = (store.code(c) for c in self.record.codes)
        return [ExternalCode(record=c) for c in found if c is not None]

    @field("Where this entity was read (prov:wasDerivedFrom).")
    def sources(self, info: Info) -> list[Source]:
        return sources_of(store_of(info), self.record.sources)

    @field(
        "Statistics and claims about this entity, directly or about one of its relations; "
        "with `related`, also about anything it links to (a condition's symptoms, causes, "
        "treatments, ...). For a page, the facts read from it. Top-level `facts` filters "
        "further (by page, source, kind, measure) and paginates."
    )
    def facts(
        self,
        info: Info,
        related: Annotated[
            bool,
            strawberry.argument(
                description="Also facts about the entities this one links to (default false)."
            ),
        ] = False,
    ) -> list[Annotated[Fact, strawberry.lazy("server.schema.fact_types")]]:
        # wrap() picks the registered fact type; no import of fact_types, which builds on this.
        found = store_of(info).facts(about=self.record.id, related=related)
        return [cast("Fact", wrap(f)) for f in found]

    @field("More general entities (skos:broader): a general condition above a specific form.")
    def broader(self, info: Info) -> list[Node]:
        store = store_of(info)
        return wrap_all([store.entity(i) for i in self.record.broader])

    @field("More specific entities: those that name this one as broader.")
    def narrower(self, info: Info) -> list[Node]:
        store = store_of(info)
        ids = [s for s, p in store.referrers(self.record.id) if p == BROADER]
        return wrap_all([store.entity(i) for i in ids])

    @field("The clinic pages that speak of this entity: its relations, facts or description.")
    def pages(self, info: Info) -> list[Annotated[Page, strawberry.lazy("server.schema.pages")]]:
        store = store_of(info)
        found = (store.entity(i) for i in store.pages_of(self.record.id))
        return [cast("Page", wrap(p)) for p in found if p is not None]


@strawberry.interface(
    description="A work or body statements come from or cite: a clinic page (`Page`), a "
    "journal it cites (`Periodical`), the organization behind a definition (`Organization`), "
    "or the curators (`Curator`)."
)
class Source(Node):
    @field('The ontology class: "WebPage", "Periodical", "Organization" or "Curator".')
    def source_type(self) -> str:
        return self.record.kind

    @field("The clinic that publishes a web page.")
    def publisher(self, info: Info) -> Node | None:
        publisher = getattr(self.record, "publisher", None)
        found = store_of(info).entity(publisher) if publisher else None
        return wrap(found) if found else None

    @field("Path, relative to kg/, of the plain-text copy quotes are checked against.")
    def local_copy(self) -> str | None:
        return getattr(self.record, "local_copy", None)

    @field("Where the source is published, when the data gives it (schema:url).")
    def url(self) -> str | None:
        return getattr(self.record, "url", None)


@register("Periodical", "Source")
@strawberry.type(description="A journal or other work a page cites (e.g. Pain Medicine).")
class Periodical(Source):
    pass


@register("Organization")
@strawberry.type(description="An organization a page quotes, such as the author of a definition.")
class Organization(Source):
    pass


@register("Curator")
@strawberry.type(
    description="The data stewards of the graph; their additions (external codes) are in no page."
)
class Curator(Source):
    pass


def sources_of(store: Store, ids: Iterable[str]) -> list[Source]:
    found = (store.entity(i) for i in ids)
    return [cast(Source, wrap(s)) for s in found if isinstance(s, records.Source)]


@strawberry.type(description="The evidence for one relation: the verbatim quote and its source.")
class Evidence:
    record: strawberry.Private[records.Relation]

    @field("Id of the assertion (ckg:Assertion) that records this evidence.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.id)

    @field("The source's words, verbatim (typos included).")
    def quote(self) -> str:
        return self.record.quote

    @field("Where the quote was read.")
    def sources(self, info: Info) -> list[Source]:
        return sources_of(store_of(info), self.record.sources)
