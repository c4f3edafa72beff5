"""The snapshot: records and indexes built once from the loaded seed, read-only afterwards."""

from __future__ import annotations

import dataclasses
import gc
import weakref
from pathlib import Path

import pytest

from server.load.loader import load
from server.model.records import Condition, Fact, Treatment
from server.rdf.triple_index import Index
from server.settings import Settings
from server.store.label_index import normalize
from server.store.protocol import Store, StoreHolder
from server.store.snapshot import Snapshot, build_snapshot
from server.validate.shacl import shacl_triples
from server.validate.validation import validate_project

from . import seed
from .conftest import REPO

FBSS = "failed-back-surgery-syndrome"


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return build_snapshot(load(REPO))


def test_snapshot_satisfies_the_store_protocol(snap: Snapshot) -> None:
    store: Store = snap  # checked by mypy; at run time, every protocol member is there
    for name in (
        "entity",
        "entities",
        "search",
        "facts",
        "relation",
        "evidence",
        "referrers",
        "concept",
        "concepts",
        "code",
        "definition",
    ):
        assert callable(getattr(store, name))


def test_version_and_counts_come_from_the_load() -> None:
    loaded = load(REPO)
    snap = build_snapshot(loaded)
    assert snap.version == loaded.version
    assert snap.triple_count == len(loaded.data) + len(loaded.ontology)
    assert snap.loaded_at.tzinfo is not None


def test_validation_index_builds_the_same_snapshot(snap: Snapshot) -> None:
    outcome = validate_project(REPO)
    assert outcome.index is not None
    shared = build_snapshot(outcome.load, index=outcome.index)
    assert shared.state() == snap.state()


def test_snapshot_does_not_keep_the_index_it_was_built_from() -> None:
    loaded = load(REPO)
    index = Index(shacl_triples(loaded))
    held = weakref.ref(index)
    snap = build_snapshot(loaded, index=index)
    del index
    gc.collect()
    assert held() is None
    assert snap.entity(FBSS) is not None


def test_entity_by_id_and_by_iri(snap: Snapshot) -> None:
    by_id = snap.entity(FBSS)
    assert isinstance(by_id, Condition)
    assert snap.entity(f"https://clinic-kg.example/id/{FBSS}") is by_id
    assert snap.entity("no-such-thing") is None


def test_base_iri_setting_decides_what_an_id_is(tmp_path: Path) -> None:
    other = build_snapshot(load(REPO), Settings(base_iri="https://elsewhere.example/"))
    assert other.entity(FBSS) is None
    assert other.entity(f"https://clinic-kg.example/id/{FBSS}") is not None


def test_condition_relations(snap: Snapshot) -> None:
    fbss = snap.entity(FBSS)
    assert isinstance(fbss, Condition)
    # The seed page's relations are there; another page may add more.
    assert set(fbss.symptoms) >= seed.SYMPTOMS
    assert set(fbss.causes) >= set(seed.CAUSES)
    assert set(fbss.treatments) >= set(seed.TREATMENTS)
    assert set(fbss.tests) >= seed.TESTS
    assert fbss.authoritative_definitions == ("failed-back-surgery-syndrome-iasp-definition",)
    assert "code-icd-10-cm-m96-1" in fbss.codes
    assert seed.PAGE in fbss.sources


def test_kinds_are_the_most_specific_class(snap: Snapshot) -> None:
    kinds = {e.id: e.kind for e in snap.entities()}
    assert kinds["physical-therapy"] == "PhysicalTherapy"
    assert kinds["selective-nerve-block"] == "InterventionalProcedure"
    assert kinds["interventional-pain-management"] == "Therapy"
    assert kinds["acetaminophen"] == "Drug"
    assert kinds["nsaids"] == "DrugClass"
    assert kinds["lumbar-fusion-success-rate"] == "Proportion"
    assert kinds["success-rate-falls-after-repeat-surgery"] == "QualitativeClaim"
    assert kinds["clinic-page"] == "WebPage"


def test_entities_by_kind_are_in_label_order(snap: Snapshot) -> None:
    labels = [e.label() for e in snap.entities(["DrugClass"])]
    assert labels == sorted(labels, key=str.casefold)
    assert {e.kind for e in snap.entities(["Drug", "DrugClass"])} == {"Drug", "DrugClass"}


def test_brand_names_are_synonyms_of_the_drug(snap: Snapshot) -> None:
    drug = snap.entity("acetaminophen")
    assert isinstance(drug, Treatment)
    assert [t.text for t in drug.brand_names] == ["Tylenol"]
    assert "Tylenol" in drug.alt()
    assert drug.category == "medication"


@pytest.mark.parametrize("text", ["tylenol", "TYLENOL", "Tylénol", "  tylenol!  "])
def test_search_is_case_and_accent_insensitive(snap: Snapshot, text: str) -> None:
    hits = snap.search(text)
    assert hits[0].id == "acetaminophen"
    assert hits[0].matched == "Tylenol"


def test_search_ranks_exact_before_prefix_before_substring(snap: Snapshot) -> None:
    hits = snap.search("fibrosis")
    assert hits[0].id == "epidural-fibrosis"  # the synonym "Fibrosis", exactly
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    prefix = snap.search("spinal")
    assert {h.id for h in prefix} >= {"spinal-fusion", "spinal-stenosis"}


