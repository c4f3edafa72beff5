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
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
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
from server.http.cached_answers import CachedAnswers
from server.http.content_routes import ContentRoutes, conditional, etag_matches
from server.http.front import Front, lane_work
from server.http.graphql_errors import format_error, internal_message, request_error
from server.http.lanes import Execution, LanedContext, Lanes, Work
from server.http.media import GRAPHQL_RESPONSE, JSON, negotiate
from server.http.metrics import Metrics
from server.http.persisted import PersistedQueries, PersistedQueryError
from server.http.request_log import Observed, OperationNote, RequestNote, request_note, sinks_for
from server.http.response_cache import ResponseCache, cache_key
from server.schema import ClinicSchema, build_schema
from server.schema.base import NotHere, Usage
from server.schema.compiled import CompiledExecutor
from server.schema.execution import ExecutionTimeout
from server.schema.serialize import serialized
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


@dataclass(frozen=True)
class Answer:
    """One executed (or refused) GraphQL operation: its body and its HTTP status for each media
    type. GraphQL over HTTP: `application/json` answers 200 to every well-formed request, whatever
    its GraphQL errors; `application/graphql-response+json` says 4xx when nothing was executed
    (parse, validation, variables, cost) and 5xx when the server stopped the execution."""

    body: dict[str, Any] | bytes
    graphql_status: int = 200
    codes: tuple[str, ...] = ()  # the error codes of a body already serialized

    def status(self, media: str) -> int:
        return self.graphql_status if media == GRAPHQL_RESPONSE else 200

    @property
    def error_codes(self) -> tuple[str, ...]:
        if isinstance(self.body, bytes):
            return self.codes
        return tuple(e["extensions"]["code"] for e in self.body.get("errors", ()))


