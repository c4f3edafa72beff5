"""HTTP routes for content tools that do not speak GraphQL: linked data and plain-JSON facts.

- `GET|HEAD /id/{id}`: every IRI under the base resolves, by content negotiation (HTML, Turtle,
  JSON-LD, N-Triples; `server.content.linked_data`).
- `GET /facts` lists the facts (filtered by `page`, `source`, `about`, `related`, `measure`, as
  GraphQL `facts`); `GET /facts/{id}` is one fact as JSON, worded exactly as the GraphQL `fact`
  field (`server.content.facts.fact_document`).
- `GET /changes?since=<version>`: what changed since a version this server served, as GraphQL
  `changes` answers it (`server.content.changes`); 410 `UNKNOWN_VERSION` when it is not kept.

Every answer is a function of the dataset version and the representation, so each carries an ETag
for both, `Cache-Control` and `Vary: Accept`, and `If-None-Match` answers 304. Bad ids, unknown ids
and unsupported Accept headers get a 4xx with a message, never a traceback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.content.changes import changes_since
from server.content.facts import fact_document
from server.content.linked_data import (
    MAX_ID_LENGTH,
    LinkedDataResponse,
    acceptable,
    negotiate,
    resolve,
    safe_id,
)
from server.content.lookup import UserInputError, find_facts
from server.http.response_cache import LRUCache
from server.model.records import Fact
from server.settings import Settings
from server.store.history import VersionHistory
from server.store.protocol import DatasetChanged, Store, StoreUnavailable

JSON = "application/json"
ID_PATH = "/id/"
# Query parameters of GET /facts: the same filters as GraphQL `facts`.
FACT_FILTERS = ("page", "source", "about", "related", "measure")
# Errors may stop being errors at the next version: clients revalidate them every time.
ERROR_CACHE_CONTROL = "no-cache"
BAD_ID = (
    "ids are one path segment of letters, digits and - . _ ~ "
    f"(at most {MAX_ID_LENGTH} characters, no '..')"
)

PageKey = tuple[str, str, str]  # (dataset version, id, media type)


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks) or `*`."""
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",") if t.strip()}
    return "*" in tags or etag.removeprefix("W/") in tags


def conditional(
    request: Request, etag: str, headers: dict[str, str], make: Callable[[], Response]
) -> Response:
    """304 when the client already holds `etag`, else `make()`; both carry `headers` and ETag."""
    headers = {**headers, "ETag": etag}
    if etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    response = make()
    response.headers.update(headers)
    return response


