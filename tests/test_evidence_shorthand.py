"""The compact evidence block: loading expands it into exactly the long form, fmt keeps it as
written, diff sees no difference between the two forms, and a block that cannot be expanded is
refused with a code at the line of the statement holding it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import URIRef
from rdflib.compare import isomorphic

from server.diagnostics import Diagnostic
from server.load.evidence_shorthand import EVIDENCE
from server.load.loader import load
from server.settings import Settings
from server.steward.diffing import diff_sides
from server.steward.formatting import format_file
from server.steward.revisions import load_side
from server.validate.validation import validate_project

from .test_cli_validate import run

PAGE = Path("kg/pages/clinic-page.ttl")
PREFIXES = """@prefix ckg: <https://clinic-kg.example/ontology#> .
@prefix kg: <https://clinic-kg.example/id/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix role: <https://clinic-kg.example/ontology/cause-role/> .
"""
SYMPTOM_QUOTE = "Dull/aching pain in back and/or legs"
CAUSE_QUOTE = (
    "other potential causes of pain after surgery include infection, technical errors during "
    "surgery, spinal stenosis, and smoking."
)
# Two of the seed's assertions, in long form under the names the block gives them...
LONG = f"""
kg:failed-back-surgery-syndrome-has-symptom-dull-aching-pain-clinic-page a ckg:Assertion ;
    rdf:subject kg:failed-back-surgery-syndrome ;
    rdf:predicate ckg:hasSymptom ;
    rdf:object kg:dull-aching-pain ;
    ckg:quote "{SYMPTOM_QUOTE}" ;
    prov:wasDerivedFrom kg:clinic-page .

kg:failed-back-surgery-syndrome-has-cause-smoking-clinic-page a ckg:Assertion ;
    rdf:subject kg:failed-back-surgery-syndrome ;
    rdf:predicate ckg:hasCause ;
    rdf:object kg:smoking ;
    ckg:quote "{CAUSE_QUOTE}" ;
    ckg:causeRole role:other ;
    prov:wasDerivedFrom kg:clinic-page .
"""
# ... and compact, on the condition, whose relations are stated in another file.
SHORT = f"""
kg:failed-back-surgery-syndrome
    ckg:evidence [ ckg:for kg:dull-aching-pain ; ckg:quote "{SYMPTOM_QUOTE}" ;
                   prov:wasDerivedFrom kg:clinic-page ] ,
                 [ ckg:for kg:smoking ; ckg:causeRole role:other ;
                   ckg:quote "{CAUSE_QUOTE}" ; prov:wasDerivedFrom kg:clinic-page ] .
"""
SEED_NAMES = ("kg:fbss-symptom-dull-aching-pain ", "kg:fbss-cause-smoking ")


def write_page(project: Path, evidence: str) -> None:
    """The seed page with two of its assertions replaced by `evidence`."""
    page = project / PAGE
    blocks = page.read_text(encoding="utf-8").split("\n\n")
    kept = [b for b in blocks if not b.startswith(SEED_NAMES)]
    assert len(kept) == len(blocks) - 2
    page.write_text(PREFIXES + "\n\n".join(kept) + "\n" + evidence, encoding="utf-8")


def copy_of(project: Path, tmp_path: Path, name: str) -> Path:
    other = tmp_path / name
    for folder in ("ontology", "shapes", "kg"):
        shutil.copytree(project / folder, other / folder)
    return other


def errors(project: Path, text: str, name: str = "bad.ttl") -> list[Diagnostic]:
    (project / "kg" / "pages" / name).write_text(PREFIXES + text, encoding="utf-8")
    loaded = load(project)
    return [d for d in loaded.findings if d.code.startswith("KG-EVIDENCE")]


# ---------------------------------------------------------------------- expansion


def test_the_block_loads_as_exactly_the_long_form(project: Path, tmp_path: Path) -> None:
    long = copy_of(project, tmp_path, "long")
    write_page(long, LONG)
    write_page(project, SHORT)
    compact = load(project)
    assert compact.ok, [d.render() for d in compact.diagnostics]
    assert isomorphic(compact.data, load(long).data)
    assert (None, EVIDENCE, None) not in compact.data


def test_expanded_evidence_validates_like_the_long_form(project: Path) -> None:
    write_page(project, SHORT)
    outcome = validate_project(project)
    assert outcome.conforms, [d.render() for d in outcome.report.diagnostics]
    assert not outcome.report.diagnostics


def test_findings_about_an_expanded_assertion_point_at_its_block(project: Path) -> None:
    write_page(project, SHORT.replace(SYMPTOM_QUOTE, "Dull pain, nowhere on the page"))
    [finding] = validate_project(project).report.diagnostics
    lines = (project / PAGE).read_text(encoding="utf-8").splitlines()
    holder = lines.index("kg:failed-back-surgery-syndrome") + 1
    # The block's own line (its ckg:for), one below the subject that holds it.
    assert (finding.path, finding.line, finding.code) == (
        PAGE.as_posix(),
        holder + 1,
        "KG-QUOTE-NOT-VERBATIM",
    )
    assert finding.subject == (
        "kg:failed-back-surgery-syndrome-has-symptom-dull-aching-pain-clinic-page"
    )


def test_generated_names_follow_the_configured_base(project: Path) -> None:
    write_page(project, SHORT)
    loaded = load(project, settings=Settings(base_iri="https://clinic.example.org/"))
    assert loaded.ok
    base = "https://clinic.example.org/id/"
    name = URIRef(f"{base}failed-back-surgery-syndrome-has-cause-smoking-clinic-page")
    subject = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#subject")
    assert (name, subject, URIRef(f"{base}failed-back-surgery-syndrome")) in loaded.data


def test_rdf_predicate_says_which_of_two_relations(project: Path) -> None:
    # The condition links to smoking as a cause; a (fictional) second link makes two.
    text = f"""
