"""`clinic-kg serve --workers N`: real processes on 127.0.0.1, told apart by `X-Worker: <pid>`.

Every wait is bounded (WAIT); none is a performance assertion.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from server.http.protocols import PARSERS
from server.load.loader import load
from server.serve.worker_process import stop_accepting
from server.serve.workers import MAX_QUICK_EXITS, MAX_WORKERS, Supervisor, bind, worker_count
from server.settings import SettingError, Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import build_snapshot

from . import live_server
from .conftest import REPO
from .kg_files import described_in

WAIT = 30.0  # an upper bound for a test to give up, not a performance assertion
STATISTIC, _ = described_in(REPO, "back-pain-lifetime-prevalence")
serving = contextlib.contextmanager(live_server.start)


def worker_of(response: httpx.Response) -> int:
    assert response.status_code == 200, response.text
    return int(response.headers["x-worker"])


def fresh(url: str, path: str = "/healthz") -> httpx.Response:
    """One request on a new connection (the kernel picks the worker per connection); a plain
    http.client connection, since an httpx client costs an SSL context each."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return httpx.Response(answer.status, headers=answer.getheaders(), content=answer.read())
    finally:
        connection.close()


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"not within {WAIT:.0f} s: {what}")


def workers_seen(url: str, tries: int = 60) -> set[int]:
    return {worker_of(fresh(url)) for _ in range(tries)}


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


# The tests that serve run with both of uvicorn's HTTP/1.1 parsers (setting http_parser): a
# worker's drain reads each connection's state from the protocol.
@pytest.fixture(params=PARSERS)
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CLINIC_KG_HTTP_PARSER", request.param)
    return str(request.param)


@pytest.fixture(scope="module", params=PARSERS)
def two(request: pytest.FixtureRequest) -> Iterator[live_server.LiveServer]:
    env = {"CLINIC_KG_HTTP_PARSER": request.param}
    with serving(REPO, env=env, extra=("--workers", "2")) as server:
        yield server


def test_two_workers_answer(two: live_server.LiveServer) -> None:
    seen = workers_seen(two.url)
    assert len(seen) == 2
    assert two.process.pid not in seen  # the parent supervises; it answers nothing
    body = fresh(two.url, "/graphql?query={dataset{version}}").json()
    assert body["data"]["dataset"]["version"]
    assert "with 2 workers" in two.output()


def test_kept_open_connections_are_spread_over_both_workers(two: live_server.LiveServer) -> None:
    # Each client keeps one connection open and sends several requests on it: the kernel picks
    # the worker once per connection, and the connection stays with it.
    clients = [httpx.Client(timeout=10, limits=httpx.Limits(max_connections=1)) for _ in range(32)]
    try:
        per_client = [
            {worker_of(c.get(f"{two.url}/graphql?query={{dataset{{version}}}}")) for _ in range(3)}
            for c in clients
        ]
    finally:
        for c in clients:
            c.close()
    assert all(len(s) == 1 for s in per_client)  # kept open: one worker per connection
    counts = [sum(1 for s in per_client if pid in s) for pid in set().union(*per_client)]
    assert len(counts) == 2, counts  # both workers serve some (32 on one: p = 2^-31)


@pytest.mark.usefixtures("parser")
def test_a_killed_worker_is_replaced(tmp_path: Path) -> None:
    with serving(REPO, extra=("--workers", "2")) as server:
        first = workers_seen(server.url)
        assert len(first) == 2
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        until(lambda: not alive(victim), "the killed worker to be gone")
        # Requests keep being answered meanwhile, and another worker takes the victim's place.
        until(lambda: len(workers_seen(server.url, 20) - first) == 1, "a replacement worker")
        after = workers_seen(server.url)
        assert victim not in after
        assert len(after) == 2
        assert "exited with signal SIGKILL; starting another" in server.output()


@pytest.mark.usefixtures("parser")
def test_sigterm_stops_every_worker(tmp_path: Path) -> None:
    with serving(REPO, extra=("--workers", "2")) as server:
        pids = workers_seen(server.url)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=WAIT) == 0
    assert not [p for p in pids if alive(p)]


@pytest.mark.usefixtures("parser")
def test_workers_stop_when_their_parent_is_killed() -> None:
    with serving(REPO, extra=("--workers", "2")) as server:
        pids = workers_seen(server.url)
        server.process.kill()  # no chance to stop them: the kernel tells them (no orphans)
        server.process.wait(timeout=WAIT)
        until(lambda: not [p for p in pids if alive(p)], f"workers {pids} to stop")


@pytest.mark.usefixtures("parser")
def test_web_concurrency_is_honoured() -> None:
    with serving(REPO, env={"WEB_CONCURRENCY": "2"}) as server:
        assert len(workers_seen(server.url)) == 2


