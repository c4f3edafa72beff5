"""A SPARQL 1.1 store as `publish` talks to it, whatever the product: the Graph Store HTTP Protocol
to replace and drop named graphs (`PUT`/`DELETE …?graph=<iri>`), the SPARQL Protocol to ask what
is there (`POST query=…`, JSON results).

Credentials come from the environment only (a user and password, or a bearer token). They are never
in a URL (refused), never in a message: whatever the store answers is shown with them blanked out.
A user and password go as HTTP Basic, or as HTTP Digest once the store asks for it (Virtuoso's
Graph Store endpoint does): the same environment serves either kind of store.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from server.diagnostics import Diagnostic, Severity

ENV_USER = "CLINIC_KG_PUBLISH_USER"
ENV_PASSWORD = "CLINIC_KG_PUBLISH_PASSWORD"
ENV_TOKEN = "CLINIC_KG_PUBLISH_TOKEN"
# N-Triples is a subset of Turtle: sent as Turtle, the one RDF syntax every store's GSP accepts.
TURTLE = "text/turtle; charset=utf-8"
SPARQL_RESULTS = "application/sparql-results+json"
REDACTED = "***"


class UsageProblem(ValueError):
    """Endpoints or credentials that cannot be used (a usage error, exit 2)."""


@dataclass(frozen=True)
class Endpoints:
    """Where the store takes graphs (Graph Store Protocol) and SPARQL queries."""

    gsp: str
    query: str


def endpoints(endpoint: str, gsp: str | None = None, query: str | None = None) -> Endpoints:
    """ENDPOINT/store and ENDPOINT/query (Oxigraph's layout) unless given otherwise."""
    base = endpoint.rstrip("/")
    found = Endpoints(gsp or f"{base}/store", query or f"{base}/query")
    for url in (endpoint, found.gsp, found.query):
        _check_url(url)
    return found


def _check_url(url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise UsageProblem("a store URL is not a valid URL") from None
    # Checked first, and the URL never echoed: it may hold a password.
    if parsed.userinfo:
        raise UsageProblem(
            f"a store URL holds credentials (user:password@…); set {ENV_USER} and "
            f"{ENV_PASSWORD}, or {ENV_TOKEN}, in the environment instead"
        )
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageProblem(f"{url}: not an http:// or https:// URL")


@dataclass(frozen=True)
class Credentials:
    """How to authenticate to the store; `secrets` are what messages must never show."""

    auth: httpx.Auth | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)


def credentials_from_env(environ: Mapping[str, str]) -> Credentials:
    """Basic (or Digest) auth from user and password, or a bearer token; none when neither is
    set."""
    user, password = environ.get(ENV_USER, ""), environ.get(ENV_PASSWORD, "")
    token = environ.get(ENV_TOKEN, "")
    if token and (user or password):
        raise UsageProblem(f"set either {ENV_TOKEN} or {ENV_USER}/{ENV_PASSWORD}, not both")
    if token:
        return Credentials(headers={"Authorization": f"Bearer {token}"}, secrets=(token,))
    if user or password:
        if not (user and password):
            raise UsageProblem(f"{ENV_USER} and {ENV_PASSWORD} go together: set both")
        # The header's form too: a store that echoes request headers must not show it either.
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
        return Credentials(auth=PasswordAuth(user, password), secrets=(password, encoded))
    return Credentials()


class PasswordAuth(httpx.Auth):
    """HTTP Basic, sent with each request, except to an endpoint that asks for HTTP Digest.

    Which one an endpoint wants is asked once, by a request without credentials or body (HEAD):
    a store may answer Basic credentials with a bare 401 (Virtuoso does), and a PUT's body is
    better not sent twice."""

    requires_response_body = False

    def __init__(self, user: str, password: str) -> None:
        self._basic = httpx.BasicAuth(user, password)
        self._digest = httpx.DigestAuth(user, password)
        self._digest_wanted: dict[str, bool] = {}  # per endpoint (scheme, host, port, path)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        endpoint = str(request.url.copy_with(query=None, fragment=None))
        wanted = self._digest_wanted.get(endpoint)
        challenge: httpx.Response | None = None
        if wanted is None:
            # No graph named: none is read. On a connection of its own: a store may answer
            # HEAD with a body (Oxigraph does), which would garble the next answer.
            challenge = yield httpx.Request("HEAD", endpoint, headers={"Connection": "close"})
            wanted = self._digest_wanted[endpoint] = challenge.status_code == 401 and any(
                h.lower().startswith("digest ")
                for h in challenge.headers.get_list("www-authenticate")
            )
        if not wanted:
            yield from self._basic.auth_flow(request)
            return
        flow = self._digest.auth_flow(request)
        first = next(flow)
        if challenge is None:  # Digest's own flow: the last challenge, or ask with this request
            response = yield first
        else:  # the challenge to the probe, rather than asking again with this request's body
            response = challenge
        try:
            again = flow.send(response)
            while True:
                again = flow.send((yield again))
        except StopIteration:
            return


class StoreError(Exception):
    """The store could not be reached, refused a request, or answered something unreadable."""

    def __init__(self, code: str, url: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.code, self.url, self.message, self.hint = code, url, message, hint

    def diagnostic(self) -> Diagnostic:
        return Diagnostic(self.url, 0, Severity.ERROR, self.code, self.message, hint=self.hint)


class GraphStore:
    """One store, one HTTP client: named graphs in, counts and bindings out."""

    def __init__(self, where: Endpoints, credentials: Credentials, timeout: float) -> None:
        self.endpoints = where
        self._secrets = tuple(s for s in credentials.secrets if s)
        self._client = httpx.Client(
            auth=credentials.auth, headers=dict(credentials.headers), timeout=timeout
        )

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._client.close()

    def select(self, query: str) -> list[dict[str, str]]:
        """The bindings of a SELECT query, each variable to its value's lexical form."""
        response = self._send(
            "POST",
            self.endpoints.query,
            data={"query": query},
            headers={"Accept": SPARQL_RESULTS},
        )
        try:
            rows = json.loads(response.content)["results"]["bindings"]
            return [{name: str(term["value"]) for name, term in row.items()} for row in rows]
        except (ValueError, KeyError, TypeError):
            first = self._first_line(response.text)
            raise StoreError(
                "KG-PUBLISH-ANSWER",
                self.endpoints.query,
                f"the answer to a SPARQL query is not SPARQL JSON results: {first}",
                hint="is --query the store's SPARQL query endpoint?",
            ) from None

    def count(self, graph: str) -> int:
        """How many triples the named graph holds (0 when there is no such graph)."""
        rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
        try:
            return int(rows[0]["n"]) if rows else 0
        except (KeyError, ValueError):
            raise StoreError(
                "KG-PUBLISH-ANSWER",
                self.endpoints.query,
                f"a COUNT query was answered with {rows[0]!r}, not a number",
            ) from None

    def put(self, graph: str, body: bytes) -> None:
        """Replace the named graph with `body` (Turtle), in one request."""
        self._send(
            "PUT",
            self.endpoints.gsp,
            params={"graph": graph},
            content=body,
            headers={"Content-Type": TURTLE},
        )

    def drop(self, graph: str) -> None:
        """Delete the named graph; one that is already gone is fine."""
        self._send("DELETE", self.endpoints.gsp, params={"graph": graph}, missing_ok=True)

    def _send(self, method: str, url: str, missing_ok: bool = False, **kw: Any) -> httpx.Response:
        try:
            response = self._client.request(method, url, **kw)
        except httpx.TransportError as exc:
            raise StoreError(
                "KG-PUBLISH-UNREACHABLE",
                url,
                f"{method} failed: {self._clean(_describe(exc))}",
                hint="check that the store is running and the URL is right, then publish again",
            ) from None
        if response.status_code == 404 and missing_ok:
            return response
        if not response.is_success:  # a redirect too: a store's endpoints do not move
            raise StoreError(
                "KG-PUBLISH-HTTP",
                url,
                f"{method} answered {response.status_code} {response.reason_phrase}: "
                f"{self._first_line(response.text)}",
                hint=_hint_for(response.status_code),
            )
        return response

    def _first_line(self, text: str) -> str:
        line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "(empty body)")
        return self._clean(line[:300])

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


def _describe(exc: httpx.TransportError) -> str:
    kind = {
        httpx.ConnectError: "cannot connect",
        httpx.ConnectTimeout: "timed out connecting",
        httpx.TimeoutException: "timed out",
    }
    for cls, said in kind.items():
        if isinstance(exc, cls):
            return f"{said} ({exc})" if str(exc) else said
    return f"the connection broke ({type(exc).__name__}: {exc})"


def _hint_for(status: int) -> str:
    if status in (401, 403):
        return (
            f"set {ENV_USER} and {ENV_PASSWORD}, or {ENV_TOKEN}, to credentials the store accepts"
        )
    if status in (404, 405) or 300 <= status < 400:
        return "is the URL the store's Graph Store Protocol (--gsp) or query (--query) endpoint?"
    return ""
