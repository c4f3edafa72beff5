"""Real client stacks against a live server: graphql-codegen generates TypeScript types and typed
documents from the committed schema and tests/node/operations, `tsc --noEmit` type-checks them
with a client in strict mode, and that client (Apollo Client: normalized InMemoryCache with
codegen's possibleTypes, the persisted-query link, HttpLink) runs on 127.0.0.1."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import parse

from server.http.persisted import printings

from . import live_server as live
from .live_server import LiveServer
from .node_tools import build_clients, run_node
from .seed import FBSS

live_server = live.live_server


@pytest.fixture(scope="module")
def built() -> Path:
    return build_clients()


def client(server: LiveServer, mode: str) -> Any:
    return run_node("build/client.js", server.graphql, mode)


def exchanges(requests: list[dict[str, Any]]) -> list[tuple[str, bool, int, list[str]]]:
    """(method, whether the query text was sent, status, error codes) of each request."""
    return [(r["method"], bool(r["sentQuery"]), r["status"], r["codes"]) for r in requests]


def test_codegen_generates_typed_documents_and_possible_types(built: Path) -> None:
    generated = (built / "generated" / "graphql.ts").read_text()
    for name in ("ConditionPage", "Pages", "Search", "FactsByIds"):
        assert f"export type {name}Query = " in generated
        assert f"export const {name}Document = " in generated
    possible = (built / "generated" / "possible-types.ts").read_text()
    assert '"Fact": [\n      "QualitativeClaim",\n      "Statistic"\n    ]' in possible
    assert (built / "build" / "client.js").is_file()


def test_apollo_cache_keeps_one_entry_per_typed_id_with_merged_fields(
    built: Path, live_server: LiveServer
) -> None:
    result = client(live_server, "normalized")
    assert result["errors"] == []
    entries = result["entries"]
    condition = entries[f"Condition:{FBSS}"]
    # From ConditionPage (label, causes) and from Pages (definition): one entry, merged.
    assert condition["label"] == "Failed back surgery syndrome"
    assert condition["definition"]
    assert condition['causes({"first":2})']["totalCount"] >= 1
    assert {"__ref": f"Condition:{FBSS}"} in entries["Page:clinic-page"]["conditions"]
    # The statistic referenced by the condition and fetched by facts(ids): one entry, merged.
    statistic = entries[f"Statistic:{result['statisticId']}"]
    assert statistic["statement"] == result["factStatement"]
    assert statistic["citation"]
    # Every normalized key is Type:id of an object of that type.
    for key, entry in entries.items():
        if key != "ROOT_QUERY":
            assert key == f"{entry['__typename']}:{entry['id']}"
    # A fragment on the Node interface reads back from the cache (codegen's possibleTypes).
    drug = result["cachedSearch"]["search"]["edges"][0]["node"]
    assert (drug["__typename"], drug["id"], drug["label"]) == (
        "Drug",
        "acetaminophen",
        "Acetaminophen",
    )
    assert "Drug:acetaminophen" in entries


def test_persisted_query_link_gets_not_found_once_then_hits(
    built: Path, live_server: LiveServer
) -> None:
    result = client(live_server, "persisted")
    assert exchanges(result["post"]["requests"]) == [
        ("POST", False, 400, ["PERSISTED_QUERY_NOT_FOUND"]),
        ("POST", True, 200, []),
        ("POST", False, 200, []),
    ]
    assert [a["errors"] for a in result["post"]["answers"]] == [[], []]
    assert result["post"]["answers"][0]["data"] == result["post"]["answers"][1]["data"]
    # What Apollo sends (and hashes) is graphql-js print() with its added __typename: the
    # printing the server registers for a safelist file holding the same operation.
    sent = result["post"]["requests"][1]
    text = (built / "operations" / "dataset.graphql").read_text()
    assert sent["sentQuery"] == printings(parse(text))[1]
    assert hashlib.sha256(sent["sentQuery"].encode()).hexdigest() == sent["sha256Hash"]
    # Hashes sent by GET; the link retries a miss with the query by POST.
    assert exchanges(result["get"]["requests"]) == [
        ("GET", False, 400, ["PERSISTED_QUERY_NOT_FOUND"]),
        ("POST", True, 200, []),
        ("GET", False, 200, []),
    ]
    assert result["get"]["answers"][1]["data"]["clinics"]["edges"]


@pytest.fixture(scope="module")
def safelist_server(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("safelist")
    shutil.copy(built / "operations" / "pages.graphql", folder)
    env = {"CLINIC_KG_SAFELIST_DIR": str(folder), "CLINIC_KG_SAFELIST_ONLY": "true"}
    yield from live.start(env=env)


def test_safelist_answers_a_registered_operation_by_hash_and_refuses_another(
    safelist_server: LiveServer,
) -> None:
    result = client(safelist_server, "safelist")
    assert result["registered"]["errors"] == []
    assert result["registered"]["data"]["pages"]["totalCount"] >= 1
    assert result["unregistered"]["errors"] == ["OPERATION_NOT_IN_SAFELIST"]
    assert result["unregistered"]["data"] is None
    requests = [(r["operationName"], bool(r["sentQuery"]), r["status"]) for r in result["requests"]]
    # The registered operation never sent its text: Apollo's hash is the file's registered one.
    assert requests == [("Pages", False, 200), ("Search", False, 400)]
