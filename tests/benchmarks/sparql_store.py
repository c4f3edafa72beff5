"""The SPARQL-backed Store against the in-memory snapshot: request latency and server memory.

    python -m tests.benchmarks.sparql_store [--sizes 100k,1m] [--conditions 30] [--out FILE]

Per size: the generated project (tests/benchmarks/generate.py, reused when up to date) is
validated, then loaded into an Oxigraph store as `clinic-kg publish` lays it out (the version's
named graph, then the pointer graph), and two `clinic-kg serve` start: from memory, and `--store`
over that Oxigraph server. Each is asked the benchmark's GraphQL questions (a condition's page,
a pull of 50 facts, a search) for `--conditions` distinct conditions, once with nothing cached
(cold: the store-backed server fetches from Oxigraph) and once more (warm: its per-version cache).
The response cache is off for both, so every request executes. Reported: p50/p95/max latency per
question and pass, the servers' resident memory after the run and at peak (VmRSS, VmHWM), and
Oxigraph's. Requests are sequential: this measures the cost of a request, not throughput.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from server.load.loader import LoadResult
from server.settings import Settings
from server.store import published
from server.validate.validation import validate_project

from . import httpload, tools
from .generate import ensure
from .queries import CONDITION_PAGE, FACTS, FACTS_PER_PULL, SEARCH, graphql_body, ids_in

READY_TIMEOUT = 1800.0  # validating 1M triples takes a while on a busy machine
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"


def log(message: str) -> None:
    print(
        f"[sparql-store bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True
    )


def write_ntriples(loaded: LoadResult, out: Path) -> int:
    """The dataset as `publish` uploads it (kg/ and ontology/, no shapes), as N-Triples."""
    lines = {
        f"{s.n3()} {p.n3()} {o.n3()} .\n"
        for f in loaded.files
        if f.kind in ("kg", "ontology")
        for s, p, o in f.triples
    }
    with out.open("w", encoding="utf-8") as f:
        f.writelines(lines)
    return len(lines)


def load_oxigraph(location: Path, data: Path, version: str, settings: Settings) -> float:
    """Bulk-load the version graph and the pointer graph; seconds taken."""
    base = settings.base_iri
    pointer = location.parent / "pointer.nt"
    pointer.write_text(
        f"<{published.dataset_iri(base)}> <{published.CURRENT_VERSION}> "
        f"<{published.version_graph(base, version)}> .\n"
        f"<{published.version_graph(base, version)}> <{published.CREATED}> "
        f'"{time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}"^^<{XSD_DATETIME}> .\n'
    )
    started = time.perf_counter()
    oxigraph = str(tools.oxigraph_cli())
    for file, graph in (
        (data, published.version_graph(base, version)),
        (pointer, published.pointer_graph(base)),
    ):
        subprocess.run(
            [oxigraph, "load", "--location", str(location), "--file", str(file), "--graph", graph],
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - started


def memory(pid: int) -> dict[str, float]:
    """Resident and peak resident memory of a process, in MiB."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


def ask(url: str, query: str, variables: dict[str, Any]) -> tuple[float, str | None]:
    """Milliseconds for one GraphQL POST, and the code of its first error (None: answered)."""
    request = urllib.request.Request(
        url,
        data=graphql_body(query, variables).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        body = json.loads(response.read())
    elapsed = (time.perf_counter() - started) * 1000
    errors = body.get("errors") or [{}]
    return elapsed, errors[0].get("extensions", {}).get("code") if body.get("errors") else None


def summary(samples: list[tuple[float, str | None]]) -> dict[str, Any]:
    ordered = sorted(ms for ms, _ in samples)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max": ordered[-1],
        "errors": sorted({code for _, code in samples if code}),
        "failed": sum(1 for _, code in samples if code),
    }


