"""A page is data: a second page, added to a copy of the project as a steward would add it,
validates, passes the data acceptance suite, and is served like the seed page (issue 9).

The page is tests/fixtures/pages/herniated-disc/: a fictional clinic page on herniated discs and
sciatica (its text says it is a test fixture), written from the README alone. Its kg/ tree is laid
over the project's kg/: a file kg/ already has (a topic file such as kg/symptoms.ttl) gets the
fixture's statements appended, a new file is created.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from server.content.facts import statement
from server.load.loader import load
from server.model.records import Condition, Fact, Treatment
from server.store.snapshot import Snapshot, build_snapshot

from . import live_server as live
from . import seed
from .conftest import REPO
from .test_cli_fmt_diff import run as clinic_kg
from .test_data_acceptance import ROOT_VARIABLE

FIXTURE = REPO / "tests" / "fixtures" / "pages" / "herniated-disc" / "kg"
PAGE = "example-herniated-disc-page"
CONDITION = "herniated-disc"
LABEL = "Herniated disc"
SYMPTOMS = {"radiating-leg-pain", "leg-numbness-or-tingling"}
CAUSE = "disc-degeneration"
RISK_FACTOR = "excess-body-weight"
TREATMENTS = {"nsaids", "core-stabilization-exercises", "microdiscectomy"}
STATISTIC = "microdiscectomy-success-rate"
CLAIM = "herniated-discs-improve-without-surgery"
FACTS = {STATISTIC, CLAIM}
STATISTIC_STATEMENT = "Success rate of microdiscectomy: approximately 85%–90%."
CLAIM_STATEMENT = "Most herniated discs improve without surgery."


def add_page(project: Path, fixture: Path = FIXTURE) -> None:
    """Lay the fixture's kg/ tree over the project's: append to files kg/ has, create the rest."""
    for source in sorted(p for p in fixture.rglob("*") if p.is_file()):
        target = project / "kg" / source.relative_to(fixture)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8")
        if target.exists():
            text = target.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + text
        target.write_text(text, encoding="utf-8")


def acceptance_suite(root: Path) -> subprocess.CompletedProcess[str]:
    """tests/test_data_acceptance.py run on `root`, in a pytest of its own."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    return subprocess.run(
        [*command, "tests/test_data_acceptance.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, ROOT_VARIABLE: str(root)},
    )


def test_the_page_validates_and_passes_the_data_acceptance_suite(project: Path) -> None:
    add_page(project)
    validated = clinic_kg("validate", "--root", str(project), cwd=REPO)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "conforms — 0 errors, 0 warnings" in validated.stdout
    accepted = acceptance_suite(project)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert " passed" in accepted.stdout
    assert " failed" not in accepted.stdout


def test_an_incomplete_page_fails_the_data_acceptance_suite(project: Path) -> None:
    # Valid Turtle and valid shapes (a condition without symptoms is only a warning), but a
    # condition with no evidenced relation is not a page's condition yet.
    add_page(project)
    (project / "kg" / "conditions" / "bare.ttl").write_text(
        "@prefix ckg: <https://clinic-kg.example/ontology#> .\n"
        "@prefix kg: <https://clinic-kg.example/id/> .\n"
        "@prefix prov: <http://www.w3.org/ns/prov#> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        'kg:bare-condition a ckg:Condition ; skos:prefLabel "Bare condition"@en ;\n'
        f"    prov:wasDerivedFrom kg:{PAGE} .\n",
        encoding="utf-8",
    )
    assert clinic_kg("validate", "--root", str(project), cwd=REPO).returncode == 0
    accepted = acceptance_suite(project)
    assert accepted.returncode == 1, accepted.stdout + accepted.stderr
    assert "bare-condition: no relation with evidence" in accepted.stdout


def snapshot_with_page(project: Path) -> Snapshot:
    add_page(project)
    loaded = load(project)
    assert loaded.ok, [d.render() for d in loaded.diagnostics]
    return build_snapshot(loaded)


