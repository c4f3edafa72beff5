"""After a patched reload `serve --watch` collects only the objects not frozen yet
(server/store/heap.py `settle_heap(whole=False)`): walking the frozen heap again costs over a
second at a million triples. That is only safe if what a reload replaces is freed by reference
counting alone. These tests check it, after the version was read the ways a server reads it:
GraphQL (its memo per store), search (its rankings), the content routes and the change feed."""

from __future__ import annotations

import gc
import warnings
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.http.app import create_app
from server.model.records import Concept, Entity, Relation
from server.serve.watch import Reloader
from server.store.heap import settle_heap
from server.store.label_index import LabelIndex
from server.store.snapshot import Snapshot

from .graphql_corpus import collected

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette would rather its TestClient ran on httpx2
    from starlette.testclient import TestClient

CONDITION = "kg/conditions/failed-back-surgery-syndrome.ttl"
LABEL = '"Failed back surgery syndrome"@en'
PATHS = ("/facts/lumbar-fusion-success-rate", "/id/failed-back-surgery-syndrome")


@pytest.fixture
def frozen() -> Iterator[None]:
    """The heap as `serve` leaves it; unfrozen after, so other tests' garbage is collectable."""
    yield
    gc.unfreeze()
    gc.collect()


def _read_everything(client: TestClient, first: str) -> None:
    """Every query of the repository (tests/graphql_corpus.py) and the content routes."""
    answered = 0
    for query in collected():
        for name in query.operations:
            answer = client.post("/graphql", json={"query": query.text, "operationName": name})
            assert answer.status_code < 500, answer.text
            answered += "errors" not in answer.json()
    assert answered > 50  # most of the corpus runs without variables
    for path in PATHS:
        assert client.get(path).status_code in (200, 303), path
    assert client.get("/changes", params={"since": first}).status_code == 200


def _of_a_version(o: object) -> bool:
    return isinstance(o, Snapshot | LabelIndex | Entity | Relation | Concept)


def _edit(project: Path, n: int) -> None:
    path = project / CONDITION
    text = path.read_text(encoding="utf-8")
    before = LABEL if n == 0 else f'"Failed back surgery syndrome {n - 1}"@en'
    assert text.count(before) == 1
    path.write_text(text.replace(before, f'"Failed back surgery syndrome {n}"@en'), "utf-8")


def test_a_patched_reload_frees_what_it_replaced_without_a_full_collection(
    reloader: Reloader, project: Path, frozen: None
) -> None:
    reloader.prepare()
    with TestClient(create_app(reloader.settings, reloader.holder)) as client:
        first = reloader.holder.current.version
        _read_everything(client, first)
        settle_heap()
        for n in range(3):
            old = weakref.ref(reloader.holder.current)
            _edit(project, n)
            outcome = reloader.reload()  # ends with settle_heap(whole=False)
            assert outcome.swapped
            assert reloader.last_path == "incremental"
            reloader.holder.history.materialize()  # the change feed has printed it: let go
            assert old() is None, "the replaced version was not freed by reference counting"
            _read_everything(client, first)
            settle_heap(whole=False)
    # Nothing of the versions replaced waits for the cyclic collector either (the change feed
    # keeps their records on purpose: they are reachable, not garbage).
    gc.unfreeze()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage if _of_a_version(o)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == []
