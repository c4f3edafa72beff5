"""The fast path of `POST /graphql` for answers in the response cache, in plain ASGI.

A cached condition page is 11 kB of bytes already serialized; through Starlette's routing, our two
middlewares, `Request`, `Response` and the metrics it cost 8× the CPU of the bytes themselves.
`CachedAnswers` answers such a request before all of that: it reads the headers and the one body
message, decodes the operation as the endpoint does, and when the cache holds its answer sends it
with the headers the endpoint would (`X-Request-Id`, `X-Dataset-Version`, the negotiated
Content-Type) and hands the same `RequestNote` to the same sinks (metrics, the JSON access log).

Anything else (another method or route, a body in several messages, a header or body the endpoint
would refuse, a persisted-query error, a cache miss) goes on to the app, with the body message it
read replayed: the endpoint then answers as it always has, error codes included.

Clients send the same bodies again and again (one query, one set of variables), so what a body
asks (its query, canonical variables and operation: `response_cache.asked`) is remembered by its
bytes, for bodies without `extensions`: decoding those depends on nothing but the bytes and the
settings (persisted queries, which change as clients register them, are decoded every time).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.types import Message, Receive, Scope, Send

from server.http.media import negotiate
from server.http.request_log import OperationNote, RequestNote, log, new_request_id
from server.http.response_cache import Asked, asked

if TYPE_CHECKING:
    from server.http.app import GraphQLEndpoint

ROUTE = "/graphql"
NEGOTIATED = 64  # Accept headers whose outcome is remembered (clients send a few distinct ones)
DECODED = 1_024  # bodies whose request is remembered; past it the memo starts again
DECODED_BYTES = 8_192  # longer bodies are decoded every time (the memo stays under ~8 MiB)


class CachedAnswers:
    """Answers cache hits of `POST /graphql`; `__call__` returns the `receive` to go on with
    when it did not answer."""

    def __init__(
        self,
        endpoint: GraphQLEndpoint,
        sinks: Sequence[Callable[[RequestNote], None]],
        operation_of: Callable[[Any], tuple[str, dict[str, Any] | None, str | None]],
    ) -> None:
        self.endpoint = endpoint
        self.sinks = tuple(sinks)
        self.operation_of = operation_of  # the endpoint's decoding of a request's operation
        self.max_body = endpoint.settings.max_body_bytes
        self._media: dict[bytes | None, str | None] = {}
        self._asked: dict[bytes, Asked] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        started = time.perf_counter()
        content_type = accept = length = None
        for name, value in scope["headers"]:
            if name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"accept" and accept is None:
                accept = value
            elif name == b"content-length" and length is None:
                length = value
        if (
            content_type is None
            or content_type.split(b";")[0].strip().lower() != b"application/json"
        ):
            return receive
        if length is None or not length.isdigit() or int(length) > self.max_body:
            return receive
        media = self.media(accept)
        message = await receive()
        replay = _replaying(message, receive)
        if media is None or message["type"] != "http.request" or message.get("more_body"):
            return replay
        endpoint = self.endpoint
        request = self.asked(message["body"])
        if request is None:
            return replay
        store = endpoint.holder.current
        cached = endpoint.cache.get((endpoint.state(store), *request))
        if cached is None:
            return replay
        request_id = new_request_id()
        body = endpoint.spliced(store, request_id, cached)
        version = store.version
        note = RequestNote(request_id, "POST", ROUTE, route=ROUTE, status=200, version=version)
        note.operations.append(OperationNote(name=request[2] or None, type="query", cache_hit=True))
        # The headers, in the order, the endpoint's own answer has.
        headers = [
            (b"x-request-id", request_id.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"content-type", media.encode()),
            (b"X-Dataset-Version", version.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        # Noted before the last byte leaves, as `Observed` does.
        note.seconds = time.perf_counter() - started
        for sink in self.sinks:
            try:
                sink(note)
            except Exception:  # a broken sink must not break answers
                log.exception("request %s: noting the request failed", request_id)
        await send({"type": "http.response.body", "body": body})
        return None

    def asked(self, body: bytes) -> Asked | None:
        """What the body asks, decoded as the endpoint does (UTF-8, then JSON, then the
        endpoint's reading of the operation); None: the endpoint says what is wrong with it."""
        try:
            return self._asked[body]
        except KeyError:
            pass
        try:
            payload = json.loads(body.decode("utf-8"))
            if not isinstance(payload, dict):
                return None
            request = asked(*self.operation_of(payload))
        except Exception:  # the endpoint says what is wrong with it
            return None
        if "extensions" not in payload and len(body) <= DECODED_BYTES:
            if len(self._asked) >= DECODED:
                self._asked.clear()
            self._asked[body] = request
        return request

    def media(self, accept: bytes | None) -> str | None:
        """The negotiated media type for an Accept header (None: the endpoint answers 406)."""
        try:
            return self._media[accept]
        except KeyError:
            pass
        media = negotiate(accept.decode("latin-1") if accept is not None else None)
        if len(self._media) < NEGOTIATED:
            self._media[accept] = media
        return media


def _replaying(first: Message, receive: Receive) -> Receive:
    """`receive`, giving back `first` (already read) once before the rest."""
    pending = [first]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay
