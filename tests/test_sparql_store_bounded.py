"""The SPARQL-backed store's memory stays bounded: its catalog (ids, label order, search index) is
a SQLite file per version on disk, built once from the store and reused, and what requests fetch
is kept in a cache of `store_cache_size` entries.

Against a live Oxigraph (tests/oxigraph_server.py) holding the seed, or the seed plus a second
page, as `clinic-kg publish` lays them out.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from server.settings import Settings
from server.store import sparql_dataset
from server.store.label_index import LabelIndex, Query, normalize
from server.store.snapshot import Snapshot, build_snapshot
from server.store.sparql_catalog import Catalog, IdList, prune
from server.store.sparql_dataset import SparqlDataset

from .conftest import REPO
from .oxigraph_server import Oxigraph
from .sparql_store_fixtures import fresh_oxigraph, point_at, publish
from .test_sparql_store import two_pages, validated


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Oxigraph, Snapshot]]:
    """An Oxigraph holding the seed plus a second page, current; and its snapshot."""
    loaded = validated(two_pages(tmp_path_factory.mktemp("two-pages")))
    for server in fresh_oxigraph():
        publish(server, loaded, Settings())
        yield server, build_snapshot(loaded, Settings())


def dataset(server: Oxigraph, folder: Path, **settings: object) -> SparqlDataset:
    found = SparqlDataset(
        server.query_url, replace(Settings(), store_catalog_dir=str(folder), **settings)
    )
    found.refresh()
    return found


def queries(snapshot: Snapshot) -> list[str]:
    """Every word of every label and quote, and their prefixes: the searches a client types."""
    words: set[str] = set()
    for entity in snapshot.entities():
        texts = [t.text for t in (*entity.labels, *entity.alt_labels)]
        texts += [t for t in (getattr(entity, "quote", None), getattr(entity, "claim", None)) if t]
        for text in texts:
            for word in normalize(text).split():
                words.update(word[:n] for n in (1, 2, 3, len(word)))
    return [*sorted(words), "nerve blocks", "epidural injections", "FBSS", "Tylénol", "zzz"]


def test_search_on_disk_ranks_as_the_in_memory_index(
    published: tuple[Oxigraph, Snapshot], tmp_path: Path
) -> None:
    server, snapshot = published
    catalog = dataset(server, tmp_path).serving.catalog
    in_memory = LabelIndex(list(snapshot.entities()))
    kinds = sorted({e.kind for e in snapshot.entities()})
    asked = queries(snapshot)
    assert len(asked) > 100
    matched = 0
    for text in asked:
        query = Query(text, in_memory._stem)
        expected = in_memory.rank(query)
        assert catalog.labels.rank(query) == expected, text
        # The hits as a client reads them: ids, scores, labels and quotes' excerpts.
        assert list(catalog.labels.search(text)) == list(in_memory.search(text)), text
        for restricted in (kinds[:1], kinds[1:3]):
            got = [(h.id, h.score) for h in catalog.labels.search(text, restricted)]
            want = [(h.id, h.score) for h in in_memory.search(text, restricted)]
            assert got == want, (text, restricted)
        matched += bool(expected)
    assert matched > 50  # the comparison is over real rankings, not empty ones


def test_the_catalog_file_lists_entities_as_the_snapshot(
    published: tuple[Oxigraph, Snapshot], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, snapshot = published
    catalog = dataset(server, tmp_path).serving.catalog
    monkeypatch.setattr(IdList, "PAGE", 3)  # lists read through page after page
    assert list(catalog.of_kinds(())) == [e.id for e in snapshot.entities()]
    conditions = snapshot.registry.kinds_under(["Condition"])
    assert list(catalog.of_kinds(sorted(conditions))) == [
        e.id for e in snapshot.entities(sorted(conditions))
    ]
    facts = [f.id for f in snapshot.facts()]
    assert list(catalog.facts()) == facts
    listed = catalog.facts()
    assert len(listed) == len(facts)
    assert listed[1:4] == facts[1:4]
    assert listed[-1] == facts[-1]
    assert list(catalog.facts("NoSuchKind")) == []
    for entity in list(snapshot.entities())[:50]:
        assert catalog.kind(entity.id) == entity.kind
        assert catalog.key(entity.iri) == entity.id
        assert catalog.iri_of(entity.id) == entity.iri


def test_the_record_cache_holds_at_most_store_cache_size_entries(
    published: tuple[Oxigraph, Snapshot], tmp_path: Path
) -> None:
    server, snapshot = published
    data = dataset(server, tmp_path, store_cache_size=7)
    ids = [e.id for e in snapshot.entities()]
    assert len(ids) > 7
    for id in ids:  # each in a request of its own, as a client reads them one by one
        assert data.store().entity(id) == snapshot.entity(id)
        assert len(data.serving.cache) <= 7
    # Evicted records are fetched again, and are the same.
    assert data.store().entity(ids[0]) == snapshot.entity(ids[0])
    assert len(data.serving.cache) == 7


def test_a_restart_reuses_the_versions_catalog_file(
    published: tuple[Oxigraph, Snapshot], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, snapshot = published
    first = dataset(server, tmp_path).serving.catalog
    built = first.path.stat()

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("the catalog was built again")

    monkeypatch.setattr(sparql_dataset, "build_catalog_file", no_build)
    again = dataset(server, tmp_path)
    assert again.serving.catalog.path == first.path
    assert first.path.stat().st_ino == built.st_ino
    assert again.store().search("pain")[0] == snapshot.search("pain")[0]


def test_a_new_version_builds_its_own_catalog_and_prunes_older_ones(tmp_path: Path) -> None:
    seed = validated(REPO)
    second = validated(two_pages(tmp_path / "two-pages"))
    third_root = two_pages(tmp_path / "third")
    with (third_root / "kg" / "clinic.ttl").open("a", encoding="utf-8") as f:
        f.write("\n# the same triples, another version\n")
    third = validated(third_root)
    assert len({seed.version, second.version, third.version}) == 3
    folder = tmp_path / "catalogs"
    folder.mkdir()
    stale = [folder / "an-old-version-0123456789ab.sqlite", folder / ".tmp-abandoned.sqlite"]
    for path in stale:
        path.write_bytes(b"left by an earlier version, or a build that died")
    for server in fresh_oxigraph():
        publish(server, seed, Settings())
        data = dataset(server, folder)
        first = data.serving.catalog
        assert not any(path.exists() for path in stale)
        assert {p.name for p in folder.glob("*.sqlite")} == {first.path.name}
        publish(server, second, Settings())
        assert data.refresh()
        now = data.serving.catalog
        assert now.path != first.path
        assert now.version == second.version
        # The one served and the one before it.
        assert {p.name for p in folder.glob("*.sqlite")} == {first.path.name, now.path.name}
        # Serving it gives the new version's answers.
        snapshot = build_snapshot(second, Settings())
        assert list(data.store().search("pain")) == list(snapshot.search("pain"))
        publish(server, third, Settings())
        assert data.refresh()
        latest = data.serving.catalog.path
        assert {p.name for p in folder.glob("*.sqlite")} == {now.path.name, latest.name}
        # Back to the second version: its file, kept, is reused.
        point_at(server, second.version, Settings())
        assert data.refresh()
        assert data.serving.catalog.path == now.path


def test_a_pruned_catalog_stays_readable_by_a_server_still_serving_it(
    published: tuple[Oxigraph, Snapshot], tmp_path: Path
) -> None:
    server, snapshot = published
    catalog: Catalog = dataset(server, tmp_path).serving.catalog
    prune(tmp_path, [])  # e.g. another worker moved on two versions meanwhile
    assert not catalog.path.exists()
    found: list[str | None] = []
    reader = threading.Thread(target=lambda: found.append(catalog.kind("pain")))
    reader.start()  # a thread that never read it opens it now
    reader.join(timeout=30)
    assert found == [snapshot.entity("pain").kind if snapshot.entity("pain") else None]
