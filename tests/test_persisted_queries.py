"""Automatic persisted queries as Apollo Client's link sends them (hash first, then hash + query
once), the response cache and ETags keyed the same way, and the safelist of reviewed operations
(start-up validation with file:line:column, `safelist_only` refusals)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse, print_ast

from server.http.app import create_app
from server.http.media import GRAPHQL_RESPONSE, JSON
from server.http.persisted import SafelistError, load_safelist, printings
from server.load.loader import load
from server.schema import build_schema
from server.settings import Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot, build_snapshot

from . import live_server as live
from .conftest import REPO
from .seed import FBSS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

QUERY = f'query Condition {{ condition(id: "{FBSS}") {{ id label }} }}'
PAGES = """query Pages {
  pages {
    totalCount
    edges { node { id label } }
  }
}
"""


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(text: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha(text)}}


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return build_snapshot(load(REPO))


def make_client(snap: Snapshot, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(**settings), StoreHolder(snap)))


@pytest.fixture
def client(snap: Snapshot) -> Iterator[TestClient]:
    with make_client(snap) as c:
        yield c


@pytest.fixture
def safelist(tmp_path: Path) -> Path:
    folder = tmp_path / "safelist"
    folder.mkdir()
    (folder / "pages.graphql").write_text(PAGES)
    return folder


def post(client: TestClient, body: Any, accept: str = GRAPHQL_RESPONSE) -> Any:
    headers = {"content-type": "application/json", "accept": accept}
    return client.post("/graphql", content=json.dumps(body), headers=headers)


def get(client: TestClient, accept: str = GRAPHQL_RESPONSE, **params: Any) -> Any:
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    return client.get("/graphql", params=encoded, headers={"accept": accept})


def codes(response: Any) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


def test_unknown_hash_is_not_found_then_registered_by_hash_and_query(client: TestClient) -> None:
    first = post(client, {"extensions": persisted(QUERY)})
    assert first.status_code == 400
    assert first.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert codes(first) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert "data" not in first.json()
    assert first.headers["cache-control"] == "no-store"

    registered = post(client, {"query": QUERY, "extensions": persisted(QUERY)})
    assert registered.status_code == 200
    assert registered.json()["data"]["condition"]["id"] == FBSS

    hit = post(client, {"extensions": persisted(QUERY), "operationName": "Condition"})
    assert hit.status_code == 200
    assert hit.json()["data"] == registered.json()["data"]


def test_not_found_is_200_for_application_json_like_other_unexecuted_requests(
    client: TestClient,
) -> None:
    response = post(client, {"extensions": persisted(QUERY)}, accept=JSON)
    assert response.status_code == 200
    assert codes(response) == ["PERSISTED_QUERY_NOT_FOUND"]


def test_get_hash_only_finds_a_query_registered_by_post(client: TestClient) -> None:
    missing = get(client, extensions=persisted(QUERY))
    assert missing.status_code == 400
    assert codes(missing) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert "etag" not in missing.headers

    post(client, {"query": QUERY, "extensions": persisted(QUERY)})
    by_hash = get(client, extensions=persisted(QUERY))
    assert by_hash.status_code == 200
    assert by_hash.json()["data"]["condition"]["id"] == FBSS
    # The same answer as the full query: one ETag, so either revalidates the other.
    full = get(client, query=QUERY)
    assert by_hash.headers["etag"] == full.headers["etag"]
    again = client.get(
        "/graphql",
        params={"extensions": json.dumps(persisted(QUERY))},
        headers={"accept": GRAPHQL_RESPONSE, "if-none-match": full.headers["etag"]},
    )
    assert again.status_code == 304


def test_get_can_register_with_hash_and_query(client: TestClient) -> None:
    assert get(client, query=QUERY, extensions=persisted(QUERY)).status_code == 200
    assert get(client, extensions=persisted(QUERY)).status_code == 200


def test_hash_only_request_hits_the_response_cache_entry_of_the_full_query(
    client: TestClient,
) -> None:
    endpoint = client.app.state.graphql  # type: ignore[attr-defined]
    post(client, {"query": QUERY, "extensions": persisted(QUERY)})
    entries = len(endpoint.cache)
    assert entries >= 1
    hit = post(client, {"extensions": persisted(QUERY)})
    assert hit.status_code == 200
    assert len(endpoint.cache) == entries  # no second entry: the same key


def test_hash_that_does_not_match_the_query_is_a_400_in_both_media_types(
    client: TestClient,
) -> None:
    body = {"query": QUERY, "extensions": persisted(QUERY + " ")}
    for accept in (GRAPHQL_RESPONSE, JSON):
        response = post(client, body, accept=accept)
        assert response.status_code == 400
        assert codes(response) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    # Nothing was registered under the wrong hash.
    assert codes(post(client, {"extensions": persisted(QUERY + " ")})) == [
        "PERSISTED_QUERY_NOT_FOUND"
    ]


@pytest.mark.parametrize(
    ("extension", "code"),
    [
        ({"version": 2, "sha256Hash": sha(QUERY)}, "PERSISTED_QUERY_VERSION_NOT_SUPPORTED"),
        ({"sha256Hash": sha(QUERY)}, "PERSISTED_QUERY_VERSION_NOT_SUPPORTED"),
        ({"version": 1, "sha256Hash": "abc"}, "BAD_REQUEST"),
        ({"version": 1}, "BAD_REQUEST"),
        ("not an object", "BAD_REQUEST"),
    ],
)
def test_malformed_persisted_query_extension_is_a_coded_400(
    client: TestClient, extension: Any, code: str
) -> None:
    for accept in (GRAPHQL_RESPONSE, JSON):
        response = post(client, {"extensions": {"persistedQuery": extension}}, accept=accept)
        assert response.status_code == 400
        assert codes(response) == [code]


def test_extensions_without_persisted_query_still_need_a_query(client: TestClient) -> None:
    response = post(client, {"extensions": {"tracing": True}})
    assert response.status_code == 400
    assert codes(response) == ["BAD_REQUEST"]
    assert get(client, extensions={"tracing": True}).status_code == 400


def test_store_is_bounded_in_bytes_least_recently_used_first(snap: Snapshot) -> None:
    queries = [f'{{ condition(id: "{FBSS}") {{ id {"label " * n}}} }}' for n in range(1, 6)]
    size = max(64 + len(q) for q in queries)  # a hash and a query each
    with make_client(snap, persisted_queries_bytes=3 * size) as client:
        for query in queries:
            assert post(client, {"query": query, "extensions": persisted(query)}).status_code == 200
        store = client.app.state.graphql.persisted.store  # type: ignore[attr-defined]
        assert store.bytes <= 3 * size
        assert codes(post(client, {"extensions": persisted(queries[0])})) == [
            "PERSISTED_QUERY_NOT_FOUND"
        ]
        assert post(client, {"extensions": persisted(queries[-1])}).status_code == 200


def test_printings_match_apollo_client_added_typenames() -> None:
    document = parse(
        'query Q { search(text: "x") { edges { node { id ... on Drug { label } } } } '
        "dataset { __typename version } }"
    )
    plain, apollo = printings(document)
    assert plain == print_ast(document)
    # Every selection set but the operation's own gets __typename last, unless it has one.
    assert "edges {\n      node {\n        id\n        ... on Drug {\n          label\n" in apollo
    assert apollo.count("__typename") == 5
    assert "dataset {\n    __typename\n    version\n  }" in apollo


def test_safelist_registers_file_text_printing_and_apollo_printing(safelist: Path) -> None:
    loaded = load_safelist(safelist, build_schema()._schema)
    printed = print_ast(parse(PAGES))
    assert loaded.files == 1
    assert sha(printed) in loaded.by_hash
    assert len(loaded.by_hash) == 2  # with and without Apollo's __typename
    assert loaded.allows(PAGES)
    assert loaded.allows("query Pages { pages { totalCount, edges { node { id, label } } } }")
    assert not loaded.allows("query Pages { pages { totalCount } }")
    assert not loaded.allows("{ not graphql")


def test_safelisted_hash_runs_without_ever_sending_the_text(snap: Snapshot, safelist: Path) -> None:
    with make_client(snap, safelist_dir=str(safelist)) as client:
        response = post(client, {"extensions": persisted(print_ast(parse(PAGES)))})
        assert response.status_code == 200
        assert response.json()["data"]["pages"]["totalCount"] >= 1
        # Not only mode: other operations run, and register as usual.
        assert post(client, {"query": QUERY}).status_code == 200
        assert post(client, {"query": QUERY, "extensions": persisted(QUERY)}).status_code == 200


def test_safelist_only_refuses_other_operations_and_registrations(
    snap: Snapshot, safelist: Path
) -> None:
    with make_client(snap, safelist_dir=str(safelist), safelist_only=True) as client:
        assert post(client, {"query": PAGES}).status_code == 200
        spaced = "query Pages{pages{totalCount edges{node{id label}}}}"
        assert post(client, {"query": spaced}).status_code == 200
        assert get(client, extensions=persisted(print_ast(parse(PAGES)))).status_code == 200

        refused = [
            post(client, {"query": QUERY}),
            post(client, {"query": QUERY, "extensions": persisted(QUERY)}),
            # An unknown hash is refused at once: retrying with the text could not help.
            post(client, {"extensions": persisted(QUERY)}),
            get(client, query=QUERY),
        ]
        for response in refused:
            assert response.status_code == 400
            assert codes(response) == ["OPERATION_NOT_IN_SAFELIST"]
        assert post(client, {"query": QUERY}, accept=JSON).status_code == 200
        store = client.app.state.graphql.persisted.store  # type: ignore[attr-defined]
        assert len(store) == 0


def test_bad_safelist_operation_names_file_line_and_column(tmp_path: Path) -> None:
    folder = tmp_path / "safelist"
    folder.mkdir()
    (folder / "good.graphql").write_text(PAGES)
    (folder / "typo.graphql").write_text("query Typo {\n  pages {\n    totalCont\n  }\n}\n")
    (folder / "broken.graphql").write_text("query Broken {\n  pages {\n")
    (folder / "fragment.graphql").write_text("fragment F on Page { id }\n")
    with pytest.raises(SafelistError) as caught:
        load_safelist(folder, build_schema()._schema)
    rendered = [p.render() for p in caught.value.problems]
    assert rendered[0].startswith(f"{folder / 'broken.graphql'}:3:1: error KG-SAFELIST — ")
    assert "Syntax Error" in rendered[0]
    assert rendered[1] == (
        f"{folder / 'fragment.graphql'}:1:1: error KG-SAFELIST — the file holds no operation"
    )
    assert rendered[2] == (
        f"{folder / 'typo.graphql'}:3:5: error KG-SAFELIST — "
        "Cannot query field 'totalCont' on type 'PageConnection'. "
        "Did you mean 'totalCount'?"
    )
    assert len(rendered) == 3


def test_safelist_only_without_a_folder_is_a_start_up_error(snap: Snapshot) -> None:
    with pytest.raises(SafelistError, match="safelist_only is on but safelist_dir is empty"):
        create_app(Settings(safelist_only=True), StoreHolder(snap))


def test_serve_with_a_bad_safelist_exits_1_with_the_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "typo.graphql").write_text("{ pages { totalCont } }\n")
    done = subprocess.run(
        [sys.executable, "-c", "from server.cli import main; main()", "serve", "--root", str(REPO)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "CLINIC_KG_SAFELIST_DIR": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 1
    assert f"{tmp_path / 'typo.graphql'}:1:11: error KG-SAFELIST — " in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "not serving" in done.stderr


@pytest.fixture(scope="module")
def safelist_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    folder = tmp_path_factory.mktemp("safelist")
    (folder / "pages.graphql").write_text(PAGES)
    env = {"CLINIC_KG_SAFELIST_DIR": str(folder), "CLINIC_KG_SAFELIST_ONLY": "true"}
    yield from live.start(env=env)


def test_live_server_in_safelist_mode(safelist_server: live.LiveServer) -> None:
    headers = {"accept": GRAPHQL_RESPONSE}
    url = safelist_server.graphql
    hashed = {"extensions": persisted(print_ast(parse(PAGES)))}
    answered = httpx.post(url, json=hashed, headers=headers, timeout=30)
    assert answered.status_code == 200
    assert answered.json()["data"]["pages"]["edges"]
    refused = httpx.post(url, json={"query": QUERY}, headers=headers, timeout=30)
    assert refused.status_code == 400
    assert [e["extensions"]["code"] for e in refused.json()["errors"]] == [
        "OPERATION_NOT_IN_SAFELIST"
    ]
