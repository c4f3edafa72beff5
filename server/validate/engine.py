"""A SHACL Core engine over in-memory indexes: every entry of the W3C SHACL core suite.

pyshacl is the reference: tests compare this engine's results with pyshacl's on the real data,
on every shape fixture and on random mutations of the data. This engine exists for speed: pyshacl
walks rdflib's store for every shape, focus node and parameter (about 25 s for 100k triples here);
this one builds a subject → predicate → objects index once and checks each focus node in a few
microseconds per constraint. Shapes that use anything else (SPARQL other than the natively
implemented constraints, SPARQL-based constraint components, the inverse of a path that is not a
predicate, JavaScript) make `supports()` false, and the caller hands the whole run to the fallback:
nothing is skipped silently. tests/test_w3c_shacl.py checks both halves of that promise.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TypeAlias

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection as RDFList
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

from server.rdf.triple_index import (
    Index as Index,  # re-exported: the engine's callers import it from here
)
from server.validate.paths import Walk, compile_path
from server.validate.values import compare_values, has_datatype, has_kind, less

SUPPORTED_PARAMETERS = frozenset(
    {
        SH.targetClass,
        SH.targetNode,
        SH.targetSubjectsOf,
        SH.targetObjectsOf,
        SH.property,
        SH.equals,
        SH.disjoint,
        SH.path,
        SH.closed,
        SH.ignoredProperties,
        SH.minCount,
        SH.maxCount,
        SH["class"],
        SH.datatype,
        SH.nodeKind,
        SH.pattern,
        SH.flags,
        SH.minLength,
        SH.maxLength,
        SH.languageIn,
        SH.uniqueLang,
        SH.minInclusive,
        SH.maxInclusive,
        SH.minExclusive,
        SH.maxExclusive,
        SH.lessThanOrEquals,
        SH.lessThan,
        SH.hasValue,
        SH["in"],
        SH.node,
        SH["or"],
        SH["and"],
        SH["not"],
        SH.xone,
        SH.qualifiedValueShape,
        SH.qualifiedMinCount,
        SH.qualifiedMaxCount,
        SH.qualifiedValueShapesDisjoint,
        SH.severity,
        SH.message,
        SH.deactivated,
        SH.name,
        SH.description,
        SH.order,
        SH.group,
    }
)
_COMPONENT: dict[Node, URIRef] = {
    SH.minCount: SH.MinCountConstraintComponent,
    SH.maxCount: SH.MaxCountConstraintComponent,
    SH["class"]: SH.ClassConstraintComponent,
    SH.datatype: SH.DatatypeConstraintComponent,
    SH.nodeKind: SH.NodeKindConstraintComponent,
    SH.pattern: SH.PatternConstraintComponent,
    SH.minLength: SH.MinLengthConstraintComponent,
    SH.maxLength: SH.MaxLengthConstraintComponent,
    SH.languageIn: SH.LanguageInConstraintComponent,
    SH.uniqueLang: SH.UniqueLangConstraintComponent,
    SH.minInclusive: SH.MinInclusiveConstraintComponent,
    SH.maxInclusive: SH.MaxInclusiveConstraintComponent,
    SH.minExclusive: SH.MinExclusiveConstraintComponent,
    SH.maxExclusive: SH.MaxExclusiveConstraintComponent,
    SH.lessThanOrEquals: SH.LessThanOrEqualsConstraintComponent,
    SH.lessThan: SH.LessThanConstraintComponent,
    SH.hasValue: SH.HasValueConstraintComponent,
    SH["in"]: SH.InConstraintComponent,
    SH.node: SH.NodeConstraintComponent,
    SH["or"]: SH.OrConstraintComponent,
    SH["and"]: SH.AndConstraintComponent,
    SH["not"]: SH.NotConstraintComponent,
    SH.xone: SH.XoneConstraintComponent,
    SH.closed: SH.ClosedConstraintComponent,
    SH.equals: SH.EqualsConstraintComponent,
    SH.disjoint: SH.DisjointConstraintComponent,
}


@dataclass(frozen=True)
class Result:
    """One SHACL validation result, as pyshacl would write it."""

    focus: Node
    path: Node | None
    value: Node | None
    shape: Node
    component: URIRef
    severity: Node
    messages: tuple[Literal, ...]
    node_shape: Node | None = None  # the targeted node shape this result was found under


_TRUE = Literal("true", datatype=XSD.boolean)


Check: TypeAlias = Callable[[Node, Collection[Node], Index], Iterator[Result]]


@dataclass
class Shape:
    node: Node
    path: Node | None
    params: dict[Node, list[Node]]
    properties: list[Shape] = field(default_factory=list)
    severity: Node = SH.Violation
    messages: tuple[Literal, ...] = ()
    lists: dict[Node, list[Node]] = field(default_factory=dict)
    pattern: re.Pattern[str] | None = None
    deactivated: bool = False
    checks: list[Check] | None = None
    walk: Walk | None = None  # a path other than one predicate


# rdflib's Namespace attribute lookup is slow in hot loops: bind the terms once.
_SH_NS = str(SH)
_SH_ClosedConstraintComponent: URIRef = SH.ClosedConstraintComponent
_SH_NodeShape: URIRef = SH.NodeShape
_SH_PropertyShape: URIRef = SH.PropertyShape
_SH_QualifiedMaxCountConstraintComponent: URIRef = SH.QualifiedMaxCountConstraintComponent
_SH_QualifiedMinCountConstraintComponent: URIRef = SH.QualifiedMinCountConstraintComponent
_SH_Violation: URIRef = SH.Violation
_SH_and = URIRef(_SH_NS + "and")
_SH_class = URIRef(_SH_NS + "class")
_SH_closed: URIRef = SH.closed
_SH_datatype: URIRef = SH.datatype
_SH_deactivated: URIRef = SH.deactivated
_SH_disjoint: URIRef = SH.disjoint
_SH_equals: URIRef = SH.equals
_SH_flags: URIRef = SH.flags
_SH_hasValue: URIRef = SH.hasValue
_SH_ignoredProperties: URIRef = SH.ignoredProperties
_SH_in = URIRef(_SH_NS + "in")
_SH_languageIn: URIRef = SH.languageIn
_SH_lessThan: URIRef = SH.lessThan
_SH_lessThanOrEquals: URIRef = SH.lessThanOrEquals
_SH_maxCount: URIRef = SH.maxCount
_SH_maxExclusive: URIRef = SH.maxExclusive
_SH_maxInclusive: URIRef = SH.maxInclusive
_SH_maxLength: URIRef = SH.maxLength
_SH_message: URIRef = SH.message
_SH_minCount: URIRef = SH.minCount
_SH_minExclusive: URIRef = SH.minExclusive
_SH_minInclusive: URIRef = SH.minInclusive
_SH_minLength: URIRef = SH.minLength
_SH_node: URIRef = SH.node
_SH_nodeKind: URIRef = SH.nodeKind
_SH_not = URIRef(_SH_NS + "not")
_SH_or = URIRef(_SH_NS + "or")
_SH_path: URIRef = SH.path
_SH_pattern: URIRef = SH.pattern
_SH_property: URIRef = SH.property
_SH_qualifiedMaxCount: URIRef = SH.qualifiedMaxCount
_SH_qualifiedMinCount: URIRef = SH.qualifiedMinCount
_SH_qualifiedValueShape: URIRef = SH.qualifiedValueShape
_SH_qualifiedValueShapesDisjoint: URIRef = SH.qualifiedValueShapesDisjoint
_SH_severity: URIRef = SH.severity
_SH_sparql: URIRef = SH.sparql
_SH_targetClass: URIRef = SH.targetClass
_SH_targetNode: URIRef = SH.targetNode
_SH_targetObjectsOf: URIRef = SH.targetObjectsOf
_SH_targetSubjectsOf: URIRef = SH.targetSubjectsOf
_SH_uniqueLang: URIRef = SH.uniqueLang
_SH_xone: URIRef = SH.xone


class ShapeRecursion(Exception):
    """A shape reached itself again on the same node: SHACL leaves recursive shapes undefined."""

    def __init__(self, shape: Node, focus: Node) -> None:
        super().__init__(f"shape {shape} refers back to itself on {focus}")
        self.shape = shape
        self.focus = focus


# Parameters whose values are shapes: the edges along which a shape can reach itself again.
_SHAPE_REFERENCES = (SH.node, SH.property, SH.qualifiedValueShape, SH["not"])
_SHAPE_LISTS = (SH["and"], SH["or"], SH.xone)


class Engine:
    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes
        self._compiled: dict[Node, Shape] = {}
        self.unsupported: list[str] = []
        # Parameters of SPARQL-based constraint components declared in the shapes graph: a shape
        # using one needs a SPARQL engine, so it must not pass for a shape without constraints.
        # (Whatever declares sh:parameter is one, whichever subclass of sh:ConstraintComponent.)
        self._custom_parameters = {
            path
            for parameter in shapes.objects(None, SH.parameter)
            for path in shapes.objects(parameter, SH.path)
        }
        self._implicit = {s for s in self._shape_nodes() if self._is_class(s)}
        self.roots = [self.shape(s) for s in self._shape_nodes() if self._has_target(s)]
        self._active: set[tuple[Node, Node]] | None = set() if self._cyclic() else None

    # ------------------------------------------------------------------ compiling shapes

    def _shape_nodes(self) -> list[Node]:
        nodes = set(self.shapes.subjects(RDF.type, _SH_NodeShape))
        nodes |= set(self.shapes.subjects(RDF.type, _SH_PropertyShape))
        for p in (_SH_targetClass, _SH_targetNode, _SH_targetSubjectsOf, _SH_targetObjectsOf):
            nodes |= set(self.shapes.subjects(p, None))
        return sorted(nodes, key=str)

    def _is_class(self, node: Node) -> bool:
        """A SHACL instance of rdfs:Class in the shapes graph: its instances are targets."""
        seen: set[Node] = set()
        todo = list(self.shapes.objects(node, RDF.type))
        while todo:
            t = todo.pop()
            if t == RDFS.Class:
                return True
            if t not in seen:
                seen.add(t)
                todo.extend(self.shapes.objects(t, RDFS.subClassOf))
        return False

    def _has_target(self, node: Node) -> bool:
        targets = (_SH_targetClass, _SH_targetNode, _SH_targetSubjectsOf, _SH_targetObjectsOf)
        return node in self._implicit or any((node, p, None) in self.shapes for p in targets)

    def _cyclic(self) -> bool:
        """Whether some shape can reach itself through the shapes it refers to."""
        edges: dict[Node, list[Node]] = {}
        for node in self._compiled:
            refs = [o for p in _SHAPE_REFERENCES for o in self.shapes.objects(node, p)]
            for p in _SHAPE_LISTS:
                for head in self.shapes.objects(node, p):
                    refs.extend(RDFList(self.shapes, head))
            edges[node] = refs
        done: set[Node] = set()
        for start in edges:
            path: set[Node] = set()
            stack: list[tuple[Node, Iterator[Node]]] = [(start, iter(edges[start]))]
            path.add(start)
            while stack:
                node, rest = stack[-1]
                nxt = next(rest, None)
                if nxt is None:
                    stack.pop()
                    path.discard(node)
                    done.add(node)
                elif nxt in path:
                    return True
                elif nxt not in done:
                    path.add(nxt)
                    stack.append((nxt, iter(edges.get(nxt, ()))))
        return False

    def shape(self, node: Node) -> Shape:
        hit = self._compiled.get(node)
        if hit is not None:
            return hit
        params: dict[Node, list[Node]] = defaultdict(list)
        for p, o in self.shapes.predicate_objects(node):
            if p == RDF.type:
                continue
            if p == _SH_sparql:
                # The natively evaluated constraints were taken out by the caller (split_shapes):
                # any other SPARQL constraint needs a SPARQL engine.
                self.unsupported.append(f"{node} has a SPARQL constraint (sh:sparql)")
                continue
            if p in self._custom_parameters:
                self.unsupported.append(
                    f"{node} uses {p}, a parameter of a SPARQL-based constraint component"
                )
            elif p not in SUPPORTED_PARAMETERS and str(p).startswith(str(SH)):
                self.unsupported.append(f"{node} uses {p}")
            params[p].append(o)
        path = params.get(_SH_path, [None])[0]
        walk = None
        if path is not None and not isinstance(path, URIRef):
            walk = compile_path(self.shapes, path)
            if walk is None:
                self.unsupported.append(f"{node} has a path the native engine cannot follow")
        compiled = Shape(
            node=node,
            path=path,
            params=dict(params),
            severity=params.get(_SH_severity, [_SH_Violation])[0],
            messages=tuple(m for m in params.get(_SH_message, []) if isinstance(m, Literal)),
        )
        compiled.deactivated = _true(params.get(_SH_deactivated))
        compiled.walk = walk
        self._compiled[node] = compiled
        for key in (_SH_in, _SH_languageIn, _SH_or, _SH_and, _SH_xone, _SH_ignoredProperties):
            if key in params:
                compiled.lists[key] = list(RDFList(self.shapes, params[key][0]))
        for key in (_SH_or, _SH_and, _SH_xone):
            for member in compiled.lists.get(key, ()):
                self.shape(member)  # compiled now, so that unsupported members are found now
        for key in (_SH_node, _SH_not, _SH_qualifiedValueShape):
            for member in params.get(key, ()):
                self.shape(member)
        if _SH_pattern in params:
            flags = str(params.get(_SH_flags, [""])[0])
            compiled.pattern = re.compile(str(params[_SH_pattern][0]), _flags(flags))
        compiled.properties = [self.shape(p) for p in params.get(_SH_property, [])]
        return compiled

    def supports(self) -> bool:
        return not self.unsupported

    # ------------------------------------------------------------------ validating

    def validate(self, index: Index, focus_filter: set[Node] | None = None) -> list[Result]:
        results: list[Result] = []
        for root in self.roots:
            if root.deactivated:
                continue
            for focus in self.focus_nodes(root, index):
                if focus_filter is None or focus in focus_filter:
                    for r in self.check(root, focus, index):
                        results.append(replace(r, node_shape=root.node))
        return results

    def validate_nodes(self, index: Index, nodes: Iterable[Node]) -> list[Result]:
        """validate(), for the given nodes only: each one's results as a whole run finds them."""
        results: list[Result] = []
        nodes = list(nodes)
        for root in self.roots:
            if root.deactivated:
                continue
            for focus in nodes:
                if self.is_target(root, focus, index):
                    for r in self.check(root, focus, index):
                        results.append(replace(r, node_shape=root.node))
        return results

    def is_target(self, shape: Shape, node: Node, index: Index) -> bool:
        """Whether node is among focus_nodes(shape, index)."""
        implicit = [shape.node] if shape.node in self._implicit else []
        if any(
            index.is_instance(node, c) for c in [*implicit, *shape.params.get(_SH_targetClass, [])]
        ):
            return True
        if node in shape.params.get(_SH_targetNode, []):
            return True
        preds = index.out.get(node, {})
        if any(p in preds for p in shape.params.get(_SH_targetSubjectsOf, [])):
            return True
        return any(
            index.has(s, p, node)
            for p in shape.params.get(_SH_targetObjectsOf, [])
            for s in index.referrers(node)
        )

    def focus_nodes(self, shape: Shape, index: Index) -> list[Node]:
        found: dict[Node, None] = {}
        implicit = [shape.node] if shape.node in self._implicit else []
        for c in [*implicit, *shape.params.get(_SH_targetClass, [])]:
            found.update(dict.fromkeys(index.instances.get(c, [])))
        found.update(dict.fromkeys(shape.params.get(_SH_targetNode, [])))
        for p in shape.params.get(_SH_targetSubjectsOf, []):
            found.update(dict.fromkeys(s for s, preds in index.out.items() if p in preds))
        for p in shape.params.get(_SH_targetObjectsOf, []):
            found.update(dict.fromkeys(o for preds in index.out.values() for o in preds.get(p, [])))
        return list(found)

    def conforms(self, shape: Shape, node: Node, index: Index) -> bool:
        return not any(True for _ in self.check(shape, node, index))

    def check(self, shape: Shape, focus: Node, index: Index) -> Iterator[Result]:
        """Every result of shape on focus (a property shape checks focus's values on its path)."""
        if shape.deactivated:
            return iter(())
        if self._active is not None:  # the shapes can reach themselves: guard each step
            return self._guarded(shape, focus, index, self._active)
        return self._run(shape, focus, index)

    def _guarded(
        self, shape: Shape, focus: Node, index: Index, active: set[tuple[Node, Node]]
    ) -> Iterator[Result]:
        key = (shape.node, focus)
        if key in active:
            raise ShapeRecursion(shape.node, focus)
        active.add(key)
        try:
            yield from self._run(shape, focus, index)
        finally:
            active.discard(key)

    def _run(self, shape: Shape, focus: Node, index: Index) -> Iterator[Result]:
        checks = shape.checks if shape.checks is not None else self._compile_checks(shape)
        values: Collection[Node]
        if shape.walk is not None:
            values = shape.walk(focus, index)
        elif shape.path is not None:
            preds = index.out.get(focus)
            found = preds.get(shape.path) if preds is not None else None
            values = found.keys() if found is not None else ()
        else:
            values = (focus,)
        for run in checks:
            yield from run(focus, values, index)

    # ------------------------------------------------------------------ compiled constraints

    def _compile_checks(self, shape: Shape) -> list[Check]:
        """One closure per constraint the shape has, so checking a node tests nothing else."""
        checks: list[Check] = []
        params = shape.params

        def result(param: Node) -> Callable[[Node, Node | None], Result]:
            component = _COMPONENT[param]

            def make(focus: Node, value: Node | None) -> Result:
                return Result(
                    focus, shape.path, value, shape.node, component, shape.severity, shape.messages
                )

            return make

        def per_value(param: Node, ok: Callable[[Node], bool]) -> Check:
            make = result(param)

            def run(focus: Node, values: Collection[Node], index: Index) -> Iterator[Result]:
                for v in values:
                    if not ok(v):
                        yield make(focus, v)

            return run

        if _SH_minCount in params:
            low, make_low = _int(params[_SH_minCount][0]), result(_SH_minCount)
            checks.append(lambda f, vs, i: iter([make_low(f, None)] if len(vs) < low else []))
        if _SH_maxCount in params:
            high, make_high = _int(params[_SH_maxCount][0]), result(_SH_maxCount)
            checks.append(lambda f, vs, i: iter([make_high(f, None)] if len(vs) > high else []))
        for cls in params.get(_SH_class, []):
            checks.append(self._class_check(cls, result(_SH_class)))
        for dt in params.get(_SH_datatype, []):
            checks.append(per_value(_SH_datatype, partial(_datatype_ok, dt)))
        for kind in params.get(_SH_nodeKind, []):
            checks.append(per_value(_SH_nodeKind, partial(_kind_ok, kind)))
        if shape.pattern is not None:
            pattern = shape.pattern
            checks.append(per_value(_SH_pattern, partial(_pattern_ok, pattern)))
        for param, test in ((_SH_minLength, _ge), (_SH_maxLength, _le)):
            for limit in params.get(param, []):
                n = _int(limit)
                checks.append(per_value(param, partial(_length_ok, test, n)))
        if _SH_languageIn in shape.lists:
            ranges = [str(r).lower() for r in shape.lists[_SH_languageIn]]
            checks.append(per_value(_SH_languageIn, partial(_language_in, ranges)))
        if _true(params.get(_SH_uniqueLang)):
            checks.append(self._unique_lang_check(result(_SH_uniqueLang)))
        for param in (_SH_minInclusive, _SH_maxInclusive, _SH_minExclusive, _SH_maxExclusive):
            for bound in params.get(param, []):
                checks.append(per_value(param, partial(_bound_ok, param, bound)))
        for param in (_SH_lessThanOrEquals, _SH_lessThan):
            for other in params.get(param, []):
                checks.append(self._order_check(other, param == _SH_lessThan, result(param)))
        for other in params.get(_SH_equals, []):
            checks.append(_pair_check(other, _differ, result(_SH_equals)))
        for other in params.get(_SH_disjoint, []):
            checks.append(_pair_check(other, _shared, result(_SH_disjoint)))
        for required in params.get(_SH_hasValue, []):
            checks.append(_has_value_check(required, result(_SH_hasValue)))
        if _SH_in in shape.lists:
            allowed = frozenset(shape.lists[_SH_in])
            checks.append(per_value(_SH_in, allowed.__contains__))
        for target in params.get(_SH_node, []):
            checks.append(self._logical_check([target], result(_SH_node), _all))
        rules: tuple[tuple[Node, Callable[[int, int], bool]], ...] = (
            (_SH_or, _any),
            (_SH_and, _all),
            (_SH_xone, _one),
        )
        for logic, rule in rules:
            if logic in shape.lists:
                checks.append(self._logical_check(shape.lists[logic], result(logic), rule))
        for target in params.get(_SH_not, []):
            checks.append(self._logical_check([target], result(_SH_not), _none))
        if _SH_qualifiedValueShape in params:
            checks.append(self._qualified_check(shape))
        if shape.path is None:
            for prop in shape.properties:
                checks.append(self._property_check(prop, on_values=False))
            if _true(params.get(_SH_closed)):
                checks.append(self._closed_check(shape))
        else:
            for prop in shape.properties:  # nested property shapes on a property shape's values
                checks.append(self._property_check(prop, on_values=True))
        shape.checks = checks
        return checks

    def _class_check(self, cls: Node, make: Callable[[Node, Node | None], Result]) -> Check:
        def run(focus: Node, values: Collection[Node], index: Index) -> Iterator[Result]:
            for v in values:
                if isinstance(v, Literal) or not index.is_instance(v, cls):
                    yield make(focus, v)

        return run

    def _unique_lang_check(self, make: Callable[[Node, Node | None], Result]) -> Check:
        def run(focus: Node, values: Collection[Node], index: Index) -> Iterator[Result]:
            seen: dict[str, int] = defaultdict(int)
            for v in values:
                if isinstance(v, Literal) and v.language:
                    seen[v.language.lower()] += 1
            for n in seen.values():
                if n > 1:
                    yield make(focus, None)

        return run

    def _order_check(
        self, other: Node, strict: bool, make: Callable[[Node, Node | None], Result]
    ) -> Check:
        def run(focus: Node, values: Collection[Node], index: Index) -> Iterator[Result]:
            others = index.values(focus, other)
            for v in values:
                for w in others:
                    if not less(v, w, strict=strict):
                        yield make(focus, v)

        return run

    def _property_check(self, prop: Shape, *, on_values: bool) -> Check:
        def run(focus: Node, values: Collection[Node], index: Index) -> Iterator[Result]:
            for node in values if on_values else (focus,):
                yield from self.check(prop, node, index)

        return run

    def _logical_check(
        self,
        members: list[Node],
        make: Callable[[Node, Node | None], Result],
        rule: Callable[[int, int], bool],
    ) -> Check:
        shapes = [self.shape(m) for m in members]

        def run(focus: Node, values: Collection[Node], index: Index) -> Iterator[Result]:
            for v in values:
                passed = sum(1 for m in shapes if self.conforms(m, v, index))
                if not rule(passed, len(shapes)):
                    yield make(focus, v)

        return run

    def _qualified_check(self, shape: Shape) -> Check:
        nested = self.shape(shape.params[_SH_qualifiedValueShape][0])
        low = shape.params.get(_SH_qualifiedMinCount)
        high = shape.params.get(_SH_qualifiedMaxCount)
        lowest = _int(low[0]) if low else None
        highest = _int(high[0]) if high else None
        siblings: list[Shape] = []
        if _true(shape.params.get(_SH_qualifiedValueShapesDisjoint)):
            # A value counts only if it conforms to none of the qualified value shapes of the
            # other property shapes of the same parent shape.
            for parent in self.shapes.subjects(_SH_property, shape.node):
                for sibling in self.shapes.objects(parent, _SH_property):
                    for other in self.shapes.objects(sibling, _SH_qualifiedValueShape):
                        if other != nested.node:
                            siblings.append(self.shape(other))

        def matches(v: Node, index: Index) -> bool:
            return self.conforms(nested, v, index) and not any(
                self.conforms(s, v, index) for s in siblings
            )

        def run(focus: Node, values: Collection[Node], index: Index) -> Iterator[Result]:
            matching = sum(1 for v in values if matches(v, index))
            failed = []
            if lowest is not None and matching < lowest:
                failed.append(_QUALIFIED_MIN)
            if highest is not None and matching > highest:
                failed.append(_QUALIFIED_MAX)
            for component in failed:
                yield Result(
                    focus, shape.path, None, shape.node, component, shape.severity, shape.messages
                )

        return run

    def _closed_check(self, shape: Shape) -> Check:
        allowed = {p.path for p in shape.properties} | set(
            shape.lists.get(_SH_ignoredProperties, [])
        )

        def run(focus: Node, values: Collection[Node], index: Index) -> Iterator[Result]:
            for p, objects in index.out.get(focus, {}).items():
                if p not in allowed:
                    for o in objects:
                        yield Result(
                            focus,
                            p,
                            o,
                            shape.node,
                            _SH_ClosedConstraintComponent,
                            shape.severity,
                            shape.messages,
                        )

        return run


