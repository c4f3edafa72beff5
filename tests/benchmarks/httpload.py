"""Servers on 127.0.0.1 in their own process groups, pinned to a CPU, and bounded wrk runs."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"  # never anything else: the benchmarks only ever talk to loopback
SERVER_CPU = "1"
CLIENT_CPU = "0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"


# The HTTP protocol classes `clinic-kg serve` runs (server/http/slow_clients.py), per parser.
PROTOCOLS = {
    "h11": "server.http.slow_clients:HeaderTimeoutProtocol",
    "httptools": "server.http.httptools_deadline:HttpToolsHeaderTimeoutProtocol",
}
# serve's default (setting http_parser); BENCH_HTTP_PARSER=h11 measures the other one.
PARSER = os.environ.get("BENCH_HTTP_PARSER", "httptools")


def uvicorn_cmd(factory: str, port: int, parser: str = PARSER) -> list[str]:
    """The same uvicorn settings for our app and every Python baseline: the protocol and event
    loop `clinic-kg serve` runs."""
    return [
        sys.executable, "-m", "uvicorn", factory, "--factory", "--host", HOST,
        "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning",
        "--http", PROTOCOLS[parser], "--loop", "asyncio",
    ]  # fmt: skip


def start(
    name: str,
    cmd: list[str],
    env: Mapping[str, str],
    port: int,
    logs: Path,
    cwd: Path = REPO,
) -> Server:
    """Start a server in a new session (so the whole group can be killed), unpinned for loading;
    from this checkout unless `cwd` says another."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=cwd,
        )  # fmt: skip
    return Server(name, port, process, log)


def wait_ready(server: Server, timeout: float, path: str | None = None) -> None:
    """Wait until the port accepts connections (uvicorn binds only after the app is built), or
    with `path`, until a GET of it answers 200 (e.g. /readyz)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{server.name} exited while starting:\n{tail}")
        try:
            if path is None:
                with socket.create_connection((HOST, server.port), timeout=1):
                    return
            else:
                connection = http.client.HTTPConnection(HOST, server.port, timeout=2)
                try:
                    connection.request("GET", path)
                    if connection.getresponse().status == 200:
                        return
                finally:
                    connection.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{server.name} not ready after {timeout:.0f} s")


def pin(server: Server, cpus: str = SERVER_CPU) -> None:
    """Pin every thread of the server to `cpus` (threads it starts later inherit the mask)."""
    subprocess.run(
        ["taskset", "-a", "-p", "-c", cpus, str(server.process.pid)],
        check=True,
        capture_output=True,
    )


def stop(server: Server) -> None:
    if server.process.poll() is not None:
        return
    try:
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
    except ProcessLookupError:
        pass


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, every thread included."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(servers: Sequence[Server], timeout: float = 60.0) -> None:
    """Wait until no server is still working off an earlier run's backlog (a baseline that
    timed out keeps answering queued requests, and every server shares one pinned CPU)."""
    deadline = time.monotonic() + timeout
    before = sum(cpu_seconds(s.process.pid) for s in servers)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = sum(cpu_seconds(s.process.pid) for s in servers)
        if now - before < 0.05:  # under a tenth of the CPU over half a second
            return
        before = now


@contextmanager
def running(servers: list[Server]) -> Iterator[list[Server]]:
    try:
        yield servers
    finally:
        for server in servers:
            stop(server)


def lua_script(
    path: Path, bodies: Sequence[str], content_type: str, accept: str = "application/json"
) -> Path:
    """A wrk script that POSTs the bodies in turn (each thread starts at its own offset). The
    requests are formatted once, in `init`: wrk shares a CPU with the servers it loads, and
    building each request in Lua cost about a fifth of its CPU per request."""
    for body in bodies:
        if "]==]" in body:
            raise ValueError("body contains the Lua long-string terminator")
    items = ",\n".join(f"[==[{b}]==]" for b in bodies)
    path.write_text(
        f"""local bodies = {{
{items}
}}
local requests = {{}}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "{content_type}"
wrk.headers["Accept"] = "{accept}"
function setup(thread)
  thread:set("offset", math.random(#bodies))
end
function init(args)
  for k, body in ipairs(bodies) do
    requests[k] = wrk.format(nil, nil, nil, body)
  end
end
function request()
  i = i + 1
  return requests[((i + (offset or 0)) % #requests) + 1]
end
""",
        encoding="utf-8",
    )
    return path


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    timeouts: int
    load_before: float
    load_after: float
    cpu_ms: float = float("nan")  # the server's CPU time per completed request


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(
    url: str,
    script: Path,
    seconds: int,
    connections: int = 32,
    server: Server | None = None,
) -> WrkResult:
    """One bounded wrk run, pinned to the client CPU; loopback URLs only. With `server`, also
    its CPU time per completed request (what machine load does not inflate). One wrk thread:
    on one CPU a second one only adds switches between the two."""
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError(f"refusing to load anything but {HOST}: {url}")
    cmd = [
        "taskset", "-c", CLIENT_CPU, "wrk", "-t", "1", "-c", str(connections),
        "-d", f"{seconds}s", "--timeout", "5s", "--latency", "-s", str(script), url,
    ]  # fmt: skip
    load_before = os.getloadavg()[0]
    cpu_before = cpu_seconds(server.process.pid) if server else float("nan")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    cpu_used = (cpu_seconds(server.process.pid) - cpu_before) if server else float("nan")
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    timeouts = 0
    if sock:
        errors += sum(int(sock.group(i)) for i in (1, 2, 3))
        timeouts = int(sock.group(4))
    completed = int(total.group(1)) if total else 0
    return WrkResult(
        rps=float(rps.group(1)) if rps else 0.0,
        # wrk prints 0 latencies when nothing completed in time; that is no latency at all
        p50_ms=_ms(p50.group(1)) if p50 and completed > 0 else float("nan"),
        p99_ms=_ms(p99.group(1)) if p99 and completed > 0 else float("nan"),
        requests=int(total.group(1)) if total else 0,
        errors=errors,
        timeouts=timeouts,
        load_before=load_before,
        load_after=os.getloadavg()[0],
        cpu_ms=cpu_used * 1000 / completed if completed else float("nan"),
    )


@contextmanager
def background(url: str, script: Path, seconds: int, *, active: bool = True) -> Iterator[None]:
    """A wrk run of `script` on 2 connections in a thread while the body runs (when `active`)."""
    if not active:
        yield
        return
    thread = threading.Thread(target=wrk, args=(url, script, seconds, 2), daemon=True)
    thread.start()
    time.sleep(0.5)  # let the heavy stream start before the measured run
    try:
        yield
    finally:
        thread.join(timeout=seconds + 90)
