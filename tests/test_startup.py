"""The start-up cache: an unchanged project starts without validating; any change validates."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from server.content.schemaorg import condition_markup
from server.http.app import create_app
from server.serve.startup import CACHE_DIR, KEEP, cache_key, start
from server.settings import Settings
from server.store.protocol import DatasetChanged, StoreHolder

with warnings.catch_warnings():
    # Starlette would rather its TestClient ran on httpx2; httpx is what the project has.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def test_second_start_comes_from_the_cache(project: Path) -> None:
    settings = Settings()
    first = start(project, settings)
    assert first.snapshot is not None
    assert not first.from_cache
    second = start(project, settings)
    assert second.from_cache
    assert second.snapshot is not None
    assert second.snapshot.state() == first.snapshot.state()
    assert second.report == first.report
    assert second.snapshot.triple_count == first.snapshot.triple_count


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "kg" / "symptoms.ttl").write_text(
            (root / "kg" / "symptoms.ttl").read_text() + "\n# a note\n"
        ),
        lambda root: (root / "kg" / "sources" / "clinic-page.txt").write_text("other text"),
        lambda root: (root / "shapes" / "common.ttl").write_text(
            (root / "shapes" / "common.ttl").read_text() + "\n"
        ),
    ],
    ids=["a-comment-in-kg", "a-source-text", "a-shape-file"],
)
def test_any_changed_byte_validates_again(project: Path, change: object) -> None:
    settings = Settings()
    start(project, settings)
    assert callable(change)
    change(project)
    again = start(project, settings)
    assert not again.from_cache


def test_settings_that_shape_the_result_are_part_of_the_key(project: Path) -> None:
    assert cache_key(project, Settings()) != cache_key(
        project, Settings(base_iri="https://kg.clinic.test/")
    )
    assert cache_key(project, Settings()) == cache_key(project, Settings(port=9999))


def test_invalid_projects_are_never_cached(project: Path) -> None:
    (project / "kg" / "broken.ttl").write_text(
        "@prefix kg: <https://clinic-kg.example/id/> .\nkg:a"
    )
    first = start(project, Settings())
    assert first.snapshot is None
    assert not first.report.conforms
    assert not start(project, Settings()).from_cache
    assert (
        not list((project / CACHE_DIR).glob("*.pickle")) if (project / CACHE_DIR).exists() else True
    )


def test_a_damaged_cache_file_is_ignored(project: Path) -> None:
    start(project, Settings())
    [cached] = (project / CACHE_DIR).glob("*.pickle")
    cached.write_bytes(b"not a pickle")
    again = start(project, Settings())
    assert not again.from_cache
    assert again.snapshot is not None


def test_switched_off_by_the_setting(project: Path) -> None:
    start(project, Settings(startup_cache=False))
    assert not (project / CACHE_DIR).exists()


def test_restored_snapshot_reads_its_graphs_on_first_use(project: Path) -> None:
    start(project, Settings())
    restored = start(project, Settings())
    assert restored.snapshot is not None
    graphs = restored.snapshot.graphs
    assert not graphs.built
    assert len(graphs.data) > 500  # loaded from the files now, checked against the version
    assert len(graphs.ontology) > 100
    assert graphs.built


def test_restored_snapshot_refuses_graphs_of_changed_files(project: Path) -> None:
    start(project, Settings())
    restored = start(project, Settings())
    assert restored.snapshot is not None
    target = project / "kg" / "symptoms.ttl"
    target.write_text(target.read_text() + "\n# changed after the start\n")
    with pytest.raises(DatasetChanged, match="restart the server"):
        _ = restored.snapshot.graphs.data
    with pytest.raises(DatasetChanged, match="restart the server"):
        restored.snapshot.describe("https://clinic-kg.example/id/acetaminophen")


def test_restored_snapshot_renders_schema_org_without_reading_files(project: Path) -> None:
    built = start(project, Settings()).snapshot
    restored = start(project, Settings())
    assert built is not None
    assert restored.snapshot is not None
    assert restored.from_cache
    # The files change after the start: the markup still comes from memory (no DatasetChanged).
    target = project / "kg" / "symptoms.ttl"
    target.write_text(target.read_text() + "\n# changed after the start\n")
    page_text = restored.snapshot.page_text("clinic-page")
    assert page_text is not None
    assert "Tylenol" in page_text
    assert page_text == built.page_text("clinic-page")
    fbss = "failed-back-surgery-syndrome"
    assert condition_markup(restored.snapshot, fbss) == condition_markup(built, fbss)


def test_old_versions_are_pruned(project: Path) -> None:
    target = project / "kg" / "symptoms.ttl"
    for n in range(KEEP + 2):
        target.write_text(target.read_text() + f"\n# edit {n}\n")
        start(project, Settings())
    assert len(list((project / CACHE_DIR).glob("*.pickle"))) == KEEP


def test_changed_files_are_a_503_on_id_and_nothing_in_graphql(project: Path) -> None:
    start(project, Settings())
    restored = start(project, Settings()).snapshot
    assert restored is not None
    target = project / "kg" / "symptoms.ttl"
    target.write_text(target.read_text() + "\n# changed after the start\n")
    with TestClient(create_app(Settings(), StoreHolder(restored))) as client:
        answer = client.get("/id/acetaminophen", headers={"accept": "text/turtle"})
        assert answer.status_code == 503
        assert "restart the server" in answer.text
        assert answer.headers["retry-after"] == "5"
        # GraphQL (schema.org included) reads records only: nothing to refuse there.
        query = '{ condition(id: "failed-back-surgery-syndrome") { schemaOrg } }'
        body = client.post("/graphql", json={"query": query}).json()
        assert "errors" not in body
        assert body["data"]["condition"]["schemaOrg"]["@type"] == "MedicalWebPage"
