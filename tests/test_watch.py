"""serve --watch: a valid edit is served with a new version, an invalid one never is, and no
request fails meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.serve.watch import Reloader

from . import live_server
from .conftest import REPO
from .kg_files import described_in

# Wherever kg/ keeps the statistic this module edits.
STATISTIC, _ = described_in(REPO, "back-pain-lifetime-prevalence")
QUERY = (
    "{ dataset { version lastReloadError } "
    'fact(id: "back-pain-lifetime-prevalence") { ... on Statistic { value } } }'
)
WAIT = 30.0  # an upper bound for the test to give up, not a performance assertion


def _edit(root: Path, old: str, new: str) -> None:
    path = root / STATISTIC
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_valid_edit_swaps_in_a_new_version(reloader: Reloader, project: Path) -> None:
    before = reloader.holder.current.version
    _edit(project, '"85"^^xsd:decimal', '"86"^^xsd:decimal')
    outcome = reloader.reload()
    assert outcome.swapped
    assert reloader.holder.current.version == outcome.version != before
    fact = reloader.holder.current.entity("back-pain-lifetime-prevalence")
    assert fact is not None
    assert reloader.holder.last_reload_error is None


def test_invalid_edit_keeps_the_last_good_version(reloader: Reloader, project: Path) -> None:
    good = reloader.holder.current
    _edit(project, "qualifier:almost ;", "qualifier:almost")  # a syntax error
    outcome = reloader.reload()
    assert not outcome.swapped
    assert reloader.holder.current is good
    error = reloader.holder.last_reload_error
    assert error is not None
    assert f"{STATISTIC}:" in error.message
    assert "KG-PARSE" in error.message
    _edit(project, "qualifier:almost", "qualifier:almost ;")
    assert reloader.reload().version == good.version
    assert reloader.holder.last_reload_error is None


def test_shape_change_that_invalidates_data_is_not_served(
    reloader: Reloader, project: Path
) -> None:
    good = reloader.holder.current
    shapes = project / "shapes" / "evidence.ttl"
    shapes.write_text(shapes.read_text().replace("sh:maxInclusive 100", "sh:maxInclusive 50", 1))
    outcome = reloader.reload()
    assert not outcome.swapped
    assert reloader.holder.current is good
    assert outcome.error is not None
    assert "KG-RANGE" in outcome.error


def test_deleted_file_that_others_need_is_not_served(reloader: Reloader, project: Path) -> None:
    good = reloader.holder.current
    (project / "kg" / "symptoms.ttl").unlink()
    outcome = reloader.reload()
    assert not outcome.swapped
    assert reloader.holder.current is good
    assert outcome.error is not None
    assert "KG-CLASS" in outcome.error


def test_renamed_file_is_served(reloader: Reloader, project: Path) -> None:
    version = reloader.holder.current.version
    (project / "kg" / "symptoms.ttl").rename(project / "kg" / "signs-and-symptoms.ttl")
    outcome = reloader.reload()
    assert outcome.swapped  # the path is part of the version: same triples, new layout
    assert outcome.version != version


@pytest.fixture
def watched(project: Path) -> Iterator[live_server.LiveServer]:
    yield from live_server.start(
        project, env={"CLINIC_KG_WATCH_DEBOUNCE_MS": "100"}, extra=("--watch",)
    )


class Traffic:
    """A steady stream of queries from another thread; every answer is checked."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.failures: list[str] = []
        self.seen: list[tuple[float, str, float | None, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            deadline = time.monotonic() + 120  # bounded, whatever happens
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    r = client.post(self.url, json={"query": QUERY})
                    body = r.json()
                    if r.status_code != 200 or body.get("errors"):
                        self.failures.append(f"{r.status_code} {body}")
                        continue
                    data = body["data"]
                    self.seen.append(
                        (
                            time.monotonic(),
                            data["dataset"]["version"],
                            data["fact"]["value"],
                            data["dataset"]["lastReloadError"],
                        )
                    )
                except (httpx.HTTPError, ValueError) as exc:
                    self.failures.append(repr(exc))
                time.sleep(0.01)

    def wait_for(
        self, predicate: object, since: float
    ) -> tuple[float, str, float | None, str | None]:
        assert callable(predicate)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for row in list(self.seen):
                if row[0] >= since and predicate(row):
                    return row
            time.sleep(0.05)
        raise AssertionError(f"not served within {WAIT} s; last answers: {self.seen[-3:]}")

    def report(self, server: live_server.LiveServer) -> str:
        return server.output()[-3000:]


@pytest.mark.e2e
def test_live_reload_under_steady_queries(
    watched: live_server.LiveServer, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Traffic(watched.graphql) as traffic:
        first = traffic.wait_for(lambda row: True, 0)
        assert first[2] == 85

        saved = time.monotonic()
        _edit(project, '"85"^^xsd:decimal', '"86"^^xsd:decimal')
        served = traffic.wait_for(lambda row: row[2] == 86, saved)
        assert served[1] != first[1]  # a new dataset version
        valid_latency = served[0] - saved

        saved = time.monotonic()
        _edit(project, "qualifier:almost ;", "qualifier:almost")  # broken
        try:
            rejected = traffic.wait_for(lambda row: row[3] is not None, saved)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nserver log:\n{traffic.report(watched)}") from None
        assert rejected[1] == served[1]  # still the last good version
        assert rejected[2] == 86
        assert "KG-PARSE" in (rejected[3] or "")
        health = httpx.get(f"{watched.url}/healthz", timeout=10).json()
        assert "KG-PARSE" in health["lastReloadError"]

        # A burst of saves (the fix arrives in pieces) ends in one good version.
        saved = time.monotonic()
        for _ in range(5):
            _edit(project, '"86"^^xsd:decimal', '"87"^^xsd:decimal')
            _edit(project, '"87"^^xsd:decimal', '"86"^^xsd:decimal')
        _edit(project, "qualifier:almost\n", "qualifier:almost ;\n")
        fixed = traffic.wait_for(lambda row: row[3] is None and row[2] == 86, saved)
        assert fixed[1] == served[1]  # the same content as before the broken save

    assert traffic.failures == [], traffic.failures[:5]
    assert len(traffic.seen) > 20
    with capsys.disabled():
        print(f"\n  watch: valid edit served {valid_latency * 1000:.0f} ms after the save")
