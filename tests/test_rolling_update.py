"""Two replicas behind a real load balancer (haproxy, from Debian) through a rolling data update:
no request fails, and every answer is internally consistent with the version it claims."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from server.validate.validation import validate_project

from . import live_server as live
from .conftest import REPO
from .test_publish import PREVALENCE, set_prevalence

QUERY = f'{{ fact(id: "{PREVALENCE}") {{ ... on Statistic {{ value }} }} }}'
ROLLOUT_TIMEOUT = 20.0  # each replica picks up its edit well within this; a bound, not a target
HAPROXY_TIMEOUT = 10.0


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("haproxy is missing: .ci/run installs it (apt-get install haproxy)")
        pytest.skip("haproxy is not installed (apt-get install haproxy); CI installs it")
    return found


def copy_project(root: Path) -> Path:
    for name in ("ontology", "shapes", "kg"):
        shutil.copytree(REPO / name, root / name)
    return root


@contextmanager
def haproxy(folder: Path, replicas: list[live.LiveServer]) -> Iterator[str]:
    """haproxy on 127.0.0.1 balancing round-robin over the replicas, checking their /readyz."""
    port = live.free_port()
    servers = "\n".join(
        f"    server r{i} {r.url.removeprefix('http://')} check inter 200ms fall 2 rise 1"
        for i, r in enumerate(replicas, 1)
    )
    config = folder / "haproxy.cfg"
    config.write_text(
        "global\n    maxconn 256\n\n"
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n"
        "    timeout server 30s\n    retries 2\n    option redispatch\n\n"
        f"frontend replicas\n    bind 127.0.0.1:{port}\n    default_backend pool\n\n"
        "backend pool\n    balance roundrobin\n    option httpchk GET /readyz\n"
        f"    http-check expect status 200\n{servers}\n",
        encoding="utf-8",
    )
    log = folder / "haproxy.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [haproxy_binary(), "-db", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + HAPROXY_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"haproxy exited with {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"haproxy did not answer within {HAPROXY_TIMEOUT}s:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Answer:
    status: int
    header_version: str | None
    etag: str | None
    body_version: str | None
    value: float | None
    errors: object


def ask(client: httpx.Client, url: str) -> Answer:
    response = client.get(f"{url}/graphql", params={"query": QUERY})
    body = response.json()
    fact = (body.get("data") or {}).get("fact") or {}
    return Answer(
        response.status_code,
        response.headers.get("x-dataset-version"),
        response.headers.get("etag"),
        (body.get("extensions") or {}).get("datasetVersion"),
        fact.get("value"),
        body.get("errors"),
    )


class Load:
    """Clients asking through the load balancer until stopped; transport failures count too."""

    def __init__(self, url: str, clients: int = 2) -> None:
        self.url = url
        self.answers: list[Answer] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                try:
                    self.answers.append(ask(client, self.url))
                except (httpx.HTTPError, ValueError) as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)


def wait_for_version(replica: live.LiveServer, version: str) -> None:
    deadline = time.monotonic() + ROLLOUT_TIMEOUT
    while time.monotonic() < deadline:
        if httpx.get(f"{replica.url}/readyz", timeout=5).json()["datasetVersion"] == version:
            return
        time.sleep(0.1)
    pytest.fail(f"{replica.url} did not serve {version} within {ROLLOUT_TIMEOUT}s")


def test_a_rolling_update_behind_haproxy_fails_no_request(tmp_path: Path) -> None:
    haproxy_binary()
    settings = Settings()
    old = validate_project(REPO, (), settings).load.version
    staged = copy_project(tmp_path / "staged")
    set_prevalence(staged, "86")
    new = validate_project(staged, (), settings).load.version
    expected = {old: 85.0, new: 86.0}  # what each version must say, known before any replica
    assert old != new

    copies = [copy_project(tmp_path / f"replica{i}") for i in (1, 2)]
    with ExitStack() as stack:
        replicas = [
            stack.enter_context(contextmanager(live.start)(root=c, extra=("--watch",)))
            for c in copies
        ]
        url = stack.enter_context(haproxy(tmp_path, replicas))
        load = Load(url)
        try:
            time.sleep(0.5)  # both replicas answer the old version first
            for copy, replica in zip(copies, replicas, strict=True):
                set_prevalence(copy, "86")
                wait_for_version(replica, new)
                time.sleep(0.5)  # a while with the replicas on different versions
        finally:
            load.stop()

    answers = load.answers
    assert load.failures == []
    assert [a for a in answers if a.status != 200 or a.errors] == []
    for a in answers:
        assert a.header_version == a.body_version, a
        assert a.etag is not None
        assert a.etag.startswith(f'"{a.header_version}-'), a
        assert a.header_version in expected, a
        assert a.value == expected[a.header_version], a
    seen = [a.header_version for a in answers]
    assert {old, new} <= set(seen)  # the load really spanned the rollout
    assert seen[-1] == new
