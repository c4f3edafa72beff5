"""Side by side in one run: uvicorn's h11 and httptools protocols (setting http_parser) under
the issue 12 targets they move, with the server CPU time per request from /proc.

    python -m tests.benchmarks.parsers ROOT [--seconds 5] [--rounds 2]
        [--parts pinned|rotating,all_cores,lanes]

Variants of our server: `before` (h11, every execution in a worker thread), `httptools` (its
parser only) and `after` (serve's defaults: httptools, cheap executions on the event loop).
pinned: one server per variant (response cache off) on the uncached condition page over
rotating ids against Oxigraph (`serve-read-only` on ROOT/.bench/oxigraph, which `make bench`
loads and optimizes), and with the response cache on, the cached page against the ceiling app
served with the same parser; every server pinned to one CPU, wrk to the other, as `make bench`
runs them. all_cores: `serve --workers 2` with each parser against Oxigraph, nothing pinned
(tests/benchmarks/all_cores.py). lanes: the cheap query alone and beside the heavy one.
Contenders alternate, reversed every other round.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from . import httpload, tools
from .__main__ import SEED_CONDITION, oxigraph_store, post
from .queries import CHEAP, CONDITION_PAGE, KG, condition_sparql, graphql_body, heavy, ids_in
from .workers_load import cpu_seconds, serve_cmd

PARSERS = ("h11", "httptools")
# Our server's variants: parser and settings (`make bench` runs the defaults).
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    "before": ("h11", {"CLINIC_KG_INLINE_QUERY_COST": "0"}),  # h11, every execution in a thread
    "httptools": ("httptools", {"CLINIC_KG_INLINE_QUERY_COST": "0"}),
    "after": ("httptools", {}),  # serve's defaults: httptools, cheap executions inline
}
# BENCH_BEFORE=DIR: `before` runs the code of DIR (an export of an earlier commit, e.g. `git
# archive BASE | tar -x -C DIR`) with this venv, as it ran then (h11, uvicorn's own protocol).
BEFORE = os.environ.get("BENCH_BEFORE")


def _from(variant: str, cmd: list[str]) -> tuple[list[str], dict[str, Any]]:
    """`cmd` and httpload.start's keywords for a variant (see BEFORE)."""
    if variant != "before" or not BEFORE:
        return cmd, {}
    if "--http" in cmd:
        cmd = [*cmd]
        cmd[cmd.index("--http") + 1] = "h11"
    return cmd, {"cwd": Path(BEFORE)}


