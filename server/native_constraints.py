"""Native implementations of the shapes' SHACL-SPARQL constraints.

pyshacl re-parses a SPARQL constraint's query for every focus node, which makes one whole-graph
constraint (unique labels) cost minutes at a million triples. Each constraint here computes the
same solutions in one pass and writes them as SHACL validation results, so they are reported
exactly like pyshacl's. A constraint is only replaced while its query text is the one this code
implements: edit the query in shapes/ and pyshacl evaluates it again, so nothing drifts silently.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, SKOS
from rdflib.term import Node

from .namespaces import SHP

Solution = tuple[Node, Node, Node]  # focus, value, the other node named in the message


@dataclass(frozen=True)
class NativeConstraint:
    shape: URIRef
    query: str
    solve: Callable[[Graph, set[Node]], Iterator[Solution]]


def _normalize(query: str) -> str:
    return re.sub(r"\s+", " ", query).strip()


def _unique_labels(data: Graph, focus: set[Node]) -> Iterator[Solution]:
    groups: dict[tuple[Node, str | None, str], list[tuple[Node, Literal]]] = defaultdict(list)
    for s, label in data.subject_objects(SKOS.prefLabel):
        if s not in focus or not isinstance(label, Literal):
            continue
        for t in data.objects(s, RDF.type):
            groups[(t, label.language, str(label).lower())].append((s, label))
    seen: set[Solution] = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        for this, value in members:
            for other, _ in members:
                solution = (this, value, other)
                if other != this and solution not in seen:
                    seen.add(solution)
                    yield solution


UNIQUE_LABELS_QUERY = """
        SELECT $this ?other ?value ?path WHERE {
            $this <http://www.w3.org/2004/02/skos/core#prefLabel> ?value ;
                  a ?type .
            ?other <http://www.w3.org/2004/02/skos/core#prefLabel> ?otherLabel ;
                   a ?type .
            FILTER (?other != $this && lang(?value) = lang(?otherLabel)
                    && lcase(str(?value)) = lcase(str(?otherLabel)))
            BIND (<http://www.w3.org/2004/02/skos/core#prefLabel> AS ?path)
        }
"""

NATIVE: tuple[NativeConstraint, ...] = (
    NativeConstraint(SHP.UniqueLabelShape, UNIQUE_LABELS_QUERY, _unique_labels),
)


def split_shapes(shapes: Graph) -> tuple[Graph, list[tuple[NativeConstraint, Node]]]:
    """The shapes for pyshacl (natively implemented constraints removed) and those constraints."""
    remaining = Graph(bind_namespaces="none")
    for triple in shapes:
        remaining.add(triple)
    taken: list[tuple[NativeConstraint, Node]] = []
    for native in NATIVE:
        for constraint in shapes.objects(native.shape, SH.sparql):
            query = shapes.value(constraint, SH.select)
            if query is not None and _normalize(str(query)) == _normalize(native.query):
                remaining.remove((native.shape, SH.sparql, constraint))
                taken.append((native, constraint))
    return remaining, taken


def _focus_nodes(data: Graph, shapes: Graph, shape: Node) -> set[Node]:
    classes: set[Node] = set()
    todo = list(shapes.objects(shape, SH.targetClass))
    while todo:
        c = todo.pop()
        if c not in classes:
            classes.add(c)
            todo.extend(data.subjects(RDFS.subClassOf, c))
    return {s for c in classes for s in data.subjects(RDF.type, c)}


def evaluate(
    data: Graph, shapes: Graph, taken: list[tuple[NativeConstraint, Node]], results: Graph
) -> None:
    """Add one sh:ValidationResult per solution to results, as pyshacl would."""
    for native, constraint in taken:
        severity = shapes.value(native.shape, SH.severity) or SH.Violation
        messages = list(shapes.objects(constraint, SH.message)) or list(
            shapes.objects(native.shape, SH.message)
        )
        focus = _focus_nodes(data, shapes, native.shape)
        for this, value, other in native.solve(data, focus):
            row = BNode()
            results.add((row, RDF.type, SH.ValidationResult))
            results.add((row, SH.focusNode, this))
            results.add((row, SH.resultPath, SKOS.prefLabel))
            results.add((row, SH.value, value))
            results.add((row, SH.sourceShape, native.shape))
            results.add((row, SH.sourceConstraint, constraint))
            results.add((row, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
            results.add((row, SH.resultSeverity, severity))
            for message in messages:
                text = str(message).replace("{?other}", str(other)).replace("{$this}", str(this))
                lang = message.language if isinstance(message, Literal) else None
                results.add((row, SH.resultMessage, Literal(text, lang=lang)))
