"""Run the SHACL shapes and turn each result into a located, coded diagnostic.

The shapes run on our SHACL Core engine (server/validate/engine.py) when they use only what it
implements, and on pyshacl-turbo otherwise, with a warning logged (clinic_kg.shacl) that says why;
`engine="pyshacl"` forces the reference implementation, pyshacl.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH, XSD
from rdflib.term import Node

from server.diagnostics import Diagnostic, Severity
from server.load.loader import LoadResult
from server.load.locations import SourceMap
from server.rdf.namespaces import SHP, closest_curie, curie
from server.validate.engine import Engine, Index, Result, ShapeRecursion
from server.validate.hints import accepted, value_hint
from server.validate.native_constraints import evaluate, split_shapes

log = logging.getLogger("clinic_kg.shacl")

# Stable codes by SHACL constraint component; a shape may override with `shp:code "KG-…"`.
CODES: dict[str, str] = {
    "MinCount": "KG-MINCOUNT",
    "MaxCount": "KG-MAXCOUNT",
    "QualifiedMinCount": "KG-MINCOUNT",
    "QualifiedMaxCount": "KG-MAXCOUNT",
    "Class": "KG-CLASS",
    "Datatype": "KG-DATATYPE",
    "NodeKind": "KG-NODEKIND",
    "Closed": "KG-CLOSED",
    "MinInclusive": "KG-RANGE",
    "MaxInclusive": "KG-RANGE",
    "MinExclusive": "KG-RANGE",
    "MaxExclusive": "KG-RANGE",
    "LessThanOrEquals": "KG-ORDER",
    "LessThan": "KG-ORDER",
    "Pattern": "KG-PATTERN",
    "MinLength": "KG-PATTERN",
    "LanguageIn": "KG-LANGUAGE",
    "UniqueLang": "KG-UNIQUE-LANG",
    "HasValue": "KG-HASVALUE",
    "In": "KG-IN",
    "Node": "KG-NODE",
    "Or": "KG-OR",
    "Xone": "KG-XONE",
    "And": "KG-AND",
    "Not": "KG-NOT",
    "SPARQL": "KG-SPARQL",
}
_SEVERITY = {SH.Violation: Severity.ERROR, SH.Warning: Severity.WARNING, SH.Info: Severity.INFO}
_CODE = SHP.code
_IRI_IN_TEXT = re.compile(r"<(https?://[^>\s]+)>|(https?://[^\s,;)]+)")


def shacl_triples(loaded: LoadResult) -> Iterator[tuple[Node, Node, Node]]:
    """kg/ data plus the ontology (class hierarchy and concept schemes), as SHACL sees them."""
    for f in loaded.files:
        if f.kind in ("kg", "ontology"):
            yield from f.triples


def shacl_data_graph(loaded: LoadResult) -> Graph:
    merged = Graph(bind_namespaces="none")
    for triple in shacl_triples(loaded):
        merged.add(triple)
    return merged


@dataclass(frozen=True)
class ShaclRun:
    """One SHACL run: its results, the engine that produced them, and why ours could not."""

    results: tuple[Result, ...]
    engine: str  # "native", "pyshacl-turbo" (the fallback) or "pyshacl" (the reference)
    unsupported: tuple[str, ...] = ()  # what made the native engine hand the run over


def validate_graph(
    index: Index, shapes: Graph, data: Callable[[], Graph], engine: str = "auto"
) -> ShaclRun:
    """Run shapes over the triples in index: on our engine when it implements every shape (or
    engine="native", which raises otherwise), else on pyshacl-turbo over data(), with a warning
    logged; engine="pyshacl" runs the reference implementation.

    Raises ShapeRecursion when a shape reaches itself on the same node (SHACL leaves that open).
    """
    remaining, native = split_shapes(shapes)
    unsupported: tuple[str, ...] = ()
    compiled = Engine(remaining) if engine != "pyshacl" else None
    if compiled is not None and compiled.supports():
        results = compiled.validate(index)
        used = "native"
    elif engine == "native":
        raise ValueError(
            "the shapes use features the native engine lacks: "
            + "; ".join(compiled.unsupported if compiled else [])
        )
    else:
        unsupported = tuple(compiled.unsupported) if compiled else ()
        if compiled is None:
            results, used = _pyshacl_results(data(), remaining, index), "pyshacl"
        else:
            shown = "; ".join(unsupported[:3]) + (" …" if len(unsupported) > 3 else "")
            log.warning(
                "SHACL: the shapes use what the native engine does not implement (%s); "
                "running pyshacl-turbo instead, which is much slower",
                shown,
            )
            results, used = _fallback_results(data(), remaining, index), "pyshacl-turbo"
    results.extend(evaluate(index, shapes, native))
    return ShaclRun(tuple(results), used, unsupported)


def run_shacl(loaded: LoadResult, index: Index, engine: str = "auto") -> list[Diagnostic]:
    """Validate; engine is "auto" (ours when the shapes allow it), "native" or "pyshacl".

    index holds shacl_triples(loaded): built once by the caller and shared with the checks.
    """
    try:
        run = validate_graph(index, loaded.shapes, lambda: shacl_data_graph(loaded), engine)
    except ShapeRecursion as loop:
        return [_recursion(loop, loaded, index)]
    return _diagnostics(list(run.results), loaded, index)


def _recursion(loop: ShapeRecursion, loaded: LoadResult, index: Index) -> Diagnostic:
    loc = SourceMap(loaded).locate(loop.focus, None)
    return Diagnostic(
        path=loc.path or "shapes/",
        line=loc.line,
        severity=Severity.ERROR,
        code="KG-SHACL",
        message=f"shape {_show(loop.shape)} reaches itself again on this node through "
        "sh:node or sh:property: SHACL leaves recursive shapes undefined, so it was not validated",
        subject=_show(loc.subject),
        label=index.label(loc.subject),
        shape=_show(loop.shape),
        hint="break the cycle in shapes/ (a shape that checks the same node again), "
        "or the cycle in the data it follows",
    )


def _pyshacl_results(data: Graph, shapes: Graph, index: Index) -> list[Result]:
    """pyshacl's results: the reference implementation (engine="pyshacl", and the tests)."""
    # Imported here: half a second on every start, and only needed when the engine cannot run.
    from pyshacl import validate

    return _report_results(validate, data, shapes, index)


