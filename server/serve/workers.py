"""`clinic-kg serve --workers N`: one validated snapshot, served by N forked processes.

The parent validates and builds the snapshot once (or restores it from the start-up cache), builds
the app, freezes the heap out of the garbage collector's sight, and forks N workers: each shares
the snapshot's memory copy-on-write and runs its own uvicorn. The parent binds one listening
socket per worker slot with SO_REUSEPORT, so the kernel spreads connections (kept-open ones too)
over the slots by their addresses; uvicorn's own multi-worker mode shares one socket, and whichever
process wakes first takes the connection (all 32 of a client's went to one worker in 2 of 3
runs). The parent keeps every slot's socket open: a worker that dies is replaced on the same
socket, and connections that arrive meanwhile wait in its queue instead of being refused.

The parent supervises: a worker that exits is forked again (after a pause that grows while
workers keep dying at start; after MAX_QUICK_EXITS in a row the server stops, exit 3), SIGTERM
and SIGINT stop every worker gracefully (SIGKILL after GRACE_SECONDS), and a worker whose parent
dies is sent SIGTERM by the kernel, so none is orphaned.

With --watch the parent watches and reloads (server/serve/watch.py). Whenever what is served
changes (a new version, or the last reload error set or cleared), it forks a new generation of
workers from its updated state, on the same sockets, and retires each old one once its successor
is ready: it stops taking connections, answers what it took (server/serve/worker_process.py), and
exits; nothing waiting in a socket's queue is lost. New workers share the new snapshot the same
way, so a reload costs each worker nothing and memory stays shared. `serve --watch` with one
worker runs this way too, so that no reload runs in the process that answers requests.

Every response of a worker carries `X-Worker: <pid>` (only with more than one worker), so a
client or a test can tell which process answered.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from server.load.loader import LoadCache
from server.serve.watch import Reloader, ReloadOutcome, Watcher
from server.serve.worker_process import run_worker
from server.settings import SettingError, Settings
from server.store.heap import settle_heap
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot
from server.validate.validation import Outcome

log = logging.getLogger("clinic_kg.workers")

MAX_WORKERS = 256
WEB_CONCURRENCY = "WEB_CONCURRENCY"  # set by some hosting platforms; honoured as the default
# A worker that exits within this many seconds of starting is "crashing at start".
QUICK_EXIT_SECONDS = 5.0
# That many quick exits in a row (of any slot) and the server gives up.
MAX_QUICK_EXITS = 5
# Seconds workers get to finish their requests on shutdown, before SIGKILL.
GRACE_SECONDS = 10.0
POLL_SECONDS = 0.05
EXIT_STOPPED, EXIT_USAGE, EXIT_INTERNAL = 0, 2, 3


def worker_count(
    option: int | None, settings: Settings, environ: Mapping[str, str] | None = None
) -> int:
    """How many workers to run: --workers, else CLINIC_KG_WORKERS, else WEB_CONCURRENCY, else 1.

    Raises SettingError (exit 2) for a value that is not a whole number from 1 to MAX_WORKERS."""
    env = os.environ if environ is None else environ
    setting_env = "CLINIC_KG_WORKERS"
    if option is not None:
        count, source = option, "--workers"
    elif setting_env in env:
        count, source = settings.workers, setting_env
    elif env.get(WEB_CONCURRENCY, "").strip():  # set but blank counts as not set
        raw = env[WEB_CONCURRENCY]
        try:
            count = int(raw)
        except ValueError:
            raise SettingError(
                f"{WEB_CONCURRENCY}={raw!r}: expected a whole number of workers from 1 to "
                f"{MAX_WORKERS}"
            ) from None
        source = WEB_CONCURRENCY
    else:
        return 1
    if not 1 <= count <= MAX_WORKERS:
        raise SettingError(
            f"{source}={count}: expected a number of workers from 1 to {MAX_WORKERS}"
        )
    return count


class ChangeSignallingHolder(StoreHolder):
    """The parent's holder: a failed reload (or a reload that raised) tells the supervisor."""

    def __init__(self, holder: StoreHolder, changed: threading.Event) -> None:
        super().__init__(holder.current, holder.history.keep)
        self._changed = changed

    def fail(self, message: str, at: Any) -> None:
        super().fail(message, at)
        self._changed.set()


