"""Run the SHACL shapes (pyshacl) and turn each result into a located, coded diagnostic."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from pyshacl import validate as pyshacl_validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from .diagnostics import Diagnostic, Severity
from .loader import LoadResult
from .locations import SourceMap
from .namespaces import SHP, curie
from .native_constraints import evaluate, split_shapes

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


def shacl_data_graph(loaded: LoadResult) -> Graph:
    """kg/ data plus the ontology (class hierarchy and concept schemes), as SHACL sees it."""
    merged = Graph(bind_namespaces="none")
    for triple in loaded.data:
        merged.add(triple)
    for triple in loaded.ontology:
        merged.add(triple)
    return merged


def run_shacl(loaded: LoadResult) -> list[Diagnostic]:
    data = shacl_data_graph(loaded)
    shapes, native = split_shapes(loaded.shapes)
    _, results, _ = pyshacl_validate(
        data,
        shacl_graph=shapes,
        inference="none",
        abort_on_first=False,
        allow_infos=True,
        allow_warnings=True,
        advanced=False,
    )
    if not isinstance(results, Graph):  # pragma: no cover - pyshacl returns a graph when asked
        raise TypeError("pyshacl returned no results graph")
    evaluate(data, loaded.shapes, native, results)
    return list(_diagnostics(results, loaded, data))


def _diagnostics(results: Graph, loaded: LoadResult, data: Graph) -> Iterator[Diagnostic]:
    rows = list(results.subjects(RDF.type, SH.ValidationResult))
    if not rows:
        return
    where = SourceMap(loaded)
    shapes = loaded.shapes
    for row in rows:
        focus = results.value(row, SH.focusNode)
        path = results.value(row, SH.resultPath)
        value = results.value(row, SH.value)
        source_shape = results.value(row, SH.sourceShape)
        component = results.value(row, SH.sourceConstraintComponent)
        severity = _SEVERITY.get(_iri(results.value(row, SH.resultSeverity)), Severity.ERROR)
        message = _message(results, row)
        if focus is None:
            continue
        loc = where.locate(focus, path)
        node_shape = _node_shape(shapes, source_shape, data, loc.subject)
        code = _code(shapes, source_shape, node_shape, component)
        yield Diagnostic(
            path=loc.path or "kg/",
            line=loc.line,
            severity=severity,
            code=code,
            message=message,
            subject=_show(loc.subject),
            label=where.label(loc.subject, data),
            property=_show(path) if isinstance(path, URIRef) else "",
            shape=_show(node_shape) if node_shape is not None else "",
            value=_show(value) if value is not None and value != loc.subject else "",
            hint=_hint(code, data, shapes, node_shape, path, value),
        )


def _iri(node: Node | None) -> URIRef:
    return node if isinstance(node, URIRef) else URIRef("")


def _message(results: Graph, row: Node) -> str:
    messages = list(results.objects(row, SH.resultMessage))
    english = [m for m in messages if isinstance(m, Literal) and m.language in (None, "en")]
    chosen = english[0] if english else (messages[0] if messages else "violates its shape")
    return _curie_iris(str(chosen))


def _curie_iris(text: str) -> str:
    # pyshacl substitutes {?var} with bare or bracketed IRIs; show them as CURIEs.
    return _IRI_IN_TEXT.sub(lambda m: curie(m.group(1) or m.group(2)), text)


def _node_shape(shapes: Graph, source: Node | None, data: Graph, focus: Node) -> Node | None:
    """The node shape to name: the source shape itself, or the node shape that lists it."""
    if source is None or isinstance(source, BNode):
        return source
    if (source, RDF.type, SH.NodeShape) in shapes:
        return source
    parents = list(shapes.subjects(SH.property, source))
    if len(parents) <= 1:
        return parents[0] if parents else source
    types = set(data.objects(focus, RDF.type))
    for parent in sorted(parents, key=str):
        if types & set(shapes.objects(parent, SH.targetClass)):
            return parent
    return sorted(parents, key=str)[0]


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


def _hint(
    code: str,
    data: Graph,
    shapes: Graph,
    node_shape: Node | None,
    path: Node | None,
    value: Node | None,
) -> str:
    if code == "KG-CLOSED" and node_shape is not None and isinstance(path, URIRef):
        allowed = sorted(
            {
                curie(str(p))
                for ps in shapes.objects(node_shape, SH.property)
                for p in shapes.objects(ps, SH.path)
                if isinstance(p, URIRef)
            }
        )
        close = difflib.get_close_matches(curie(str(path)), allowed, n=1, cutoff=0.6)
        if close:
            return f"did you mean {close[0]}?"
        return "allowed here: " + ", ".join(allowed)
    if code == "KG-CLASS" and isinstance(value, URIRef) and (value, None, None) not in data:
        described = sorted(
            {curie(str(s)) for s in data.subjects(RDF.type) if isinstance(s, URIRef)}
        )
        close = difflib.get_close_matches(curie(str(value)), described, n=1, cutoff=0.6)
        guess = f"; did you mean {close[0]}?" if close else ""
        return f"nothing in the graph describes {curie(str(value))}{guess}"
    if code == "KG-DATATYPE" and isinstance(value, Literal):
        return 'write numbers as "85"^^xsd:decimal and texts as "…"@en'
    return ""


def _show(node: Node | None) -> str:
    if isinstance(node, URIRef):
        return curie(str(node))
    if isinstance(node, Literal):
        text = str(node)
        return repr(text if len(text) <= 60 else text[:57] + "...")
    return "[]" if isinstance(node, BNode) else ""
