"""Serialize the graph (or any part of it) as Turtle, N-Triples or JSON-LD, deterministically.

Deterministic means byte-identical output for the same triples whatever the hash seed, so an
export can be diffed, cached and checked into a website build: Turtle is written by the project's
canonical writer (the one `fmt` uses), N-Triples lines are sorted, and JSON-LD nodes and
(unordered) value arrays are sorted.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from rdflib import Graph

from server.load.loader import LoadResult
from server.rdf.namespaces import PREFIXES
from server.turtle.terms import PrefixMap
from server.turtle.writer import document

Format = Literal["turtle", "ntriples", "jsonld"]
FORMATS: tuple[Format, ...] = ("turtle", "ntriples", "jsonld")
MEDIA_TYPES: dict[Format, str] = {
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "jsonld": "application/ld+json",
}
CONTEXT_FILE = "context.jsonld"


def jsonld_context() -> dict[str, Any]:
    """The term definitions of server/context.jsonld (a fresh copy the caller may change)."""
    return copy.deepcopy(_context_file()["@context"])


def context_document() -> str:
    """server/context.jsonld as published, for serving at a URL or writing beside an export."""
    return resources.files("server.content").joinpath(CONTEXT_FILE).read_text(encoding="utf-8")


def export_graph(loaded: LoadResult, fmt: Format, *, include_ontology: bool = True) -> str:
    """The instance data (kg/), plus the vocabulary (ontology/) unless told otherwise, as text."""
    return serialize(export_graph_triples(loaded, include_ontology=include_ontology), fmt)


def export_graph_triples(loaded: LoadResult, *, include_ontology: bool = True) -> Graph:
    """The graph an export serializes; shapes are left out: they describe files, not the domain."""
    graph = new_graph()
    for triple in loaded.data:
        graph.add(triple)
    if include_ontology:
        for triple in loaded.ontology:
            graph.add(triple)
    return graph


def new_graph() -> Graph:
    """An empty graph bound to the project's prefixes only (rdflib's defaults would leak in)."""
    graph = Graph(bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph


def serialize(graph: Graph, fmt: Format) -> str:
    """One graph as deterministic text in `fmt`."""
    if fmt == "turtle":
        # The graph's own prefixes (the project's, for new_graph()); literals keep their lexical
        # form, so the export stays isomorphic to the stewards' files.
        bound = ((prefix, str(ns)) for prefix, ns in graph.namespaces())
        return document(graph, PrefixMap(bound, project=False))
    if fmt == "ntriples":
        # N-Triples has one triple per line and no prefixes, so sorting the lines is canonical
        # up to blank-node labels, which the loader already makes stable (file index + label).
        lines = {line for line in graph.serialize(format="nt").splitlines() if line.strip()}
        return "".join(f"{line}\n" for line in sorted(lines))
    if fmt == "jsonld":
        return _jsonld(graph)
    raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _jsonld(graph: Graph) -> str:
    context = jsonld_context()
    raw = graph.serialize(format="json-ld", context=context, auto_compact=True)
    document = json.loads(raw)
    if "@graph" not in document:
        # rdflib leaves out @graph for a single node; keep one shape for every export.
        document = {"@context": document.pop("@context", context), "@graph": [document]}
    document["@graph"] = sorted(
        (_canonical(node) for node in document["@graph"]), key=lambda n: str(n.get("@id", ""))
    )
    document["@context"] = context
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _canonical(value: Any) -> Any:
    """Sort JSON-LD arrays, which are unordered sets, except the contents of an @list."""
    if isinstance(value, dict):
        return {
            key: ([_canonical(v) for v in item] if key == "@list" else _canonical(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


@lru_cache(maxsize=1)
def _context_file() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(context_document())
    return parsed
