"""`clinic-kg fmt` and `clinic-kg diff` as a steward runs them: real processes on copies."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from .conftest import REPO
from .kg_files import described_in

# Wherever kg/ keeps the statistic these tests edit.
STAT_PATH, STAT_LINE = described_in(REPO, "back-pain-lifetime-prevalence")
STAT_FILE = str(STAT_PATH)
PREFIXES = (
    "@prefix ckg: <https://clinic-kg.example/ontology#> .\n"
    "@prefix kg: <https://clinic-kg.example/id/> .\n"
)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args], cwd=cwd, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.ttl"))}


def set_value(project: Path, new: str) -> None:
    path = project / STAT_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('ckg:value "85"', f'ckg:value "{new}"'), encoding="utf-8")


def stat_line(project: Path) -> int:
    lines = (project / STAT_FILE).read_text(encoding="utf-8").splitlines()
    return lines.index("kg:back-pain-lifetime-prevalence a ckg:Proportion ;") + 1


# ---------------------------------------------------------------------- fmt


def test_fmt_then_check_is_clean_and_keeps_the_graph(project: Path, tmp_path: Path) -> None:
    before = snapshot(project)
    checked = run("fmt", "--check", cwd=project)
    assert checked.returncode in (0, 1), checked.stdout + checked.stderr
    assert "internal error" not in checked.stdout + checked.stderr
    assert snapshot(project) == before  # --check writes nothing
    frozen = tmp_path / "frozen"
    for rel, data in before.items():
        (frozen / rel).parent.mkdir(parents=True, exist_ok=True)
        (frozen / rel).write_bytes(data)

    done = run("fmt", cwd=project)
    assert done.returncode == 0, done.stdout
    again = run("fmt", "--check", cwd=project)
    assert again.returncode == 0, again.stdout
    assert "0 would be reformatted" in again.stdout
    same = run("diff", str(frozen), str(project), cwd=project)
    assert same.returncode == 0
    assert "no differences" in same.stdout


def test_fmt_check_prints_a_diff_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "x.ttl"
    path.write_text(PREFIXES + "kg:a ckg:p kg:c, kg:b .\n", encoding="utf-8")
    done = run("fmt", "--check", "x.ttl", cwd=tmp_path)
    assert done.returncode == 1
    assert "--- a/x.ttl\n+++ b/x.ttl\n" in done.stdout
    assert "+kg:a ckg:p kg:b, kg:c .\n" in done.stdout
    assert "x.ttl:3: error KG-FMT — not in canonical form" in done.stdout
    assert "hint: run `clinic-kg fmt x.ttl`" in done.stdout
    assert path.read_text() == PREFIXES + "kg:a ckg:p kg:c, kg:b .\n"
    fixed = run("fmt", "x.ttl", cwd=tmp_path)
    assert (fixed.returncode, fixed.stdout.splitlines()[0]) == (0, "reformatted x.ttl")
    assert run("fmt", "--check", "x.ttl", cwd=tmp_path).returncode == 0


def test_fmt_refuses_a_comment_it_cannot_keep_and_writes_nothing(tmp_path: Path) -> None:
    text = PREFIXES + "kg:a ckg:p kg:c,   kg:b . # checked with Dr. B\n"
    (tmp_path / "x.ttl").write_text(text, encoding="utf-8")
    done = run("fmt", "x.ttl", cwd=tmp_path)
    assert done.returncode == 1
    assert "x.ttl:3: error KG-FMT-COMMENT — a comment at the end of a line" in done.stdout
    assert 'kg:a skos:editorialNote "checked with Dr. B"@en' not in done.stdout  # not inside
    assert 'skos:editorialNote "checked with Dr. B"@en' in done.stdout
    assert "1 could not be formatted" in done.stdout
    assert (tmp_path / "x.ttl").read_text() == text


def test_fmt_reports_a_file_that_does_not_parse(tmp_path: Path) -> None:
    (tmp_path / "bad.ttl").write_text(PREFIXES + "kg:a ckg:p kg:b\n", encoding="utf-8")
    (tmp_path / "good.ttl").write_text(PREFIXES + "kg:a  ckg:p kg:b .\n", encoding="utf-8")
    done = run("fmt", ".", cwd=tmp_path)
    assert done.returncode == 1
    assert re.search(r"^bad\.ttl:\d+: error KG-PARSE", done.stdout, re.MULTILINE)
    assert "reformatted good.ttl" in done.stdout
    assert (tmp_path / "bad.ttl").read_text() == PREFIXES + "kg:a ckg:p kg:b\n"


def test_fmt_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("fmt", "missing.ttl", cwd=tmp_path).returncode == 2
    outside = run("fmt", cwd=tmp_path)
    assert outside.returncode == 2
    assert "not a clinic-kg project" in outside.stderr


# ---------------------------------------------------------------------- diff


def test_diff_text_markdown_and_json(project: Path, tmp_path: Path) -> None:
    before = tmp_path / "before"
    before.mkdir()
    for name in ("ontology", "shapes", "kg"):
        subprocess.run(["cp", "-r", str(project / name), str(before / name)], check=True)
    set_value(project, "86")

    text = run("diff", str(before), ".", cwd=project)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[2:] == [
        "Facts changed (quoted on published pages)",
        '  kg:back-pain-lifetime-prevalence "Lifetime prevalence of back pain in adults" '
        f"({STAT_FILE}:{STAT_LINE})",
        '    ckg:value: "85"^^xsd:decimal → "86"^^xsd:decimal',
    ]
    markdown = run("diff", str(before), ".", "--format", "markdown", cwd=project).stdout
    assert "#### Facts changed (1)" in markdown
    assert '- `ckg:value`: `"85"^^xsd:decimal` → `"86"^^xsd:decimal`' in markdown
    data = json.loads(run("diff", str(before), ".", "--format", "json", cwd=project).stdout)
    assert data["counts"]["facts_changed"] == 1
    assert data["subjects"][0]["changes"] == [
        {"predicate": "ckg:value", "removed": ['"85"^^xsd:decimal'], "added": ['"86"^^xsd:decimal']}
    ]
    same = run("diff", str(before), str(before), cwd=project)
    assert (same.returncode, same.stdout.strip().endswith("no differences")) == (0, True)


def test_diff_between_git_revisions(project: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(project), "-c", "user.name=t",
                        "-c", "user.email=t@example.org", *args], check=True,
                       capture_output=True)  # fmt: skip

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "first")
    set_value(project, "86")
    git("commit", "-q", "-am", "second")
    done = run("diff", "HEAD~1", "HEAD", "--root", str(project), cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert '    ckg:value: "85"^^xsd:decimal → "86"^^xsd:decimal' in done.stdout
    against_work_tree = run("diff", "HEAD", cwd=project).stdout
    assert against_work_tree.startswith("clinic-kg diff HEAD → working tree: no differences")


def test_diff_usage_and_unreadable_sides(tmp_path: Path) -> None:
    missing = run("diff", "nope", "also-nope", cwd=tmp_path)
    assert missing.returncode == 2
    assert "nope: no such file or folder, and not a git revision" in missing.stderr
    (tmp_path / "bad.ttl").write_text(PREFIXES + "kg:a ckg:p\n", encoding="utf-8")
    (tmp_path / "good.ttl").write_text(PREFIXES + "kg:a ckg:p kg:b .\n", encoding="utf-8")
    broken = run("diff", "good.ttl", "bad.ttl", cwd=tmp_path)
    assert broken.returncode == 1
    assert "bad.ttl:3: error KG-PARSE" in broken.stderr  # where the unfinished statement starts


# ---------------------------------------------------------------------- pre-commit


def test_pre_commit_runs_fmt_check_and_validate_on_graph_files() -> None:
    config = (REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    entries = re.findall(r"^\s+entry: (.+)$", config, re.MULTILINE)
    assert entries == [".venv/bin/clinic-kg fmt --check", ".venv/bin/clinic-kg validate"]
    [pattern] = set(re.findall(r"^\s+files: (.+)$", config, re.MULTILINE))
    assert re.search(pattern, STAT_FILE)
    assert not re.search(pattern, "server/cli.py")
    assert config.count("pass_filenames: false") == 2
    assert config.count("language: system") == 2


def test_fmt_of_a_project_folder_skips_hidden_folders(project: Path) -> None:
    hidden = project / ".venv" / "lib"
    hidden.mkdir(parents=True)
    (hidden / "vendored.ttl").write_text("not turtle at all\n", encoding="utf-8")
    done = run("fmt", "--check", ".", cwd=project)
    assert "vendored" not in done.stdout
    assert "internal error" not in done.stdout


def test_two_data_files_still_single_out_facts(tmp_path: Path) -> None:
    # Regression: files without the ontology beside them lost the fact classes, so a changed
    # statistic was listed as a plain subject. The project's ontology (--root) tells them apart.
    page = (REPO / "kg" / "pages" / "clinic-page.ttl").read_text(encoding="utf-8")
    old, new = tmp_path / "a.ttl", tmp_path / "b.ttl"
    old.write_text(page, encoding="utf-8")
    changed = page.replace('ckg:value "85"^^xsd:decimal ;', 'ckg:value "86"^^xsd:decimal ;', 1)
    assert changed != page
    new.write_text(changed, encoding="utf-8")
    done = run("diff", "--root", str(REPO), "--format", "json", str(old), str(new), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [subject] = json.loads(done.stdout)["subjects"]
    assert (subject["subject"], subject["fact"]) == (
        "https://clinic-kg.example/id/back-pain-lifetime-prevalence",
        True,
    )
