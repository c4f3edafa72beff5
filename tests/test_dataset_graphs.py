"""The rdflib side of a snapshot: built on first use, once, and counted without being built."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from server.load.loader import load
from server.rdf.namespaces import KG
from server.store.dataset_graphs import DatasetGraphs
from server.store.snapshot import build_snapshot

from .conftest import REPO


def test_triples_are_counted_without_building_the_graphs() -> None:
    graphs = DatasetGraphs(load(REPO))
    count = graphs.triple_count()
    assert not graphs.built
    assert count == len(graphs.data) + len(graphs.ontology)
    assert graphs.built


def test_snapshot_build_leaves_the_graphs_for_later() -> None:
    snap = build_snapshot(load(REPO))
    assert not snap.graphs.built
    assert snap.triple_count == len(snap.graphs.data) + len(snap.graphs.ontology)
    assert snap.graphs.version == snap.version


def test_concurrent_first_requests_build_one_graph() -> None:
    graphs = DatasetGraphs(load(REPO))
    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = list(pool.map(lambda _: id(graphs.data), range(16)))
    assert len(set(seen)) == 1


def test_describe_returns_records_for_known_iris_only() -> None:
    graphs = DatasetGraphs(load(REPO))
    described = graphs.describe(str(KG["failed-back-surgery-syndrome"]))
    assert described is not None
    assert described.iri == str(KG["failed-back-surgery-syndrome"])
    assert len(set(described.triples)) == len(described.triples)
    assert graphs.describe(str(KG["failed-back-surgery-syndrome"])) == described  # stable order
    assert graphs.describe(str(KG["no-such-thing"])) is None
