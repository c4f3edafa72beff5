"""Arguments that name things by id (a page, a source, an entity, a measure, a category): resolved
against a Store, or refused with a stable code, the known values and a did-you-mean from the one
matcher. GraphQL resolvers and the HTTP content routes share them, so both answer alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from server.model import records
from server.rdf.namespaces import closest_curie
from server.store.protocol import Store

# The concept scheme measures belong to (its id: the last segment of ckg:Measures).
MEASURES = "Measures"


class UserInputError(Exception):
    """A problem with the client's arguments; its message is shown to the client as is, with
    `code` and any `extensions` (e.g. `didYouMean`) in the error's extensions."""

    def __init__(self, message: str, code: str = "BAD_USER_INPUT", **extensions: Any) -> None:
        super().__init__(message)
        self.code = code
        self.extensions = extensions


def unknown(what: str, value: str, candidates: Iterable[str], code: str) -> UserInputError:
    """The error for an id that names nothing of the kind an argument expects."""
    options = sorted(set(candidates))
    guess = closest_curie(value, options)
    hint = f'; did you mean "{guess}"?' if guess else ""
    shown = ", ".join(f'"{o}"' for o in options[:12]) + (", …" if len(options) > 12 else "")
    extensions: dict[str, Any] = {"argumentValue": value}
    if guess:
        extensions["didYouMean"] = guess
    return UserInputError(f'unknown {what} "{value}"{hint} (known: {shown})', code, **extensions)


def require_entity(store: Store, id: str, roots: tuple[str, ...], what: str) -> records.Entity:
    """The entity `id` names, which must be of one of the classes `roots` (or below); else a
    coded error (UNKNOWN_ID) naming the kinds of ids the argument takes, with a did-you-mean."""
    found = store.entity(id)
    if found is not None and any(found.is_a(r) for r in roots):
        return found
    if found is not None:
        raise UserInputError(
            f'"{id}" is a {found.kind}, not a {what}', "WRONG_KIND", argumentValue=id
        )
    kinds = sorted(store.registry.kinds_under(roots))
    raise unknown(what, id, [e.id for e in store.entities(kinds)], "UNKNOWN_ID")


def require_page(store: Store, id: str) -> records.Entity:
    """The web page `id` names; else a coded error."""
    return require_entity(store, id, ("WebPage",), "page")


def require_concept(store: Store, id: str, scheme: str, what: str) -> records.Concept:
    """The concept `id` of `scheme`; else a coded error (UNKNOWN_CONCEPT) with the scheme's ids."""
    found = store.concept(id)
    if found is not None and found.scheme == scheme:
        return found
    raise unknown(what, id, [c.id for c in store.concepts(scheme)], "UNKNOWN_CONCEPT")


def find_facts(
    store: Store,
    *,
    about: str | None = None,
    related: bool = False,
    page: str | None = None,
    source: str | None = None,
    kind: str | None = None,
    measure: str | None = None,
) -> Sequence[records.Fact]:
    """The facts matching every filter given; an id that names nothing of the right kind is a
    coded error (with a did-you-mean), never an empty list."""
    if about is not None and store.relation(about) is None:
        about = require_entity(store, about, ("Entity", "Fact", "Source", "Curator"), "entity").id
    if page is not None:
        page = require_page(store, page).id
    if source is not None:
        source = require_entity(store, source, ("Source", "Curator"), "source").id
    if measure is not None:
        measure = require_concept(store, measure, MEASURES, "measure").id
    return store.facts(
        about=about, measure=measure, related=related, page=page, source=source, kind=kind
    )
