"""How `publish` authenticates (server/steward/graph_store.py PasswordAuth): HTTP Basic to a store
that takes it, HTTP Digest to an endpoint that asks for it (Virtuoso's Graph Store endpoint, which
answers Basic credentials with a bare 401), asked once per endpoint and never with a body.
Against in-process fake stores (httpx.MockTransport); tests/test_second_store.py does it for real.
"""

from __future__ import annotations

import base64
import hashlib

import httpx

from server.steward.graph_store import (
    ENV_PASSWORD,
    ENV_USER,
    Endpoints,
    GraphStore,
    credentials_from_env,
)

USER, PASSWORD = "steward", "s3cret-Pa55word"
NONCE = "0123456789abcdef"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


class FakeStore:
    """Records requests; the GSP path wants `scheme` ('basic' or 'digest'), queries need none."""

    def __init__(self, scheme: str) -> None:
        self.scheme = scheme
        self.seen: list[tuple[str, str, str, int]] = []  # method, path, auth scheme, body size

    def __call__(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        self.seen.append(
            (request.method, request.url.path, auth.split(" ")[0], len(request.read()))
        )
        if request.url.path == "/query":
            return httpx.Response(200, json={"head": {}, "results": {"bindings": []}})
        if self.scheme == "basic":
            return httpx.Response(204 if auth == BASIC else 401)
        if auth.startswith("Digest ") and self._digest_ok(request, auth):
            return httpx.Response(201)
        challenge = f'Digest realm="SPARQL", nonce="{NONCE}", qop="auth", algorithm="MD5"'
        # As Virtuoso: Basic credentials get a bare 401, no credentials get the challenge.
        headers = {} if auth.startswith("Basic ") else {"WWW-Authenticate": challenge}
        return httpx.Response(401, headers=headers)

    def _digest_ok(self, request: httpx.Request, header: str) -> bool:
        fields = dict(part.strip().split("=", 1) for part in header[len("Digest ") :].split(","))
        value = {k: v.strip('"') for k, v in fields.items()}

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        ha1 = md5(f"{USER}:SPARQL:{PASSWORD}")
        ha2 = md5(f"{request.method}:{value['uri']}")
        expected = md5(f"{ha1}:{NONCE}:{value['nc']}:{value['cnonce']}:{value['qop']}:{ha2}")
        return value["response"] == expected


def store(fake: FakeStore) -> GraphStore:
    where = Endpoints("http://store.test/gsp", "http://store.test/query")
    credentials = credentials_from_env({ENV_USER: USER, ENV_PASSWORD: PASSWORD})
    client = GraphStore(where, credentials, timeout=5)
    client._client = httpx.Client(transport=httpx.MockTransport(fake), auth=credentials.auth)
    return client


def test_a_store_that_asks_for_digest_gets_it_and_bodies_go_once() -> None:
    fake = FakeStore("digest")
    with store(fake) as client:
        client.select("ASK {}")
        client.put("http://g/1", b"<a:b> <a:c> <a:d> .\n")
        client.put("http://g/2", b"<a:b> <a:c> <a:e> .\n")
        client.drop("http://g/1")
    gsp = [(m, scheme, size) for m, path, scheme, size in fake.seen if path == "/gsp"]
    assert gsp == [
        ("HEAD", "", 0),  # asked once which scheme, with no body and no credentials
        ("PUT", "Digest", 20),
        ("PUT", "Digest", 20),  # the challenge is kept: no second round trip
        ("DELETE", "Digest", 0),
    ]


def test_a_basic_store_gets_basic_with_every_request() -> None:
    fake = FakeStore("basic")
    with store(fake) as client:
        client.select("ASK {}")
        client.put("http://g/1", b"<a:b> <a:c> <a:d> .\n")
        client.put("http://g/2", b"<a:b> <a:c> <a:e> .\n")
    assert [(m, p, s) for m, p, s, _ in fake.seen] == [
        ("HEAD", "/query", ""),
        ("POST", "/query", "Basic"),
        ("HEAD", "/gsp", ""),
        ("PUT", "/gsp", "Basic"),
        ("PUT", "/gsp", "Basic"),
    ]