def questions(root: Path, conditions: int) -> list[tuple[str, str, dict[str, Any]]]:
    condition_ids, fact_ids = ids_in(root)
    step = max(1, len(condition_ids) // conditions)
    chosen = condition_ids[::step][:conditions]
    asked: list[tuple[str, str, dict[str, Any]]] = []
    for n, condition in enumerate(chosen):
        asked.append(("condition page", CONDITION_PAGE, {"id": condition}))
        pull = fact_ids[n * FACTS_PER_PULL : (n + 1) * FACTS_PER_PULL] or fact_ids[:FACTS_PER_PULL]
        asked.append(("50 facts", FACTS, {"ids": pull}))
        asked.append(("search", SEARCH, {"text": condition.split("-")[0]}))
    return asked


def measure_size(size: str, conditions: int, work: Path) -> dict[str, Any]:
    made = ensure(size)
    root = made.root
    settings = Settings()
    log(f"{size}: {made.triples} triples; validating")
    outcome = validate_project(root, (), settings)
    if not outcome.conforms:
        raise SystemExit(f"{root} does not conform: {outcome.report.summary()}")
    data = work / "data.nt"
    triples = write_ntriples(outcome.load, data)
    version = outcome.load.version
    del outcome
    location = work / "oxigraph"
    location.mkdir()
    load_seconds = load_oxigraph(location, data, version, settings)
    log(f"{size}: {triples} triples loaded into Oxigraph in {load_seconds:.1f} s")
    ox_port = httpload.free_port()
    logs = work / "logs"
    oxigraph = httpload.start(
        "oxigraph",
        [str(tools.oxigraph_cli()), "serve", "--location", str(location), "--bind",
         f"{httpload.HOST}:{ox_port}"],
        {},
        ox_port,
        logs,
    )  # fmt: skip
    env = {"CLINIC_KG_RESPONSE_CACHE_SIZE": "0", "CLINIC_KG_STARTUP_CACHE": "false"}
    serve = [sys.executable, "-m", "server", "serve", "--root", str(root), "--host", httpload.HOST]
    servers: dict[str, httpload.Server] = {}
    started: dict[str, float] = {}
    try:
        httpload.wait_ready(oxigraph, READY_TIMEOUT)
        for name, extra in (
            ("memory", ()),
            ("sparql", ("--store", f"http://{httpload.HOST}:{ox_port}/query")),
        ):
            port = httpload.free_port()
            began = time.perf_counter()
            server = httpload.start(name, [*serve, "--port", str(port), *extra], env, port, logs)
            servers[name] = server
            httpload.wait_ready(server, READY_TIMEOUT)
            started[name] = time.perf_counter() - began
            log(f"{size}: {name} ready in {started[name]:.1f} s, {memory(server.process.pid)}")
        asked = questions(root, conditions)
        latency: dict[str, dict[str, dict[str, Any]]] = {}
        for name, server in servers.items():
            for rounds in ("cold", "warm"):
                samples: dict[str, list[tuple[float, str | None]]] = {}
                for label, query, variables in asked:
                    answer = ask(server.url("/graphql"), query, variables)
                    samples.setdefault(label, []).append(answer)
                for label, values in samples.items():
                    latency.setdefault(name, {})[f"{label}, {rounds}"] = summary(values)
        return {
            "size": size,
            "triples": triples,
            "oxigraph_load_seconds": load_seconds,
            "ready_seconds": started,
            "memory_mb": {
                **{name: memory(s.process.pid) for name, s in servers.items()},
                "oxigraph": memory(oxigraph.process.pid),
            },
            "latency_ms": latency,
        }
    finally:
        for server in [*servers.values(), oxigraph]:
            httpload.stop(server)


def render(results: list[dict[str, Any]]) -> str:
    lines = [
        "| size | question | in memory p50 / p95 ms | SPARQL store p50 / p95 ms |",
        "|---|---|---|---|",
    ]
    for r in results:
        for question, memory_ms in r["latency_ms"]["memory"].items():
            store_ms = r["latency_ms"]["sparql"][question]
            lines.append(f"| {r['size']} | {question} | {_cell(memory_ms)} | {_cell(store_ms)} |")
    lines += [
        "",
        "| size | triples | server | ready s | RSS MiB | peak RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        for name in ("memory", "sparql", "oxigraph"):
            mem = r["memory_mb"][name]
            ready = r["ready_seconds"].get(name)
            lines.append(
                f"| {r['size']} | {r['triples']} | {name} | "
                f"{f'{ready:.1f}' if ready is not None else '-'} | "
                f"{mem.get('VmRSS', float('nan')):.0f} | {mem.get('VmHWM', float('nan')):.0f} |"
            )
    return "\n".join(lines) + "\n"


def _cell(row: dict[str, Any]) -> str:
    failed = f" ({row['failed']} failed: {', '.join(row['errors'])})" if row["failed"] else ""
    return f"{row['p50']:.1f} / {row['p95']:.1f}{failed}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1m", help="comma-separated: seed,10k,100k,1m")
    parser.add_argument("--conditions", type=int, default=30, help="distinct conditions asked")
    parser.add_argument("--out", type=Path, help="also write the table (and .json beside it)")
    args = parser.parse_args(argv)
    results = []
    for size in args.sizes.split(","):
        with tempfile.TemporaryDirectory(prefix=f"clinic-kg-sparql-bench-{size}-") as work:
            results.append(measure_size(size, args.conditions, Path(work)))
    table = render(results)
    print(table)
    if args.out:
        args.out.write_text(table)
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
