"""Code actions: the fix engine's fixes (:mod:`b03lint.fixes`, the same edits as ``b03lint
check --fix``) as LSP code actions.

A code action request names a range of a migration; the findings of the last lint there
(and those of the diagnostics the client sends along) get every fix the engine has for
them, each computed against the editor's current text: the safe ones
(``--fix``), the unsafe ones (``--unsafe-fixes``), the destructive-DDL waiver once per ADR
of ``adr_dir`` (the guide's ``# CI:DESTRUCTIVE_OK - See ADR-<id>``), and the
suppression comment whose reason the user must write.

A fix becomes one ``WorkspaceEdit``: the edits of the migration (versioned by the
editor's document version), a ``CreateFile`` and its text for each follow-up migration
(the VALIDATE CONSTRAINT revision), and the edits of other files it moves (a child's
``down_revision``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lsprotocol import types

from b03lint.findings import Finding

if TYPE_CHECKING:
    from pygls.workspace import Workspace as Documents

    from b03lint.fixes import Fix, TextEdit
    from b03lint.server.workspace import ChainState, Workspace


class Host(Protocol):
    """What the code actions use of the server (:class:`b03lint.server.lsp.B03LintServer`)."""

    ws: Workspace | None
    fix_cache: dict[tuple[object, ...], list[Fix]]

    @property
    def workspace(self) -> Documents: ...

#: codes whose finding a waiver with an ADR can stand by (the destructive rules)
WAIVER_PREFIX = "D0"


def _covers(f: Finding, start: int, end: int) -> bool:
    """Whether the finding's lines (1-based) meet the request's (1-based, inclusive)."""
    last = f.end_line or f.line
    return f.line <= end and last >= start


def code_actions(ls: Host, path: Path,
                 params: types.CodeActionParams) -> list[types.CodeAction]:
    """The code actions for the findings of ``path`` that the request's range (or its
    diagnostics) covers; computed once per version of the document and range."""
    ws = ls.ws
    assert ws is not None
    found = ws.migration(path)
    if found is None:
        return []
    chain, _mf = found
    shown = ws.shown(path)
    uri = params.text_document.uri
    doc = ls.workspace.get_text_document(uri)
    start = params.range.start.line + 1
    end = params.range.end.line + 1
    wanted = {(str(d.code), d.range.start.line + 1) for d in params.context.diagnostics}
    findings = [f for f in ws.last.findings if f.path == shown
                and (_covers(f, start, end) or (f.code, f.line) in wanted)]
    if not findings:
        return []
    key = (uri, doc.version, tuple((f.code, f.line, f.column, f.message) for f in findings))
    fixes = ls.fix_cache.get(key)
    if fixes is None:
        fixes = _fixes(doc.source, path, findings, chain)
        ls.fix_cache = {key: fixes}  # the last request's (a cursor asks again and again)
    diagnostics = {(str(d.code), d.range.start.line): d for d in params.context.diagnostics}
    return [_action(ls, fix, uri, doc.version, diagnostics) for fix in fixes]


def _fixes(source: str, path: Path, findings: list[Finding], chain: ChainState) -> list[Fix]:
    """Every fix of the engine for ``findings``: as ``--fix``/``--unsafe-fixes`` has them,
    and the destructive-DDL waiver once per ADR that exists."""
    from b03lint.fixes import FixError, fixes_for, known_adrs

    out: list[Fix] = list(fixes_for(source, path, findings, config=chain.config,
                                    project=chain.project))
    # the destructive rules' findings (a waiver may also stand by a dropped index or
    # constraint); an info finding is waived already
    waivable = [f for f in findings if f.severity != "info"
                and (f.data.get("waivable") or f.code.startswith(WAIVER_PREFIX))]
    for adr in known_adrs(chain.config) if waivable else []:
        try:
            more = fixes_for(source, path, waivable, config=chain.config, adr=adr,
                             project=chain.project)
        except FixError:
            continue
        out += [x for x in more if x not in out]
    titles: set[str] = set()
    unique = []
    for fix in out:
        if fix.title not in titles:
            titles.add(fix.title)
            unique.append(fix)
    return unique


def _action(ls: Host, fix: Fix, uri: str, version: int | None,
            diagnostics: dict[tuple[str, int], types.Diagnostic]) -> types.CodeAction:
    changes: list[types.TextDocumentEdit | types.CreateFile | types.RenameFile
                  | types.DeleteFile] = []
    lines = ls.workspace.get_text_document(uri).lines
    changes.append(types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
        edits=[_edit(ls, lines, e) for e in fix.edits]))
    root = ls.ws.root if ls.ws is not None else Path.cwd()
    for other, edits in fix.other_edits:
        other_uri = (root / other).resolve().as_uri()
        other_doc = ls.workspace.text_documents.get(other_uri)
        other_lines = other_doc.lines if other_doc is not None else _disk_lines(root / other)
        changes.append(types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(
                uri=other_uri, version=other_doc.version if other_doc else None),
            edits=[_edit(ls, other_lines, e) for e in edits]))
    for new, text in fix.follow_up_files:
        new_uri = (root / new).resolve().as_uri()
        changes.append(types.CreateFile(uri=new_uri, options=types.CreateFileOptions(
            overwrite=False, ignore_if_exists=False)))
        changes.append(types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=new_uri,
                                                                        version=None),
            edits=[types.TextEdit(range=types.Range(
                start=types.Position(line=0, character=0),
                end=types.Position(line=0, character=0)), new_text=text)]))
    finding = fix.finding
    related = []
    if finding is not None:
        d = diagnostics.get((finding.code, finding.line - 1))
        if d is not None:
            related.append(d)
    title = fix.title + ("" if fix.safe else " (unsafe)")
    return types.CodeAction(
        title=title, kind=types.CodeActionKind.QuickFix, diagnostics=related or None,
        is_preferred=fix.safe and not fix.manual,
        edit=types.WorkspaceEdit(document_changes=changes))


def _edit(ls: Host, lines: Sequence[str], e: TextEdit) -> types.TextEdit:
    codec = ls.workspace.position_codec
    start = codec.position_to_client_units(
        lines, types.Position(line=e.start_line - 1, character=e.start_col))
    end = codec.position_to_client_units(
        lines, types.Position(line=e.end_line - 1, character=e.end_col))
    return types.TextEdit(range=types.Range(start=start, end=end), new_text=e.new_text)


def _disk_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines(keepends=True)
    except OSError:
        return []
