"""The HTTP protocol `serve` gives uvicorn (setting http_parser): a clear error for an unknown
parser, h11 when httptools is not installed, the deadline on either (the behaviour over real
sockets: tests/test_http_hardening.py)."""

from __future__ import annotations

import sys

import pytest
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.http.protocols import header_timeout_protocol, http_parser
from server.settings import SettingError, Settings


def test_an_unknown_parser_is_a_setting_error() -> None:
    with pytest.raises(SettingError, match="CLINIC_KG_HTTP_PARSER='uvloop': expected one of"):
        http_parser(Settings(http_parser="uvloop"))


def test_httptools_by_default_and_h11_when_it_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert http_parser(Settings()) == "httptools"
    assert http_parser(Settings(http_parser="h11")) == "h11"
    monkeypatch.setitem(sys.modules, "httptools", None)  # import httptools raises ImportError
    assert http_parser(Settings()) == "h11"


@pytest.mark.parametrize(
    ("parser", "base"), [("h11", H11Protocol), ("httptools", HttpToolsProtocol)]
)
def test_each_parser_gets_the_header_timeout(parser: str, base: type) -> None:
    protocol = header_timeout_protocol(3, parser)
    assert issubclass(protocol, base)
    assert protocol.header_timeout == 3  # type: ignore[attr-defined]
    assert hasattr(protocol, "holds_next_request")  # what a draining worker asks (busy)
