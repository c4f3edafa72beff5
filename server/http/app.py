"""The HTTP application: /graphql (POST JSON, GET with query params, GraphiQL), /healthz, /readyz,
and the content routes /id/{id} and /facts (`server.http.content_routes`).

Built from the settings and a `StoreHolder`; `clinic-kg serve` and the tests build the same app.
Every response carries the dataset version it was answered from (`X-Dataset-Version`, and
`extensions.datasetVersion` in GraphQL bodies); every GET answer an ETag for that version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from server.http import graphiql
from server.http.content_routes import ContentRoutes, conditional, etag_matches
from server.http.graphql_errors import format_error, internal_message, request_error
from server.http.response_cache import ResponseCache, cache_key
from server.schema import ClinicSchema, Context, build_schema
from server.settings import Settings
from server.store.protocol import Store, StoreHolder

log = logging.getLogger("clinic_kg.http")
VERSION_HEADER = "X-Dataset-Version"
STORE_KEY = "clinic_kg_store"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class RequestError(Exception):
    """A request the server will not execute: its HTTP status, message and error code."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class GraphQLEndpoint:
    """Turns HTTP requests into schema executions against the current store."""

    def __init__(self, settings: Settings, holder: StoreHolder, schema: ClinicSchema) -> None:
        self.settings = settings
        self.holder = holder
        self.schema = schema
        self.cache = ResponseCache(settings.response_cache_size)

    async def handle(self, request: Request) -> Response:
        request_id = uuid.uuid4().hex[:16]
        store = current_store(request)
        try:
            if request.method in ("GET", "HEAD"):
                return await self.get(request, store, request_id)
            if request.method == "POST":
                return await self.post(request, store, request_id)
            raise RequestError(
                405,
                f"method {request.method} is not allowed; use GET or POST",
                "METHOD_NOT_ALLOWED",
            )
        except RequestError as exc:
            body = self.body(store, request_id, errors=[request_error(exc.message, exc.code)])
            headers = {"Allow": "GET, POST"} if exc.status == 405 else None
            return self.respond(exc.status, body, request_id, headers)
        except Exception:
            log.exception("request %s: unexpected error", request_id)
            error = request_error(internal_message(request_id), "INTERNAL_SERVER_ERROR")
            return self.respond(500, self.body(store, request_id, errors=[error]), request_id)

    async def get(self, request: Request, store: Store, request_id: str) -> Response:
        params = request.query_params
        if "query" not in params:
            if self.settings.graphiql and "text/html" in request.headers.get("accept", ""):
                return conditional(
                    request,
                    f'"{store.version}-graphiql"',
                    {"Cache-Control": "no-cache", "Vary": "Accept"},
                    lambda: HTMLResponse(graphiql.page(store.version)),
                )
            raise RequestError(
                400,
                "missing `query`: pass the GraphQL query as the `query` URL "
                'parameter, or POST a JSON object {"query": ...}',
                "BAD_REQUEST",
            )
        query = params["query"]
        variables = _variables(json_text(params["variables"]) if "variables" in params else None)
        operation = params.get("operationName") or None
        digest = hashlib.sha256(
            "\0".join([query, json.dumps(variables, sort_keys=True), operation or ""]).encode()
        ).hexdigest()[:16]
        etag = f'"{self.state(store)}-{digest}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag_matches(request.headers.get("if-none-match", ""), etag):
            return Response(status_code=304, headers={**headers, VERSION_HEADER: store.version})
        status, body = await self.execute(store, query, variables, operation, request_id)
        return self.respond(status, body, request_id, headers if status == 200 else None)

    async def post(self, request: Request, store: Store, request_id: str) -> Response:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            shown = media or "none"
            raise RequestError(
                415,
                f"Content-Type must be application/json (got {shown})",
                "UNSUPPORTED_MEDIA_TYPE",
            )
        raw = await self.read_body(request)
        if not raw.strip():
            raise RequestError(
                400, 'request body is empty; send a JSON object {"query": "..."}', "BAD_REQUEST"
            )
        payload = json_text(raw.decode("utf-8", errors="replace"))
        if isinstance(payload, list):
            return await self.batch(payload, store, request_id)
        query, variables, operation = _operation(payload)
        status, body = await self.execute(store, query, variables, operation, request_id)
        return self.respond(status, body, request_id)

    async def batch(self, payload: list[Any], store: Store, request_id: str) -> Response:
        if not self.settings.allow_batching:
            raise RequestError(
                400,
                "batching is disabled: send one operation per request, as a "
                "JSON object rather than an array",
                "BATCHING_DISABLED",
            )
        # Each operation of a batch costs as much as an alias: both multiply the work per request.
        limit = self.settings.max_aliases
        if not payload or len(payload) > limit:
            raise RequestError(
                400,
                f"a batch holds 1 to {limit} operations (max_aliases); got {len(payload)}",
                "BAD_REQUEST",
            )
        results = []
        for item in payload:
            query, variables, operation = _operation(item)
            results.append(
                _json_bytes((await self.execute(store, query, variables, operation, request_id))[1])
            )
        return self.respond(200, b"[" + b",".join(results) + b"]", request_id)

    async def read_body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        too_big = RequestError(
            413,
            f"request body is larger than {limit:,} bytes (max_body_bytes)",
            "PAYLOAD_TOO_LARGE",
        )
        if declared.isdigit() and int(declared) > limit:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:  # a chunked body declares no length; stop reading at the limit
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)

    def state(self, store: Store) -> str:
        """What an answer depends on: the dataset version and, for `dataset { lastReloadError }`,
        the last rejected reload. Cache keys and ETags use it, so neither serves a stale error."""
        error = self.holder.last_reload_error
        return store.version if error is None else f"{store.version}.{error.at.timestamp():.6f}"

    async def execute(
        self,
        store: Store,
        query: str,
        variables: dict[str, Any] | None,
        operation: str | None,
        request_id: str,
    ) -> tuple[int, dict[str, Any] | bytes]:
        """Run one operation (or reuse its cached result); the status and the JSON body."""
        key = cache_key(self.state(store), query, variables, operation)
        cached = self.cache.get(key)
        if cached is not None:
            return 200, self.spliced(store, request_id, cached)
        context = Context(
            store=store, settings=self.settings, holder=self.holder, request_id=request_id
        )
        try:
            # Synchronously: every resolver reads the in-memory snapshot, so nothing would be
            # awaited; the async executor only interleaved concurrent requests field by field,
            # so under load each one finished late (p99 ~10x p50). One at a time, in order.
            result = self.schema.execute_sync(
                query,
                variables,
                context_value=context,
                operation_name=operation,
                allowed_operation_types=(OperationType.QUERY,),
            )
        except MissingQueryError:
            raise RequestError(400, "missing `query`", "BAD_REQUEST") from None
        except InvalidOperationTypeError:
            raise RequestError(
                400, "only queries are served: this API is read-only", "OPERATION_NOT_ALLOWED"
            ) from None
        except CannotGetOperationTypeError:
            raise RequestError(
                400,
                f"unknown operation {operation!r}: name one of the document's "
                "operations in `operationName`",
                "BAD_REQUEST",
            ) from None
        errors = [format_error(e, request_id) for e in result.errors or []]
        if result.errors and all(e.path is None for e in result.errors):
            # Errors without a path are the request's (syntax, validation, limits, variables):
            # nothing was executed.
            return 400, self.body(store, request_id, errors=errors)
        if not errors and result.data is not None:
            data = _json_bytes(result.data)
            self.cache.put(key, data)
            return 200, self.spliced(store, request_id, data)
        return 200, self.body(store, request_id, data=result.data, errors=errors, executed=True)

    def spliced(self, store: Store, request_id: str, data: bytes) -> bytes:
        """`{"data": …, "extensions": …}` around already serialized data."""
        extensions = {"datasetVersion": store.version, "requestId": request_id}
        return b'{"data":' + data + b',"extensions":' + _json_bytes(extensions) + b"}"

    def body(
        self,
        store: Store,
        request_id: str,
        *,
        data: Any = None,
        errors: list[dict[str, Any]] | None = None,
        executed: bool = False,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if errors:
            body["errors"] = errors
        if data is not None or executed:  # "data": null says execution ran and failed
            body["data"] = data
        body["extensions"] = {"datasetVersion": store.version, "requestId": request_id}
        return body

    def respond(
        self,
        status: int,
        body: Any,
        request_id: str,
        headers: dict[str, str] | None = None,
    ) -> Response:
        return Response(
            body if isinstance(body, bytes) else _json_bytes(body),
            status_code=status,
            media_type="application/json",
            headers={**(headers or {}), "X-Request-Id": request_id},
        )


def _json_bytes(value: Any) -> bytes:
    """JSON as Starlette's JSONResponse writes it (compact, UTF-8)."""
    if isinstance(value, bytes):
        return value
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def json_text(text: str | bytes) -> Any:
    """The decoded JSON of a request; anything `json` cannot decode is the client's 400."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
    except RecursionError:
        # The decoder recurses once per level: about 1,000 levels (a 2 kB body) exhaust the stack.
        reason = "arrays and objects are nested too deeply to read; nest them less deeply"
    except ValueError as exc:  # e.g. an integer longer than Python converts (4,300 digits)
        reason = str(exc).split(";")[0]
    raise RequestError(400, f"request is not valid JSON: {reason}", "BAD_REQUEST")


def _operation(payload: Any) -> tuple[str, dict[str, Any] | None, str | None]:
    if not isinstance(payload, dict):
        raise RequestError(
            400, 'request body must be a JSON object {"query": "..."}', "BAD_REQUEST"
        )
    query = payload.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(
            400, "missing `query`: the JSON object needs a non-empty string `query`", "BAD_REQUEST"
        )
    operation = payload.get("operationName")
    if operation is not None and not isinstance(operation, str):
        raise RequestError(400, "`operationName` must be a string or null", "BAD_REQUEST")
    return query, _variables(payload.get("variables")), operation or None


def _variables(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise RequestError(400, "`variables` must be a JSON object or null", "BAD_REQUEST")


def current_store(request: Request) -> Store:
    """The store `VersionHeader` pinned for this request."""
    store: Store = request.scope["state"][STORE_KEY]
    return store


class VersionHeader:
    """ASGI middleware: every response, whatever route made it, names the dataset version."""

    def __init__(self, app: ASGIApp, holder: StoreHolder) -> None:
        self.app = app
        self.holder = holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Pin the store for the whole request: a swap meanwhile must not mix two versions
        # between the header and the body.
        store = self.holder.current
        scope.setdefault("state", {})[STORE_KEY] = store
        version = store.version

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != VERSION_HEADER.lower().encode()
                ]
                headers.append((VERSION_HEADER.encode(), version.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_version)


def create_app(settings: Settings, holder: StoreHolder) -> Starlette:
    """The ASGI app serving `holder.current`; swap the holder's store to serve a new version."""
    endpoint = GraphQLEndpoint(settings, holder, build_schema(settings))
    content = ContentRoutes(settings, current_store, holder.history)

    def status(request: Request, name: str, body: Callable[[Store], dict[str, Any]]) -> Response:
        # Monitors must see a change at once: revalidated every time, keyed like GraphQL GETs
        # (the version and the last rejected reload). The tag is taken before the body is read,
        # so a reload failing in between can only make the tag older than the body, never newer.
        store = current_store(request)
        etag = f'"{endpoint.state(store)}-{name}"'
        return conditional(
            request, etag, {"Cache-Control": "no-cache"}, lambda: JSONResponse(body(store))
        )

    def health(store: Store) -> dict[str, Any]:
        # Alive and serving; a rejected reload (serve --watch) is reported, not fatal.
        error = holder.last_reload_error
        return {
            "status": "ok",
            "datasetVersion": store.version,
            "lastReloadError": error.message if error else None,
            "lastReloadErrorAt": error.at.isoformat() if error else None,
        }

    def readiness(store: Store) -> dict[str, Any]:
        error = holder.last_reload_error
        return {
            "status": "ready",
            "datasetVersion": store.version,
            "loadedAt": store.loaded_at.isoformat(),
            "lastReloadError": error.message if error else None,
        }

    async def healthz(request: Request) -> Response:
        return status(request, "healthz", health)

    async def readyz(request: Request) -> Response:
        return status(request, "readyz", readiness)

    routes: list[Route | Mount] = [
        Route("/graphql", endpoint.handle, methods=ALL_METHODS),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *content.routes(),
    ]
    if settings.graphiql:
        routes.append(Mount(graphiql.STATIC_PATH, StaticFiles(directory=graphiql.STATIC_DIR)))
    app = Starlette(routes=routes)
    app.state.graphql = endpoint
    app.state.content = content
    app.add_middleware(VersionHeader, holder=holder)
    return app
