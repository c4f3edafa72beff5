"""Two lanes for GraphQL executions: cheap work first while the most expensive allowed ones run.

Executions run in worker threads that share one GIL with the event loop, so a cheap request beside
two one-second executions waits for GIL slices at every step (its HTTP parsing on the loop, its
execution, its answer). The cost of an operation is known before any resolver runs
(server/schema/cost.py); an execution costing more than `heavy_query_cost` is *heavy*, and:

- **it yields to lighter work at its checkpoints.** Every executor already visits a checkpoint
  often (the compiled plans before each object, the reference executor every 64 fields, next to
  the deadline check). While any lighter HTTP request is in flight (a cheap query, a cached one,
  /healthz, an /id page) a heavy execution waits there, off the GIL, until that work is done or
  `PAUSE_SECONDS` have passed (and `GRACE_SECONDS` more once the last one is answered, as the next
  is usually on its way); then the heavy lane runs `SLICE_SECONDS` before it yields again.
  So heavy executions never starve: under a continuous stream of lighter requests they still get
  about SLICE / (SLICE + PAUSE) of the time, and their deadline (`execution_timeout_ms`, wall
  clock) holds as before: a heavy query that cannot finish in time beside the stream is stopped
  with EXECUTION_TIMEOUT.
- **it runs in its own lane.** Each lane admits `execution_threads` executions at once, so heavy
  executions (paused or not) never hold the threads lighter ones wait for. A query text is
  admitted to the heavy lane once it was seen heavy (the last `REMEMBERED` texts); one not seen
  before starts in the light lane and moves to the heavy lane when its cost is known, if a heavy
  token is free (else it stays, and still yields).

The request-level count is kept by `server.http.front` (every HTTP request enters and leaves);
the executions' side by `Execution`, the ticket each GraphQL execution holds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from time import monotonic, sleep

import anyio
import anyio.from_thread

from server.schema.base import Context, NotHere

# While lighter work is in flight, the heavy lane waits this long at a time, then runs
# SLICE_SECONDS: heavy executions keep at least a ninth of the time, lighter work gets the rest.
PAUSE_SECONDS = 0.008
SLICE_SECONDS = 0.001
# When the last lighter request is answered, the heavy lane waits this much longer before it goes
# on: under a stream of requests the next one is usually already in the socket, and the event
# loop needs the GIL to read it (a heavy thread holds it up to a switch interval at a time).
GRACE_SECONDS = 0.002
REMEMBERED = 512  # query texts (with their operation name) known to be heavy, or slow inline
# An execution on the event loop (a cheap one: server/http/app.py run_inline) that took more CPU
# than this sends its query text to a worker thread of its lane from then on.
INLINE_SECONDS = 0.005
# ...until its probation: after this many runs in its lane, the text's next run is on the event
# loop again, and stays there if that run is fast (its first runs were slow because the process
# was cold, or the machine busy). A text that fails waits twice as many runs, up to RETRY_MAX.
# Without it, a text sent away while the process was cold stayed in its lane for good, and a run
# there costs more CPU (thread switches, GIL hand-offs): the condition page at 100k, 3.7-4.0 ms
# a request against 2.5 ms on the loop, in one process of `serve` but not in another.
RETRY_RUNS = 64
RETRY_MAX = 4_096


class Work:
    """One HTTP request in flight; lighter work unless one of its executions is heavy."""

    __slots__ = ("counted", "heavy")

    def __init__(self, counted: bool = True) -> None:
        self.heavy = False
        self.counted = counted  # False: detached (no front middleware), never in the count


class Lanes:
    """The light and heavy lanes of one app, and the count of lighter requests in flight."""

    def __init__(
        self,
        threads: int,
        heavy_cost: int,
        pause: float = PAUSE_SECONDS,
        slice_: float = SLICE_SECONDS,
        grace: float = GRACE_SECONDS,
    ) -> None:
        self.heavy_cost = heavy_cost
        self.pause, self.slice, self.grace = pause, slice_, grace
        self.threads = threads
        self.light = anyio.CapacityLimiter(threads)
        self.heavy = anyio.CapacityLimiter(threads)
        self._lock = threading.Lock()
        self._lighter = 0  # requests in flight that are not heavy executions
        # What paused heavy executions wait on: set when the last lighter request leaves (only
        # touched while one waits, so requests pay a lock, not an Event, when none does).
        self._idle = threading.Event()
        self._slice_until = 0.0  # the heavy lane runs until then, lighter work or not
        self._resume_at = 0.0  # the heavy lane's current pause ends then
        self._quiet_since = 0.0  # when the count of lighter requests last fell to 0
        # Hashes of (query text, operation name) seen heavy: a text can be 64 kB; its hash not.
        self._heavy_texts: OrderedDict[int, None] = OrderedDict()
        # Too slow for the event loop: runs left in its lane before its next trial there, and
        # how many the trial after that would wait (doubled at each failed one).
        self._slow_texts: OrderedDict[int, list[int]] = OrderedDict()
        self._inline_cpu: dict[int, float] = {}  # average CPU seconds of a text on the event loop
        self.paused = 0  # heavy executions waiting at a checkpoint now
        self.pauses = 0  # times a heavy execution waited at a checkpoint, since start

    # -- requests (on the event loop)

    def enter(self) -> Work:
        """A request arrived: lighter work, until an execution of it turns out heavy."""
        work = Work()
        self._count(+1)
        return work

    def leave(self, work: Work) -> None:
        """The request was answered."""
        if work.counted and not work.heavy:
            self._count(-1, answered=True)
        work.counted = False

    def _heavy(self, work: Work, heavy: bool) -> None:
        """Count `work` as heavy (out of the lighter count) or lighter (in it)."""
        if work.heavy != heavy:
            work.heavy = heavy
            if work.counted:
                self._count(-1 if heavy else +1)

    def _count(self, change: int, answered: bool = False) -> None:
        with self._lock:
            self._lighter += change
            if self._lighter == 0:
                if answered:  # the next one of a stream may be on its way in (the grace)
                    self._quiet_since = monotonic()
                if self.paused:
                    self._idle.set()
            elif change > 0 and self._lighter == 1:
                # Heavy executions yield at their next checkpoint, not after a slice.
                self._slice_until = self._resume_at = 0.0

    # -- executions on the event loop (server/http/app.py run_inline)

    def queued(self) -> bool:
        """Whether executions wait for a token of the light lane. A cheap one then waits its turn
        in the lane too, and runs on the event loop when it comes (server/http/app.py): run at
        once, it would overtake them, and while a stream of them kept the loop busy the queued
        ones, in threads, got a slice of the GIL now and then (up to 1 s at 100k, right after a
        text came back from its lane)."""
        return self.light.statistics().tasks_waiting > 0

    def inline_text(self, query: str, operation: str | None) -> bool:
        """Whether this text runs on the event loop now (not heavy, not slow); no trial counted."""
        text = hash((query, operation))
        return text not in self._heavy_texts and text not in self._slow_texts

    def may_run_inline(self, query: str, operation: str | None) -> bool:
        """Whether this query text (with its operation name) may run on the event loop: it was
        not heavy when it last ran, and its runs there have not been slow, or its probation is
        due (RETRY_RUNS). On the event loop thread only, like `ran_inline`."""
        text = hash((query, operation))
        if text in self._heavy_texts:
            return False
        slow = self._slow_texts.get(text)
        if slow is None:
            return True
        slow[0] -= 1
        return slow[0] <= 0  # its trial: `ran_inline` readmits it, or sends it back for longer

    def ran_inline(self, query: str, operation: str | None, cpu_seconds: float) -> None:
        """An execution ran on the event loop (which answers nothing else meanwhile): once the
        text's recent runs there average more than INLINE_SECONDS of CPU, it runs in its lane
        for RETRY_RUNS runs, then has a trial run on the loop. One slow run (a first one, a
        garbage collection) does not send it away: each run weighs a tenth, and counts as at
        most 4 x INLINE_SECONDS."""
        text = hash((query, operation))
        sample = min(cpu_seconds, 4 * INLINE_SECONDS)
        slow = self._slow_texts.get(text)
        if slow is not None:  # its trial
            if sample <= INLINE_SECONDS:
                del self._slow_texts[text]
                self._remember_inline(text, sample)
            else:
                slow[1] = min(2 * slow[1], RETRY_MAX)
                slow[0] = slow[1]
            return
        average = self._inline_cpu.pop(text, 0.0)
        average += (sample - average) / 10
        if average > INLINE_SECONDS:
            self._slow_texts[text] = [RETRY_RUNS, RETRY_RUNS]
            if len(self._slow_texts) > REMEMBERED:
                self._slow_texts.popitem(last=False)
            return
        self._remember_inline(text, average)

    def _remember_inline(self, text: int, average: float) -> None:
        self._inline_cpu[text] = average  # the most recent last
        if len(self._inline_cpu) > REMEMBERED:
            del self._inline_cpu[next(iter(self._inline_cpu))]

    @property
    def lighter_in_flight(self) -> int:
        return self._lighter

    # -- executions

    @asynccontextmanager
    async def admitted(
        self, work: Work, query: str, operation: str | None
    ) -> AsyncIterator[Execution]:
        """Wait for a token of the lane this execution belongs to; hold it while it runs."""
        text = hash((query, operation))  # a collision only misroutes one execution's lane
        known_heavy = text in self._heavy_texts
        execution = Execution(self, work, text)
        if known_heavy:
            self._heavy(work, True)  # it must not make running heavy executions pause
            execution.heavy = True
        lane = self.heavy if known_heavy else self.light
        await lane.acquire_on_behalf_of(execution)
        execution.held.append(lane)
        try:
            yield execution
        finally:
            for held in execution.held:
                held.release_on_behalf_of(execution)
            if execution.moved:
                self.light.total_tokens -= 1

    def classify(self, execution: Execution, cost: int) -> None:
        """The execution's cost is known (in its worker thread, before any resolver runs)."""
        heavy = cost > self.heavy_cost
        with self._lock:
            if heavy:
                self._heavy_texts[execution.text] = None
                self._heavy_texts.move_to_end(execution.text)
                if len(self._heavy_texts) > REMEMBERED:
                    self._heavy_texts.popitem(last=False)
            else:
                self._heavy_texts.pop(execution.text, None)
        execution.heavy = heavy
        self._heavy(execution.work, heavy)
        if heavy and execution.held == [self.light]:
            # Outside a worker thread (a direct call) it stays where it is.
            with suppress(RuntimeError):
                anyio.from_thread.run_sync(self._move, execution)

    def _move(self, execution: Execution) -> None:
        """On the event loop: take a heavy token and give the light one back, if one is free."""
        try:
            self.heavy.acquire_on_behalf_of_nowait(execution)
        except anyio.WouldBlock:
            return
        execution.held.append(self.heavy)
        execution.moved = True
        # The light token stays borrowed (released when the execution ends) but no longer
        # counts: the light lane gets one more until then.
        self.light.total_tokens += 1

    def yield_to_lighter(self) -> None:
        """A heavy execution's checkpoint while lighter work is in flight, or was less than
        `grace` ago: wait for it, at most `pause` seconds at a time, except during the heavy
        lane's slices. The grace matters for executions on the event loop: a stream of them
        leaves the count at 0 between two requests, while the loop waits for the next one (and
        releases the GIL to the heavy thread, which would then hold it a switch interval)."""
        counted = False
        while True:
            with self._lock:
                now = monotonic()
                quiet = self._lighter == 0 and now >= self._quiet_since + self.grace
                if quiet or now < self._slice_until:
                    return
                if now >= self._resume_at:
                    if self._slice_until < self._resume_at:  # the pause is over: a slice
                        self._slice_until = now + self.slice
                        return
                    self._resume_at = now + self.pause  # the slice is over: a pause
                wait = self._resume_at - now
                recent = self._lighter == 0  # quiet for less than the grace: wait it out
                if recent:
                    wait = min(wait, self._quiet_since + self.grace - now)
                else:
                    self._idle.clear()  # lighter work is in flight; its last one sets it
                self.paused += 1
                if not counted:
                    self.pauses += 1
                    counted = True
            if recent:
                sleep(wait)
            else:
                self._idle.wait(wait)
            with self._lock:
                self.paused -= 1

    # -- metrics

    def in_flight(self) -> dict[str, int]:
        """Executions holding a token, by lane (a moved execution counts in the heavy lane)."""
        moved = int(self.light.total_tokens) - self.threads
        return {"light": self.light.borrowed_tokens - moved, "heavy": self.heavy.borrowed_tokens}

    def waiting(self) -> dict[str, int]:
        return {
            "light": self.light.statistics().tasks_waiting,
            "heavy": self.heavy.statistics().tasks_waiting,
        }


