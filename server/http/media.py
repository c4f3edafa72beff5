"""Which media type a GraphQL answer is written in, from the request's Accept header.

GraphQL over HTTP defines two: `application/graphql-response+json`, whose status codes say what
happened (4xx when nothing was executed), and the legacy `application/json`, answered 200 for
every well-formed request. A client that names neither in any form gets 406; one that sends no
Accept, or accepts anything (`*/*`), gets `application/json`, as the spec's own audit
(graphql-http) expects; a client that prefers the new type by quality gets it.
"""

from __future__ import annotations

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def negotiate(accept: str | None) -> str | None:
    """The media type to answer with, or None when the client accepts neither."""
    if accept is None or not accept.strip():
        return JSON
    ranges = [_media_range(part) for part in accept.split(",") if part.strip()]
    best: tuple[float, int, bool] | None = None
    chosen: str | None = None
    for media in (JSON, GRAPHQL_RESPONSE):
        match = _quality(media, ranges)
        if match is None or match[0] <= 0:
            continue
        quality, specificity = match
        # Ties: the new type when named outright, the legacy one when reached by a wildcard.
        preferred = (media == GRAPHQL_RESPONSE) == (specificity == 2)
        key = (quality, specificity, preferred)
        if best is None or key > best:
            best, chosen = key, media
    return chosen


def _media_range(part: str) -> tuple[str, float, str | None]:
    """(type/subtype, q, charset) of one Accept entry; a malformed q counts as 0."""
    fields = [f.strip() for f in part.split(";")]
    media, quality, charset = fields[0].lower(), 1.0, None
    for parameter in fields[1:]:
        name, _, value = parameter.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"').lower()
        if name == "q":
            try:
                quality = min(max(float(value), 0.0), 1.0)
            except ValueError:
                quality = 0.0
        elif name == "charset":
            charset = value
    return media, quality, charset


def _quality(media: str, ranges: list[tuple[str, float, str | None]]) -> tuple[float, int] | None:
    """The quality the client gives `media` and how specifically it named it (2 exactly,
    1 by `application/*`, 0 by `*/*`), from its most specific matching range; answers are
    UTF-8, so a range asking for another charset does not match."""
    found: tuple[float, int] | None = None
    kind = media.split("/")[0]
    for name, quality, charset in ranges:
        if charset not in (None, "utf-8", "utf8"):
            continue
        if name == media:
            specificity = 2
        elif name == f"{kind}/*":
            specificity = 1
        elif name == "*/*":
            specificity = 0
        else:
            continue
        if found is None or specificity > found[1]:
            found = (quality, specificity)
    return found