_QUALIFIED_MIN: URIRef = SH.QualifiedMinCountConstraintComponent
_QUALIFIED_MAX: URIRef = SH.QualifiedMaxCountConstraintComponent


def _any(passed: int, total: int) -> bool:
    return passed >= 1


def _all(passed: int, total: int) -> bool:
    return passed == total


def _one(passed: int, total: int) -> bool:
    return passed == 1


def _none(passed: int, total: int) -> bool:
    return passed == 0


def _datatype_ok(dt: Node, v: Node) -> bool:
    return has_datatype(v, dt)


def _kind_ok(kind: Node, v: Node) -> bool:
    return has_kind(v, kind)


def _pattern_ok(pattern: re.Pattern[str], v: Node) -> bool:
    return not isinstance(v, BNode) and bool(pattern.search(str(v)))


def _length_ok(test: Callable[[int, int], bool], n: int, v: Node) -> bool:
    return not isinstance(v, BNode) and test(len(str(v)), n)


def _bound_ok(param: Node, bound: Node, v: Node) -> bool:
    return _compare(param, v, bound)


def _has_value_check(required: Node, make: Callable[[Node, Node | None], Result]) -> Check:
    def run(focus: Node, values: Collection[Node], index: Index) -> Iterator[Result]:
        if required not in values:
            yield make(focus, None)

    return run