class GraphQLEndpoint:
    """Turns HTTP requests into schema executions against the current store."""

    def __init__(self, settings: Settings, holder: StoreHolder, schema: ClinicSchema) -> None:
        self.settings = settings
        self.holder = holder
        self.schema = schema
        self.cache = ResponseCache(
            settings.response_cache_size,
            max_bytes=settings.response_cache_bytes,
            max_entry_bytes=settings.response_cache_entry_bytes,
        )
        # Executions run in worker threads, so the event loop keeps answering /healthz, cached
        # queries and cheap ones while an expensive one runs; each lane bounds how many run (and
        # hold their results in memory) at once, and heavy executions give way to lighter work
        # (server/http/lanes.py).
        self.lanes = Lanes(settings.execution_threads, settings.heavy_query_cost)
        self.persisted = PersistedQueries(settings, schema._schema)
        self.compiled = CompiledExecutor(schema, settings)
        # Cheap executions run on the event loop (see run_inline), never a heavy one; only with
        # the cost limiter, whose cost, known before any resolver runs, says which are cheap.
        self.inline_cost = (
            min(settings.inline_query_cost, settings.heavy_query_cost)
            if settings.inline_query_cost > 0 and self.compiled.hooked
            else None
        )
        self._version_json: tuple[str, bytes] = ("", b"")

    async def handle(self, request: Request) -> Response:
        note = request_note(request.scope)  # filled for metrics and the access log
        request_id = note.id
        store = current_store(request)
        media = negotiate(request.headers.get("accept"))
        try:
            if request.method in ("GET", "HEAD"):
                return await self.get(request, store, request_id, media)
            if request.method == "POST":
                return await self.post(request, store, request_id, media)
            raise RequestError(
                405,
                f"method {request.method} is not allowed; use GET or POST",
                "METHOD_NOT_ALLOWED",
            )
        except RequestError as exc:
            note.refuse(exc.code)
            body = self.body(store, request_id, errors=[request_error(exc.message, exc.code)])
            headers = {"Allow": "GET, POST"} if exc.status == 405 else None
            if exc.status == 408:  # the rest of a late body may still come: do not read it
                headers = {"Connection": "close"}
            return self.respond(exc.status, body, request_id, media, headers)
        except PersistedQueryError as exc:  # hash unknown, not in the safelist, …: not executed
            note.refuse(exc.code)
            body = self.body(store, request_id, errors=[request_error(exc.message, exc.code)])
            no_store = {"Cache-Control": "no-store"}
            return self.respond(exc.status(media), body, request_id, media, no_store)
        except Exception:
            log.exception(
                "request %s: unexpected error",
                request_id,
                extra={"fields": {"request_id": request_id}},
            )
            note.refuse("INTERNAL_SERVER_ERROR")
            error = request_error(internal_message(request_id), "INTERNAL_SERVER_ERROR")
            return self.respond(
                500, self.body(store, request_id, errors=[error]), request_id, media
            )

    async def get(
        self, request: Request, store: Store, request_id: str, media: str | None
    ) -> Response:
        params = request.query_params
        if "query" not in params and "extensions" not in params:
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
        media = acceptable(media)
        variables = _variables(json_text(params["variables"]) if "variables" in params else None)
        extensions = _extensions(
            json_text(params["extensions"]) if "extensions" in params else None
        )
        query = self.persisted.resolve(params.get("query"), extensions)
        operation = params.get("operationName") or None
        digest = hashlib.sha256(
            "\0".join([query, json.dumps(variables, sort_keys=True), operation or ""]).encode()
        ).hexdigest()[:16]
        # The media type is part of what the answer depends on (its status and Content-Type).
        etag = f'"{self.state(store)}-{digest}{"-json" if media == JSON else ""}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept"}
        if etag_matches(request.headers.get("if-none-match", ""), etag):
            return Response(status_code=304, headers={**headers, VERSION_HEADER: store.version})
        answer = await self.execute(
            store, query, variables, operation, request_id, request_note(request.scope),
            lane_work(request.scope),
        )  # fmt: skip
        status = answer.status(media)
        ok = answer.graphql_status == 200
        return self.respond(status, answer.body, request_id, media, headers if ok else None)

    async def post(
        self, request: Request, store: Store, request_id: str, media: str | None
    ) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            shown = content_type or "none"
            raise RequestError(
                415,
                f"Content-Type must be application/json (got {shown})",
                "UNSUPPORTED_MEDIA_TYPE",
            )
        media = acceptable(media)
        raw = await self.read_body(request)
        if not raw.strip():
            raise RequestError(
                400, 'request body is empty; send a JSON object {"query": "..."}', "BAD_REQUEST"
            )
        payload = json_text(raw.decode("utf-8", errors="replace"))
        note = request_note(request.scope)
        work = lane_work(request.scope)
        if isinstance(payload, list):
            return await self.batch(payload, store, request_id, media, note, work)
        query, variables, operation = _operation(payload, self.persisted)
        answer = await self.execute(store, query, variables, operation, request_id, note, work)
        return self.respond(answer.status(media), answer.body, request_id, media)

    async def batch(
        self,
        payload: list[Any],
        store: Store,
        request_id: str,
        media: str,
        note: RequestNote,
        work: Work,
    ) -> Response:
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
            query, variables, operation = _operation(item, self.persisted)
            answer = await self.execute(store, query, variables, operation, request_id, note, work)
            results.append(_json_bytes(answer.body))
        return self.respond(200, b"[" + b",".join(results) + b"]", request_id, media)

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
        # A body trickling in a byte at a time would hold the connection (and its buffers) for
        # hours: the whole body must arrive within http_body_timeout of the headers.
        with anyio.move_on_after(self.settings.http_body_timeout) as waited:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:  # a chunked body declares no length; stop reading at the limit
                    raise too_big
                chunks.append(chunk)
        if waited.cancelled_caught:
            raise RequestError(
                408,
                f"the request body did not arrive within {self.settings.http_body_timeout} s "
                "(http_body_timeout); send it at once",
                "REQUEST_TIMEOUT",
            )
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
        note: RequestNote,
        work: Work | None = None,
    ) -> Answer:
        """Run one operation in a worker thread of its lane (or reuse its cached result); `note`
        what it did."""
        noted = note.operation(operation)
        key = cache_key(self.state(store), query, variables, operation)
        cached = self.cache.get(key)
        noted.cache_hit = cached is not None
        if cached is not None:
            noted.type = "query"  # only the data of executed queries is kept
            return Answer(self.spliced(store, request_id, cached))
        usage = Usage()
        inline: tuple[Answer, bytes | None] | bool | None = None
        tried = False  # on the event loop already (not again in its lane)
        lanes = self.lanes
        if (
            self.inline_cost is not None
            and not lanes.queued()
            and lanes.may_run_inline(query, operation)
        ):
            tried = True
            inline = self.run_inline(store, query, variables, operation, request_id, usage)
        if isinstance(inline, tuple):
            answer, data = inline
        else:
            lane = lanes.admitted(work or Work(counted=False), query, operation)
            async with lane as execution:
                # Its turn in the lane; a cheap one (that waited behind others) runs on the loop.
                if (
                    not tried
                    and self.inline_cost is not None
                    and lanes.inline_text(query, operation)
                ):
                    inline = self.run_inline(store, query, variables, operation, request_id, usage)
                if isinstance(inline, tuple):
                    answer, data = inline
                else:
                    plan = inline is None  # else the plan ran already and left it to the reference
                    answer, data = await anyio.to_thread.run_sync(
                        self.run, store, query, variables, operation, request_id, usage, execution,
                        plan,
                    )  # fmt: skip
        if data is not None:
            self.cache.put(key, data)
        _note(noted, answer, usage)
        return answer

    def run_inline(
        self,
        store: Store,
        query: str,
        variables: dict[str, Any] | None,
        operation: str | None,
        request_id: str,
        usage: Usage,
    ) -> tuple[Answer, bytes | None] | bool | None:
        """A cheap execution on the event loop, where handing it to a worker thread would cost
        more CPU than it does: only the compiled plan, and only when the request's cost (known
        before any resolver runs) is at most `inline_query_cost`. None: run it in its lane;
        False: the plan left it to the reference executor (run that in its lane). Its CPU time
        is told to the lanes, which send a text slow here to its lane."""
        started = time.thread_time()
        context = LanedContext(
            store=store,
            settings=self.settings,
            holder=self.holder,
            request_id=request_id,
            deadline=time.monotonic() + self.settings.execution_timeout_ms / 1000,
            usage=usage,
            inline_cost=self.inline_cost,
        )
        try:
            compiled = self.compiled.execute(query, variables, operation, context)
        except NotHere:
            return None
        finally:
            self.lanes.ran_inline(query, operation, time.thread_time() - started)
        if compiled is None:
            return False
        if len(compiled) > self.settings.max_response_bytes:
            return self.too_large(store, request_id, len(compiled)), None
        return Answer(self.spliced(store, request_id, compiled)), compiled

    def run(
        self,
        store: Store,
        query: str,
        variables: dict[str, Any] | None,
        operation: str | None,
        request_id: str,
        usage: Usage | None = None,
        execution: Execution | None = None,
        plan: bool = True,
    ) -> tuple[Answer, bytes | None]:
        """Execute and serialize, in a worker thread: the answer, and the `data` bytes to cache
        when the execution succeeded."""
        settings = self.settings
        context = LanedContext(
            store=store,
            settings=settings,
            holder=self.holder,
            request_id=request_id,
            deadline=time.monotonic() + settings.execution_timeout_ms / 1000,
            usage=usage or Usage(),
            execution=execution,
        )
        # The compiled plan first (server/schema/compiled.py): the same bytes as the reference
        # executor, at a fraction of its CPU; None when it does not cover the request or
        # anything would be an error, which the reference path below then reports.
        compiled = self.compiled.execute(query, variables, operation, context) if plan else None
        if compiled is not None:
            if len(compiled) > settings.max_response_bytes:
                return self.too_large(store, request_id, len(compiled)), None
            return Answer(self.spliced(store, request_id, compiled)), compiled
        try:
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
        except ExecutionTimeout:
            message = (
                f"the query ran longer than {settings.execution_timeout_ms:,} ms "
                "(execution_timeout_ms) and was stopped; ask for smaller pages, fewer ids or "
                "fewer nested lists"
            )
            error = request_error(message, "EXECUTION_TIMEOUT")
            return Answer(self.body(store, request_id, errors=[error]), 503), None
        errors = [format_error(e, request_id) for e in result.errors or []]
        if result.errors and all(e.path is None for e in result.errors):
            # Errors without a path are the request's (syntax, validation, limits, variables):
            # nothing was executed.
            return Answer(self.body(store, request_id, errors=errors), 400), None
        if not errors and result.data is not None:
            data = serialized(result.data, context.serialize_checkpoint).encode()
            if len(data) > settings.max_response_bytes:
                return self.too_large(store, request_id, len(data)), None
            return Answer(self.spliced(store, request_id, data)), data
        body = _json_bytes(
            self.body(store, request_id, data=result.data, errors=errors, executed=True)
        )
        if len(body) > settings.max_response_bytes:
            return self.too_large(store, request_id, len(body)), None
        return Answer(body, codes=tuple(e["extensions"]["code"] for e in errors)), None

    def too_large(self, store: Store, request_id: str, size: int) -> Answer:
        message = (
            f"the response would be {size:,} bytes, more than {self.settings.max_response_bytes:,}"
            " (max_response_bytes); ask for smaller pages, fewer ids or fewer fields"
        )
        error = request_error(message, "RESPONSE_TOO_LARGE")
        return Answer(self.body(store, request_id, errors=[error]), 400)

    def spliced(self, store: Store, request_id: str, data: bytes) -> bytes:
        """`{"data": …, "extensions": …}` around already serialized data (the bytes of
        `_json_bytes` of that object)."""
        version = store.version
        if self._version_json[0] != version:  # the version's part, made once per version
            self._version_json = (
                version,
                b',"extensions":{"datasetVersion":' + _json_bytes(version),
            )
        return b"".join(
            (
                b'{"data":',
                data,
                self._version_json[1],
                b',"requestId":',
                # Our ids are hex digits (request_log.new_request_id): nothing to escape.
                b'"' + request_id.encode() + b'"'
                if request_id.isalnum()
                else _json_bytes(request_id),
                b"}}",
            )
        )

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
        media: str | None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        return Response(
            body if isinstance(body, bytes) else _json_bytes(body),
            status_code=status,
            media_type=media or JSON,
            headers={**(headers or {}), "X-Request-Id": request_id},
        )


