"""Hostile and unlucky HTTP clients against a real `clinic-kg serve` (uvicorn on 127.0.0.1):
JSON nested too deep to decode is a 400, and slow clients are timed out (issue 11, items 5, 7)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from server.http.protocols import PARSERS
from server.http.slow_clients import MAX_HEAD_BYTES

from . import live_server as live
from .live_server import LiveServer, raw

# Lowered for the test; every wait below is bounded by a few times these.
HEADER_TIMEOUT = 1
KEEP_ALIVE_TIMEOUT = 1
BODY_TIMEOUT = 1
BOUND = 10.0  # seconds a timed-out connection may take to close, far above either timeout
HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"


# Every test runs against both of uvicorn's HTTP/1.1 parsers (setting http_parser).
@pytest.fixture(scope="module", params=PARSERS)
def live_server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    yield from live.start(
        env={
            "CLINIC_KG_HTTP_PARSER": request.param,
            "CLINIC_KG_HTTP_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
            "CLINIC_KG_HTTP_KEEP_ALIVE_TIMEOUT": str(KEEP_ALIVE_TIMEOUT),
            "CLINIC_KG_HTTP_BODY_TIMEOUT": str(BODY_TIMEOUT),
        }
    )


def connect(server: LiveServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=BOUND)
    return sock


def read_until_closed(sock: socket.socket, within: float = BOUND) -> bytes:
    """All the server sends until it closes the connection; fails if it is still open after
    `within` seconds."""
    received = b""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        except TimeoutError:
            break
        if not chunk:
            return received
        received += chunk
    pytest.fail(f"the server kept the connection open for {within}s; it sent {received!r}")


def test_deep_json_is_a_400_not_a_500(live_server: LiveServer) -> None:
    for levels in (1_000, 30_000):
        r = raw(live_server, "[" * levels + "]" * levels)
        assert r.status_code == 400, r.text
        error = r.json()["errors"][0]
        assert error["message"] == (
            "request is not valid JSON: arrays and objects are nested too deeply to read; "
            "nest them less deeply"
        )
        assert error["extensions"]["code"] == "BAD_REQUEST"
    assert httpx.get(f"{live_server.url}/healthz", timeout=30).status_code == 200


def test_partial_header_then_silence_is_cut_off_with_408(live_server: LiveServer) -> None:
    with connect(live_server) as sock:
        sock.sendall(HEAD)  # no blank line: the head is never finished
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert answer.endswith(b"request headers were not received in time; send them at once")


def test_a_header_line_now_and_then_does_not_keep_the_connection(
    live_server: LiveServer,
) -> None:
    # The report's client: a header line a second keeps the socket busy but never ends the head.
    with connect(live_server) as sock:
        sock.sendall(HEAD)
        deadline = time.monotonic() + BOUND
        try:
            while time.monotonic() < deadline:
                time.sleep(0.2)
                sock.sendall(b"X-Slow: 1\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return
        answer = read_until_closed(sock)  # the server may have closed since the last send
    assert answer.startswith(b"HTTP/1.1 408"), answer


def test_a_partial_head_pipelined_after_a_request_is_cut_off(live_server: LiveServer) -> None:
    # The second head arrives with the first request and is buffered while that one is
    # answered; the first is served, then the connection closes (the keep-alive timeout and the
    # head's deadline both run: whichever ends first).
    with connect(live_server) as sock:
        sock.sendall(HEAD + b"\r\n" + HEAD)
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer


def test_a_connection_that_sends_nothing_is_closed(live_server: LiveServer) -> None:
    with connect(live_server) as sock:
        assert read_until_closed(sock) == b""


def test_an_idle_kept_alive_connection_is_closed(live_server: LiveServer) -> None:
    with connect(live_server) as sock:
        sock.sendall(HEAD + b"\r\n")
        # Closed before uvicorn's own default (5 s) would: the setting reached the server.
        answer = read_until_closed(sock, within=KEEP_ALIVE_TIMEOUT + 3)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer
    assert b'"status":"ok"' in answer


def test_normal_clients_are_served(live_server: LiveServer) -> None:
    # A head sent in pieces, each in time, and a kept-alive connection reused within its timeout.
    with connect(live_server) as sock:
        for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"\r\n"):
            sock.sendall(piece)
            time.sleep(HEADER_TIMEOUT / 5)
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 OK\r\n"), first
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
            r = client.post("/graphql", json={"query": "{ dataset { version } }"})
            assert r.status_code == 200
            assert r.json()["data"]["dataset"]["version"]


def test_a_body_that_trickles_in_is_cut_off_with_408(live_server: LiveServer) -> None:
    body = b'{"query": "{ __typename }"}'
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    with connect(live_server) as sock:
        sock.sendall(head)
        started = time.monotonic()
        answer = b""
        try:
            for byte in body[:-1]:  # a byte every 0.2 s: the body would take 5 s
                sock.sendall(bytes([byte]))
                time.sleep(0.2)
                if time.monotonic() - started > BOUND:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"REQUEST_TIMEOUT" in answer
    assert b"(http_body_timeout)" in answer
    # the server is still serving
    assert httpx.get(f"{live_server.url}/healthz", timeout=30).status_code == 200


@pytest.mark.parametrize("pieces", [1, 8])
def test_a_head_larger_than_the_limit_is_refused_with_400(
    live_server: LiveServer, pieces: int
) -> None:
    # h11 limits a request head to MAX_HEAD_BYTES; httptools has no limit of its own (a client
    # could grow one header without end): both refuse it, whole or sent in pieces.
    header = b"X-Big: " + b"a" * (2 * MAX_HEAD_BYTES) + b"\r\n"
    size = len(header) // pieces + 1
    with connect(live_server) as sock:
        sock.sendall(HEAD)
        try:
            for start in range(0, len(header), size):
                sock.sendall(header[start : start + size])
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:200]
    assert answer.endswith(b"Invalid HTTP request received.")
    assert httpx.get(f"{live_server.url}/healthz", timeout=30).status_code == 200


def test_a_head_just_below_the_limit_is_served(live_server: LiveServer) -> None:
    header = b"X-Big: " + b"a" * (MAX_HEAD_BYTES // 2) + b"\r\n"
    with connect(live_server) as sock:
        sock.sendall(HEAD + header + b"Connection: close\r\n\r\n")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer[:200]


def test_expect_100_continue_head_and_pipelined_requests(live_server: LiveServer) -> None:
    # What a client may rely on from either parser: 100 Continue before a body it waits to
    # send, a HEAD answered without a body, and pipelined requests answered in order.
    body = b'{"query": "{ __typename }"}'
    with connect(live_server) as sock:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(body + b"HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.sendall(HEAD + b"Connection: close\r\n\r\n")
        answer = read_until_closed(sock)
    first, second, third = answer.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert b'\r\n\r\n{"data":{"__typename":"Query"}' in first, first
    assert second.endswith(b"\r\n\r\n"), second  # HEAD: headers only
    assert b'\r\n\r\n{"status":"ok"' in third, third


def test_an_invalid_request_line_is_a_400(live_server: LiveServer) -> None:
    with connect(live_server) as sock:
        sock.sendall(b"GET /healthz NOT-HTTP\r\n\r\n")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:200]
