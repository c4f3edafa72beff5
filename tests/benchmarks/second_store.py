"""A second SPARQL product beside Oxigraph: the same `publish` and `serve --store` on Virtuoso 7.2.

    python -m tests.benchmarks.second_store [--size 100k] [--conditions 20] [--out FILE]

The generated project (tests/benchmarks/generate.py) is published with `clinic-kg publish`'s own
code to a fresh Oxigraph server and to a fresh private Virtuoso (tests/virtuoso_server.py), each
through the Graph Store HTTP Protocol; then `clinic-kg serve --store` over each is asked the
benchmark's GraphQL questions (tests/benchmarks/sparql_store.py's: a condition page, 50 facts, a
search), cold then warm, one request at a time. Reported side by side: publish seconds (the
upload's PUTs apart), p50 latency per question, and CPU seconds per request of `serve` and of
the store (from /proc/<pid>/stat), taken in the same run. Virtuoso is installed with apt if
missing (as root); without it the section says so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from server.settings import Settings
from server.steward.graph_store import GraphStore, credentials_from_env, endpoints
from server.steward.publish import publish

from . import httpload, tools
from .generate import ensure
from .sparql_store import ask, questions, summary

READY_TIMEOUT = 1800.0
PUBLISH_TIMEOUT = 1800.0
# The package's own service stays off: no DBA password is given, so its postinst disables it;
# the bench (and the tests) run private instances.
DEBCONF = (
    "virtuoso-opensource-7 virtuoso-opensource-7/dba-password password \n"
    "virtuoso-opensource-7 virtuoso-opensource-7/dba-password-again password \n"
)


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[second-store bench {stamp}] {message}", file=sys.stderr, flush=True)


def ensure_virtuoso() -> str | None:
    """Install Debian's Virtuoso when missing (as root); None when it is there, else why not."""
    if shutil.which("virtuoso-t"):
        return None
    if os.geteuid() != 0:
        return "virtuoso-t is missing (apt-get install virtuoso-opensource, as root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["debconf-set-selections"], input=DEBCONF, text=True, check=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "virtuoso-opensource"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return None if shutil.which("virtuoso-t") else "apt-get install virtuoso-opensource failed"


class TimedGraphStore(GraphStore):
    """The store `publish` talks to, with the seconds its PUTs (the upload) took."""

    put_seconds = 0.0

    def put(self, graph: str, body: bytes) -> None:
        started = time.perf_counter()
        try:
            super().put(graph, body)
        finally:
            self.put_seconds += time.perf_counter() - started


@contextmanager
def oxigraph(work: Path) -> Iterator[dict[str, Any]]:
    port = httpload.free_port()
    cmd = [str(tools.oxigraph_cli()), "serve", "--location", str(work / "oxigraph"), "--bind"]
    server = httpload.start("oxigraph", [*cmd, f"{httpload.HOST}:{port}"], {}, port, work)
    try:
        httpload.wait_ready(server, READY_TIMEOUT)
        url = f"http://{httpload.HOST}:{port}"
        yield {"pid": server.process.pid, "endpoints": endpoints(url), "env": {}}
    finally:
        httpload.stop(server)


@contextmanager
def virtuoso(work: Path) -> Iterator[dict[str, Any]]:
    from tests.virtuoso_server import start_virtuoso

    # 8 KiB pages of cache: ~800 MB, Virtuoso's advice for a few million triples.
    with start_virtuoso(work / "virtuoso", buffers=100_000) as store:
        where = endpoints(store.url, store.gsp_url, store.query_url)
        yield {"pid": store.process.pid, "endpoints": where, "env": store.publish_env()}


def measure_store(
    name: str, store: dict[str, Any], root: Path, asked: list[Any], work: Path
) -> dict[str, Any]:
    """Publish `root` to the store, then ask `serve --store` over it; the numbers."""
    settings = Settings()
    credentials = credentials_from_env(store["env"])
    started = time.perf_counter()
    with TimedGraphStore(store["endpoints"], credentials, PUBLISH_TIMEOUT) as client:
        done = publish(root, client, settings)
    publish_seconds = time.perf_counter() - started
    if done.failure is not None or not done.switched:
        raise RuntimeError(f"publish to {name} failed: {done.failure or done.report.summary()}")
    log(f"{name}: published {done.triples} triples in {publish_seconds:.1f} s")
    port = httpload.free_port()
    env = {"CLINIC_KG_RESPONSE_CACHE_SIZE": "0", "CLINIC_KG_STARTUP_CACHE": "false"}
    cmd = [sys.executable, "-m", "server", "serve", "--root", str(root), "--host", httpload.HOST]
    cmd += ["--port", str(port), "--store", store["endpoints"].query]
    began = time.perf_counter()
    server = httpload.start(f"serve-{name}", cmd, env, port, work)
    try:
        httpload.wait_ready(server, READY_TIMEOUT)
        ready = time.perf_counter() - began
        latency: dict[str, Any] = {}
        cpu: dict[str, Any] = {}
        for rounds in ("cold", "warm"):
            before = (httpload.cpu_seconds(server.process.pid), httpload.cpu_seconds(store["pid"]))
            samples: dict[str, list[tuple[float, str | None]]] = {}
            for label, query, variables in asked:
                samples.setdefault(label, []).append(ask(server.url("/graphql"), query, variables))
            after = (httpload.cpu_seconds(server.process.pid), httpload.cpu_seconds(store["pid"]))
            for label, values in samples.items():
                latency[f"{label}, {rounds}"] = summary(values)
            cpu[rounds] = {
                "serve": (after[0] - before[0]) / len(asked),
                "store": (after[1] - before[1]) / len(asked),
            }
    finally:
        httpload.stop(server)
    return {
        "triples": done.triples,
        "publish_seconds": publish_seconds,
        "upload_seconds": client.put_seconds,
        "serve_ready_seconds": ready,
        "latency_ms": latency,
        "cpu_seconds_per_request": cpu,
    }


