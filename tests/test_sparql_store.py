"""The SPARQL-backed Store against a live Oxigraph server: every Store method answers as the
in-memory snapshot does on the same data (the seed, and the seed plus a second page), within a
per-request budget of queries and time, and follows the store's pointer to new versions.

The end-to-end GraphQL suite on `serve --store` is tests/test_e2e_graphql.py (it runs on both).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from server.cli import cli
from server.cli import serve as serve_module
from server.http.app import create_app
from server.load.loader import LoadResult
from server.settings import Settings
from server.store import sparql_queries
from server.store.protocol import Store, StoreHolder, StoreUnavailable
from server.store.snapshot import Snapshot, build_snapshot
from server.store.sparql import SparqlStore
from server.store.sparql_client import iri
from server.store.sparql_dataset import SparqlDataset, SparqlHolder
from server.store.sparql_poll import PointerWatcher
from server.validate.validation import validate_project

from . import live_server as live
from . import oxigraph_server
from .conftest import REPO
from .live_server import free_port
from .oxigraph_server import Oxigraph
from .sparql_store_fixtures import fresh_oxigraph, point_at, publish, put_version
from .test_second_page import add_page

SETTINGS = Settings()
FBSS = "failed-back-surgery-syndrome"
SEARCHES = (
    "pain",
    "Tylénol",
    "FBSS",
    "nerve blocks",
    "epidural injections",
    "fibrosis",
    "surgery",
    "success",
    "herniated",
    "x",
    "no such words at all",
)


def validated(root: Path) -> LoadResult:
    outcome = validate_project(root, (), SETTINGS)
    assert outcome.conforms, "only validated data is published"
    return outcome.load


@dataclass(frozen=True)
class Pair:
    """The same project as a snapshot and as a dataset published to a live Oxigraph."""

    snapshot: Snapshot
    dataset: SparqlDataset

    def store(self) -> SparqlStore:
        """A store for one request (a fresh budget; the version's cache is shared)."""
        return self.dataset.store()

    def agree(self, call: Callable[[Store], Any]) -> Any:
        """The snapshot's answer, after checking the SPARQL store gives the same."""
        expected = _plain(call(self.snapshot))
        assert _plain(call(self.store())) == expected
        return expected


def _plain(value: Any) -> Any:
    """Sequences (lazy ones included) as lists, so answers compare by their items."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value


def two_pages(root: Path) -> Path:
    for name in ("ontology", "shapes", "kg"):
        shutil.copytree(REPO / name, root / name)
    add_page(root)
    return root


@pytest.fixture(scope="module", params=["seed", "two-pages"])
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    root = REPO if request.param == "seed" else two_pages(tmp_path_factory.mktemp("two-pages"))
    loaded = validated(root)
    for server in fresh_oxigraph():
        publish(server, loaded, SETTINGS)
        dataset = SparqlDataset(server.query_url, SETTINGS, texts_root=root)
        assert dataset.refresh()
        yield Pair(build_snapshot(loaded, SETTINGS), dataset)


oxigraph = oxigraph_server.oxigraph  # a fresh, empty store per test


def ids_of(pair: Pair) -> list[str]:
    return [e.id for e in pair.snapshot.entities()]


def state(pair: Pair, name: str) -> dict[str, Any]:
    found: dict[str, Any] = pair.snapshot.state()[name]
    return found


# ---------------------------------------------------------------- the same answers


def test_the_dataset_agrees(pair: Pair) -> None:
    assert pair.agree(lambda s: s.version) == pair.snapshot.version
    assert pair.agree(lambda s: s.triple_count) > 0
    assert pair.store().registry == pair.snapshot.registry
    schemes = pair.agree(lambda s: s.schemes())
    assert "Measures" in schemes
    for scheme in schemes:
        for concept in pair.agree(lambda s, scheme=scheme: s.concepts(scheme)):
            assert pair.agree(lambda s, c=concept: s.concept(c.id)) == concept
            assert pair.agree(lambda s, c=concept: s.concept(c.iri)) == concept
    assert pair.agree(lambda s: s.concept("no-such-concept")) is None


def test_every_entity_agrees_by_id_and_iri(pair: Pair) -> None:
    everything = pair.agree(lambda s: s.entities())
    assert len(everything) > 20
    for entity in everything:
        assert pair.agree(lambda s, e=entity: s.entity(e.id)) == entity
        assert pair.agree(lambda s, e=entity: s.entity(e.iri)) == entity
    for kind in sorted(pair.snapshot.registry.kinds):
        pair.agree(lambda s, kind=kind: s.entities([kind]))
    treatments = sorted(pair.snapshot.registry.kinds_under(["Treatment"]))
    assert pair.agree(lambda s: s.entities(treatments))
    for missing in ("no-such-id", "https://clinic-kg.example/id/no-such-id", "", "a b<>"):
        assert pair.agree(lambda s, m=missing: s.entity(m)) is None


def test_facts_agree_for_every_filter(pair: Pair) -> None:
    assert pair.agree(lambda s: s.facts())
    found = 0
    for id in [*ids_of(pair), *state(pair, "relations"), "no-such-id"]:
        found += len(pair.agree(lambda s, id=id: s.facts(about=id)))
        pair.agree(lambda s, id=id: s.facts(about=id, related=True))
        pair.agree(lambda s, id=id: s.facts(page=id))
        pair.agree(lambda s, id=id: s.facts(source=id))
    assert found > 0
    fact_kinds = [
        k for k in pair.snapshot.registry.kinds if pair.snapshot.registry.kinds[k].is_a("Fact")
    ]
    for kind in fact_kinds:
        pair.agree(lambda s, kind=kind: s.facts(kind=kind))
        pair.agree(lambda s, kind=kind: s.facts(about=FBSS, related=True, kind=kind))
    measures = [c.id for c in pair.snapshot.concepts("Measures")]
    assert any(pair.agree(lambda s, m=m: s.facts(measure=m)) for m in measures)
    for measure in [*measures, "no-such-measure"]:
        pair.agree(lambda s, m=measure: s.facts(about=FBSS, measure=m))
        pair.agree(lambda s, m=measure: s.facts(page="clinic-page", measure=m, related=True))


def test_what_pages_say_agrees(pair: Pair) -> None:
    spoken = 0
    for id in [*ids_of(pair), "no-such-id"]:
        spoken += len(pair.agree(lambda s, id=id: s.pages_of(id)))
        pair.agree(lambda s, id=id: s.page_entities(id))
        pair.agree(lambda s, id=id: s.relations_from(id))
    assert spoken > 0
    assert pair.agree(lambda s: s.page_entities("clinic-page"))
    assert pair.agree(lambda s: s.relations_from("clinic-page"))


def test_relations_evidence_and_referrers_agree(pair: Pair) -> None:
    relations = state(pair, "relations")
    assert relations
    for relation in relations.values():
        assert pair.agree(lambda s, r=relation: s.relation(r.id)) == relation
        assert pair.agree(lambda s, r=relation: s.relation(r.iri)) == relation
        triple = (relation.subject, relation.predicate, relation.object)
        assert relation in pair.agree(lambda s, t=triple: s.evidence(*t))
    assert pair.agree(lambda s: s.relation(FBSS)) is None
    assert pair.agree(lambda s: s.evidence(FBSS, "hasCause", "no-such-id")) == []
    assert sum(len(pair.agree(lambda s, id=id: s.referrers(id))) for id in ids_of(pair)) > 0


def test_codes_and_definitions_agree(pair: Pair) -> None:
    for id, code in state(pair, "codes").items():
        assert pair.agree(lambda s, id=id: s.code(id)) == code
    for id, definition in state(pair, "definitions").items():
        assert pair.agree(lambda s, id=id: s.definition(id)) == definition
    assert pair.agree(lambda s: s.code(FBSS)) is None
    assert pair.agree(lambda s: s.definition("no-such-id")) is None


@pytest.mark.parametrize("odd", ["a b", "x>y", 'q"', "{}", "tab\tid", "", "../clinic-page"])
def test_ids_no_iri_can_hold_answer_as_in_memory(pair: Pair, odd: str) -> None:
    for call in (
        lambda s: s.entity(odd),
        lambda s: s.relation(odd),
        lambda s: s.code(odd),
        lambda s: s.definition(odd),
        lambda s: s.facts(about=odd),
        lambda s: s.facts(about=odd, related=True),
        lambda s: s.facts(page=odd),
        lambda s: s.facts(source=odd, measure=odd),
        lambda s: s.pages_of(odd),
        lambda s: s.page_entities(odd),
        lambda s: s.relations_from(odd),
        lambda s: s.evidence(odd, "hasCause", FBSS),
        lambda s: s.evidence(FBSS, "hasCause", odd),
        lambda s: s.referrers(odd),
        lambda s: s.describe(odd),
        lambda s: s.page_text(odd),
        lambda s: s.concept(odd),
    ):
        pair.agree(call)


def test_search_agrees(pair: Pair) -> None:
    conditions = sorted(pair.snapshot.registry.kinds_under(["Condition"]))
    hits = 0
    for text in SEARCHES:
        hits += len(pair.agree(lambda s, t=text: s.search(t)))
        pair.agree(lambda s, t=text: s.search(t, conditions))
    assert hits > 0


def test_descriptions_and_page_texts_agree(pair: Pair) -> None:
    for entity in pair.snapshot.entities():
        assert pair.agree(lambda s, e=entity: s.describe(e.iri)) is not None
        pair.agree(lambda s, e=entity: s.page_text(e.id))
    assert pair.agree(lambda s: s.page_text("clinic-page"))
    assert pair.agree(lambda s: s.describe("https://clinic-kg.example/id/no-such-id")) is None


# ---------------------------------------------------------------- fetched, bounded


def eventually(check: Callable[[], bool], within: float = 20.0) -> bool:
    """Whether `check` holds (a store error counting as not yet) before `within` seconds pass."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except StoreUnavailable:
            pass
        time.sleep(0.2)
    return False


def fresh(server: Oxigraph, **settings: Any) -> SparqlDataset:
    dataset = SparqlDataset(server.query_url, replace(SETTINGS, **settings), texts_root=REPO)
    dataset.refresh()
    return dataset


@pytest.fixture(scope="module")
def seeded() -> Iterator[Oxigraph]:
    """An Oxigraph holding the published seed."""
    for server in fresh_oxigraph():
        publish(server, validated(REPO), SETTINGS)
        yield server


def test_only_what_a_request_reads_is_fetched_and_then_cached(seeded: Oxigraph) -> None:
    dataset = fresh(seeded)
    store = dataset.store()
    listed = store.entities()
    assert len(listed) > 20
    assert store.budget.spent == 0
    assert listed[0].label()
    assert store.budget.spent == 1  # one record: one query (with what it links to)
    condition = store.entity(FBSS)
    assert condition is not None
    before = store.budget.spent
    linked = [i for _, ids in condition.links for i in ids]
    assert len(linked) > 5
    assert all(store.entity(i) is not None for i in linked)
    assert store.budget.spent - before <= 1  # fetched with the condition, in one query
    facts = list(store.facts(about=FBSS))
    again = dataset.store()
    assert again.entity(FBSS) == condition
    assert list(again.facts(about=FBSS)) == facts
    assert again.budget.spent == 0  # the version's cache
    hits = again.search("pain")  # the version's index; the first page of entities at once
    assert len(hits) > 1
    assert again.budget.spent <= 1
    assert all(again.entity(h.id) for h in hits[:20])
    assert again.budget.spent <= 1


def test_an_entity_is_fetched_with_its_neighbours_not_the_graph(seeded: Oxigraph) -> None:
    # Regression: a UNION branch binding an outer variable (BIND(?x AS ?s)) matched every
    # triple, so each fetch moved the whole graph; the answers were still right.
    dataset = fresh(seeded)
    catalog = dataset.serving.catalog
    store = dataset.store()
    wanted = [iri(catalog.iri_of("stabbing-pain"))]
    query = sparql_queries.entities_with_neighbours(catalog.graph, wanted, catalog.registry)
    fetched = list(store._construct(query))
    assert 0 < len(fetched) < catalog.triple_count // 10
    subjects = {str(s) for s, _, _ in fetched}
    assert catalog.iri_of("stabbing-pain") in subjects
    assert catalog.iri_of(FBSS) not in subjects  # it points at the symptom, not the reverse


def test_the_cache_is_bounded_and_answers_stay_the_same(seeded: Oxigraph) -> None:
    snap = build_snapshot(validated(REPO), SETTINGS)
    dataset = fresh(seeded, store_cache_size=5, store_query_budget=10_000)
    store = dataset.store()
    assert list(store.entities()) == list(snap.entities())
    assert [list(store.facts(about=e.id)) for e in snap.entities()] == [
        list(snap.facts(about=e.id)) for e in snap.entities()
    ]
    assert len(dataset.serving.cache) <= 5


def test_a_request_over_its_query_budget_is_refused_with_a_code(seeded: Oxigraph) -> None:
    dataset = fresh(seeded, store_query_budget=2)
    store = dataset.store()
    assert store.entity(FBSS) is not None
    assert store.referrers(FBSS) is not None
    assert store.budget.spent == 2
    with pytest.raises(StoreUnavailable) as refused:
        store.referrers("smoking")
    assert refused.value.code == "STORE_BUDGET_EXCEEDED"
    assert "store_query_budget" in str(refused.value)
    assert dataset.store().entity(FBSS) is not None  # the next request has a budget of its own


def test_the_budget_error_reaches_graphql_clients_as_a_code(seeded: Oxigraph) -> None:
    holder = SparqlHolder(fresh(seeded, store_query_budget=1))
    query = "{ conditions { edges { node { label causes { edges { quote node { label } } } } } } }"
    with TestClient(create_app(SETTINGS, holder)) as client:
        answer = client.post("/graphql", json={"query": query}).json()
    codes = {e["extensions"]["code"] for e in answer["errors"]}
    assert codes == {"STORE_BUDGET_EXCEEDED"}
    assert answer["extensions"]["datasetVersion"] == holder.dataset.version


def test_a_store_that_hangs_times_out_with_a_code(seeded: Oxigraph) -> None:
    dataset = fresh(seeded, store_timeout_ms=300)
    store = dataset.store()
    os.kill(seeded.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as refused:
            store.entity(FBSS)
        waited = time.monotonic() - started
    finally:
        os.kill(seeded.process.pid, signal.SIGCONT)
    assert refused.value.code == "STORE_TIMEOUT"
    assert waited < 30  # bounded by the timeout, not by the hung store (a loose bound)
    # And the same dataset uses the store again once it answers (a resumed store may first work
    # off the request that timed out: on a loaded machine that can outlast a 300 ms timeout).
    assert eventually(lambda: dataset.store().entity(FBSS) is not None)


def test_content_routes_answer_503_with_the_code_when_the_store_hangs(seeded: Oxigraph) -> None:
    holder = SparqlHolder(fresh(seeded, store_timeout_ms=300))
    with TestClient(create_app(SETTINGS, holder)) as client:
        os.kill(seeded.process.pid, signal.SIGSTOP)
        try:
            facts = client.get("/facts", params={"about": FBSS})
            fact = client.get("/facts/lumbar-fusion-success-rate")
            page = client.get(f"/id/{FBSS}", headers={"accept": "text/turtle"})
        finally:
            os.kill(seeded.process.pid, signal.SIGCONT)
        assert (facts.status_code, facts.json()["code"]) == (503, "STORE_TIMEOUT")
        assert (fact.status_code, fact.json()["code"]) == (503, "STORE_TIMEOUT")
        assert page.status_code == 503
        assert "store_timeout_ms" in page.text
        assert eventually(  # and back, once the resumed store answers in time
            lambda: client.get("/facts", params={"about": FBSS}).status_code == 200
        )


def test_a_store_that_does_not_answer_is_unavailable(seeded: Oxigraph) -> None:
    closed = f"http://127.0.0.1:{free_port()}/query"
    with pytest.raises(StoreUnavailable) as refused:
        SparqlDataset(closed, SETTINGS).refresh()
    assert refused.value.code == "STORE_UNAVAILABLE"
    result = CliRunner().invoke(cli, ["serve", "--store", closed], standalone_mode=False)
    assert result.return_value == 1
    assert "not serving: the SPARQL store at" in result.output


def test_nothing_published_is_said_so(oxigraph: Oxigraph) -> None:
    with pytest.raises(StoreUnavailable, match="clinic-kg publish"):
        SparqlDataset(oxigraph.query_url, SETTINGS).refresh()
    url = "ftp://example.org/query"
    result = CliRunner().invoke(cli, ["serve", "--store", url], standalone_mode=False)
    assert result.return_value == 1
    assert "not an http(s) URL" in result.output


def test_serve_store_serves_the_current_version_without_validating(
    seeded: Oxigraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[tuple[Settings, StoreHolder]] = []
    monkeypatch.setattr(serve_module, "run", lambda s, h: served.append((s, h)))
    monkeypatch.setenv("CLINIC_KG_STORE_URL", seeded.query_url)
    # No project here (no kg/ to validate or to read text copies from): all comes from the store.
    args = ["serve", "--root", str(tmp_path)]
    result = CliRunner().invoke(cli, args, standalone_mode=False)
    assert result.return_value == 0, result.output
    [(settings, holder)] = served
    assert settings.store_url == seeded.query_url
    assert isinstance(holder, SparqlHolder)
    first, second = holder.current, holder.current
    assert first is not second  # a store (and a budget) per request
    assert first.entity(FBSS) is not None
    assert first.page_text("clinic-page") is None


# ---------------------------------------------------------------- new versions


def test_a_moved_pointer_is_picked_up_and_requests_keep_their_version(
    oxigraph: Oxigraph, tmp_path: Path
) -> None:
    first = publish(oxigraph, validated(REPO), SETTINGS)
    holder = SparqlHolder(fresh(oxigraph))
    watcher = PointerWatcher(holder, 3600)
    before = holder.current
    assert before.version == first
    assert not watcher.poll()
    second_load = validated(two_pages(tmp_path))
    second = put_version(oxigraph, second_load, SETTINGS)
    assert second != first
    assert not watcher.poll()  # uploaded, but not current yet
    point_at(oxigraph, second, SETTINGS)
    assert watcher.poll()
    assert holder.current.version == second
    assert holder.current.entity("herniated-disc") is not None
    assert before.version == first
    assert before.entity("herniated-disc") is None
    assert not watcher.poll()


def test_an_unreadable_pointer_is_reported_and_the_version_keeps_serving(
    oxigraph: Oxigraph,
) -> None:
    first = publish(oxigraph, validated(REPO), SETTINGS)
    holder = SparqlHolder(fresh(oxigraph))
    watcher = PointerWatcher(holder, 3600)
    httpx.post(oxigraph.update_url, data={"update": "DROP ALL"}, timeout=30)
    assert not watcher.poll()
    assert holder.last_reload_error is not None
    assert "clinic-kg publish" in holder.last_reload_error.message
    assert holder.current.version == first
    publish(oxigraph, validated(REPO), SETTINGS)
    assert not watcher.poll()  # the same version again: the error is cleared
    assert holder.last_reload_error is None


def test_serve_watch_follows_the_pointer(oxigraph: Oxigraph, tmp_path: Path) -> None:
    first = publish(oxigraph, validated(REPO), SETTINGS)
    extra = ("--store", oxigraph.query_url, "--watch")
    env = {"CLINIC_KG_STORE_POLL_SECONDS": "1"}
    with contextlib.contextmanager(live.start)(REPO, env, extra) as server:
        assert httpx.get(f"{server.url}/readyz", timeout=10).json()["datasetVersion"] == first
        second = publish(oxigraph, validated(two_pages(tmp_path)), SETTINGS)
        deadline = time.monotonic() + 30  # a bound, not a performance assertion
        served = first
        while served != second and time.monotonic() < deadline:
            time.sleep(0.2)
            served = httpx.get(f"{server.url}/readyz", timeout=10).json()["datasetVersion"]
        assert served == second, server.output()
        query = '{ node(id: "herniated-disc") { label } }'
        answer = httpx.post(server.graphql, json={"query": query}, timeout=10)
        assert answer.headers["x-dataset-version"] == second
        assert answer.json()["data"]["node"]["label"]