GRAPHQL = "application/json"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def pinned(
    root: Path, work: Path, seconds: int, rounds: int, timeout: float, cached: bool = True
) -> dict[str, Any]:
    conditions, _ = ids_in(root)
    store = work / "oxigraph"
    oxigraph_store(root, store, timeout)
    scripts = {
        "rotating": httpload.lua_script(
            work / "p_rotating.lua",
            [graphql_body(CONDITION_PAGE, {"id": c}) for c in conditions],
            GRAPHQL,
        ),
        "rotating_sparql": httpload.lua_script(
            work / "p_rotating_sparql.lua",
            [condition_sparql(KG + c) for c in conditions],
            "application/sparql-query",
            "application/sparql-results+json",
        ),
        "cached": httpload.lua_script(
            work / "p_cached.lua",
            [graphql_body(CONDITION_PAGE, {"id": SEED_CONDITION})],
            GRAPHQL,
        ),
    }
    env = {"BENCH_ROOT": str(root)}
    servers = []
    for variant, (parser, extra) in VARIANTS.items():
        for cache in ("nocache", "cache") if cached else ("nocache",):
            port = httpload.free_port()
            nocache = {"CLINIC_KG_RESPONSE_CACHE_SIZE": "0"} if cache == "nocache" else {}
            cmd, where = _from(
                variant, httpload.uvicorn_cmd("tests.benchmarks.servers:ours", port, parser)
            )
            servers.append(
                httpload.start(
                    f"ours_{cache}_{variant}",
                    cmd,
                    {**env, **extra, **nocache, "PYTHONDONTWRITEBYTECODE": "1"},
                    port,
                    work,
                    **where,
                )
            )
    port = httpload.free_port()
    servers.append(
        httpload.start(
            "oxigraph",
            [
                str(tools.oxigraph_cli()),
                "serve-read-only",
                "--location",
                str(store),
                "--bind",
                f"{httpload.HOST}:{port}",
            ],
            {},
            port,
            work,
        )
    )
    with httpload.running(servers):
        for server in servers:
            httpload.wait_ready(server, timeout)
        by = {s.name: s for s in servers}
        bodies = work / "p_ceiling"
        bodies.mkdir(exist_ok=True)
        answer = post(by["ours_nocache_before"].url("/graphql"), _first(scripts["cached"]), GRAPHQL)
        (bodies / "condition_gql.json").write_bytes(answer)
        for parser in PARSERS if cached else ():
            port = httpload.free_port()
            ceiling = httpload.start(
                f"ceiling_{parser}",
                httpload.uvicorn_cmd("tests.benchmarks.servers:ceiling", port, parser),
                {"BENCH_BODIES": str(bodies)}, port, work,
            )  # fmt: skip
            servers.append(ceiling)
            httpload.wait_ready(ceiling, timeout)
            by[ceiling.name] = ceiling
        for server in servers:
            httpload.pin(server)
        plan = [("rotating", "oxigraph", "/query", "rotating_sparql")]
        plan += [("rotating", f"ours_nocache_{v}", "/graphql", "rotating") for v in VARIANTS]
        if cached:
            plan += [("cached", f"ours_cache_{v}", "/graphql", "cached") for v in VARIANTS]
            plan += [("cached", f"ceiling_{p}", "/condition_gql", "cached") for p in PARSERS]
        runs: dict[str, list[dict[str, float]]] = {}
        for r in range(rounds):
            for scenario, name, path, script in plan[:: -1 if r % 2 else 1]:
                httpload.settle(servers)
                got = httpload.wrk(by[name].url(path), scripts[script], seconds, server=by[name])
                runs.setdefault(f"{scenario}/{name}", []).append(got.__dict__)
                _say(
                    f"  {scenario:<9} {name:<22} {got.rps:>8.0f} req/s  CPU {got.cpu_ms:6.3f} "
                    f"ms/req  p50 {got.p50_ms:7.2f}  p99 {got.p99_ms:7.2f} ms  "
                    f"errors {got.errors + got.timeouts}  load {got.load_before:.1f}"
                )
    return runs


def _first(script: Path) -> str:
    text = script.read_text(encoding="utf-8")
    return text.split("[==[", 1)[1].split("]==]", 1)[0]


def all_cores(root: Path, work: Path, seconds: int, rounds: int, timeout: float) -> dict[str, Any]:
    conditions, _ = ids_in(root)
    store = work / "oxigraph"
    oxigraph_store(root, store, timeout)
    gql = httpload.lua_script(
        work / "p_all_gql.lua", [graphql_body(CONDITION_PAGE, {"id": c}) for c in conditions],
        GRAPHQL,
    )  # fmt: skip
    sparql = httpload.lua_script(
        work / "p_all_sparql.lua", [condition_sparql(KG + c) for c in conditions],
        "application/sparql-query", "application/sparql-results+json",
    )  # fmt: skip
    contenders = ["oxigraph", *(f"workers2_{v}" for v in VARIANTS)]
    runs: dict[str, list[dict[str, float]]] = {}
    for r in range(rounds):
        for name in contenders[:: -1 if r % 2 else 1]:
            port = httpload.free_port()
            if name == "oxigraph":
                cmd = [str(tools.oxigraph_cli()), "serve-read-only", "--location", str(store),
                       "--bind", f"{httpload.HOST}:{port}"]  # fmt: skip
                path, env, script = "/query", {}, sparql
            else:
                cmd, path, script = serve_cmd(root, port, 2), "/graphql", gql
                parser, extra = VARIANTS[name.removeprefix("workers2_")]
                env = {
                    "CLINIC_KG_RESPONSE_CACHE_SIZE": "0",
                    "CLINIC_KG_HTTP_PARSER": parser,
                    **extra,
                }
            cmd, where = _from(name.removeprefix("workers2_"), cmd)
            server = httpload.start(f"p-{name}", cmd, env, port, work, **where)
            with httpload.running([server]):
                httpload.wait_ready(server, timeout)
                httpload.wrk(server.url(path), script, 1)  # warm-up, not counted
                cpu = cpu_seconds(server.process.pid)
                got = httpload.wrk(server.url(path), script, seconds)
                cpu = cpu_seconds(server.process.pid) - cpu
            row = {**got.__dict__, "cpu_ms": cpu * 1000 / got.requests if got.requests else None}
            runs.setdefault(name, []).append(row)
            _say(
                f"  all cores {name:<18} {got.rps:>8.0f} req/s  CPU {row['cpu_ms'] or 0:6.3f} "
                f"ms/req  p50 {got.p50_ms:7.2f}  p99 {got.p99_ms:7.2f} ms  "
                f"errors {got.errors + got.timeouts}  load {got.load_before:.1f}"
            )
    return runs


