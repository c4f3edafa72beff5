"""schema.org JSON-LD for a condition as one page says it: only schema.org terms, within their
domains and ranges; only what that page says; built from records (any Store will do)."""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS

from server.content.schemaorg import (
    NotACondition,
    PageNotAbout,
    PageRequired,
    condition_markup,
    conditions,
    pages_about,
)
from server.http.app import create_app
from server.load.loader import LoadResult, load
from server.model.records import Condition, Source
from server.rdf.namespaces import KG, SCHEMA
from server.settings import Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot, build_snapshot
from server.validate.validation import validate_project

from . import seed
from .conftest import REPO
from .fake_store import FakeStore

with warnings.catch_warnings():
    # Starlette would rather its TestClient ran on httpx2; httpx is what the project has.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

FBSS = KG["failed-back-surgery-syndrome"]
FBSS_ID = "failed-back-surgery-syndrome"
FIXTURES = Path(__file__).parent / "fixtures"
VOCAB_FILE = FIXTURES / "schemaorg-vocab.ttl"
SECOND_PAGE = FIXTURES / "second-page"
DOMAIN, RANGE = SCHEMA.domainIncludes, SCHEMA.rangeIncludes
TEXT = "Text"


@pytest.fixture(scope="module")
def loaded() -> LoadResult:
    result = load(REPO)
    assert result.ok, [d.render() for d in result.diagnostics]
    return result


@pytest.fixture(scope="module")
def snap(loaded: LoadResult) -> Snapshot:
    return build_snapshot(loaded)


@pytest.fixture(scope="module")
def document(snap: Snapshot) -> dict[str, Any]:
    return condition_markup(snap, FBSS_ID)


