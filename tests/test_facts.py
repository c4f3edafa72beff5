"""Canonical statements and citations of facts: exact wording for every fact of the seed page."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from server.content import facts
from server.load.loader import load
from server.model.records import Fact
from server.store.snapshot import Snapshot, build_snapshot

from . import seed
from .conftest import REPO

PAGE = "What is Spine Surgery Pain (clinic page)"
CITING = f"{PAGE}, citing Pain Medicine"

# id: (statement, short citation)
EXPECTED = {
    "back-pain-lifetime-prevalence": (
        "Lifetime prevalence of back pain in adults: almost 85%.",
        PAGE,
    ),
    "spinal-fusion-increase": (
        "Increase in spinal fusion surgeries over ten years: 220%.",
        PAGE,
    ),
    "laminectomy-discectomy-annual-count": (
        "Lumbar laminectomies and discectomies performed in the United States: "
        "approximately 200,000 per year.",
        PAGE,
    ),
    "lumbar-fusion-success-rate": (
        "Success rate of lumbar spinal fusion: approximately 10%–40%.",
        CITING,
    ),
    "laminectomy-discectomy-success-rate": (
        "Success rate of laminectomy and discectomy: 75%–80%.",
        CITING,
    ),
    "fibrosis-share-of-cases": (
        "Share of chronic pain after back surgery caused by fibrosis: approximately 20%–36%.",
        PAGE,
    ),
    "decompression-success-higher-than-fusion": (
        "The success rate for laminectomies and discectomies is higher than that of fusions.",
        PAGE,
    ),
    "success-rate-falls-after-repeat-surgery": (
        "After the initial surgery, success rates are progressively reduced.",
        PAGE,
    ),
    "back-pain-surgery-increasing": (
        "The incidence of surgery for back pain is increasing.",
        PAGE,
    ),
}


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return build_snapshot(load(REPO))


def _fact(snap: Snapshot, id: str) -> Fact:
    found = snap.entity(id)
    assert isinstance(found, Fact)
    return found


def test_every_fact_of_the_seed_is_covered(snap: Snapshot) -> None:
    assert set(EXPECTED) == seed.FACT_IDS
    assert {f.id for f in snap.facts()} >= seed.FACT_IDS


@pytest.mark.parametrize(("fact_id", "expected"), EXPECTED.items())
def test_statement_and_citation(snap: Snapshot, fact_id: str, expected: tuple[str, str]) -> None:
    fact = _fact(snap, fact_id)
    statement, citation = expected
    assert facts.statement(fact, snap) == statement
    assert facts.short_citation(fact, snap) == citation


def test_full_citation_names_publisher_cited_work_and_fact(snap: Snapshot) -> None:
    fact = _fact(snap, "lumbar-fusion-success-rate")
    assert facts.full_citation(fact, snap) == (
        "“What is Spine Surgery Pain”, clinic page published by The clinic, citing Pain Medicine "
        "(periodical). Fact lumbar-fusion-success-rate."
    )


@pytest.mark.parametrize(
    ("fact_id", "phrase"),
    [
        ("lumbar-fusion-success-rate", "approximately 10%–40%"),
        ("back-pain-lifetime-prevalence", "almost 85%"),
        ("laminectomy-discectomy-annual-count", "approximately 200,000 per year"),
        ("spinal-fusion-increase", "220%"),
        ("success-rate-falls-after-repeat-surgery", None),
    ],
)
def test_value_phrase(snap: Snapshot, fact_id: str, phrase: str | None) -> None:
    assert facts.value_phrase(_fact(snap, fact_id), snap) == phrase


def test_region_is_added_when_the_label_does_not_name_it(snap: Snapshot) -> None:
    fact = dataclasses.replace(_fact(snap, "laminectomy-discectomy-annual-count"), labels=())
    assert facts.value_phrase(fact, snap) == "approximately 200,000 per year in United States"


def test_range_in_a_spaced_unit_puts_the_unit_once(snap: Snapshot) -> None:
    fact = dataclasses.replace(
        _fact(snap, "laminectomy-discectomy-annual-count"),
        value=None,
        low=Decimal("150000"),
        high=Decimal("200000"),
        qualifier=None,
    )
    assert facts.value_phrase(fact, snap) == "150,000–200,000 per year"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("200000", "200,000"),
        ("85", "85"),
        ("12.50", "12.5"),
        ("0.25", "0.25"),
        ("1234567.5", "1,234,567.5"),
        ("-3", "-3"),
        ("85.0", "85"),
    ],
)
def test_format_number(value: str, text: str) -> None:
    assert facts.format_number(Decimal(value)) == text


def test_a_fact_without_source_says_so(snap: Snapshot) -> None:
    fact = dataclasses.replace(_fact(snap, "spinal-fusion-increase"), sources=())
    assert facts.short_citation(fact, snap) == "no source"
