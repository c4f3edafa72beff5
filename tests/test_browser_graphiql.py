"""GraphiQL in a real browser: Debian's chromium, headless, opens /graphql of a running
`clinic-kg serve`, a query is typed into the editor and run, and the answer is read back.

Skips only when chromium is missing outside CI; under CI (CI set) a missing chromium fails.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator

import pytest

from . import live_server as live
from .cdp import Chromium
from .live_server import LiveServer

# The real server fixture shared with the end-to-end modules.
live_server = live.live_server

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

QUERY = '{ search(text: "tylenol") { edges { node { id label } } } }'


def chromium_binary() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    )
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(
            "chromium is not installed; under CI the browser test must run "
            "(.ci/run installs it: apt-get install chromium)"
        )
    pytest.skip("chromium is not installed (apt-get install chromium)")


@pytest.fixture
def browser() -> Iterator[Chromium]:
    chrome = Chromium(chromium_binary())
    try:
        yield chrome
    finally:
        chrome.close()


def test_graphiql_answers_a_typed_query(
    browser: Chromium,
    live_server: LiveServer,
) -> None:
    browser.open(live_server.graphql)
    editor = "document.querySelector('.graphiql-query-editor .CodeMirror')"
    browser.wait_for(f"{editor} !== null", "the GraphiQL query editor")
    assert "clinic-kg GraphiQL" in browser.evaluate("document.title")

    # Type the query as a user would: focus the editor, select everything, insert the text.
    browser.evaluate(f"{editor}.CodeMirror.focus(); {editor}.CodeMirror.execCommand('selectAll')")
    browser.page("Input.insertText", {"text": QUERY})
    typed = browser.evaluate(f"{editor}.CodeMirror.getValue()")
    assert "tylenol" in typed

    browser.evaluate("document.querySelector('.graphiql-execute-button').click()")
    response = "document.querySelector('.graphiql-response .CodeMirror')"
    text = browser.wait_for(
        f"(() => {{ const r = {response}; const v = r && r.CodeMirror.getValue(); "
        "return v && v.includes('\"data\"') ? v : null; })()",
        "the answer in the GraphiQL response pane",
    )
    answer = json.loads(text)
    assert answer["data"]["search"]["edges"][0]["node"] == {
        "id": "acetaminophen",
        "label": "Acetaminophen",
    }


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), (None, pytest.skip.Exception)]
)
def test_missing_chromium_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str | None, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os.path, "exists", lambda path: False)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome):
        chromium_binary()