def test_search_prefers_preferred_labels_over_synonyms(snap: Snapshot) -> None:
    assert snap.search("Acetaminophen")[0].score > snap.search("Tylenol")[0].score


def test_search_filters_by_kind_and_ignores_blank_text(snap: Snapshot) -> None:
    conditions = snap.search("pain", ["Condition"])
    assert FBSS in {h.id for h in conditions}
    assert {getattr(snap.entity(h.id), "kind", None) for h in conditions} == {"Condition"}
    assert "back-pain" in {h.id for h in snap.search("pain")}  # a symptom, left out above
    assert snap.search("   ") == []
    assert snap.search("zzzz-no-such-label") == []


def test_normalize() -> None:
    assert normalize("Tylénol!") == "tylenol"
    assert normalize("Post-laminectomy  syndrome") == "post laminectomy syndrome"
    assert normalize("ÉPIDURAL") == "epidural"


def test_facts_about_a_relation_are_facts_about_both_ends(snap: Snapshot) -> None:
    assert [f.id for f in snap.facts(about="fbss-cause-epidural-fibrosis")] == [
        "fibrosis-share-of-cases"
    ]
    assert "fibrosis-share-of-cases" in [f.id for f in snap.facts(about="epidural-fibrosis")]
    assert "fibrosis-share-of-cases" in [f.id for f in snap.facts(about=FBSS)]


def test_facts_by_measure_and_about(snap: Snapshot) -> None:
    success = snap.facts(measure="success-rate")
    ids = {f.id for f in success}
    assert ids >= {
        "lumbar-fusion-success-rate",
        "laminectomy-discectomy-success-rate",
        "decompression-success-higher-than-fusion",
        "success-rate-falls-after-repeat-surgery",
    }
    assert {f.measure for f in success} == {"success-rate"}
    assert "back-pain-lifetime-prevalence" not in ids
    iri = "https://clinic-kg.example/ontology/measure/success-rate"
    assert {f.id for f in snap.facts(measure=iri)} == ids
    both = snap.facts(about="spinal-fusion", measure="success-rate")
    assert {f.id for f in both} >= {
        "lumbar-fusion-success-rate",
        "decompression-success-higher-than-fusion",
    }
    assert all(f.measure == "success-rate" and "spinal-fusion" in f.about for f in both)
    assert "spinal-fusion-increase" not in {f.id for f in both}  # about fusion, another measure
    every = snap.facts()
    assert {f.id for f in every} >= seed.FACT_IDS
    assert all(isinstance(f, Fact) for f in every)


def test_fact_records_hold_decimals(snap: Snapshot) -> None:
    fact = snap.entity("laminectomy-discectomy-annual-count")
    assert isinstance(fact, Fact)
    assert str(fact.value) == "200000"
    assert (fact.unit, fact.qualifier, fact.region) == (
        "procedures-per-year",
        "approximately",
        "United States",
    )
    assert fact.about == ("discectomy", "laminectomy")


def test_evidence_and_cause_roles(snap: Snapshot) -> None:
    # The seed page's evidence; another page may give its own for the same relation.
    [evidence] = [
        e
        for e in snap.evidence(FBSS, "hasCause", "epidural-fibrosis")
        if e.id == "fbss-cause-epidural-fibrosis"
    ]
    assert evidence.role == "main"
    assert evidence.quote.startswith("Scar tissue (fibrosis)")
    assert evidence.sources == ("clinic-page",)
    assert "other" in {e.role for e in snap.evidence(FBSS, "hasCause", "smoking")}
    assert snap.evidence(FBSS, "hasCause", "acetaminophen") == ()


def test_reverse_links(snap: Snapshot) -> None:
    assert (FBSS, "possibleTreatment") in snap.referrers("physical-therapy")
    assert ("clinic", "availableService") in snap.referrers("physical-therapy")
    assert ("physical-therapy", "hasComponent") in snap.referrers("stretching")


def test_concepts_codes_and_definitions(snap: Snapshot) -> None:
    percent = snap.concept("percent")
    assert percent is not None
    assert percent.notation == "%"
    roles = snap.concepts("CauseRoles")
    assert {"main", "other"} <= {c.id for c in roles}
    assert [c.label() for c in roles] == sorted((c.label() for c in roles), key=str.casefold)
    code = snap.code("code-atc-n02be01")
    assert code is not None
    assert (code.system, code.value) == ("ATC", "N02BE01")
    assert code.mapping_relation == "exactMatch"
    assert code.attributed_to == "curator"
    definition = snap.definition("failed-back-surgery-syndrome-iasp-definition")
    assert definition is not None
    assert definition.authority == "iasp"


def test_records_and_indexes_are_immutable(snap: Snapshot) -> None:
    fbss = snap.entity(FBSS)
    assert fbss is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        fbss.id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        snap._entities["x"] = fbss  # type: ignore[index]


def test_holder_swaps_one_reference_and_keeps_reload_errors(snap: Snapshot) -> None:
    holder = StoreHolder(snap)
    newer = build_snapshot(load(REPO))
    holder.fail("kg/x.ttl:1: error KG-PARSE", snap.loaded_at)
    assert holder.current is snap
    assert holder.last_reload_error is not None
    holder.swap(newer)
    assert holder.current is newer
    assert holder.last_reload_error is None
