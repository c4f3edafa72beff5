"""Every statistic of the seed page is in the graph with the page's numbers, unit and source.

The expectations below are transcribed from the page by hand, independently of kg/.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF

from server.loader import load
from server.namespaces import CKG, KG, MEASURE, QUALIFIER, UNIT

from .conftest import REPO

PAGE = KG["clinic-page"]
PAIN_MEDICINE = KG["pain-medicine"]

# id: (class, about, measure, value, low, high, unit, qualifier, population, region, period, cited)
STATISTICS = {
    "back-pain-lifetime-prevalence": (
        CKG.Proportion,
        {"back-pain"},
        "lifetime-prevalence",
        "85",
        None,
        None,
        "percent",
        "almost",
        "adults",
        None,
        "at some point during their lifetime",
        None,
    ),
    "spinal-fusion-increase": (
        CKG.RelativeChange,
        {"spinal-fusion"},
        "relative-change",
        "220",
        None,
        None,
        "percent",
        None,
        "spinal fusion surgeries",
        None,
        "one recent 10-year period",
        None,
    ),
    "laminectomy-discectomy-annual-count": (
        CKG.Count,
        {"laminectomy", "discectomy"},
        "annual-count",
        "200000",
        None,
        None,
        "procedures-per-year",
        "approximately",
        "lumbar laminectomies and discectomies",
        "United States",
        "every year",
        None,
    ),
    "lumbar-fusion-success-rate": (
        CKG.Proportion,
        {"spinal-fusion"},
        "success-rate",
        None,
        "10",
        "40",
        "percent",
        "approximately",
        "lumbar spinal fusions",
        None,
        None,
        PAIN_MEDICINE,
    ),
    "laminectomy-discectomy-success-rate": (
        CKG.Proportion,
        {"laminectomy", "discectomy"},
        "success-rate",
        None,
        "75",
        "80",
        "percent",
        None,
        "laminectomies and discectomies",
        None,
        None,
        PAIN_MEDICINE,
    ),
    "fibrosis-share-of-cases": (
        CKG.Proportion,
        {"fbss-cause-epidural-fibrosis"},
        "share-of-cases",
        None,
        "20",
        "36",
        "percent",
        "approximately",
        "cases of chronic pain after back surgery",
        None,
        None,
        None,
    ),
}

CLAIMS = {
    "decompression-success-higher-than-fusion": (
        {"laminectomy", "discectomy", "spinal-fusion"},
        "the success rate for laminectomies and discectomies is higher than that of fusions",
    ),
    "success-rate-falls-after-repeat-surgery": (
        {"spine-surgery"},
        "after the initial surgery, success rates are progressively reduced",
    ),
}


@pytest.fixture(scope="module")
def graph() -> Graph:
    loaded = load(REPO)
    assert loaded.ok
    return loaded.data


def _page_text() -> str:
    return " ".join((REPO / "kg/sources/clinic-page.txt").read_text(encoding="utf-8").split())


def _decimal(g: Graph, s: URIRef, p: URIRef) -> Decimal | None:
    value = g.value(s, p)
    if value is None:
        return None
    assert isinstance(value, Literal)
    assert value.datatype == URIRef("http://www.w3.org/2001/XMLSchema#decimal")
    return Decimal(str(value))


def _text(g: Graph, s: URIRef, p: URIRef) -> str | None:
    value = g.value(s, p)
    return None if value is None else str(value)


@pytest.mark.parametrize("fact_id", sorted(STATISTICS))
def test_statistic_matches_the_page(graph: Graph, fact_id: str) -> None:
    (cls, about, measure, value, low, high, unit, qualifier, population, region, period, cited) = (
        STATISTICS[fact_id]
    )
    s = KG[fact_id]
    assert (s, RDF.type, cls) in graph
    assert {str(o).rsplit("/", 1)[1] for o in graph.objects(s, CKG.about)} == about
    assert graph.value(s, CKG.measure) == MEASURE[measure]
    assert _decimal(graph, s, CKG.value) == (Decimal(value) if value else None)
    assert _decimal(graph, s, CKG.low) == (Decimal(low) if low else None)
    assert _decimal(graph, s, CKG.high) == (Decimal(high) if high else None)
    assert graph.value(s, CKG.unit) == UNIT[unit]
    assert graph.value(s, CKG.qualifier) == (QUALIFIER[qualifier] if qualifier else None)
    assert _text(graph, s, CKG.population) == population
    assert _text(graph, s, CKG.region) == region
    assert _text(graph, s, CKG.period) == period
    assert graph.value(s, PROV.wasDerivedFrom) == PAGE
    assert graph.value(s, CKG.citedSource) == cited
    quote = _text(graph, s, CKG.quote)
    assert quote
    assert " ".join(quote.split()) in _page_text()


@pytest.mark.parametrize("fact_id", sorted(CLAIMS))
def test_qualitative_claim_matches_the_page(graph: Graph, fact_id: str) -> None:
    about, words = CLAIMS[fact_id]
    s = KG[fact_id]
    assert (s, RDF.type, CKG.QualitativeClaim) in graph
    assert {str(o).rsplit("/", 1)[1] for o in graph.objects(s, CKG.about)} == about
    assert graph.value(s, PROV.wasDerivedFrom) == PAGE
    quote = _text(graph, s, CKG.quote)
    assert quote
    assert words in quote.lower()
    assert " ".join(quote.split()) in _page_text()


def test_no_other_facts_than_the_pages(graph: Graph) -> None:
    facts = {
        str(s).rsplit("/", 1)[1]
        for cls in (CKG.Proportion, CKG.Count, CKG.RelativeChange, CKG.QualitativeClaim)
        for s in graph.subjects(RDF.type, cls)
    }
    assert facts == set(STATISTICS) | set(CLAIMS)


def test_local_copy_is_the_seed_page() -> None:
    seed = REPO.parent / "shared" / "seeds" / "000_385a60e349e94f73.txt"
    if not seed.exists():
        pytest.skip("the shared seed folder is not beside this checkout")
    assert (REPO / "kg/sources/clinic-page.txt").read_bytes() == Path(seed).read_bytes()
