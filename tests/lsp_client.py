"""A minimal editor for `clinic-kg lsp`: JSON-RPC over the server's stdin/stdout with the LSP's
Content-Length framing, as VS Code or Neovim speak it. Every wait is bounded."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

TIMEOUT = 60.0  # a generous bound on one answer (validation included), not a performance target

Message = dict[str, Any]


class LspClient:
    """`clinic-kg lsp` in a child process, and what it sent."""

    def __init__(self, cwd: Path, args: tuple[str, ...] = (), env: dict[str, str] | None = None):
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from server.cli import main; main()", "lsp", *args],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self._next_id = 0
        self._inbox: queue.Queue[Message | None] = queue.Queue()
        self.received: list[Message] = []  # every message, in order, as it was taken
        self._responses: dict[int, Message] = {}
        self._stderr: list[bytes] = []
        self._stderr_done = threading.Event()
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._drain_stderr, args=(self.process.stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    # --- sending ---

    def _send(self, message: Message) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        self.process.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = TIMEOUT) -> Any:
        """Send a request and wait for its response; an error response fails the test."""
        self._next_id += 1
        ident = self._next_id
        self._send({"id": ident, "method": method, "params": params})
        self.wait_for(lambda m: m.get("id") == ident and "method" not in m, timeout, method)
        response = self._responses.pop(ident)
        assert "error" not in response, response
        return response.get("result")

    # --- receiving ---

    def _read(self, stream: IO[bytes]) -> None:
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    self._inbox.put(None)
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            self._inbox.put(json.loads(body))

    def wait_for(
        self, wanted: Callable[[Message], bool], timeout: float = TIMEOUT, what: str = ""
    ) -> Message:
        """The next message (from now on) that wanted accepts; server requests are answered."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {what or 'such message'} within {timeout}s")
            try:
                message = self._inbox.get(timeout=left)
            except queue.Empty:
                continue
            if message is None:
                raise AssertionError(f"the server closed its output; stderr: {self.stderr()}")
            self.received.append(message)
            if "id" in message and "method" in message:  # a request from the server
                self._send({"id": message["id"], "result": None})
            elif "id" in message:
                self._responses[message["id"]] = message
            if wanted(message):
                return message

    def until(self, condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
        """Take messages until condition holds (it may already)."""
        if not condition():
            self.wait_for(lambda _: condition(), timeout, what)

    def diagnostics_for(
        self, uri: str, when: Callable[[list[Message]], bool] = lambda ds: True
    ) -> list[Message]:
        """The diagnostics of the next publishDiagnostics for uri that `when` accepts."""
        message = self.wait_for(
            lambda m: (
                m.get("method") == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == uri
                and when(m["params"]["diagnostics"])
            ),
            what=f"publishDiagnostics for {uri}",
        )
        found: list[Message] = message["params"]["diagnostics"]
        return found

    def published(self) -> list[Message]:
        """Every publishDiagnostics taken so far (their params)."""
        return [
            m["params"]
            for m in self.received
            if m.get("method") == "textDocument/publishDiagnostics"
        ]

    # --- the session's ends ---

    def initialize(self, root: Path) -> Any:
        result = self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "capabilities": {
                    "textDocument": {
                        "publishDiagnostics": {"relatedInformation": True},
                        "codeAction": {
                            "codeActionLiteralSupport": {
                                "codeActionKind": {"valueSet": ["quickfix"]}
                            }
                        },
                    }
                },
            },
        )
        self.notify("initialized", {})
        return result

    def shutdown(self, timeout: float = TIMEOUT) -> int:
        """shutdown, exit, and the exit code."""
        assert self.request("shutdown", None) is None
        self.notify("exit", None)
        return self.process.wait(timeout=timeout)

    def stderr(self) -> str:
        """What the server logged (all of it once it has exited)."""
        if self.process.poll() is not None:
            self._stderr_done.wait(TIMEOUT)
        return b"".join(self._stderr).decode(errors="replace")

    def _drain_stderr(self, stream: IO[bytes]) -> None:
        # Read as it comes, so a chatty server never blocks on a full pipe.
        for line in stream:
            self._stderr.append(line)
        self._stderr_done.set()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
        for reader in self._readers:  # both reach the end of their pipe once the server is gone
            reader.join(TIMEOUT)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
