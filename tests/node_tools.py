"""The Node test project (tests/node): its packages, installed once with `npm ci` from the
committed lock file, and a way to run its scripts.

Node and npm come with the machine (CI installs them if missing, see .ci/run). Outside CI a
machine without them skips these tests with the reason; under CI (`CI=true`) that is a failure,
so nothing is silently left out there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_PROJECT = Path(__file__).resolve().parent / "node"
INSTALL_TIMEOUT = 600  # seconds: a first install downloads from the npm registry


def require_node() -> Path:
    """The Node project with its packages installed; skips (fails under CI) without node/npm."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        reason = f"{' and '.join(missing)} not found: install Node.js 20 to run the Node tests"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    lock = NODE_PROJECT / "package-lock.json"
    stamp = NODE_PROJECT / "node_modules" / ".clinic-kg-installed"
    if not stamp.exists() or stamp.read_text() != lock.read_text():
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


def run_node(script: str, *args: str, timeout: float = 120) -> Any:
    """Run `node script args…` in the Node project; its stdout parsed as JSON."""
    project = require_node()
    done = subprocess.run(
        ["node", script, *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"node {script} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)
