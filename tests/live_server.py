"""A real `clinic-kg serve` on 127.0.0.1 and a free port, for end-to-end and browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXTransport

from .conftest import REPO
from .ports import PortTaken, check_owner, free_port, listening_inodes, started, stop_process

STARTUP_TIMEOUT = 120.0  # a generous bound on validation + startup, not a performance assertion


@dataclass(frozen=True)
class LiveServer:
    """Where the server listens and what it printed."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def graphql(self) -> str:
        return f"{self.url}/graphql"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start(
    root: Path = REPO, env: dict[str, str] | None = None, extra: tuple[str, ...] = ()
) -> Generator[LiveServer, None, None]:
    """Start `clinic-kg serve --root ROOT --port N`, wait for /readyz, stop it afterwards (on
    another port if the first was taken meanwhile: tests/ports.py)."""
    yield from started(lambda _: _spawn(root, env, extra, free_port()), _wait_ready, _stop)


def _spawn(root: Path, env: dict[str, str] | None, extra: tuple[str, ...], port: int) -> LiveServer:
    log = Path(tempfile.mkstemp(prefix="clinic-kg-serve-", suffix=".log")[1])
    command = [
        sys.executable,
        "-c",
        "from server.cli import main; main()",
        "serve",
        "--root",
        str(root),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *extra,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            # The checkout itself is served without a start-up cache: tests leave it as they
            # found it (a copy of the project may keep one).
            env={
                **os.environ,
                **({"CLINIC_KG_STARTUP_CACHE": "false"} if root == REPO else {}),
                **(env or {}),
            },
        )
    return LiveServer(f"http://127.0.0.1:{port}", process, log)


def _stop(server: LiveServer) -> None:
    stop_process(server.process, 20)
    server.log.unlink(missing_ok=True)


def _wait_ready(server: LiveServer) -> None:
    port = server.port
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            if listening_inodes(port):  # it could not bind: another process has the port
                raise PortTaken(f"clinic-kg serve: port {port} is held by another process")
            pytest.fail(
                f"clinic-kg serve exited with {server.process.returncode}:\n{server.output()}"
            )
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                check_owner(server.process.pid, port, "clinic-kg serve")
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"clinic-kg serve was not ready after {STARTUP_TIMEOUT}s:\n{server.output()}")


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    """One real server per test module."""
    yield from start()


@pytest.fixture(
    scope="module",
    params=["snapshot", "sparql", pytest.param("virtuoso", marks=pytest.mark.second_store)],
)
def live_server_on_each_store(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """`live_server` three times: serving the checkout from memory, then with `serve --store`
    from a live Oxigraph holding it as `clinic-kg publish` leaves it, then from Virtuoso (a second
    SPARQL product: issue 13, the same answers from any Store). A module runs all its tests on
    each with `live_server = <this fixture>`."""
    if request.param == "snapshot":
        yield from start()
    elif request.param == "sparql":
        from .sparql_store_fixtures import serve_from_store

        yield from serve_from_store()
    else:
        from .virtuoso_server import serve_from_virtuoso

        yield from serve_from_virtuoso()


@pytest.fixture(scope="module")
def client(live_server: LiveServer) -> Iterator[Any]:
    """A real GraphQL client (gql over httpx) talking to `live_server`."""
    transport = HTTPXTransport(url=live_server.graphql, timeout=30)
    with Client(transport=transport, fetch_schema_from_transport=False) as session:
        yield session


def run(client: Any, query: str, **variables: Any) -> Any:
    """The data of a query that must succeed."""
    return client.execute(GraphQLRequest(query, variable_values=variables or None))


def refused(client: Any, query: str, **variables: Any) -> list[str]:
    """The error messages of a query that must fail."""
    with pytest.raises(TransportQueryError) as caught:
        run(client, query, **variables)
    return [e["message"] for e in caught.value.errors or []]


def raw(
    server: LiveServer,
    body: bytes | str,
    content_type: str = "application/json",
    accept: str = "application/graphql-response+json",
) -> Any:
    """POST a body as is: for requests a GraphQL client would never send. By default as a
    client accepting the spec's media type, whose status codes say what was executed."""
    headers = {"content-type": content_type, "accept": accept}
    return httpx.post(server.graphql, content=body, headers=headers, timeout=30)