def _fallback_results(data: Graph, shapes: Graph, index: Index) -> list[Result]:
    """pyshacl-turbo's results: pyshacl's API and report in Rust, several times faster, and it
    runs the W3C SHACL-SPARQL entries pyshacl cannot (owl:imports prefixes, $shapesGraph)."""
    from pyshacl_turbo import validate

    return _report_results(validate, data, shapes, index)


def _report_results(
    validate: Callable[..., tuple[object, object, object]],
    data: Graph,
    shapes: Graph,
    index: Index,
) -> list[Result]:
    _, graph, _ = validate(
        data,
        shacl_graph=shapes,
        inference="none",
        abort_on_first=False,
        allow_infos=True,
        allow_warnings=True,
        advanced=False,
    )
    if not isinstance(graph, Graph):  # pragma: no cover - both return a graph when asked
        raise TypeError("the SHACL validator returned no results graph")
    results = []
    # Only the report's own results: nested ones (sh:detail of sh:node failures) are explanation.
    for row in graph.objects(None, SH.result):
        focus = graph.value(row, SH.focusNode)
        source = graph.value(row, SH.sourceShape)
        if focus is None or source is None:
            continue
        results.append(
            Result(
                focus=focus,
                path=graph.value(row, SH.resultPath),
                value=graph.value(row, SH.value),
                shape=source,
                component=_iri(graph.value(row, SH.sourceConstraintComponent)),
                severity=graph.value(row, SH.resultSeverity) or SH.Violation,
                messages=tuple(
                    m for m in graph.objects(row, SH.resultMessage) if isinstance(m, Literal)
                ),
                node_shape=_node_shape(shapes, source, index, focus),
            )
        )
    return results


