"""Start a project: validate and build its snapshot, or reuse both when nothing changed.

Validation and the snapshot build are linear in the triples (about 25 s at a million); a server
restarted on unchanged files does not need either again. The result of a conforming run is kept
in `<root>/.clinic-kg-cache/`, keyed by a hash of every file under ontology/, shapes/ and kg/
(the local copies of sources included), the settings that shape the result, and this package's
own code. Any changed byte gives another key, so nothing stale is ever read and nothing needs
invalidating. Only conforming runs are kept: an invalid project is always validated again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.diagnostics import Report
from server.load.loader import FOLDERS, LoadCache, LoadResult, load
from server.settings import Settings
from server.store.dataset_graphs import DatasetGraphs
from server.store.snapshot import Snapshot, build_snapshot
from server.store.sparql_dataset import SparqlDataset, SparqlHolder
from server.validate.validation import Outcome, validate_project

log = logging.getLogger("clinic_kg.startup")

CACHE_DIR = ".clinic-kg-cache"
# Bump when the pickled layout changes in a way the code hash would not catch.
CACHE_FORMAT = 2
# Versions kept: the newest few, so switching branches back and forth stays fast.
KEEP = 4
# Settings that change what validation reports or what the snapshot holds.
_KEYED_SETTINGS = (
    "base_iri",
    "max_file_bytes",
    "max_literal_bytes",
    "max_nesting_depth",
)


@dataclass(frozen=True)
class Started:
    """The report, and the snapshot to serve when the project conforms (else None)."""

    report: Report
    snapshot: Snapshot | None
    from_cache: bool
    load: LoadResult | None = None  # None when restored from the cache
    # The validation itself, kept only when asked (`keep_validation`): `serve --watch` makes the
    # baseline of its incremental reloads from it instead of validating again.
    validated: Outcome | None = None


def start(
    root: Path, settings: Settings, cache: LoadCache | None = None, keep_validation: bool = False
) -> Started:
    """Validate and snapshot the project, from the start-up cache when nothing changed; with
    `keep_validation`, a start that validated keeps the outcome (and its triple index)."""
    key = cache_key(root, settings) if settings.startup_cache else None
    if key is not None:
        restored = _read(root, key, settings)
        if restored is not None:
            return restored
    outcome = validate_project(root, (), settings, cache=cache)
    if not outcome.conforms:
        return Started(outcome.report, None, False, outcome.load)
    snapshot = build_snapshot(outcome.load, settings, outcome.index)
    if key is not None:
        _write(root, key, outcome.report, snapshot)
    return Started(
        outcome.report, snapshot, False, outcome.load, outcome if keep_validation else None
    )


def cache_key(root: Path, settings: Settings) -> str:
    """A hash of everything a validation result and snapshot depend on."""
    digest = hashlib.sha256(f"clinic-kg-startup\0{CACHE_FORMAT}\0{sys.version}\0".encode())
    for name in _KEYED_SETTINGS:
        digest.update(f"{name}={getattr(settings, name)!r}\0".encode())
    code = Path(__file__).resolve().parent.parent  # the whole server package
    for path in sorted(code.rglob("*.py")):
        digest.update(path.relative_to(code).as_posix().encode() + b"\0" + path.read_bytes())
    root = root.resolve()
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.is_file() and "/." not in "/" + relative:
                digest.update(
                    relative.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest()
                )
    return digest.hexdigest()[:32]


def _path(root: Path, key: str) -> Path:
    return root / CACHE_DIR / f"{key}.pickle"


def _read(root: Path, key: str, settings: Settings) -> Started | None:
    path = _path(root, key)
    try:
        with path.open("rb") as f:
            state: dict[str, Any] = pickle.load(f)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged or foreign cache file: ignore it, validate again
        log.warning("ignoring unreadable start-up cache %s: %s", path, exc)
        return None
    version = state["version"]
    graphs = DatasetGraphs(version=version, reload=lambda: load(root, (), settings))
    snapshot = Snapshot(**state["snapshot"], loaded_at=datetime.now(UTC), graphs=graphs)
    return Started(state["report"], snapshot, True)


def _write(root: Path, key: str, report: Report, snapshot: Snapshot) -> None:
    path = _path(root, key)
    state = {
        "version": snapshot.version,
        "report": report,
        "snapshot": snapshot.state(),
    }
    try:
        path.parent.mkdir(exist_ok=True)
        (path.parent / ".gitignore").write_text("*\n")
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        with os.fdopen(handle, "wb") as f:
            pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, path)
        kept = sorted(path.parent.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError as exc:  # a read-only checkout still serves; it just starts slower next time
        log.warning("could not write the start-up cache %s: %s", path, exc)


def open_store(settings: Settings, root: Path) -> SparqlHolder:
    """`serve --store`: the holder of the version current in the SPARQL store at
    `settings.store_url` (read once here; raises StoreUnavailable when there is none). The store
    holds validated data only (`clinic-kg publish` refuses the rest), so nothing is validated; the
    project folder, when there is one, gives the pages' text copies."""
    texts = root if (root / "kg").is_dir() else None
    dataset = SparqlDataset(settings.store_url, settings, texts_root=texts)
    dataset.refresh()
    return SparqlHolder(dataset)