def can_fork() -> bool:
    """Whether workers can be forked here (Linux; SO_REUSEPORT spreads their connections)."""
    return hasattr(socket, "SO_REUSEPORT") and hasattr(os, "fork")


def bind(host: str, port: int, count: int) -> list[socket.socket]:
    """One listening socket per worker slot on host:port, with SO_REUSEPORT."""
    if not can_fork():
        raise OSError("--workers needs fork() and SO_REUSEPORT (Linux)")
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(address)
            sock.listen(2048)
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


@dataclass
class Slot:
    """One worker position: its socket, the worker serving it now, and the workers it replaces.

    A slot's previous workers keep accepting until its new worker is ready (it writes a byte to
    its `ready` pipe once uvicorn listens), then they are retired: no moment without a worker
    taking the socket's connections, however long the new one takes to start."""

    sock: socket.socket
    pid: int | None = None
    started: float = 0.0
    due: float = 0.0  # when to fork its worker again after an exit
    ready: int | None = None  # the read end of the current worker's pipe until it is ready
    previous: list[int] = field(default_factory=list)  # serving until `pid` is ready


@dataclass
class Supervisor:
    """Forks and keeps N workers; see the module's docstring."""

    app: Any
    options: dict[str, Any]
    holder: StoreHolder
    sockets: list[socket.socket]
    changed: threading.Event = field(default_factory=threading.Event)
    label: bool = True  # X-Worker on every response (more than one worker)
    # Held while a thread of this process prints or records the change feed's history: a worker
    # forked meanwhile would inherit its locks held by a thread that does not exist in it.
    fork_guard: threading.Lock = field(default_factory=threading.Lock)
    slots: list[Slot] = field(default_factory=list)
    retiring: dict[int, float] = field(default_factory=dict)  # pid -> when SIGTERM was sent
    quick_exits: int = 0
    # Runs (in the supervising thread: it must return at once) each time every slot's worker
    # is ready after a fork: the workers that share the parent's memory are all started then.
    on_ready: Callable[[], None] | None = None
    _unannounced: bool = False  # workers were forked since on_ready last ran
    _stop: bool = False

    def run(self, started: Callable[[], None] | None = None) -> int:
        """Serve until SIGTERM/SIGINT (0) or until workers keep dying at start (3); `started`
        runs once the first workers are forked (before that, no other thread may run)."""
        self.slots = [Slot(sock) for sock in self.sockets]
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for slot in self.slots:
                self._fork(slot)
            if started is not None:
                started()
            code = self._supervise()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for sock in self.sockets:
                sock.close()
        return code

    def pids(self) -> list[int]:
        return [s.pid for s in self.slots if s.pid is not None]

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop = True

    def _supervise(self) -> int:
        while not self._stop:
            if self._reap():
                return EXIT_INTERNAL
            if self.changed.is_set() and self.fork_guard.acquire(blocking=False):
                try:
                    self.changed.clear()
                    self._new_generation()
                finally:
                    self.fork_guard.release()
            now = time.monotonic()
            for slot in self.slots:
                if slot.pid is None and now >= slot.due and not self._stop:
                    self._fork(slot)
            self._wait_ready(POLL_SECONDS)
            if self._unannounced and all(s.ready is None and s.pid for s in self.slots):
                self._unannounced = False
                if self.on_ready is not None:
                    self.on_ready()
        return EXIT_STOPPED

    def _wait_ready(self, timeout: float) -> None:
        """Wait up to `timeout` for a new worker to say it is ready; retire what it replaces."""
        waiting = {s.ready: s for s in self.slots if s.ready is not None}
        if not waiting:
            time.sleep(timeout)
            return
        try:
            readable, _, _ = select.select(list(waiting), [], [], timeout)
        except InterruptedError:  # a signal: the loop looks at _stop
            return
        for fd in readable:
            slot = waiting[fd]
            try:
                said = os.read(fd, 1)
            except OSError:
                said = b""
            os.close(fd)
            slot.ready = None
            if said:  # ready (nothing: it exited before; _reap forks another)
                for pid in slot.previous:
                    self._retire(pid)
                slot.previous.clear()

    def _reap(self) -> bool:
        """Collect exited workers and schedule their replacement; True to give up."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return False
            if self.retiring.pop(pid, None) is not None:
                continue
            for each in self.slots:
                if pid in each.previous:  # a replaced worker that died before it was retired
                    each.previous.remove(pid)
            slot = next((s for s in self.slots if s.pid == pid), None)
            if slot is None:
                continue
            slot.pid = None
            lived = time.monotonic() - slot.started
            code = os.waitstatus_to_exitcode(status)
            if self._stop:
                continue
            self.quick_exits = self.quick_exits + 1 if lived < QUICK_EXIT_SECONDS else 0
            if self.quick_exits >= MAX_QUICK_EXITS:
                log.error(
                    "workers keep exiting at start (%d in a row, last with %s); stopping",
                    self.quick_exits,
                    _describe(code),
                )
                return True
            pause = min(2.0, 0.1 * 2 ** max(0, self.quick_exits - 1)) if self.quick_exits else 0
            slot.due = time.monotonic() + pause
            log.warning("worker %d exited with %s; starting another", pid, _describe(code))

    def _new_generation(self) -> None:
        """Fork fresh workers from the parent's current state; the old ones are retired as their
        successors become ready."""
        log.info("serving %s: starting a new generation of workers", self.holder.current.version)
        for slot in self.slots:
            if slot.pid is not None:
                slot.previous.append(slot.pid)
            self._fork(slot)

    def _retire(self, pid: int) -> None:
        self.retiring[pid] = time.monotonic()
        _kill(pid, signal.SIGTERM)

    def _fork(self, slot: Slot) -> None:
        if slot.ready is not None:  # a worker that never got ready: its pipe is done with
            os.close(slot.ready)
            slot.ready = None
        read, write = os.pipe()
        gc.freeze()  # inherited objects stay out of the children's collections (no copy-on-write)
        pid = os.fork()
        if pid == 0:  # the worker
            code = EXIT_INTERNAL
            try:
                os.close(read)
                for other in self.slots:
                    if other.ready is not None:
                        os.close(other.ready)
                    if other.sock is not slot.sock:
                        other.sock.close()
                code = run_worker(
                    self.app, self.options, slot.sock, write, self.label, GRACE_SECONDS
                )
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(write)
        slot.pid, slot.started, slot.ready = pid, time.monotonic(), read
        self._unannounced = True

    def _stop_all(self) -> None:
        """SIGTERM every worker, wait for them (up to GRACE_SECONDS), then SIGKILL the rest."""
        running = set(self.pids()) | set(self.retiring)
        for slot in self.slots:
            running.update(slot.previous)
        for pid in running:
            _kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        while running and time.monotonic() < deadline:
            for pid in list(running):
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done:
                    running.discard(pid)
            time.sleep(POLL_SECONDS)
        for pid in running:
            log.warning("worker %d did not stop in %.0f s; killing it", pid, GRACE_SECONDS)
            _kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        for slot in self.slots:
            slot.pid = None
            slot.previous.clear()
            if slot.ready is not None:
                os.close(slot.ready)
                slot.ready = None
        self.retiring.clear()


def _kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _describe(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"code {code}"


def serve_workers(
    root: Path,
    settings: Settings,
    holder: StoreHolder,
    count: int,
    cache: LoadCache,
    make_app: Callable[[StoreHolder], Any],
    options: dict[str, Any],
    validated: Outcome | None = None,
) -> int:
    """Serve `holder` with `count` forked workers (and --watch in the parent); the exit code.

    `make_app` builds the ASGI app over a holder and `options` are uvicorn's (the HTTP layer
    above this one provides both)."""
    try:
        sockets = bind(settings.host, settings.port, count)
    except OSError as exc:
        print(
            f"clinic-kg: cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr
        )
        return EXIT_USAGE
    changed = threading.Event()
    served = ChangeSignallingHolder(holder, changed)
    app = make_app(served)
    settle_heap()
    shown = f" with {count} workers" if count > 1 else ""
    print(
        f"serving dataset {served.current.version} on "
        f"http://{settings.host}:{settings.port}/graphql{shown}",
        flush=True,
    )
    supervisor = Supervisor(app, options, served, sockets, changed, label=count > 1)
    if not settings.watch:
        # Nothing here prints the change feed's first version: a worker asked for it prints its
        # own copy (its locks are free: no other thread ever ran in this process).
        return supervisor.run()
    reloader = ForkingReloader(
        root, settings, served, changed, cache, supervisor.fork_guard, validated
    )
    watcher = Watcher(reloader, settings.watch_debounce_ms)
    supervisor.on_ready = reloader.workers_ready

    def watch() -> None:
        # After the first workers are forked: making the baseline of incremental reloads and
        # printing the history's first version take seconds (~28 s and ~30 s at a million
        # triples, from the start-up cache), and serving must not wait for them. The watcher
        # starts at once (an edit made meanwhile is not missed); once both are done the workers
        # are forked again, so that they inherit the printed history.
        watcher.start()
        watcher.wait_started()
        changed.set()

    print(f"watching {root.resolve()}/{{ontology,shapes,kg}} for changes", flush=True)
    try:
        return supervisor.run(
            started=lambda: threading.Thread(target=watch, name="clinic-kg-history").start()
        )
    finally:
        watcher.stop()


# How long a reload waits for the change feed's print of the new version before it has the
# workers forked without it (then again once it is printed). A one-file edit prints in
# milliseconds at 100k triples and ~0.06-0.1 s at 1M (the describe of the file edited, and
# only the records the patch changed); waiting for it forks one generation of workers, with the
# print, instead of two. A print of every file does not come within this bound.
PRINT_WAIT_SECONDS = 0.2


class ForkingReloader(Reloader):
    """A Reloader that tells the supervisor when what is served changed (after the heap is
    settled, so the new workers inherit a frozen heap)."""

    def __init__(
        self,
        root: Path,
        settings: Settings,
        holder: StoreHolder,
        changed: threading.Event,
        cache: LoadCache,
        fork_guard: threading.Lock,
        validated: Outcome | None = None,
    ) -> None:
        super().__init__(root, settings, holder, cache=cache, validated=validated)
        self._changed = changed
        self._fork_guard = fork_guard

    def reload(self) -> ReloadOutcome:
        with self._fork_guard:  # no worker is forked while the history records a version
            before = (self.holder.current, self.holder.last_reload_error)
            try:
                return super().reload()
            finally:
                # The new version prints in about the time its edited files take, and the
                # workers forked next inherit the print. A print of every file (the first one
                # still running, or files read anew) takes up to ~30 s at 1M: the new version is
                # served now, and the workers forked again once it is printed (a worker asked for
                # the changes meanwhile prints its own copy).
                if not self.holder.history.printed(PRINT_WAIT_SECONDS):
                    threading.Thread(
                        target=self._fork_when_printed, name="clinic-kg-history", daemon=True
                    ).start()
                if (self.holder.current, self.holder.last_reload_error) != before:
                    self._changed.set()

    def workers_ready(self) -> None:
        """Every worker is ready after a fork: make the copies the next reload edits now, in a
        thread: the record tables (`Snapshot.copy_ahead`) and the change feed's tables
        (`VersionPrint.copy_ahead`). Those copies write pages shared with the workers just
        forked; made in the reload, at a million triples, they took most of its time."""
        current = self.holder.current
        if self.settings.incremental_reload and isinstance(current, Snapshot):
            threading.Thread(
                target=self._copy_ahead, args=(current,), name="clinic-kg-ahead", daemon=True
            ).start()

    def _copy_ahead(self, current: Snapshot) -> None:
        current.copy_ahead()
        self.holder.history.copy_ahead()  # and the change feed's print of it

    def _fork_when_printed(self) -> None:
        self.holder.history.settle()
        self._changed.set()
