"""The linked-data page of a condition in a real browser: Debian's chromium, headless, opens
/id/failed-back-surgery-syndrome of a running `clinic-kg serve` and finds its symptoms and
treatments in the rendered DOM, and the neighbourhood diagram drawn.

Skips only when chromium is missing outside CI; under CI (CI set) a missing chromium fails.
"""

from __future__ import annotations

import json

import pytest

from . import live_server as live
from . import test_browser_graphiql as graphiql_test
from .cdp import Chromium
from .live_server import LiveServer

live_server = live.live_server
browser = graphiql_test.browser

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

SYMPTOMS = {
    "Abnormal sensation in the extremities",
    "Dull, aching pain in the back or legs",
    "Sharp pain in the extremities",
    "Stabbing pain in the back or extremities",
}
TREATMENTS = {"Acetaminophen", "Physical therapy", "Acupuncture", "Radiofrequency ablation"}

# Each relation heading of the page with the texts of the list items under it.
RELATIONS = """JSON.stringify(Object.fromEntries(
  [...document.querySelectorAll('h3')].map(h => {
    const list = h.nextElementSibling;
    const items = list && list.tagName === 'UL'
      ? [...list.querySelectorAll('li')].map(li => li.innerText.trim()) : [];
    return [h.innerText.trim(), items];
  })))"""


def test_condition_page_shows_symptoms_and_treatments(
    browser: Chromium, live_server: LiveServer
) -> None:
    browser.open(f"{live_server.url}/id/failed-back-surgery-syndrome")
    browser.wait_for(
        "document.readyState === 'complete' && document.querySelector('h1') !== null",
        "the condition page",
    )
    assert browser.evaluate("document.querySelector('h1').innerText") == (
        "Failed back surgery syndrome"
    )
    relations = json.loads(browser.evaluate(RELATIONS))
    assert set(relations["Has symptom"]) == SYMPTOMS
    assert set(relations["Possible treatment"]) >= TREATMENTS
    # The neighbourhood diagram is drawn, with the symptoms among its labels.
    width = browser.evaluate("document.querySelector('svg').getBoundingClientRect().width")
    assert width > 100
    drawn = browser.evaluate(
        "[...document.querySelectorAll('svg text')].map(t => t.textContent).join('\\n')"
    )
    assert "Acetaminophen" in drawn
    # Links lead to the other entities' pages on the same server.
    href = browser.evaluate(
        "[...document.querySelectorAll('li a')].map(a => a.href)"
        ".find(h => h.endsWith('/id/acetaminophen'))"
    )
    assert href == f"{live_server.url}/id/acetaminophen"
