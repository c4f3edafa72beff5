"""`make bench`: cold start, hot reload, validation against Jena, and HTTP load against baselines.

    python -m tests.benchmarks [--quick] [--sizes seed,10k,100k,1m] [--seconds 10] [--rounds 2]

Writes tests/benchmarks/RESULTS.md (and the raw numbers in tests/benchmarks/data/results.json);
--quick writes tests/benchmarks/data/RESULTS-quick.md instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from . import (
    all_cores,
    executors,
    httpload,
    reload_stall,
    report,
    second_store,
    sparql_store,
    tools,
    workers_load,
)
from .generate import DATA, ensure
from .queries import (
    CHEAP,
    CONDITION_PAGE,
    FACTS,
    FACTS_PER_PULL,
    KG,
    SEARCH,
    SEARCH_TEXT,
    condition_sparql,
    graphql_body,
    heavy,
    ids_in,
    search_sparql,
)

HERE = Path(__file__).resolve().parent
FINDINGS = HERE / "findings.md"
PHASES = ("parse", "validate", "snapshot", "cold", "warm", "reload")
CORE_CACHE = ".clinic-kg-cache"  # the name .gitignore reserves for the core's own cache
SEED_CONDITION = "failed-back-surgery-syndrome"
GRAPHQL = "application/json"
SPARQL = "application/sparql-query"
SPARQL_JSON = "application/sparql-results+json"
SPARQL_SHAPE = "https://clinic-kg.example/shapes#UniqueLabelShape"
# The naive baseline answers one request at a time in ~0.1-1 s: on 32 connections it only queues,
# and works off the queue for tens of seconds after wrk stops (every later run waited for it).
NAIVE_CONNECTIONS = 4


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def measured(cmd: list[str], timeout: float, **kwargs: Any) -> tuple[float, float, str, bool]:
    """Wall seconds, peak RSS (MiB) of the child, its stdout, and whether it timed out."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    killed = proc.returncode < 0
    return time.perf_counter() - start, usage.ru_maxrss / 1024, out[0].decode(), killed


def shapes_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((root / "shapes").rglob("*.ttl")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cold_phases(root: Path, timeout: float, phases: tuple[str, ...] = PHASES) -> dict[str, Any]:
    results: dict[str, Any] = {}
    shutil.rmtree(root / CORE_CACHE, ignore_errors=True)  # cold means cold
    for phase in phases:
        cmd = [sys.executable, "-m", "tests.benchmarks.phases", phase, str(root)]
        load = os.getloadavg()[0]
        wall, rss, out, killed = measured(cmd, timeout, cwd=HERE.parents[1])
        row: dict[str, Any] = {
            "wall_seconds": wall, "peak_rss_mb": rss, "timed_out": killed, "load_before": load,
        }  # fmt: skip
        if out.strip():
            row.update(json.loads(out.strip().splitlines()[-1]))
        results[phase] = row
        log(f"  {phase}: {row.get('seconds', float('nan')):.2f} s, {rss:.0f} MiB")
    return results


def _merge(root: Path, folders: tuple[str, ...], out: Path, drop_subjects: set[str]) -> None:
    with out.open("wb") as f:
        for folder in folders:
            for path in sorted((root / folder).rglob("*.ttl")):
                triples = [
                    t
                    for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)
                    if str(getattr(t.subject, "value", "")) not in drop_subjects
                ]
                f.write(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"")


def jena(root: Path, work: Path, timeout: float) -> dict[str, Any]:
    """Jena's SHACL command on the same data (kg/ + ontology/) and shapes, with and without the
    SHACL-SPARQL constraint (ours checks that one natively, outside pyshacl)."""
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    data, shapes, core = work / "data.nt", work / "shapes.nt", work / "shapes-core.nt"
    _merge(root, ("kg", "ontology"), data, set())
    _merge(root, ("shapes",), shapes, set())
    _merge(root, ("shapes",), core, {SPARQL_SHAPE, SPARQL_SHAPE + "-sparql"})
    results: dict[str, Any] = {"merge_seconds": time.perf_counter() - start}
    classpath = tools.jena_classpath(DATA)
    for name, shape_file in (("all_shapes", shapes), ("core_shapes", core)):
        cmd = ["java", "-cp", classpath, "shacl.shacl", "validate", "--shapes", str(shape_file),
               "--data", str(data)]  # fmt: skip
        load = os.getloadavg()[0]
        wall, rss, out, killed = measured(cmd, timeout)
        conforms = "sh:conforms  true" in out or "sh:conforms true" in out
        results[name] = {
            "load_before": load,
            "seconds": wall,
            "peak_rss_mb": rss,
            "timed_out": killed,
            "conforms": conforms,
        }
        shown = f">{timeout:.0f} s (killed)" if killed else f"{wall:.1f} s"
        log(f"  jena {name}: {shown}, {rss:.0f} MiB, conforms={conforms}")
    return results