@pytest.mark.usefixtures("parser")
def test_one_worker_has_no_worker_header() -> None:
    with serving(REPO, env={"WEB_CONCURRENCY": "2"}, extra=("--workers", "1")) as server:
        response = fresh(server.url)
        assert response.status_code == 200
        assert "x-worker" not in response.headers


# -- --watch with workers: the parent reloads, every worker serves the new version


def _edit(root: Path, old: str, new: str) -> None:
    path = root / STATISTIC
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def versions_by_worker(url: str, tries: int = 40) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for _ in range(tries):
        response = fresh(url)
        found.setdefault(worker_of(response), set()).add(response.json()["datasetVersion"])
    return found


@pytest.mark.usefixtures("parser")
def test_watch_with_two_workers_serves_edits_from_both(project: Path) -> None:
    with serving(
        project,
        env={"CLINIC_KG_WATCH_DEBOUNCE_MS": "100"},
        extra=("--watch", "--workers", "2"),
    ) as server:
        before = fresh(server.url).json()["datasetVersion"]
        _edit(project, '"85"^^xsd:decimal', '"86"^^xsd:decimal')

        served: set[str] = set()

        def both_serve_the_edit() -> bool:
            # Both workers on one and the same new version. (Not "the first new version seen":
            # a save may be seen in two steps, and the second reload is the edit.)
            seen = versions_by_worker(server.url, 20)
            served.clear()
            served.update(*seen.values())
            return len(seen) == 2 and len(served) == 1 and before not in served

        until(both_serve_the_edit, "both workers to serve the edit")
        [new] = served
        query = '{fact(id:"back-pain-lifetime-prevalence"){...on Statistic{value}}}'
        for _ in range(10):
            answer = fresh(server.url, "/graphql?" + urlencode({"query": query})).json()
            assert answer["data"]["fact"]["value"] == 86

        # An invalid edit: every worker keeps serving the last good version and reports it.
        _edit(project, "qualifier:almost ;", "qualifier:almost")

        def both_report_the_error() -> bool:
            answers = [fresh(server.url).json() for _ in range(20)]
            return all(a["lastReloadError"] and a["datasetVersion"] == new for a in answers)

        until(both_report_the_error, "every worker to report the rejected reload")
        assert len(versions_by_worker(server.url)) == 2
        assert "KG-PARSE" in fresh(server.url).json()["lastReloadError"]

        # Fixed again (the same version as served): every worker clears the error.
        _edit(project, "qualifier:almost", "qualifier:almost ;")

        def none_reports_an_error() -> bool:
            answers = [fresh(server.url).json() for _ in range(20)]
            return all(a["lastReloadError"] is None and a["datasetVersion"] == new for a in answers)

        until(none_reports_an_error, "every worker to clear the reload error")


# -- how many workers


