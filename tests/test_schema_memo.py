"""What the resolvers keep per store (server/schema/memo.py: related entities in label order, the
evidence of each edge, cursors) changes no answer: every query of the repository gets the same
data with the memo as when everything is computed afresh, and a new store (a reload) is never
answered with the values of the one before it."""

from __future__ import annotations

import gc
import json
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.load.loader import load
from server.schema import ClinicSchema, Context, build_schema, memo
from server.schema import relations as relations_module
from server.settings import Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot, build_snapshot

from .conftest import REPO
from .test_compiled_executor import corpus_requests

CONDITION = "failed-back-surgery-syndrome"
CAUSES = """query Causes($id: ID!) {
  condition(id: $id) {
    causes(first: 50) { edges { cursor node { id label } quote statistics { id statement } } }
  }
}"""


@pytest.fixture(scope="module")
def schema() -> ClinicSchema:
    return build_schema(Settings())


def answer(schema: ClinicSchema, snap: Snapshot, query: str, variables: Any, op: Any) -> Any:
    context = Context(store=snap, settings=Settings(), holder=StoreHolder(snap), request_id="t")
    result = schema.execute_sync(query, variables, context_value=context, operation_name=op)
    errors = [e.message for e in result.errors or []]
    return json.dumps({"data": result.data, "errors": errors}, sort_keys=True)


def test_every_query_of_the_repository_answers_the_same_without_the_memo(
    schema: ClinicSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    snap = build_snapshot(load(REPO))
    requests = corpus_requests(schema)
    kept = [answer(schema, snap, text, v, op) for _, text, v, op in requests]
    again = [answer(schema, snap, text, v, op) for _, text, v, op in requests]  # memo warm
    monkeypatch.setattr(relations_module, "derived", lambda store, key, compute: compute())
    fresh = [answer(schema, snap, text, v, op) for _, text, v, op in requests]
    assert kept == fresh
    assert again == fresh


def test_a_new_store_is_answered_from_its_own_records(schema: ClinicSchema, project: Path) -> None:
    before = build_snapshot(load(project))
    first = answer(schema, before, CAUSES, {"id": CONDITION}, None)
    path = project / "kg" / "causes.ttl"
    text = path.read_text(encoding="utf-8")
    # A label that sorts the cause first now, and that the old store never had.
    path.write_text(
        text.replace('"Technical error during surgery"@en', '"A technical error in surgery"@en'),
        encoding="utf-8",
    )
    after = build_snapshot(load(project))
    edited = answer(schema, after, CAUSES, {"id": CONDITION}, None)
    edges = json.loads(edited)["data"]["condition"]["causes"]["edges"]
    labels = [e["node"]["label"] for e in edges]
    assert labels[0] == "A technical error in surgery"
    assert labels == sorted(labels, key=str.casefold)
    assert "A technical error in surgery" not in first
    # and the old store, still read by a request that started before the reload, keeps its own
    assert answer(schema, before, CAUSES, {"id": CONDITION}, None) == first


def test_the_memo_holds_at_most_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo, "LIMIT", 5)
    snap = build_snapshot(load(REPO))
    computed = []
    for i in range(12):
        assert memo.derived(snap, ("k", i), lambda i=i: computed.append(i) or i) == i
        assert len(memo._MEMO.state[1]) <= 5
    assert memo.derived(snap, ("k", 11), lambda: -1) == 11  # still kept: computed once
    assert computed == list(range(12))


class _Cycle:
    """A reference cycle: freed only by the cyclic collector."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def no_automatic_collections() -> Iterator[None]:
    """Only the memo's own settles collect (deterministic); the heap unfrozen after, so other
    tests' garbage stays collectable."""
    gc.disable()
    yield
    gc.enable()
    gc.unfreeze()
    gc.collect()


def test_what_the_memo_keeps_leaves_the_collectors_walk_every_settle(
    monkeypatch: pytest.MonkeyPatch, no_automatic_collections: None
) -> None:
    # At a million triples a memo full of condition pages held ~250k tracked objects, and a
    # full collection over them took 200-280 ms while every request waited.
    monkeypatch.setattr(memo, "SETTLE_EVERY", 64)
    snap = build_snapshot(load(REPO))
    garbage = _Cycle()
    collected = weakref.ref(garbage)
    del garbage
    kept = [memo.derived(snap, ("settle", i), lambda i=i: [i]) for i in range(63)]
    walked = {id(o) for o in gc.get_objects()}
    assert all(id(v) in walked for v in kept)  # tracked until the settle
    kept.append(memo.derived(snap, ("settle", 63), lambda: [63]))  # the 64th value: a settle
    walked = {id(o) for o in gc.get_objects()}
    assert not any(id(v) in walked for v in kept)  # frozen: no collection walks them again
    assert collected() is None  # garbage is collected first, never frozen alive
    assert memo.derived(snap, ("settle", 0), lambda: ["again"]) is kept[0]  # still the memo's