kg:failed-back-surgery-syndrome ckg:hasRiskFactor kg:smoking ;
    ckg:evidence [ ckg:for kg:smoking ; rdf:predicate ckg:hasRiskFactor ;
                   ckg:quote "{CAUSE_QUOTE}" ; prov:wasDerivedFrom kg:clinic-page ] .
"""
    assert errors(project, text) == []
    loaded = load(project)
    name = URIRef(
        "https://clinic-kg.example/id/failed-back-surgery-syndrome-has-risk-factor-smoking-clinic-page"
    )
    assert (name, None, None) in loaded.data


# ---------------------------------------------------------------------- refusals


def test_an_object_the_subject_does_not_link_to(project: Path) -> None:
    text = f"""
kg:failed-back-surgery-syndrome ckg:evidence [ ckg:for kg:dull-aching-pain ;
    ckg:quote "{SYMPTOM_QUOTE}" ; prov:wasDerivedFrom kg:clinic-page ] .

kg:failed-back-surgery-syndrome
    ckg:evidence [ ckg:for kg:infectio ; ckg:quote "x" ; prov:wasDerivedFrom kg:clinic-page ] .
"""
    [d] = errors(project, text)
    # The second statement about the subject holds the block, on its second line: 6 + 5.
    assert (d.path, d.line, d.code) == ("kg/pages/bad.ttl", 11, "KG-EVIDENCE-TARGET")
    assert d.subject == "kg:failed-back-surgery-syndrome"
    assert "has no relation that needs evidence to kg:infectio" in d.message
    assert "did you mean ckg:for kg:infection?" in d.hint


def test_two_relations_and_no_rdf_predicate(project: Path) -> None:
    text = f"""
kg:failed-back-surgery-syndrome ckg:hasRiskFactor kg:smoking ;
    ckg:evidence [ ckg:for kg:smoking ; ckg:quote "{CAUSE_QUOTE}" ;
                   prov:wasDerivedFrom kg:clinic-page ] .