def _pair_check(
    other: Node,
    offending: Callable[[Collection[Node], Collection[Node]], Iterable[Node]],
    make: Callable[[Node, Node | None], Result],
) -> Check:
    """sh:equals / sh:disjoint: the value nodes against the focus node's values of other."""

    def run(focus: Node, values: Collection[Node], index: Index) -> Iterator[Result]:
        for v in offending(values, index.values(focus, other)):
            yield make(focus, v)

    return run


def _differ(values: Collection[Node], others: Collection[Node]) -> Iterator[Node]:
    """Each value in one set and not the other (sh:equals reports both directions)."""
    yield from (v for v in values if v not in others)
    yield from (o for o in others if o not in values)


def _shared(values: Collection[Node], others: Collection[Node]) -> Iterator[Node]:
    return (v for v in values if v in others)


def _language_in(ranges: list[str], v: Node) -> bool:
    lang = v.language.lower() if isinstance(v, Literal) and v.language else None
    return lang is not None and any(lang == r or lang.startswith(r + "-") for r in ranges)


def _flags(text: str) -> int:
    flags = 0
    for ch in text:
        flags |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}.get(ch, 0)
    return flags


def _true(values: list[Node] | None) -> bool:
    # Only the literal true switches a constraint on: "1"^^xsd:boolean is another value (the
    # W3C suite's uniqueLang-002 checks that it is ignored).
    return bool(values) and values[0] == _TRUE  # type: ignore[index]


def _int(node: Node) -> int:
    return int(node.value) if isinstance(node, Literal) else int(str(node))


def _ge(a: int, b: int) -> bool:
    return a >= b


def _le(a: int, b: int) -> bool:
    return a <= b


def _compare(param: Node, v: Node, bound: Node) -> bool:
    order = compare_values(v, bound)
    if order is None:
        return False
    if param == _SH_minInclusive:
        return order >= 0
    if param == _SH_maxInclusive:
        return order <= 0
    if param == _SH_minExclusive:
        return order > 0
    return order < 0
