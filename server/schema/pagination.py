"""Connections (first/after) over the snapshot's ordered lists, bounded by `max_page_size`.

Cursors encode the id of the last item seen, not an offset, so a client paging through a list keeps
its place when a new dataset version adds or removes items before it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Generic, TypeVar

import strawberry

from server.content.lookup import UserInputError
from server.settings import Settings

T = TypeVar("T")
X = TypeVar("X")

FIRST = strawberry.argument(
    description="How many items to return; at most the server's max_page_size (100 by default)."
)
AFTER = strawberry.argument(description="Return the items after this cursor (`endCursor`).")
First = Annotated[int | None, FIRST]
After = Annotated[str | None, AFTER]


@strawberry.type(description="Where a page sits in its list, for fetching the next one.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when more items follow this page.")
    has_previous_page: bool = strawberry.field(description="True when items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item of the page.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item; pass it as `after` to get the next page."
    )


@strawberry.type(description="One item of a list, with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this item in its list.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(
    description="A page of a list, with the total count and how to fetch the next page."
)
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page, with cursors.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    total_count: int = strawberry.field(description="How many items the whole list holds.")


@dataclass(frozen=True)
class Page(Generic[X]):
    """A slice of a list and the facts needed to describe it as a connection."""

    items: Sequence[X]
    cursors: Sequence[str]
    has_next: bool
    has_previous: bool
    total: int

    def page_info(self) -> PageInfo:
        return PageInfo(
            has_next_page=self.has_next,
            has_previous_page=self.has_previous,
            start_cursor=self.cursors[0] if self.cursors else None,
            end_cursor=self.cursors[-1] if self.cursors else None,
        )


@lru_cache(maxsize=65_536)  # a pure function of the id; pages repeat the same ids
def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"c1:{key}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise UserInputError(f"`after` is not a cursor from this API: {cursor!r}") from None
    if not text.startswith("c1:"):
        raise UserInputError(f"`after` is not a cursor from this API: {cursor!r}")
    return text[3:]


def check_first(first: int | None, settings: Settings) -> int:
    """The page size to use; a clear error when it is negative or above max_page_size."""
    size = settings.default_page_size if first is None else first
    if size < 0 or size > settings.max_page_size:
        raise UserInputError(
            f"`first` must be between 0 and {settings.max_page_size} (max_page_size); got {size}"
        )
    return min(size, settings.max_page_size)


def paginate(
    items: Sequence[X],
    key: Callable[[X], str],
    first: int | None,
    after: str | None,
    settings: Settings,
) -> Page[X]:
    """The page of `items` after the cursor `after`, at most `first` long."""
    size = check_first(first, settings)
    start = 0
    if after is not None:
        wanted = decode_cursor(after)
        keys = [key(item) for item in items]
        if wanted not in keys:
            raise UserInputError(
                f"`after` cursor points at {wanted!r}, which is not in this list (any more)"
            )
        start = keys.index(wanted) + 1
    chosen = items[start : start + size]
    return Page(
        items=chosen,
        cursors=[encode_cursor(key(item)) for item in chosen],
        has_next=start + size < len(items),
        has_previous=start > 0,
        total=len(items),
    )


def connection(page: Page[X], wrap: Callable[[X], T]) -> Connection[T]:
    """A generic connection of wrapped nodes."""
    edges = [Edge(cursor=c, node=wrap(i)) for c, i in zip(page.cursors, page.items, strict=True)]
    return Connection(edges=edges, page_info=page.page_info(), total_count=page.total)
