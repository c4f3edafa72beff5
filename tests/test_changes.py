"""The change feed over GraphQL (`changes(since:)`) and HTTP (`GET /changes`): what changed since a
version this server served, worded as the API words it; a version it cannot compare with is a
coded error that says which it can."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.http.app import create_app
from server.serve.watch import Reloader
from server.settings import Settings
from server.store.history import VersionPrint
from server.store.protocol import StoreHolder
from server.store.snapshot import build_snapshot
from server.validate.validation import validate_project

from .fake_store import FakeStore
from .kg_files import described_in

FACT = "back-pain-lifetime-prevalence"
QUERY = """query ($since: String!) { changes(since: $since) { from to changes {
  kind entityId type isFact label oldStatement newStatement oldValueText newValueText
  properties { property removed added } node { id } } } }"""


def _edit(root: Path, slug: str, old: str, new: str) -> None:
    path = root / described_in(root, slug)[0]
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _holder(project: Path, keep: int = 16) -> Reloader:
    settings = Settings()
    outcome = validate_project(project, (), settings)
    assert outcome.conforms
    holder = StoreHolder(build_snapshot(outcome.load, settings, outcome.index), keep)
    return Reloader(project, settings, holder)


def _reload(reloader: Reloader) -> str:
    outcome = reloader.reload()
    assert outcome.swapped, outcome.error
    return outcome.version


def _change_value(reloader: Reloader, project: Path, old: str, new: str) -> tuple[str, str]:
    """The version served before, and after, the statistic's value `old` became `new`."""
    before = reloader.holder.current.version
    _edit(project, FACT, f'"{old}"^^xsd:decimal', f'"{new}"^^xsd:decimal')
    return before, _reload(reloader)


@pytest.fixture
def feed(project: Path) -> Iterator[tuple[Reloader, TestClient]]:
    reloader = _holder(project)
    with TestClient(create_app(Settings(), reloader.holder)) as client:
        yield reloader, client


def graphql(client: TestClient, since: str) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": QUERY, "variables": {"since": since}})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_a_changed_number_is_the_one_change_with_both_statements(
    feed: tuple[Reloader, TestClient], project: Path
) -> None:
    reloader, client = feed
    first, second = _change_value(reloader, project, "85", "86")

    answer = graphql(client, first)["data"]["changes"]
    assert (answer["from"], answer["to"]) == (first, second)
    assert answer["changes"] == [
        {
            "kind": "CHANGED",
            "entityId": FACT,
            "type": "Proportion",
            "isFact": True,
            "label": "Lifetime prevalence of back pain in adults",
            "oldStatement": "Lifetime prevalence of back pain in adults: almost 85%.",
            "newStatement": "Lifetime prevalence of back pain in adults: almost 86%.",
            "oldValueText": "almost 85%",
            "newValueText": "almost 86%",
            "properties": [
                {
                    "property": "ckg:value",
                    "removed": ['"85"^^xsd:decimal'],
                    "added": ['"86"^^xsd:decimal'],
                }
            ],
            "node": {"id": FACT},
        }
    ]

    # GET /changes answers the same, by the same names (less the GraphQL-only `node`).
    http = client.get("/changes", params={"since": first})
    assert http.status_code == 200
    assert http.headers["x-dataset-version"] == second
    assert http.headers["cache-control"] == "no-cache"  # a feed learns of a new version at once
    body = http.json()
    assert body["datasetVersion"] == second
    assert {k: body[k] for k in ("from", "to")} == {"from": first, "to": second}
    assert body["changes"] == [
        {k: v for k, v in c.items() if k != "node"} for c in answer["changes"]
    ]
    etag = {"If-None-Match": http.headers["etag"]}
    assert client.get("/changes", params={"since": first}, headers=etag).status_code == 304


def test_the_current_version_has_no_changes(feed: tuple[Reloader, TestClient]) -> None:
    reloader, client = feed
    current = reloader.holder.current.version
    assert graphql(client, current)["data"]["changes"] == {
        "from": current,
        "to": current,
        "changes": [],
    }
    body = client.get("/changes", params={"since": current}).json()
    assert (body["from"], body["to"], body["changes"]) == (current, current, [])


def test_an_unknown_version_is_a_coded_error_naming_the_resolvable_ones(
    feed: tuple[Reloader, TestClient], project: Path
) -> None:
    reloader, client = feed
    first, second = _change_value(reloader, project, "85", "86")

    body = graphql(client, "0123456789abcdef")
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNKNOWN_VERSION"
    assert error["extensions"]["resolvableVersions"] == [first, second]
    assert error["extensions"]["currentVersion"] == second
    assert f'oldest kept "{first}", current "{second}"' in error["message"]
    assert "Refetch everything" in error["message"]

    http = client.get("/changes", params={"since": "0123456789abcdef"})
    assert http.status_code == 410
    assert http.headers["cache-control"] == "no-cache"
    assert http.json()["code"] == "UNKNOWN_VERSION"
    assert http.json()["resolvableVersions"] == [first, second]
    assert http.json()["error"] == error["message"]


def test_a_version_pushed_out_of_the_history_is_unknown(project: Path) -> None:
    reloader = _holder(project, keep=2)
    first, second = _change_value(reloader, project, "85", "86")
    _, third = _change_value(reloader, project, "86", "87")
    assert reloader.holder.history.versions() == (second, third)
    with TestClient(create_app(Settings(), reloader.holder)) as client:
        evicted = graphql(client, first)["errors"][0]
        assert evicted["extensions"]["code"] == "UNKNOWN_VERSION"
        assert f'oldest kept "{second}"' in evicted["message"]
        kept = graphql(client, second)["data"]["changes"]["changes"]
        assert [(c["entityId"], c["oldValueText"], c["newValueText"]) for c in kept] == [
            (FACT, "almost 86%", "almost 87%")
        ]


