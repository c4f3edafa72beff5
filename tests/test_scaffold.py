"""`clinic-kg new page`: the page it starts validates as written, and again once a steward has
uncommented every example and replaced its placeholders; bad arguments write nothing."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from rdflib import URIRef

from server.load.loader import load
from server.rdf.namespaces import CKG, KG, ROLE

from .conftest import REPO
from .test_cli_validate import run as clinic_kg

# A fictional page (test content only): every quote the test fills in is one of its sentences.
TEXT = (
    "Example lumbar condition is a fictional condition made up for this test.\r\n"
    "Patients with it report tingling in the toes.\r\n"
    "Its main cause is a fictional wobble of a disc.\r\n"
    "Sitting all day raises the risk.\r\n"
    "Exampleprofen relieves the pain, and example injections help.\r\n"
    "Example decompression surgery is offered when nothing else helps.\r\n"
    "About 40% of patients improve after example decompression.\r\n"
    "Most patients improve without surgery.\r\n"
)
SENTENCES = [line for line in TEXT.split("\r\n") if line]
SLUG, CONDITION = "example-lumbar-page", "example-lumbar-condition"
PREFIXES = "".join(
    f"@prefix {name}: <{ns}> .\n"
    for name, ns in (
        ("category", "https://clinic-kg.example/ontology/treatment-category/"),
        ("ckg", str(CKG)),
        ("kg", str(KG)),
        ("prov", "http://www.w3.org/ns/prov#"),
        ("skos", "http://www.w3.org/2004/02/skos/core#"),
    )
)


def new_page(project: Path, *extra: str, slug: str = SLUG) -> subprocess.CompletedProcess[str]:
    text = project / "page.txt"
    text.write_bytes(TEXT.encode("utf-8"))
    return clinic_kg(
        "new", "page", slug, "--url", "https://clinic.example.org/example-lumbar",
        "--title", "What is Example Lumbar Condition", "--text", str(text), *extra, cwd=project,
    )  # fmt: skip


def fill_in(project: Path, page: Path) -> None:
    """What a steward does: uncomment every example, move each new entity to the topic file its
    comment names, and replace every placeholder (quotes by sentences of the page's text)."""
    kept: list[str] = []
    where = ""
    quotes = iter(SENTENCES * 3)
    for block in page.read_text(encoding="utf-8").split("\n\n"):
        named = re.search(r"Describe it in (kg/\S+\.ttl)", block)
        if named:
            where = named.group(1)
        if not block.startswith("# kg:"):
            kept.append(block)
            continue
        code = "\n".join(line.removeprefix("#").removeprefix(" ") for line in block.split("\n"))
        code = code.replace("kg:TODO-cited-source", "kg:pain-medicine")  # a source the seed has
        code = re.sub(r'"TODO-quote[^"]*"', lambda _: f'"{next(quotes)}"', code)
        code = code.replace('"TODO-0"', '"40"')
        code = re.sub(r'"TODO-([^"]*)"@en', r'"Example \1"@en', code)
        code = re.sub(r"kg:TODO-([a-z-]+)", r"kg:example-\1", code)
        assert "TODO-" not in code, code
        if where:
            target = project / where
            target.parent.mkdir(parents=True, exist_ok=True)
            before = target.read_text(encoding="utf-8") if target.exists() else ""
            target.write_text(before + "\n" + PREFIXES + "\n" + code + "\n", encoding="utf-8")
            where = ""
        else:
            kept.append(code)
    page.write_text("\n\n".join(kept), encoding="utf-8")


def test_a_new_page_validates_as_written_and_once_filled_in(project: Path) -> None:
    done = new_page(project, "--condition", CONDITION)
    assert done.returncode == 0, done.stderr
    assert f"wrote kg/pages/{SLUG}.ttl" in done.stdout
    assert f"wrote kg/sources/{SLUG}.txt" in done.stdout
    assert "clinic-kg validate" in done.stdout
    assert f"kg/conditions/{CONDITION}.ttl" in done.stdout  # the condition is new: say where
    text = (project / "kg" / "sources" / f"{SLUG}.txt").read_bytes()
    assert text == TEXT.replace("\r\n", "\n").encode("utf-8")
    page = project / "kg" / "pages" / f"{SLUG}.ttl"
    first = clinic_kg("validate", cwd=project)
    assert first.returncode == 0, first.stdout

    fill_in(project, page)
    assert clinic_kg("fmt", cwd=project).returncode == 0
    filled = clinic_kg("validate", cwd=project)
    assert filled.returncode == 0, filled.stdout
    assert " 0 errors, 0 warnings" in filled.stdout

    graph = load(project).data
    condition = KG[CONDITION]
    cause = KG[f"{CONDITION}-has-cause-example-cause-{SLUG}"]
    assert (cause, CKG.causeRole, ROLE.main) in graph
    assert (condition, CKG.possibleTreatment, KG["example-procedure"]) in graph
    assert (KG["example-procedure"], None, CKG.SurgicalProcedure) in graph
    for relation in ("hasSymptom", "hasRiskFactor", "possibleTreatment"):
        assert (None, URIRef(str(CKG) + relation), None) in graph
    assert (KG["example-statistic"], CKG.citedSource, KG["pain-medicine"]) in graph
    assert (KG["example-claim"], None, CKG.QualitativeClaim) in graph


def test_without_a_condition_the_examples_name_a_placeholder(project: Path) -> None:
    done = new_page(project)
    assert done.returncode == 0, done.stderr
    page = (project / "kg" / "pages" / f"{SLUG}.ttl").read_text(encoding="utf-8")
    assert "# kg:TODO-condition ckg:hasSymptom kg:TODO-symptom ;" in page
    assert "schema:url <https://clinic.example.org/example-lumbar> ." in page


def test_the_data_files_ship_in_the_wheel(tmp_path: Path) -> None:
    # Built for real: package data globs are easy to get wrong after files move.
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [wheel] = tmp_path.glob("clinic_kg-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "server/steward/templates/page.ttl",
        "server/content/context.jsonld",
        "server/schema.graphql",
        "server/http/static/graphiql/graphiql.min.js",
        "server/py.typed",
    } <= names


@pytest.mark.parametrize(
    ("slug", "extra", "wording"),
    [
        ("Example_Page", (), "is not a slug"),
        ("example-page-", (), "is not a slug"),
        ("acetaminophen", (), "kg:acetaminophen already names something in the graph"),
        (SLUG, ("--condition", "smoking"), "is in the graph but is not a condition"),
        (SLUG, ("--condition", "Not A Slug"), "--condition 'Not A Slug' is not a slug"),
    ],
)
def test_usage_errors_write_nothing(
    project: Path, slug: str, extra: tuple[str, ...], wording: str
) -> None:
    before = sorted(project.rglob("*"))
    done = new_page(project, *extra, slug=slug)
    assert done.returncode == 2, done.stdout + done.stderr
    assert wording in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p for p in project.rglob("*") if p.name != "page.txt") == before


