"""The content tool's loop against a real `clinic-kg serve --watch` (issue 14, must show): render a
page's facts, remember the dataset version, a steward edits one number in kg/, and asking
`changes(since:)` names exactly that fact, with its old and new statement; re-rendering only
what changed leaves the tool with what a full refetch would give."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from . import live_server
from .kg_files import described_in

PAGE = "clinic-page"
FACT = "back-pain-lifetime-prevalence"
WAIT = 30.0  # an upper bound for the test to give up, not a performance assertion

RENDER = "query ($page: ID!) { page(id: $page) { facts { id statement } } }"
CHANGES = """query ($since: String!) { changes(since: $since) { from to changes {
  kind entityId type isFact oldStatement newStatement oldValueText newValueText
  node { id ... on Fact { statement } } } } }"""


@pytest.fixture
def watched(project: Path) -> Iterator[live_server.LiveServer]:
    yield from live_server.start(
        project, env={"CLINIC_KG_WATCH_DEBOUNCE_MS": "100"}, extra=("--watch",)
    )


class ContentTool:
    """What a CMS does: keeps each fact's statement and the version it rendered them at."""

    def __init__(self, server: live_server.LiveServer) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=10)
        self.statements: dict[str, str] = {}
        self.version = ""

    def query(self, query: str, **variables: Any) -> tuple[dict[str, Any], str]:
        """The data of a query, and the dataset version it was answered from."""
        response = self.http.post("/graphql", json={"query": query, "variables": variables})
        body = response.json()
        assert response.status_code == 200
        assert "errors" not in body, body
        version: str = body["extensions"]["datasetVersion"]
        assert response.headers["x-dataset-version"] == version
        data: dict[str, Any] = body["data"]
        return data, version

    def render_all(self) -> dict[str, str]:
        data, self.version = self.query(RENDER, page=PAGE)
        self.statements = {f["id"]: f["statement"] for f in data["page"]["facts"]}
        return self.statements

    def refresh(self) -> list[dict[str, Any]]:
        """Ask what changed since the version rendered; re-render those facts only."""
        data, served = self.query(CHANGES, since=self.version)
        feed = data["changes"]
        assert (feed["from"], feed["to"]) == (self.version, served)
        for change in feed["changes"]:
            if not change["isFact"]:
                continue
            if change["kind"] == "REMOVED":
                self.statements.pop(change["entityId"], None)
            else:
                self.statements[change["entityId"]] = change["node"]["statement"]
        self.version = feed["to"]
        changes: list[dict[str, Any]] = feed["changes"]
        return changes


def _wait_for_new_version(tool: ContentTool, old: str) -> str:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        _, version = tool.query("{ dataset { version } }")
        if version != old:
            return version
        time.sleep(0.05)
    raise AssertionError(f"the edit was not served within {WAIT} s")


@pytest.mark.e2e
def test_a_content_tool_learns_exactly_the_fact_whose_number_changed(
    watched: live_server.LiveServer, project: Path
) -> None:
    tool = ContentTool(watched)
    rendered = dict(tool.render_all())
    before = tool.version
    assert rendered[FACT] == "Lifetime prevalence of back pain in adults: almost 85%."

    # Nothing changed yet: the feed says so.
    assert tool.refresh() == []
    assert tool.version == before

    # A steward changes one number in the kg/ copy being served.
    path = project / described_in(project, FACT)[0]
    text = path.read_text(encoding="utf-8")
    assert text.count('"85"^^xsd:decimal') == 1
    path.write_text(text.replace('"85"^^xsd:decimal', '"86"^^xsd:decimal'), encoding="utf-8")
    after = _wait_for_new_version(tool, before)

    changes = tool.refresh()
    assert changes == [
        {
            "kind": "CHANGED",
            "entityId": FACT,
            "type": "Proportion",
            "isFact": True,
            "oldStatement": rendered[FACT],  # what the tool had rendered
            "newStatement": "Lifetime prevalence of back pain in adults: almost 86%.",
            "oldValueText": "almost 85%",
            "newValueText": "almost 86%",
            "node": {
                "id": FACT,
                "statement": "Lifetime prevalence of back pain in adults: almost 86%.",
            },
        }
    ]
    assert tool.version == after

    # Re-rendering only that fact leaves the tool where a full refetch would.
    patched = dict(tool.statements)
    assert patched == {**rendered, FACT: "Lifetime prevalence of back pain in adults: almost 86%."}
    assert tool.render_all() == patched

    # The plain-JSON route answers the same for tools that do not speak GraphQL.
    http = tool.http.get("/changes", params={"since": before})
    assert http.status_code == 200
    assert [
        (c["kind"], c["entityId"], c["oldStatement"], c["newStatement"])
        for c in http.json()["changes"]
    ] == [(c["kind"], c["entityId"], c["oldStatement"], c["newStatement"]) for c in changes]

    # And the new version is now the tool's baseline: nothing more to do.
    assert tool.refresh() == []
    tool.http.close()


@pytest.mark.e2e
def test_the_loop_survives_a_restart_from_the_start_up_cache(project: Path) -> None:
    # The version is a hash of the files: a restart on the same files serves the same version,
    # and one restored from the start-up cache can still say what it held once files change.
    for _ in live_server.start(project):
        pass  # a first start writes the start-up cache
    for server in live_server.start(
        project, env={"CLINIC_KG_WATCH_DEBOUNCE_MS": "100"}, extra=("--watch",)
    ):
        assert "from .clinic-kg-cache/" in server.output()
        tool = ContentTool(server)
        rendered = dict(tool.render_all())
        before = tool.version
        path = project / described_in(project, FACT)[0]
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('"85"^^xsd:decimal', '"86"^^xsd:decimal'), encoding="utf-8")
        _wait_for_new_version(tool, before)
        [change] = tool.refresh()
        assert (change["entityId"], change["oldStatement"], change["newStatement"]) == (
            FACT,
            rendered[FACT],
            "Lifetime prevalence of back pain in adults: almost 86%.",
        )
        tool.http.close()
