"""The request-head deadline of server/http/slow_clients.py for uvicorn's httptools protocol,
and the head size limit h11 has and httptools lacks.

httptools parses every byte as it arrives and reports a request through callbacks: a head has
begun at `on_message_begin` (its first byte) and is in at `on_headers_complete`. The deadline
runs from the connection's start for the first head, from its first byte for each later one.
"""

from __future__ import annotations

import asyncio
from typing import cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.http.slow_clients import MAX_HEAD_BYTES, TIMED_OUT, HeadDeadline


class HttpToolsHeaderTimeoutProtocol(HeadDeadline, HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on each request head (the keep-alive
    timeout, the wait before a head's first byte, is uvicorn's own), and a head larger than
    MAX_HEAD_BYTES refused with a 400 as h11 refuses it."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(cast(asyncio.Transport, transport))
        self.head_deadline: asyncio.TimerHandle | None = None
        self.in_head = False  # a head has begun and is not complete
        self.head_bytes = 0
        self.arm()

    def data_received(self, data: bytes) -> None:
        if self.in_head:
            self.head_bytes += len(data)
        began = not self.in_head
        super().data_received(data)
        if self.in_head and began:
            # It began in this read, somewhere: count the whole read (an upper bound).
            self.head_bytes = len(data)
        if self.in_head and self.head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
            self.disarm()
            if self.cycle is not None and not self.cycle.response_complete:
                # A pipelined head too large while the previous request is answered: read no
                # more, and close after that answer (a 400 now would cut into it).
                self.cycle.keep_alive = False
                self.flow.pause_reading()
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head = True
        self.head_bytes = 0
        if self.head_deadline is None:
            self.arm()

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.disarm()  # the head arrived: the deadline is met
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        super().connection_lost(exc)

    def holds_next_request(self) -> bool:
        """Whether a request not yet answered waits: a head begun, or a whole one queued."""
        return self.in_head or bool(self.pipeline)

    def timed_out(self) -> None:
        self.head_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head is late while the previous request is answered: that answer
            # closes the connection (a 408 now would cut into it).
            self.cycle.keep_alive = False
            return
        if self.in_head:
            self.transport.write(TIMED_OUT)
        self.transport.close()
