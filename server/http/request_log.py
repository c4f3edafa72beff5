"""What one HTTP request was and did, noted once and handed to metrics and the access log.

`Observed` (ASGI middleware, outermost) gives every request an id (the one masked errors show and
`X-Request-Id` carries), times it, takes its status, route template and dataset version from the
response, and puts a `RequestNote` in `scope["state"]` that the GraphQL endpoint fills with its
operations (name, type, cost, cache hit, error codes). When the response is sent, the note goes to
each sink: the metrics (`server.http.metrics`) and, with `log_format=json`, one JSON line on the
`clinic_kg.access` logger.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.settings import SettingError, Settings

ACCESS_LOG = logging.getLogger("clinic_kg.access")
log = logging.getLogger("clinic_kg.http")
NOTE_KEY = "clinic_kg_request"
LOG_FORMATS = ("text", "json")
# A request no route matched (404): one label value, whatever path was asked for.
UNMATCHED = "<unmatched>"
# Methods outside these are one label value: a client must not mint label values at will.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
TEXT_FORMAT = "%(levelname)s:     %(name)s: %(message)s"
_CONVERTER = re.compile(r"\{(\w+):\w+\}")


@dataclass
class OperationNote:
    """One GraphQL operation of a request: what was asked, what it cost, how it ended."""

    name: str | None = None
    type: str | None = None  # query, mutation, subscription; None before the document was read
    cost: int | None = None  # None when not computed (a cached answer, a refusal before it)
    cache_hit: bool | None = None  # None when the cache was not consulted
    codes: tuple[str, ...] = ()
    refused: bool = False  # nothing was answered: refused before or stopped during execution

    @property
    def outcome(self) -> str:
        """ok, errors (executed, with errors in the answer) or refused."""
        return "refused" if self.refused else "errors" if self.codes else "ok"

    def fields(self) -> dict[str, Any]:
        return {
            "operation_name": self.name,
            "operation_type": self.type,
            "cost": self.cost,
            "cache_hit": self.cache_hit,
            "error_codes": list(self.codes),
        }


@dataclass
class RequestNote:
    """One HTTP request: filled by `Observed` (timing, status) and the GraphQL endpoint."""

    id: str
    method: str
    path: str
    route: str = UNMATCHED
    status: int = 0
    seconds: float = 0.0
    version: str | None = None
    operations: list[OperationNote] = field(default_factory=list)

    def operation(self, name: str | None = None) -> OperationNote:
        """A new operation of this request (a batch has several)."""
        note = OperationNote(name=name)
        self.operations.append(note)
        return note

    def refuse(self, code: str) -> None:
        """The request was refused with `code` (by its last operation, or before any)."""
        note = self.operations[-1] if self.operations else self.operation()
        note.refused, note.codes = True, (*note.codes, code)

    def fields(self) -> dict[str, Any]:
        """The fields of its access-log line."""
        found: dict[str, Any] = {
            "request_id": self.id,
            "method": self.method,
            "route": self.route,
            "path": self.path,
            "status": self.status,
            "duration_ms": round(self.seconds * 1000, 3),
            "dataset_version": self.version,
        }
        if len(self.operations) == 1:
            found.update(self.operations[0].fields())
        elif self.operations:  # a batch: what each operation did
            found["operations"] = [o.fields() for o in self.operations]
        return found


def request_note(scope: Scope) -> RequestNote:
    """The note `Observed` keeps for this request (a detached one without the middleware)."""
    note = scope.get("state", {}).get(NOTE_KEY)
    if isinstance(note, RequestNote):
        return note
    return RequestNote(new_request_id(), scope.get("method", ""), scope.get("path", ""))


def new_request_id() -> str:
    """16 random hex digits (64 bits), from the OS's generator: one call, no UUID object
    (a cache hit is answered in tens of microseconds, and uuid4 was ten of them)."""
    return os.urandom(8).hex()


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/id/{id}`, not `/id/fbss`): a bounded label."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    return _CONVERTER.sub(r"{\1}", path) or "/"


class Observed:
    """ASGI middleware: note every HTTP request and hand the note to `sinks` once answered."""

    def __init__(self, app: ASGIApp, sinks: Sequence[Callable[[RequestNote], None]] = ()) -> None:
        self.app = app
        self.sinks = tuple(sinks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"] if scope["method"] in METHODS else "other"
        note = RequestNote(new_request_id(), method, scope["path"])
        scope.setdefault("state", {})[NOTE_KEY] = note
        started = time.perf_counter()
        done = False

        def finish() -> None:
            nonlocal done
            if done:
                return
            done = True
            note.seconds = time.perf_counter() - started
            note.route = route_template(scope)
            # Nothing sent: an exception on its way to Starlette's outermost handler (a 500).
            note.status = note.status or 500
            for sink in self.sinks:
                try:
                    sink(note)
                except Exception:  # a broken sink must not break answers
                    log.exception("request %s: noting the request failed", note.id)

        async def noting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                note.status = message["status"]
                headers = list(message.get("headers", []))
                for name, value in headers:
                    if name.lower() == b"x-dataset-version":
                        note.version = value.decode("latin-1")
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", note.id.encode()))
                    message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Noted before the last byte leaves: a client that has its answer finds the
                # request counted in the next scrape.
                finish()
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        finally:
            finish()


def access_log(note: RequestNote) -> None:
    """The sink writing one JSON access line per request (`log_format=json`)."""
    ACCESS_LOG.info(
        "%s %s %d", note.method, note.path, note.status, extra={"fields": note.fields()}
    )


def sinks_for(settings: Settings) -> list[Callable[[RequestNote], None]]:
    """The access log, when the settings ask for JSON logs."""
    return [access_log] if log_format(settings) == "json" else []


def log_format(settings: Settings) -> str:
    if settings.log_format not in LOG_FORMATS:
        raise SettingError(
            f"CLINIC_KG_LOG_FORMAT={settings.log_format!r}: expected one of "
            + ", ".join(LOG_FORMATS)
        )
    return settings.log_format


class JsonFormatter(logging.Formatter):
    """Log records as one JSON object per line: timestamp (ISO 8601, UTC), level, logger,
    message, the record's `fields` (an `extra`), and a traceback as the string `exc_info`."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            document.update(fields)
        if record.exc_info:
            document["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            document["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(document, ensure_ascii=False, default=str)


def configure_logging(settings: Settings) -> None:
    """Every log line of the process to stderr, as text or (log_format=json) as JSON."""
    handler = logging.StreamHandler(sys.stderr)
    json_lines = log_format(settings) == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
