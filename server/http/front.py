"""The outermost ASGI layer: every HTTP request is lighter work in flight until answered, and
`POST /graphql` answers from the response cache take a fast path.

Heavy GraphQL executions pause at their checkpoints while any lighter request is in flight
(server/http/lanes.py); this layer counts them, from the moment the app sees a request to its
last byte sent, and leaves in `scope["state"]` the `Work` an execution of the request marks heavy.
Cache hits of `POST /graphql` are answered by `server.http.cached_answers` before Starlette.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from server.http.cached_answers import ROUTE, CachedAnswers
from server.http.lanes import Lanes, Work

WORK_KEY = "clinic_kg_work"


def lane_work(scope: Scope) -> Work:
    """The request's `Work` (a detached one, never counted, without this layer)."""
    work = scope.get("state", {}).get(WORK_KEY)
    return work if isinstance(work, Work) else Work(counted=False)


class Front:
    """ASGI middleware, outermost: counts each HTTP request as lighter work while it runs."""

    def __init__(self, app: ASGIApp, lanes: Lanes, cached: CachedAnswers | None = None) -> None:
        self.app = app
        self.lanes = lanes
        self.cached = cached

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        work = self.lanes.enter()
        scope.setdefault("state", {})[WORK_KEY] = work
        try:
            if self.cached is not None and scope["method"] == "POST" and scope["path"] == ROUTE:
                going_on = await self.cached(scope, receive, send)
                if going_on is None:  # answered from the cache
                    return
                receive = going_on
            await self.app(scope, receive, send)
        finally:
            self.lanes.leave(work)
