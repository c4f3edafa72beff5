"""schema.org JSON-LD for a condition: only schema.org terms, within their domains and ranges."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS

from server.loader import LoadResult, load
from server.namespaces import KG, SCHEMA
from server.schemaorg import NotACondition, condition_ids, condition_jsonld

from . import seed
from .conftest import REPO

FBSS = KG["failed-back-surgery-syndrome"]
VOCAB_FILE = Path(__file__).parent / "fixtures" / "schemaorg-vocab.ttl"
DOMAIN, RANGE = SCHEMA.domainIncludes, SCHEMA.rangeIncludes
TEXT = "Text"


@pytest.fixture(scope="module")
def loaded() -> LoadResult:
    result = load(REPO)
    assert result.ok, [d.render() for d in result.diagnostics]
    return result


@pytest.fixture(scope="module")
def document(loaded: LoadResult) -> dict[str, Any]:
    return condition_jsonld(loaded.data, loaded.ontology, FBSS)


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


def test_every_term_is_schema_org_within_domain_and_range(
    document: dict[str, Any], vocab: Graph
) -> None:
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
    assert "Postlaminectomy syndrome" in condition["alternateName"]
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


def test_page_url_is_added_only_when_given(loaded: LoadResult) -> None:
    url = "https://clinic.example/spine-surgery-pain"
    document = condition_jsonld(loaded.data, loaded.ontology, FBSS, page_url=url)
    assert document["url"] == url
    assert "url" not in condition_jsonld(loaded.data, loaded.ontology, FBSS)


def test_deterministic(loaded: LoadResult, document: dict[str, Any]) -> None:
    again = condition_jsonld(loaded.data, loaded.ontology, str(FBSS))
    assert json.dumps(again) == json.dumps(document)


def test_not_a_condition(loaded: LoadResult) -> None:
    with pytest.raises(NotACondition):
        condition_jsonld(loaded.data, loaded.ontology, KG.acetaminophen)
    with pytest.raises(NotACondition):
        condition_jsonld(loaded.data, loaded.ontology, KG["no-such-thing"])


def test_condition_ids(loaded: LoadResult) -> None:
    found = condition_ids(loaded.data, loaded.ontology, str(KG))
    assert seed.FBSS in found
    assert found == sorted(set(found))
    assert "acetaminophen" not in found
    for condition in found:
        condition_jsonld(loaded.data, loaded.ontology, KG[condition])  # each one is a condition