def oxigraph_store(root: Path, location: Path, timeout: float) -> float:
    stamp = location / ".loaded-optimized"
    if stamp.exists():
        return float(stamp.read_text())
    files = [
        str(p) for folder in ("kg", "ontology") for p in sorted((root / folder).rglob("*.ttl"))
    ]
    start = time.perf_counter()
    subprocess.run(
        [str(tools.oxigraph_cli()), "load", "--location", str(location), "--file", *files],
        check=True,
        capture_output=True,
        timeout=timeout,
    )
    # What Oxigraph's own help advises for a read-only endpoint under load: the baseline is the
    # store a user would tune (its CPU per request drops by about a quarter).
    subprocess.run(
        [str(tools.oxigraph_cli()), "optimize", "--location", str(location)],
        check=True,
        capture_output=True,
        timeout=timeout,
    )
    seconds = time.perf_counter() - start
    stamp.write_text(f"{seconds}")
    return seconds


def post(url: str, body: str, content_type: str) -> bytes:
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": content_type}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        return bytes(response.read())


def http(root: Path, work: Path, seconds: int, rounds: int, timeout: float) -> dict[str, Any]:
    conditions, facts = ids_in(root)
    pulls = [facts[i : i + FACTS_PER_PULL] for i in range(0, len(facts), FACTS_PER_PULL)][:64]
    bodies: dict[str, tuple[list[str], str, str]] = {
        "condition_gql": ([graphql_body(CONDITION_PAGE, {"id": SEED_CONDITION})], GRAPHQL, GRAPHQL),
        "condition_gql_rotating": (
            [graphql_body(CONDITION_PAGE, {"id": c}) for c in conditions],
            GRAPHQL,
            GRAPHQL,
        ),
        "condition_sparql": ([condition_sparql(KG + SEED_CONDITION)], SPARQL, SPARQL_JSON),
        "condition_sparql_rotating": (
            [condition_sparql(KG + c) for c in conditions],
            SPARQL,
            SPARQL_JSON,
        ),
        "search_gql": ([graphql_body(SEARCH, {"text": SEARCH_TEXT})], GRAPHQL, GRAPHQL),
        "search_sparql": ([search_sparql(SEARCH_TEXT)], SPARQL, SPARQL_JSON),
        "facts_gql": ([graphql_body(FACTS, {"ids": ids}) for ids in pulls], GRAPHQL, GRAPHQL),
        "cheap_gql": ([graphql_body(CHEAP, {"id": SEED_CONDITION})], GRAPHQL, GRAPHQL),
        "heavy_gql": ([graphql_body(heavy(SEED_CONDITION), {})], GRAPHQL, GRAPHQL),
    }
    scripts = {
        name: httpload.lua_script(work / f"{name}.lua", items, ctype, accept)
        for name, (items, ctype, accept) in bodies.items()
    }
    store = work / "oxigraph"
    result: dict[str, Any] = {"conditions": len(conditions), "fact_pulls": len(pulls)}
    result["oxigraph_load_seconds"] = oxigraph_store(root, store, timeout)
    env = {"BENCH_ROOT": str(root)}
    ports = {name: httpload.free_port() for name in ("ours", "ours_nocache", "naive", "oxigraph")}
    servers = [
        httpload.start(
            "ours", httpload.uvicorn_cmd("tests.benchmarks.servers:ours", ports["ours"]),
            env, ports["ours"], work,
        ),
        httpload.start(
            "ours_nocache",
            httpload.uvicorn_cmd("tests.benchmarks.servers:ours", ports["ours_nocache"]),
            {**env, "CLINIC_KG_RESPONSE_CACHE_SIZE": "0"}, ports["ours_nocache"], work,
        ),
        httpload.start(
            "naive", httpload.uvicorn_cmd("tests.benchmarks.servers:naive", ports["naive"]),
            env, ports["naive"], work,
        ),
        httpload.start(
            "oxigraph",
            [str(tools.oxigraph_cli()), "serve-read-only", "--location", str(store), "--bind",
             f"{httpload.HOST}:{ports['oxigraph']}"],
            {}, ports["oxigraph"], work,
        ),
    ]  # fmt: skip
    with httpload.running(servers):
        for server in servers:
            httpload.wait_ready(server, timeout)
        ours = servers[0]
        # The ceiling answers with exactly the bytes ours sends for the same request.
        ceiling_bodies = work / "ceiling"
        ceiling_bodies.mkdir(exist_ok=True)
        sizes = {}
        for name in ("condition_gql", "search_gql", "facts_gql"):
            answer = post(ours.url("/graphql"), bodies[name][0][0], GRAPHQL)
            if b'"errors"' in answer:
                raise RuntimeError(f"{name}: our server answered with errors: {answer[:500]!r}")
            (ceiling_bodies / f"{name}.json").write_bytes(answer)
            sizes[name] = len(answer)
        result["response_bytes"] = sizes
        port = httpload.free_port()
        ceiling = httpload.start(
            "ceiling", httpload.uvicorn_cmd("tests.benchmarks.servers:ceiling", port),
            {"BENCH_BODIES": str(ceiling_bodies)}, port, work,
        )  # fmt: skip
        servers.append(ceiling)
        httpload.wait_ready(ceiling, timeout)
        for server in servers:
            httpload.pin(server)
        by = {s.name: s for s in servers}
        plan = [
            ("condition", "ours", by["ours"].url("/graphql"), "condition_gql"),
            ("condition", "ours_nocache", by["ours_nocache"].url("/graphql"), "condition_gql"),
            ("condition", "ceiling", by["ceiling"].url("/condition_gql"), "condition_gql"),
            ("condition", "oxigraph", by["oxigraph"].url("/query"), "condition_sparql"),
            ("condition", "naive", by["naive"].url("/query"), "condition_sparql"),
            ("condition_rotating", "ours_nocache", by["ours_nocache"].url("/graphql"),
             "condition_gql_rotating"),
            ("condition_rotating", "oxigraph", by["oxigraph"].url("/query"),
             "condition_sparql_rotating"),
            ("condition_rotating", "naive", by["naive"].url("/query"),
             "condition_sparql_rotating"),
            ("search", "ours_nocache", by["ours_nocache"].url("/graphql"), "search_gql"),
            ("search", "ceiling", by["ceiling"].url("/search_gql"), "search_gql"),
            ("search", "oxigraph", by["oxigraph"].url("/query"), "search_sparql"),
            ("search", "naive", by["naive"].url("/query"), "search_sparql"),
            ("facts", "ours_nocache", by["ours_nocache"].url("/graphql"), "facts_gql"),
            ("facts", "ceiling", by["ceiling"].url("/facts_gql"), "facts_gql"),
            ("cheap_beside_heavy", "alone", by["ours_nocache"].url("/graphql"), "cheap_gql"),
            ("cheap_beside_heavy", "beside_heavy", by["ours_nocache"].url("/graphql"),
             "cheap_gql"),
        ]  # fmt: skip
        runs: dict[str, dict[str, list[dict[str, float]]]] = {}
        for r in range(rounds):
            # Alternate: each scenario's contenders run back to back, reversed every other round.
            for scenario in dict.fromkeys(s for s, *_ in plan):
                contenders = [p for p in plan if p[0] == scenario]
                for _, name, url, script in contenders[:: -1 if r % 2 else 1]:
                    # "beside_heavy": 2 connections stream the most expensive allowed query
                    # meanwhile (a little longer than the measured run, so it spans it).
                    httpload.settle(servers)
                    server = by.get(name, by["ours_nocache"])
                    with httpload.background(
                        url, scripts["heavy_gql"], seconds + 2, active=name == "beside_heavy"
                    ):
                        got = httpload.wrk(
                            url, scripts[script], seconds, server=server,
                            connections=NAIVE_CONNECTIONS if name == "naive" else 32,
                        )  # fmt: skip
                    runs.setdefault(scenario, {}).setdefault(name, []).append(got.__dict__)
                    log(
                        f"  {scenario:<18} {name:<12} {got.rps:>9.0f} req/s  "
                        f"CPU {got.cpu_ms:7.2f} ms/req  "
                        f"p50 {got.p50_ms:8.2f} ms  p99 {got.p99_ms:8.2f} ms  "
                        f"errors {got.errors} timeouts {got.timeouts}"
                    )
        result["runs"] = runs
        result["server_rss_mb"] = {s.name: _rss_mb(s.process.pid) for s in servers}
    return result


