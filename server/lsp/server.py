"""`clinic-kg lsp`: the project's diagnostics in the editor, over the Language Server Protocol.

Each change to an open document (debounced) validates the whole project, with the open
documents' unsaved text read instead of their files; the diagnostics of every file are published,
open or not, and a did-you-mean in a hint is offered as a quick fix. Validation runs on a thread
of its own, one run at a time, so the server keeps reading the editor's messages meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from lsprotocol import types as lsp
from pygls.exceptions import FeatureRequestError
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from server.lsp.convert import Fix, Text, fix_edits, to_lsp
from server.lsp.project import Findings, LiveProject, find_project, missing_folders
from server.settings import Settings

log = logging.getLogger("clinic_kg.lsp")
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class _Open:
    """An open document of the project, as it was when a validation started."""

    path: Path
    text: str
    version: int | None


class _Protocol(LanguageServerProtocol):
    """pygls answers a request that failed with the Python traceback in the error's data: the
    editor gets the error's message only (the server's log has one line)."""

    def _send_response(
        self, msg_id: Any, result: Any | None = None, error: lsp.ResponseError | None = None
    ) -> None:
        if error is not None and error.data is not None:
            error = lsp.ResponseError(code=error.code, message=error.message)
        super()._send_response(msg_id, result, error)


class ClinicKgServer(LanguageServer):
    """The language server; `root` (from `--root`) overrides the editor's workspace folder."""

    def __init__(self, settings: Settings, root: Path | None = None) -> None:
        version = _package_version()
        super().__init__("clinic-kg", version, protocol_cls=_Protocol)
        self.settings = settings
        self.explicit_root = root
        self.project: LiveProject | None = None
        self.shut_down = False
        self._published: dict[str, list[lsp.Diagnostic]] = {}  # by uri
        self._timer: asyncio.TimerHandle | None = None
        self._dirty = False
        self._running: asyncio.Task[None] | None = None
        self._validator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clinic-kg-validate")

    # --- errors: one logged line to the editor, never a traceback ---

    def internal_error(self, where: str, exc: BaseException) -> None:
        text = f"clinic-kg lsp: internal error in {where}: {type(exc).__name__}: {exc}"
        log.error(text)
        # The editor may be gone: the stderr line is then all there is.
        with contextlib.suppress(Exception):
            self.window_log_message(lsp.LogMessageParams(type=lsp.MessageType.Error, message=text))

    def report_server_error(self, error: Exception, source: Any) -> None:
        """pygls' hook for a message it could not handle (its default shows the error)."""
        text = f"clinic-kg lsp: could not handle a message: {type(error).__name__}: {error}"
        log.error(text)
        if source is not FeatureRequestError:  # a request's error is in its response already
            with contextlib.suppress(Exception):
                self.window_log_message(
                    lsp.LogMessageParams(type=lsp.MessageType.Error, message=text)
                )

    # --- the project ---

    def open_project(self) -> None:
        """Find the project (--root, else the editor's folder or the nearest folder above it that
        is a project, else the current folder), or say once why there is none."""
        if self.explicit_root is not None:
            root = self.explicit_root
        else:
            start = _editor_root(self) or Path.cwd()
            root = find_project(start) or start
        missing = missing_folders(root)
        if missing:
            text = (
                f"clinic-kg: {root} is not a clinic-kg project (no {', '.join(missing)} folder): "
                "no diagnostics. Open the project folder, or start the server with "
                "`clinic-kg lsp --root DIR`."
            )
            log.warning(text)
            self.window_show_message(
                lsp.ShowMessageParams(type=lsp.MessageType.Warning, message=text)
            )
            return
        self.project = LiveProject(root, self.settings)
        log.info("clinic-kg lsp: project %s", self.project.root)

    def schedule(self) -> None:
        """Validate once edits pause for lsp_debounce_ms (a burst of edits is one run)."""
        if self.project is None:
            return
        if self._timer is not None:
            self._timer.cancel()
        delay = max(self.settings.lsp_debounce_ms, 0) / 1000
        self._timer = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._dirty = True
        if self._running is None:
            self._running = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        """Run validations until no edit came in during the last one."""
        try:
            while self._dirty and self.project is not None:
                self._dirty = False
                opened = self._open_documents()
                overlay = {o.path: o.text for o in opened.values()}
                loop = asyncio.get_running_loop()
                try:
                    findings = await loop.run_in_executor(
                        self._validator, self.project.validate, overlay
                    )
                    self._publish(findings, opened)
                except Exception as exc:
                    self.internal_error("validation", exc)
        finally:
            self._running = None

    def _open_documents(self) -> dict[str, _Open]:
        """The open documents of the project, by uri, as they are now."""
        opened = {}
        for uri, doc in self.workspace.text_documents.items():
            path = _path(uri)
            if path is not None and self.project is not None and self.project.holds(path):
                opened[uri] = _Open(path.resolve(), doc.source, doc.version)
        return opened

    def _publish(self, findings: Findings, opened: dict[str, _Open]) -> None:
        """Publish each file's diagnostics; clear those of files that have none now. When a file
        did not parse, only the files with parse errors are republished: what the others had
        found still stands until the project parses again."""
        uri_of = {o.path: uri for uri, o in opened.items()}
        found = {uri_of.get(p) or p.as_uri(): (p, ds) for p, ds in findings.by_file.items()}
        uris = set(found)
        if findings.complete:
            uris |= set(self._published) | set(opened)
        units = self.workspace.position_codec.client_num_units
        for uri in sorted(uris):
            path, diagnostics = found.get(uri, (None, ()))
            # Ranges are found in the text that was validated, not in what was typed since.
            text = Text(opened[uri].text) if uri in opened else _disk_text(uri, path)
            converted = [to_lsp(d, text, uri, units) for d in diagnostics]
            if not converted and uri not in self._published and uri not in opened:
                continue
            version = opened[uri].version if uri in opened else None
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=uri, diagnostics=converted, version=version)
            )
            if converted:
                self._published[uri] = converted
            else:
                self._published.pop(uri, None)
        for d in findings.unplaced:
            self.window_log_message(
                lsp.LogMessageParams(type=lsp.MessageType.Warning, message=d.render())
            )

    # --- quick fixes ---

    def code_actions(self, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        """One quick fix per did-you-mean among the diagnostics the editor asks about."""
        uri = params.text_document.uri
        if uri not in self.workspace.text_documents:
            return []
        text = Text(self.workspace.get_text_document(uri).source)
        units = self.workspace.position_codec.client_num_units
        asked = [d for d in params.context.diagnostics if d.source == "clinic-kg"]
        fixes: dict[Fix, list[lsp.Diagnostic]] = {}
        for d in asked:
            fix = Fix.from_data(d.data.get("fix") if isinstance(d.data, dict) else None)
            if fix is None:  # a client that drops `data`: use what was published
                fix = next((Fix.from_data(_fix_data(p)) for p in self._mine(uri, d)), None)
            if fix is not None:
                fixes.setdefault(fix, []).append(d)
        actions = []
        for fix, diagnostics in fixes.items():
            edits = fix_edits(text, fix, units)
            if edits:
                actions.append(
                    lsp.CodeAction(
                        title=fix.title,
                        kind=lsp.CodeActionKind.QuickFix,
                        diagnostics=diagnostics,
                        is_preferred=True,
                        edit=lsp.WorkspaceEdit(changes={uri: edits}),
                    )
                )
        return actions

    def _mine(self, uri: str, asked: lsp.Diagnostic) -> list[lsp.Diagnostic]:
        return [
            p
            for p in self._published.get(uri, [])
            if p.range == asked.range and p.code == asked.code and p.message == asked.message
        ]


def build(settings: Settings, root: Path | None = None) -> ClinicKgServer:
    """The server with its features registered."""
    server = ClinicKgServer(settings, root)

    @server.feature(lsp.INITIALIZED)
    @_guarded(server, "initialized")
    def initialized(ls: ClinicKgServer, params: lsp.InitializedParams) -> None:
        ls.open_project()

    def changed(ls: ClinicKgServer, params: object) -> None:
        ls.schedule()

    for method in (
        lsp.TEXT_DOCUMENT_DID_OPEN,
        lsp.TEXT_DOCUMENT_DID_CHANGE,
        lsp.TEXT_DOCUMENT_DID_SAVE,
        lsp.TEXT_DOCUMENT_DID_CLOSE,
    ):
        server.feature(method)(_guarded(server, method)(changed))

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]),
    )
    @_guarded(server, "code actions", default=[])
    def code_action(ls: ClinicKgServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        return ls.code_actions(params)

    @server.feature(lsp.SHUTDOWN)
    def shutdown(ls: ClinicKgServer, params: object) -> None:
        ls.shut_down = True

    return server


def quiet_logging(level: int = logging.WARNING) -> None:
    """Log one line per record on stderr (the editor's log): no tracebacks, pygls' included."""
    handler = logging.StreamHandler()
    handler.setFormatter(_FirstLine("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


class _FirstLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return super().format(record).split("\n", 1)[0]


def _guarded(
    server: ClinicKgServer, where: str, default: Any = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A handler whose failure is logged as one line and answered with default."""

    def wrap(handler: Callable[P, R]) -> Callable[P, R]:
        @wraps(handler)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return handler(*args, **kwargs)
            except Exception as exc:
                server.internal_error(where, exc)
                return default  # type: ignore[no-any-return]

        return guarded

    return wrap


def _editor_root(server: ClinicKgServer) -> Path | None:
    workspace = server.workspace
    uris = [workspace.root_uri, *(f.uri for f in workspace.folders.values())]
    for uri in uris:
        path = _path(uri) if uri else None
        if path is not None:
            return path
    return None


def _path(uri: str) -> Path | None:
    """The file a file: URI names; None for other schemes (an unsaved buffer, a git diff view)."""
    if not uri.startswith("file:"):
        return None
    fs = to_fs_path(uri)
    return Path(fs) if fs else None


def _disk_text(uri: str, path: Path | None) -> Text:
    try:
        return Text((path or Path(to_fs_path(uri) or "")).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return Text("")


def _fix_data(d: lsp.Diagnostic) -> object:
    return d.data.get("fix") if isinstance(d.data, dict) else None


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("clinic-kg")
    except PackageNotFoundError:
        return "0"
