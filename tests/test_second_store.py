"""A second SPARQL 1.1 product, OpenLink Virtuoso 7.2 from Debian (tests/virtuoso_server.py): what
`publish` and `serve --store` do with Oxigraph they do with it, through the same protocols and
with nothing but URLs and credentials told apart (issue 13: the protocol, not one product).

The store holds exactly the validated triples; the pointer switches only after a complete upload;
`serve --store` over it answers every GraphQL query of the repository as the in-memory snapshot
does. The end-to-end suites run on Virtuoso too (tests/live_server.py, `live_server_on_each_store`).
Select these with `pytest -m second_store`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from server.content.export import export_graph_triples
from server.load.loader import LoadResult
from server.schema import ClinicSchema, build_schema
from server.settings import Settings
from server.steward.graph_store import GraphStore, credentials_from_env, endpoints
from server.steward.publish import Publication, publish
from server.store.protocol import StoreUnavailable
from server.store.published import CURRENT_VERSION, pointer_graph, version_graph
from server.store.snapshot import Snapshot, build_snapshot
from server.store.sparql_client import PASSWORD_ENV, USER_ENV, SparqlClient, unlimited
from server.validate.validation import validate_project

from . import live_server as live
from .conftest import REPO
from .graphql_corpus import collected, variable_sets
from .live_server import LiveServer
from .test_compiled_executor import reference
from .test_publish import CuttingProxy, run, set_prevalence
from .virtuoso_server import Virtuoso, fresh_virtuoso, publish_project

pytestmark = pytest.mark.second_store

SETTINGS = Settings()
BASE = SETTINGS.base_iri


def validated(root: Path) -> LoadResult:
    outcome = validate_project(root, (), SETTINGS)
    assert outcome.conforms, "only validated data is published"
    return outcome.load


@pytest.fixture(scope="module")
def virtuoso() -> Iterator[Virtuoso]:
    """One private instance for the module (it takes seconds to create its database)."""
    with fresh_virtuoso() as store:
        yield store


@pytest.fixture(scope="module")
def seeded(virtuoso: Virtuoso) -> Publication:
    """The seed published to it, by `publish` itself; tests that publish others put it back."""
    return publish_project(virtuoso, REPO, SETTINGS)


def select(store: Virtuoso, query: str) -> list[dict[str, str]]:
    where = endpoints(store.url, store.gsp_url, store.query_url)
    with GraphStore(where, credentials_from_env({}), timeout=60) as client:
        return client.select(query)


def current(store: Virtuoso) -> str | None:
    rows = select(
        store,
        f"SELECT ?v WHERE {{ GRAPH <{pointer_graph(BASE)}> {{ ?d <{CURRENT_VERSION}> ?v }} }}",
    )
    assert len(rows) <= 1, rows
    return rows[0]["v"].rsplit("/", 1)[1] if rows else None


def constructed(store: Virtuoso, graph: str) -> Graph:
    """The named graph as a SPARQL CONSTRUCT on the query endpoint returns it."""
    answer = httpx.post(
        store.query_url,
        data={"query": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"},
        headers={"Accept": "application/n-triples"},
        timeout=60,
    )
    answer.raise_for_status()
    return Graph().parse(data=answer.text, format="nt")


def fetched(store: Virtuoso, graph: str) -> Graph:
    """The named graph as the Graph Store Protocol's GET returns it (Digest, as it writes). In
    N-Triples: Virtuoso 7.2's Turtle writes an xsd:decimal 10 as `10`, which Turtle reads as an
    integer (the stored term is right, as N-Triples and SPARQL JSON show)."""
    answer = httpx.get(
        store.gsp_url,
        params={"graph": graph},
        headers={"Accept": "application/n-triples"},
        auth=httpx.DigestAuth(store.user, store.password),
        timeout=60,
    )
    answer.raise_for_status()
    return Graph().parse(data=answer.text, format="nt")


# ---------------------------------------------------------------- publish


def test_the_store_holds_exactly_the_validated_triples(
    virtuoso: Virtuoso, seeded: Publication
) -> None:
    loaded = validated(REPO)
    expected = export_graph_triples(loaded, include_ontology=True)
    assert (seeded.uploaded, seeded.triples) == (True, len(expected))
    graph = version_graph(BASE, loaded.version)
    assert isomorphic(constructed(virtuoso, graph), expected)
    assert isomorphic(fetched(virtuoso, graph), expected)
    assert current(virtuoso) == loaded.version


def test_the_pointer_switches_only_after_a_complete_upload(
    virtuoso: Virtuoso, seeded: Publication, project: Path
) -> None:
    first = seeded.version
    set_prevalence(project, "86")
    second = validated(project).version
    assert second != first
    cli = (virtuoso.url, "--gsp", virtuoso.gsp_url, "--query", virtuoso.query_url)

    # Wrong credentials: refused before anything is written.
    wrong = {**virtuoso.publish_env(), "CLINIC_KG_PUBLISH_PASSWORD": "not-" + virtuoso.password}
    done = run(*cli, root=project, env=wrong)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "error KG-PUBLISH-HTTP — PUT answered 401" in done.stderr
    assert virtuoso.password not in done.stdout + done.stderr
    assert current(virtuoso) == first

    # The upload cut halfway by the network: the previous version stays current.
    proxy = CuttingProxy(virtuoso.url, cut_after=40_000)
    try:
        cut = publish_through(proxy.url, virtuoso, project)
    finally:
        proxy.close()
    assert proxy.cuts == 1  # the upload really was cut, not refused before it
    assert cut.failure is not None
    assert cut.failure.code == "KG-PUBLISH-UNREACHABLE"
    assert (cut.uploaded, cut.switched, cut.previous) == (True, False, first)
    assert current(virtuoso) == first

    # Whole this time: counted, then switched to; pruning to one drops the seed's graph.
    whole = publish_through(virtuoso.url, virtuoso, project, prune=1)
    assert whole.failure is None
    assert (whole.switched, whole.pruned) == (True, (first,))
    assert current(virtuoso) == second
    expected = export_graph_triples(validated(project), include_ontology=True)
    assert isomorphic(constructed(virtuoso, version_graph(BASE, second)), expected)
    assert len(constructed(virtuoso, version_graph(BASE, first))) == 0

    # And back (the module's other tests read the seed): uploaded again, switched.
    again = publish_project(virtuoso, REPO, SETTINGS)
    assert (again.uploaded, again.previous) == (True, second)
    assert current(virtuoso) == first


def publish_through(
    base: str, store: Virtuoso, root: Path, prune: int | None = None
) -> Publication:
    """`publish` to Virtuoso's endpoints at `base` (the store's own, or a proxy's)."""
    where = endpoints(base, f"{base}/sparql-graph-crud-auth", f"{base}/sparql")
    with GraphStore(where, credentials_from_env(store.publish_env()), timeout=60) as client:
        return publish(root, client, SETTINGS, prune=prune)


