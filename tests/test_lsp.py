"""`clinic-kg lsp` driven over stdio as an editor drives it: open a file of a copy of the project,
misspell a predicate, take the quick fix; and the parts underneath (diagnostics as LSP ranges,
the fix's edits) in process."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcInternalError

from server.diagnostics import Diagnostic, Severity
from server.lsp.convert import Fix, Text, fix_edits, to_lsp
from server.lsp.server import build
from server.settings import Settings

from .kg_files import described_in
from .lsp_client import LspClient
from .seed import FBSS


@pytest.fixture
def editor(project: Path) -> Iterator[LspClient]:
    """`clinic-kg lsp` started in a copy of the project, initialized on it."""
    client = LspClient(project)
    try:
        client.initialize(project)
        yield client
    finally:
        client.close()


def _open(client: LspClient, path: Path) -> tuple[str, str]:
    uri, text = path.as_uri(), path.read_text(encoding="utf-8")
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "turtle", "version": 1, "text": text}},
    )
    return uri, text


def _change(client: LspClient, uri: str, version: int, text: str) -> None:
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
    )


def _apply(text: str, edits: list[dict[str, Any]]) -> str:
    """The text with LSP edits applied (one line each, as the quick fix makes them)."""
    lines = text.split("\n")
    for edit in sorted(edits, key=lambda e: -e["range"]["start"]["character"]):
        start, end = edit["range"]["start"], edit["range"]["end"]
        assert start["line"] == end["line"]
        line = lines[start["line"]]
        lines[start["line"]] = (
            line[: start["character"]] + edit["newText"] + line[end["character"] :]
        )
    return "\n".join(lines)


def test_misspelt_predicate_is_shown_fixed_and_cleared(editor: LspClient, project: Path) -> None:
    relative, subject_line = described_in(project, FBSS)
    uri, text = _open(editor, project / relative)
    assert editor.diagnostics_for(uri) == [], "the landed file has diagnostics"
    assert all(p["diagnostics"] == [] for p in editor.published()), editor.published()

    # The editor sends the keystrokes as an incremental change: `ckg:hasSymptom` loses its p.
    lines = text.split("\n")
    at = next(n for n, line in enumerate(lines) if "ckg:hasSymptom " in line)
    column = lines[at].index("ckg:hasSymptom") + len("ckg:hasSym")
    typed = time.monotonic()
    editor.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": uri, "version": 2},
            "contentChanges": [
                {
                    "range": {
                        "start": {"line": at, "character": column},
                        "end": {"line": at, "character": column + 1},
                    },
                    "text": "",
                }
            ],
        },
    )
    shown = editor.diagnostics_for(uri, lambda ds: bool(ds))
    elapsed = time.monotonic() - typed
    print(f"\ndidChange -> publishDiagnostics on the seed: {elapsed * 1000:.0f} ms")
    closed = [d for d in shown if d["code"] == "KG-CLOSED"]
    assert closed, shown
    first = closed[0]
    assert first["range"]["start"]["line"] == subject_line - 1  # the subject's line
    assert first["source"] == "clinic-kg"
    assert first["severity"] == 1  # error
    assert "ckg:hasSymtom" in first["message"]
    assert "did you mean ckg:hasSymptom?" in first["message"]
    # The predicate is written further down the statement: the editor can point there.
    assert first["relatedInformation"][0]["location"]["range"]["start"]["line"] == at

    # A file that is not open but now fails (its evidence names the relation) is shown too.
    page = (project / "kg/pages/clinic-page.ttl").as_uri()
    orphans = [p for p in editor.published() if p["uri"] == page and p["diagnostics"]]
    if not orphans:
        orphans = [{"diagnostics": editor.diagnostics_for(page, lambda ds: bool(ds))}]
    assert {d["code"] for d in orphans[-1]["diagnostics"]} == {"KG-ORPHAN-ASSERTION"}

    actions = editor.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": uri},
            "range": first["range"],
            "context": {"diagnostics": closed},
        },
    )
    assert [a["title"] for a in actions] == ["Replace ckg:hasSymtom with ckg:hasSymptom"]
    assert actions[0]["kind"] == "quickfix"
    # A client that does not keep a diagnostic's `data` gets the same fix.
    stripped = [{k: v for k, v in d.items() if k != "data"} for d in closed]
    again = editor.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": uri},
            "range": first["range"],
            "context": {"diagnostics": stripped},
        },
    )
    assert [a["edit"] for a in again] == [actions[0]["edit"]]
    edits = actions[0]["edit"]["changes"][uri]
    assert [(e["range"]["start"]["line"], e["newText"]) for e in edits] == [(at, "ckg:hasSymptom")]
    lines[at] = lines[at][:column] + lines[at][column + 1 :]  # what the editor now holds
    fixed = _apply("\n".join(lines), edits)
    assert fixed == text

    _change(editor, uri, 3, fixed)
    assert editor.diagnostics_for(uri, lambda ds: not ds) == []
    assert editor.diagnostics_for(page, lambda ds: not ds) == []
    assert editor.shutdown() == 0


def test_landed_files_open_without_diagnostics(editor: LspClient, project: Path) -> None:
    """Opening files of every folder of the unchanged project shows nothing at all."""
    uris = [
        _open(editor, project / name)[0]
        for name in ("ontology/properties.ttl", "shapes/entities.ttl", "kg/pages/clinic-page.ttl")
    ]
    editor.until(lambda: set(uris) <= {p["uri"] for p in editor.published()}, "3 publications")
    assert all(p["diagnostics"] == [] for p in editor.published())
    assert editor.shutdown() == 0


def test_a_burst_of_edits_is_one_validation(project: Path) -> None:
    """Keystrokes closer together than lsp_debounce_ms are validated once, at the last one (a
    long debounce here, so that a slow machine cannot split the burst)."""
    client = LspClient(project, env={**os.environ, "CLINIC_KG_LSP_DEBOUNCE_MS": "1500"})
    try:
        client.initialize(project)
        uri, text = _open(client, project / "kg/symptoms.ttl")
        client.diagnostics_for(uri)
        before = len(client.published())
        for version in range(2, 7):
            _change(client, uri, version, text + "\n" * version)
        client.diagnostics_for(uri)
        burst = client.published()[before:]
        assert [(p["uri"], p.get("version")) for p in burst] == [(uri, 6)]
        assert client.shutdown() == 0
    finally:
        client.close()


def test_a_syntax_error_is_shown_where_it_is(editor: LspClient, project: Path) -> None:
    """A file that does not parse shows its parse error; what other files showed stands until
    it parses again (a half-typed statement does not clear the project's findings)."""
    relative, _ = described_in(project, FBSS)
    uri, text = _open(editor, project / relative)
    editor.diagnostics_for(uri)
    page = (project / "kg/pages/clinic-page.ttl").as_uri()
    misspelt = text.replace("ckg:hasSymptom", "ckg:hasSymtom", 1)
    _change(editor, uri, 2, misspelt)
    editor.until(
        lambda: any(p["uri"] == page and p["diagnostics"] for p in editor.published()),
        "the page's orphan assertions",
    )
    before = len(editor.published())
    broken = misspelt.rstrip("\n") + "\n\nkg:x kg:y kg:z kg:w .\n"  # one object too many
    _change(editor, uri, 3, broken)
    shown = editor.diagnostics_for(uri, lambda ds: any(d["code"] == "KG-PARSE" for d in ds))
    assert [d["code"] for d in shown] == ["KG-PARSE"]
    assert shown[0]["range"]["start"]["line"] == broken.count("\n") - 1
    assert [p["uri"] for p in editor.published()[before:]] == [uri]  # the page was left alone
    _change(editor, uri, 4, text)
    assert editor.diagnostics_for(uri, lambda ds: not ds) == []
    assert editor.diagnostics_for(page, lambda ds: not ds) == []
    assert editor.shutdown() == 0


def test_a_message_that_fails_is_one_logged_line(editor: LspClient, project: Path) -> None:
    """A change to a document the editor never opened: pygls cannot apply it. The editor is told
    in one line, without a traceback, and the server goes on."""
    _change(editor, (project / "kg/symptoms.ttl").as_uri(), 2, "kg:x a ckg:Symptom .")
    logged = editor.wait_for(lambda m: m.get("method") == "window/logMessage")
    assert "could not handle a message" in logged["params"]["message"]
    assert "\n" not in logged["params"]["message"]
    uri, _ = _open(editor, project / "kg/causes.ttl")
    assert editor.diagnostics_for(uri) == []
    assert editor.shutdown() == 0
    assert "Traceback" not in editor.stderr()
    assert "could not handle a message" in editor.stderr()


def test_not_a_project_is_said_once(tmp_path: Path) -> None:
    (tmp_path / "notes.ttl").write_text("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\n")
    client = LspClient(tmp_path)
    try:
        client.initialize(tmp_path)
        said = client.wait_for(lambda m: m.get("method") == "window/showMessage")
        assert "is not a clinic-kg project" in said["params"]["message"]
        uri, _ = _open(client, tmp_path / "notes.ttl")
        _change(client, uri, 2, "not turtle at all")
        assert client.request("textDocument/codeAction", _no_context(uri)) == []
        assert client.shutdown() == 0
        messages = [m.get("method") for m in client.received]
        assert messages.count("window/showMessage") == 1
        assert "textDocument/publishDiagnostics" not in messages
        assert "Traceback" not in client.stderr()
    finally:
        client.close()


def test_exit_without_shutdown_is_exit_code_1(project: Path) -> None:
    client = LspClient(project, env={**os.environ, "CLINIC_KG_LSP_DEBOUNCE_MS": "0"})
    try:
        client.initialize(project)
        client.notify("exit", None)
        assert client.process.wait(timeout=60) == 1
    finally:
        client.close()


def _no_context(uri: str) -> dict[str, Any]:
    zero = {"line": 0, "character": 0}
    return {
        "textDocument": {"uri": uri},
        "range": {"start": zero, "end": zero},
        "context": {"diagnostics": []},
    }


# --- in process: the conversion and the fix ---

STATEMENT = """@prefix ckg: <https://clinic-kg.example/ontology#> .
@prefix kg: <https://clinic-kg.example/id/> .

kg:x a ckg:Conditon ;
    ckg:hasSymtom kg:a, kg:b ;
    <https://clinic-kg.example/ontology#hasSymtom> kg:c .

kg:y ckg:hasSymtom kg:d .
"""


def _closed(line: int = 4) -> Diagnostic:
    return Diagnostic(
        path="kg/x.ttl",
        line=line,
        severity=Severity.ERROR,
        code="KG-CLOSED",
        message="a condition has a property its shape does not allow",
        subject="kg:x",
        property="ckg:hasSymtom",
        value="kg:a",
        hint="did you mean ckg:hasSymptom?",
    )


def test_a_diagnostic_is_on_its_line_with_the_offending_term() -> None:
    text = Text(STATEMENT)
    unknown = Diagnostic(
        "kg/x.ttl",
        4,
        Severity.ERROR,
        "KG-UNKNOWN-CLASS",
        "type ckg:Conditon is not a class of the ontology",
        subject="kg:x",
        property="rdf:type",
        value="ckg:Conditon",
        hint="did you mean ckg:Condition?",
    )
    shown = to_lsp(unknown, text, "file:///x.ttl")
    assert (shown.range.start.line, shown.range.start.character) == (3, 7)
    assert shown.range.end.character == 7 + len("ckg:Conditon")
    assert shown.code == "KG-UNKNOWN-CLASS"
    assert shown.source == "clinic-kg"
    assert shown.message.endswith("hint: did you mean ckg:Condition?")
    assert shown.data == {"fix": {"wrong": "ckg:Conditon", "right": "ckg:Condition", "line": 3}}

    closed = to_lsp(_closed(), text, "file:///x.ttl")
    assert closed.range.start.line == 3
    assert (closed.range.start.character, closed.range.end.character) == (
        0,
        len("kg:x a ckg:Conditon ;"),
    )
    assert closed.related_information is not None
    assert closed.related_information[0].location.range.start.line == 4


def test_the_fix_rewrites_the_term_in_its_statement_only() -> None:
    text = Text(STATEMENT)
    edits = fix_edits(text, Fix("ckg:hasSymtom", "ckg:hasSymptom", 3))
    assert [(e.range.start.line, e.new_text) for e in edits] == [
        (4, "ckg:hasSymptom"),
        (5, "<https://clinic-kg.example/ontology#hasSymptom>"),
    ]  # not kg:y's, two statements on


def test_columns_are_counted_in_the_clients_units() -> None:
    text = Text('kg:x skos:prefLabel "Douleur — 😀" ; ckg:hasSymtom kg:a .\n')
    shown = to_lsp(_closed(1), text, "file:///x.ttl", lambda s: len(s.encode("utf-16-le")) // 2)
    column = text.lines[0].index("ckg:hasSymtom")
    assert shown.range.start.character == column + 1  # the emoji is two UTF-16 units


def test_no_fix_without_a_did_you_mean() -> None:
    plain = Diagnostic("kg/x.ttl", 4, Severity.WARNING, "KG-MINCOUNT", "needs a symptom")
    assert to_lsp(plain, Text(STATEMENT), "file:///x.ttl").data is None
    assert re.fullmatch(r"— needs a symptom", to_lsp(plain, Text(STATEMENT), "u").message)


def test_an_error_response_carries_no_traceback() -> None:
    """pygls puts the traceback of a request that failed in its error's data: it is dropped."""
    written: list[bytes] = []

    class Writer:
        def write(self, data: bytes) -> None:
            written.append(data)

        def close(self) -> None:
            pass

    server = build(Settings())
    server.protocol.set_writer(Writer(), include_headers=False)
    try:
        raise KeyError("boom")
    except KeyError:
        error = JsonRpcInternalError.of(sys.exc_info()).to_response_error()
    assert error.data  # what pygls would have sent
    server.protocol._send_response(7, error=error)
    sent = json.loads(b"".join(written))
    assert sent["error"] == {"code": -32603, "message": "KeyError: 'boom'"}
