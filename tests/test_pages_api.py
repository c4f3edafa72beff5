"""Pages as first-class GraphQL citizens, the one `facts` connection and its filters, and the
coded errors of id arguments: in process, against the seed and a copy with a second page."""

from __future__ import annotations

from typing import Any

import pytest

from server.load.loader import load
from server.schema import ClinicSchema, Context, build_schema
from server.settings import Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot, build_snapshot
from server.validate.validation import validate_project

from . import seed as seed_page
from .conftest import REPO

SEED_FACTS = seed_page.FACT_IDS

# A second, fictional page: its own condition, a symptom shared with the seed, a fact, and a
# broader link from a seed entity to an entity of this page.
SECOND_PAGE_TEXT = "Example page. Example sciatica often brings dull aching pain. It is common.\n"
SECOND_PAGE = """\
@prefix ckg: <https://clinic-kg.example/ontology#> .
@prefix kg: <https://clinic-kg.example/id/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .

kg:example-page a ckg:WebPage ;
    skos:prefLabel "Example page"@en ;
    ckg:localCopy "sources/example-page.txt" ;
    ckg:publisher kg:clinic .

kg:example-sciatica a ckg:Condition ;
    skos:prefLabel "Example sciatica"@en ;
    ckg:hasSymptom kg:dull-aching-pain ;
    prov:wasDerivedFrom kg:example-page .

kg:example-sciatica-symptom-dull-aching-pain a ckg:Assertion ;
    rdf:subject kg:example-sciatica ;
    rdf:predicate ckg:hasSymptom ;
    rdf:object kg:dull-aching-pain ;
    ckg:quote "Example sciatica often brings dull aching pain." ;
    prov:wasDerivedFrom kg:example-page .

kg:example-sciatica-is-common a ckg:QualitativeClaim ;
    skos:prefLabel "Example sciatica is common"@en ;
    ckg:about kg:example-sciatica ;
    ckg:claim "Example sciatica is common."@en ;
    ckg:quote "It is common." ;
    prov:wasDerivedFrom kg:example-page .

kg:example-disc-problem a ckg:Cause ;
    skos:prefLabel "Example disc problem"@en ;
    prov:wasDerivedFrom kg:example-page .

kg:recurrent-disc-herniation skos:broader kg:example-disc-problem .
"""


@pytest.fixture(scope="module")
def seed() -> Snapshot:
    return build_snapshot(load(REPO))


