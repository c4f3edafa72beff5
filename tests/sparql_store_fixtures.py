"""A project put into a live Oxigraph server (tests/oxigraph_server.py) as `clinic-kg publish`
lays it out (server/store/published.py): the validated graph, ontology included, as one named graph
per version, then the pointer graph naming it; and `serve --store` over it.

The upload here is a few Graph Store Protocol PUTs, so the SPARQL-backed store's tests do not
depend on `publish` itself.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

from server.content.export import export_graph_triples, serialize
from server.load.loader import LoadResult
from server.settings import Settings
from server.store import published
from server.validate.validation import validate_project

from . import live_server as live
from .conftest import REPO
from .live_server import LiveServer
from .oxigraph_server import Oxigraph, start_oxigraph


def fresh_oxigraph() -> Iterator[Oxigraph]:
    """An empty Oxigraph server (tests/oxigraph_server.py) in a temporary folder, for a fixture of
    any scope (`yield from fresh_oxigraph()`)."""
    with (
        tempfile.TemporaryDirectory(prefix="clinic-kg-oxigraph-") as folder,
        start_oxigraph(Path(folder) / "data") as store,
    ):
        yield store


def put_version(server: Oxigraph, loaded: LoadResult, settings: Settings) -> str:
    """Upload the project's graph as its version's named graph (not yet current); its version."""
    graph = export_graph_triples(loaded, include_ontology=True)
    target = published.version_graph(settings.base_iri, loaded.version)
    answer = httpx.put(
        server.store_url,
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
        server.store_url,
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
    for server in fresh_oxigraph():
        publish(server, outcome.load, settings)
        yield from live.start(root, extra=("--store", server.query_url))
