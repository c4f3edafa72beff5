"""A real SPARQL 1.1 store for tests: Oxigraph's server (`oxigraph serve`, the `oxigraph` CLI from
PyPI, in the dev extra) on 127.0.0.1 and a free port, with its data in a temporary folder.

    from . import oxigraph_server
    oxigraph = oxigraph_server.oxigraph  # the fixture, as tests/live_server.py's are taken

    def test_x(oxigraph: Oxigraph) -> None:
        httpx.post(oxigraph.query_url, data={"query": "ASK {}"})

`oxigraph` is one fresh, empty store per test; `start_oxigraph(folder)` is the same as a context
manager, for a store shared by a module or started on a folder of one's choice.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from .ports import PortTaken, check_owner, free_port, listening_inodes, started, stop_process

STARTUP_TIMEOUT = 30.0  # a bound on the store coming up, not a performance assertion
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Oxigraph:
    """Where the store listens: `url` is its base; the SPARQL and Graph Store endpoints below it."""

    url: str
    process: subprocess.Popen[bytes]
    location: Path

    @property
    def query_url(self) -> str:
        return f"{self.url}/query"

    @property
    def update_url(self) -> str:
        return f"{self.url}/update"

    @property
    def store_url(self) -> str:
        """The Graph Store HTTP Protocol endpoint (`?graph=<iri>` or `?default`)."""
        return f"{self.url}/store"


def oxigraph_cli() -> str:
    """The `oxigraph` executable beside this interpreter (the venv's), else on PATH."""
    beside = Path(sys.executable).parent / "oxigraph"
    if beside.is_file():
        return str(beside)
    found = shutil.which("oxigraph")
    if found is None:
        pytest.fail("the oxigraph CLI is not installed: pip install -c constraints.txt -e '.[dev]'")
    return found


@contextmanager
def start_oxigraph(location: Path) -> Iterator[Oxigraph]:
    """`oxigraph serve --location LOCATION` on a free port, once it answers; stopped after (on
    another port if the first was taken meanwhile: tests/ports.py)."""
    log = location.parent / f"{location.name}.log"

    def spawn(_: int) -> Oxigraph:
        port = free_port()
        bind = f"127.0.0.1:{port}"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [oxigraph_cli(), "serve", "--location", str(location), "--bind", bind],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return Oxigraph(f"http://127.0.0.1:{port}", process, location)

    def stop(store: Oxigraph) -> None:
        stop_process(store.process, STOP_TIMEOUT)

    yield from started(spawn, lambda store: _wait_ready(store, log), stop)


def _wait_ready(store: Oxigraph, log: Path) -> None:
    port = int(store.url.rsplit(":", 1)[1])
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if store.process.poll() is not None:
            if listening_inodes(port):
                raise PortTaken(f"oxigraph serve: port {port} is held by another process")
            output = log.read_text(errors="replace")
            pytest.fail(f"oxigraph serve exited with {store.process.returncode}:\n{output}")
        try:
            answer = httpx.post(store.query_url, data={"query": "ASK {}"}, timeout=2)
            if answer.status_code == 200:
                check_owner(store.process.pid, port, "oxigraph serve")
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"oxigraph serve was not ready after {STARTUP_TIMEOUT}s")


@pytest.fixture
def oxigraph() -> Iterator[Oxigraph]:
    """A fresh, empty Oxigraph server for one test."""
    with (
        tempfile.TemporaryDirectory(prefix="clinic-kg-oxigraph-") as folder,
        start_oxigraph(Path(folder) / "data") as store,
    ):
        yield store