@pytest.fixture(scope="module")
def two_pages(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """A copy of the project with a second, fictional page (tests/fixtures/second-page) that
    offers spinal fusion (a surgical procedure) for the condition and adds a synonym to
    acetaminophen, an entity the first page speaks of too."""
    root = tmp_path_factory.mktemp("two-pages")
    for name in ("ontology", "shapes", "kg"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(SECOND_PAGE / "second-page.ttl", root / "kg" / "sources")
    shutil.copy(SECOND_PAGE / "sources" / "second-page.txt", root / "kg" / "sources")
    outcome = validate_project(root, (), Settings())
    assert outcome.conforms, outcome.report
    return build_snapshot(outcome.load, index=outcome.index)


@pytest.fixture(scope="module")
def vocab() -> Graph:
    return Graph().parse(VOCAB_FILE, format="turtle")


def superclasses(vocab: Graph, name: str) -> set[str]:
    """`name` and every schema.org class above it, as local names."""
    return {str(c)[len(SCHEMA) :] for c in vocab.transitive_objects(SCHEMA[name], RDFS.subClassOf)}


def types_of(node: dict[str, Any]) -> list[str]:
    value = node["@type"]
    return [value] if isinstance(value, str) else list(value)


def nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON-LD node object in the document, nested ones included."""
    if isinstance(value, dict):
        yield value
        for key, item in value.items():
            if not key.startswith("@"):
                yield from nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from nodes(item)


def ids(items: list[dict[str, Any]]) -> set[str]:
    """The graph ids of JSON-LD nodes."""
    return {item["@id"].removeprefix(str(KG)) for item in items}


def values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def out_of_vocabulary(document: dict[str, Any], vocab: Graph) -> tuple[list[str], set[str]]:
    """What in `document` is not schema.org, or outside a property's domain or range; and the
    properties it uses."""
    problems = []
    used_properties = set()
    for node in nodes(document):
        node_types = types_of(node)
        for name in node_types:
            if (SCHEMA[name], RDF.type, RDFS.Class) not in vocab:
                problems.append(f"type {name} is not a schema.org class in the fixture")
        above = set().union(*(superclasses(vocab, t) for t in node_types))
        for key, value in node.items():
            if key.startswith("@"):
                continue
            used_properties.add(key)
            prop = SCHEMA[key]
            if (prop, RDF.type, RDF.Property) not in vocab:
                problems.append(f"{key} is not a schema.org property in the fixture")
                continue
            domain = {str(d)[len(SCHEMA) :] for d in vocab.objects(prop, DOMAIN)}
            if not domain & above:
                problems.append(f"{key} used on {node_types}, outside its domain {sorted(domain)}")
            allowed = {str(r)[len(SCHEMA) :] for r in vocab.objects(prop, RANGE)}
            for item in values(value):
                if isinstance(item, dict):
                    fits = set().union(*(superclasses(vocab, t) for t in types_of(item)))
                else:
                    assert isinstance(item, str), (key, item)
                    fits = superclasses(vocab, "URL" if key == "url" else TEXT)
                if not fits & allowed:
                    problems.append(f"{key} value {item!r:.60} outside its range {sorted(allowed)}")
    return problems, used_properties


def test_every_term_is_schema_org_within_domain_and_range(
    document: dict[str, Any], vocab: Graph
) -> None:
    problems, used_properties = out_of_vocabulary(document, vocab)
    assert problems == []
    # The list, so a refactoring cannot quietly drop one of them.
    expected = {"about", "signOrSymptom", "cause", "possibleTreatment", "typicalTest", "code"}
    assert expected | {"citation", "codeValue", "codingSystem"} <= used_properties


def test_page_about_condition_with_its_relations(document: dict[str, Any]) -> None:
    assert document["@context"] == "https://schema.org"
    assert document["@type"] == "MedicalWebPage"
    assert document["@id"] == str(KG["clinic-page"])
    condition = document["about"]
    assert condition["@type"] == "MedicalCondition"
    assert condition["@id"] == str(FBSS)
    assert condition["name"] == "Failed back surgery syndrome"
    # Synonyms the page's text uses; not those that only the codes' tables give.
    assert "Spine surgery pain" in condition["alternateName"]
    assert "Postlaminectomy syndrome" not in condition["alternateName"]
    # The seed page's relations, by id; another page may add more.
    assert ids(condition["signOrSymptom"]) >= seed.SYMPTOMS
    assert ids(condition["cause"]) >= set(seed.CAUSES)
    assert ids(condition["possibleTreatment"]) >= set(seed.TREATMENTS)
    names = {t["@id"]: t["name"] for t in condition["possibleTreatment"]}
    assert all(names[str(KG[t])] == label for t, label in seed.TREATMENTS.items())
    assert {t["name"] for t in condition["typicalTest"]} == {
        "Imaging studies",
        "Patient examination",
    }
    assert "riskFactor" not in condition  # the page names none


def test_types_come_from_the_ontology_alignment(document: dict[str, Any]) -> None:
    by_id = {n["@id"]: types_of(n) for n in document["about"]["possibleTreatment"]}
    assert by_id[str(KG.acetaminophen)] == ["Drug"]
    assert by_id[str(KG.nsaids)] == ["DrugClass"]
    assert by_id[str(KG["physical-therapy"])] == ["PhysicalTherapy"]
    # An interventional procedure is a MedicalTherapy only through ckg:Therapy.
    assert by_id[str(KG["epidural-injection"])] == ["MedicalTherapy"]


def test_codes_and_brand_names(document: dict[str, Any]) -> None:
    codes = {(c["codingSystem"], c["codeValue"]) for c in document["about"]["code"]}
    assert codes >= {("ICD-10-CM", "M96.1"), ("SNOMED CT", "27151001"), ("MeSH", "D055111")}
    drug = next(t for t in document["about"]["possibleTreatment"] if t["name"] == "Acetaminophen")
    assert drug["proprietaryName"] == "Tylenol"


def test_citations_are_the_journal_and_the_iasp_definition(document: dict[str, Any]) -> None:
    citations = {c["@id"]: c for c in document["citation"]}
    assert citations[str(KG["pain-medicine"])]["@type"] == "Periodical"
    assert citations[str(KG["pain-medicine"])]["name"] == "Pain Medicine"
    definition = citations[str(KG["failed-back-surgery-syndrome-iasp-definition"])]
    assert definition["author"]["name"] == "International Association for the Study of Pain"
    assert definition["text"].startswith("Lumbar/cervical pain of unknown origin")


def test_ids_link_the_markup_to_the_graph(document: dict[str, Any], loaded: LoadResult) -> None:
    for node in nodes(document):
        assert (URIRef(node["@id"]), None, None) in loaded.data, node["@id"]


def test_parses_as_rdf_with_schema_org_terms(document: dict[str, Any]) -> None:
    # https://schema.org is not fetched in tests; its context amounts to this @vocab.
    offline = copy.deepcopy(document)
    offline["@context"] = {"@vocab": str(SCHEMA)}
    graph = Graph().parse(data=json.dumps(offline), format="json-ld")
    page = URIRef(document["@id"])
    assert (page, RDF.type, SCHEMA.MedicalWebPage) in graph
    assert (page, SCHEMA.about, FBSS) in graph
    assert (FBSS, SCHEMA.signOrSymptom, KG["stabbing-pain"]) in graph
    assert (KG.acetaminophen, RDF.type, SCHEMA.Drug) in graph


def test_url_only_when_the_data_has_it(document: dict[str, Any], two_pages: Snapshot) -> None:
    assert "url" not in document  # the seed page has no schema:url
    second = condition_markup(two_pages, FBSS_ID, "second-page")
    assert second["url"] == "https://clinic.example/second-page"


def test_deterministic(snap: Snapshot, document: dict[str, Any]) -> None:
    again = condition_markup(snap, str(FBSS))
    assert json.dumps(again) == json.dumps(document)


@pytest.mark.parametrize("wrong", ["acetaminophen", "no-such-thing", str(KG.acetaminophen)])
def test_not_a_condition(snap: Snapshot, wrong: str) -> None:
    with pytest.raises(NotACondition, match=f"known: {FBSS_ID}") as caught:
        condition_markup(snap, wrong)
    assert caught.value.code == "NOT_A_CONDITION"


def test_conditions(snap: Snapshot) -> None:
    found = [c.id for c in conditions(snap)]
    assert seed.FBSS in found
    assert found == sorted(set(found))
    assert "acetaminophen" not in found


# ---------------------------------------------------------------- one page, several pages


def test_a_page_markup_holds_only_what_that_page_says(two_pages: Snapshot) -> None:
    first = condition_markup(two_pages, FBSS_ID, "clinic-page")
    second = condition_markup(two_pages, FBSS_ID, "second-page")
    first_treatments = {t["@id"]: t for t in first["about"]["possibleTreatment"]}
    second_treatments = {t["@id"]: t for t in second["about"]["possibleTreatment"]}
    # The second page's relation is not on the first page, and the other way round.
    assert str(KG["spinal-fusion"]) not in first_treatments
    assert set(second_treatments) == {str(KG["spinal-fusion"])}
    assert "signOrSymptom" not in second["about"]
    # The synonym the second page adds to a shared entity stays out of the first page's markup.
    acetaminophen = first_treatments[str(KG.acetaminophen)]
    assert "Examplamol" not in json.dumps(first)
    assert acetaminophen["proprietaryName"] == "Tylenol"
    # The first page's citations are its own: the second cites nothing.
    assert "citation" in first
    assert "citation" not in second
    # External codes (curator assertions, on no page) stay on both.
    assert first["about"]["code"] == second["about"]["code"]
    # The first page's markup is what it was before the second page was added.
    assert first == condition_markup(build_snapshot(load(REPO)), FBSS_ID)


def test_surgical_procedure_is_a_therapy_as_possible_treatment(
    two_pages: Snapshot, vocab: Graph
) -> None:
    second = condition_markup(two_pages, FBSS_ID, "second-page")
    (fusion,) = second["about"]["possibleTreatment"]
    assert types_of(fusion) == ["MedicalTherapy", "SurgicalProcedure"]
    assert out_of_vocabulary(second, vocab)[0] == []
    assert out_of_vocabulary(condition_markup(two_pages, FBSS_ID, "clinic-page"), vocab)[0] == []


def test_several_pages_and_no_page_named_is_a_coded_error(two_pages: Snapshot) -> None:
    with pytest.raises(PageRequired) as caught:
        condition_markup(two_pages, FBSS_ID)
    assert caught.value.code == "PAGE_REQUIRED"
    assert caught.value.pages == ("clinic-page", "second-page")
    assert "clinic-page, second-page" in caught.value.message


@pytest.mark.parametrize("page", ["acetaminophen", "pain-medicine", "no-such-page"])
def test_a_page_that_does_not_speak_of_the_condition(two_pages: Snapshot, page: str) -> None:
    with pytest.raises(PageNotAbout, match="its pages: clinic-page, second-page") as caught:
        condition_markup(two_pages, FBSS_ID, page)
    assert caught.value.code == "PAGE_NOT_ABOUT_CONDITION"


def test_pages_about(two_pages: Snapshot) -> None:
    fbss = two_pages.entity(FBSS_ID)
    assert isinstance(fbss, Condition)
    assert [p.id for p in pages_about(two_pages, fbss)] == ["clinic-page", "second-page"]


def test_rendered_from_records_by_any_store(snap: Snapshot, document: dict[str, Any]) -> None:
    """The seam: a store made of nothing but the snapshot's records gives the same markup."""
    state = snap.state()
    page = snap.entity("clinic-page")
    assert isinstance(page, Source)
    fake = FakeStore(
        entities=state["entities"].values(),
        relations=state["relations"].values(),
        concepts=state["concepts"].values(),
        codes=state["codes"].values(),
        definitions=state["definitions"].values(),
        page_texts={"clinic-page": snap.page_text("clinic-page") or ""},
        registry=snap.registry,
    )
    assert condition_markup(fake, FBSS_ID) == document
    # And what it holds comes from the store: a url the records give is published.
    fake_with_url = FakeStore(
        entities=[*state["entities"].values(), dataclasses.replace(page, url="https://c.example/")],
        relations=state["relations"].values(),
        codes=state["codes"].values(),
        definitions=state["definitions"].values(),
        page_texts={"clinic-page": snap.page_text("clinic-page") or ""},
    )
    assert condition_markup(fake_with_url, FBSS_ID)["url"] == "https://c.example/"


def test_graphql_schema_org_takes_a_page_and_codes_its_errors(two_pages: Snapshot) -> None:
    query = 'query ($page: ID) { condition(id: "' + FBSS_ID + '") { schemaOrg(page: $page) } }'
    with TestClient(create_app(Settings(), StoreHolder(two_pages))) as client:

        def ask(page: str | None) -> dict[str, Any]:
            body = {"query": query, "variables": {"page": page}}
            answer: dict[str, Any] = client.post("/graphql", json=body).json()
            return answer

        several = ask(None)
        (error,) = several["errors"]
        assert error["extensions"]["code"] == "PAGE_REQUIRED"
        assert "clinic-page, second-page" in error["message"]
        assert several["data"]["condition"]["schemaOrg"] is None
        wrong = ask("acetaminophen")["errors"][0]
        assert wrong["extensions"]["code"] == "PAGE_NOT_ABOUT_CONDITION"
        second = ask("second-page")
        assert "errors" not in second
        assert second["data"]["condition"]["schemaOrg"] == condition_markup(
            two_pages, FBSS_ID, "second-page"
        )
