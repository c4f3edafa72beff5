"""The project's namespaces and the prefixes used when printing IRIs."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from rdflib import Namespace, URIRef
from rdflib.namespace import OWL, PROV, RDF, RDFS, SH, SKOS, XSD

CKG = Namespace("https://clinic-kg.example/ontology#")
KG = Namespace("https://clinic-kg.example/id/")
SHP = Namespace("https://clinic-kg.example/shapes#")
SCHEMA = Namespace("https://schema.org/")
MEASURE = Namespace("https://clinic-kg.example/ontology/measure/")
UNIT = Namespace("https://clinic-kg.example/ontology/unit/")
QUALIFIER = Namespace("https://clinic-kg.example/ontology/qualifier/")
CATEGORY = Namespace("https://clinic-kg.example/ontology/treatment-category/")
ROLE = Namespace("https://clinic-kg.example/ontology/cause-role/")
DCTERMS = Namespace("http://purl.org/dc/terms/")
# The namespace entity IRIs have in the Turtle files (`kg:`), whatever base is configured.
CANONICAL_ID_NAMESPACE = str(KG)

# Terms read per triple or per value, bound once as plain URIRefs: rdflib's Namespace attribute
# lookup builds a new URIRef on every access, which shows in the hot loops.
RDF_TYPE: URIRef = RDF.type
RDF_SUBJECT: URIRef = RDF.subject
RDF_PREDICATE: URIRef = RDF.predicate
RDF_OBJECT: URIRef = RDF.object
RDF_LANG_STRING: URIRef = RDF.langString
RDFS_SUBCLASS_OF: URIRef = RDFS.subClassOf
RDFS_LITERAL: URIRef = RDFS.Literal
SKOS_PREF_LABEL: URIRef = SKOS.prefLabel
SKOS_IN_SCHEME: URIRef = SKOS.inScheme
XSD_STRING: URIRef = XSD.string
XSD_BOOLEAN: URIRef = XSD.boolean
XSD_DATETIME: URIRef = XSD.dateTime
PROV_DERIVED_FROM: URIRef = PROV.wasDerivedFrom

PREFIXES: dict[str, str] = {
    "category": str(CATEGORY),
    "ckg": str(CKG),
    "dcterms": str(DCTERMS),
    "kg": str(KG),
    "measure": str(MEASURE),
    "owl": str(OWL),
    "prov": str(PROV),
    "qualifier": str(QUALIFIER),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "role": str(ROLE),
    "schema": str(SCHEMA),
    "sh": str(SH),
    "shp": str(SHP),
    "skos": str(SKOS),
    "unit": str(UNIT),
    "xsd": str(XSD),
}

# Longest namespace first, so `ckg:` wins over a shorter namespace that prefixes it.
_BY_LENGTH = sorted(PREFIXES.items(), key=lambda kv: -len(kv[1]))


def id_namespace(base_iri: str) -> str:
    """`https://clinic-kg.example/` -> `https://clinic-kg.example/id/` (where entity IRIs live)."""
    return base_iri.rstrip("/") + "/id/"


def curie(iri: str) -> str:
    """`https://clinic-kg.example/id/x` -> `kg:x`; IRIs outside known namespaces stay `<...>`."""
    for prefix, ns in _BY_LENGTH:
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return f"<{iri}>"


def closest_curie(wanted: str, candidates: Iterable[str]) -> str | None:
    """The candidate whose local name is closest to wanted's, if it is close enough. Plain ids
    ("clinic-page", no prefix) are compared whole."""
    prefix, local = _split(wanted)
    best, score = None, 0.0
    for c in candidates:
        c_prefix, c_local = _split(c)
        ratio = difflib.SequenceMatcher(None, local, c_local).ratio()
        if c_prefix == prefix:
            ratio += 0.05
        if ratio > score:
            best, score = c, ratio
    return best if score >= 0.8 else None


def _split(name: str) -> tuple[str, str]:
    prefix, colon, local = name.partition(":")
    return (prefix, local) if colon else ("", name)
