"""Every core: `serve --workers 2` against Oxigraph's server with its own threads, both unpinned.

    python -m tests.benchmarks.all_cores ROOT STORE [--seconds 10] [--rounds 2]

The uncached condition page over rotating ids (response cache off, so every request executes
GraphQL) against the same page as one SPARQL query on Oxigraph (`serve-read-only` on the store
`make bench` loaded and optimized, STORE): the issue 12 target "≥ 1.5× Oxigraph's throughput when
both use every core of the machine". Neither server is pinned; wrk runs pinned to CPU 0 as in the
other HTTP runs, so on a 2-core machine it takes its share from both. The contenders run back to
back, alternating, each started fresh and warmed for a second. Prints one JSON line with req/s,
latencies, the servers' CPU time per request (the whole process tree, from /proc) and the load
average of each run; `make bench` stores it as the size's "all_cores" part.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import httpload, tools
from .queries import CONDITION_PAGE, KG, condition_sparql, graphql_body, ids_in
from .workers_load import cpu_seconds, serve_cmd

WORKERS = 2
CONTENDERS = ("ours", "oxigraph")


def measure(root: Path, store: Path, seconds: int, rounds: int, timeout: float) -> dict[str, Any]:
    conditions, _ = ids_in(root)
    work = root / ".bench"
    work.mkdir(exist_ok=True)
    scripts = {
        "ours": httpload.lua_script(
            work / "all_cores_gql.lua",
            [graphql_body(CONDITION_PAGE, {"id": c}) for c in conditions],
            "application/json",
        ),
        "oxigraph": httpload.lua_script(
            work / "all_cores_sparql.lua",
            [condition_sparql(KG + c) for c in conditions],
            "application/sparql-query",
            "application/sparql-results+json",
        ),
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in CONTENDERS}
    for r in range(rounds):
        for name in CONTENDERS if r % 2 == 0 else CONTENDERS[::-1]:
            port = httpload.free_port()
            if name == "ours":
                cmd, path = serve_cmd(root, port, WORKERS), "/graphql"
                env = {"CLINIC_KG_RESPONSE_CACHE_SIZE": "0"}
            else:
                cmd = [str(tools.oxigraph_cli()), "serve-read-only", "--location", str(store),
                       "--bind", f"{httpload.HOST}:{port}"]  # fmt: skip
                path, env = "/query", {}
            server = httpload.start(f"all-cores-{name}", cmd, env, port, work)
            with httpload.running([server]):
                httpload.wait_ready(server, timeout)
                httpload.wrk(server.url(path), scripts[name], 1)  # warm-up, not counted
                cpu = cpu_seconds(server.process.pid)
                got = httpload.wrk(server.url(path), scripts[name], seconds)
                cpu = cpu_seconds(server.process.pid) - cpu
            row = {**got.__dict__, "cpu_ms": cpu * 1000 / got.requests if got.requests else None}
            runs[name].append(row)
            print(
                f"[all cores] {name}: {got.rps:.0f} req/s, p50 {got.p50_ms:.1f} ms, "
                f"p99 {got.p99_ms:.1f} ms, errors {got.errors + got.timeouts}, "
                f"CPU {row['cpu_ms'] or float('nan'):.2f} ms/request, load {got.load_before:.1f}",
                file=sys.stderr,
                flush=True,
            )
    rps = {n: sum(r["rps"] for r in rs) / len(rs) for n, rs in runs.items()}
    ratio = rps["ours"] / rps["oxigraph"] if rps["oxigraph"] else None
    return {"workers": WORKERS, "runs": runs, "rps": rps, "ratio": ratio}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("store", type=Path, help="an Oxigraph store of ROOT (make bench's)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)
    found = measure(args.root, args.store, args.seconds, args.rounds, args.timeout)
    print(json.dumps(found), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
