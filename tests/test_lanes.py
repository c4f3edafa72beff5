"""Priority lanes (server/http/lanes.py): heavy executions give way to lighter requests.

The unit tests drive `Lanes` with threads and events (no timings: the pause is made longer than
any test, so a heavy execution resumes only because the lighter work left). The end-to-end test
runs a real server while two clients stream the costliest query the limits allow, and checks that
cheap queries are answered while those executions wait at their checkpoints. The speed it buys is
the benchmark's row `cheap_beside_heavy` (a ratio of p99s), not asserted here."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from server.http.lanes import Execution, Lanes, Work
from server.schema.serialize import dumps, serialized

from . import live_server as live
from .benchmarks.queries import CHEAP, heavy
from .live_server import LiveServer
from .seed import FBSS

FOREVER = 3600.0  # a pause no test waits out: a heavy execution resumes only when work leaves
JOIN = 30.0  # bound on waiting for a helper thread


def heavy_execution(lanes: Lanes) -> Execution:
    execution = Execution(lanes, Work(counted=False), hash(("query Heavy { … }", None)))
    lanes.classify(execution, lanes.heavy_cost + 1)
    return execution


def in_thread(target: Any) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def wait_for(condition: Any) -> None:
    deadline = time.monotonic() + JOIN
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.001)


def test_a_heavy_execution_waits_at_its_checkpoint_until_the_lighter_request_leaves() -> None:
    lanes = Lanes(threads=2, heavy_cost=100, pause=FOREVER)
    execution = heavy_execution(lanes)
    request = lanes.enter()  # a cheap request arrives
    passed = threading.Event()

    def run() -> None:
        execution.checkpoint()
        passed.set()

    thread = in_thread(run)
    wait_for(lambda: lanes.paused == 1)
    assert not passed.is_set()
    assert lanes.pauses == 1
    lanes.leave(request)  # answered: the heavy execution goes on
    thread.join(JOIN)
    assert passed.is_set()
    assert lanes.paused == 0


def test_checkpoints_do_not_wait_without_lighter_work_nor_for_light_executions() -> None:
    lanes = Lanes(threads=2, heavy_cost=100, pause=FOREVER)
    heavy_one = heavy_execution(lanes)
    heavy_one.checkpoint()  # nothing lighter in flight
    light = Execution(lanes, Work(counted=False), hash(("{ __typename }", None)))
    lanes.classify(light, 5)
    request = lanes.enter()
    light.checkpoint()  # a light execution never waits
    assert lanes.pauses == 0
    lanes.leave(request)


def test_a_checkpoint_just_after_the_last_lighter_request_left_waits_out_the_grace() -> None:
    """Executions on the event loop leave the count at 0 between two requests of a stream, while
    the loop waits for the next one: a heavy execution must not take that moment (it would hold
    the GIL a switch interval). It goes on once the count has stayed at 0 for `grace`."""
    grace = 0.3
    lanes = Lanes(threads=2, heavy_cost=100, pause=FOREVER, grace=grace)
    execution = heavy_execution(lanes)
    started = time.monotonic()
    lanes.leave(lanes.enter())
    execution.checkpoint()
    assert time.monotonic() - started >= grace
    assert lanes.pauses == 1


def test_a_checkpoint_long_after_the_last_lighter_request_does_not_wait() -> None:
    lanes = Lanes(threads=2, heavy_cost=100, pause=FOREVER, grace=0.05)
    execution = heavy_execution(lanes)
    lanes.leave(lanes.enter())
    time.sleep(0.1)
    execution.checkpoint()
    assert lanes.pauses == 0


def test_a_request_whose_execution_is_heavy_does_not_count_as_lighter_work() -> None:
    lanes = Lanes(threads=2, heavy_cost=100, pause=FOREVER)
    running = heavy_execution(lanes)
    request = lanes.enter()
    assert lanes.lighter_in_flight == 1
    second = Execution(lanes, request, hash(("query Other { … }", None)))
    lanes.classify(second, 101)  # the request's own execution is heavy too
    assert lanes.lighter_in_flight == 0
    running.checkpoint()  # so the running one does not wait for it
    lanes.leave(request)
    assert lanes.lighter_in_flight == 0
    assert lanes.pauses == 0


def test_the_heavy_lane_yields_in_slices_so_heavy_work_is_never_starved() -> None:
    # Lighter work never leaves; with a zero pause the heavy execution still passes its
    # checkpoints: it waits at most `pause` at a time, then the lane runs a slice.
    lanes = Lanes(threads=2, heavy_cost=100, pause=0.0, slice_=FOREVER)
    execution = heavy_execution(lanes)
    request = lanes.enter()

    def run() -> None:
        for _ in range(100):
            execution.checkpoint()

    thread = in_thread(run)
    thread.join(JOIN)
    assert not thread.is_alive()
    assert lanes.pauses == 1  # one pause, then one long slice
    lanes.leave(request)


def test_a_query_seen_heavy_is_admitted_to_the_heavy_lane_and_light_ones_still_start() -> None:
    lanes = Lanes(threads=1, heavy_cost=100, pause=FOREVER)
    text = ("query Heavy { … }", None)

    async def scenario() -> list[str]:
        seen: list[str] = []
        # First time: admitted as light, moved to the heavy lane once its cost is known.
        async with lanes.admitted(Work(counted=False), *text) as first:
            await anyio.to_thread.run_sync(lanes.classify, first, 1_000)
            seen.append(f"moved={first.moved} heavy={lanes.heavy.borrowed_tokens}")
            # The one light token is free again for a cheap query meanwhile.
            with anyio.fail_after(JOIN):
                async with lanes.admitted(Work(counted=False), "{ __typename }", None):
                    seen.append(f"light={lanes.in_flight()['light']}")
        # Next time the same text goes straight to the heavy lane.
        async with lanes.admitted(Work(counted=False), *text) as again:
            seen.append(f"heavy={again.heavy} lane={lanes.in_flight()}")
        return seen

    assert anyio.run(scenario) == [
        "moved=True heavy=1",
        "light=1",
        "heavy=True lane={'light': 0, 'heavy': 1}",
    ]
    assert lanes.light.total_tokens == 1
    assert lanes.light.borrowed_tokens == 0


# -- against a real server


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    yield from live.start()


def metric(text: str, name: str, **labels: str) -> float:
    selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name + (f"{{{selector}}}" if labels else "")) + r" ([0-9.e+]+)"
    found = re.search(rf"^{pattern}$", text, re.M)
    assert found, f"{name} {labels} not in the scrape"
    return float(found.group(1))


def test_cheap_queries_are_answered_while_heavy_executions_wait_at_their_checkpoints(
    live_server: LiveServer,
) -> None:
    query = heavy(FBSS)
    first = httpx.post(live_server.graphql, json={"query": query}, timeout=60)
    assert first.status_code == 200, first.text[:300]
    assert "errors" not in first.json(), first.text[:300]

    stop = threading.Event()
    heavy_answers: list[int] = []

    def stream() -> None:
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                heavy_answers.append(
                    client.post(live_server.graphql, json={"query": query}).status_code
                )

    streams = [in_thread(stream) for _ in range(2)]
    cheap: list[dict[str, Any]] = []
    seen_paused = 0.0
    try:
        with httpx.Client(timeout=30) as client:
            deadline = time.monotonic() + 20  # bounded: usually met within a second
            while time.monotonic() < deadline and (seen_paused < 1 or len(cheap) < 20):
                answer = client.post(
                    live_server.graphql, json={"query": CHEAP, "variables": {"id": FBSS}}
                )
                assert answer.status_code == 200
                cheap.append(answer.json())
                # The scrape is lighter work too: while it is answered, the heavy executions
                # in flight (in their own lane) wait at a checkpoint.
                scrape = client.get(f"{live_server.url}/metrics").text
                if metric(scrape, "clinic_kg_lane_executions_in_flight", lane="heavy") >= 1:
                    seen_paused = max(
                        seen_paused, metric(scrape, "clinic_kg_heavy_executions_paused")
                    )
    finally:
        stop.set()
        for thread in streams:
            thread.join(JOIN)
    assert len(cheap) >= 20
    assert all(c["data"]["condition"]["id"] == FBSS for c in cheap)
    assert seen_paused >= 1, "no scrape saw a heavy execution paused at a checkpoint"
    scrape = httpx.get(f"{live_server.url}/metrics", timeout=30).text
    assert metric(scrape, "clinic_kg_heavy_execution_pauses_total") >= 1
    # The heavy ones are slowed, not refused: they still run to their answers.
    assert 200 in heavy_answers, heavy_answers
    assert set(heavy_answers) <= {200, 503}, heavy_answers


def test_a_heavy_result_is_written_in_pieces_with_the_bytes_of_one_dumps() -> None:
    def result() -> dict[str, Any]:
        node = {"id": "fbss", "label": "Failed back — “surgery”", "value": 0.25, "none": None}
        return {
            "a0": [dict(node, edges=[{"n": i, "q": "ünï"} for i in range(3)]) for _ in range(4)],
            "a1": {"empty": [], "obj": {}, "flag": True},
            "a2": [],
            "a3": "scalar",
        }

    pieces: list[int] = []
    data = result()
    written = serialized(data, lambda: pieces.append(1))
    assert written == dumps(result())
    assert len(pieces) > 4  # a checkpoint between pieces, not one call
    assert data == {}  # each piece was let go once written
    assert serialized(result()) == dumps(result())
