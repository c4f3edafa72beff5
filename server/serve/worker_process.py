"""One worker process of `serve --workers N` (or of `serve --watch`): uvicorn on a socket the
supervisor owns, told when it is ready, and drained without dropping a connection when retired.

The listening socket belongs to the supervisor, which keeps it open across generations of
workers: a retiring worker only stops *taking* connections from it, so whatever waits in its
accept queue is taken by the next worker, never reset. What the retiring worker already took is
answered before it exits:

- It stops accepting by unregistering the socket from its event loop, not with asyncio's
  `Server.close()`: a connection accepted in the same loop iteration as that close has its
  transport created after it, which fails an assertion that asyncio swallows (Python 3.11,
  `Server._attach`), and the socket is dropped unanswered (the client sees a reset). uvicorn's
  own shutdown closes the server that way, and closes every connection without a request in
  progress, including one accepted a moment before whose request bytes are still on the way.
- It then answers every connection it accepted (each response from then on says
  `Connection: close`) until none is waiting for its first request or in the middle of one
  (bounded: DRAIN_LIMIT_SECONDS), for at least IDLE_GRACE_SECONDS, and only then runs uvicorn's
  graceful shutdown, which closes the idle kept-open connections left, as any server does at
  its keep-alive timeout.
- The first SIGTERM or SIGINT starts that drain at the loop's next turn (during start-up too:
  the drain runs from uvicorn's main loop); a second one shuts down at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import time
from types import FrameType
from typing import Any

log = logging.getLogger("clinic_kg.workers")

WORKER_HEADER = b"x-worker"
# Asked once by each new worker before it takes connections (see `warm_up`).
WARM_UP_QUERY = "{ __typename dataset { version tripleCount } }"
WARM_UP_SECONDS = 10.0
# A retiring worker answers what it accepted for at most this long before it shuts down.
DRAIN_LIMIT_SECONDS = 5.0
# A draining worker closes its idle kept-open connections no sooner than this after it began:
# meanwhile their clients' next requests are answered (with `Connection: close`), instead of
# racing a close (a request sent as the socket closes is reset). One tick of uvicorn's loop,
# the grace there was when the drain began at a tick.
IDLE_GRACE_SECONDS = 0.1
EXIT_STOPPED = 0
_PR_SET_PDEATHSIG = 1


class Draining:
    """This process's state: set once it drains (every response then closes its connection)."""

    now = False


