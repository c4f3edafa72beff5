"""`serve --workers 2` against `--workers 1`: wrk on the uncached condition page, rotating ids.

    python -m tests.benchmarks.workers_load ROOT [--seconds 10] [--rounds 2]

Both servers are the real `clinic-kg serve` (response cache off, so every request executes
GraphQL), unpinned: the point is to use every core. wrk runs pinned to CPU 0 as in the main HTTP
benchmark, so on a 2-core machine it competes with the second worker: the ratio is a floor. Prints
one JSON line, with the servers' CPU time per request (parent and workers, from /proc), which
depends less on the machine's load than req/s; `make bench` stores it as the size's "workers"
part.
"""

from __future__ import annotations

import argparse
import json
import os
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


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children that are running now."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for each in (pid, *map(int, children)):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def measure(root: Path, seconds: int, rounds: int, timeout: float) -> dict[str, Any]:
    conditions, _ = ids_in(root)
    work = root / ".bench"
    work.mkdir(exist_ok=True)
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
                cpu = cpu_seconds(server.process.pid)
                got = httpload.wrk(server.url("/graphql"), script, seconds)
                cpu = cpu_seconds(server.process.pid) - cpu
            row = {**got.__dict__, "cpu_ms_per_request": cpu * 1000 / max(1, got.requests)}
            runs[str(n)].append(row)
            print(
                f"[workers] {n} worker(s): {got.rps:.0f} req/s, p50 {got.p50_ms:.1f} ms, "
                f"p99 {got.p99_ms:.1f} ms, errors {got.errors}, "
                f"CPU {row['cpu_ms_per_request']:.2f} ms/request, load {got.load_before:.1f}",
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