def _diagnostics(results: list[Result], loaded: LoadResult, index: Index) -> list[Diagnostic]:
    if not results:
        return []
    where = SourceMap(loaded)
    shapes = loaded.shapes
    found = []
    for r in results:
        loc = where.locate(r.focus, r.path)
        code = _code(shapes, r.shape, r.node_shape, r.component)
        found.append(
            Diagnostic(
                path=loc.path or "kg/",
                line=loc.line,
                severity=_SEVERITY.get(_iri(r.severity), Severity.ERROR),
                code=code,
                message=_message(r.messages),
                subject=_show(loc.subject),
                label=index.label(loc.subject),
                property=_show(r.path) if isinstance(r.path, URIRef) else "",
                shape=_show(r.node_shape) if r.node_shape is not None else "",
                value=_show(r.value) if r.value is not None and r.value != loc.subject else "",
                hint=_hint(code, index, shapes, r, loaded),
            )
        )
    return found


def _iri(node: Node | None) -> URIRef:
    return node if isinstance(node, URIRef) else URIRef("")


def _message(messages: tuple[Literal, ...]) -> str:
    english = [m for m in messages if m.language in (None, "en")]
    chosen = english[0] if english else (messages[0] if messages else "violates its shape")
    return _curie_iris(str(chosen))


def _curie_iris(text: str) -> str:
    # pyshacl substitutes {?var} with bare or bracketed IRIs; show them as CURIEs.
    return _IRI_IN_TEXT.sub(lambda m: curie(m.group(1) or m.group(2)), text)


def _node_shape(shapes: Graph, source: Node, index: Index, focus: Node) -> Node | None:
    """The targeted node shape a pyshacl result belongs to (pyshacl names the property shape)."""
    if (source, RDF.type, SH.NodeShape) in shapes or isinstance(source, BNode):
        return source
    parents = sorted(shapes.subjects(SH.property, source), key=str)
    for parent in parents:
        if any(index.is_instance(focus, c) for c in shapes.objects(parent, SH.targetClass)):
            return parent
    return parents[0] if parents else source


def _code(
    shapes: Graph, source: Node | None, node_shape: Node | None, component: Node | None
) -> str:
    for shape in (source, node_shape):
        if shape is not None:
            override = shapes.value(shape, _CODE)
            if override is not None:
                return str(override)
    name = str(component or "").rsplit("#", 1)[-1].removesuffix("ConstraintComponent")
    return CODES.get(name, "KG-SHACL")


_DATATYPE_HINTS = {
    XSD.decimal: 'write the number as a decimal: "85"^^xsd:decimal (no %, no thousands separator)',
    RDF.langString: 'add a language tag: "…"@en',
    XSD.string: 'write a plain string "…", without a language tag or datatype',
}


def _hint(code: str, index: Index, shapes: Graph, r: Result, loaded: LoadResult) -> str:
    if code == "KG-CLOSED" and r.node_shape is not None and isinstance(r.path, URIRef):
        return _closed_hint(shapes, r.node_shape, r.path)
    if code == "KG-DATATYPE":
        datatype = shapes.value(r.shape, SH.datatype)
        return _DATATYPE_HINTS.get(_iri(datatype), "")
    if r.path is not None and isinstance(r.value, (URIRef, Literal)):  # what is wanted instead
        wanted = accepted(shapes, r.shape, index)
        if wanted is not None:
            return value_hint(r.value, wanted, index, loaded)
    return ""


def _closed_hint(shapes: Graph, node_shape: Node, path: URIRef) -> str:
    allowed = sorted(
        {
            curie(str(p))
            for ps in shapes.objects(node_shape, SH.property)
            for p in shapes.objects(ps, SH.path)
            if isinstance(p, URIRef)
        }
    )
    known = {str(p) for p in shapes.objects(None, SH.path)}
    if str(path) not in known:  # not a property of any shape: most likely a typo
        guess = closest_curie(curie(str(path)), allowed)
        if guess:
            return f"did you mean {guess}?"
    return "allowed here: " + ", ".join(allowed)


def _show(node: Node | None) -> str:
    if isinstance(node, URIRef):
        return curie(str(node))
    if isinstance(node, Literal):
        text = str(node)
        text = text if len(text) <= 60 else text[:57] + "..."
        shown = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        if node.language:
            return f"{shown}@{node.language}"
        if node.datatype is not None and node.datatype != XSD.string:
            return f"{shown}^^{curie(str(node.datatype))}"
        return shown
    return "[]" if isinstance(node, BNode) else ""
