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
workers from its updated state, on the same sockets, and retires the old ones gracefully: their
requests in flight finish on the version they started with. New workers share the new snapshot
the same way, so a reload costs each worker nothing and memory stays shared.

Every response of a worker carries `X-Worker: <pid>` (only with more than one worker), so a
client or a test can tell which process answered.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
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
from server.serve.startup import settle_heap
from server.serve.watch import Reloader, ReloadOutcome, Watcher
from server.settings import SettingError, Settings
from server.store.protocol import StoreHolder

log = logging.getLogger("clinic_kg.workers")

MAX_WORKERS = 256
WEB_CONCURRENCY = "WEB_CONCURRENCY"  # set by some hosting platforms; honoured as the default
WORKER_HEADER = b"x-worker"
# A worker that exits within this many seconds of starting is "crashing at start".
QUICK_EXIT_SECONDS = 5.0
# That many quick exits in a row (of any slot) and the server gives up.
MAX_QUICK_EXITS = 5
# Seconds workers get to finish their requests on shutdown or when retired, before SIGKILL.
GRACE_SECONDS = 10.0
# A retiring worker stops accepting, then answers for this long what it already accepted before
# it shuts down (see `_draining_server`).
DRAIN_SECONDS = 1.0
POLL_SECONDS = 0.05
EXIT_STOPPED, EXIT_USAGE, EXIT_INTERNAL = 0, 2, 3
_PR_SET_PDEATHSIG = 1


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


class WorkerHeader:
    """ASGI middleware: `X-Worker: <pid>` on every response, to tell the workers apart."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        pid = str(os.getpid()).encode()

        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), (WORKER_HEADER, pid)],
                }
            await send(message)

        await self.app(scope, receive, send_with_header)


class ChangeSignallingHolder(StoreHolder):
    """The parent's holder: a failed reload (or a reload that raised) tells the supervisor."""

    def __init__(self, holder: StoreHolder, changed: threading.Event) -> None:
        super().__init__(holder.current, holder.history.keep)
        self._changed = changed

    def fail(self, message: str, at: Any) -> None:
        super().fail(message, at)
        self._changed.set()


def bind(host: str, port: int, count: int) -> list[socket.socket]:
    """One listening socket per worker slot on host:port, with SO_REUSEPORT."""
    if not hasattr(socket, "SO_REUSEPORT") or not hasattr(os, "fork"):
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
    """One worker position: its socket, and the worker serving it now."""

    sock: socket.socket
    pid: int | None = None
    started: float = 0.0
    due: float = 0.0  # when to fork its worker again after an exit


@dataclass
class Supervisor:
    """Forks and keeps N workers; see the module's docstring."""

    app: Any
    options: dict[str, Any]
    holder: StoreHolder
    sockets: list[socket.socket]
    changed: threading.Event = field(default_factory=threading.Event)
    slots: list[Slot] = field(default_factory=list)
    retiring: dict[int, float] = field(default_factory=dict)  # pid -> when SIGTERM was sent
    quick_exits: int = 0
    _stop: bool = False

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (0) or until workers keep dying at start (3)."""
        self.slots = [Slot(sock) for sock in self.sockets]
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for slot in self.slots:
                self._fork(slot)
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
            if self.changed.is_set():
                self.changed.clear()
                self._new_generation()
            now = time.monotonic()
            for slot in self.slots:
                if slot.pid is None and now >= slot.due and not self._stop:
                    self._fork(slot)
            time.sleep(POLL_SECONDS)
        return EXIT_STOPPED

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
        """Fork fresh workers from the parent's current state, and retire the old ones."""
        log.info("serving %s: starting a new generation of workers", self.holder.current.version)
        for slot in self.slots:
            old = slot.pid
            self._fork(slot)
            if old is not None:
                self._retire(old)

    def _retire(self, pid: int) -> None:
        self.retiring[pid] = time.monotonic()
        _kill(pid, signal.SIGTERM)

    def _fork(self, slot: Slot) -> None:
        gc.freeze()  # inherited objects stay out of the children's collections (no copy-on-write)
        pid = os.fork()
        if pid == 0:  # the worker
            code = EXIT_INTERNAL
            try:
                code = _worker(self.app, self.options, slot.sock, self.sockets)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        slot.pid, slot.started = pid, time.monotonic()

    def _stop_all(self) -> None:
        """SIGTERM every worker, wait for them (up to GRACE_SECONDS), then SIGKILL the rest."""
        running = set(self.pids()) | set(self.retiring)
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
        self.retiring.clear()


