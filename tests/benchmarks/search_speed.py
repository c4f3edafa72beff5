"""In-process search timing: one GraphQL `search` (the HTTP benchmark's query), no HTTP.

    python -m tests.benchmarks.search_speed ROOT [--repeat 200] [--text pain]

Prints one JSON line: the project's size, the first query after the snapshot is built (it
computes the ranking), the p50/p90 of the same query afterwards (the ranking is kept for the
snapshot's lifetime), the p50 of the store's search alone (ranked hits, one page and the count,
no GraphQL), the p50 of the reference computation (the ranking recomputed on every
query, as search worked before rankings were kept), and the memory the kept rankings hold.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from server.schema import Context, build_schema
from server.serve.startup import start
from server.settings import Settings
from server.store.heap import settle_heap
from server.store.protocol import StoreHolder

from .queries import SEARCH, SEARCH_TEXT


def measure(root: Path, text: str, repeat: int) -> dict[str, Any]:
    settings = Settings.from_env()
    started = start(root, settings)
    snapshot = started.snapshot
    if snapshot is None:
        raise SystemExit(f"{root} does not conform: {started.report.summary()}")
    settle_heap()
    schema = build_schema(settings)
    context = Context(
        store=snapshot, settings=settings, holder=StoreHolder(snapshot), request_id="bench"
    )

    def once() -> float:
        begin = time.perf_counter()
        result = schema.execute_sync(SEARCH, {"text": text}, context_value=context)
        elapsed = (time.perf_counter() - begin) * 1000
        if result.errors:
            raise RuntimeError(result.errors)
        return elapsed

    labels = snapshot._labels  # the benchmark looks inside: the reference path is not public
    schema.execute_sync("{ dataset { version } }", context_value=context)  # warm the schema
    first = once()
    kept = [once() for _ in range(repeat)]
    reference = []
    for _ in range(max(5, repeat // 10)):
        labels.forget_rankings()
        reference.append(once())
    labels.forget_rankings()
    once()
    store = []  # the search proper: the store's ranked hits, the page and the count
    for _ in range(repeat):
        begin = time.perf_counter()
        hits = snapshot.search(text)
        _ = (hits[0:20], len(hits))
        store.append((time.perf_counter() - begin) * 1000)
    data = schema.execute_sync(SEARCH, {"text": text}, context_value=context).data or {}
    return {
        "root": str(root),
        "triples": snapshot.triple_count,
        "text": text,
        "matches": data.get("search", {}).get("totalCount"),
        "first_ms": first,
        "p50_ms": statistics.median(kept),
        "p90_ms": statistics.quantiles(kept, n=10)[-1],
        "reference_p50_ms": statistics.median(reference),
        "store_p50_ms": statistics.median(store),
        "load_average": os.getloadavg()[0],
        "ranking_bytes": labels.rankings_bytes(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--text", default=SEARCH_TEXT)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.root, args.text, args.repeat)), file=sys.stdout, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