def test_the_condition_and_its_relations_come_from_the_page(project: Path) -> None:
    snap = snapshot_with_page(project)
    condition = snap.entity(CONDITION)
    assert isinstance(condition, Condition)
    assert condition.label() == LABEL
    assert condition.sources == (PAGE,)
    assert set(condition.symptoms) == SYMPTOMS
    assert condition.causes == (CAUSE,)
    assert condition.risk_factors == (RISK_FACTOR,)
    assert set(condition.treatments) == TREATMENTS
    [cause] = snap.evidence(CONDITION, "hasCause", CAUSE)
    assert (cause.role, cause.sources) == ("main", (PAGE,))
    for predicate, targets in (
        ("hasSymptom", SYMPTOMS),
        ("hasRiskFactor", {RISK_FACTOR}),
        ("possibleTreatment", TREATMENTS),
    ):
        for target in targets:
            [evidence] = snap.evidence(CONDITION, predicate, target)
            assert evidence.sources == (PAGE,)
            assert evidence.quote


def test_entities_are_shared_and_surgery_stays_a_procedure(project: Path) -> None:
    snap = snapshot_with_page(project)
    # One NSAIDs for both pages, with each page's evidence for its own condition.
    nsaids = snap.entity("nsaids")
    assert isinstance(nsaids, Treatment)
    assert {c for c, p in snap.referrers("nsaids") if p == "possibleTreatment"} >= {
        seed.FBSS,
        CONDITION,
    }
    [fbss_evidence] = snap.evidence(seed.FBSS, "possibleTreatment", "nsaids")
    assert fbss_evidence.sources == (seed.PAGE,)
    surgery = snap.entity("microdiscectomy")
    assert isinstance(surgery, Treatment)
    assert (surgery.kind, surgery.category) == ("SurgicalProcedure", "surgery")
    # The seed is untouched by the new page.
    fbss = snap.entity(seed.FBSS)
    assert isinstance(fbss, Condition)
    assert CONDITION not in fbss.sources
    assert set(fbss.treatments) >= set(seed.TREATMENTS)
    assert "microdiscectomy" not in fbss.treatments


def test_the_pages_facts_and_search(project: Path) -> None:
    snap = snapshot_with_page(project)
    facts = {f.id: f for f in snap.facts()}
    assert set(facts) >= FACTS | seed.FACT_IDS
    statistic, claim = facts[STATISTIC], facts[CLAIM]
    assert isinstance(statistic, Fact)
    assert statement(statistic, snap) == STATISTIC_STATEMENT
    assert statement(claim, snap) == CLAIM_STATEMENT
    assert statistic.sources == claim.sources == (PAGE,)
    assert STATISTIC in {f.id for f in snap.facts(about="microdiscectomy")}
    assert CLAIM in {f.id for f in snap.facts(about=CONDITION)}
    assert snap.search(LABEL)[0].id == CONDITION
    assert CONDITION in {h.id for h in snap.search("sciatica", ["Condition"])}
    assert snap.search("Microdiscectomy")[0].id == "microdiscectomy"


CONDITION_QUERY = """query ($id: ID!) { condition(id: $id) {
  id label altLabels sources { id label sourceType }
  symptoms { totalCount edges { node { id } quote source { id } } }
  causes { edges { role { id } node { id } quote } }
  riskFactors { edges { node { id } quote source { id } } }
  treatments { edges { node { __typename id } quote source { id } } }
  surgery: treatments(category: "surgery") { edges { node { __typename id } } }
  facts { id statement }
} }"""

PAGES_QUERY = """query ($page: ID!) {
  pages(first: 100) { edges { node { id } } }
  page(id: $page) { conditions { id } facts { id statement }
    entities(types: [SYMPTOM]) { edges { node { id } } } }
  byPage: facts(page: $page, first: 100) { edges { node { id } } } }"""

MARKUP_QUERY = """query ($id: ID!) { condition(id: $id) { schemaOrg } }"""

SEARCH_QUERY = """query ($text: String!) {
  search(text: $text) { edges { node { __typename id label } } } }"""


