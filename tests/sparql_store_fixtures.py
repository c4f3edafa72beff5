"""A live Oxigraph server (the `oxigraph` CLI from PyPI) on 127.0.0.1, and a way to put a project
into it as `clinic-kg publish` does (server/store/published.py): the validated graph, ontology
included, as one named graph per version, then the pointer graph naming it.

The upload here is a few Graph Store Protocol PUTs, so the SPARQL-backed store's tests do not
depend on `publish` itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from server.content.export import export_graph_triples, serialize
from server.load.loader import LoadResult
from server.settings import Settings
from server.store import published
from server.validate.validation import validate_project

from . import live_server as live
from .conftest import REPO
from .live_server import LiveServer, free_port

STARTUP_TIMEOUT = 30.0  # a bound on Oxigraph's start, not a performance assertion


@dataclass(frozen=True)
class Oxigraph:
    """Where a running Oxigraph server listens."""

    url: str
    process: subprocess.Popen[bytes]

    @property
    def query(self) -> str:
        """The SPARQL query endpoint (what `serve --store` takes)."""
        return f"{self.url}/query"

    @property
    def store(self) -> str:
        """The Graph Store Protocol endpoint."""
        return f"{self.url}/store"

    @property
    def update(self) -> str:
        return f"{self.url}/update"


def oxigraph_command() -> str:
    """The `oxigraph` CLI of this environment; skipped (never under CI) when missing."""
    found = Path(sys.executable).parent / "oxigraph"
    if found.exists():
        return str(found)
    on_path = shutil.which("oxigraph")
    if on_path:
        return on_path
    if os.environ.get("CI"):
        pytest.fail("the `oxigraph` CLI is missing: install the dev extra (pip install -e .[dev])")
    pytest.skip("the `oxigraph` CLI is not installed (pip install -e '.[dev]')")


def start_oxigraph() -> Iterator[Oxigraph]:
    """An Oxigraph server over an empty store in a temporary folder; stopped afterwards."""
    command = oxigraph_command()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="clinic-kg-oxigraph-") as folder:
        process = subprocess.Popen(
            [command, "serve", "--location", folder, "--bind", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = Oxigraph(f"http://127.0.0.1:{port}", process)
        try:
            _wait_ready(server)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(server: Oxigraph) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"oxigraph serve exited with {server.process.returncode}")
        try:
            answer = httpx.post(server.query, data={"query": "ASK {}"}, timeout=2)
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"oxigraph serve was not ready after {STARTUP_TIMEOUT}s")


def put_version(server: Oxigraph, loaded: LoadResult, settings: Settings) -> str:
    """Upload the project's graph as its version's named graph (not yet current); its version."""
    graph = export_graph_triples(loaded, include_ontology=True)
    target = published.version_graph(settings.base_iri, loaded.version)
    answer = httpx.put(
        server.store,
        params={"graph": target},
        content=serialize(graph, "ntriples").encode(),
        headers={"content-type": "application/n-triples"},
        timeout=120,
    )
    assert answer.status_code in (200, 201, 204), answer.text
    return loaded.version


def point_at(server: Oxigraph, version: str, settings: Settings) -> None:
    """Make `version` the current one: replace the pointer graph."""
    base = settings.base_iri
    created = datetime.now(UTC).isoformat()
    body = (
        f"<{published.dataset_iri(base)}> <{published.CURRENT_VERSION}> "
        f"<{published.version_graph(base, version)}> .\n"
        f"<{published.version_graph(base, version)}> <{published.CREATED}> "
        f'"{created}"^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n'
    )
    answer = httpx.put(
        server.store,
        params={"graph": published.pointer_graph(base)},
        content=body.encode(),
        headers={"content-type": "application/n-triples"},
        timeout=30,
    )
    assert answer.status_code in (200, 201, 204), answer.text


def publish(server: Oxigraph, loaded: LoadResult, settings: Settings) -> str:
    """Upload a (validated) project and make it current, as `clinic-kg publish` does."""
    version = put_version(server, loaded, settings)
    point_at(server, version, settings)
    return version


def serve_from_store(root: Path = REPO) -> Iterator[LiveServer]:
    """`clinic-kg serve --store` over a live Oxigraph holding `root`'s validated graph, published
    as `clinic-kg publish` does."""
    settings = Settings()
    outcome = validate_project(root, (), settings)
    assert outcome.conforms, "only validated data is published"
    for server in start_oxigraph():
        publish(server, outcome.load, settings)
        yield from live.start(root, extra=("--store", server.query))
