"""`serve --workers 2` against `--workers 1`: wrk on the uncached condition page, rotating ids.

    python -m tests.benchmarks.workers_load ROOT [--seconds 10] [--rounds 2]

Both servers are the real `clinic-kg serve` (response cache off, so every request executes
GraphQL), unpinned: the point is to use every core. wrk runs pinned to CPU 0 as in the main HTTP
benchmark, so on a 2-core machine it competes with the second worker: the ratio is a floor. Prints
one JSON line; `make bench` stores it as the size's "workers" part.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import httpload
from .queries import CONDITION_PAGE, graphql_body, ids_in

COUNTS = (1, 2)


def serve_cmd(root: Path, port: int, workers: int) -> list[str]:
    return [
        sys.executable, "-c", "from server.cli import main; main()", "serve", "--root", str(root),
        "--host", httpload.HOST, "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip


def measure(root: Path, seconds: int, rounds: int, timeout: float) -> dict[str, Any]:
    conditions, _ = ids_in(root)
    work = root / ".bench"
    script = httpload.lua_script(
        work / "workers_condition.lua",
        [graphql_body(CONDITION_PAGE, {"id": c}) for c in conditions],
        "application/json",
    )
    env = {"CLINIC_KG_RESPONSE_CACHE_SIZE": "0"}
    runs: dict[str, list[dict[str, float]]] = {str(n): [] for n in COUNTS}
    for r in range(rounds):
        for n in COUNTS if r % 2 == 0 else COUNTS[::-1]:
            port = httpload.free_port()
            server = httpload.start(f"workers-{n}", serve_cmd(root, port, n), env, port, work)
            with httpload.running([server]):
                httpload.wait_ready(server, timeout)
                httpload.wrk(server.url("/graphql"), script, 1)  # warm-up, not counted
                got = httpload.wrk(server.url("/graphql"), script, seconds)
            runs[str(n)].append(got.__dict__)
            print(
                f"[workers] {n} worker(s): {got.rps:.0f} req/s, p50 {got.p50_ms:.1f} ms, "
                f"p99 {got.p99_ms:.1f} ms, errors {got.errors}",
                file=sys.stderr,
                flush=True,
            )
    mean = {n: sum(r["rps"] for r in rs) / len(rs) for n, rs in runs.items()}
    return {"runs": runs, "rps": mean, "ratio": mean["2"] / mean["1"] if mean["1"] else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.root, args.seconds, args.rounds, args.timeout)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
