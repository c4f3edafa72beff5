"""A small SPARQL 1.1 Protocol client over HTTP, and the per-request budget that meters it.

Queries go to one query endpoint (Oxigraph server's `/query`, Fuseki's `/<dataset>/query`, ...)
as form-encoded POSTs: SELECT answers are read as SPARQL JSON results, CONSTRUCT answers as
N-Triples streamed through Oxigraph's parser, both into the rdflib terms the graph reader reads.
The standard library's `http.client` with one kept-alive connection per thread: no dependency,
and on loopback a query costs a fraction of a millisecond of HTTP.

Every query is charged to a `Budget`: at most so many queries, and at most so much time, per
client request. Exceeding either, or a store that does not answer, raises `StoreUnavailable`
with a stable code, which reaches GraphQL clients as an error code (STORE_BUDGET_EXCEEDED,
STORE_TIMEOUT, STORE_UNAVAILABLE).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

import httpx
import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Identifier, Node

from server.store.protocol import StoreUnavailable

log = logging.getLogger("clinic_kg.store")
# How a kept connection that cannot serve the next request fails: dropped, and the request sent
# again on a new one.
_STALE = (
    http.client.RemoteDisconnected,
    http.client.ImproperConnectionState,
    ConnectionResetError,
    BrokenPipeError,
)

Row = dict[str, Node]
Triple = tuple[Node, Node, Node]
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
# Virtuoso's header on an answer it truncated at its ResultSetMaxRows.
_MAX_ROWS = "X-SPARQL-MaxRows"
# Credentials for a store that asks for them (Basic, or Digest when challenged) come from the
# environment, never a URL that would show in logs and process lists.
USER_ENV, PASSWORD_ENV = "CLINIC_KG_STORE_USER", "CLINIC_KG_STORE_PASSWORD"
BUDGET_EXCEEDED, TIMEOUT, UNAVAILABLE = (
    "STORE_BUDGET_EXCEEDED",
    "STORE_TIMEOUT",
    "STORE_UNAVAILABLE",
)


@dataclass
class Budget:
    """What one client request may still spend on the store: queries, and time until a deadline.

    Not thread-safe on purpose: one request runs its resolvers one at a time."""

    queries: int
    seconds: float
    deadline: float = field(init=False)
    spent: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def charge(self) -> float:
        """Count one query; the seconds it may take. Raises StoreUnavailable when spent."""
        if self.spent >= self.queries:
            raise StoreUnavailable(
                f"this request needs more than {self.queries} queries to the SPARQL store "
                "(store_query_budget): ask for fewer items or fields per request",
                BUDGET_EXCEEDED,
            )
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.timed_out()
        self.spent += 1
        return left

    def timed_out(self) -> StoreUnavailable:
        return StoreUnavailable(
            f"the SPARQL store took longer than {self.seconds:g} s for this request "
            "(store_timeout_ms): try again, or ask for less",
            TIMEOUT,
        )


def unlimited() -> Budget:
    """For the work done once per dataset version (indexes, vocabulary), not by a request."""
    return Budget(queries=1 << 62, seconds=3600.0)


class SparqlClient:
    """POSTs SPARQL queries to one endpoint; thread-safe (a connection per thread)."""

    def __init__(self, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL of a SPARQL query endpoint: {endpoint!r}")
        self.endpoint = endpoint
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._local = threading.local()
        self._headers = {"Content-Type": "application/x-www-form-urlencoded"}
        user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
        self._digest: _Digest | None = None
        if user is not None:
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
            self._digest = _Digest(user, password or "")

    def select(self, query: str, budget: Budget) -> list[Row]:
        """The rows of a SELECT (or ASK: no rows) query, unbound variables left out."""
        body = self._post(query, "application/sparql-results+json", budget)
        try:
            results: dict[str, Any] = json.loads(body)
            return [
                {name: _term(value) for name, value in binding.items()}
                for binding in results["results"]["bindings"]
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreUnavailable(
                f"the SPARQL store answered something that is not SPARQL JSON results: {exc}",
                UNAVAILABLE,
            ) from None

    def construct(self, query: str, budget: Budget) -> Iterator[Triple]:
        """The triples of a CONSTRUCT query."""
        return parse_ntriples(self._post(query, "application/n-triples", budget))

    def construct_lines(self, query: str, budget: Budget) -> Iterator[bytes]:
        """The N-Triples lines of a CONSTRUCT query, read from the network as they come: an
        answer of any size is never held whole (a catalog build reads every label this way)."""
        sent = self._send(query, "application/n-triples", budget, stream=True)
        response = cast(http.client.HTTPResponse, sent)
        done = False
        try:
            for line in response:
                if line.strip():
                    yield line
            done = True
        except (OSError, http.client.HTTPException) as exc:
            raise StoreUnavailable(
                f"the SPARQL store at {self.endpoint} stopped answering: {exc}", UNAVAILABLE
            ) from None
        finally:
            if not done:  # the rest of the answer is still on the connection: not reusable
                self._drop()

    def _post(self, query: str, accept: str, budget: Budget) -> bytes:
        return cast(bytes, self._send(query, accept, budget, stream=False))

    def _send(
        self, query: str, accept: str, budget: Budget, *, stream: bool
    ) -> bytes | http.client.HTTPResponse:
        """The answer's body, or with `stream` the response to read it from."""
        timeout = budget.charge()
        payload = urlencode({"query": query}).encode()
        probe = False  # asking, without credentials, which ones the store wants
        for attempt in (1, 2, 3):
            headers = {**self._headers, "Accept": accept}
            if self._digest is not None and self._digest.wanted:
                headers["Authorization"] = self._digest.header(self._path)
            elif probe:
                del headers["Authorization"]
            connection = self._connection()
            connection.timeout = timeout
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
            try:
                connection.request("POST", self._path, payload, headers)
                response = connection.getresponse()
                if stream and response.status == 200:
                    return response
                body = response.read()
            except TimeoutError:
                self._drop()
                log.warning("SPARQL store did not answer within %.1f s: %.200s", timeout, query)
                raise budget.timed_out() from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                # A kept-alive connection the store closed meanwhile fails once, and so does one
                # an earlier request of this thread left mid-exchange (CannotSendRequest,
                # "Request-sent"): retry afresh.
                if attempt < 3 and isinstance(exc, _STALE):
                    continue
                log.warning("SPARQL store at %s does not answer: %s", self.endpoint, exc)
                raise StoreUnavailable(
                    f"the SPARQL store at {self.endpoint} does not answer: {exc}", UNAVAILABLE
                ) from None
            if response.status == 401 and self._digest is not None and attempt < 3:
                # A store that wants HTTP Digest (Virtuoso's /sparql-auth), or a new nonce; one
                # that answers Basic credentials with a bare 401 (Virtuoso) is asked without.
                challenge = response.getheader("WWW-Authenticate") or ""
                if self._digest.challenged(self._path, challenge):
                    continue
                if not (probe or self._digest.wanted):
                    probe = True
                    continue
            if response.status != 200:
                text = body[:300].decode("utf-8", errors="replace").strip()
                log.warning("SPARQL store answered %s to %.200s: %s", response.status, query, text)
                raise StoreUnavailable(
                    f"the SPARQL store at {self.endpoint} answered HTTP {response.status}: {text}",
                    UNAVAILABLE,
                )
            cut = response.getheader(_MAX_ROWS)
            if cut is not None:
                # A store that says it cut the answer short: a partial answer would be served as
                # if whole (fewer entities, wrong counts). Virtuoso does not say so for CONSTRUCT.
                log.warning("SPARQL store cut its answer at %s rows: %.200s", cut, query)
                raise StoreUnavailable(
                    f"the SPARQL store at {self.endpoint} cut its answer at {cut} rows "
                    "(Virtuoso: raise [SPARQL] ResultSetMaxRows above the graph's size)",
                    UNAVAILABLE,
                )
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = kind(self._host, self._port)
            self._local.connection = connection
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