class Execution:
    """One GraphQL execution's ticket: its lane tokens, and whether it is heavy."""

    __slots__ = ("heavy", "held", "lanes", "moved", "text", "work")

    def __init__(self, lanes: Lanes, work: Work, text: int) -> None:
        self.lanes = lanes
        self.work = work
        self.text = text
        self.heavy = False
        self.held: list[anyio.CapacityLimiter] = []
        self.moved = False

    def checkpoint(self) -> None:
        """Called by the executors every few fields: a heavy execution yields to lighter work."""
        lanes = self.lanes
        if self.heavy and (lanes._lighter or monotonic() < lanes._quiet_since + lanes.grace):
            lanes.yield_to_lighter()


@dataclass(frozen=True)
class LanedContext(Context):
    """The request context of an execution in a lane: its cost classifies it, and the executors
    call `checkpoint` (server/schema/execution.py, server/schema/compiled_plan.py)."""

    execution: Execution | None = None
    # Set when the execution runs on the event loop (inline): a cost above it stops it before
    # any resolver runs (NotHere), and its caller runs it in a worker thread of its lane.
    inline_cost: int | None = None

    @property
    def checkpoint(self) -> Callable[[], None] | None:
        """Called by the executors every few fields (it waits only once the cost is heavy)."""
        return self.execution.checkpoint if self.execution is not None else None

    @property
    def serialize_checkpoint(self) -> Callable[[], None] | None:
        """Called between the pieces of a heavy execution's JSON (server/schema/serialize.py);
        None for a light one, written in one call."""
        execution = self.execution
        return execution.checkpoint if execution is not None and execution.heavy else None

    def record_cost(
        self, cost: int, operation_type: str | None = None, operation_name: str | None = None
    ) -> None:
        super().record_cost(cost, operation_type, operation_name)
        if self.inline_cost is not None and cost > self.inline_cost:
            raise NotHere(cost)
        if self.execution is not None and cost <= self.settings.max_query_cost:
            self.execution.lanes.classify(self.execution, cost)