def test_bad_url_and_text(project: Path) -> None:
    bad_url = clinic_kg(
        "new", "page", SLUG, "--url", "clinic page", "--title", "T", "--text", "x.txt",
        cwd=project,
    )  # fmt: skip
    assert bad_url.returncode == 2
    assert "is not the page's address" in bad_url.stderr
    (project / "latin1.txt").write_bytes(b"caf\xe9\n")
    latin1 = clinic_kg(
        "new", "page", SLUG, "--url", "https://clinic.example.org/x", "--title", "T",
        "--text", "latin1.txt", cwd=project,
    )  # fmt: skip
    assert latin1.returncode == 2
    assert "is not UTF-8" in latin1.stderr
    assert not (project / "kg" / "pages" / f"{SLUG}.ttl").exists()


def test_existing_files_are_never_overwritten(project: Path) -> None:
    assert new_page(project).returncode == 0
    page = project / "kg" / "pages" / f"{SLUG}.ttl"
    page.write_text(page.read_text(encoding="utf-8") + "# the steward's work\n", encoding="utf-8")
    again = new_page(project)
    assert again.returncode == 2
    assert f"kg/pages/{SLUG}.ttl already exists" in again.stderr
    assert page.read_text(encoding="utf-8").endswith("# the steward's work\n")


def test_outside_a_project(tmp_path: Path) -> None:
    done = new_page(tmp_path)
    assert done.returncode == 2
    assert "is not a clinic-kg project" in done.stderr
