"""A value made ahead, while nothing waits for it, and taken once by the work that needs it.

`serve --watch` and `--workers` make the copies the next reload edits once a generation of
workers is ready (`Snapshot.copy_ahead`, `VersionPrint.copy_ahead`): in the parent of forked
workers, copying writes pages shared with them, one page copy each, and made in the reload
those copies took most of its time at a million triples. The reload takes what was made, or
makes it itself when nothing was.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class MadeAhead(Generic[T]):
    """One value made ahead (`make`), then taken once (`take`); a take while a make runs waits
    for it rather than making the value a second time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made: T | None = None

    def make(self, make: Callable[[], T]) -> None:
        """Make the value now, unless one made is waiting."""
        with self._lock:
            if self._made is None:
                self._made = make()

    def take(self, make: Callable[[], T]) -> T:
        """The value made ahead (no longer kept here), else one made now."""
        with self._lock:
            made, self._made = self._made, None
        return made if made is not None else make()

    @property
    def waiting(self) -> bool:
        """Whether a value was made and not taken yet."""
        return self._made is not None

    def after_fork_in_child(self) -> None:
        """The thread that was making the value is not in a forked child: its lock starts free
        (the value is set whole or not at all)."""
        self._lock = threading.Lock()
