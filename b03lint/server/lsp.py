"""The language server: :class:`~b03lint.server.workspace.Workspace` over LSP, with
``pygls`` (stdio).

- ``initialize``: the project is the nearest ``pyproject.toml`` with ``[tool.b03lint]``
  above the workspace folder (the first one; the process's directory without one); it is
  read at ``initialized``, and watched (``workspace/didChangeWatchedFiles``, registered
  when the client can).
- ``didOpen`` / ``didChange`` of a migration: that buffer is read again and the chain
  linted; every open document whose diagnostics changed is published. A burst of changes
  that arrives while a lint runs is read and linted once.
- ``didSave`` and watched-file events: migrations, the canonical SQL/YAML, the drift
  register, ADRs, rules, ``pyproject.toml`` and helper modules reload what they affect.
- ``hover`` on an operation: :mod:`b03lint.server.hover`.
- ``codeAction``: the fix engine's fixes (:mod:`b03lint.server.actions`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from b03lint import __version__
from b03lint.findings import ToolError
from b03lint.server.diagnostics import (
    Render,
    RuleDocs,
    error_diagnostic,
    file_lines,
    to_diagnostic,
)
from b03lint.server.workspace import Lint, Workspace

if TYPE_CHECKING:
    from b03lint.fixes import Fix

log = logging.getLogger("b03lint.server")

#: file kinds the server watches (whatever the client reports of them)
WATCHED = "**/*.{py,sql,yaml,yml,toml,ini,md,markdown,rst,txt,adoc,json}"
#: a lint that follows another within this many seconds waits that long first (up to
#: MAX_DEBOUNCE), so that a burst of keystrokes is read and linted once
MAX_DEBOUNCE = 0.1


class B03LintServer(LanguageServer):
    """The server's state: the workspace, what was published, the docs links."""

    def __init__(self, config_path: Path | None = None, render: Render | None = None):
        super().__init__("b03lint", __version__,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.config_path = config_path
        self.render = render
        self.ws: Workspace | None = None
        self.docs: RuleDocs | None = None
        self.start: Path = Path.cwd()
        #: uri -> diagnostics last published
        self.published: dict[str, list[types.Diagnostic]] = {}
        #: messages of errors without a place, shown once each while they last
        self.shown_errors: set[str] = set()
        self.flush_scheduled = False
        self.last_flush = 0.0
        #: uris changed since the last flush (published whatever their diagnostics)
        self.edited: set[str] = set()
        #: the fixes of the last code action request, by (uri, version, findings)
        self.fix_cache: dict[tuple[object, ...], list[Fix]] = {}

    # ------------------------------------------------------------------ helpers

    def path_of(self, uri: str) -> Path | None:
        fs = to_fs_path(uri)
        return Path(fs) if fs else None

    def uri_of(self, shown: str) -> str:
        assert self.ws is not None
        path = Path(shown)
        return from_fs_path(str(path if path.is_absolute() else self.ws.root / path)) or shown

    def lines_of(self, shown: str) -> Sequence[str]:
        doc = self.workspace.text_documents.get(self.uri_of(shown))
        if doc is not None:
            lines: Sequence[str] = doc.lines
            return lines
        return file_lines(shown)

    def loaded(self, lint: Lint) -> None:
        """After a (re)load: the loaded project is long-lived and holds no garbage cycles;
        moved out of the collector's sight, a collection no longer walks it (on a
        1,000-revision chain a full collection cost more than a whole re-lint)."""
        import gc

        gc.collect()
        gc.freeze()
        assert self.ws is not None
        if self.ws.config is not None and self.ws.registry is not None:
            self.docs = RuleDocs(self.ws.config, self.ws.registry, self.render)
        self.publish(lint)

    def publish(self, lint: Lint, edited: frozenset[str] = frozenset()) -> None:
        """Publish the diagnostics of every open document whose diagnostics changed, and of
        the ``edited`` documents (uris) in any case: their new version is linted."""
        codec = self.workspace.position_codec
        by_path = lint.by_path()
        errors: dict[str, list[ToolError]] = {}
        placeless: list[ToolError] = []
        for e in lint.errors:
            if e.path:
                errors.setdefault(self.shown(e.path), []).append(e)
            else:
                placeless.append(e)
        for uri, doc in list(self.workspace.text_documents.items()):
            path = self.path_of(uri)
            if path is None:
                continue
            shown = self.shown(str(path))
            diagnostics = [to_diagnostic(f, codec, self.lines_of, self.uri_of, self.docs)
                           for f in by_path.get(shown, [])]
            diagnostics += [error_diagnostic(e, codec, doc.lines)
                            for e in errors.get(shown, [])]
            if uri in edited or self.published.get(uri) != diagnostics:
                self.published[uri] = diagnostics
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                    uri=uri, diagnostics=diagnostics, version=doc.version))
        open_paths = {self.shown(str(p)) for u in self.workspace.text_documents
                      if (p := self.path_of(u)) is not None}
        messages = {str(e) for e in placeless} | {
            str(e) for shown, errs in errors.items() if shown not in open_paths for e in errs}
        for message in sorted(messages - self.shown_errors):
            self.window_show_message(types.ShowMessageParams(
                type=types.MessageType.Error, message=f"b03lint: {message}"))
        self.shown_errors = messages

    def shown(self, path: str) -> str:
        assert self.ws is not None
        return self.ws.shown(Path(path))

    def schedule_flush(self) -> None:
        """Lint the staged buffers soon: at once after a quiet spell, else after a pause as
        long as the last lint took (a burst of changes is linted once)."""
        if self.flush_scheduled:
            return
        self.flush_scheduled = True
        import asyncio

        loop = asyncio.get_event_loop()
        since = time.monotonic() - self.last_flush
        last = self.ws.last.seconds if self.ws is not None else 0.0
        delay = 0.0 if since > max(last, 0.05) else min(last, MAX_DEBOUNCE)
        loop.call_later(delay, self.flush)

    def flush(self) -> None:
        self.flush_scheduled = False
        if self.ws is None:
            return
        edited = frozenset(self.edited)
        self.edited.clear()
        lint = self.ws.flush()
        self.last_flush = time.monotonic()
        self.publish(lint, edited)