def _worker(
    app: Any, options: dict[str, Any], sock: socket.socket, all_sockets: list[socket.socket]
) -> int:
    """A worker process: uvicorn on its slot's socket, until SIGTERM."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    _die_with_parent()
    for other in all_sockets:
        if other is not sock:
            other.close()
    import uvicorn

    config = uvicorn.Config(
        WorkerHeader(app),
        **options,
        workers=1,  # this process is one worker; WEB_CONCURRENCY was read by the parent
        timeout_graceful_shutdown=int(GRACE_SECONDS),
    )
    _draining_server(config).run(sockets=[sock])
    return EXIT_STOPPED


def _draining_server(config: Any) -> Any:
    """uvicorn's Server that drains before it stops. On SIGTERM uvicorn stops accepting and at
    once closes every connection with no request in progress, including one it accepted a moment
    before whose request bytes it has not read yet: that client sees its connection closed
    without an answer (it happened to a reload's retiring worker). This one first stops
    accepting (the new worker takes the shared socket's next connections), answers what it
    already accepted for DRAIN_SECONDS, then shuts down as uvicorn does."""
    import asyncio

    import uvicorn

    class DrainingServer(uvicorn.Server):
        loop: asyncio.AbstractEventLoop | None = None
        draining = False

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            self.loop = asyncio.get_running_loop()
            await super().startup(sockets=sockets)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if sig != signal.SIGTERM or self.loop is None or self.draining or self.should_exit:
                super().handle_exit(sig, frame)
                return
            self.draining = True
            # A signal handler may run in the middle of the loop's own code: hand over to it.
            self.loop.call_soon_threadsafe(self.drain, sig)

        def drain(self, sig: int) -> None:
            for server in getattr(self, "servers", ()):
                server.close()  # this process's copy of the listening socket only
            assert self.loop is not None
            self.loop.call_later(DRAIN_SECONDS, uvicorn.Server.handle_exit, self, sig, None)

    return DrainingServer(config)


def _die_with_parent() -> None:
    """Ask the kernel for SIGTERM when the parent dies (Linux), so no worker is orphaned.

    The kernel signals when the *thread* that forked exits: workers are forked by the parent's
    main thread, which lives as long as the parent."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's SIGTERM still stops workers
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(EXIT_STOPPED)


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
    # The change feed's first version is described before any fork: a worker must never
    # inherit the history's lock held by a thread that does not exist in it.
    served.history.materialize()
    watcher = None
    if settings.watch:
        reloader = ForkingReloader(root, settings, served, changed, cache)
        watcher = Watcher(reloader, settings.watch_debounce_ms)
        watcher.start()
        print(f"watching {root.resolve()}/{{ontology,shapes,kg}} for changes", flush=True)
    settle_heap()
    print(
        f"serving dataset {served.current.version} on "
        f"http://{settings.host}:{settings.port}/graphql with {count} workers",
        flush=True,
    )
    try:
        return Supervisor(app, options, served, sockets, changed).run()
    finally:
        if watcher is not None:
            watcher.stop()


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
    ) -> None:
        super().__init__(root, settings, holder, cache=cache)
        self._changed = changed

    def reload(self) -> ReloadOutcome:
        before = (self.holder.current, self.holder.last_reload_error)
        try:
            return super().reload()
        finally:
            if (self.holder.current, self.holder.last_reload_error) != before:
                self._changed.set()
