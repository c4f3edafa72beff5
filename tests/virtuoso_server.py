"""A second SPARQL 1.1 product for tests: OpenLink Virtuoso 7.2 from Debian (`apt-get install
virtuoso-opensource`), a private instance on 127.0.0.1 and free ports, its database, log and
`virtuoso.ini` in a temporary folder: never the system service of the package.

    with start_virtuoso(folder) as store:
        clinic-kg publish --gsp store.gsp_url --query store.query_url, with store.publish_env()

Where Virtuoso differs from Oxigraph is only in configuration: the Graph Store HTTP Protocol for
writes at `/sparql-graph-crud-auth` behind HTTP Digest authentication, SPARQL queries at
`/sparql`, and a result-size cap (`[SPARQL] ResultSetMaxRows`, 10,000 rows by default) raised
here above any graph the tests or the bench publish.

Outside CI a machine without `virtuoso-t` skips with the reason; under CI (`CI=true`) that is a
failure: `.ci/run` installs the package.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from server.steward.graph_store import (
    ENV_PASSWORD,
    ENV_USER,
    GraphStore,
    credentials_from_env,
    endpoints,
)
from server.steward.publish import Publication, publish

from . import live_server as live
from .conftest import REPO
from .live_server import LiveServer
from .ports import PortTaken, check_owner, free_port, listening_inodes, started, stop_process

STARTUP_TIMEOUT = 90.0  # a fresh database is created at first start; a bound, not a target
STOP_TIMEOUT = 20.0
ISQL_TIMEOUT = 30.0
PUBLISHER = "clinic_kg_publisher"  # a user of its own with the SPARQL_UPDATE role, not dba
# Debian's package keeps its web root (the /sparql page's assets) here.
VSP_ROOT = "/var/lib/virtuoso-opensource-7/vsp"
INSTALL = "apt-get install virtuoso-opensource (with DEBIAN_FRONTEND=noninteractive)"


@dataclass(frozen=True)
class Virtuoso:
    """Where the instance listens, and the publisher's credentials (given to `publish` only
    through the environment, as any store's)."""

    url: str
    process: subprocess.Popen[bytes]
    folder: Path
    isql_port: int
    user: str
    password: str

    @property
    def query_url(self) -> str:
        """The SPARQL Protocol endpoint (reads need no credentials)."""
        return f"{self.url}/sparql"

    @property
    def gsp_url(self) -> str:
        """The Graph Store HTTP Protocol endpoint that writes, behind Digest authentication."""
        return f"{self.url}/sparql-graph-crud-auth"

    def publish_env(self) -> dict[str, str]:
        return {ENV_USER: self.user, ENV_PASSWORD: self.password}

    def log(self) -> str:
        path = self.folder / "virtuoso.log"
        return path.read_text(errors="replace") if path.exists() else ""


def virtuoso_binary() -> str:
    """`virtuoso-t`; skips when it is missing, fails under CI (which installs it)."""
    found = shutil.which("virtuoso-t")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"virtuoso-t is missing: .ci/run installs it ({INSTALL})")
        pytest.skip(f"Virtuoso is not installed ({INSTALL}); CI installs it")
    return found


def write_ini(folder: Path, http_port: int, isql_port: int, buffers: int) -> Path:
    """A virtuoso.ini keeping everything in `folder`, listening on loopback only."""
    ini = folder / "virtuoso.ini"
    ini.write_text(
        f"""[Database]
DatabaseFile = {folder}/virtuoso.db
ErrorLogFile = {folder}/virtuoso.log
LockFile = {folder}/virtuoso.lck
TransactionFile = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {folder}/virtuoso-temp.db
TransactionFile = {folder}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{isql_port}
DisableUnixSocket = 1
MaxClientConnections = 10
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = {folder}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {buffers * 3 // 4}
ThreadsPerQuery = 2

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {VSP_ROOT}
MaxClientConnections = 10
ServerThreads = 10
EnabledDavVSP = 0
EnabledGzipContent = 0

[SPARQL]
; Virtuoso cuts every answer at this many rows (10,000 by default), telling only in a header:
; above the largest graph served, as a deployment of `serve --store` must set it.
ResultSetMaxRows = 100000000
MaxQueryExecutionTime = 300
MaxQueryCostEstimationTime = 0
""",
        encoding="utf-8",
    )
    return ini


@contextmanager
def start_virtuoso(folder: Path, buffers: int = 20000) -> Iterator[Virtuoso]:
    """`virtuoso-t +foreground` on a fresh database in `folder`, once it answers SPARQL and the
    publisher exists; stopped after. `buffers` are 8 KiB pages of cache. Ports taken meanwhile by
    another process are traded for new ones (tests/ports.py)."""
    binary = virtuoso_binary()
    folder.mkdir(parents=True, exist_ok=True)

    def spawn(attempt: int) -> Virtuoso:
        if attempt > 1:
            _remove_database(folder)  # what the failed start left: start as fresh
        http_port, isql_port = free_port(), free_port()
        ini = write_ini(folder, http_port, isql_port, buffers)
        with (folder / "stdout.log").open("wb") as out:
            process = subprocess.Popen(
                [binary, "+foreground", "+configfile", str(ini)],
                cwd=folder,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return Virtuoso(
            f"http://127.0.0.1:{http_port}",
            process,
            folder,
            isql_port,
            PUBLISHER,
            secrets.token_urlsafe(16),
        )

    def ready(store: Virtuoso) -> None:
        _wait_ready(store)
        _create_publisher(store)

    yield from started(spawn, ready, lambda store: stop_process(store.process, STOP_TIMEOUT))


def _remove_database(folder: Path) -> None:
    """What a failed start left in `folder`, so the next one starts as fresh."""
    for item in folder.iterdir():
        if item.is_dir():
            shutil.rmtree(item)
        else:
            item.unlink()


@contextmanager
def fresh_virtuoso(buffers: int = 20000) -> Iterator[Virtuoso]:
    """An empty private instance in a temporary folder, removed after."""
    with (
        tempfile.TemporaryDirectory(prefix="clinic-kg-virtuoso-") as folder,
        start_virtuoso(Path(folder), buffers) as store,
    ):
        yield store


def _wait_ready(store: Virtuoso) -> None:
    http_port = int(store.url.rsplit(":", 1)[1])
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if store.process.poll() is not None:
            if listening_inodes(http_port) or listening_inodes(store.isql_port):
                raise PortTaken("virtuoso-t: a port it was given is held by another process")
            pytest.fail(f"virtuoso-t exited with {store.process.returncode}:\n{store.log()}")
        try:
            answer = httpx.post(store.query_url, data={"query": "ASK {}"}, timeout=2)
            if answer.status_code == 200:
                check_owner(store.process.pid, http_port, "virtuoso-t")
                check_owner(store.process.pid, store.isql_port, "virtuoso-t")
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"virtuoso-t was not ready after {STARTUP_TIMEOUT}s:\n{store.log()}")


def _create_publisher(store: Virtuoso) -> None:
    """A user that may write graphs through the Graph Store Protocol, and nothing else; the
    instance is private to loopback, so its dba keeps the package's default password."""
    isql(
        store,
        f"DB.DBA.USER_CREATE('{store.user}', '{store.password}');",
        f"GRANT SPARQL_UPDATE TO {store.user};",
        # Read and write on every graph (Virtuoso's graph-level security: 1 read, 2 write).
        f"DB.DBA.RDF_DEFAULT_USER_PERMS_SET('{store.user}', 3);",
    )


def isql(store: Virtuoso, *statements: str) -> str:
    """Run SQL statements as dba through Virtuoso's `isql-vt`; its output."""
    client = shutil.which("isql-vt")
    if client is None:
        pytest.fail(f"isql-vt is missing beside virtuoso-t ({INSTALL})")
    done = subprocess.run(
        [client, f"127.0.0.1:{store.isql_port}", "dba", "dba", "VERBOSE=OFF", "BANNER=OFF"],
        input="\n".join(statements) + "\n",
        capture_output=True,
        text=True,
        timeout=ISQL_TIMEOUT,
        check=False,
    )
    if done.returncode != 0 or "*** Error" in done.stdout + done.stderr:
        pytest.fail(f"isql-vt failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def publish_project(store: Virtuoso, root: Path, settings: Settings) -> Publication:
    """`clinic-kg publish` of the project at `root`, as its code runs it, credentials included."""
    where = endpoints(store.url, store.gsp_url, store.query_url)
    with GraphStore(where, credentials_from_env(store.publish_env()), timeout=300) as client:
        done = publish(root, client, settings)
    assert done.failure is None, done.failure.render()
    assert done.switched, done.report.summary()
    return done


def serve_from_virtuoso(root: Path = REPO) -> Iterator[LiveServer]:
    """`clinic-kg serve --store` over a private Virtuoso to which `root` was published."""
    with fresh_virtuoso() as store:
        publish_project(store, root, Settings())
        yield from live.start(root, extra=("--store", store.query_url))