def build(config_path: Path | None = None, render: Render | None = None) -> B03LintServer:
    """The server with every handler registered (not started)."""
    server = B03LintServer(config_path, render)

    @server.feature(types.INITIALIZE)
    def initialize(ls: B03LintServer, params: types.InitializeParams) -> None:
        root = None
        if params.workspace_folders:
            root = ls.path_of(params.workspace_folders[0].uri)
        elif params.root_uri:
            root = ls.path_of(params.root_uri)
        elif params.root_path:
            root = Path(params.root_path)
        ls.start = root or Path.cwd()

    @server.feature(types.INITIALIZED)
    def initialized(ls: B03LintServer, params: types.InitializedParams) -> None:
        ls.ws = Workspace(ls.start, ls.config_path)
        for uri, doc in ls.workspace.text_documents.items():
            path = ls.path_of(uri)
            if path is not None:
                ls.ws.open_texts[ls.ws.shown(path)] = doc.source
        ls.loaded(ls.ws.load())
        caps = ls.client_capabilities.workspace
        watch = caps.did_change_watched_files if caps is not None else None
        if watch is not None and watch.dynamic_registration:
            ls.client_register_capability(types.RegistrationParams(registrations=[
                types.Registration(
                    id="b03lint-watched-files",
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                        watchers=[types.FileSystemWatcher(glob_pattern=WATCHED)]))]))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: B03LintServer, params: types.DidOpenTextDocumentParams) -> None:
        _changed(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: B03LintServer, params: types.DidChangeTextDocumentParams) -> None:
        _changed(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: B03LintServer, params: types.DidSaveTextDocumentParams) -> None:
        path = ls.path_of(params.text_document.uri)
        if ls.ws is None or path is None:
            return
        if ls.ws.pending:
            ls.flush()
        lint = ls.ws.file_changed(path)
        if lint.reloaded:
            ls.loaded(lint)
        else:
            ls.publish(lint)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: B03LintServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        path = ls.path_of(uri)
        if ls.published.pop(uri, None):
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        if ls.ws is None or path is None:
            return
        ls.ws.pending.pop(ls.ws.shown(path), None)
        ls.publish(ls.ws.close(path))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched(ls: B03LintServer, params: types.DidChangeWatchedFilesParams) -> None:
        if ls.ws is None:
            return
        if ls.ws.pending:
            ls.flush()
        lint = None
        for change in params.changes:
            path = ls.path_of(change.uri)
            if path is None:
                continue
            lint = ls.ws.file_changed(path, exists=change.type != types.FileChangeType.Deleted)
        if lint is not None:
            if lint.reloaded:
                ls.loaded(lint)
            else:
                ls.publish(lint)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: B03LintServer, params: types.HoverParams) -> types.Hover | None:
        from b03lint.server.hover import hover

        path = ls.path_of(params.text_document.uri)
        if ls.ws is None or path is None:
            return None
        if ls.ws.pending:
            ls.flush()
        found = ls.ws.migration(path)
        if found is None:
            return None
        doc = ls.workspace.get_text_document(params.text_document.uri)
        codec = ls.workspace.position_codec
        pos = codec.position_from_client_units(doc.lines, params.position)
        chain, mf = found
        text = hover(chain, mf, pos.line + 1, pos.character)
        if text is None:
            return None
        start = codec.position_to_client_units(
            doc.lines, types.Position(line=text.line - 1, character=text.column))
        end = codec.position_to_client_units(
            doc.lines, types.Position(line=text.end_line - 1, character=text.end_column))
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                        value=text.markdown),
                           range=types.Range(start=start, end=end))

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix]))
    def code_action(ls: B03LintServer, params: types.CodeActionParams
                    ) -> list[types.CodeAction] | None:
        from b03lint.server.actions import code_actions

        path = ls.path_of(params.text_document.uri)
        if ls.ws is None or path is None:
            return None
        if ls.ws.pending:  # the actions are for the text the editor shows
            ls.flush()
        return code_actions(ls, path, params)

    return server


def _changed(ls: B03LintServer, uri: str) -> None:
    path = ls.path_of(uri)
    if path is None:
        return
    text = ls.workspace.get_text_document(uri).source
    if ls.ws is None:  # before `initialized`: read then
        return
    ls.ws.stage(path, text)
    ls.edited.add(uri)
    ls.schedule_flush()


def serve(config_path: Path | None = None, render: Render | None = None,
          log_file: Path | None = None) -> int:
    """Run the server on stdin/stdout until the client says ``exit``."""
    if log_file is not None:
        logging.basicConfig(filename=str(log_file), level=logging.INFO,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
    import gc

    # as `check` does: a lint allocates many long-lived objects and no cycles
    gc.set_threshold(50_000, 20, 100)
    server = build(config_path, render)
    server.start_io()
    return 0