def measure(size: str = "100k", conditions: int = 20) -> dict[str, Any]:
    """Both stores on the same generated project, one after the other, in this run; a failure
    is reported in the section, not the end of `make bench`."""
    try:
        missing = ensure_virtuoso()
        if missing:
            return {"size": size, "missing": missing}
        return _measure(size, conditions)
    # The instance's helpers fail as pytest does (an exception outside Exception's tree).
    except (Exception, pytest.fail.Exception, pytest.skip.Exception) as exc:
        log(f"{size}: second store failed: {exc}")
        return {"size": size, "error": f"{type(exc).__name__}: {exc}"[:500]}


def _measure(size: str, conditions: int) -> dict[str, Any]:
    made = ensure(size)
    asked = questions(made.root, conditions)
    stores: dict[str, Any] = {}
    for name, start in (("oxigraph", oxigraph), ("virtuoso", virtuoso)):
        log(f"{size}: {name}")
        with (
            tempfile.TemporaryDirectory(prefix=f"clinic-kg-{name}-bench-") as folder,
            start(Path(folder)) as store,
        ):
            stores[name] = measure_store(name, store, made.root, asked, Path(folder))
    return {
        "size": size,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg()[0],
        "requests": len(asked),
        "stores": stores,
        "versions": versions(),
    }


def versions() -> dict[str, str]:
    found = {}
    for name, cmd in (("oxigraph", [str(tools.oxigraph_cli()), "--version"]),
                      ("virtuoso", ["virtuoso-t", "-?"])):  # fmt: skip
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
        except OSError:
            found[name] = "?"
            continue
        text = done.stdout + done.stderr
        line = next((ln for ln in text.splitlines() if "Version" in ln or "oxigraph" in ln), "?")
        found[name] = line.strip()
    return found


def section(results: dict[str, Any]) -> list[str]:
    """The RESULTS.md section: per measured size, the two stores side by side."""
    lines = ["## Second SPARQL product", ""]
    found = {
        k: e["second_store"] for k, e in results.get("sizes", {}).items() if "second_store" in e
    }
    if not found:
        return [*lines, "Not measured in this run (`make bench` measures it at 100k).", ""]
    for size, result in found.items():
        lines += _table(size, result)
    return lines


def _table(size: str, result: dict[str, Any]) -> list[str]:
    if "missing" in result or "error" in result:
        return [f"{size}: not measured: {result.get('missing') or result.get('error')}.", ""]
    ox, vt = result["stores"]["oxigraph"], result["stores"]["virtuoso"]
    lines = [
        f"The {size} project ({ox['triples']} triples) published with `clinic-kg publish`'s "
        "code through the Graph Store HTTP Protocol to Oxigraph and to Virtuoso (Digest "
        f"authentication), then `serve --store` over each asked {result['requests']} GraphQL "
        "questions, one at a time, cold then warm; one store after the other in the same run "
        f"({result.get('date', '?')}, load average {result.get('load_average', float('nan')):.1f} "
        "on the shared machine), nothing pinned: compare the two columns, not across runs. "
        "Versions: " + "; ".join(f"{k}: {v}" for k, v in result["versions"].items()) + ".",
        "",
        "| | Oxigraph | Virtuoso | Virtuoso / Oxigraph |",
        "|---|---|---|---|",
    ]

    def row(label: str, a: float, b: float) -> None:
        ratio = f"{b / a:.2f}" if a else "-"
        lines.append(f"| {label} | {a:.1f} | {b:.1f} | {ratio} |")

    row("publish, s (validation included)", ox["publish_seconds"], vt["publish_seconds"])
    row("of which the upload's PUTs, s", ox["upload_seconds"], vt["upload_seconds"])
    row("`serve --store` ready, s", ox["serve_ready_seconds"], vt["serve_ready_seconds"])
    for question in ox["latency_ms"]:
        a, b = ox["latency_ms"][question], vt["latency_ms"][question]
        row(f"{question}: p50 ms", a["p50"], b["p50"])
        if a["failed"] or b["failed"]:
            lines.append(f"| ↳ failed (codes) | {a['failed']} | {b['failed']} {b['errors']} | |")
    for rounds in ("cold", "warm"):
        for part in ("serve", "store"):
            a = ox["cpu_seconds_per_request"][rounds][part] * 1000
            b = vt["cpu_seconds_per_request"][rounds][part] * 1000
            row(f"CPU ms per request, {part} process, {rounds}", a, b)
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100k", help="seed, 10k, 100k or 1m")
    parser.add_argument("--conditions", type=int, default=20, help="distinct conditions asked")
    parser.add_argument("--out", type=Path, help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    result = measure(args.size, args.conditions)
    print("\n".join(section({"sizes": {args.size: {"second_store": result}}})))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