def graphql(server: live.LiveServer, query: str, **variables: Any) -> Any:
    r = httpx.post(server.graphql, json={"query": query, "variables": variables}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    return body["data"]


def test_the_page_is_served(project: Path) -> None:
    add_page(project)
    with contextlib.contextmanager(live.start)(project) as server:
        c = graphql(server, CONDITION_QUERY, id=CONDITION)["condition"]
        assert (c["id"], c["label"]) == (CONDITION, LABEL)
        assert "Sciatica" in c["altLabels"]
        assert c["sources"] == [
            {"id": PAGE, "label": "Herniated Disc and Sciatica (example)", "sourceType": "WebPage"}
        ]
        assert {e["node"]["id"] for e in c["symptoms"]["edges"]} == SYMPTOMS
        assert all(e["quote"] and e["source"] == {"id": PAGE} for e in c["symptoms"]["edges"])
        [cause] = c["causes"]["edges"]
        assert (cause["node"]["id"], cause["role"]["id"]) == (CAUSE, "main")
        [risk] = c["riskFactors"]["edges"]
        assert (risk["node"]["id"], risk["source"]) == (RISK_FACTOR, {"id": PAGE})
        treatments = {e["node"]["id"]: e for e in c["treatments"]["edges"]}
        assert set(treatments) == TREATMENTS
        assert treatments["nsaids"]["node"]["__typename"] == "DrugClass"
        assert treatments["microdiscectomy"]["node"]["__typename"] == "SurgicalProcedure"
        assert all(e["quote"] and e["source"] == {"id": PAGE} for e in treatments.values())
        assert c["surgery"]["edges"] == [
            {"node": {"__typename": "SurgicalProcedure", "id": "microdiscectomy"}}
        ]
        assert {"id": CLAIM, "statement": CLAIM_STATEMENT} in c["facts"]

        hits = graphql(server, SEARCH_QUERY, text=LABEL)["search"]["edges"]
        assert hits[0]["node"] == {"__typename": "Condition", "id": CONDITION, "label": LABEL}

        for fact_id, sentence in ((STATISTIC, STATISTIC_STATEMENT), (CLAIM, CLAIM_STATEMENT)):
            r = httpx.get(f"{server.url}/facts/{fact_id}", timeout=30)
            assert r.status_code == 200, r.text
            assert r.json()["statement"] == sentence
            assert r.json()["source"]["id"] == PAGE

        page = httpx.get(f"{server.url}/id/{CONDITION}", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert LABEL in page.text
        turtle = httpx.get(f"{server.url}/id/{PAGE}", headers={"accept": "text/turtle"})
        assert turtle.status_code == 200
        assert "sources/example-herniated-disc-page.txt" in turtle.text
        # The page's own HTML lists its facts as their canonical statements.
        page_html = httpx.get(f"{server.url}/id/{PAGE}", headers={"accept": "text/html"}).text
        assert CLAIM_STATEMENT in page_html

        pages = graphql(server, PAGES_QUERY, page=PAGE)
        assert {e["node"]["id"] for e in pages["pages"]["edges"]} >= {PAGE, seed.PAGE}
        assert pages["page"]["conditions"] == [{"id": CONDITION}]
        assert {f["id"] for f in pages["page"]["facts"]} == FACTS
        assert {e["node"]["id"] for e in pages["page"]["entities"]["edges"]} >= SYMPTOMS
        assert {e["node"]["id"] for e in pages["byPage"]["edges"]} == FACTS
        seed_page = graphql(server, PAGES_QUERY, page=seed.PAGE)
        assert not FACTS & {e["node"]["id"] for e in seed_page["byPage"]["edges"]}

        listed = httpx.get(f"{server.url}/facts", params={"page": PAGE}, timeout=30).json()
        assert {f["id"] for f in listed["facts"]} == FACTS

        markup = graphql(server, MARKUP_QUERY, id=CONDITION)["condition"]["schemaOrg"]
        assert markup["@type"] == "MedicalWebPage"
        assert markup["@id"].endswith(PAGE)
        assert markup["about"]["name"] == LABEL
        treated = {t["name"]: t["@type"] for t in markup["about"]["possibleTreatment"]}
        assert treated["Microdiscectomy"] == ["MedicalTherapy", "SurgicalProcedure"]
    exported = clinic_kg("export", "--root", str(project), "--schema-org", CONDITION, cwd=REPO)
    assert exported.returncode == 0, exported.stderr
    assert f'"{LABEL}"' in exported.stdout