def executor_phase(root: Path, quick: bool, timeout: float) -> dict[str, Any]:
    """Compiled vs reference GraphQL execution, in a process of its own (tests/benchmarks/
    executors.py)."""
    cmd = [sys.executable, "-m", "tests.benchmarks.executors", str(root)]
    if quick:
        cmd += ["--rounds", "3", "--requests", "10"]
    _, _, out, killed = measured(cmd, timeout, cwd=HERE.parents[1])
    if killed or not out.strip():
        return {"error": "timed out" if killed else "no output"}
    found: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    for key in executors.QUESTIONS:
        m = found[key]
        ref, ours = m["reference_ms"], m["compiled_ms"]
        log(f"  {key}: reference {ref:.2f} ms, compiled {ours:.2f} ms CPU per request")
    return found


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status")
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def search_inprocess(root: Path, timeout: float, quick: bool = False) -> dict[str, Any]:
    """One GraphQL search in process (tests/benchmarks/search_speed.py), in a fresh process."""
    cmd = [sys.executable, "-m", "tests.benchmarks.search_speed", str(root)]
    if quick:
        cmd += ["--repeat", "50"]
    wall, rss, out, killed = measured(cmd, timeout, cwd=HERE.parents[1])
    row: dict[str, Any] = {"wall_seconds": wall, "peak_rss_mb": rss, "timed_out": killed}
    if out.strip():
        row.update(json.loads(out.strip().splitlines()[-1]))
    log(
        f"  search in process: first {row.get('first_ms', float('nan')):.2f} ms, "
        f"p50 {row.get('p50_ms', float('nan')):.2f} ms, "
        f"reference p50 {row.get('reference_p50_ms', float('nan')):.2f} ms"
    )
    return row