# ---------------------------------------------------------------- serve --store


def test_reads_behind_digest_authentication(
    virtuoso: Virtuoso, seeded: Publication, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --store` on Virtuoso's authenticated query endpoint: its client answers the Digest
    challenge with the credentials of the environment, and is refused without them."""
    secured = f"{virtuoso.url}/sparql-auth"
    query = f"SELECT ?v WHERE {{ GRAPH <{pointer_graph(BASE)}> {{ ?d <{CURRENT_VERSION}> ?v }} }}"
    monkeypatch.delenv(USER_ENV, raising=False)
    with pytest.raises(StoreUnavailable, match="answered HTTP 401"):
        SparqlClient(secured).select(query, unlimited())
    monkeypatch.setenv(USER_ENV, virtuoso.user)
    monkeypatch.setenv(PASSWORD_ENV, virtuoso.password)
    client = SparqlClient(secured)
    for _ in range(3):  # the challenge is kept: later queries are answered at once
        [row] = client.select(query, unlimited())
        assert str(row["v"]).endswith(seeded.version)
    monkeypatch.setenv(PASSWORD_ENV, "not-" + virtuoso.password)
    with pytest.raises(StoreUnavailable, match="answered HTTP 401"):
        SparqlClient(secured).select(query, unlimited())


@pytest.fixture(scope="module")
def served(virtuoso: Virtuoso, seeded: Publication) -> Iterator[LiveServer]:
    """`serve --store` over the seed in Virtuoso (reads need no credentials)."""
    yield from live.start(REPO, extra=("--store", virtuoso.query_url))


@dataclass(frozen=True)
class Memory:
    """The reference: the same seed as an in-memory snapshot, and the schema over it."""

    schema: ClinicSchema
    snapshot: Snapshot

    def data(self, query: str, variables: dict[str, Any], operation: str | None) -> Any:
        """The snapshot's `data` as a client reads it, or None when it answers with errors."""
        found = reference(self.schema, self.snapshot, query, variables, operation)
        return None if found is None else json.loads(found)


@pytest.fixture(scope="module")
def memory() -> Memory:
    outcome = validate_project(REPO, (), SETTINGS)
    return Memory(build_schema(SETTINGS), build_snapshot(outcome.load, SETTINGS, outcome.index))


# When a process loaded its version: the one field two servers never share.
PER_PROCESS = frozenset({"loadedAt"})


def comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in PER_PROCESS}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def test_every_graphql_query_of_the_repository_answers_as_from_memory(
    served: LiveServer, memory: Memory
) -> None:
    schema = memory.schema._schema
    compared, refused, different = 0, 0, []
    with httpx.Client(timeout=30) as client:
        for query in collected():
            for operation in query.operations:
                for variables in variable_sets(schema, query.text, operation):
                    expected = memory.data(query.text, variables, operation)
                    body = {"query": query.text, "variables": variables, "operationName": operation}
                    answer = client.post(served.graphql, json=body).json()
                    if expected is None:
                        refused += 1
                        agrees = bool(answer.get("errors"))
                    else:
                        compared += 1
                        got = answer.get("data") if "errors" not in answer else answer["errors"]
                        agrees = comparable(got) == comparable(expected)
                    if not agrees:
                        different.append(f"{query.origin}: {query.text} with {variables}: {answer}")
    assert not different, "\n\n".join(different)
    assert compared > 100, "the corpus was found"
    assert refused, "the corpus has queries both refuse (limits, bad ids)"
