"""Cheap GraphQL executions run on the event loop (no worker-thread hand-off), heavy or slow ones
in their lane, with the same answers (server/http/app.py `run_inline`, setting
inline_query_cost)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import anyio.to_thread
import pytest

from server.http import lanes
from server.http.app import create_app
from server.load.loader import load
from server.schema import build_schema
from server.settings import Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot, build_snapshot

from .conftest import REPO
from .test_compiled_executor import INTROSPECTION, corpus_requests

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette would rather its TestClient ran on httpx2
    from starlette.testclient import TestClient

CHEAP = '{ condition(id: "failed-back-surgery-syndrome") { id label } }'
UNKNOWN = '{ facts(ids: ["no-such-fact"]) { totalCount } }'


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return build_snapshot(load(REPO))


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> list[Callable[..., Any]]:
    """What the app handed to a worker thread, in order."""
    handed: list[Callable[..., Any]] = []
    run_sync = anyio.to_thread.run_sync

    async def counting(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        handed.append(function)
        return await run_sync(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return handed


def client(snap: Snapshot, **settings: Any) -> TestClient:
    """The app without its response cache: every request executes."""
    settings = {"response_cache_size": 0, **settings}
    return TestClient(create_app(Settings(**settings), StoreHolder(snap)))


def post(c: TestClient, query: str, variables: Any = None, operation: str | None = None) -> Any:
    body = {"query": query, "variables": variables, "operationName": operation}
    return c.post("/graphql", json=body)


def without_request_id(r: Any) -> bytes:
    return bytes(r.content).replace(r.headers["x-request-id"].encode(), b"")


def executions(handed: list[Callable[..., Any]]) -> int:
    return sum(getattr(f, "__name__", "") == "run" for f in handed)


def test_a_cheap_execution_runs_on_the_event_loop(
    snap: Snapshot, threads: list[Callable[..., Any]]
) -> None:
    with client(snap) as c:
        r = post(c, CHEAP)
    assert r.json()["data"]["condition"]["id"] == "failed-back-surgery-syndrome"
    assert executions(threads) == 0


@pytest.mark.parametrize("settings", [{"inline_query_cost": 0}, {"inline_query_cost": 1}])
def test_switched_off_or_above_the_cost_it_runs_in_a_worker_thread(
    snap: Snapshot, threads: list[Callable[..., Any]], settings: dict[str, Any]
) -> None:
    with client(snap, **settings) as c:
        r = post(c, CHEAP)
    assert r.json()["data"]["condition"]["id"] == "failed-back-surgery-syndrome"
    assert executions(threads) == 1


def test_a_heavy_execution_keeps_its_lane(
    snap: Snapshot, threads: list[Callable[..., Any]]
) -> None:
    # Every execution not heavy may run inline (inline_query_cost is above heavy_query_cost
    # here): a heavy one never does (its checkpoints yield to lighter requests in its thread).
    with client(snap, heavy_query_cost=0) as c:
        first, second = post(c, CHEAP), post(c, CHEAP)
    assert without_request_id(first) == without_request_id(second)
    assert executions(threads) == 2


def test_an_error_is_the_reference_executors_run_once_in_the_lane(
    snap: Snapshot, threads: list[Callable[..., Any]]
) -> None:
    app = create_app(Settings(), StoreHolder(snap))
    with TestClient(app) as c:
        r = post(c, UNKNOWN)
    assert r.json()["errors"][0]["extensions"]["code"] == "UNKNOWN_ID"
    assert executions(threads) == 1  # the plan ran inline; only the reference in the thread
    assert app.state.graphql.compiled.stats["fallback"] == 1  # the plan ran once


def test_a_text_slow_on_the_event_loop_runs_in_its_lane_afterwards(
    snap: Snapshot, threads: list[Callable[..., Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every run counts as slow (4 x the limit, the most one run counts): the average of a text's
    # runs (each weighing a tenth) passes the limit at the third, and the fourth is in a thread.
    monkeypatch.setattr(lanes, "INLINE_SECONDS", 1e-12)
    with client(snap) as c:
        answers = [post(c, CHEAP) for _ in range(3)]
        assert executions(threads) == 0
        answers.append(post(c, CHEAP))
        assert executions(threads) == 1
        other = post(c, '{ condition(id: "failed-back-surgery-syndrome") { id } }')
        assert executions(threads) == 1  # another text still runs on the event loop
    assert len({without_request_id(a) for a in answers}) == 1
    assert other.json()["data"]["condition"] == {"id": "failed-back-surgery-syndrome"}


def test_one_slow_run_does_not_send_a_text_to_its_lane() -> None:
    found = lanes.Lanes(1, 100)
    found.ran_inline("q", None, 1.0)  # a first run, or a garbage collection meanwhile
    assert found.may_run_inline("q", None)
    for _ in range(30):  # then steadily over the limit
        found.ran_inline("q", None, lanes.INLINE_SECONDS * 1.5)
    assert not found.may_run_inline("q", None)
    assert found.may_run_inline("other", None)


def test_a_text_sent_to_its_lane_gets_a_trial_on_the_event_loop_again(
    snap: Snapshot, threads: list[Callable[..., Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its first runs were slow (a cold process, a busy machine): it runs in its lane, where the
    # same run costs more CPU. After RETRY_RUNS runs there its next one is on the event loop,
    # and, fast now, it stays there.
    monkeypatch.setattr(lanes, "RETRY_RUNS", 5)
    monkeypatch.setattr(lanes, "INLINE_SECONDS", 1e-12)
    with client(snap) as c:
        for _ in range(3):
            post(c, CHEAP)
        monkeypatch.setattr(lanes, "INLINE_SECONDS", 1.0)  # every run is fast from now on
        answers = [post(c, CHEAP) for _ in range(5)]
        assert executions(threads) == 4  # the fifth was its trial, on the event loop
        answers += [post(c, CHEAP) for _ in range(10)]
        assert executions(threads) == 4  # readmitted
    assert len({without_request_id(a) for a in answers}) == 1


def test_a_text_that_fails_its_trial_waits_twice_as_long_up_to_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lanes, "RETRY_RUNS", 4)
    monkeypatch.setattr(lanes, "RETRY_MAX", 16)
    found = lanes.Lanes(1, 100)
    for _ in range(3):  # steadily slow: sent to its lane
        found.ran_inline("q", None, 1.0)

    def runs_until_trial() -> int:
        for run in range(1, 100):
            if found.may_run_inline("q", None):
                return run
        raise AssertionError("no trial")

    waits = []
    for _ in range(5):
        waits.append(runs_until_trial())
        found.ran_inline("q", None, 1.0)  # the trial is slow too
    assert waits == [4, 8, 16, 16, 16]
    assert found.may_run_inline("other", None)  # other texts are not held back meanwhile
    runs_until_trial()
    found.ran_inline("q", None, lanes.INLINE_SECONDS / 2)  # a fast trial
    assert all(found.may_run_inline("q", None) for _ in range(20))


def test_a_cheap_request_waits_its_turn_behind_queued_executions_then_runs_on_the_loop(
    snap: Snapshot, threads: list[Callable[..., Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run at once it would overtake executions waiting for a token of the light lane (they
    # starved behind a stream of cheap runs: up to 1 s at 100k). It queues, then runs inline.
    app = create_app(Settings(response_cache_size=0), StoreHolder(snap))
    found = app.state.graphql.lanes
    admitted = []
    real = found.admitted

    def counting(*args: Any) -> Any:
        admitted.append(args[1])
        return real(*args)

    with TestClient(app) as c:
        alone = post(c, CHEAP)
        assert (admitted, executions(threads)) == ([], 0)  # nothing queued: straight on the loop
        monkeypatch.setattr(found, "queued", lambda: True)
        monkeypatch.setattr(found, "admitted", counting)
        behind = post(c, CHEAP)
    assert admitted == [CHEAP]  # it took its turn in the lane
    assert executions(threads) == 0  # and ran on the event loop when the turn came
    assert without_request_id(behind) == without_request_id(alone)


def test_the_light_lane_says_when_executions_wait_for_a_token() -> None:
    async def scenario() -> list[bool]:
        found = lanes.Lanes(1, 100)
        first, second = object(), object()
        seen = [found.queued()]
        await found.light.acquire_on_behalf_of(first)
        seen.append(found.queued())  # every token taken, nobody waiting
        async with anyio.create_task_group() as group:
            group.start_soon(found.light.acquire_on_behalf_of, second)
            await anyio.wait_all_tasks_blocked()
            seen.append(found.queued())
            found.light.release_on_behalf_of(first)
        seen.append(found.queued())
        return seen

    assert anyio.run(scenario) == [False, False, True, False]


def _answers(snap: Snapshot, requests: list[Any], **settings: Any) -> Iterator[tuple[int, bytes]]:
    with client(snap, **settings) as c:
        for _, text, variables, operation in requests:
            r = post(c, text, variables, operation)
            yield r.status_code, without_request_id(r)


def test_inline_and_lane_answers_are_the_same_bytes_for_every_corpus_query(
    snap: Snapshot,
) -> None:
    requests = [
        r
        for r in corpus_requests(build_schema(Settings()))
        if not any(word in r[1] for word in INTROSPECTION)
    ]
    assert len(requests) > 50
    inline = list(_answers(snap, requests))
    lane = list(_answers(snap, requests, inline_query_cost=0))
    for request, got, expected in zip(requests, inline, lane, strict=True):
        assert got == expected, f"{request[1]} with {json.dumps(request[2])}"
