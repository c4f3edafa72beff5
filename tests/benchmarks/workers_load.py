"""`serve --workers 2` against `--workers 1`: wrk on the uncached condition page, rotating ids.

    python -m tests.benchmarks.workers_load ROOT [--seconds 10] [--rounds 2]

Both servers are the real `clinic-kg serve` (response cache off, so every request executes
GraphQL), unpinned: the point is to use every core. wrk runs pinned to CPU 0 as in the main HTTP
benchmark, so on a 2-core machine it competes with the second worker: the ratio is a floor.

On this shared VM the CPU time one request costs drifts by up to 1.7x within a minute (the same
work, measured adjacent 3 s apart), more than the effect measured. So both servers run side by
side (the idle one costs nothing) and wrk loads them in short bursts, in ABBA order (1, 2, 2, 1
workers, repeated): each quad's ratio sees the machine's speed at nearly the same moment, and a
linear drift cancels within it. The ratio is that of the mean req/s over every burst; the quads'
own ratios show the spread. Both servers are warmed first (their resolver memos, one per worker,
fill as in steady state). The measured time per server is `seconds x rounds` as before.

Prints one JSON line, with the servers' CPU time per request (parent and workers, from /proc),
which depends less on the machine's load than req/s; `make bench` stores it as the size's
"workers" part.

The target is 2 workers against one "on 2 free cores". wrk's own CPU is measured per burst (its
rusage once waited for): one worker uses one core whatever wrk takes of the other, two share the
2 cores less wrk's part. So each 2-worker burst's req/s is also given as on 2 free cores, req/s x
2 / (2 - wrk's cores), and `ratio_free_cores` is that against one worker; `ratio` is as measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path
from typing import Any

from . import httpload
from .queries import CONDITION_PAGE, graphql_body, ids_in

COUNTS = (1, 2)
# Each burst is this long: short enough that adjacent bursts see the machine at the same speed.
BURST_SECONDS = 2


def serve_cmd(root: Path, port: int, workers: int) -> list[str]:
    return [
        sys.executable, "-c", "from server.cli import main; main()", "serve", "--root", str(root),
        "--host", httpload.HOST, "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip


def cpu_by_process(pid: int) -> dict[int, float]:
    """CPU time (user + system) of a process and of each of its children running now, by pid."""
    tick = os.sysconf("SC_CLK_TCK")
    times = {}
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for each in (pid, *map(int, children)):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        times[each] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return times


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children that are running now."""
    return sum(cpu_by_process(pid).values())


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's children that have been waited for."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def burst_plan(seconds: int, rounds: int) -> tuple[int, int]:
    """(quads, burst seconds): ABBA quads of bursts that give each server `seconds x rounds`."""
    burst = min(BURST_SECONDS, seconds)
    quads = max(1, round(seconds * rounds / (2 * burst)))
    return quads, burst


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
    servers = {}
    for count in COUNTS:
        port = httpload.free_port()
        servers[str(count)] = httpload.start(
            f"workers-{count}", serve_cmd(root, port, count), env, port, work
        )
    quads, burst = burst_plan(seconds, rounds)
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in servers}
    quad_ratios: list[float] = []
    with httpload.running(list(servers.values())):
        for server in servers.values():  # answered by a worker, not only the bound socket
            httpload.wait_ready(server, timeout, "/readyz")
        for server in servers.values():
            httpload.wrk(server.url("/graphql"), script, seconds)  # warm-up, not counted
        for _ in range(quads):
            quad: dict[str, float] = dict.fromkeys(servers, 0.0)
            for n in ("1", "2", "2", "1"):
                server = servers[n]
                before = cpu_by_process(server.process.pid)  # the parent and every worker
                client = _children_cpu()
                got = httpload.wrk(server.url("/graphql"), script, burst)
                client = _children_cpu() - client  # wrk's own CPU seconds (a waited child)
                after = cpu_by_process(server.process.pid)
                # each process's CPU seconds in the burst, the parent first: a worker that idles
                # while the other works shows here (a replaced worker would count from zero)
                used = [round(t - before.get(pid, 0.0), 3) for pid, t in after.items()]
                row = {
                    **got.__dict__,
                    "cpu_ms_per_request": sum(used) * 1000 / max(1, got.requests),
                    "cpu_seconds_by_process": used,
                    "client_cores": client / burst,
                    # req/s on 2 free cores: the servers had 2 cores less what wrk used
                    "rps_free_cores": got.rps * 2 / max(0.5, 2 - client / burst),
                }
                runs[n].append(row)
                quad[n] += got.rps
                print(
                    f"[workers] {n} worker(s): {got.rps:.0f} req/s, p50 {got.p50_ms:.1f} ms, "
                    f"p99 {got.p99_ms:.1f} ms, errors {got.errors}, "
                    f"CPU {row['cpu_ms_per_request']:.2f} ms/request, load {got.load_before:.1f}",
                    file=sys.stderr,
                    flush=True,
                )
            if quad["1"]:
                quad_ratios.append(quad["2"] / quad["1"])
    mean = {n: sum(r["rps"] for r in rs) / len(rs) for n, rs in runs.items()}
    # One worker uses one core whatever wrk takes of the other; two share what wrk leaves.
    free = sum(r["rps_free_cores"] for r in runs["2"]) / len(runs["2"])
    return {
        "runs": runs,
        "rps": mean,
        "ratio": mean["2"] / mean["1"] if mean["1"] else None,
        "ratio_free_cores": free / mean["1"] if mean["1"] else None,
        "design": {"quads": quads, "burst_seconds": burst, "warm_seconds": seconds},
        "quad_ratios": quad_ratios,
    }


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