def serve_once(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`clinic-kg serve --root REPO ARGS` that is expected to exit by itself."""
    command = [sys.executable, "-c", "from server.cli import main; main()", "serve"]
    return subprocess.run(
        [*command, "--root", str(REPO), *args],
        cwd=REPO,
        env={**os.environ, "CLINIC_KG_STARTUP_CACHE": "false", **(env or {})},
        capture_output=True,
        text=True,
        timeout=WAIT * 4,
    )


def test_worker_count_prefers_the_option_then_the_setting_then_web_concurrency() -> None:
    settings = Settings.from_env({"CLINIC_KG_WORKERS": "3"})
    both = {"CLINIC_KG_WORKERS": "3", "WEB_CONCURRENCY": "5"}
    assert worker_count(2, settings, both) == 2
    assert worker_count(None, settings, both) == 3
    assert worker_count(None, Settings(), {"WEB_CONCURRENCY": "5"}) == 5
    assert worker_count(None, Settings(), {}) == 1
    assert worker_count(None, Settings(), {"WEB_CONCURRENCY": " "}) == 1  # blank: not set


@pytest.mark.parametrize("raw", ["0", "-1", "two", "1.5", str(MAX_WORKERS + 1)])
def test_a_bad_web_concurrency_is_a_clear_error(raw: str) -> None:
    with pytest.raises(SettingError, match="WEB_CONCURRENCY"):
        worker_count(None, Settings(), {"WEB_CONCURRENCY": raw})


@pytest.mark.parametrize(
    ("env", "args", "said"),
    [
        ({"WEB_CONCURRENCY": "many"}, (), "WEB_CONCURRENCY='many'"),
        ({"CLINIC_KG_WORKERS": "0"}, (), "CLINIC_KG_WORKERS=0"),
        ({}, ("--workers", "0"), "--workers"),
    ],
)
def test_bad_worker_counts_exit_2_before_validating(
    env: dict[str, str], args: tuple[str, ...], said: str
) -> None:
    done = serve_once("--port", str(live_server.free_port()), *args, env=env)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr
    assert "conforms" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


# -- workers that cannot start; a port that is taken


@pytest.mark.usefixtures("parser")
def test_workers_that_keep_dying_at_start_stop_the_server() -> None:
    snapshot = build_snapshot(load(REPO))
    sockets = bind("127.0.0.1", live_server.free_port(), 2)
    # uvicorn refuses the option in every worker, at once: each exits with 3.
    supervisor = Supervisor(None, {"no_such_option": 1}, StoreHolder(snapshot), sockets)
    started = time.monotonic()
    assert supervisor.run() == 3
    assert supervisor.quick_exits == MAX_QUICK_EXITS
    assert time.monotonic() - started < WAIT
    assert not supervisor.pids()
    assert all(s.fileno() == -1 for s in sockets)  # closed on the way out


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve_once("--port", str(port), "--workers", "2")
    assert done.returncode == 2, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


# -- no connection is dropped while workers are replaced


@pytest.mark.usefixtures("parser")
def test_no_connection_is_dropped_through_three_re_forks(project: Path) -> None:
    # Four clients open a fresh connection for every request while three edits each fork a new
    # generation of workers and retire the old one (the kernel queues connections on the
    # slots' sockets, which the supervisor keeps open; a retiring worker answers all it took).
    with serving(
        project,
        env={"CLINIC_KG_WATCH_DEBOUNCE_MS": "100"},
        extra=("--watch", "--workers", "2"),
    ) as server:
        stop = threading.Event()
        failures: list[str] = []
        answers: list[tuple[int, str]] = []  # (worker, version), in order

        def client() -> None:
            while not stop.is_set():
                try:
                    response = fresh(server.url)
                    answers.append((worker_of(response), response.json()["datasetVersion"]))
                except (OSError, AssertionError) as exc:  # reset, closed unanswered, not 200
                    failures.append(repr(exc))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            until(lambda: len(answers) > 20, "the first answers")
            generations = [{w for w, _ in answers}]
            value = 85
            for _ in range(3):
                before = answers[-1][1]
                _edit(project, f'"{value}"^^xsd:decimal', f'"{value + 1}"^^xsd:decimal')
                value += 1

                def replaced(old: str = before, seen: int = len(answers)) -> bool:
                    recent = answers[seen:][-40:]
                    workers = {w for w, v in recent}
                    return (
                        len(recent) == 40
                        and old not in {v for _, v in recent}
                        and (len(workers) == 2)
                    )

                until(replaced, "both workers of a new generation to answer every request")
                generations.append({w for w, _ in answers[-40:]})
                # Past the old generation's exit, with the clients still running.
                until(lambda: not [p for p in generations[-2] if alive(p)], "retired workers")
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=WAIT)
        assert not failures, failures[:5]
        assert len({v for _, v in answers}) == 4  # the first version and three edits
        assert all(not a & b for a, b in itertools.pairwise(generations))


def test_a_connection_accepted_as_the_worker_stops_accepting_is_answered() -> None:
    # asyncio accepts every queued connection at once and creates their transports in the next
    # loop iteration; asyncio's Server.close() in between drops them unanswered (Python 3.11),
    # which reset connections during re-forks. A retiring worker stops accepting without it.
    async def scenario() -> list[bytes]:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        clients = [socket.create_connection(listener.getsockname()) for _ in range(5)]
        for c in clients:
            c.sendall(b"ping")
            c.settimeout(WAIT)
        loop = asyncio.get_running_loop()

        class Pong(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def data_received(self, data: bytes) -> None:
                assert isinstance(self.transport, asyncio.WriteTransport)
                self.transport.write(b"pong")
                self.transport.close()

        server = await loop.create_server(Pong, sock=listener, start_serving=False)
        accept = loop._accept_connection  # type: ignore[attr-defined]

        def accept_then_stop(*args: object, **kwargs: object) -> None:
            accept(*args, **kwargs)  # takes all five, their transports come next iteration
            stop_accepting(loop, (listener,))

        loop._accept_connection = accept_then_stop  # type: ignore[attr-defined]
        await server.start_serving()
        answers = await asyncio.gather(*(asyncio.to_thread(c.recv, 4) for c in clients))
        for c in clients:
            c.close()
        server.close()
        return answers

    assert asyncio.run(scenario()) == [b"pong"] * 5


def test_a_new_worker_answers_a_graphql_request_before_taking_connections() -> None:
    # The first request in a process builds the GraphQL machinery's caches; a worker asks one
    # itself (warm_up) so that the first client after a reload does not wait for it. It must
    # really execute, not fail quietly on a missing header.
    from server.http.app import create_app
    from server.serve.worker_process import warm_up

    snapshot = build_snapshot(load(REPO))
    app = create_app(Settings(), StoreHolder(snapshot))
    sent: list[Any] = []

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        async def record(message: Any) -> None:
            sent.append(message)

        await app(scope, receive, record)

    asyncio.run(warm_up(spy))
    assert sent[0]["status"] == 200
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert json.loads(body)["data"]["dataset"]["version"] == snapshot.version
