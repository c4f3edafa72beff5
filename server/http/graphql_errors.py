"""How GraphQL errors reach clients: readable when they are the client's, masked when they are ours.

A client error (syntax, validation, a limit, a bad argument or variable) keeps its message, minus
any "Did you mean ...?" suggestion, which would leak schema names when introspection is off.
Anything else is a bug: the client sees a request id, the log gets the full traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError

from server.content.lookup import UserInputError
from server.content.schemaorg import MarkupError
from server.store.protocol import DatasetChanged, StoreUnavailable

log = logging.getLogger("clinic_kg.graphql")

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
# Limit violations get a code of their own, so clients can tell them from plain mistakes.
_LIMITS = (
    (re.compile(r"exceeds maximum operation depth"), "QUERY_TOO_DEEP"),
    (re.compile(r"aliases found\. Allowed"), "TOO_MANY_ALIASES"),
    (re.compile(r"Document contains more than \d+ tokens"), "TOO_MANY_TOKENS"),
    (
        re.compile(r"introspection is disabled|GraphQL introspection has been disabled", re.I),
        "INTROSPECTION_DISABLED",
    ),
)
# Errors whose message is meant for the client: their own mistakes, and a store that cannot answer
# for the version it serves (retry after a restart or reload; HTTP /id answers 503 for it).
_CLIENT_FACING = (GraphQLError, UserInputError, MarkupError, DatasetChanged, StoreUnavailable)


def internal_message(request_id: str) -> str:
    return f"Internal server error (request id {request_id}); the details are in the server log."


def format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    """The JSON form of one error, masked unless it is the client's own doing."""
    original = error.original_error
    if original is not None and not isinstance(original, _CLIENT_FACING):
        log.error(
            "request %s: unexpected error in %s",
            request_id,
            ".".join(str(p) for p in error.path or ()) or "(no path)",
            exc_info=(type(original), original, original.__traceback__),
            extra={"fields": {"request_id": request_id}},  # a field of its own in JSON logs
        )
        masked: dict[str, Any] = {
            "message": internal_message(request_id),
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        }
        if error.path:
            masked["path"] = list(error.path)
        return masked
    formatted: dict[str, Any] = dict(error.formatted)
    extensions: dict[str, Any] = dict(error.extensions or {})
    formatted["message"] = _SUGGESTION.sub("", error.message)
    formatted["extensions"] = {**extensions, "code": _code(error)}
    return formatted


def request_error(message: str, code: str) -> dict[str, Any]:
    """An error about the HTTP request itself (body, JSON, content type), in GraphQL's shape."""
    return {"message": message, "extensions": {"code": code}}


def _code(error: GraphQLError) -> str:
    given = (error.extensions or {}).get("code")
    if isinstance(given, str):  # errors raised with their code (the cost limit, ...)
        return given
    original = error.original_error
    if isinstance(original, UserInputError | MarkupError | StoreUnavailable):
        return original.code
    if isinstance(original, DatasetChanged):
        return "DATASET_CHANGED"
    for pattern, code in _LIMITS:
        if pattern.search(error.message):
            return code
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if error.message.startswith("Variable"):
        return "BAD_VARIABLES"
    return "GRAPHQL_VALIDATION_FAILED"
