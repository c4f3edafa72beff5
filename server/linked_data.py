"""Linked data for `GET /id/{id}`: safe ids, content negotiation, an entity's description.

Pure functions over a graph: no web framework here. `resolve()` answers one request as a
LinkedDataResponse (status, media type, body, headers) that any app wraps in its own response.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF, RDFS, SKOS
from rdflib.term import Node

from .entity_page import render_error_html, render_html
from .export import FORMATS, MEDIA_TYPES, new_graph, serialize
from .namespaces import CKG

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
_LABELS = (SKOS.prefLabel, RDFS.label)


def id_namespace(base_iri: str) -> str:
    """`https://clinic-kg.example/` -> `https://clinic-kg.example/id/` (where entity IRIs live)."""
    return base_iri.rstrip("/") + "/id/"


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


def describe(data: Graph, iri: URIRef, vocab: Graph | None = None) -> Graph:
    """What a client needs to show one entity, as one graph.

    The entity's own triples (with the blank nodes under them), the triples that point at it, the
    evidence for its relations (assertions, the facts about it or about those assertions), its
    external codes and authoritative definitions, and the labels of every node and property these
    mention (from `data`, then `vocab`, the ontology, for classes, concepts and properties).
    """
    out = new_graph()
    _closure(data, iri, out)
    for subject, predicate in data.subject_predicates(iri):
        out.add((subject, predicate, iri))
    assertions = {
        a
        for link in (RDF.subject, RDF.object)
        for a in data.subjects(link, iri)
        if (a, RDF.type, CKG.Assertion) in data
    }
    for node in sorted(assertions, key=str):
        _closure(data, node, out)
    for about in [iri, *sorted(assertions, key=str)]:
        for fact in data.subjects(CKG.about, about):
            _closure(data, fact, out)
    for link in (CKG.code, CKG.hasDefinition):
        for node in data.objects(iri, link):
            _closure(data, node, out)
    _add_labels(out, [data] if vocab is None else [data, vocab])
    return out


@dataclass(frozen=True)
class LinkedDataResponse:
    """One answer to `GET /id/{id}`; the app copies it into its own response object."""

    status: int
    media_type: str
    body: str
    headers: tuple[tuple[str, str], ...] = ()


def resolve(
    data: Graph,
    vocab: Graph,
    raw_id: str,
    accept: str | None,
    *,
    base_iri: str,
    id_path: str = "/id/",
    version: str = "",
) -> LinkedDataResponse:
    """Answer `GET {id_path}{raw_id}`: 400 bad id, 406 unsupported Accept, 404 unknown, or 200.

    With a `version`, a 200 carries an ETag for that version and representation: the same URL has
    four representations (Vary: Accept), so a version alone would not tell them apart.
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
    iri = URIRef(id_namespace(base_iri) + slug)
    if (iri, None, None) not in data:
        message = f"no entity has the id {slug!r}"
        return _error(404, "Not found", message, media_type, vary)
    described = describe(data, iri, vocab)
    if media_type == HTML:
        body = render_html(
            described, iri, id_namespace=id_namespace(base_iri), id_path=id_path, version=version
        )
    else:
        body = serialize(described, _FORMAT_OF[media_type])
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


def _closure(data: Graph, node: Node, out: Graph) -> None:
    """`node`'s triples, and those of the blank nodes below it (each visited once)."""
    pending, seen = [node], {node}
    while pending:
        current = pending.pop()
        for predicate, obj in data.predicate_objects(current):
            out.add((current, predicate, obj))
            if isinstance(obj, BNode) and obj not in seen:
                seen.add(obj)
                pending.append(obj)


def _add_labels(out: Graph, sources: Iterable[Graph]) -> None:
    mentioned = {n for triple in out for n in triple if isinstance(n, URIRef)}
    labelled = {s for s, p, _ in out if p in _LABELS}
    for graph in sources:
        for node in sorted(mentioned - labelled, key=str):
            for prop in _LABELS:
                for label in graph.objects(node, prop):
                    out.add((node, prop, label))
                    labelled.add(node)


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
