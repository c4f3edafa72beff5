"""Shared test helpers: the repository root, throwaway copies of the project, and the markers
that `make test-fast` selects on."""

from __future__ import annotations

import importlib
import inspect
import shutil
import types
from collections import Counter
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.serve.watch import Reloader
from server.settings import Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import build_snapshot
from server.validate.validation import validate_project

# How much of a live server's log a failed test shows.
SERVER_LOG_LINES = 60

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of ontology/, shapes/ and kg/ that a test may break freely."""
    for name in ("ontology", "shapes", "kg"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def reloader(project: Path) -> Reloader:
    """A `serve --watch` reloader over a copy of the project, serving its first version."""
    settings = Settings()
    outcome = validate_project(project, (), settings)
    assert outcome.conforms
    snapshot = build_snapshot(outcome.load, settings, outcome.index)
    return Reloader(project, settings, StoreHolder(snapshot))


# Markers applied from what a test reaches, so a new test is marked without anyone remembering:
# its own code, the fixtures it uses (all the way down) and the functions and classes of test code
# they call. A Hypothesis property test is "slow" too (up to 100 examples each).
# `make test-fast` (`pytest --fast`) leaves them all out: the inner loop runs in this one process.
REACHED_BY = {
    "e2e": "tests.live_server:start",  # a real `clinic-kg serve` (uvicorn) in a subprocess
    "browser": "tests.cdp:Chromium",  # headless chromium
    "slow": "subprocess:Popen run call check_call check_output getoutput getstatusoutput",
}
FAST_LEAVES_OUT = tuple(REACHED_BY)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help="leave out tests marked " + ", ".join(FAST_LEAVES_OUT) + " (make test-fast)",
    )


@pytest.hookimpl(tryfirst=True)  # before `-m` reads the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark what each test reaches; with --fast, deselect what the inner loop leaves out."""
    targets = _targets()
    for item in items:
        for marker in sorted(_markers_reached(item, targets)):
            item.add_marker(marker)
    if config.getoption("fast"):
        kept: list[pytest.Item] = []
        left_out: list[pytest.Item] = []
        for item in items:
            slow = any(item.get_closest_marker(m) for m in FAST_LEAVES_OUT)
            (left_out if slow else kept).append(item)
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = kept


def _targets() -> dict[int, str]:
    """The ids of the objects that earn each marker, imported only now: tests.live_server
    imports this module."""
    found: dict[int, str] = {}
    for marker, spec in REACHED_BY.items():
        module_name, _, names = spec.partition(":")
        module = importlib.import_module(module_name)
        found.update((id(getattr(module, name)), marker) for name in names.split())
    return found


def _markers_reached(item: pytest.Item, targets: dict[int, str]) -> set[str]:
    """The markers of the targets that a test function or its fixtures reach."""
    if not isinstance(item, pytest.Function):
        return set()
    # Fixture definitions have no public accessor; this mapping has been stable since pytest 3.
    defs = item._fixtureinfo.name2fixturedefs
    starts = [item.function, *(d.func for name in item.fixturenames for d in defs.get(name, ()))]
    home = item.module.__name__ if item.module else ""
    found = {
        marker
        for start in starts
        if _is_test_code(start, home)
        for marker in _reach(start, home, targets)
    }
    if hasattr(item.function, "hypothesis"):  # a Hypothesis property test: up to 100 examples
        found.add("slow")
    return found


def _reach(start: object, home: str, targets: dict[int, str]) -> set[str]:
    """Walk the names a function's code uses, into functions and classes of test code."""
    found: set[str] = set()
    seen: set[int] = set()
    stack = [start]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, type):
            stack.extend(v for v in vars(obj).values() if inspect.isfunction(v))
            continue
        if not inspect.isfunction(obj):
            continue
        # Decorators hide the body: functools.wraps keeps it in __wrapped__, Hypothesis in
        # .hypothesis.inner_test (its wrapper has globals of its own).
        stack.extend(
            inner
            for inner in (
                getattr(obj, "__wrapped__", None),
                getattr(getattr(obj, "hypothesis", None), "inner_test", None),
            )
            if inner is not None
        )
        for used in _names_used(obj):
            if (marker := targets.get(id(used))) is not None:
                found.add(marker)
            if _is_test_code(used, home):
                stack.append(used)
    return found


def _names_used(func: types.FunctionType) -> Iterator[Any]:
    """What the global names of a function (and of the code nested in it) refer to; for a module,
    also its attributes the code names (`live_server.start` compiles to two names)."""
    names: set[str] = set()
    codes = [func.__code__]
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    for name in names:
        value = func.__globals__.get(name)
        if value is None:
            continue
        yield value
        if isinstance(value, types.ModuleType):
            yield from (getattr(value, a) for a in names if a in vars(value))


def _is_test_code(obj: object, home: str) -> bool:
    """A function or class of the tests package or of the test's own module, never the library."""
    module = getattr(obj, "__module__", None) or ""
    return (inspect.isfunction(obj) or isinstance(obj, type)) and (
        module == home or module.partition(".")[0] == "tests"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that used a live server shows that server's log (the tail of it): the code
    and message behind a 5xx are there, and the log file is deleted when the server stops."""
    report = yield
    if not report.failed:
        return report
    from tests.live_server import LiveServer  # it imports this module

    for name, value in getattr(item, "funcargs", {}).items():
        if isinstance(value, LiveServer):
            lines = value.output().splitlines()[-SERVER_LOG_LINES:]
            report.sections.append((f"clinic-kg serve log ({name}, last lines)", "\n".join(lines)))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per W3C suite with how its entries fared (tests/test_w3c_*.py record each one;
    read from the reports, so it works under pytest-xdist too)."""
    tally: dict[str, Counter[str]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == "w3c":
                    suite, outcome = value
                    tally.setdefault(suite, Counter())[outcome] += 1
    for suite, counts in sorted(tally.items()):
        total = sum(counts.values())
        first = "passed" if "passed" in counts else "native"
        parts = [f"{counts[first]}/{total} {first}"]
        parts += [f"{n} {o}" for o, n in sorted(counts.items()) if o not in (first, "wrong")]
        parts.append(f"{counts['wrong']} wrong")
        terminalreporter.write_line(f"{suite}: " + ", ".join(parts))
