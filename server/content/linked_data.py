"""Linked data for `GET /id/{id}`: safe ids, content negotiation, an entity's description.

Pure functions over a Store: no web framework here. `resolve()` answers one request as a
LinkedDataResponse (status, media type, body, headers) that any app wraps in its own response.
The store hands out a `Description` (plain records); the RDF representations are serialized from
it here, the HTML page is rendered by server.content.entity_page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from server.content.entity_page import render_error_html, render_html
from server.content.export import FORMATS, MEDIA_TYPES, new_graph, serialize
from server.model.description import BlankTerm, Description, IriTerm, Term
from server.rdf.namespaces import id_namespace
from server.store.protocol import Store

HTML = "text/html"
TURTLE, JSONLD, NTRIPLES = MEDIA_TYPES["turtle"], MEDIA_TYPES["jsonld"], MEDIA_TYPES["ntriples"]
# Server preference when the client accepts several equally (`*/*`, `text/*`): people first, since
# a browser that sends an explicit Accept always lists text/html.
SUPPORTED: tuple[str, ...] = (HTML, TURTLE, JSONLD, NTRIPLES)
_FORMAT_OF = {MEDIA_TYPES[f]: f for f in FORMATS}

MAX_ID_LENGTH = 200
# An id is one path segment of IRI-unreserved ASCII; anything else (`/`, `\`, `%`, spaces,
# control characters, non-ASCII) cannot be one of ours, so it is refused before any lookup.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]*")


def safe_id(raw: str) -> str | None:
    """`raw` if it is a plausible entity id, else None (path tricks, encoded slashes, too long)."""
    if not raw or len(raw) > MAX_ID_LENGTH or ".." in raw:
        return None
    return raw if _ID.fullmatch(raw) else None


def negotiate(accept: str | None) -> str | None:
    """The supported media type the client prefers most, or None (answer 406).

    RFC 9110: the most specific matching range gives a type its q-value; q=0 refuses it; ties go
    to the server's order (SUPPORTED). No header, or an empty one, accepts anything.
    """
    ranges = _parse_accept(accept if accept and accept.strip() else "*/*")
    best: tuple[float, int, str] | None = None
    for order, media_type in enumerate(SUPPORTED):
        q = _quality(media_type, ranges)
        if q > 0 and (best is None or (q, -order) > (best[0], best[1])):
            best = (q, -order, media_type)
    return best[2] if best else None


def acceptable(accept: str | None, media_type: str) -> bool:
    """Whether the client accepts `media_type` at all (q > 0), by the same rules as `negotiate`."""
    return _quality(media_type, _parse_accept(accept if accept and accept.strip() else "*/*")) > 0


def description_graph(description: Description) -> Graph:
    """The description as an rdflib graph with the project's prefixes, for serializing."""
    graph = new_graph()
    for s, p, o in description.triples:
        graph.add((_node(s), _node(p), _node(o)))
    return graph


def _node(term: Term) -> Node:
    if isinstance(term, IriTerm):
        return URIRef(term.value)
    if isinstance(term, BlankTerm):
        return BNode(term.id)
    if term.language:
        return Literal(term.lexical, lang=term.language)
    datatype = URIRef(term.datatype) if term.datatype else None
    # normalize=False: the lexical form stays as the steward wrote it ("85" stays "85").
    return Literal(term.lexical, datatype=datatype, normalize=False)


@dataclass(frozen=True)
class LinkedDataResponse:
    """One answer to `GET /id/{id}`; the app copies it into its own response object."""

    status: int
    media_type: str
    body: str
    headers: tuple[tuple[str, str], ...] = ()


def resolve(
    store: Store,
    raw_id: str,
    accept: str | None,
    *,
    base_iri: str,
    id_path: str = "/id/",
    version: str = "",
) -> LinkedDataResponse:
    """Answer `GET {id_path}{raw_id}`: 400 bad id, 406 unsupported Accept, 404 unknown, or 200.

    With a `version`, a 200 carries an ETag for that version and representation: the same URL has
    four representations (Vary: Accept), so a version alone would not tell them apart. The
    first call of a version may build the store's indexes: call it off the event loop.
    """
    media_type = negotiate(accept)
    vary = (("Vary", "Accept"),)
    slug = safe_id(raw_id)
    if slug is None:
        message = (
            "ids are one path segment of letters, digits and - . _ ~ "
            f"(at most {MAX_ID_LENGTH} characters, no '..')"
        )
        return _error(400, "Bad id", message, media_type, vary)
    if media_type is None:
        message = "none of the requested media types is available; supported: " + ", ".join(
            SUPPORTED
        )
        return _error(406, "Not acceptable", message, None, vary)
    described = store.describe(id_namespace(base_iri) + slug)
    if described is None:
        message = f"no entity has the id {slug!r}"
        return _error(404, "Not found", message, media_type, vary)
    if media_type == HTML:
        body = render_html(
            described, store, id_namespace=id_namespace(base_iri), id_path=id_path, version=version
        )
    else:
        body = serialize(description_graph(described), _FORMAT_OF[media_type])
    headers = vary + ((("ETag", entity_etag(version, media_type)),) if version else ())
    return LinkedDataResponse(200, media_type, body, headers)


def entity_etag(version: str, media_type: str) -> str:
    """A strong ETag for one representation of an entity at one dataset version."""
    short = {HTML: "html", TURTLE: "ttl", JSONLD: "jsonld", NTRIPLES: "nt"}[media_type]
    return f'"{version}-{short}"'


def _error(
    status: int,
    title: str,
    message: str,
    media_type: str | None,
    headers: tuple[tuple[str, str], ...],
) -> LinkedDataResponse:
    if media_type == HTML:
        return LinkedDataResponse(status, HTML, render_error_html(status, title, message), headers)
    return LinkedDataResponse(status, "text/plain", f"{status} {title}: {message}\n", headers)


def _parse_accept(header: str) -> list[tuple[str, str, float]]:
    """`text/html;q=0.9, */*;q=0.1` -> [("text", "html", 0.9), ("*", "*", 0.1)]; junk is skipped."""
    ranges = []
    for item in header.split(","):
        parts = [p.strip() for p in item.split(";")]
        kind, _, sub = parts[0].lower().partition("/")
        if not kind or not sub or (kind == "*" and sub != "*"):
            continue
        q = 1.0
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
                break
        if 0.0 <= q <= 1.0:
            ranges.append((kind, sub, q))
    return ranges


def _quality(media_type: str, ranges: list[tuple[str, str, float]]) -> float:
    kind, _, sub = media_type.partition("/")
    best_specificity, q = -1, 0.0
    for range_kind, range_sub, range_q in ranges:
        if range_kind == kind and range_sub == sub:
            specificity = 2
        elif range_kind == kind and range_sub == "*":
            specificity = 1
        elif range_kind == "*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, q = specificity, range_q
    return q
