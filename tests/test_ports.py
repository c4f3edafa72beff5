"""The start-up helpers of the servers tests run (tests/ports.py): a port another process took
between `free_port` and the server's own bind is noticed, and the server started on another one,
instead of the test talking to a stranger that happens to answer on that port."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Generator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from . import live_server as live
from .ports import free_port, listening_inodes, owns_port


class _Stranger(BaseHTTPRequestHandler):
    """Answers 200 to anything, as another run's server would answer /readyz."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "8")
        self.end_headers()
        self.wfile.write(b"stranger")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stranger() -> Iterator[int]:
    """A port held by an HTTP server of this process that answers 200 to every GET."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stranger)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_owns_port_tells_the_holder_from_others() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert listening_inodes(port)
        assert owns_port(os.getpid(), port)
        assert not owns_port(os.getppid(), port)
    assert not listening_inodes(port)


def test_a_taken_port_is_traded_for_another(stranger: int, monkeypatch: pytest.MonkeyPatch) -> None:
    given = iter([stranger, free_port()])
    monkeypatch.setattr(live, "free_port", lambda: next(given))
    server: Generator[live.LiveServer, None, None] = live.start()
    found = next(server)
    try:
        assert not found.url.endswith(f":{stranger}")
        assert owns_port(found.process.pid, int(found.url.rsplit(":", 1)[1]))
        answer = httpx.get(f"{found.url}/readyz", timeout=10)
        assert answer.status_code == 200
        assert answer.text != "stranger"
    finally:
        server.close()
    assert found.process.poll() is not None  # stopped when the generator closed
