"""One cold-start phase per process, so peak memory (ru_maxrss) belongs to that phase alone.

    python -m tests.benchmarks.phases PHASE ROOT   →  one JSON line on stdout

Phases: parse (load), validate (load + SHACL + checks), snapshot (load + build the snapshot),
cold (`server.serve.startup.start`: validate + snapshot, what a server start costs), warm (the same
again with nothing changed: from the core's start-up cache), reload (cold start, then the time to
validate and rebuild after a one-file edit, in the same warm process; "path" says whether the
Reloader took the incremental path or validated and built everything).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(phase: str, root: Path) -> dict[str, Any]:
    from server.load.loader import load
    from server.store.snapshot import build_snapshot
    from server.validate.validation import validate_project

    out: dict[str, Any] = {"phase": phase}
    if phase == "parse":
        out["seconds"], loaded = _timed(lambda: load(root))
        out["triples"] = sum(len(f.triples) for f in loaded.files)  # no rdflib graph built
    elif phase == "validate":
        out["seconds"], outcome = _timed(lambda: validate_project(root))
        out["conforms"] = outcome.conforms
        out["diagnostics"] = len(outcome.report.diagnostics)
    elif phase == "snapshot":
        out["load_seconds"], loaded = _timed(lambda: load(root))
        out["seconds"], snap = _timed(lambda: build_snapshot(loaded))
        out["entities"] = len(snap.entities())
    elif phase in ("cold", "warm"):
        # What `clinic-kg serve` does before it listens: validate + build, or reuse both from the
        # start-up cache when nothing changed (cold runs after the cache folder was removed).
        from server.serve.startup import start
        from server.settings import Settings

        out["seconds"], started = _timed(lambda: start(root, Settings()))
        out["conforms"] = started.snapshot is not None
        out["from_cache"] = started.from_cache
    elif phase == "reload":
        out.update(_reload(root))
    else:
        raise SystemExit(f"unknown phase {phase!r}")
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _reload(root: Path) -> dict[str, Any]:
    """Serve-like start, one-file edit, then the reload `clinic-kg serve --watch` would do."""
    from server.settings import Settings
    from server.store.protocol import StoreHolder
    from server.store.snapshot import build_snapshot
    from server.validate.validation import validate_project
    from tests.benchmarks.generate import edit_one_file

    out: dict[str, Any] = {}
    settings = Settings()
    try:  # the watcher's Reloader, with the parse cache `serve` shares with it
        from server.load.loader import LoadCache
        from server.serve.watch import Reloader

        cache = LoadCache()
        outcome = validate_project(root, (), settings, cache=cache)
        holder = StoreHolder(build_snapshot(outcome.load, settings))
        del outcome  # as serve's start-up: the snapshot and its load result stay, not the index
        reloader = Reloader(root, settings, holder, cache=cache)
        if hasattr(holder, "history"):  # as serve --watch does at start, for the change feed
            holder.history.materialize()
        if hasattr(reloader, "prepare"):  # and the baseline of incremental reloads
            reloader.prepare()
        try:  # serve freezes the heap it starts with before serving: so does this
            from server.store.heap import settle_heap

            settle_heap()
        except ImportError:
            pass

        def again() -> bool:
            done = reloader.reload()
            return done.swapped

        out["via"] = "server.serve.watch.Reloader"
    except ImportError:  # older core: a reload is a full validate + build
        build_snapshot(validate_project(root).load)

        def again() -> bool:
            outcome = validate_project(root)
            build_snapshot(outcome.load)
            return outcome.conforms

        out["via"] = "validate_project + build_snapshot"
    edited = edit_one_file(root)
    original = edited.read_text(encoding="utf-8").replace(" (edited)", "", 1)
    try:
        out["seconds"], out["ok"] = _timed(again)
        out["edited"] = str(edited.relative_to(root))
        if out["via"].startswith("server.serve.watch"):  # which path the reload took
            out["path"] = getattr(reloader, "last_path", "full") or "full"
    finally:
        edited.write_text(original, encoding="utf-8")
    return out


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], Path(sys.argv[2]))))
