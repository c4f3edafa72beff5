"""Native implementations of the shapes' SHACL-SPARQL constraints.

pyshacl re-parses a SPARQL constraint's query for every focus node, which makes one whole-graph
constraint (unique labels) cost minutes at a million triples. Each constraint here computes the
same solutions in one pass and reports them as SHACL results, exactly like pyshacl's. A constraint
is only replaced while its query text is the one this code implements: edit the query in shapes/
and pyshacl evaluates it again, so nothing drifts silently.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from server.rdf.namespaces import RDF_TYPE, SHP, SKOS_PREF_LABEL
from server.rdf.triple_index import Index
from server.validate.engine import Result

Solution = tuple[Node, Node, Node]  # focus, value, the other node named in the message


@dataclass(frozen=True)
class NativeConstraint:
    shape: URIRef
    query: str
    solve: Callable[[Index, list[Node]], Iterator[Solution]]


def _normalize(query: str) -> str:
    return re.sub(r"\s+", " ", query).strip()


def _unique_labels(index: Index, focus: list[Node]) -> Iterator[Solution]:
    groups: dict[tuple[Node, str | None, str], list[tuple[Node, Literal]]] = defaultdict(list)
    for s in focus:
        for label in index.values(s, SKOS_PREF_LABEL):
            if isinstance(label, Literal):
                for t in index.values(s, RDF_TYPE):
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


def evaluate(
    index: Index,
    shapes: Graph,
    taken: list[tuple[NativeConstraint, Node]],
    scope: tuple[Collection[Node], Collection[Node]] | None = None,
) -> list[Result]:
    """One result per solution, its message filled in ({?other}, {$this}) as pyshacl does.

    scope: (the focus nodes wanted, a superset holding every node they could be compared with)
    restricts the run to those focus nodes (an incremental reload); None runs it on every one."""
    results: list[Result] = []
    for native, constraint in taken:
        severity = shapes.value(native.shape, SH.severity) or SH.Violation
        messages = list(shapes.objects(constraint, SH.message)) or list(
            shapes.objects(native.shape, SH.message)
        )
        focus: dict[Node, None] = {}
        classes = list(shapes.objects(native.shape, SH.targetClass))
        if scope is None:
            for cls in classes:
                focus.update(dict.fromkeys(index.instances.get(cls, [])))
        else:
            focus.update(
                (n, None) for n in scope[1] if any(index.is_instance(n, c) for c in classes)
            )
        wanted = None if scope is None else set(scope[0])
        for this, value, other in native.solve(index, list(focus)):
            if wanted is not None and this not in wanted:
                continue
            texts = tuple(
                Literal(
                    str(m).replace("{?other}", str(other)).replace("{$this}", str(this)),
                    lang=m.language if isinstance(m, Literal) else None,
                )
                for m in messages
            )
            results.append(
                Result(
                    focus=this,
                    path=SKOS_PREF_LABEL,
                    value=value,
                    shape=native.shape,
                    component=SH.SPARQLConstraintComponent,
                    severity=severity,
                    messages=texts,
                    node_shape=native.shape,
                )
            )
    return results