class _Digest:
    """HTTP Digest credentials, for a store that asks for them instead of Basic: httpx's own
    implementation (its public auth flow), fed the store's challenge; thread-safe."""

    def __init__(self, user: str, password: str) -> None:
        self._auth = httpx.DigestAuth(user, password)
        self._lock = threading.Lock()
        self.wanted = False

    def challenged(self, path: str, challenge: str) -> bool:
        """Take a 401's challenge; False when it is not Digest (the 401 stands)."""
        if not challenge.lower().startswith("digest "):
            return False
        request = httpx.Request("POST", f"http://store{path}")
        answer = httpx.Response(401, headers={"WWW-Authenticate": challenge}, request=request)
        with self._lock:
            flow = self._auth.auth_flow(request)
            next(flow)
            flow.send(answer)
            self.wanted = True
        return True

    def header(self, path: str) -> str:
        """The Authorization header for the next request, from the last challenge."""
        with self._lock:
            request = next(self._auth.auth_flow(httpx.Request("POST", f"http://store{path}")))
        return request.headers["Authorization"]


def parse_ntriples(body: bytes) -> Iterator[Triple]:
    """rdflib triples of N-Triples text, parsed by Oxigraph as they are read."""
    cache: dict[object, Identifier] = {}  # one rdflib term per distinct term: less memory
    try:
        for t in ox.parse(body, format=ox.RdfFormat.N_TRIPLES):
            yield (
                _ox_term(t.subject, cache),
                _ox_term(t.predicate, cache),
                _ox_term(t.object, cache),
            )
    except SyntaxError as exc:
        raise StoreUnavailable(
            f"the SPARQL store answered something that is not N-Triples: {exc}", UNAVAILABLE
        ) from None


