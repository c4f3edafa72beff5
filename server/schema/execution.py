"""graphql-core's executor with a deadline: execution stops once the request's time is up.

graphql-core checks an abort signal only between the root fields of a mutation, and a thread
cannot be stopped from outside; so the executor itself looks at the clock, every
`CHECK_EVERY` fields it resolves (a clock read per field would cost more than the check saves).
Past the deadline it raises `ExecutionTimeout`, a BaseException: graphql-core turns every
`Exception` of a field into a located error and carries on with the siblings, which would keep
the work going; this one unwinds the whole execution, and the HTTP layer answers with the coded
error `EXECUTION_TIMEOUT`.
"""

from __future__ import annotations

import time
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

    def execute_field(self, *args: Any, **kwargs: Any) -> Any:
        if self._deadline is not None:
            self._fields += 1
            if self._fields % CHECK_EVERY == 0 and time.monotonic() > self._deadline:
                raise ExecutionTimeout
        return super().execute_field(*args, **kwargs)
