"""Free loopback ports for the servers tests start, and whether a server got the one it was given.

A free port is found by binding port 0 and closing the socket, so between that and the server's
own bind another process (an xdist worker, a second test run on the same machine) can take it. The
server then fails to bind, while its readiness probe is answered by the other process: the test
would talk to a stranger. `owns_port` tells the two apart from /proc (Linux), and the start-up
helpers try again on a new port (`PortTaken`)."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

# How many ports a start-up helper tries before it gives up.
PORT_ATTEMPTS = 3
_LISTEN = "0A"  # the state column of /proc/net/tcp for a listening socket


class PortTaken(Exception):
    """Another process listens on the port a server was given; start it again on another."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def listening_inodes(port: int) -> set[str]:
    """The inodes of the sockets that listen on `port` (any address, IPv4 or IPv6)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if (
                len(fields) > 9
                and fields[3] == _LISTEN
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                found.add(fields[9])
    return found


def owns_port(pid: int, port: int) -> bool:
    """Whether process `pid` holds a socket listening on `port`. True where /proc cannot tell
    (not Linux): the check is then the readiness probe alone, as before."""
    inodes = listening_inodes(port)
    if not Path("/proc/net/tcp").exists():
        return True
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def check_owner(pid: int, port: int, what: str) -> None:
    """Raise PortTaken when something answers on `port` but `pid` does not listen there."""
    if not owns_port(pid, port):
        raise PortTaken(f"{what}: port {port} is held by another process")


def started(
    start: Callable[[int], T], ready: Callable[[T], None], stop: Callable[[T], None]
) -> Generator[T, None, None]:
    """`start(attempt)` a server, wait until it is `ready`, yield it and `stop` it after; while
    `ready` raises PortTaken, stop it and start it again (at most PORT_ATTEMPTS times)."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        server = start(attempt)
        try:
            ready(server)
        except PortTaken:
            stop(server)
            if attempt == PORT_ATTEMPTS:
                raise
            continue
        except BaseException:
            stop(server)
            raise
        try:
            yield server
        finally:
            stop(server)
        return


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Terminate `process`; kill it if it has not exited after `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
