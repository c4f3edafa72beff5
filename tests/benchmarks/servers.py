"""ASGI apps the HTTP benchmark serves with uvicorn (`--factory`), configured by environment:

- `ours`: the real app (`server.http.app.create_app`) over a snapshot of BENCH_ROOT;
- `ceiling`: bare Starlette answering POST /<name> with the bytes of BENCH_BODIES/<name>.json;
- `naive`: bare Starlette running the SPARQL in the request body with rdflib over BENCH_ROOT.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def ours() -> Starlette:
    from server.http.app import create_app
    from server.load.loader import load
    from server.settings import Settings
    from server.store.heap import settle_heap
    from server.store.protocol import StoreHolder
    from server.store.snapshot import build_snapshot

    # The snapshot of a project the cold-start phases already validated; loaded, not revalidated.
    settings = Settings.from_env()
    loaded = load(Path(os.environ["BENCH_ROOT"]), settings=settings)
    holder = StoreHolder(build_snapshot(loaded, settings))
    del loaded
    settle_heap()  # as `clinic-kg serve` does before it listens
    sys.setswitchinterval(0.001)  # as `clinic-kg serve` does (server/cli/serve.py)
    if os.environ.get("BENCH_GC_LOG"):
        _log_collections()
    return create_app(settings, holder)


def _log_collections() -> None:
    """BENCH_GC_LOG=1: every collection of the oldest generation, its length and the objects it
    walked, to the server's log (what a tail under load may come from)."""
    import gc
    import time

    started = [0.0]

    def note(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            started[0] = time.perf_counter()
            return
        ms = (time.perf_counter() - started[0]) * 1000
        print(f"gc gen2 {ms:.1f} ms, tracked {len(gc.get_objects(2))}", file=sys.stderr, flush=True)

    gc.callbacks.append(note)


def ceiling() -> Starlette:
    bodies = {p.stem: p.read_bytes() for p in Path(os.environ["BENCH_BODIES"]).glob("*.json")}

    async def answer(request: Request) -> Response:
        await request.body()
        return Response(bodies[request.path_params["name"]], media_type="application/json")

    return Starlette(routes=[Route("/{name}", answer, methods=["POST"])])


def naive() -> Starlette:
    from server.load.loader import load

    loaded = load(Path(os.environ["BENCH_ROOT"]))
    graph = loaded.data + loaded.ontology

    async def answer(request: Request) -> Response:
        query = (await request.body()).decode("utf-8")
        result = graph.query(query)
        rows = [
            {str(k): str(v) for k, v in row.asdict().items()}  # type: ignore[union-attr]
            for row in result
        ]
        return Response(json.dumps({"rows": rows}), media_type="application/json")

    return Starlette(routes=[Route("/query", answer, methods=["POST"])])