def test_an_undone_edit_compares_both_ways(
    feed: tuple[Reloader, TestClient], project: Path
) -> None:
    reloader, client = feed
    first, second = _change_value(reloader, project, "85", "86")
    assert _change_value(reloader, project, "86", "85")[1] == first  # same content, same version
    assert graphql(client, first)["data"]["changes"]["changes"] == []
    [back] = graphql(client, second)["data"]["changes"]["changes"]
    assert (back["oldStatement"], back["newStatement"]) == (
        "Lifetime prevalence of back pain in adults: almost 86%.",
        "Lifetime prevalence of back pain in adults: almost 85%.",
    )


def test_a_renamed_fact_is_removed_and_added(
    feed: tuple[Reloader, TestClient], project: Path
) -> None:
    reloader, client = feed
    first = reloader.holder.current.version
    _edit(project, FACT, f"kg:{FACT} a", f"kg:{FACT}-renamed a")
    _reload(reloader)
    found = graphql(client, first)["data"]["changes"]["changes"]
    removed, added = found
    statement = "Lifetime prevalence of back pain in adults: almost 85%."
    assert (removed["kind"], removed["entityId"], removed["node"]) == ("REMOVED", FACT, None)
    assert (removed["oldStatement"], removed["newStatement"]) == (statement, None)
    assert (added["kind"], added["entityId"], added["node"]) == (
        "ADDED",
        f"{FACT}-renamed",
        {"id": f"{FACT}-renamed"},
    )
    assert (added["oldStatement"], added["newStatement"]) == (None, statement)
    assert {"property": "ckg:value", "removed": [], "added": ['"85"^^xsd:decimal']} in added[
        "properties"
    ]


def test_a_relabelled_qualifier_rewords_its_facts(
    feed: tuple[Reloader, TestClient], project: Path
) -> None:
    reloader, client = feed
    first = reloader.holder.current.version
    store = reloader.holder.current
    using = sorted(f.id for f in store.facts() if f.qualifier == "almost")
    assert FACT in using
    path = project / "ontology" / "concept-schemes.ttl"
    text = path.read_text(encoding="utf-8")
    assert text.count('"almost"@en') == 1
    path.write_text(text.replace('"almost"@en', '"nearly"@en'), encoding="utf-8")
    _reload(reloader)
    found = graphql(client, first)["data"]["changes"]["changes"]
    assert sorted(c["entityId"] for c in found) == using
    mine = next(c for c in found if c["entityId"] == FACT)
    assert mine["newStatement"] == "Lifetime prevalence of back pain in adults: nearly 85%."
    assert mine["properties"] == []  # its own triples are the same


def test_no_history_kept_means_every_other_version_is_unknown(project: Path) -> None:
    reloader = _holder(project, keep=0)
    first, _ = _change_value(reloader, project, "85", "86")
    with TestClient(create_app(Settings(), reloader.holder)) as client:
        error = graphql(client, first)["errors"][0]
    assert error["extensions"]["code"] == "UNKNOWN_VERSION"
    assert "keeps no versions" in error["message"]


def test_a_store_that_cannot_print_its_version_is_not_compared() -> None:
    holder = StoreHolder(FakeStore())  # a store other than the in-memory snapshot
    first = holder.current.version
    holder.swap(FakeStore(version="other"))
    assert holder.history.get(first) is None
    assert holder.history.versions() == ()


def test_unchanged_subjects_are_shared_between_kept_versions(
    feed: tuple[Reloader, TestClient], project: Path
) -> None:
    reloader, _ = feed
    first, second = _change_value(reloader, project, "85", "86")
    old, new = reloader.holder.history.get(first), reloader.holder.history.get(second)
    assert isinstance(old, VersionPrint)
    assert isinstance(new, VersionPrint)
    iri = reloader.holder.current.entity(FACT).iri  # type: ignore[union-attr]
    assert old.described.values[iri] != new.described.values[iri]
    assert old.entities[iri] is not new.entities[iri]
    others = [s for s in new.described.values if s != iri]
    assert others
    assert all(new.described.values[s] is old.described.values[s] for s in others)
    assert all(new.entities[s] is old.entities[s] for s in new.entities if s != iri)


def test_changes_needs_since_and_json(feed: tuple[Reloader, TestClient]) -> None:
    _, client = feed
    missing = client.get("/changes")
    assert missing.status_code == 400
    assert missing.json()["code"] == "BAD_PARAMETER"
    extra = client.get("/changes", params={"since": "x", "page": "clinic-page"})
    assert extra.status_code == 400
    assert extra.json()["code"] == "BAD_PARAMETER"
    html = client.get("/changes", params={"since": "x"}, headers={"Accept": "text/html"})
    assert html.status_code == 406


def test_a_change_is_not_keyed_like_the_entity_it_names(
    feed: tuple[Reloader, TestClient],
) -> None:
    # Apollo Client caches objects by __typename and id: a Change with the entity's id would
    # merge the changes of one entity seen in two feeds into one cached object.
    _, client = feed
    query = '{ __type(name: "Change") { fields { name } } }'
    fields = {f["name"] for f in client.post("/graphql", json={"query": query}).json()["data"][
        "__type"]["fields"]}  # fmt: skip
    assert "entityId" in fields
    assert "id" not in fields