def carry_over(previous: dict[str, Any], size: str, entry: dict[str, Any], part: str) -> str:
    """Reuse a skipped part's numbers from the last run when they describe the same data: same
    shapes and files, triples within 1% (the seed moved a little). Returns that run's date."""
    before = previous["sizes"].get(size, {})
    if part not in before:
        return ""
    same = all(before.get(k) == entry[k] for k in ("shapes", "files"))
    if not same or abs(before.get("triples", 0) - entry["triples"]) > entry["triples"] / 100:
        return ""
    origin = before.get("carried", {}).get(part) or [previous["date"], before["triples"]]
    entry[part] = before[part]
    entry.setdefault("carried", {})[part] = origin
    return str(origin[0])


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="seed + 10k only, 3 s wrk runs, fewer in-process repeats: under 3 minutes",
    )
    parser.add_argument("--sizes", help="comma-separated: seed,10k,100k,1m")
    parser.add_argument("--seconds", type=int, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, help="alternating rounds of HTTP runs")
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated: cold,jena,http,search,workers,all_cores,executors,second_store,"
        "reload_stall,sparql,sparql-largest (a skipped part reuses the last results.json's "
        "numbers for the same generated data, and RESULTS.md says so)",
    )
    parser.add_argument(
        "--largest",
        default="3m",
        help="the largest graph served from the SPARQL store (3m, 5m or 10m; 10m takes about "
        "half an hour more, most of it generating and loading it once)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="bound on any one step (s)")
    parser.add_argument("--jena-timeout", type=float, default=600, help="bound on one Jena run")
    parser.add_argument(
        "--report-only", action="store_true", help="re-render RESULTS.md from results.json"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="default: tests/benchmarks/RESULTS.md (--quick: data/RESULTS-quick.md beside it)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    # Started in the background, Python ignores SIGINT: make both signals unwind through the
    # `finally` that stops the servers.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupted)
    # A quick smoke run never overwrites the full run's numbers.
    raw = DATA / ("results-quick.json" if args.quick else "results.json")
    args.out = args.out or (DATA / "RESULTS-quick.md" if args.quick else HERE / "RESULTS.md")
    if args.report_only:
        args.out.write_text(report.render(json.loads(raw.read_text()), FINDINGS), encoding="utf-8")
        return 0
    sizes = (args.sizes or ("seed,10k" if args.quick else "seed,10k,100k,1m")).split(",")
    seconds = args.seconds or (3 if args.quick else 10)
    rounds = args.rounds or (1 if args.quick else 2)
    skip = set(filter(None, args.skip.split(",")))
    missing = tools.ensure_tools()
    for item in missing:
        log(f"missing, its part is skipped: {item}")
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "seconds": seconds,
        "rounds": rounds,
        "machine": tools.machine(),
        "versions": tools.versions(),
        "pinning": f"servers: taskset -a -p -c {httpload.SERVER_CPU} (after loading); "
        f"wrk: taskset -c {httpload.CLIENT_CPU}; validation phases and Jena unpinned",
        "sizes": {},
    }
    previous = json.loads(raw.read_text()) if raw.exists() else {"sizes": {}}
    for size in sizes:
        log(f"{size}: generating")
        made = ensure(size)
        entry: dict[str, Any] = {
            "triples": made.triples,
            "files": made.files,
            "shapes": shapes_digest(made.root),
        }
        results["sizes"][size] = entry
        work = made.root / ".bench"
        work.mkdir(exist_ok=True)
        if "cold" not in skip:
            log(f"{size}: cold start phases")
            # quick: of the seed only the reload (its target); every phase from 10k on
            phases = ("reload",) if args.quick and size == "seed" else PHASES
            entry["cold"] = cold_phases(made.root, args.timeout, phases)
        # Jena's time depends on the data and the shapes, not on our code: a quick run reuses
        # the last quick run's Jena numbers for the same generated data (RESULTS says so).
        reused = args.quick and size != "seed" and carry_over(previous, size, entry, "jena")
        if reused:
            log(f"{size}: Jena SHACL carried over from the run of {reused}")
        elif size != "seed" and "jena" not in skip and not any("Jena" in m for m in missing):
            log(f"{size}: Jena SHACL")
            entry["jena"] = jena(made.root, work / "jena", args.jena_timeout)
        if size != "seed" and "search" not in skip:
            log(f"{size}: search in process")
            entry["search"] = search_inprocess(made.root, args.timeout, args.quick)
        # quick: the executors only where the HTTP rows are (the seed adds a process and a build)
        if "executors" not in skip and not (args.quick and size == "seed"):
            log(f"{size}: GraphQL executors in process")
            entry["executors"] = executor_phase(made.root, args.quick, args.timeout)
        if size != "seed" and "http" not in skip and not missing:
            log(f"{size}: HTTP load")
            entry["http"] = http(made.root, work, seconds, rounds, args.timeout)
        if size != "seed" and "workers" not in skip and not missing:
            log(f"{size}: serve --workers 2 vs 1")
            # The ratio of two throughputs on cores wrk shares, on a machine whose speed drifts:
            # each server gets `seconds x rounds` of 2 s bursts in ABBA order (workers_load.py),
            # with at least 4 rounds in full mode (16 bursts each at --seconds 8), so one noisy
            # quad weighs less.
            entry["workers"] = workers_load.measure(
                made.root, seconds, rounds if args.quick else max(rounds, 4), args.timeout
            )
        if size != "seed" and "all_cores" not in skip and not missing:
            log(f"{size}: every core, serve --workers 2 vs Oxigraph, both unpinned")
            store = work / "oxigraph"
            oxigraph_store(made.root, store, args.timeout)
            entry["all_cores"] = all_cores.measure(made.root, store, seconds, rounds, args.timeout)
        # Not in quick mode: publishing to two stores would take the inner loop past 3 minutes.
        if size == "100k" and not args.quick and "second_store" not in skip:
            log(f"{size}: publish and serve --store on Oxigraph and on Virtuoso")
            entry["second_store"] = second_store.measure(size)
        if size != "seed" and "reload_stall" not in skip:
            log(f"{size}: cheap requests during a one-file reload")
            entry["reload_stall"] = reload_stall.measure(
                made.root, list(reload_stall.MODES), args.timeout
            )
        for part in sorted(skip):
            carried = carry_over(previous, size, entry, part)
            if carried:
                log(f"{size}: {part} carried over from the run of {carried}")
        results["total_seconds"] = time.perf_counter() - started
        raw.write_text(json.dumps(results, indent=2))
        args.out.write_text(report.render(results, FINDINGS), encoding="utf-8")
    # Not in quick mode (it would take the inner loop past 3 minutes).
    if "sparql" not in skip and not missing and not args.quick:
        # serve --store against serve at 1M (~6-12 min), then a bigger graph from the store
        # alone: 3M (~2 min to generate once, ~2 min to load, ~3 min for its catalog and the
        # questions). 10M (`python -m tests.benchmarks.sparql_store --largest 10m`) takes about
        # an hour here: 15 min to generate, 22 min to load under load, then its catalog.
        log("SPARQL-backed store")
        largest = None if "sparql-largest" in skip else args.largest
        compared = ["1m" if "1m" in sizes else sizes[-1]]
        results["sparql_store"] = sparql_store.bench(
            compared, largest, 20, previous.get("sparql_store")
        )
    elif previous.get("sparql_store"):
        results["sparql_store"] = {**previous["sparql_store"], "carried": previous["date"]}
    total = time.perf_counter() - started
    results["total_seconds"] = total
    raw.write_text(json.dumps(results, indent=2))
    args.out.write_text(report.render(results, FINDINGS), encoding="utf-8")
    log(f"wrote {args.out} and {raw}")
    log(f"total time: {total:.0f} s ({total / 60:.1f} min, {results['mode']} mode)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