def lanes(root: Path, work: Path, seconds: int, rounds: int, timeout: float) -> dict[str, Any]:
    """The cheap query alone and beside 2 connections streaming the most expensive allowed one
    (`make bench`'s cheap_beside_heavy), before and after, pinned, response cache off."""
    cheap = httpload.lua_script(
        work / "p_cheap.lua", [graphql_body(CHEAP, {"id": SEED_CONDITION})], GRAPHQL
    )
    heavy_script = httpload.lua_script(
        work / "p_heavy.lua", [graphql_body(heavy(SEED_CONDITION), {})], GRAPHQL
    )
    servers = []
    for variant in ("before", "after"):
        parser, extra = VARIANTS[variant]
        port = httpload.free_port()
        cmd, where = _from(
            variant, httpload.uvicorn_cmd("tests.benchmarks.servers:ours", port, parser)
        )
        env = {"BENCH_ROOT": str(root), "CLINIC_KG_RESPONSE_CACHE_SIZE": "0", **extra}
        servers.append(httpload.start(f"lanes_{variant}", cmd, env, port, work, **where))
    runs: dict[str, list[dict[str, float]]] = {}
    with httpload.running(servers):
        for server in servers:
            httpload.wait_ready(server, timeout)
            httpload.pin(server)
        order = [(s, beside) for s in servers for beside in (False, True)]
        for r in range(rounds):
            for server, beside in order[:: -1 if r % 2 else 1]:
                httpload.settle(servers)
                url = server.url("/graphql")
                with httpload.background(url, heavy_script, seconds + 2, active=beside):
                    got = httpload.wrk(url, cheap, seconds, server=server)
                name = f"{server.name}/{'beside_heavy' if beside else 'alone'}"
                runs.setdefault(name, []).append(got.__dict__)
                _say(
                    f"  {name:<26} {got.rps:>8.0f} req/s  CPU {got.cpu_ms:6.3f} ms/req  "
                    f"p50 {got.p50_ms:7.2f}  p99 {got.p99_ms:7.2f} ms  "
                    f"errors {got.errors + got.timeouts}  load {got.load_before:.1f}"
                )
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--parts", default="pinned,all_cores")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)
    args.root = args.root.resolve()  # `before` may run from another folder
    work = args.root / ".bench"
    work.mkdir(exist_ok=True)
    found: dict[str, Any] = {}
    for part in args.parts.split(","):
        _say(f"{args.root.name}: {part}")
        if part in ("all_cores", "lanes"):
            measure = all_cores if part == "all_cores" else lanes
            found[part] = measure(args.root, work, args.seconds, args.rounds, args.timeout)
        else:  # pinned, or rotating (pinned without the cached page)
            found[part] = pinned(
                args.root, work, args.seconds, args.rounds, args.timeout, part == "pinned"
            )
    print(json.dumps(found), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