def _term(value: dict[str, str]) -> Node:
    """An rdflib term from one SPARQL JSON results binding."""
    kind, text = value["type"], value["value"]
    if kind == "uri":
        return URIRef(text)
    if kind == "bnode":
        return BNode(text)
    if "xml:lang" in value:
        return Literal(text, lang=value["xml:lang"])
    datatype = value.get("datatype")
    if datatype is None or datatype == _XSD_STRING:
        return Literal(text)
    return Literal(text, datatype=URIRef(datatype), normalize=False)


def _ox_term(t: object, cache: dict[object, Identifier]) -> Identifier:
    # The same conversion as the loader's: lexical forms kept as the store gives them.
    hit = cache.get(t)
    if hit is not None:
        return hit
    made: Identifier
    if isinstance(t, ox.NamedNode):
        made = URIRef(t.value)
    elif isinstance(t, ox.BlankNode):
        made = BNode(t.value)
    elif isinstance(t, ox.Literal):
        dt = t.datatype.value
        if t.language:
            made = Literal(t.value, lang=t.language)
        elif dt in (_XSD_STRING, _RDF_LANG_STRING):
            made = Literal(t.value)
        else:
            made = Literal(t.value, datatype=URIRef(dt), normalize=False)
    else:
        raise StoreUnavailable(f"the SPARQL store answered an unsupported term {t!r}", UNAVAILABLE)
    cache[t] = made
    return made


_NOT_IN_IRIS = frozenset('<>"{}|^`\\ \n\r\t')


def is_iri(value: str) -> bool:
    """Whether `value` can be written as a SPARQL IRI term: no character RDF forbids in IRIs
    (such a value names nothing in any store)."""
    return bool(value) and _NOT_IN_IRIS.isdisjoint(value)


def iri(value: str) -> str:
    """An IRI as a SPARQL term; callers check `is_iri` on values from clients first."""
    if not is_iri(value):
        raise ValueError(f"not an IRI: {value!r}")
    return f"<{value}>"
