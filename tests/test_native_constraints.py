"""The native unique-label check gives exactly pyshacl's SHACL-SPARQL results."""

from __future__ import annotations

from pyshacl import validate as pyshacl_validate
from rdflib import Graph, Literal
from rdflib.namespace import RDF, SH, SKOS

from server.load.loader import load
from server.rdf.namespaces import CKG, KG
from server.validate.engine import Index
from server.validate.native_constraints import evaluate, split_shapes

from .conftest import REPO

DUPLICATES = f"""
@prefix ckg: <{CKG}> .
@prefix kg: <{KG}> .
@prefix skos: <{SKOS}> .
kg:a a ckg:Symptom ; skos:prefLabel "Back pain"@en .
kg:b a ckg:Symptom ; skos:prefLabel "back PAIN"@en .
kg:c a ckg:Symptom ; skos:prefLabel "Back pain"@de .
kg:d a ckg:Cause ; skos:prefLabel "Back pain"@en .
kg:e a ckg:Cause ; skos:prefLabel "Back pain"@en ; skos:prefLabel "Rückenschmerz"@de .
kg:f a ckg:Therapy ; skos:prefLabel "Same"@en .
kg:g a ckg:PhysicalTherapy ; skos:prefLabel "Same"@en .
kg:h a ckg:Proportion ; skos:prefLabel "Same"@en .
kg:i a ckg:Proportion ; skos:prefLabel "Same"@en .
kg:j a ckg:Symptom ; skos:prefLabel "Unique"@en .
"""


def _rows(results: Graph) -> set[tuple[str, str, str]]:
    rows = set()
    for r in results.subjects(SH.sourceConstraintComponent, SH.SPARQLConstraintComponent):
        rows.add(
            (
                str(results.value(r, SH.focusNode)),
                str(results.value(r, SH.value)),
                str(results.value(r, SH.resultMessage)),
            )
        )
    return rows


def _data() -> tuple[Graph, Graph]:
    loaded = load(REPO)
    data = Graph().parse(data=DUPLICATES, format="turtle")
    for triple in loaded.ontology:
        data.add(triple)
    return data, loaded.shapes


def test_native_results_equal_pyshacl_sparql_results() -> None:
    data, shapes = _data()
    _, theirs, _ = pyshacl_validate(data, shacl_graph=shapes, inference="none")
    assert isinstance(theirs, Graph)
    _, taken = split_shapes(shapes)
    assert len(taken) == 1
    ours = {
        (str(r.focus), str(r.value), str(r.messages[0]))
        for r in evaluate(Index(data), shapes, taken)
    }
    expected = _rows(theirs)
    assert expected, "the fixture must trigger the constraint"
    assert ours == expected
    focus = {row[0].rsplit("/", 1)[1] for row in expected}
    assert focus == {"a", "b", "d", "e", "h", "i"}


def test_an_edited_query_falls_back_to_pyshacl() -> None:
    _, shapes = _data()
    constraint = next(shapes.objects(None, SH.sparql))
    query = shapes.value(constraint, SH.select)
    shapes.set((constraint, SH.select, Literal(str(query).replace("lcase", "ucase"))))
    remaining, taken = split_shapes(shapes)
    assert taken == []
    assert (None, SH.sparql, constraint) in remaining


def test_native_constraint_is_removed_from_what_pyshacl_sees() -> None:
    _, shapes = _data()
    remaining, taken = split_shapes(shapes)
    assert taken
    assert not list(remaining.objects(taken[0][0].shape, SH.sparql))
    assert (taken[0][0].shape, RDF.type, SH.NodeShape) in remaining
