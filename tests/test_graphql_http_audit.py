"""The GraphQL-over-HTTP spec's own audit (graphql-http's `serverAudits`, run by Node) against a
real server: every audit ok, warnings and notices included."""

from __future__ import annotations

from . import live_server as live
from .live_server import LiveServer
from .node_tools import run_node

live_server = live.live_server

AUDITS = 61  # graphql-http 1.23.1 (tests/node/package-lock.json); a new version may add some


def test_graphql_http_audit_passes_every_audit(live_server: LiveServer) -> None:
    results = run_node("audit.mjs", live_server.graphql)["results"]
    failed = [
        f"{r['id']} {r['status']}: {r['name']} — {r['reason']}"
        for r in results
        if r["status"] != "ok"
    ]
    ok = len(results) - len(failed)
    print(f"graphql-http audit: {ok} of {len(results)} ok")
    assert not failed, "\n".join(failed)
    assert len(results) == AUDITS
