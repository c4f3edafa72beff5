"""`clinic-kg publish` against a real SPARQL 1.1 store: Oxigraph's server on 127.0.0.1."""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from server.content.export import export_graph_triples
from server.settings import Settings
from server.steward.graph_store import GraphStore, credentials_from_env, endpoints
from server.steward.publish import Publication, publish, versions_to_prune
from server.store.published import (
    CREATED,
    CURRENT_VERSION,
    pointer_graph,
    version_graph,
    version_of,
)
from server.validate.validation import validate_project

from . import oxigraph_server
from .conftest import REPO
from .kg_files import described_in
from .oxigraph_server import Oxigraph
from .seed import STATISTICS

oxigraph = oxigraph_server.oxigraph
BASE = Settings().base_iri
PREVALENCE = "back-pain-lifetime-prevalence"
PASSWORD = "s3cret-Pa55word"
USER = "steward"


def run(
    *args: str, root: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`clinic-kg publish …` in a child process, as an operator runs it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_KG_PUBLISH_")}
    return subprocess.run(
        [sys.executable, "-m", "server", "publish", *args, "--root", str(root)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, "CLINIC_KG_STARTUP_CACHE": "false", **(env or {})},
    )


def store_for(url: str) -> GraphStore:
    return GraphStore(endpoints(url), credentials_from_env({}), timeout=30)


def publish_to(url: str, root: Path, prune: int | None = None) -> Publication:
    with store_for(url) as store:
        return publish(root, store, Settings(), prune=prune)


def select(store: Oxigraph, query: str) -> list[dict[str, str]]:
    with store_for(store.url) as client:
        return client.select(query)


def current(store: Oxigraph) -> str | None:
    rows = select(
        store,
        f"SELECT ?v WHERE {{ GRAPH <{pointer_graph(BASE)}> {{ ?d <{CURRENT_VERSION}> ?v }} }}",
    )
    assert len(rows) <= 1, rows
    return rows[0]["v"].rsplit("/", 1)[1] if rows else None


def version_graphs(store: Oxigraph) -> set[str]:
    rows = select(store, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    prefix = version_graph(BASE, "")
    return {r["g"][len(prefix) :] for r in rows if r["g"].startswith(prefix)}


def quads(store: Oxigraph) -> int:
    rows = select(store, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
    return int(rows[0]["n"])


def fetch_graph(store: Oxigraph, graph: str) -> Graph:
    answer = httpx.get(
        store.store_url, params={"graph": graph}, headers={"Accept": "application/n-triples"}
    )
    answer.raise_for_status()
    return Graph().parse(data=answer.text, format="nt")


def set_prevalence(root: Path, value: str) -> None:
    """A new dataset version: the seed's lifetime prevalence of back pain, another number."""
    path = root / described_in(root, PREVALENCE)[0]
    text, n = re.subn(
        rf'(kg:{PREVALENCE} a [^.]*?ckg:value ")\d+(")',
        rf"\g<1>{value}\g<2>",
        path.read_text(encoding="utf-8"),
    )
    assert n == 1
    path.write_text(text, encoding="utf-8")


def version(root: Path) -> str:
    return validate_project(root, (), Settings()).load.version


# --- what the store holds ------------------------------------------------------------------


def test_the_store_holds_exactly_the_validated_export(oxigraph: Oxigraph) -> None:
    done = run(oxigraph.url)
    assert done.returncode == 0, done.stderr
    outcome = validate_project(REPO, (), Settings())
    graph = version_graph(BASE, outcome.load.version)
    assert f"uploaded {len(export_graph_triples(outcome.load))} triples to <{graph}>" in done.stdout
    assert current(oxigraph) == outcome.load.version
    stored = fetch_graph(oxigraph, graph)
    assert isomorphic(stored, export_graph_triples(outcome.load, include_ontology=True))
    assert version_graphs(oxigraph) == {outcome.load.version}


def test_a_sparql_query_on_the_store_returns_the_seeds_facts(oxigraph: Oxigraph) -> None:
    assert publish_to(oxigraph.url, REPO).failure is None
    # Through the pointer, as a client of the store would: current version, then its graph.
    rows = select(
        oxigraph,
        f"""PREFIX ckg: <https://clinic-kg.example/ontology#>
        SELECT ?fact ?p ?n WHERE {{
          GRAPH <{pointer_graph(BASE)}> {{ ?d <{CURRENT_VERSION}> ?g }}
          GRAPH ?g {{ ?fact ?p ?n . VALUES ?p {{ ckg:value ckg:low ckg:high }} }}
        }}""",
    )
    found = {(r["fact"].rsplit("/", 1)[1], r["p"].rsplit("#", 1)[1]): r["n"] for r in rows}
    for name, statistic in STATISTICS.items():
        for field in ("value", "low", "high"):
            expected = getattr(statistic, field)
            if expected is not None:
                assert found[(name, field)] == expected, (name, field)


def test_publishing_the_same_version_again_only_moves_the_pointer(oxigraph: Oxigraph) -> None:
    first = publish_to(oxigraph.url, REPO)
    assert (first.uploaded, first.switched, first.previous) == (True, True, None)
    again = publish_to(oxigraph.url, REPO)
    assert (again.uploaded, again.switched, again.previous) == (False, True, first.version)
    assert again.failure is None
    created = select(
        oxigraph, f"SELECT ?t WHERE {{ GRAPH <{pointer_graph(BASE)}> {{ ?g <{CREATED}> ?t }} }}"
    )
    assert len(created) == 1  # the version's first publication time is kept


# --- the pointer switches only after a complete, verified upload ---------------------------


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 to the store that drops the connection `cut_after` bytes after a
    client starts a PUT, as a network failure halfway through an upload would."""

    def __init__(self, target: str, cut_after: int) -> None:
        self.target = httpx.URL(target)
        self.cut_after = cut_after
        self.cuts = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._forward, args=(client,), daemon=True).start()

    def _forward(self, client: socket.socket) -> None:
        upstream = socket.create_connection((self.target.host, self.target.port or 80), timeout=30)
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        budget: int | None = None
        tail = b""
        try:
            while data := client.recv(65536):
                if budget is None and b"PUT " in tail + data:
                    budget = self.cut_after
                if budget is not None and len(data) >= budget:
                    upstream.sendall(data[:budget])
                    self.cuts += 1
                    return
                if budget is not None:
                    budget -= len(data)
                upstream.sendall(data)
                tail = data[-8:]
        except OSError:
            pass
        finally:
            for end in (client, upstream):
                end.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        sink.close()


@pytest.fixture
def cutting_proxy(oxigraph: Oxigraph) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(oxigraph.url, cut_after=40_000)
    yield proxy
    proxy.close()


def test_an_upload_cut_halfway_leaves_the_previous_version_current(
    oxigraph: Oxigraph,
    cutting_proxy: CuttingProxy,
    project: Path,
) -> None:
    first = publish_to(oxigraph.url, project)
    assert first.failure is None
    set_prevalence(project, "86")
    second = version(project)
    assert second != first.version

    done = run(cutting_proxy.url, root=project)
    assert cutting_proxy.cuts == 1  # the upload really was cut, not refused before it
    assert done.returncode == 4, done.stdout + done.stderr
    assert "error KG-PUBLISH-UNREACHABLE" in done.stderr
    assert f"not switched: the store's current version is still {first.version}" in done.stderr
    assert current(oxigraph) == first.version
    assert "current version:" not in done.stdout

    # Once the network is back, the same command publishes it whole.
    again = run(oxigraph.url, root=project)
    assert again.returncode == 0, again.stderr
    assert current(oxigraph) == second
    loaded = validate_project(project, (), Settings()).load
    assert isomorphic(
        fetch_graph(oxigraph, version_graph(BASE, second)), export_graph_triples(loaded)
    )


class LossyStore(GraphStore):
    """A store that silently keeps only part of what it is sent (the upload 'succeeds')."""

    def put(self, graph: str, body: bytes) -> None:
        if graph == pointer_graph(BASE):
            return super().put(graph, body)
        lines = body.splitlines(keepends=True)
        super().put(graph, b"".join(lines[: len(lines) // 2]))


def test_an_upload_the_store_does_not_count_back_is_not_switched_to(
    oxigraph: Oxigraph,
    project: Path,
) -> None:
    first = publish_to(oxigraph.url, project)
    set_prevalence(project, "86")
    with LossyStore(endpoints(oxigraph.url), credentials_from_env({}), timeout=30) as lossy:
        result = publish(project, lossy, Settings())
    assert result.failure is not None
    assert result.failure.code == "KG-PUBLISH-MISMATCH"
    assert f"not the {result.triples} sent" in result.failure.message
    assert (result.uploaded, result.switched) == (True, False)
    assert current(oxigraph) == first.version


# --- refusals and errors -------------------------------------------------------------------


def test_a_project_that_does_not_validate_is_refused_and_nothing_is_sent(
    oxigraph: Oxigraph,
    project: Path,
) -> None:
    path = project / "kg" / "symptoms.ttl"
    path.write_text(path.read_text(encoding="utf-8") + "\nkg:x a ckg:Symptom .\n", encoding="utf-8")
    done = run(oxigraph.url, root=project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "error KG-MINCOUNT kg:x" in done.stderr
    assert "not published: fix the errors above; nothing was sent to the store" in done.stderr
    assert quads(oxigraph) == 0
    # Refused before any request: a store that is not there makes no difference.
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    assert run(f"http://127.0.0.1:{port}", root=project).returncode == 1


def test_version_graph_names_round_trip() -> None:
    assert version_of(version_graph(BASE, "0123456789abcdef"), BASE) == "0123456789abcdef"
    assert version_of(version_graph("https://other.example/", "0123456789abcdef"), BASE) is None
    assert version_of(version_graph(BASE, "not-a-version"), BASE) is None
    assert version_of(pointer_graph(BASE), BASE) is None


def test_prune_keeps_the_k_newest_and_the_current() -> None:
    day = [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2, 3, 4)]
    created = {"a": day[0], "b": day[1], "c": day[2], "d": day[3]}
    assert versions_to_prune(created, "d", 2) == ["a", "b"]
    assert versions_to_prune(created, "a", 1) == ["b", "c"]  # an old current stays
    assert versions_to_prune(created, "a", 0) == ["b", "c", "d"]
    assert versions_to_prune(created, "d", 9) == []


def test_an_unreachable_store_is_a_coded_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:  # a port nothing answers on
        port = taken.getsockname()[1]
    done = run(f"http://127.0.0.1:{port}")
    assert done.returncode == 4
    assert f"http://127.0.0.1:{port}/query: error KG-PUBLISH-UNREACHABLE" in done.stderr
    assert "not switched: the store's current version is still none" in done.stderr
    assert "Traceback" not in done.stderr


class EchoingStore(BaseHTTPRequestHandler):
    """A store that refuses everyone, and echoes the request's headers in its error body."""

    def do_POST(self) -> None:
        body = f"unauthorized: {self.headers.get('Authorization')}\n{self.headers}".encode()
        self.send_response(401, "Unauthorized")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def echoing_store() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoingStore)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_credentials_never_appear_in_output_even_on_error(echoing_store: str) -> None:
    env = {"CLINIC_KG_PUBLISH_USER": USER, "CLINIC_KG_PUBLISH_PASSWORD": PASSWORD}
    done = run(echoing_store, env=env)
    assert done.returncode == 4
    assert "error KG-PUBLISH-HTTP" in done.stderr
    assert "answered 401 Unauthorized: unauthorized: Basic ***" in done.stderr  # it did get them
    encoded = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for secret in (PASSWORD, encoded):
        assert secret not in done.stdout + done.stderr

    token = "tok-" + PASSWORD
    done = run(echoing_store, env={"CLINIC_KG_PUBLISH_TOKEN": token})
    assert "unauthorized: Bearer ***" in done.stderr
    assert token not in done.stdout + done.stderr


def test_credentials_in_the_url_are_refused_without_echoing_them() -> None:
    done = run(f"http://{USER}:{PASSWORD}@127.0.0.1:9/")
    assert done.returncode == 2
    assert "CLINIC_KG_PUBLISH_USER" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"CLINIC_KG_PUBLISH_USER": USER},
        {"CLINIC_KG_PUBLISH_TOKEN": "t", "CLINIC_KG_PUBLISH_PASSWORD": PASSWORD},
    ],
)
def test_half_or_double_credentials_are_a_usage_error(env: dict[str, str]) -> None:
    done = run("http://127.0.0.1:9", env=env)
    assert done.returncode == 2
    assert PASSWORD not in done.stdout + done.stderr


