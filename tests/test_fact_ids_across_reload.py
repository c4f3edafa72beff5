"""Content tools cache on fact ids and versions: a reload that changes unrelated data keeps every
fact's id, sentence and citation, and linked-data pages swap with the snapshot they come from."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from server.http.app import create_app
from server.serve.watch import Reloader

from . import seed
from .conftest import REPO
from .kg_files import described_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette would rather its TestClient ran on httpx2
    from starlette.testclient import TestClient

# The file that describes acupuncture, wherever kg/ keeps it: no fact is about it.
UNRELATED, _ = described_in(REPO, "acupuncture")


def facts_by_id(client: TestClient) -> dict[str, dict[str, Any]]:
    listing = client.get("/facts").json()
    found = {}
    for item in listing["facts"]:
        doc = client.get(item["href"]).json()
        found[doc["id"]] = doc
    return found


def test_fact_ids_and_wording_survive_an_unrelated_reload(
    reloader: Reloader, project: Path
) -> None:
    with TestClient(create_app(reloader.settings, reloader.holder)) as client:
        before = facts_by_id(client)
        page = client.get("/id/acupuncture", headers={"accept": "text/turtle"})
        assert "Needle therapy" not in page.text

        path = project / UNRELATED
        text = path.read_text()
        old = 'skos:prefLabel "Acupuncture"@en ;'
        assert old in text
        path.write_text(text.replace(old, old + '\n    skos:altLabel "Needle therapy"@en ;'))
        outcome = reloader.reload()
        assert outcome.swapped, outcome.error

        after = facts_by_id(client)
        assert set(after) == set(before)
        assert set(after) >= seed.FACT_IDS
        for fact_id, doc in after.items():
            assert doc["statement"] == before[fact_id]["statement"], fact_id
            assert doc["citation"] == before[fact_id]["citation"], fact_id
            assert doc["iri"] == before[fact_id]["iri"]
            assert doc["datasetVersion"] == outcome.version != before[fact_id]["datasetVersion"]

        # The page comes from the new snapshot's graphs, under the new version's tag; the old
        # tag no longer matches.
        fresh = client.get(
            "/id/acupuncture",
            headers={"accept": "text/turtle", "if-none-match": page.headers["etag"]},
        )
        assert fresh.status_code == 200
        assert "Needle therapy" in fresh.text
        assert fresh.headers["x-dataset-version"] == outcome.version
        assert outcome.version in fresh.headers["etag"]


def test_graphs_swap_with_the_snapshot(reloader: Reloader, project: Path) -> None:
    old = reloader.holder.current
    assert "Needle therapy" not in {str(o) for o in old.graphs.data.objects()}
    path = project / UNRELATED
    path.write_text(
        path.read_text().replace(
            '"Acupuncture"@en ;', '"Acupuncture"@en ;\n    skos:altLabel "Needle therapy"@en ;'
        )
    )
    assert reloader.reload().swapped
    new = reloader.holder.current
    assert new.graphs is not old.graphs
    assert new.graphs.version == new.version
    assert "Needle therapy" in {str(o) for o in new.graphs.data.objects()}
    assert "Needle therapy" not in {str(o) for o in old.graphs.data.objects()}
