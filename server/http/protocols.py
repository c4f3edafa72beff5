"""The HTTP protocol class `serve` gives uvicorn: the h11 or httptools protocol (setting
`http_parser`), each with the request-head deadline and size limit (server/http/slow_clients.py,
server/http/httptools_deadline.py)."""

from __future__ import annotations

import asyncio

from server.http.slow_clients import HeaderTimeoutProtocol
from server.settings import SettingError, Settings

PARSERS = ("httptools", "h11")


def header_timeout_protocol(seconds: float, parser: str = "h11") -> type[asyncio.Protocol]:
    """The protocol class to give uvicorn (`http=`): `parser`'s, with this header timeout."""
    if parser == "httptools":  # imported only then: httptools may not be installed
        from server.http.httptools_deadline import HttpToolsHeaderTimeoutProtocol

        base: type[asyncio.Protocol] = HttpToolsHeaderTimeoutProtocol
    else:
        base = HeaderTimeoutProtocol
    return type(base.__name__, (base,), {"header_timeout": seconds})


def http_parser(settings: Settings) -> str:
    """The parser `serve` runs: the setting's (SettingError if it names none), or h11 when
    httptools is not installed."""
    wanted = settings.http_parser
    if wanted not in PARSERS:
        raise SettingError(
            f"CLINIC_KG_HTTP_PARSER={wanted!r}: expected one of " + ", ".join(PARSERS)
        )
    if wanted == "httptools":
        try:
            import httptools  # noqa: F401
        except ImportError:
            return "h11"
    return wanted
