"""Resolvers, in process: the fields the end-to-end tests do not walk, against the seed snapshot."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from server.load.loader import load
from server.model.records import Source
from server.schema import ClinicSchema, Context, build_schema
from server.settings import Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot, build_snapshot

from .conftest import REPO


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return build_snapshot(load(REPO))


@pytest.fixture(scope="module")
def schema() -> ClinicSchema:
    return build_schema(Settings())


def run(schema: ClinicSchema, snap: Snapshot, query: str, **variables: Any) -> Any:
    context = Context(store=snap, settings=Settings(), holder=StoreHolder(snap), request_id="t")
    result = schema.execute_sync(query, variables or None, context_value=context)
    assert result.errors is None, result.errors
    return result.data


# Added to a copy of the project: links the seed page does not make, so the fields that follow
# them have something to show whatever kg/ holds (the snapshot is built without validation).
FIXTURE_TTL = """\
@prefix ckg: <https://clinic-kg.example/ontology#> .
@prefix kg: <https://clinic-kg.example/id/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .

kg:tramadol ckg:drugClass kg:opioids .

kg:fixture-unlinked-symptom a ckg:Symptom ;
    skos:prefLabel "Fixture symptom of no condition"@en .
"""


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    root = tmp_path_factory.mktemp("linked")
    for name in ("ontology", "shapes", "kg"):
        shutil.copytree(REPO / name, root / name)
    (root / "kg" / "fixture-links.ttl").write_text(FIXTURE_TTL, encoding="utf-8")
    return build_snapshot(load(root))


def test_drug_classes_and_their_drugs(schema: ClinicSchema, linked: Snapshot) -> None:
    data = run(
        schema,
        linked,
        """{
      tramadol: node(id: "tramadol") { ... on Drug {
        drugClasses { totalCount edges { node { id } } } brandNames } }
      opioids: node(id: "opioids") { ... on DrugClass { drugs { id } category { id } } }
    }""",
    )
    assert data["tramadol"]["drugClasses"]["totalCount"] >= 1
    assert {"node": {"id": "opioids"}} in data["tramadol"]["drugClasses"]["edges"]
    assert data["tramadol"]["brandNames"] == []
    assert {"id": "tramadol"} in data["opioids"]["drugs"]
    assert data["opioids"]["category"] == {"id": "medication"}


def test_treatment_may_reduce_a_cause_with_evidence(schema: ClinicSchema, snap: Snapshot) -> None:
    data = run(
        schema,
        snap,
        """{
      pt: node(id: "physical-therapy") { ... on Treatment {
        mayReduce { edges { node { id } quote evidence { id sources { id } } } } } }
      cause: node(id: "spinal-muscular-deconditioning") { ... on Cause { reducedBy { id } } }
    }""",
    )
    edge = next(
        e
        for e in data["pt"]["mayReduce"]["edges"]
        if e["node"] == {"id": "spinal-muscular-deconditioning"}
    )
    assert edge["quote"].startswith("A comprehensive physical therapy program")
    assert edge["evidence"] == [
        {"id": "physical-therapy-reduces-deconditioning", "sources": [{"id": "clinic-page"}]}
    ]
    assert {"id": "physical-therapy"} in data["cause"]["reducedBy"]


def test_every_node_kind_resolves_to_its_type(schema: ClinicSchema, snap: Snapshot) -> None:
    ids = {
        "failed-back-surgery-syndrome": "Condition",
        "back-pain": "Symptom",
        "smoking": "Cause",
        "physical-therapy": "PhysicalTherapy",
        "selective-nerve-block": "InterventionalProcedure",
        "acupuncture": "ComplementaryTherapy",
        "massage-therapy": "Therapy",
        "acetaminophen": "Drug",
        "nsaids": "DrugClass",
        "spinal-fusion": "SurgicalProcedure",
        "imaging-studies": "DiagnosticMethod",
        "clinic": "Clinic",
        "vida-massage-spa": "Spa",
        "clinic-page": "Page",
        "pain-medicine": "Periodical",
        "iasp": "Organization",
        "curator": "Curator",
        "spinal-fusion-increase": "Statistic",
        "success-rate-falls-after-repeat-surgery": "QualitativeClaim",
    }
    data = run(
        schema, snap, "query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }", ids=list(ids)
    )
    assert {n["id"]: n["__typename"] for n in data["nodes"]} == ids


def test_concepts_codes_and_sources(schema: ClinicSchema, snap: Snapshot) -> None:
    data = run(
        schema,
        snap,
        """{
      concepts(scheme: "Units") { id iri scheme label notation definition }
      node(id: "acetaminophen") { externalCodes { system code label foundIn } }
      sources { edges { node { id localCopy sourceType } } }
    }""",
    )
    percent = next(c for c in data["concepts"] if c["id"] == "percent")
    assert percent == {
        "id": "percent",
        "iri": "https://clinic-kg.example/ontology/unit/percent",
        "scheme": "Units",
        "label": "percent",
        "notation": "%",
        "definition": "Hundredths of the whole, or of the earlier value for a relative change.",
    }
    assert {
        "system": "ATC",
        "code": "N02BE01",
        "label": "paracetamol",
        "foundIn": "WHO ATC index",
    } in data["node"]["externalCodes"]
    page = next(e["node"] for e in data["sources"]["edges"] if e["node"]["id"] == "clinic-page")
    assert (page["id"], page["sourceType"]) == ("clinic-page", "WebPage")
    # The path the data gives, relative to kg/ (wherever a steward keeps the copy).
    source = snap.entity("clinic-page")
    assert isinstance(source, Source)
    assert page["localCopy"] == source.local_copy
    assert (REPO / "kg" / page["localCopy"]).is_file()


def test_fact_fields(schema: ClinicSchema, snap: Snapshot) -> None:
    data = run(
        schema,
        snap,
        """{ fact(id: "laminectomy-discectomy-annual-count") {
      label about { id } measure { id } population region period fullCitation facts { id }
      ... on Statistic { statisticType valueText value }
    } }""",
    )
    assert data["fact"] == {
        "label": "Lumbar laminectomies and discectomies performed in the United States",
        "about": [{"id": "discectomy"}, {"id": "laminectomy"}],
        "measure": {"id": "annual-count"},
        "population": "lumbar laminectomies and discectomies",
        "region": "United States",
        "period": "every year",
        "fullCitation": "“What is Spine Surgery Pain”, clinic page published by The clinic. "
        "Fact laminectomy-discectomy-annual-count.",
        "facts": [],
        "statisticType": "Count",
        "valueText": "approximately 200,000 per year",
        "value": 200000.0,
    }


def test_labels_fall_back_to_english(schema: ClinicSchema, snap: Snapshot) -> None:
    data = run(
        schema,
        snap,
        '{ node(id: "smoking") { label(lang: "fr") altLabels(lang: "fr") '
        'definition(lang: "fr") } }',
    )
    assert data["node"] == {"label": "Smoking", "altLabels": [], "definition": None}


def test_symptom_and_test_reverse_links(schema: ClinicSchema, linked: Snapshot) -> None:
    data = run(
        schema,
        linked,
        """{
      s: node(id: "stabbing-pain") { ... on Symptom { conditions { id } } }
      t: node(id: "patient-examination") { ... on DiagnosticMethod { conditions { id } } }
      unlinked: node(id: "fixture-unlinked-symptom") { ... on Symptom { conditions { id } } }
    }""",
    )
    assert {"id": "failed-back-surgery-syndrome"} in data["s"]["conditions"]
    assert {"id": "failed-back-surgery-syndrome"} in data["t"]["conditions"]
    assert data["unlinked"]["conditions"] == []


def test_negative_first_is_refused(schema: ClinicSchema, snap: Snapshot) -> None:
    context = Context(store=snap, settings=Settings(), holder=StoreHolder(snap), request_id="t")
    result = schema.execute_sync("{ conditions(first: -1) { totalCount } }", context_value=context)
    assert result.errors is not None
    assert result.errors[0].message == "`first` must be between 0 and 100 (max_page_size); got -1"


def test_condition_schema_org_is_the_exported_document(
    schema: ClinicSchema, snap: Snapshot
) -> None:
    from server.content.schemaorg import condition_markup

    query = '{ condition(id: "failed-back-surgery-syndrome") { schemaOrg } }'
    document = run(schema, snap, query)["condition"]["schemaOrg"]
    assert document == condition_markup(snap, "failed-back-surgery-syndrome")
    assert document["@type"] == "MedicalWebPage"
    assert document["about"]["@type"] == "MedicalCondition"
    names = {t["name"] for t in document["about"]["possibleTreatment"]}
    assert {"Acetaminophen", "Physical therapy", "Acupuncture"} <= names
    # The page argument names the same (only) page.
    query = '{ condition(id: "failed-back-surgery-syndrome") { schemaOrg(page: "clinic-page") } }'
    assert run(schema, snap, query)["condition"]["schemaOrg"] == document
