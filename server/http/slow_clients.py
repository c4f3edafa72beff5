"""The time limit uvicorn's HTTP protocols lack: a client must send its whole request head
(request line and headers) within `http_header_timeout` seconds, or the connection is closed.

uvicorn only times out a kept-alive connection that stays silent after a response
(`timeout_keep_alive`); a connection that sends nothing, or a header line now and then, stays
open for good, and enough of them exhaust the server's sockets (slowloris).

Both of uvicorn's HTTP/1.1 protocols get the same deadline (server/http/protocols.py picks one
by the setting `http_parser`): h11's (pure Python), here, and httptools' (llhttp, in C: about
half the CPU per request), in server/http/httptools_deadline.py, which also refuses a head larger
than h11's limit (httptools has none).
"""

from __future__ import annotations

import asyncio
from typing import cast

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

# Said to a client that started a request head and did not finish it; one that never sent a
# byte (a browser's preconnect) is closed silently, as the keep-alive timeout does.
_REASON = b"request headers were not received in time; send them at once"
TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: %d\r\n"
    b"\r\n%s" % (len(_REASON), _REASON)
)
# The largest request head accepted, by both protocols (h11's default limit, given to it too).
MAX_HEAD_BYTES = 16 * 1024


class HeadDeadline:
    """The timer of a protocol's request-head deadline, for the h11 and httptools protocols
    alike: `arm` starts it, `disarm` stops it; on expiry the protocol's `timed_out` runs."""

    header_timeout: float = 10.0
    head_deadline: asyncio.TimerHandle | None
    loop: asyncio.AbstractEventLoop

    def timed_out(self) -> None:
        raise NotImplementedError

    def arm(self) -> None:
        self.head_deadline = self.loop.call_later(self.header_timeout, self.timed_out)

    def disarm(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None


class HeaderTimeoutProtocol(HeadDeadline, H11Protocol):
    """uvicorn's h11 protocol, with a deadline on each request head: from the connection's
    start for the first request, from the first byte of the next one on a kept-alive connection
    (the wait before that byte is the keep-alive timeout)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's signature; uvicorn's narrows it (a server's transports are all Transports).
        super().connection_made(cast(asyncio.Transport, transport))
        self.head_deadline: asyncio.TimerHandle | None = None
        self.arm()

    def data_received(self, data: bytes) -> None:
        if self.head_deadline is None and self.conn.their_state is h11.IDLE:
            self.arm()
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the head arrived: the deadline is met
            self.disarm()
        elif self.conn.trailing_data[0] and self.head_deadline is None:
            self.arm()  # a pipelined request's head, buffered while the previous one ran

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        super().connection_lost(exc)

    def holds_next_request(self) -> bool:
        """Whether bytes of a request not yet answered wait in the parser."""
        return bool(self.conn.trailing_data[0])

    def timed_out(self) -> None:
        self.head_deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.trailing_data[0]:
            self.transport.write(TIMED_OUT)
        self.transport.close()
