"""SHACL property paths (SHACL 2.3.1) compiled into functions over the triple index."""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import partial
from typing import TypeAlias

from rdflib import Graph, URIRef
from rdflib.collection import Collection as RDFList
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from server.rdf.triple_index import Index

# One compiled property path: (focus node, the index) -> the nodes it reaches.
Walk: TypeAlias = Callable[[Node, Index], Collection[Node]]


def compile_path(shapes: Graph, path: Node, depth: int = 0) -> Walk | None:
    """A SHACL property path (SHACL 2.3.1) as a function; None for what is not implemented
    (an inverse of anything but a predicate, a malformed path)."""
    g = shapes
    if isinstance(path, URIRef):
        return lambda n, index: index.values(n, path)
    if depth > 32:  # a path whose blank nodes refer to themselves
        return None
    if (path, RDF.first, None) in g:  # a sequence; it wins over anything else on the node
        steps = [compile_path(shapes, m, depth + 1) for m in RDFList(g, path)]
        known = [s for s in steps if s is not None]
        return partial(_sequence, known) if len(known) == len(steps) else None
    alternatives = g.value(path, SH.alternativePath)
    if alternatives is not None:
        options = [compile_path(shapes, m, depth + 1) for m in RDFList(g, alternatives)]
        known = [o for o in options if o is not None]
        return partial(_alternative, known) if len(known) == len(options) else None
    inverse = g.value(path, SH.inversePath)
    if inverse is not None:
        return partial(_inverse, inverse) if isinstance(inverse, URIRef) else None
    for key, itself, repeat in (
        (SH.zeroOrMorePath, True, True),
        (SH.oneOrMorePath, False, True),
        (SH.zeroOrOnePath, True, False),
    ):
        inner_path = g.value(path, key)
        if inner_path is not None:
            inner = compile_path(shapes, inner_path, depth + 1)
            return None if inner is None else partial(_repeat, inner, itself, repeat)
    return None


def _sequence(steps: list[Walk], node: Node, index: Index) -> Collection[Node]:
    current: dict[Node, None] = {node: None}
    for step in steps:
        reached: dict[Node, None] = {}
        for n in current:
            reached.update(dict.fromkeys(step(n, index)))
        current = reached
    return current.keys()


def _alternative(options: list[Walk], node: Node, index: Index) -> Collection[Node]:
    reached: dict[Node, None] = {}
    for option in options:
        reached.update(dict.fromkeys(option(node, index)))
    return reached.keys()


def _inverse(predicate: Node, node: Node, index: Index) -> Collection[Node]:
    return index.incoming(node, predicate)


def _repeat(inner: Walk, itself: bool, repeat: bool, node: Node, index: Index) -> Collection[Node]:
    """zeroOrMore (itself, repeat), oneOrMore (repeat) and zeroOrOne (itself): cycles end."""
    reached: dict[Node, None] = {node: None} if itself else {}
    todo = [node]
    while todo:
        for n in inner(todo.pop(), index):
            if n not in reached:
                reached[n] = None
                if repeat:
                    todo.append(n)
    return reached.keys()
