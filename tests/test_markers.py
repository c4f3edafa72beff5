"""The markers tests/conftest.py applies, and what `make test-fast` (pytest --fast) leaves out:
a throwaway test module, collected by an inner pytest with the project's own configuration."""

from __future__ import annotations

import hypothesis  # noqa: F401
import pytest

# Imported here so that they outlive each inner run (pytester drops the modules a run imports):
# otherwise every run imports them again, seconds each.
from . import cdp, live_server  # noqa: F401
from .conftest import REPO

PROBE = """
import subprocess
import sys

import pytest
from hypothesis import given, strategies as st

from tests.cdp import Chromium
from tests.live_server import LiveServer, client, live_server


@pytest.fixture
def page():
    return Chromium("/no/such/chromium")


def helper_that_spawns() -> None:
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_plain():
    assert 1 + 1 == 2


def test_on_the_live_server(live_server: LiveServer):
    pass


def test_through_the_graphql_client(client):
    pass


def test_in_a_browser(page):
    pass


def test_through_a_helper():
    helper_that_spawns()


@given(st.integers())
def test_property(n):
    assert n == n
"""

# The conftest hooks under test, and one line per collected test with the markers it ended with.
CONFTEST = """
from tests.conftest import pytest_addoption, pytest_collection_modifyitems


def pytest_collection_finish(session):
    for item in session.items:
        print("MARKERS", item.name, *sorted({m.name for m in item.iter_markers()}))
"""


def collected(pytester: pytest.Pytester, *args: str) -> dict[str, set[str]]:
    """Each test the inner pytest collects, with its markers."""
    pytester.makepyprojecttoml((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_probe=PROBE)
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    rows = [line.split()[1:] for line in result.stdout.lines if line.startswith("MARKERS ")]
    return {name: set(markers) for name, *markers in rows}


def test_markers_come_from_fixtures_helpers_and_hypothesis(pytester: pytest.Pytester) -> None:
    assert collected(pytester) == {
        "test_plain": set(),
        # A live server and chromium are child processes too.
        "test_on_the_live_server": {"e2e", "slow"},
        "test_through_the_graphql_client": {"e2e", "slow"},  # client needs live_server
        "test_in_a_browser": {"browser", "slow"},
        "test_through_a_helper": {"slow"},
        "test_property": {"hypothesis", "slow"},  # hypothesis: its plugin's own
    }


def test_fast_leaves_out_what_is_marked_and_keeps_plain_tests(pytester: pytest.Pytester) -> None:
    assert set(collected(pytester, "--fast")) == {"test_plain"}


def test_markers_select_as_usual(pytester: pytest.Pytester) -> None:
    assert set(collected(pytester, "-m", "e2e")) == {
        "test_on_the_live_server",
        "test_through_the_graphql_client",
    }
