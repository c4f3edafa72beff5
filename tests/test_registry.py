"""The registry: every class of the ontology reaches every place a kind must be, a new subclass
needs no code, and a class outside every family is refused where it is declared."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from rdflib import URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS
from starlette.testclient import TestClient

from server.content.schemaorg import condition_markup
from server.http.app import create_app
from server.load.loader import load
from server.model.records import Condition, Entity, Fact, Source, Treatment
from server.model.registry import FAMILIES, STRUCTURAL, Registry, read_registry
from server.schema import Context, build_schema
from server.schema.base import graphql_type
from server.schema.kinds import NodeType, classes_of
from server.settings import Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot, build_snapshot
from server.validate.validation import validate_project

from .conftest import REPO

RECORDS = {
    "entity": Entity,
    "condition": Condition,
    "treatment": Treatment,
    "clinic": Entity,
    "source": Source,
    "fact": Fact,
}


def ontology_registry(root: Path) -> Registry:
    loaded = load(root)
    registry, unregistered = read_registry(
        t for f in loaded.files if f.kind == "ontology" for t in f.triples
    )
    assert not unregistered
    return registry


@pytest.fixture(scope="module")
def registry() -> Registry:
    return ontology_registry(REPO)


def test_every_ontology_class_is_a_kind_or_structural(registry: Registry) -> None:
    loaded = load(REPO)
    ckg = "https://clinic-kg.example/ontology#"
    ontology = loaded.ontology
    declared = {s for s in ontology.subjects(RDF.type, OWL.Class) if str(s).startswith(ckg)}
    assert declared, "the ontology declares classes"
    concept_classes = {
        c for c in declared if SKOS.Concept in ontology.transitive_objects(c, RDFS.subClassOf)
    }
    assert concept_classes >= {URIRef(ckg + "ProportionMeasure"), URIRef(ckg + "CountMeasure")}
    names = {str(c)[len(ckg) :] for c in declared - concept_classes}
    assert names == set(registry.kinds) | (names & STRUCTURAL)


def test_every_kind_has_a_record_a_graphql_type_a_search_filter_and_a_family(
    registry: Registry,
) -> None:
    node_type_classes = {c for t in NodeType for c in classes_of(t)}
    for name, kind in registry.kinds.items():
        assert issubclass(RECORDS[kind.family.record], Entity), name
        assert graphql_type(kind.ancestors) is not None, f"{name} has no GraphQL type"
        assert node_type_classes & set(kind.ancestors), f"no NodeType filters {name}"
        assert kind.family.heading, name


def test_medical_kinds_are_aligned_to_schema_org(registry: Registry) -> None:
    for root in ("Condition", "Symptom", "Cause", "RiskFactor", "DiagnosticMethod", "Treatment"):
        for name in registry.kinds_under([root]) - {"Treatment"}:
            assert registry.kinds[name].schema_types, f"{name} has no schema.org type"


def test_relations_come_from_the_ontology(registry: Registry) -> None:
    symptom = registry.relations["hasSymptom"]
    assert (symptom.domain, symptom.range) == ("Condition", "Symptom")
    assert symptom.requires_evidence
    assert symptom.schema_property == "signOrSymptom"
    assert registry.relations["possibleTreatment"].schema_property == "possibleTreatment"
    # Links to concepts or definitions are not entity relations.
    assert "category" not in registry.relations
    assert "hasDefinition" not in registry.relations


def test_a_surgical_procedure_is_a_treatment_and_stays_a_procedure(registry: Registry) -> None:
    procedure = registry.kinds["SurgicalProcedure"]
    assert procedure.is_a("Treatment")
    assert procedure.schema_types == ("SurgicalProcedure",)
    chosen = graphql_type(procedure.ancestors)
    assert chosen is not None
    assert chosen.__name__ == "SurgicalProcedure"


def test_the_most_specific_kind_of_the_first_family_wins(registry: Registry) -> None:
    ckg = "https://clinic-kg.example/ontology#"
    found = registry.kind_of([ckg + "Therapy", ckg + "PhysicalTherapy", ckg + "Cause"])
    assert found is not None
    assert found.name == "Cause"  # families in FAMILIES order: a cause before a treatment
    therapy = registry.kind_of([ckg + "Therapy", ckg + "PhysicalTherapy"])
    assert therapy is not None
    assert therapy.name == "PhysicalTherapy"
    assert [f.root for f in FAMILIES].index("Cause") < [f.root for f in FAMILIES].index("Treatment")


# -- a copy of the project with a new kind of diagnostic test, and one with an unknown class

NEW_KIND = """
@prefix ckg: <https://clinic-kg.example/ontology#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema: <https://schema.org/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .

ckg:ImagingTest a owl:Class ;
    rdfs:label "Imaging test"@en ;
    skos:definition "A diagnostic method that images the body."@en ;
    rdfs:subClassOf ckg:DiagnosticMethod, schema:ImagingTest .
"""


def copy_project(tmp_path: Path) -> Path:
    for name in ("ontology", "shapes", "kg"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def with_new_kind(tmp_path: Path) -> Snapshot:
    root = copy_project(tmp_path)
    (root / "ontology" / "imaging.ttl").write_text(NEW_KIND)
    # The seed's "imaging studies" become the new, more specific kind; nothing else changes.
    diagnosis = root / "kg" / "diagnosis.ttl"
    text = diagnosis.read_text()
    assert "kg:imaging-studies a ckg:DiagnosticMethod" in text
    diagnosis.write_text(
        text.replace(
            "kg:imaging-studies a ckg:DiagnosticMethod", "kg:imaging-studies a ckg:ImagingTest"
        )
    )
    outcome = validate_project(root)
    assert outcome.conforms, [d.render() for d in outcome.report.diagnostics]
    return build_snapshot(outcome.load, index=outcome.index)


def graphql(snap: Snapshot, query: str) -> Any:
    context = Context(store=snap, settings=Settings(), holder=StoreHolder(snap), request_id="t")
    result = build_schema().execute_sync(query, context_value=context)
    assert result.errors is None, result.errors
    return result.data


def test_a_new_subclass_reaches_graphql_search_linked_data_and_schema_org(
    with_new_kind: Snapshot,
) -> None:
    entity = with_new_kind.entity("imaging-studies")
    assert entity is not None
    assert entity.kind == "ImagingTest"
    data = graphql(
        with_new_kind,
        """{ node(id: "imaging-studies") {
          __typename ... on DiagnosticMethod { conditions { id } } }
        search(text: "imaging", types: [DIAGNOSTIC_METHOD]) { edges { node { id } } }
        condition(id: "failed-back-surgery-syndrome") { tests { edges { node { id } } } } }""",
    )
    assert data["node"] == {
        "__typename": "DiagnosticMethod",
        "conditions": [{"id": "failed-back-surgery-syndrome"}],
    }
    assert "imaging-studies" in [e["node"]["id"] for e in data["search"]["edges"]]
    assert "imaging-studies" in [e["node"]["id"] for e in data["condition"]["tests"]["edges"]]
    with TestClient(create_app(Settings(), StoreHolder(with_new_kind))) as client:
        page = client.get("/id/imaging-studies", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "Imaging studies" in page.text
    markup = condition_markup(with_new_kind, "failed-back-surgery-syndrome")
    [imaging] = [t for t in markup["about"]["typicalTest"] if t["name"] == "Imaging studies"]
    assert imaging["@type"] == "ImagingTest"  # its own schema.org alignment, read from the ontology


def test_an_unregistered_class_is_refused_where_it_is_declared(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    (root / "ontology" / "stray.ttl").write_text(
        "@prefix ckg: <https://clinic-kg.example/ontology#> .\n"
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n\n"
        "ckg:Gadget a owl:Class .\n"
    )
    outcome = validate_project(root)
    assert not outcome.conforms
    [found] = [d for d in outcome.report.diagnostics if d.code == "KG-UNREGISTERED-KIND"]
    assert (found.path, found.line, found.subject) == ("ontology/stray.ttl", 4, "ckg:Gadget")
    assert "server/model/registry.py" in found.hint
