"""A content tool on the change feed, as a typed Apollo Client (tests/node/feed): it renders a
fact and remembers the version; a steward edits that number in the kg/ copy under
`serve --watch`; asked what changed since, the feed names exactly that fact, with its old and new
statement. Needs `changes(since:)` in the committed schema (the change feed, issue 14 part 1)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from . import live_server as live
from .conftest import REPO
from .node_tools import build_clients, run_node

FACT = "back-pain-lifetime-prevalence"
RELOAD_TIMEOUT = 60.0  # seconds: a bound on one --watch reload, not a performance assertion


def require_change_feed() -> None:
    if "changes(" in (REPO / "server" / "schema.graphql").read_text():
        return
    reason = "the schema has no changes(since:) yet (the change feed, issue 14 part 1)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def fact_file(project: Path) -> Path:
    [path] = [p for p in (project / "kg").rglob("*.ttl") if f"\nkg:{FACT} a " in p.read_text()]
    return path


def test_apollo_client_sees_the_edited_fact_through_the_change_feed(
    project: Path,
) -> None:
    require_change_feed()
    build_clients(feed=True)
    env = {"CLINIC_KG_WATCH_DEBOUNCE_MS": "100"}
    for server in live.start(project, env=env, extra=("--watch",)):
        rendered = run_node("build/feed/client.js", server.graphql, "render", FACT)
        assert rendered["errors"] == []
        assert rendered["statement"] == "Lifetime prevalence of back pain in adults: almost 85%."
        path = fact_file(project)
        text = path.read_text(encoding="utf-8")
        assert text.count('"85"^^xsd:decimal') == 1
        path.write_text(text.replace('"85"^^xsd:decimal', '"86"^^xsd:decimal'), encoding="utf-8")
        deadline = time.monotonic() + RELOAD_TIMEOUT
        while httpx.get(f"{server.url}/readyz").json()["datasetVersion"] == rendered["version"]:
            assert time.monotonic() < deadline, f"no reload after the edit:\n{server.output()}"
            time.sleep(0.1)

        feed = run_node("build/feed/client.js", server.graphql, "changes", rendered["version"])
        assert feed["errors"] == []
        assert feed["from"] == rendered["version"]
        assert [
            (c["kind"], c["entityId"], c["isFact"], c["oldStatement"], c["newStatement"])
            for c in feed["changes"]
        ] == [
            (
                "CHANGED",
                FACT,
                True,
                rendered["statement"],
                "Lifetime prevalence of back pain in adults: almost 86%.",
            )
        ]
        assert feed["changes"][0]["node"]["statement"] == feed["changes"][0]["newStatement"]