"""
    [d] = errors(project, text)
    assert (d.path, d.line, d.code) == ("kg/pages/bad.ttl", 8, "KG-EVIDENCE-TARGET")
    assert "through ckg:hasCause and ckg:hasRiskFactor" in d.message
    assert "rdf:predicate ckg:hasCause" in d.hint


@pytest.mark.parametrize(
    ("block", "code", "wording"),
    [
        (
            '[ ckg:quote "x" ; prov:wasDerivedFrom kg:clinic-page ]',
            "KG-EVIDENCE-TARGET",
            "has no ckg:for",
        ),
        ("[ ckg:for kg:smoking, kg:infection ]", "KG-EVIDENCE-TARGET", "2 ckg:for values"),
        ('[ ckg:for "smoking" ]', "KG-EVIDENCE-TARGET", "must name an entity"),
        (
            "[ ckg:for kg:smoking ; rdf:predicate ckg:typicalTest ]",
            "KG-EVIDENCE-TARGET",
            "has no ckg:typicalTest link to kg:smoking (its links to it: ckg:hasCause)",
        ),
        ("kg:fbss-cause-smoking", "KG-EVIDENCE-BLOCK", "takes a block"),
    ],
)
def test_malformed_blocks(project: Path, block: str, code: str, wording: str) -> None:
    [d] = errors(project, f"\nkg:failed-back-surgery-syndrome ckg:evidence {block} .\n")
    assert (d.path, d.line, d.code) == ("kg/pages/bad.ttl", 7, code)
    assert wording in d.message


def test_a_name_already_used(project: Path) -> None:
    long = LONG.split("\n\n")[0]  # the long form of the symptom's evidence, under the block's name
    block = SHORT.split(",")[0] + " ."
    [d] = errors(project, long + "\n" + block)
    assert (d.code, d.line) == ("KG-EVIDENCE-ID", 15)
    assert "kg:failed-back-surgery-syndrome-has-symptom-dull-aching-pain-clinic-page" in d.message
    assert "already describes" in d.message


def test_two_blocks_for_the_same_relation(project: Path) -> None:
    block = SHORT.split(",")[0] + " .\n"
    assert errors(project, block, name="a.ttl") == []
    (project / "kg" / "pages" / "b.ttl").write_text(PREFIXES + block, encoding="utf-8")
    [d] = [d for d in load(project).findings if d.code.startswith("KG-EVIDENCE")]
    assert (d.path, d.line, d.code) == ("kg/pages/b.ttl", 8, "KG-EVIDENCE-ID")
    assert "the first is in kg/pages/a.ttl" in d.message


def test_validate_reports_a_refused_block_and_exits_1(project: Path) -> None:
    (project / "kg" / "pages" / "bad.ttl").write_text(
        PREFIXES + "\nkg:failed-back-surgery-syndrome ckg:evidence [ ckg:for kg:infectio ] .\n",
        encoding="utf-8",
    )
    done = run("validate", cwd=project)
    assert done.returncode == 1
    assert (
        "kg/pages/bad.ttl:7: error KG-EVIDENCE-TARGET kg:failed-back-surgery-syndrome "
        "ckg:evidence — kg:failed-back-surgery-syndrome has no relation that needs evidence to "
        "kg:infectio (value: kg:infectio)"
    ) in done.stdout


def test_a_refused_block_hides_no_other_error(project: Path) -> None:
    # Regression: one bad block used to stop validation, so a typo elsewhere went unreported,
    # and validating only the file with the typo said "conforms".
    (project / "kg" / "pages" / "bad.ttl").write_text(
        PREFIXES + "\nkg:failed-back-surgery-syndrome ckg:evidence [ ckg:for kg:infectio ] .\n",
        encoding="utf-8",
    )
    symptoms = project / "kg" / "symptoms.ttl"
    text = symptoms.read_text(encoding="utf-8")
    symptoms.write_text(text.replace("skos:prefLabel", "skos:prefLabl", 1), encoding="utf-8")
    done = run("validate", cwd=project)
    assert done.returncode == 1
    assert "KG-EVIDENCE-TARGET" in done.stdout
    assert "kg/symptoms.ttl" in done.stdout
    assert "did you mean skos:prefLabel?" in done.stdout
    only = run("validate", "kg/symptoms.ttl", cwd=project)
    assert only.returncode == 1
    assert "did you mean skos:prefLabel?" in only.stdout
    assert "KG-EVIDENCE-TARGET" not in only.stdout  # bad.ttl was not asked about


def test_a_file_that_does_not_parse_is_shown_whatever_was_asked(project: Path) -> None:
    (project / "kg" / "broken.ttl").write_text(PREFIXES + "kg:x a ckg:Cause\n", encoding="utf-8")
    done = run("validate", "kg/symptoms.ttl", cwd=project)
    assert done.returncode == 1
    assert "kg/broken.ttl" in done.stdout
    assert "KG-PARSE" in done.stdout
    assert "does not conform" in done.stdout


# ---------------------------------------------------------------------- fmt and diff


def test_fmt_keeps_the_shorthand(project: Path) -> None:
    write_page(project, SHORT)
    result = format_file(project / PAGE, project)
    assert result.formatted is not None, [d.render() for d in result.diagnostics]
    assert "ckg:evidence [" in result.formatted
    # Each block names its object first: `[ ckg:for … ; ckg:quote … ; … ]`.
    assert (
        "ckg:evidence [\n        ckg:for kg:dull-aching-pain ;\n        ckg:quote"
        in result.formatted
    )
    assert "[\n        ckg:for kg:smoking ;" in result.formatted
    assert "-has-cause-smoking-clinic-page" not in result.formatted
    (project / PAGE).write_text(result.formatted, encoding="utf-8")
    assert not format_file(project / PAGE, project).changed  # canonical from then on
    assert validate_project(project).conforms


def test_diff_of_the_long_and_the_short_form_is_empty(project: Path, tmp_path: Path) -> None:
    long = copy_of(project, tmp_path, "long")
    write_page(long, LONG)
    write_page(project, SHORT)
    old, new = load_side(str(long), long), load_side(str(project), project)
    assert not old.diagnostics
    assert not new.diagnostics
    assert diff_sides(old.side, new.side).empty
    # A change inside a block shows as a change of the assertion it stands for.
    page = project / PAGE
    text = page.read_text(encoding="utf-8")
    edited = text.replace(
        "kg:smoking ; ckg:causeRole role:other", "kg:smoking ; ckg:causeRole role:main"
    )
    assert edited != text
    page.write_text(edited, encoding="utf-8")
    [changed] = diff_sides(old.side, load_side(str(project), project).side).subjects
    assert changed.name == "kg:failed-back-surgery-syndrome-has-cause-smoking-clinic-page"
    assert changed.location.startswith(f"{PAGE.as_posix()}:")


@pytest.mark.parametrize(
    ("target", "relation"),
    [("kg:back-pain", "ckg:hasSymptom"), ("kg:stretching", "ckg:possibleTreatment")],
)
def test_the_hint_proposes_a_relation_that_fits(project: Path, target: str, relation: str) -> None:
    # Regression: the hint always suggested ckg:hasSymptom, whatever the object was.
    [d] = errors(
        project, f"\nkg:failed-back-surgery-syndrome ckg:evidence [ ckg:for {target} ] .\n"
    )
    assert d.code == "KG-EVIDENCE-TARGET"
    assert f"`kg:failed-back-surgery-syndrome {relation} {target}`" in d.hint
