"""An incremental reload (serve --watch, an edit of kg/ only) gives what a full rebuild gives.

Random sequences of edits to a copy of the project (labels changed, duplicated or untagged, whole
descriptions removed or moved, entities, relations with and without evidence, a triple stated
twice, fact values, the page's text copy, and files put back as they were): after each one the
Reloader's report equals a fresh validation's, diagnostic for diagnostic, and the snapshot it
serves equals a fresh build_snapshot: records and GraphQL answers. The Reloader must have taken
the incremental path (a test that always fell back would prove nothing). Edits of ontology/ or
shapes/ take the full path.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import astuple
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from server.diagnostics import Diagnostic
from server.rdf.namespaces import CKG
from server.rdf.triple_index import Index
from server.schema import build_schema
from server.schema.base import Context
from server.serve.watch import Reloader
from server.settings import Settings
from server.store.label_index import LabelIndex, normalize
from server.store.layered_index import LayeredIndex
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot, build_snapshot
from server.validate.validation import validate_project

from .conftest import REPO

# Every prefix kg/ uses, for the file the edits create (a block moved there keeps its names).
PREFIXES = "".join(
    sorted(
        {
            line + "\n"
            for path in (REPO / "kg").rglob("*.ttl")
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("@prefix")
        }
    )
)
FILES = (
    "kg/symptoms.ttl",
    "kg/pages/clinic-page.ttl",
    "kg/causes.ttl",
    "kg/treatments/medications.ttl",
    "kg/hypothesis-extra.ttl",  # not there at first: created by an append, deleted by a restore
)
SNIPPETS = (
    # a new entity, valid
    'kg:hyp-symptom a ckg:Symptom ;\n    skos:prefLabel "Hypothesis symptom"@en ;\n'
    "    prov:wasDerivedFrom kg:clinic-page .\n",
    # a relation to it, without evidence (and dangling while the entity is absent)
    "kg:failed-back-surgery-syndrome ckg:hasSymptom kg:hyp-symptom .\n",
    # the evidence for that relation, quoted verbatim from the page
    "kg:hyp-evidence a ckg:Assertion ;\n    rdf:subject kg:failed-back-surgery-syndrome ;\n"
    "    rdf:predicate ckg:hasSymptom ;\n    rdf:object kg:hyp-symptom ;\n"
    '    ckg:quote "Sharp pain in extremities" ;\n    prov:wasDerivedFrom kg:clinic-page .\n',
    # a triple another file states too
    "kg:back-pain a ckg:Symptom .\n",
    # an untyped subject
    'kg:hyp-untyped skos:prefLabel "Untyped hypothesis"@en .\n',
    # a label another entity has
    'kg:hyp-duplicate a ckg:Symptom ;\n    skos:prefLabel "Back pain"@en ;\n'
    "    prov:wasDerivedFrom kg:clinic-page .\n",
    # a quote that is not in the page
    "kg:hyp-bad-quote a ckg:Assertion ;\n    rdf:subject kg:failed-back-surgery-syndrome ;\n"
    "    rdf:predicate ckg:hasSymptom ;\n    rdf:object kg:back-pain ;\n"
    '    ckg:quote "Words the page never says" ;\n    prov:wasDerivedFrom kg:clinic-page .\n',
)
QUERIES = (
    '{ search(text: "pain") { totalCount edges { score node { id } } } }',
    '{ search(text: "hypothesis") { totalCount edges { node { id } } } }',
    "{ conditions { totalCount edges { node { id name symptoms { id name } } } } }",
    '{ facts(page: "clinic-page") { id statement } }',
    '{ node(id: "back-pain") { id ... on Symptom { name conditions { id } } } }',
    '{ node(id: "hyp-symptom") { id ... on Symptom { name conditions { id } } } }',
    '{ node(id: "failed-back-surgery-syndrome") { id ... on Condition { name '
    "symptoms { id } causes { id } treatments { id } } } }",
)

Op = tuple[Any, ...]
ops = st.one_of(
    st.tuples(
        st.just("label"),
        st.sampled_from(FILES[:4]),
        st.integers(0, 30),
        st.sampled_from(["edit", "dup", "untag"]),
    ),
    st.tuples(st.just("drop"), st.sampled_from(FILES[:4]), st.integers(0, 40)),
    st.tuples(st.just("move"), st.sampled_from(FILES[:4]), st.integers(0, 40)),
    st.tuples(st.just("append"), st.sampled_from(FILES), st.integers(0, len(SNIPPETS) - 1)),
    st.tuples(st.just("value"), st.integers(0, 5), st.integers(-5, 500)),
    st.tuples(st.just("copy"), st.sampled_from(["cut", "add"])),
    st.tuples(st.just("restore"), st.sampled_from([*FILES, "kg/sources/clinic-page.txt"])),
)


def _blocks(text: str) -> list[str]:
    return [b for b in text.split("\n\n") if b.startswith("kg:")]


def apply(root: Path, op: Op) -> None:
    """One edit of the copy: every edit keeps the files parseable."""
    kind = op[0]
    if kind == "restore":
        original = REPO / op[1]
        if original.exists():
            shutil.copy(original, root / op[1])
        else:
            (root / op[1]).unlink(missing_ok=True)
        return
    if kind == "copy":
        path = root / "kg/sources/clinic-page.txt"
        text = path.read_text(encoding="utf-8")
        if op[1] == "cut":
            text = text.replace("Sharp pain in extremities", "Sharp pains", 1)
        else:
            text += "\nSharp pain in extremities.\n"
        path.write_text(text, encoding="utf-8")
        return
    if kind == "value":
        path = root / "kg/pages/clinic-page.ttl"
        text = path.read_text(encoding="utf-8")
        found = list(re.finditer(r'ckg:value "[^"]*"\^\^xsd:decimal', text))
        if found:
            m = found[op[1] % len(found)]
            text = text[: m.start()] + f'ckg:value "{op[2]}"^^xsd:decimal' + text[m.end() :]
            path.write_text(text, encoding="utf-8")
        return
    path = root / op[1]
    text = path.read_text(encoding="utf-8") if path.exists() else PREFIXES
    if kind == "append":
        if "@prefix rdf:" not in text:  # what the snippets use, declared again (allowed)
            text = PREFIXES + text
        path.write_text(text.rstrip("\n") + "\n\n" + SNIPPETS[op[2]], encoding="utf-8")
        return
    if kind == "label":
        found = list(re.finditer(r'skos:prefLabel "([^"]*)"@en', text))
        if not found:
            return
        m = found[op[2] % len(found)]
        new = {
            "edit": f'skos:prefLabel "{m.group(1)} (edited)"@en',
            "dup": 'skos:prefLabel "Back pain"@en',
            "untag": f'skos:prefLabel "{m.group(1)}"',
        }[op[3]]
        path.write_text(text[: m.start()] + new + text[m.end() :], encoding="utf-8")
        return
    blocks = _blocks(text)
    if not blocks:
        return
    block = blocks[op[2] % len(blocks)]
    path.write_text(text.replace("\n\n" + block, "", 1), encoding="utf-8")
    if kind == "move":  # to the extra file: the same triples, another file and line
        extra = root / FILES[-1]
        rest = extra.read_text(encoding="utf-8") if extra.exists() else PREFIXES
        extra.write_text(rest.rstrip("\n") + "\n\n" + block.rstrip("\n") + "\n", encoding="utf-8")


def _key(d: Diagnostic) -> tuple[Any, ...]:
    return tuple(str(x) for x in astuple(d))


_SCHEMA: list[Any] = []


def _answers(snap: Snapshot) -> list[Any]:
    if not _SCHEMA:
        _SCHEMA.append(build_schema(Settings()))
    schema = _SCHEMA[0]
    context = Context(store=snap, settings=Settings(), holder=StoreHolder(snap), request_id="t")
    found = []
    for query in QUERIES:
        result = schema.execute_sync(query, context_value=context)
        found.append((result.data, [str(e) for e in result.errors or []]))
    return found


def _served(root: Path, settings: Settings | None = None) -> Reloader:
    settings = settings or Settings()
    outcome = validate_project(root, (), settings)
    assert outcome.conforms
    reloader = Reloader(root, settings, StoreHolder(build_snapshot(outcome.load, settings)))
    reloader.prepare()
    return reloader


def check_reload(root: Path, reloader: Reloader) -> None:
    """Reload; the report and what is served are those of a validation and build from scratch."""
    before = reloader.holder.current
    if isinstance(before, Snapshot):  # as `serve --watch` does once its workers are ready
        before.copy_ahead()
    outcome = reloader.reload()
    full = validate_project(root)
    assert reloader.last_path == "incremental" or not full.load.ok  # a parse error: full
    report = reloader.last_report
    assert report is not None
    assert report.conforms == full.conforms
    assert sorted(map(_key, report.diagnostics)) == sorted(map(_key, full.report.diagnostics))
    assert report.files == full.report.files
    assert report.triples == full.report.triples
    _assert_subjects_kept(reloader)
    served = reloader.holder.current
    if not full.conforms or full.load.version == before.version:
        # Refused, or the same Turtle (the version is theirs): what was served still is, as
        # after a full reload (a text copy alone does not make a version).
        assert served is before
        assert not outcome.swapped
        return
    fresh = build_snapshot(full.load)
    assert isinstance(served, Snapshot)
    assert served.version == fresh.version == outcome.version
    assert served.state() == fresh.state()
    assert served.entities() == fresh.entities()
    assert served.indexes() == fresh.indexes()
    assert _answers(served) == _answers(fresh)
    assert isinstance(before, Snapshot)
    assert not before._ahead.waiting  # the patch took the copies made ahead
    _assert_same_print(before, served, fresh)
    assert_same_search(served, fresh, _edited_words(before, served))


def _assert_same_print(before: Snapshot, served: Snapshot, fresh: Snapshot) -> None:
    """The change feed's print of a patched version, made from the last version's print and
    the records the patch changed, is the print of the same version built from scratch."""
    assert served._edited is not None
    assert served._edited[0] == before.version
    last = before.version_print(None)
    assert last is not None
    last.copy_ahead()
    edited, whole = served.version_print(last), fresh.version_print(None)
    assert not last.ahead.waiting  # the print took the copies made ahead
    assert edited is not None
    assert whole is not None
    assert edited.entities == whole.entities
    assert edited.relations == whole.relations
    assert edited.concepts == whole.concepts
    assert edited.described == whole.described


def _assert_subjects_kept(reloader: Reloader) -> None:
    """The baseline index's subjects by predicate, kept across patches, are a scan's."""
    baseline = reloader._baseline
    assert baseline is not None
    index = baseline.index
    asked = [CKG.localCopy, CKG.requiresEvidence]
    for predicate in asked:
        scanned = {s for s, preds in index.out.items() if predicate in preds}
        assert set(index.subjects_with(predicate)) == scanned, predicate
    assert index.subjects_with(CKG.localCopy)  # the seed's page has its copy: not vacuous


# Searched after every reload, besides the words of the labels the edit changed: common words,
# a prefix, an acronym (failed back surgery syndrome), a stem ("pains"), a quote's words.
SEARCHED = ("pain", "back", "hyp", "edited", "fbss", "pains", "sharp pain", "surgery")


def _edited_words(before: Snapshot, after: Snapshot) -> set[str]:
    """The words (and their first three letters) of the labels of the entities that differ."""
    words = set(SEARCHED)
    for snap, other in ((before, after), (after, before)):
        for e in snap.entities():
            if other.entity(e.id) != e:
                for t in (*e.labels, *e.alt_labels):
                    for w in normalize(t.text).split():
                        words.update((w, w[:3]))
    return words


def assert_same_search(served: Snapshot, fresh: Snapshot, words: set[str]) -> None:
    """Search answers alike: every hit (id, score, text shown), in order, for all kinds, for
    each single kind found and for two of them, and a page in the middle."""
    for word in sorted(words):
        hits = [astuple(h) for h in fresh.search(word)]
        assert [astuple(h) for h in served.search(word)] == hits, word
        assert [astuple(h) for h in served.search(word)[1:4]] == hits[1:4], word
        kinds = sorted({fresh.entity(h[0]).kind for h in hits})  # type: ignore[union-attr]
        for chosen in [[k] for k in kinds] + ([kinds[:2]] if len(kinds) > 1 else []):
            found = [astuple(h) for h in served.search(word, chosen)]
            assert found == [astuple(h) for h in fresh.search(word, chosen)], (word, chosen)
            assert served.entities(chosen) == fresh.entities(chosen)


@settings(
    max_examples=10,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # bounded: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edits=st.lists(ops, min_size=1, max_size=4))
def test_incremental_reload_equals_a_full_rebuild(tmp_path: Path, edits: list[Op]) -> None:
    root = tmp_path / f"p{len(list(tmp_path.iterdir()))}"
    for name in ("ontology", "shapes", "kg"):
        shutil.copytree(REPO / name, root / name)
    # Every patched search is layered (never rebuilt in full): the merge is what is checked.
    reloader = _served(root, Settings(search_overlay_percent=100))
    for op in edits:
        apply(root, op)
        check_reload(root, reloader)
    for name in FILES:  # and back to where it started: conforms again, served again
        apply(root, ("restore", name))
    apply(root, ("restore", "kg/sources/clinic-page.txt"))
    check_reload(root, reloader)
    assert reloader.last_report is not None
    assert reloader.last_report.conforms


def test_break_then_fix(project: Path) -> None:
    """An edit that breaks validation is refused with the full report; the fix is served."""
    reloader = _served(project)
    first = reloader.holder.current
    for op in [
        ("append", "kg/symptoms.ttl", 1),  # a relation to nothing, without evidence
        ("append", "kg/symptoms.ttl", 0),  # the entity: still no evidence
        ("append", "kg/pages/clinic-page.ttl", 2),  # the evidence: conforms
        ("label", "kg/symptoms.ttl", 0, "dup"),  # two "Back pain": refused
        ("restore", "kg/symptoms.ttl"),  # evidence for a relation no longer there: refused
        ("restore", "kg/pages/clinic-page.ttl"),  # back to the start
    ]:
        apply(project, op)
        check_reload(project, reloader)
    codes = set()
    apply(project, ("append", "kg/symptoms.ttl", 1))
    reloader.reload()
    assert reloader.last_report is not None
    codes = {d.code for d in reloader.last_report.diagnostics}
    assert {"KG-NO-EVIDENCE", "KG-CLASS"} <= codes
    apply(project, ("restore", "kg/symptoms.ttl"))
    check_reload(project, reloader)
    assert reloader.holder.current.version == first.version


@pytest.mark.parametrize("folder", ["ontology", "shapes"])
def test_an_ontology_or_shapes_edit_takes_the_full_path(project: Path, folder: str) -> None:
    reloader = _served(project)
    path = sorted((project / folder).glob("*.ttl"))[0]
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    outcome = reloader.reload()
    assert reloader.last_path == "full"
    assert reloader.last_report is not None
    assert reloader.last_report.conforms
    assert not outcome.swapped or outcome.version == validate_project(project).load.version
    apply(project, ("label", "kg/symptoms.ttl", 0, "edit"))  # the next kg/ edit: incremental
    check_reload(project, reloader)


def test_the_setting_turns_it_off(project: Path) -> None:
    settings = Settings(incremental_reload=False)
    outcome = validate_project(project, (), settings)
    reloader = Reloader(project, settings, StoreHolder(build_snapshot(outcome.load, settings)))
    reloader.prepare()
    apply(project, ("label", "kg/symptoms.ttl", 0, "edit"))
    assert reloader.reload().swapped
    assert reloader.last_path == "full"


def test_many_patches_layer_then_rebuild_the_search_index(project: Path) -> None:
    """Successive patches: the search index is layered over the last one built in full until
    the entities changed since pass the bound, then built again; equal to a build throughout."""
    reloader = _served(project, Settings(search_overlay_percent=5))
    seen = set()
    for i in range(24):
        apply(project, ("label", FILES[i % 4], i, "edit"))
        check_reload(project, reloader)
        served = reloader.holder.current
        assert isinstance(served, Snapshot)
        seen.add(type(served._labels))
    assert seen == {LayeredIndex, LabelIndex}


def test_subjects_by_predicate_follow_every_patch() -> None:
    """Asked once, kept after: a subject that gains the predicate is in, one that loses its
    last value is out, one that keeps another value stays."""
    from rdflib import URIRef

    ex = "http://example.org/"
    a, b, c, p, q = (URIRef(ex + n) for n in ("a", "b", "c", "p", "q"))
    one, two = URIRef(ex + "1"), URIRef(ex + "2")
    index = Index([(a, p, one), (a, p, two), (b, q, one)])
    assert index.subjects_with(p) == [a]
    index.patch([(a, p, one)], [(b, p, one), (c, q, two)])
    assert index.subjects_with(p) == [a, b]  # a keeps two
    index.patch([(a, p, two)], [])
    assert index.subjects_with(p) == [b]
    index.patch([(b, p, one)], [(a, p, one)])
    assert index.subjects_with(p) == [a]
    assert index.subjects_with(q) == [b, c]  # asked first now: a scan of what is there
