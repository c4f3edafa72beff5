"""What `diff A B` compares: a Turtle file, a folder, or a git revision of the project.

A revision means the project's ontology/, shapes/ and kg/ as committed there. Its files are read
with `git ls-tree` and `git cat-file` (never a checkout, so the working tree, index and branch are
left alone) into a temporary folder, and loaded from there exactly like the working tree.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from server.diagnostics import Diagnostic
from server.load.evidence_shorthand import expand_evidence
from server.load.loader import (
    FOLDERS,
    SourceFile,
    Triple,
    display_path,
    kind_of,
    load_file,
)
from server.rdf.namespaces import CANONICAL_ID_NAMESPACE
from server.settings import Settings
from server.steward.diffing import Side
from server.steward.formatting import turtle_files


class SideError(ValueError):
    """The argument names neither a file, a folder nor a git revision."""


@dataclass(frozen=True)
class LoadedSide:
    """A side of the diff, and the files on it that do not parse."""

    side: Side
    diagnostics: tuple[Diagnostic, ...]


def load_side(arg: str, root: Path, settings: Settings | None = None) -> LoadedSide:
    """An existing path wins over a revision of the same name, as with `git diff`."""
    settings = settings or Settings()
    path = Path(arg)
    if path.exists():
        if path.is_file():
            loaded = load_file(path, display_path(path, root), "kg", settings)
            if isinstance(loaded, Diagnostic):
                return LoadedSide(Side(arg, ()), (loaded,))
            return LoadedSide(_side(arg, [loaded]), ())
        return _load_folder(arg, path, settings)
    if arg.startswith("-"):
        raise SideError(f"{arg}: not a file, folder or git revision")
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{arg}^{{commit}}")
    if commit is None:
        raise SideError(
            f"{arg}: no such file or folder, and not a git revision of {root.resolve()} "
            "(try a path, a branch, a tag, or HEAD~1)"
        )
    with tempfile.TemporaryDirectory(prefix="clinic-kg-rev-") as tmp:
        _export(root, commit.decode().strip(), Path(tmp))
        return _load_folder(arg, Path(tmp), settings)


def vocabulary(root: Path, settings: Settings | None = None) -> tuple[Triple, ...]:
    """The triples of the project's ontology/ (those that parse), for telling facts apart when
    both sides of a diff are data files without it."""
    settings = settings or Settings()
    found: list[Triple] = []
    for path in turtle_files(root / "ontology") if (root / "ontology").is_dir() else []:
        loaded = load_file(path, display_path(path, root), "ontology", settings)
        if not isinstance(loaded, Diagnostic):
            found.extend(loaded.triples)
    return tuple(found)


def _load_folder(name: str, folder: Path, settings: Settings) -> LoadedSide:
    """A project's ontology/, shapes/ and kg/ (those it has), else the folder's Turtle files."""
    files: list[SourceFile] = []
    problems: list[Diagnostic] = []
    for path in turtle_files(folder):
        loaded = load_file(path, display_path(path, folder), kind_of(path, folder), settings)
        if isinstance(loaded, Diagnostic):
            problems.append(loaded)
        else:
            files.append(loaded)
    return LoadedSide(_side(name, files), tuple(problems))


def _side(name: str, files: list[SourceFile]) -> Side:
    # Compare what the graph says: evidence blocks as the assertions they stand for, so the long
    # and the compact form of the same evidence are no difference. A block that cannot be
    # expanded (validate says why) is compared as written.
    files = list(expand_evidence(files, CANONICAL_ID_NAMESPACE).files)
    triples = tuple(t for f in files for t in f.triples)
    locations: dict[str, str] = {}
    statements: dict[tuple[str, str], str] = {}
    for f in files:
        lines = f.subject_lines
        for subject, line in lines.items():
            locations.setdefault(subject, f"{f.path}:{line}")
        for s, p, _ in f.triples:
            key = (str(s), str(p))
            if key not in statements and str(s) in lines:
                statements[key] = f"{f.path}:{lines[str(s)]}"
    return Side(name, triples, locations, statements)


def _export(root: Path, commit: str, into: Path) -> None:
    """Write the revision's ontology/, shapes/ and kg/ Turtle files under `into`."""
    listing = _git(root, "ls-tree", "-r", "-z", commit, "--", *FOLDERS) or b""
    blobs: list[tuple[str, str]] = []
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.decode("utf-8", "surrogateescape").partition("\t")
        _mode, kind, oid = meta.split()
        if kind == "blob" and name.endswith(".ttl"):
            blobs.append((oid, name))
    if not blobs:
        return
    batch = _git(root, "cat-file", "--batch", stdin="".join(f"{oid}\n" for oid, _ in blobs))
    if batch is None:
        raise SideError(f"cannot read the files of revision {commit[:12]}")
    offset = 0
    for _oid, name in blobs:
        header_end = batch.index(b"\n", offset)
        size = int(batch[offset:header_end].split()[2])
        content = batch[header_end + 1 : header_end + 1 + size]
        offset = header_end + 1 + size + 1  # the content is followed by a newline
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _git(root: Path, *args: str, stdin: str | None = None) -> bytes | None:
    """A read-only git command in the project folder; None when git says no."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            input=stdin.encode() if stdin is not None else None,
            capture_output=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None
