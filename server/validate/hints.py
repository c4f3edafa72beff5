"""Hints for a SHACL result about a linked value: what the value is, what the shape accepts
instead, which accepted value is closest, and where to declare a new one.

A shape accepts instances of classes (sh:class, or sh:or/sh:xone/sh:node of shapes with sh:class),
the members of a concept scheme (sh:node of a shape whose skos:inScheme has a value), or the
members of a list (sh:in). Did-you-mean guesses are drawn from those values only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH, SKOS
from rdflib.term import Node

from server.load.loader import LoadResult
from server.rdf.namespaces import closest_curie, curie
from server.validate.engine import Index

# A scheme's concepts are listed in full up to this many; past it the hint names the scheme.
_MAX_LISTED = 12
_IN_SCHEME: URIRef = SKOS.inScheme


@dataclass(frozen=True)
class Accepted:
    """What a shape accepts for a value: instances of classes, the concepts of a scheme, or the
    members of a list."""

    classes: tuple[URIRef, ...] = ()
    scheme: URIRef | None = None
    members: tuple[Node, ...] = ()


def accepted(shapes: Graph, shape: Node, index: Index) -> Accepted | None:
    """What shape (the one that reported the result) accepts, or None if it names no values."""
    listed = shapes.value(shape, SH["in"])
    if listed is not None:  # a closed list in shapes/: a new value needs a shape change
        return Accepted(members=tuple(Collection(shapes, listed)))
    scheme = _node_scheme(shapes, shape)
    if scheme is not None:
        return Accepted(scheme=scheme, members=tuple(_in_scheme(index, scheme)))
    classes = _classes(shapes, shape)
    if classes:
        members = {m: None for c in classes for m in index.instances.get(c, ())}
        return Accepted(classes=classes, members=tuple(members))
    return None


def value_hint(value: URIRef | Literal, wanted: Accepted, index: Index, loaded: LoadResult) -> str:
    """`kg:x is a ckg:Symptom, not a ckg:Cause …`, or `nothing in the graph describes kg:x …`."""
    if isinstance(value, URIRef):
        shown, as_name = curie(str(value)), curie(str(value))
    else:  # text where a link belongs: "success rate" is matched as the name success-rate
        shown, as_name = f'"{value}"', ":" + "-".join(str(value).lower().split())
    candidates = sorted({curie(str(m)) for m in wanted.members if isinstance(m, URIRef)})
    guess = closest_curie(as_name, [c for c in candidates if c != shown])
    did_you_mean = f"did you mean {guess}?" if guess else ""
    if wanted.scheme is not None:
        return _scheme_hint(value, wanted.scheme, candidates, did_you_mean, index, loaded)
    if not wanted.classes:  # a list (sh:in) of values that share no scheme
        listed = ", ".join(candidates)
        return _join(
            f"{shown} is not allowed here", did_you_mean, f"the allowed values are {listed}"
        )
    wants = " or ".join(curie(str(c)) for c in wanted.classes)
    names = [_class_name(c, index) for c in wanted.classes]
    about = f" (the shape wants {' or '.join(_a(n) for n in names)})" if all(names) else ""
    if isinstance(value, Literal):
        return _join(f"{shown} is text, not a link to {_a(wants)}{about}", did_you_mean)
    types = sorted(curie(str(t)) for t in index.values(value, RDF.type))
    if types:  # the IRI is right, the link is not: no guess at another IRI
        return f"{shown} is {_a(' and '.join(types))}, not {_a(wants)}{about}"
    text = f"nothing in the graph describes {shown}"
    return _join(text, did_you_mean or f"the shape wants {_a(wants)}{about}")


def _scheme_hint(
    value: URIRef | Literal,
    scheme: URIRef,
    candidates: list[str],
    did_you_mean: str,
    index: Index,
    loaded: LoadResult,
) -> str:
    shown, name = curie(str(value)), curie(str(scheme))
    other = sorted(curie(str(s)) for s in index.values(value, _IN_SCHEME) if s != scheme)
    if isinstance(value, Literal):
        text = f'"{value}" is text, not a concept of {name}'
    elif other:
        text = f"{shown} is a concept of {' and '.join(other)}, not of {name}"
    elif index.values(value, RDF.type):
        text = f"{shown} is not a concept of {name}"
    else:
        text = f"{shown} is not a concept of {name} (nothing in the graph describes it)"
    listed = ", ".join(candidates) if len(candidates) <= _MAX_LISTED else f"the concepts of {name}"
    where = _declared_in(loaded, scheme) or "ontology/"
    # Concepts of some schemes are typed with a class of their own too (a share of a whole is a
    # ckg:ProportionMeasure): a new one needs the same type to pass the shapes that ask for it.
    members = [s for s in index.subjects_with(_IN_SCHEME) if scheme in index.values(s, _IN_SCHEME)]
    kinds = sorted(
        {curie(str(t)) for m in members for t in index.values(m, RDF.type)} - {"skos:Concept"}
    )
    also = f", and `a {' or '.join(kinds)}` where it is one of those" if kinds else ""
    return _join(
        text,
        did_you_mean,
        f"the allowed values are {listed}",
        f"to add one, declare it in {where} with skos:inScheme {name}{also} "
        "(see README 'Adding a page')",
    )


def _node_scheme(shapes: Graph, shape: Node) -> URIRef | None:
    """The scheme a sh:node value shape requires (skos:inScheme with sh:hasValue), if any."""
    for node in shapes.objects(shape, SH.node):
        for prop in shapes.objects(node, SH.property):
            scheme = shapes.value(prop, SH.hasValue)
            if shapes.value(prop, SH.path) == _IN_SCHEME and isinstance(scheme, URIRef):
                return scheme
    return None


def _classes(shapes: Graph, shape: Node) -> tuple[URIRef, ...]:
    """sh:class of shape, else of the shapes it lists in sh:or / sh:xone or links with sh:node."""
    own = [c for c in shapes.objects(shape, SH["class"]) if isinstance(c, URIRef)]
    if own:
        return tuple(sorted(own))
    members: list[Node] = list(shapes.objects(shape, SH.node))
    for logic in (SH["or"], SH.xone):
        for head in shapes.objects(shape, logic):
            members.extend(Collection(shapes, head))
    found = [c for m in members for c in shapes.objects(m, SH["class"]) if isinstance(c, URIRef)]
    return tuple(dict.fromkeys(found))


def _in_scheme(index: Index, scheme: URIRef) -> Iterable[Node]:
    return (s for s in index.subjects_with(_IN_SCHEME) if scheme in index.values(s, _IN_SCHEME))


def _declared_in(loaded: LoadResult, scheme: URIRef) -> str | None:
    """The ontology file that declares scheme (where its new concepts belong)."""
    for f in loaded.files:
        if f.kind == "ontology" and (scheme, RDF.type, SKOS.ConceptScheme) in f.triples:
            return f.path
    return None


def _class_name(cls: URIRef, index: Index) -> str:
    """The class's English rdfs:label in lower case ("risk factor"), or "" if it has none."""
    for label in index.values(cls, RDFS.label):
        if isinstance(label, Literal) and label.language in (None, "en"):
            return str(label).lower()
    return ""


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _join(*parts: str) -> str:
    """Parts joined with "; ", or as a new sentence after a question."""
    text = ""
    for part in filter(None, parts):
        if not text:
            text = part
        elif text.endswith("?"):
            text += " " + part[:1].upper() + part[1:]
        else:
            text += "; " + part
    return text
