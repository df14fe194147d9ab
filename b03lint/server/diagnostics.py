"""Findings and errors as LSP diagnostics (``lsprotocol`` types).

Severity: blocking is an Error, warning a Warning, info an Information. ``code`` is the
rule's code and ``codeDescription`` links its documentation (:class:`RuleDocs`);
``relatedInformation`` carries the finding's related places (the helper function an
operation was written in: the text output's "via") and, for contract findings, the
canonical schema's line. An error of the run (a file that cannot be read, a rule that
crashed) is an Error diagnostic with code ``error``.

Columns: b03lint counts characters (code points); LSP clients count UTF-16 units unless
they agreed to another encoding, so every position goes through the negotiated codec with
the text of its line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from b03lint.findings import Finding, ToolError

if TYPE_CHECKING:
    from pygls.workspace.position_codec import PositionCodec

    from b03lint.config import Config
    from b03lint.rules.registry import Registry

SEVERITY = {
    "blocking": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}
SOURCE = "b03lint"
#: codes whose finding says a comment does nothing (shown faded by editors)
UNNECESSARY = frozenset({"D022"})
_WHERE = re.compile(r"^(?P<path>.+):(?P<line>[0-9]+)$")

#: display path -> the lines of that file (the editor's buffer when open)
LinesOf = Callable[[str], Sequence[str]]


#: renders the rule reference of a registry (``b03lint rules --output-format markdown``;
#: handed in by the command, since the core never imports the command line)
Render = Callable[["Registry"], str]


class RuleDocs:
    """Where a rule's documentation is: ``docs_url`` of the configuration with the rule's
    anchor (``#d002-drop-column``, as docs/rules.md names its sections), else the
    project's own ``docs/rules.md``, else the rule reference rendered from this run's
    registry (project rules included) into the cache folder."""

    def __init__(self, config: Config, registry: Registry, render: Render | None = None):
        self.registry = registry
        self.base = self._base(config, registry, render)

    @staticmethod
    def _base(config: Config, registry: Registry, render: Render | None) -> str | None:
        configured = config.get("docs_url")
        if isinstance(configured, str) and configured:
            return configured.split("#", 1)[0]
        own = config.root / "docs" / "rules.md"
        if own.is_file():
            return own.resolve().as_uri()
        folder = config.path("cache_dir")
        if folder is None or not config.get("cache") or render is None:
            return None
        target = folder / "rules.md"
        text = render(registry)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                target.write_text(text, encoding="utf-8")
        except OSError:
            return None
        return target.resolve().as_uri()

    def href(self, code: str) -> str | None:
        rule = self.registry.get(code)
        if self.base is None or rule is None:
            return None
        return f"{self.base}#{rule.code.lower()}-{rule.name}"


def _position(codec: PositionCodec, lines: Sequence[str], line: int,
              character: int) -> types.Position:
    """A 0-based (line, code point) position in the client's units."""
    if line < 0:
        line = 0
    if line >= len(lines):
        return types.Position(line=line, character=0)
    pos = types.Position(line=line, character=max(0, character))
    return codec.position_to_client_units(lines, pos)


def finding_range(codec: PositionCodec, lines: Sequence[str], line: int, column: int,
                  end_line: int | None, end_column: int | None) -> types.Range:
    """The range of a 1-based line and column (``end_column`` exclusive, 1-based); a
    place without an end covers the rest of its line."""
    start = _position(codec, lines, line - 1, column - 1)
    if end_line is None or end_column is None:
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        end = _position(codec, lines, line - 1, len(text.rstrip("\r\n")))
        if end.character <= start.character:
            end = types.Position(line=start.line, character=start.character + 1)
    else:
        end = _position(codec, lines, end_line - 1, end_column - 1)
    return types.Range(start=start, end=end)


def to_diagnostic(f: Finding, codec: PositionCodec, lines_of: LinesOf,
                  uri_of: Callable[[str], str], docs: RuleDocs | None) -> types.Diagnostic:
    lines = lines_of(f.path)
    message = f.shown_message
    if f.fix:
        message += f"\nFix: {f.fix}"
    related: list[types.DiagnosticRelatedInformation] = []
    for r in f.related:
        rel_lines = lines_of(r.loc.path)
        end_col = None if r.loc.end_column is None else r.loc.end_column + 1
        related.append(types.DiagnosticRelatedInformation(
            location=types.Location(uri=uri_of(r.loc.path), range=finding_range(
                codec, rel_lines, r.loc.line, r.loc.column + 1, r.loc.end_line, end_col)),
            message=r.message))
    canonical = f.data.get("canonical")
    where = _WHERE.match(canonical) if isinstance(canonical, str) else None
    if where is not None:
        path, line = where["path"], int(where["line"])
        related.append(types.DiagnosticRelatedInformation(
            location=types.Location(uri=uri_of(path), range=finding_range(
                codec, lines_of(path), line, 1, None, None)),
            message=f"the canonical schema declares {f.object or 'it'} here"))
    href = docs.href(f.code) if docs is not None else None
    data = {"code": f.code, "rule": f.rule, "line": f.line, "column": f.column,
            "object": f.object}
    return types.Diagnostic(
        range=finding_range(codec, lines, f.line, f.column, f.end_line, f.end_column),
        message=message,
        severity=SEVERITY[f.severity],
        code=f.code,
        code_description=types.CodeDescription(href=href) if href else None,
        source=SOURCE,
        tags=[types.DiagnosticTag.Unnecessary] if f.code in UNNECESSARY else None,
        related_information=related or None,
        data=data,
    )


def error_diagnostic(e: ToolError, codec: PositionCodec,
                     lines: Sequence[str]) -> types.Diagnostic:
    line = e.line or 1
    return types.Diagnostic(
        range=finding_range(codec, lines, line, e.column or 1, None, None),
        message=f"b03lint could not do its job here: {e.message}",
        severity=types.DiagnosticSeverity.Error, code="error", source=SOURCE)


def file_lines(path: str) -> list[str]:
    """The lines of a file on disk (for positions in files the editor has not open)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()