class ContentRoutes:
    """The handlers of /id and /facts over the store each request was pinned to."""

    def __init__(
        self,
        settings: Settings,
        store_of: Callable[[Request], Store],
        history: VersionHistory | None = None,
    ) -> None:
        self.base_iri = settings.base_iri
        self.store_of = store_of
        self.history = history  # the versions served, for /changes (None: none are kept)
        self.cache_control = f"public, max-age={settings.content_max_age}"
        # Rendering a condition's page takes tens of milliseconds; the bytes never change
        # within a version, so the most requested pages are kept.
        self.pages: LRUCache[PageKey, LinkedDataResponse] = LRUCache(
            settings.response_cache_size,
            max_bytes=settings.response_cache_bytes,
            max_entry_bytes=settings.response_cache_entry_bytes,
        )

    def routes(self) -> list[Route]:
        return [
            Route(ID_PATH + "{id:path}", self.entity, methods=["GET", "HEAD"]),
            Route("/facts", self.fact_list, methods=["GET", "HEAD"]),
            Route("/facts/{id:path}", self.fact, methods=["GET", "HEAD"]),
            Route("/changes", self.changes, methods=["GET", "HEAD"]),
        ]

    # -- /id/{id}

    async def entity(self, request: Request) -> Response:
        store = self.store_of(request)
        raw_id: str = request.path_params["id"]
        accept = request.headers.get("accept")
        media_type, slug = negotiate(accept), safe_id(raw_id)
        key = (store.version, slug, media_type) if slug and media_type else None
        answer = self.pages.get(key) if key else None
        if answer is None:
            try:
                answer = await run_in_threadpool(self._resolve, store, raw_id, accept)
            except (DatasetChanged, StoreUnavailable) as exc:
                return Response(
                    f"503 Service unavailable: {exc}\n",
                    503,
                    {"Cache-Control": ERROR_CACHE_CONTROL, "Retry-After": "5"},
                    "text/plain; charset=utf-8",
                )
            if key and answer.status == 200:
                self.pages.put(key, answer)
        headers = dict(answer.headers)
        if answer.status != 200:
            headers["Cache-Control"] = ERROR_CACHE_CONTROL
            return Response(answer.body, answer.status, headers, answer.media_type)
        etag = headers.pop("ETag")
        headers["Cache-Control"] = self.cache_control
        return conditional(
            request,
            etag,
            headers,
            lambda: Response(answer.body, 200, media_type=answer.media_type),
        )

    def _resolve(self, store: Store, raw_id: str, accept: str | None) -> LinkedDataResponse:
        # In a worker thread: the first request of a version may build the store's indexes.
        return resolve(
            store,
            raw_id,
            accept,
            base_iri=self.base_iri,
            id_path=ID_PATH,
            version=store.version,
        )

    # -- /facts and /facts/{id}

    async def fact_list(self, request: Request) -> Response:
        store = self.store_of(request)
        refused = self._refuse_accept(request, store)
        if refused is not None:
            return refused

        params = request.query_params
        unknown_params = sorted(set(params) - set(FACT_FILTERS))
        if unknown_params:
            allowed = ", ".join(FACT_FILTERS)
            message = f"unknown parameter {unknown_params[0]!r}; /facts takes {allowed}"
            return self._error(store, 400, message, "BAD_PARAMETER")
        try:
            found = find_facts(
                store,
                page=params.get("page"),
                source=params.get("source"),
                about=params.get("about"),
                related=params.get("related", "false").lower() == "true",
                measure=params.get("measure"),
            )
            found = tuple(found)  # read here: a store that cannot answer is a 503 below
        except UserInputError as exc:
            return self._error(store, 400, str(exc), exc.code, **exc.extensions)
        except StoreUnavailable as exc:
            return self._error(store, 503, str(exc), exc.code)

        def make() -> Response:
            facts = sorted(found, key=lambda f: f.id)
            items = [
                {"id": f.id, "label": f.label(), "href": f"/facts/{f.id}", "iri": f.iri}
                for f in facts
            ]
            body = {"facts": items, "count": len(items), "datasetVersion": store.version}
            return JSONResponse(body)

        # The filters are part of what the ETag stands for.
        query = hashlib.sha256(str(sorted(params.multi_items())).encode()).hexdigest()[:12]
        return conditional(request, f'"{store.version}-facts-{query}"', self._headers(), make)

    async def fact(self, request: Request) -> Response:
        store = self.store_of(request)
        raw_id: str = request.path_params["id"]
        slug = safe_id(raw_id)
        if slug is None:  # as for /id: a bad id is refused whatever the client accepts
            return self._error(store, 400, f"bad fact id: {BAD_ID}", "BAD_ID")
        refused = self._refuse_accept(request, store)
        if refused is not None:
            return refused
        try:
            found = store.entity(slug)
        except StoreUnavailable as exc:
            return self._error(store, 503, str(exc), exc.code)
        if not isinstance(found, Fact):
            message = f"no fact has the id {slug!r}"
            if found is not None:
                message += f" ({slug!r} is a {found.kind}: see {ID_PATH}{slug})"
            return self._error(store, 404, message + "; GET /facts lists them", "NOT_FOUND")
        fact = found
        return conditional(
            request,
            f'"{store.version}-fact"',
            self._headers(),
            lambda: JSONResponse(fact_document(fact, store)),
        )

    # -- /changes

    async def changes(self, request: Request) -> Response:
        store = self.store_of(request)
        refused = self._refuse_accept(request, store)
        if refused is not None:
            return refused
        params = request.query_params
        since = params.get("since")
        if since is None or sorted(set(params)) != ["since"]:
            message = "/changes takes one parameter, since=<a dataset version this server served>"
            return self._error(store, 400, message, "BAD_PARAMETER")
        history = self.history or VersionHistory(store, 0)
        try:
            # Off the event loop: the comparison is linear in the subjects of the graph.
            found = await run_in_threadpool(changes_since, history, store, since)
        except UserInputError as exc:
            # Gone: the version is not (or no longer) kept; the client starts over.
            return self._error(store, 410, str(exc), exc.code, **exc.extensions)
        # The answer is a function of the pair of versions (the ETag), but a feed is asked to
        # learn of a new version at once: revalidated every time (a 304 while there is none).
        return conditional(
            request,
            f'"{store.version}-changes-{hashlib.sha256(since.encode()).hexdigest()[:12]}"',
            {"Cache-Control": "no-cache", "Vary": "Accept"},
            lambda: JSONResponse({**found.to_json(), "datasetVersion": store.version}),
        )

    def _headers(self) -> dict[str, str]:
        return {"Cache-Control": self.cache_control, "Vary": "Accept"}

    def _refuse_accept(self, request: Request, store: Store) -> Response | None:
        if acceptable(request.headers.get("accept"), JSON):
            return None
        return self._error(
            store,
            406,
            f"facts are served as {JSON} only; send Accept: {JSON} (or */*)",
            "NOT_ACCEPTABLE",
            supported=[JSON],
        )

    def _error(
        self, store: Store, status: int, message: str, code: str, **extra: Any
    ) -> JSONResponse:
        body = {"error": message, "code": code, **extra, "datasetVersion": store.version}
        headers = {"Cache-Control": ERROR_CACHE_CONTROL, "Vary": "Accept"}
        return JSONResponse(body, status_code=status, headers=headers)