@pytest.fixture(scope="module")
def two_pages(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    import shutil

    root = tmp_path_factory.mktemp("two-pages")
    for name in ("ontology", "shapes", "kg"):
        shutil.copytree(REPO / name, root / name)
    (root / "kg" / "sources" / "example-page.txt").write_text(SECOND_PAGE_TEXT)
    (root / "kg" / "example-page.ttl").write_text(SECOND_PAGE)
    outcome = validate_project(root)
    assert outcome.conforms, [d.render() for d in outcome.report.diagnostics]
    return build_snapshot(outcome.load, index=outcome.index)


@pytest.fixture(scope="module")
def schema() -> ClinicSchema:
    return build_schema(Settings())


def execute(schema: ClinicSchema, snap: Snapshot, query: str) -> Any:
    context = Context(store=snap, settings=Settings(), holder=StoreHolder(snap), request_id="t")
    return schema.execute_sync(query, context_value=context)


def run(schema: ClinicSchema, snap: Snapshot, query: str) -> Any:
    result = execute(schema, snap, query)
    assert result.errors is None, result.errors
    return result.data


def error(schema: ClinicSchema, snap: Snapshot, query: str) -> dict[str, Any]:
    result = execute(schema, snap, query)
    assert result.errors, "expected an error"
    original = result.errors[0].original_error
    return {
        "message": result.errors[0].message,
        "code": getattr(original, "code", None),
        **getattr(original, "extensions", {}),
    }


def ids(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in connection["edges"]]


# -- the seed page, through `page` and `facts`


def test_every_seed_fact_is_reachable_from_its_page(schema: ClinicSchema, seed: Snapshot) -> None:
    data = run(
        schema,
        seed,
        """{ pages(first: 100) { edges { node { id label url localCopy } } }
        page(id: "clinic-page") { __typename label facts { id statement citation }
          conditions { id } citedSources { id } } }""",
    )
    assert "clinic-page" in ids(data["pages"])
    page = data["page"]
    assert page["__typename"] == "Page"
    assert {f["id"] for f in page["facts"]} >= SEED_FACTS
    assert all(f["statement"] and f["citation"] for f in page["facts"])
    assert {"id": "failed-back-surgery-syndrome"} in page["conditions"]
    # The page cites Pain Medicine for two success rates, and quotes the IASP's definition.
    assert {"pain-medicine", "iasp"} <= {s["id"] for s in page["citedSources"]}


def test_every_seed_fact_is_reachable_from_the_condition(
    schema: ClinicSchema, seed: Snapshot
) -> None:
    data = run(
        schema,
        seed,
        """{ condition(id: "failed-back-surgery-syndrome") {
          pages { id facts { id } } } }""",
    )
    [page] = [p for p in data["condition"]["pages"] if p["id"] == "clinic-page"]
    assert {f["id"] for f in page["facts"]} >= SEED_FACTS


def test_facts_connection_lists_numeric_and_qualitative_facts(
    schema: ClinicSchema, seed: Snapshot
) -> None:
    data = run(
        schema,
        seed,
        """{ all: facts(first: 100) { totalCount edges { node { __typename id } } }
        claims: facts(kind: QUALITATIVE_CLAIM, first: 100) { edges { node { __typename id } } }
        numbers: facts(kind: STATISTIC, first: 100) { edges { node { __typename } } } }""",
    )
    assert set(ids(data["all"])) >= SEED_FACTS
    assert set(ids(data["claims"])) >= set(seed_page.CLAIMS)
    assert {e["node"]["__typename"] for e in data["claims"]["edges"]} == {"QualitativeClaim"}
    assert {e["node"]["__typename"] for e in data["numbers"]["edges"]} == {"Statistic"}


def test_facts_by_source_page_measure_and_related(schema: ClinicSchema, seed: Snapshot) -> None:
    data = run(
        schema,
        seed,
        """{ cited: facts(source: "pain-medicine") { edges { node { id } } }
        page: facts(page: "clinic-page", first: 100) { edges { node { id } } }
        rate: facts(measure: "success-rate") { edges { node { id } } }
        direct: facts(about: "failed-back-surgery-syndrome") { edges { node { id } } }
        related: facts(about: "failed-back-surgery-syndrome", related: true, first: 100) {
          edges { node { id } } } }""",
    )
    assert set(ids(data["cited"])) == {
        "lumbar-fusion-success-rate",
        "laminectomy-discectomy-success-rate",
    }
    assert set(ids(data["page"])) >= SEED_FACTS
    assert set(ids(data["rate"])) >= {"lumbar-fusion-success-rate"}
    # A fact about the relation "fibrosis causes FBSS" is about the condition directly.
    assert "fibrosis-share-of-cases" in ids(data["direct"])
    assert set(ids(data["direct"])) <= set(ids(data["related"]))


# -- filters that name nothing: coded errors, never empty lists


@pytest.mark.parametrize(
    ("query", "code", "guess"),
    [
        ('{ facts(measure: "succes-rate") { totalCount } }', "UNKNOWN_CONCEPT", "success-rate"),
        ('{ facts(page: "clinic-pag") { totalCount } }', "UNKNOWN_ID", "clinic-page"),
        ('{ facts(source: "pain-medicin") { totalCount } }', "UNKNOWN_ID", "pain-medicine"),
        (
            '{ facts(about: "failed-back-surgery-syndrom") { totalCount } }',
            "UNKNOWN_ID",
            "failed-back-surgery-syndrome",
        ),
        ('{ treatments(category: "surgey") { totalCount } }', "UNKNOWN_CONCEPT", "surgery"),
        ('{ concepts(scheme: "Measure") { id } }', "UNKNOWN_SCHEME", "Measures"),
        (
            '{ condition(id: "failed-back-surgery-syndrome") { causes(role: "mian") { '
            "totalCount } } }",
            "UNKNOWN_CONCEPT",
            "main",
        ),
        (
            '{ clinics { edges { node { services(forCondition: "failed-back-surgery-syndrom") '
            "{ totalCount } } } } }",
            "UNKNOWN_ID",
            "failed-back-surgery-syndrome",
        ),
    ],
)
def test_unknown_filter_values_are_coded_errors_with_a_guess(
    schema: ClinicSchema, seed: Snapshot, query: str, code: str, guess: str
) -> None:
    found = error(schema, seed, query)
    assert found["code"] == code
    assert found["didYouMean"] == guess
    assert f'did you mean "{guess}"?' in found["message"]


def test_a_filter_of_the_wrong_kind_names_the_kind(schema: ClinicSchema, seed: Snapshot) -> None:
    found = error(schema, seed, '{ facts(page: "failed-back-surgery-syndrome") { totalCount } }')
    assert found["code"] == "WRONG_KIND"
    assert found["message"] == '"failed-back-surgery-syndrome" is a Condition, not a page'


def test_causes_by_role(schema: ClinicSchema, seed: Snapshot) -> None:
    data = run(
        schema,
        seed,
        """{ condition(id: "failed-back-surgery-syndrome") {
          main: causes(role: "main") { edges { node { id } role { id } } }
          other: causes(role: "other") { edges { node { id } role { id } } }
          all: causes { totalCount } } }""",
    )
    c = data["condition"]
    assert {e["role"]["id"] for e in c["main"]["edges"]} == {"main"}
    assert {e["role"]["id"] for e in c["other"]["edges"]} == {"other"}
    assert "epidural-fibrosis" in ids(c["main"])
    assert "smoking" in ids(c["other"])
    assert len(c["main"]["edges"]) + len(c["other"]["edges"]) == c["all"]["totalCount"]


# -- two pages: what each says stays its own


def test_each_page_lists_its_own_facts_and_conditions(
    schema: ClinicSchema, two_pages: Snapshot
) -> None:
    data = run(
        schema,
        two_pages,
        """{ pages(first: 100) { edges { node { id } } }
        example: page(id: "example-page") { conditions { id } facts { id }
          entities(types: [SYMPTOM]) { edges { node { id } } } }
        seed: page(id: "clinic-page") { conditions { id } facts { id } } }""",
    )
    assert {"clinic-page", "example-page"} <= set(ids(data["pages"]))
    assert data["example"]["conditions"] == [{"id": "example-sciatica"}]
    assert data["example"]["facts"] == [{"id": "example-sciatica-is-common"}]
    assert ids(data["example"]["entities"]) == ["dull-aching-pain"]
    assert "example-sciatica" not in {c["id"] for c in data["seed"]["conditions"]}
    assert "example-sciatica-is-common" not in {f["id"] for f in data["seed"]["facts"]}


def test_relations_as_one_page_says_them(schema: ClinicSchema, two_pages: Snapshot) -> None:
    data = run(
        schema,
        two_pages,
        """{ fbss: condition(id: "failed-back-surgery-syndrome") {
          seed: symptoms(page: "clinic-page") { totalCount }
          example: symptoms(page: "example-page") { totalCount } }
        sciatica: condition(id: "example-sciatica") {
          symptoms(page: "example-page") { edges { node { id } quote source { id } } }
          none: symptoms(page: "clinic-page") { totalCount } }
        shared: node(id: "dull-aching-pain") { pages { id } } }""",
    )
    assert data["fbss"]["seed"]["totalCount"] > 0
    assert data["fbss"]["example"]["totalCount"] == 0
    [edge] = data["sciatica"]["symptoms"]["edges"]
    assert edge == {
        "node": {"id": "dull-aching-pain"},
        "quote": "Example sciatica often brings dull aching pain.",
        "source": {"id": "example-page"},
    }
    assert data["sciatica"]["none"]["totalCount"] == 0
    assert {p["id"] for p in data["shared"]["pages"]} == {"clinic-page", "example-page"}


def test_broader_and_narrower_both_ways(schema: ClinicSchema, two_pages: Snapshot) -> None:
    data = run(
        schema,
        two_pages,
        """{ specific: node(id: "recurrent-disc-herniation") { broader { id } narrower { id } }
        general: node(id: "example-disc-problem") { broader { id } narrower { id } } }""",
    )
    assert data["specific"] == {"broader": [{"id": "example-disc-problem"}], "narrower": []}
    assert data["general"] == {"broader": [], "narrower": [{"id": "recurrent-disc-herniation"}]}


def test_the_code_and_guess_reach_http_clients(seed: Snapshot) -> None:
    from starlette.testclient import TestClient

    from server.http.app import create_app

    with TestClient(create_app(Settings(), StoreHolder(seed))) as client:
        r = client.post(
            "/graphql", json={"query": '{ facts(measure: "succes-rate") { totalCount } }'}
        )
    [found] = r.json()["errors"]
    assert found["extensions"]["code"] == "UNKNOWN_CONCEPT"
    assert found["extensions"]["didYouMean"] == "success-rate"
    assert found["extensions"]["argumentValue"] == "succes-rate"
