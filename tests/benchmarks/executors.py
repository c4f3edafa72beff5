"""In-process CPU per request of the compiled executor against the reference (strawberry's
`execute_sync`), on the condition page over rotating ids and on `facts(ids)` pulls of 50 ids.

    python -m tests.benchmarks.executors ROOT [--rounds 7] [--requests 40]  →  one JSON line

No HTTP, no network: each request runs the executor and serializes `data` to JSON bytes, which is
what the GraphQL endpoint does below the web server. Both executors take the same requests in the
same round, in alternating order; `time.process_time` per request, median over the rounds. Every
compiled answer is compared with the reference's bytes first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .queries import CONDITION_PAGE, FACTS, FACTS_PER_PULL, ids_in

Request = tuple[str, dict[str, Any]]


def requests(root: Path, count: int) -> dict[str, list[Request]]:
    conditions, facts = ids_in(root)
    pulls = [facts[i : i + FACTS_PER_PULL] for i in range(0, len(facts), FACTS_PER_PULL)]
    return {
        "condition": [(CONDITION_PAGE, {"id": c}) for c in (conditions * count)[:count]],
        "facts": [(FACTS, {"ids": p}) for p in (pulls * count)[:count]],
    }


def measure(root: Path, rounds: int, count: int) -> dict[str, Any]:
    from server.load.loader import load
    from server.schema import Context, build_schema
    from server.schema.compiled import CompiledExecutor
    from server.settings import Settings
    from server.store.protocol import StoreHolder
    from server.store.snapshot import build_snapshot

    settings = Settings()
    snapshot = build_snapshot(load(root), settings)
    schema = build_schema(settings)
    compiled = CompiledExecutor(schema, settings)
    context = Context(
        store=snapshot, settings=settings, holder=StoreHolder(snapshot), request_id="bench"
    )

    def reference(query: str, variables: dict[str, Any]) -> bytes:
        result = schema.execute_sync(query, variables, context_value=context)
        if result.errors:
            raise RuntimeError(f"reference answered with errors: {result.errors}")
        return json.dumps(
            result.data, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode()

    def plan(query: str, variables: dict[str, Any]) -> bytes:
        answer = compiled.execute(query, variables, None, context)
        if answer is None:
            raise RuntimeError("the compiled executor fell back on a benchmark query")
        return answer

    out: dict[str, Any] = {"rounds": rounds, "requests": count}
    for name, batch in requests(root, count).items():
        for query, variables in batch:
            if plan(query, variables) != reference(query, variables):
                raise RuntimeError(f"{name}: compiled and reference answers differ")
        runs: dict[str, list[float]] = {"reference": [], "compiled": []}
        executors: list[tuple[str, Callable[[str, dict[str, Any]], bytes]]] = [
            ("reference", reference),
            ("compiled", plan),
        ]
        for r in range(rounds):
            for label, run in executors[:: -1 if r % 2 else 1]:
                start = time.process_time()
                for query, variables in batch:
                    run(query, variables)
                runs[label].append((time.process_time() - start) / len(batch) * 1000)
        out[name] = {
            "reference_ms": statistics.median(runs["reference"]),
            "compiled_ms": statistics.median(runs["compiled"]),
            "reference_min_ms": min(runs["reference"]),
            "compiled_min_ms": min(runs["compiled"]),
            "bytes": len(plan(*batch[0])),
        }
    out["load_avg"] = _load_avg()
    return out


def _load_avg() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


QUESTIONS = {"condition": "condition page, rotating ids", "facts": "facts(ids), 50 ids"}


def section(results: dict[str, Any]) -> list[str]:
    """The RESULTS.md section: one row per size and question, both executors side by side."""
    rows = []
    for size, entry in results.get("sizes", {}).items():
        found = entry.get("executors")
        if not found or "error" in found:
            continue
        for key, question in QUESTIONS.items():
            m = found[key]
            rows.append(
                f"| {size} | {question} | {m['reference_ms']:.2f} | {m['compiled_ms']:.2f} | "
                f"{m['compiled_ms'] / m['reference_ms']:.2f} | "
                f"{m['reference_min_ms']:.2f} / {m['compiled_min_ms']:.2f} | "
                f"{found.get('load_avg', float('nan')):.1f} |"
            )
    if not rows:
        return []
    return [
        "## GraphQL execution in process: compiled vs reference",
        "",
        "CPU ms per request (`time.process_time`, median of the rounds; both executors in the same "
        "run, alternating), executing and serializing `data` to JSON bytes, without HTTP: "
        "`python -m tests.benchmarks.executors ROOT`. The compiled executor "
        "(`server/schema/compiled.py`) answers with the reference's bytes, checked on every "
        "request before timing.",
        "",
        "| size | question | reference ms | compiled ms | compiled / reference | min ms "
        "(ref / compiled) | load avg |",
        "|---|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.executors")
    parser.add_argument("root", type=Path)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=40, help="requests per round and question")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.root, args.rounds, args.requests)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
