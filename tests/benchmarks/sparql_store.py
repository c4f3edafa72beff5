"""The SPARQL-backed Store against the in-memory snapshot: request latency and server memory;
and the largest graph `serve --store` serves, with the same bounded memory.

    python -m tests.benchmarks.sparql_store [--sizes 100k,1m] [--largest 10m] [--conditions 30]
        [--skip-largest] [--out FILE]

Per size: the generated project (tests/benchmarks/generate.py, reused when up to date) is
validated, then loaded into an Oxigraph store as `clinic-kg publish` lays it out (the version's
named graph, then the pointer graph), and two `clinic-kg serve` start: from memory, and `--store`
over that Oxigraph server. Each is asked the benchmark's GraphQL questions (a condition's page,
a pull of 50 facts, a search) for `--conditions` distinct conditions, once with nothing cached
(cold: the store-backed server fetches from Oxigraph) and once more (warm: its per-version cache).
The response cache is off for both, so every request executes. Reported: p50/p95/max latency per
question and pass, the servers' resident memory after the run and at peak (VmRSS, VmHWM), and
Oxigraph's, and the servers' CPU time per request (/proc/<pid>/stat, as httpload does).
Requests are sequential: this measures the cost of a request, not throughput. The store-backed
server builds its catalog file (server/store/sparql_catalog_build.py) in a fresh folder, then
is started a second time to time a restart that reuses it.

`--largest` (3m, 5m or 10m; default 10m) then serves a bigger generated graph from the store
alone: generated (copies of the seed condition, conforming by construction: more label syllables
than generate.py's so there are enough distinct copies), its Turtle loaded straight into
Oxigraph with `oxigraph load` (validating 10M triples in process is what `publish` would do, and
is not what this measures), and the same questions asked of `serve --store`. Bounded means its
peak resident memory stays about the 1M one's. Times on this machine (2 cores, shared, load
4-17): 1M part 6-12 min (validation, load, two servers); 3M part ~6 min (generation 2 min, reused
afterwards; load 2 min; catalog 2.3 min); 10M part about an hour (generation 15 min, conversion
and load 22 min, then the catalog, not yet measured).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from server.load.loader import LoadResult
from server.settings import Settings
from server.store import published
from server.validate.validation import validate_project

from . import httpload, tools
from .generate import DATA, SIZES, Generated, ensure, fingerprint, generate
from .queries import CONDITION_PAGE, FACTS, FACTS_PER_PULL, SEARCH, graphql_body, ids_in

READY_TIMEOUT = 3600.0  # validating 1M triples, or a 10M catalog, takes a while on a busy machine
LARGE = {"3m": 3_000_000, "5m": 5_000_000, "10m": 10_000_000}
# generate.py's syllables make 2,366 distinct copy names (~1.9M triples); these make 18,252.
MORE_SYLLABLES = ("pa", "qui", "hu", "jo", "wen", "xa", "yo", "cor", "del", "fin", "gul", "har")
MORE_SYLLABLES += ("lin",)
BOUNDED = 1.25  # the largest graph's peak RSS within this factor of the 1M one's: bounded
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
            [
                oxigraph,
                "load",
                "--lenient",
                "--location",
                str(location),
                "--file",
                str(file),
                "--graph",
                graph,
            ],
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


def ask_all(
    server: httpload.Server, asked: list[tuple[str, str, dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """Every question cold, then warm: latency per question and pass, CPU ms per request."""
    latency: dict[str, dict[str, Any]] = {}
    pid = server.process.pid
    for rounds in ("cold", "warm"):
        samples: dict[str, list[tuple[float, str | None]]] = {}
        cpu = httpload.cpu_seconds(pid)
        for label, query, variables in asked:
            samples.setdefault(label, []).append(ask(server.url("/graphql"), query, variables))
        cpu_ms = (httpload.cpu_seconds(pid) - cpu) * 1000 / max(1, len(asked))
        for label, values in samples.items():
            latency[f"{label}, {rounds}"] = summary(values)
        latency[f"all, {rounds}"] = {"cpu_ms_per_request": cpu_ms}
    return latency


def start_store_server(
    name: str, root: Path, store_url: str, catalogs: Path, logs: Path
) -> tuple[httpload.Server, float]:
    """`serve --store`, its catalog files in `catalogs`; it and the seconds until ready."""
    env = {
        "CLINIC_KG_RESPONSE_CACHE_SIZE": "0",
        "CLINIC_KG_STARTUP_CACHE": "false",
        "CLINIC_KG_STORE_CATALOG_DIR": str(catalogs),
    }
    port = httpload.free_port()
    cmd = [sys.executable, "-m", "server", "serve", "--root", str(root), "--host", httpload.HOST,
           "--port", str(port), "--store", store_url]  # fmt: skip
    began = time.perf_counter()
    server = httpload.start(name, cmd, env, port, logs)
    try:
        httpload.wait_ready(server, READY_TIMEOUT)
    except BaseException:
        httpload.stop(server)
        raise
    return server, time.perf_counter() - began


def start_oxigraph(location: Path, logs: Path) -> tuple[httpload.Server, str]:
    port = httpload.free_port()
    oxigraph = httpload.start(
        "oxigraph",
        [str(tools.oxigraph_cli()), "serve", "--location", str(location), "--bind",
         f"{httpload.HOST}:{port}"],
        {},
        port,
        logs,
    )  # fmt: skip
    try:
        httpload.wait_ready(oxigraph, READY_TIMEOUT)
    except BaseException:
        httpload.stop(oxigraph)
        raise
    return oxigraph, f"http://{httpload.HOST}:{port}/query"


def store_run(
    root: Path, store_url: str, work: Path, asked: list[tuple[str, str, dict[str, Any]]]
) -> dict[str, Any]:
    """`serve --store` built its catalog, asked every question; then restarted on that catalog."""
    catalogs, logs = work / "catalogs", work / "logs"
    server, ready = start_store_server("sparql", root, store_url, catalogs, logs)
    try:
        at_ready = memory(server.process.pid)
        latency = ask_all(server, asked)
        after = memory(server.process.pid)
    finally:
        httpload.stop(server)
    files = sorted(catalogs.glob("*.sqlite"))
    again, restart = start_store_server("sparql-restart", root, store_url, catalogs, logs)
    try:
        restarted = memory(again.process.pid)
    finally:
        httpload.stop(again)
    return {
        "ready_seconds": ready,
        "restart_seconds": restart,
        "memory_mb": {"at_ready": at_ready, "after": after, "restarted": restarted},
        "catalog_mb": sum(f.stat().st_size for f in files) / 2**20,
        "latency_ms": latency,
    }


def measure_size(size: str, conditions: int, work: Path) -> dict[str, Any]:
    """`serve` from memory against `serve --store` on the same validated graph."""
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
    data.unlink()
    log(f"{size}: {triples} triples loaded into Oxigraph in {load_seconds:.1f} s")
    logs = work / "logs"
    asked = questions(root, conditions)
    oxigraph, store_url = start_oxigraph(location, logs)
    try:
        env = {"CLINIC_KG_RESPONSE_CACHE_SIZE": "0", "CLINIC_KG_STARTUP_CACHE": "false"}
        port = httpload.free_port()
        cmd = [sys.executable, "-m", "server", "serve", "--root", str(root), "--host",
               httpload.HOST, "--port", str(port)]  # fmt: skip
        began = time.perf_counter()
        in_memory = httpload.start("memory", cmd, env, port, logs)
        try:
            httpload.wait_ready(in_memory, READY_TIMEOUT)
            ready = time.perf_counter() - began
            log(f"{size}: from memory ready in {ready:.1f} s")
            memory_run = {
                "ready_seconds": ready,
                "memory_mb": {"at_ready": memory(in_memory.process.pid)},
                "latency_ms": ask_all(in_memory, asked),
            }
            memory_run["memory_mb"]["after"] = memory(in_memory.process.pid)
        finally:
            httpload.stop(in_memory)
        log(f"{size}: serve --store")
        store = store_run(root, store_url, work, asked)
        log(f"{size}: store ready in {store['ready_seconds']:.1f} s, {store['memory_mb']}")
        return {
            "size": size,
            "triples": triples,
            "oxigraph_load_seconds": load_seconds,
            "memory": memory_run,
            "sparql": store,
            "oxigraph_mb": memory(oxigraph.process.pid),
        }
    finally:
        httpload.stop(oxigraph)


def ensure_large(size: str) -> tuple[Generated, float]:
    """The generated project for a size beyond generate.py's, and the seconds generating it
    took (0: reused)."""
    if size in SIZES:
        return ensure(size), 0.0
    out = DATA / size
    stamp = out / ".generated"
    current = f"{fingerprint()}+{'.'.join(MORE_SYLLABLES)}"
    fields = stamp.read_text().split() if stamp.exists() else []
    if len(fields) == 5 and fields[0] == current:
        return Generated(out, int(fields[1]), int(fields[2]), int(fields[3])), float(fields[4])
    from . import generate as generator

    saved = generator._SYLLABLES
    generator._SYLLABLES = saved + MORE_SYLLABLES
    began = time.perf_counter()
    try:
        made = generate(out, LARGE[size])
    finally:
        generator._SYLLABLES = saved
    took = time.perf_counter() - began
    stamp.write_text(f"{current} {made.copies} {made.triples} {made.files} {took:.0f}\n")
    return made, took


def load_turtle(location: Path, root: Path, version: str, settings: Settings) -> float:
    """The project's kg/ and ontology/ Turtle, unvalidated, straight into the version graph
    (converted to one N-Triples file first: Oxigraph's bulk loader given thousands of small
    files at once churns through thousands of tiny SST files), then the pointer graph; seconds
    taken, conversion included."""
    began = time.perf_counter()
    data = location.parent / "data.nt"
    with data.open("wb") as out:
        for name in ("kg", "ontology"):
            for path in sorted((root / name).rglob("*.ttl")):
                triples = ox.parse(path=str(path), format=ox.RdfFormat.TURTLE,
                                   rename_blank_nodes=True)  # fmt: skip
                ox.serialize(triples, out, format=ox.RdfFormat.N_TRIPLES)
    took = time.perf_counter() - began
    try:
        return took + load_oxigraph(location, data, version, settings)
    finally:
        data.unlink()


def measure_largest(size: str, conditions: int, work: Path) -> dict[str, Any]:
    """`serve --store` alone over a graph too big to validate in process here."""
    log(f"{size}: generating (reused when up to date)")
    made, generation = ensure_large(size)
    log(f"{size}: {made.triples} triples in {made.files} files (generated in {generation:.0f} s)")
    location = work / "oxigraph"
    location.mkdir()
    # A version is 16 hex digits (server/store/published.py): the data's, not validated here.
    version = hashlib.sha256(f"generated-{size}-{fingerprint()}".encode()).hexdigest()[:16]
    load_seconds = load_turtle(location, made.root, version, Settings())
    log(f"{size}: loaded into Oxigraph in {load_seconds:.1f} s")
    asked = questions(made.root, conditions)
    oxigraph, store_url = start_oxigraph(location, work / "logs")
    try:
        store = store_run(made.root, store_url, work, asked)
        log(f"{size}: store ready in {store['ready_seconds']:.1f} s, {store['memory_mb']}")
        return {
            "size": size,
            "triples": made.triples,
            "generation_seconds": generation,
            "oxigraph_load_seconds": load_seconds,
            "sparql": store,
            "oxigraph_mb": memory(oxigraph.process.pid),
        }
    finally:
        httpload.stop(oxigraph)


def bench(
    sizes: list[str], largest: str | None, conditions: int, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The comparison at each of `sizes`, then the largest graph (None: skipped, and the last
    run's row kept when there is one)."""
    found: dict[str, Any] = {"compared": [], "largest": None}
    if not sizes and previous:
        found["compared"] = [{**r, "carried": True} for r in previous.get("compared", [])]
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix=f"clinic-kg-sparql-bench-{size}-") as work:
            found["compared"].append(measure_size(size, conditions, Path(work)))
    if largest:
        with tempfile.TemporaryDirectory(prefix=f"clinic-kg-sparql-bench-{largest}-") as work:
            found["largest"] = measure_largest(largest, conditions, Path(work))
    elif previous and previous.get("largest"):
        found["largest"] = {**previous["largest"], "carried": True}
    return found


