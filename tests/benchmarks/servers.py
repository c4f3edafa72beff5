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
    from server.serve.startup import settle_heap
    from server.settings import Settings
    from server.store.protocol import StoreHolder
    from server.store.snapshot import build_snapshot

    # The snapshot of a project the cold-start phases already validated; loaded, not revalidated.
    settings = Settings.from_env()
    loaded = load(Path(os.environ["BENCH_ROOT"]), settings=settings)
    holder = StoreHolder(build_snapshot(loaded, settings))
    del loaded
    settle_heap()  # as `clinic-kg serve` does before it listens
    sys.setswitchinterval(0.001)  # as `clinic-kg serve` does (server/cli/serve.py)
    return create_app(settings, holder)


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