class WorkerHeader:
    """ASGI middleware: `X-Worker: <pid>` on every response when there are several workers (to
    tell them apart), and `Connection: close` on every response once the worker drains."""

    def __init__(self, app: Any, label: bool) -> None:
        self.app = app
        self.label = label
        self.pid = str(os.getpid()).encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                extra = [(WORKER_HEADER, self.pid)] if self.label else []
                if Draining.now:
                    extra.append((b"connection", b"close"))
                if extra:
                    message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def run_worker(
    app: Any,
    options: dict[str, Any],
    sock: socket.socket,
    ready: int | None,
    label: bool,
    grace_seconds: float,
) -> int:
    """uvicorn on `sock` until SIGTERM/SIGINT; writes one byte to the `ready` pipe once it
    accepts."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    die_with_parent()
    import uvicorn

    config = uvicorn.Config(
        WorkerHeader(app, label),
        **options,
        workers=1,  # this process is one worker; WEB_CONCURRENCY was read by the supervisor
        timeout_graceful_shutdown=int(grace_seconds),
    )
    draining_server(config, ready).run(sockets=[sock])
    return EXIT_STOPPED


def draining_server(config: Any, ready: int | None) -> Any:
    """uvicorn's Server that drains before it stops (see the module's docstring)."""
    import uvicorn

    class DrainingServer(uvicorn.Server):
        signals = 0
        drain_until: float | None = None
        drain_began = 0.0
        listeners: tuple[socket.socket, ...] = ()
        loop: asyncio.AbstractEventLoop | None = None

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            self.listeners = tuple(sockets or ())
            self.loop = asyncio.get_running_loop()
            await warm_up(self.config.app)
            await super().startup(sockets=sockets)
            if ready is not None:  # the supervisor retires the previous worker now
                with contextlib.suppress(OSError):
                    os.write(ready, b"r")
                os.close(ready)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            self.signals += 1
            if self.signals > 1 or self.should_exit:
                super().handle_exit(sig, frame)
            elif self.loop is not None:
                # Drain at the loop's next turn, not its next tick (0.1 s away): a retired
                # worker's kept-open connections are closed after their next answer, and their
                # clients reach the new worker sooner. A signal handler may run in the middle
                # of the loop's own code, so it changes nothing itself.
                self.loop.call_soon_threadsafe(self.begin_drain)

        def begin_drain(self) -> None:
            if self.drain_until is None and not self.should_exit:
                self.drain_began = time.monotonic()
                self.drain_until = self.drain_began + DRAIN_LIMIT_SECONDS
                self.stop_accepting()

        async def on_tick(self, counter: int) -> bool:
            if self.signals and not self.should_exit:
                if self.drain_until is None:
                    self.begin_drain()
                elif (now := time.monotonic()) >= self.drain_until or (
                    now >= self.drain_began + IDLE_GRACE_SECONDS
                    and not any(busy(c) for c in self.server_state.connections)
                ):
                    self.should_exit = True
            return bool(await super().on_tick(counter))

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            self.stop_accepting()  # also when a second signal cut the drain short
            await asyncio.sleep(0.01)  # connections accepted just before get their transport
            await super().shutdown(sockets=sockets)

        def stop_accepting(self) -> None:
            Draining.now = True
            stop_accepting(asyncio.get_running_loop(), self.listeners)
            for connection in self.server_state.connections:
                cycle = getattr(connection, "cycle", None)
                if cycle is not None and not cycle.response_complete:
                    cycle.keep_alive = False  # the answer in progress closes its connection

    return DrainingServer(config)


async def warm_up(app: Any) -> None:
    """One GraphQL request through the app before the worker takes connections. The first
    request in a process builds what is built on first use (the GraphQL machinery's caches; the
    supervisor never answers one, so every worker starts cold), which the first client after
    every reload would otherwise wait for. Never fatal."""
    body = json.dumps({"query": WARM_UP_QUERY}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
    }
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(WARM_UP_SECONDS)  # no disconnect: the answer is awaited in full
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        return None

    try:
        await asyncio.wait_for(app(scope, receive, send), WARM_UP_SECONDS)
    except Exception as exc:  # serving matters more than a warm cache
        log.warning("the warm-up request failed (serving anyway): %r", exc)


def stop_accepting(loop: asyncio.AbstractEventLoop, listeners: tuple[socket.socket, ...]) -> None:
    """Take no more connections from `listeners`, and still answer every one already accepted
    (not asyncio's `Server.close()`: see the module's docstring). The sockets stay open: the
    supervisor's next worker takes what waits in their queues."""
    for sock in listeners:
        if sock.fileno() != -1:
            loop.remove_reader(sock.fileno())


def busy(connection: Any) -> bool:
    """Whether a connection is waiting for its first request, in the middle of one, or holds
    the start of its next one (`holds_next_request`, which the protocols of
    server/http/slow_clients.py have); a kept-open idle one is not busy."""
    cycle = getattr(connection, "cycle", None)
    if cycle is None or not cycle.response_complete:
        return True
    holds_next_request = getattr(connection, "holds_next_request", None)
    return bool(holds_next_request is not None and holds_next_request())


def die_with_parent() -> None:
    """Ask the kernel for SIGTERM when the parent dies (Linux), so no worker is orphaned.

    The kernel signals when the *thread* that forked exits: workers are forked by the parent's
    main thread, which lives as long as the parent."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's SIGTERM still stops workers
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(EXIT_STOPPED)