def render(found: dict[str, Any]) -> str:
    lines = [
        "| size | question | in memory p50 / p95 ms | SPARQL store p50 / p95 ms |",
        "|---|---|---|---|",
    ]
    for r in found["compared"]:
        for question, memory_ms in r["memory"]["latency_ms"].items():
            store_ms = r["sparql"]["latency_ms"][question]
            lines.append(f"| {r['size']} | {question} | {_cell(memory_ms)} | {_cell(store_ms)} |")
    lines += [
        "",
        "| size | triples | server | ready s | restart s | RSS MiB ready / after | peak RSS MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in [*found["compared"], *([found["largest"]] if found.get("largest") else [])]:
        for name in ("memory", "sparql"):
            if name in r:
                lines.append(_memory_row(r, name))
        mem = r["oxigraph_mb"]
        lines.append(
            f"| {r['size']} | {r['triples']} | Oxigraph server | - | - | "
            f"{mem.get('VmRSS', float('nan')):.0f} | {mem.get('VmHWM', float('nan')):.0f} |"
        )
    return "\n".join(lines) + "\n"


def _memory_row(r: dict[str, Any], name: str) -> str:
    run = r[name]
    at, after = run["memory_mb"]["at_ready"], run["memory_mb"]["after"]
    peak = max(at.get("VmHWM", 0.0), after.get("VmHWM", 0.0))
    restart = run.get("restart_seconds")
    label = "`serve` (in memory)" if name == "memory" else "`serve --store`"
    return (
        f"| {r['size']} | {r['triples']} | {label} | {run['ready_seconds']:.1f} | "
        f"{f'{restart:.1f}' if restart is not None else '-'} | "
        f"{at.get('VmRSS', float('nan')):.0f} / {after.get('VmRSS', float('nan')):.0f} | "
        f"{peak:.0f} |"
    )


def _cell(row: dict[str, Any]) -> str:
    if "cpu_ms_per_request" in row:
        return f"CPU {row['cpu_ms_per_request']:.1f} ms per request"
    failed = f" ({row['failed']} failed: {', '.join(row['errors'])})" if row["failed"] else ""
    return f"{row['p50']:.1f} / {row['p95']:.1f}{failed}"


def peak(run: dict[str, Any]) -> float:
    return float(max(m.get("VmHWM", 0.0) for m in run["memory_mb"].values()))


def verdict(found: dict[str, Any]) -> str:
    """Whether the largest graph was served with about the 1M graph's peak memory."""
    base = next((r for r in found.get("compared", []) if r["size"] == "1m"), None)
    large = found.get("largest")
    if base is None or large is None:
        return "not measured in this run (needs the 1m comparison and --largest)"
    ratio = peak(large["sparql"]) / peak(base["sparql"])
    ok = ratio <= BOUNDED
    return (
        f"{'**bounded**' if ok else '**NOT bounded**'}: `serve --store` peaked at "
        f"{peak(large['sparql']):.0f} MiB serving {large['triples']:,} triples against "
        f"{peak(base['sparql']):.0f} MiB at {base['triples']:,} ({ratio:.2f}×; bounded means "
        f"≤ {BOUNDED}×); in memory, 1M alone peaked at {peak(base['memory']):.0f} MiB."
    )


def section(results: dict[str, Any]) -> list[str]:
    """The report's "SPARQL-backed store" section (tests/benchmarks/report.py)."""
    found = results.get("sparql_store")
    if not found:
        return []
    large = found.get("largest")
    lines = [
        "## SPARQL-backed store",
        "",
        "`serve --store` over an Oxigraph server against `serve` from memory "
        "(`tests/benchmarks/sparql_store.py`): sequential GraphQL requests, response cache off, "
        "each question for distinct conditions asked cold (nothing cached), then warm; CPU = "
        "the server's CPU time per request over the pass. ready = until /readyz answers (from "
        "memory: validation and snapshot; store: building the version's catalog file); restart "
        "= a second start reusing that file.",
        "",
        *render(found).rstrip().splitlines(),
        "",
    ]
    if large:
        store = large["sparql"]
        carried = " (carried over from the last run)" if large.get("carried") else ""
        lines += [
            f"Largest graph served{carried}: {large['size']}, {large['triples']:,} triples, "
            f"generated in {large['generation_seconds']:.0f} s, loaded into Oxigraph (Turtle "
            f"straight, not validated in process) in {large['oxigraph_load_seconds']:.0f} s; "
            f"catalog file {store['catalog_mb']:.0f} MiB built in {store['ready_seconds']:.0f} s; "
            f"condition page warm p50 "
            f"{store['latency_ms']['condition page, warm']['p50']:.1f} ms, "
            f"cold p50 {store['latency_ms']['condition page, cold']['p50']:.1f} ms.",
            "",
        ]
    lines += [f"Verdict: {verdict(found)}"]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1m", help="comma-separated: seed,10k,100k,1m")
    parser.add_argument("--largest", default="10m", help="3m, 5m or 10m: served from the store")
    parser.add_argument("--skip-largest", action="store_true", help="only the comparison")
    parser.add_argument("--conditions", type=int, default=30, help="distinct conditions asked")
    parser.add_argument("--out", type=Path, help="also write the table (and .json beside it)")
    parser.add_argument(
        "--with", dest="previous", type=Path, help="a run's .json: the parts not run come from it"
    )
    args = parser.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    previous = json.loads(args.previous.read_text()) if args.previous else None
    largest = None if args.skip_largest else args.largest
    found = bench(sizes, largest, args.conditions, previous)
    table = "\n".join(section({"sparql_store": found})) + "\n"
    print(table)
    if args.out:
        args.out.write_text(table)
        args.out.with_suffix(".json").write_text(json.dumps(found, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
