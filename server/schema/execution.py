"""graphql-core's executor with a deadline: execution stops once the request's time is up.

graphql-core checks an abort signal only between the root fields of a mutation, and a thread
cannot be stopped from outside; so the executor itself looks at the clock, every
`CHECK_EVERY` fields it resolves (a clock read per field would cost more than the check saves).
Past the deadline it raises `ExecutionTimeout`, a BaseException: graphql-core turns every
`Exception` of a field into a located error and carries on with the siblings, which would keep
the work going; this one unwinds the whole execution, and the HTTP layer answers with the coded
error `EXECUTION_TIMEOUT`.

The same place is the execution's checkpoint: a `checkpoint` callable on the context (one of the
server's lanes, server/http/lanes.py) is called there, and a heavy execution waits in it while
lighter work is in flight.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

CHECK_EVERY = 64


class ExecutionTimeout(BaseException):
    """Execution ran past the request's deadline; nothing of its result is kept."""


class BoundedExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Stops execution at `context_value.deadline` (a `time.monotonic()` value, or None)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: float | None = getattr(self.context_value, "deadline", None)
        self._fields = 0
        self._checkpoint: Callable[[], None] | None = getattr(
            self.context_value, "checkpoint", None
        )

    def execute_field(self, *args: Any, **kwargs: Any) -> Any:
        if self._deadline is not None:
            self._fields += 1
            if self._fields % CHECK_EVERY == 0:
                if self._checkpoint is not None:
                    self._checkpoint()
                if time.monotonic() > self._deadline:
                    raise ExecutionTimeout
        return super().execute_field(*args, **kwargs)
