"""The Node test project (tests/node): its packages, installed once with `npm ci` from the
committed lock file, and a way to run its scripts.

Node and npm come with the machine (CI installs them if missing, see .ci/run). Outside CI a
machine without them skips these tests with the reason; under CI (`CI=true`) that is a failure,
so nothing is silently left out there.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
NODE_PROJECT = REPO / "tests" / "node"
INSTALL_TIMEOUT = 600  # seconds: a first install downloads from the npm registry


def require_node() -> Path:
    """The Node project with its packages installed; skips (fails under CI) without node/npm."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        reason = f"{' and '.join(missing)} not found: install Node.js 18+ to run the Node tests"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    lock = NODE_PROJECT / "package-lock.json"
    stamp = NODE_PROJECT / "node_modules" / ".clinic-kg-installed"
    with _locked("npm"):  # xdist workers: one `npm ci` at a time, the others then see the stamp
        if stamp.exists() and stamp.read_text() == lock.read_text():
            return NODE_PROJECT
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_PROJECT,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci failed in {NODE_PROJECT}:\n{done.stderr[-3000:]}")
        stamp.write_text(lock.read_text())
    return NODE_PROJECT


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """An exclusive lock across processes, for this checkout's Node project."""
    key = hashlib.sha256(str(NODE_PROJECT).encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"clinic-kg-node-{key}-{name}.lock"
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def run_node(script: str, *args: str, timeout: float = 120) -> Any:
    """Run `node script args…` in the Node project; its stdout parsed as JSON."""
    return json.loads(node_step(require_node(), script, *args, timeout=timeout))


TIMEOUT = 300  # seconds per Node step: a bound, not a performance assertion
INPUTS = (
    "codegen.yml",
    "tsconfig.json",
    "apollo.ts",
    "client.ts",
    "build.mjs",
    "package-lock.json",
)
FEED_INPUTS = ("feed/codegen.yml", "feed/tsconfig.json", "feed/client.ts", "feed/changes.graphql")


def node_step(project: Path, *command: str, timeout: float = TIMEOUT) -> str:
    """Run `node command…` in the Node project; its stdout, or the test fails with its output."""
    done = subprocess.run(
        ["node", *command],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        output = done.stdout[-3000:] + done.stderr[-3000:]
        pytest.fail(f"node {' '.join(command)} exited {done.returncode}:\n{output}")
    return done.stdout


def build_clients(*, feed: bool = False) -> Path:
    """graphql-codegen, `tsc --noEmit` (strict: a type error fails the test), then build/; with
    `feed`, the change feed's client too. Done once per state of the inputs, under a lock, so
    xdist workers neither repeat it nor write build/ at once."""
    project = require_node()
    digest = hashlib.sha256((REPO / "server" / "schema.graphql").read_bytes())
    for path in [*(project / name for name in INPUTS), *sorted(project.glob("operations/*"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    stamp = project / "build" / ".clinic-kg-built"
    with _locked("build"):
        if not stamp.exists() or stamp.read_text() != digest.hexdigest():
            shutil.rmtree(project / "generated", ignore_errors=True)
            shutil.rmtree(project / "build", ignore_errors=True)
            node_step(project, "node_modules/.bin/graphql-codegen", "--config", "codegen.yml")
            node_step(project, "node_modules/typescript/bin/tsc", "--noEmit", "-p", ".")
            node_step(project, "build.mjs")
            stamp.write_text(digest.hexdigest())
        if feed:
            for name in FEED_INPUTS:
                digest.update(name.encode() + b"\0" + (project / name).read_bytes())
            feed_stamp = project / "build" / ".clinic-kg-built-feed"
            if not feed_stamp.exists() or feed_stamp.read_text() != digest.hexdigest():
                config = "feed/codegen.yml"
                node_step(project, "node_modules/.bin/graphql-codegen", "--config", config)
                node_step(project, "node_modules/typescript/bin/tsc", "--noEmit", "-p", "feed")
                node_step(project, "build.mjs")
                feed_stamp.write_text(digest.hexdigest())
    return project
