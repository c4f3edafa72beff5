"""The SPARQL Protocol client of `serve --store` (server/store/sparql_client.py) against stores'
odd answers, served in process: here, an answer the store says it cut short."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from server.store.protocol import StoreUnavailable
from server.store.sparql_client import UNAVAILABLE, SparqlClient, unlimited

ROWS = (
    b'{"head": {"vars": ["s"]}, "results": {"bindings": [{"s": {"type": "uri", "value": "x:1"}}]}}'
)


class CuttingStore(BaseHTTPRequestHandler):
    """Answers every query with one row; says it cut the answer when the path is /cut (as
    Virtuoso does past its ResultSetMaxRows)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(ROWS)))
        if self.path == "/cut":
            self.send_header("X-SPARQL-MaxRows", "1")
        self.end_headers()
        self.wfile.write(ROWS)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def store() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CuttingStore)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_answer_the_store_cut_short_is_refused_not_served(store: str) -> None:
    assert len(SparqlClient(f"{store}/whole").select("SELECT ?s {}", unlimited())) == 1
    with pytest.raises(StoreUnavailable, match="cut its answer at 1 rows") as caught:
        SparqlClient(f"{store}/cut").select("SELECT ?s {}", unlimited())
    assert caught.value.code == UNAVAILABLE
    assert "ResultSetMaxRows" in str(caught.value)