def _note(noted: OperationNote, answer: Answer, usage: Usage) -> None:
    """What an executed (or refused) operation was and how it ended, for metrics and logs."""
    noted.name = usage.operation_name or noted.name
    noted.type, noted.cost = usage.operation_type, usage.cost
    noted.codes = answer.error_codes
    noted.refused = answer.graphql_status != 200


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


def _operation(
    payload: Any, persisted: PersistedQueries
) -> tuple[str, dict[str, Any] | None, str | None]:
    if not isinstance(payload, dict):
        raise RequestError(
            400, 'request body must be a JSON object {"query": "..."}', "BAD_REQUEST"
        )
    query = payload.get("query")
    extensions = _extensions(payload.get("extensions"))
    hashed = query is None and "persistedQuery" in (extensions or {})  # named by its hash
    if not hashed and (not isinstance(query, str) or not query.strip()):
        raise RequestError(
            400, "missing `query`: the JSON object needs a non-empty string `query`", "BAD_REQUEST"
        )
    operation = payload.get("operationName")
    if operation is not None and not isinstance(operation, str):
        raise RequestError(400, "`operationName` must be a string or null", "BAD_REQUEST")
    variables = _variables(payload.get("variables"))
    return persisted.resolve(query, extensions), variables, operation or None


def _variables(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise RequestError(400, "`variables` must be a JSON object or null", "BAD_REQUEST")


def acceptable(media: str | None) -> str:
    """The negotiated media type of a GraphQL answer; 406 when the client accepts none."""
    if media is None:
        raise RequestError(
            406,
            f"the Accept header names no media type /graphql answers with: accept "
            f"{GRAPHQL_RESPONSE} or {JSON}",
            "NOT_ACCEPTABLE",
        )
    return media


def _extensions(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise RequestError(400, "`extensions` must be a JSON object or null", "BAD_REQUEST")


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
    sinks = sinks_for(settings)
    if settings.metrics:
        metrics = Metrics(
            holder, {"graphql": endpoint.cache, "id_pages": content.pages}, endpoint.lanes
        )
        routes.append(Route("/metrics", metrics.endpoint, methods=["GET", "HEAD"]))
        sinks.append(metrics.observe)
    app = Starlette(routes=routes)
    app.state.graphql = endpoint
    app.state.content = content
    app.add_middleware(VersionHeader, holder=holder)
    app.add_middleware(Observed, sinks=sinks)  # times everything inside
    cached = CachedAnswers(endpoint, sinks, lambda payload: _operation(payload, endpoint.persisted))
    # Outermost: counts lighter work in flight, answers cache hits of POST /graphql.
    app.add_middleware(Front, lanes=endpoint.lanes, cached=cached)
    return app