def test_publishing_with_credentials_to_a_store_that_needs_none(oxigraph: Oxigraph) -> None:
    env = {"CLINIC_KG_PUBLISH_USER": USER, "CLINIC_KG_PUBLISH_PASSWORD": PASSWORD}
    done = run(oxigraph.url, env=env)
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr


# --- --prune -------------------------------------------------------------------------------


def test_prune_keeps_the_newest_and_never_the_current(oxigraph: Oxigraph, project: Path) -> None:
    a = publish_to(oxigraph.url, project).version
    set_prevalence(project, "86")
    b = publish_to(oxigraph.url, project).version
    set_prevalence(project, "87")
    c = publish_to(oxigraph.url, project).version
    assert version_graphs(oxigraph) == {a, b, c}

    set_prevalence(project, "85")  # back to A: already in the store, the pointer moves back
    done = run(oxigraph.url, "--prune", "1", root=project)
    assert done.returncode == 0, done.stderr
    assert f"version {a} was already in the store" in done.stdout
    assert f"pruned 1 older versions: {b}" in done.stdout
    assert current(oxigraph) == a
    assert version_graphs(oxigraph) == {a, c}  # C is the newest; A is current
    created = select(
        oxigraph, f"SELECT ?g WHERE {{ GRAPH <{pointer_graph(BASE)}> {{ ?g <{CREATED}> ?t }} }}"
    )
    assert {r["g"] for r in created} == {version_graph(BASE, a), version_graph(BASE, c)}

    done = run(oxigraph.url, "--prune", "0", root=project)
    assert done.returncode == 0, done.stderr
    assert version_graphs(oxigraph) == {a}


def test_prune_needs_a_count() -> None:
    done = run("http://127.0.0.1:9", "--prune", "-1")
    assert done.returncode == 2
