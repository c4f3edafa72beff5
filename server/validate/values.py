"""What SHACL asks of a value node: its datatype, its node kind, and its order against another
(SPARQL's `<`, over XSD value spaces, date-times with and without a time zone included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from server.rdf.namespaces import (
    RDF_LANG_STRING,
    RDFS_LITERAL,
    XSD_BOOLEAN,
    XSD_DATETIME,
    XSD_STRING,
)

_NUMBER = "number"  # every numeric datatype orders in one value space
_SH_BlankNode: URIRef = SH.BlankNode
_SH_BlankNodeOrIRI: URIRef = SH.BlankNodeOrIRI
_SH_BlankNodeOrLiteral: URIRef = SH.BlankNodeOrLiteral
_SH_IRI: URIRef = SH.IRI
_SH_IRIOrLiteral: URIRef = SH.IRIOrLiteral
_SH_Literal: URIRef = SH.Literal


def has_datatype(v: Node, dt: Node) -> bool:
    if not isinstance(v, Literal):
        return False
    if dt == RDFS_LITERAL:
        return True
    if dt == RDF_LANG_STRING:
        return bool(v.language)
    if v.language:
        return False
    actual = v.datatype or XSD_STRING
    if actual != dt:
        return False
    return getattr(v, "ill_typed", None) is not True


def has_kind(v: Node, kind: Node) -> bool:
    iri, blank, literal = isinstance(v, URIRef), isinstance(v, BNode), isinstance(v, Literal)
    allowed = {
        _SH_IRI: iri,
        _SH_BlankNode: blank,
        _SH_Literal: literal,
        _SH_BlankNodeOrIRI: blank or iri,
        _SH_BlankNodeOrLiteral: blank or literal,
        _SH_IRIOrLiteral: iri or literal,
    }
    return allowed.get(kind, False)  # type: ignore[call-overload,no-any-return]


# XSD 1.1 (3.3.7): a date-time without a time zone may be in any zone from -14:00 to +14:00, so it
# is before or after one with a zone only when they are more than 14 hours apart.
_ZONE_SPREAD = timedelta(hours=14)


def _ordered(node: Node) -> tuple[object, Any] | None:
    """The value space a literal is ordered in (numbers, date-times, strings of one language…)
    and its value there; None for IRIs, blank nodes and ill-typed literals, which have no order."""
    if not isinstance(node, Literal) or getattr(node, "ill_typed", False):
        return None
    value = node.value
    if isinstance(value, bool):
        return (XSD_BOOLEAN, value)
    if isinstance(value, int | float | Decimal):
        return (_NUMBER, value)
    if isinstance(value, datetime):
        return (XSD_DATETIME, value)
    if node.language:
        return (node.language.lower(), str(node))
    if node.datatype is None or node.datatype == XSD_STRING:
        return (XSD_STRING, str(node))
    return (node.datatype, value) if value is not None else None


def compare_values(v: Node, w: Node) -> int | None:
    """-1, 0 or 1 as SPARQL's `<` orders v and w; None when they cannot be compared."""
    a, b = _ordered(v), _ordered(w)
    if a is None or b is None or a[0] != b[0]:
        return None
    x, y = a[1], b[1]
    if a[0] == XSD_DATETIME and (x.tzinfo is None) != (y.tzinfo is None):
        if x.tzinfo is None:
            flipped = compare_values(w, v)
            return None if flipped is None else -flipped
        naive = y.replace(tzinfo=UTC)
        if x < naive - _ZONE_SPREAD:
            return -1
        if x > naive + _ZONE_SPREAD:
            return 1
        return None
    try:
        return -1 if x < y else (1 if x > y else (0 if x == y else None))
    except TypeError:
        return None


def less(v: Node, w: Node, *, strict: bool) -> bool:
    """SHACL's `<` / `<=` between two value nodes; incomparable values are not less."""
    order = compare_values(v, w)
    return order is not None and (order < 0 if strict else order <= 0)
