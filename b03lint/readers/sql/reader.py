"""The SQL reader's driver: parse the whole text once; on a syntax error, split it with
the lexer and parse each statement alone, so the valid statements around a broken one
still produce operations (``CREATE FUNCTION ... BEGIN ATOMIC`` pieces are joined until
they parse). Each statement's location runs from its first token to its last."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pglast import ast
from pglast.parser import ParseError

from b03lint.operations import Phase, Unresolved
from b03lint.readers.sql.context import SYNTAX_ERROR_CODE, SqlResult
from b03lint.readers.sql.lexer import (
    ATOMIC_MAX_PIECES,
    ATOMIC_RE,
    Lexed,
    Position,
    lex,
    line_position,
    sanitize,
    skip_ws_comments,
    trim_end,
)
from b03lint.readers.sql.parse import (
    error_offset,
    offset_converter,
    parse_sql,
    statement_spans,
)
from b03lint.readers.sql.plpgsql import DoBlocks
from b03lint.readers.sql.statements import Statements
from b03lint.readers.templates import template_operation

#: texts this long (a canonical schema, a dump) are parsed one statement at a time
SPLIT_FROM = 64 * 1024


class _Reader(Statements, DoBlocks):
    """One SQL text read: the statement readers and the DO-block reader, driven here."""

    # ------------------------------------------------------------------ driver

    def run(self) -> SqlResult:
        text = self.text
        lexed = lex(text)
        self.comment_starts = {e: s for s, e in lexed.comments}
        self.collect_comments(lexed.comments)
        parse_text = sanitize(text)
        try:
            if len(parse_text) >= SPLIT_FROM:
                self.emit_each(parse_text)
                return self.result
            stmts = parse_sql(parse_text)
        except Exception as exc:  # ParseError, or anything pglast did not foresee
            before = len(self.result.diagnostics)
            self.recover(parse_text, lexed)
            if isinstance(exc, ParseError) and len(self.result.diagnostics) == before:
                # PostgreSQL rejects the text, yet no piece alone showed why (an unterminated
                # comment swallows the rest, which the pieces do not see): say it anyway
                self.piece_error(exc, 0, len(text))
        else:
            self.emit_all(stmts, 0, len(text))
        return self.result

    def emit_each(self, parse_text: str) -> None:
        """A long text that parses, read one statement at a time (see
        :func:`~b03lint.readers.sql.parse.statement_spans`): the operations are those of
        a whole parse. Raises as :func:`parse_sql` does, having emitted nothing."""
        spans = statement_spans(parse_text)
        ops, diagnostics = len(self.result.operations), len(self.result.diagnostics)
        try:
            for start, stop in spans:
                self.emit_all(parse_sql(parse_text[start:stop]), start, stop)
        except Exception:  # a piece pglast reads differently alone: read it all at once
            del self.result.operations[ops:], self.result.diagnostics[diagnostics:]
            self.emit_all(parse_sql(parse_text), 0, len(parse_text))

    def emit_all(self, stmts: tuple[Any, ...], base: int, limit: int) -> None:
        """Emit the statements pglast parsed from ``self.text[base:limit]``."""
        to_char = offset_converter(self.text[base:limit])
        for raw in stmts:
            location = int(raw.stmt_location or 0)
            length = int(raw.stmt_len or 0)
            start = base + to_char(location)
            end = base + to_char(location + length) if length else limit
            first = skip_ws_comments(self.text, start, end)
            last = trim_end(self.text, first, end, self.comment_starts)
            self.emit(raw.stmt, first, last, lambda o: base + to_char(o))

    def recover(self, parse_text: str, lexed: Lexed) -> None:
        # each piece keeps its ";", so errors read as PostgreSQL reports them in context
        pieces = [
            (s, e + 1 if parse_text.startswith(";", e) else e) for s, e in lexed.statements
            if skip_ws_comments(self.text, s, e) < e
        ]
        i = 0
        while i < len(pieces):
            s, e = pieces[i]
            try:
                stmts = parse_sql(parse_text[s:e])
            except ParseError as exc:
                merged = self.merge_atomic(parse_text, pieces, i, exc)
                if merged is not None:
                    i = merged
                    continue
                self.piece_error(exc, s, e)
                i += 1
                continue
            except Exception as exc:  # not a syntax error: pglast failed on valid input
                first = skip_ws_comments(self.text, s, e)
                last = trim_end(self.text, first, e, self.comment_starts)
                self.result.operations.append(Unresolved(
                    reason=f"pglast could not read this statement: {exc!r}",
                    snippet=self.text[first:last][:300], **self.kw(self.loc(first, last)),
                ))
                i += 1
                continue
            self.emit_all(stmts, s, e)
            i += 1

    def merge_atomic(
        self, parse_text: str, pieces: list[tuple[int, int]], i: int, exc: ParseError
    ) -> int | None:
        """``CREATE FUNCTION ... BEGIN ATOMIC a; b; END`` has ``;`` inside: join pieces until
        it parses. Returns the index of the next piece, or None."""
        s, e = pieces[i]
        if error_offset(exc) is not None or not ATOMIC_RE.search(parse_text, s, e):
            return None
        for j in range(i + 1, min(len(pieces), i + 1 + ATOMIC_MAX_PIECES)):
            end = pieces[j][1]
            try:
                stmts = parse_sql(parse_text[s:end])
            except ParseError as again:
                if error_offset(again) is None:
                    continue
                return None
            self.emit_all(stmts, s, end)
            return j + 1
        return None

    def piece_error(self, exc: ParseError, start: int, end: int) -> None:
        message = str(exc.args[0]) if exc.args else str(exc)
        offset = error_offset(exc)
        if offset is None:
            first = skip_ws_comments(self.text, start, end)
            at = max(first, trim_end(self.text, first, end, self.comment_starts) - 1)
        else:
            at = start + offset
        self.error(message, at)

    # ------------------------------------------------------------------ statements

    def emit(self, node: Any, start: int, end: int, offset: Callable[[int], int]) -> None:
        """Emit one statement spanning ``self.text[start:end]``; ``offset`` maps a node
        location to an offset in ``self.text``."""
        loc = self.loc(start, end)
        try:
            if isinstance(node, ast.AlterTableStmt):
                ops = self.alter_table(node, loc, self.subcommand_locs(node, end, offset))
            elif isinstance(node, ast.DoStmt):
                ops = self.do_block(node, loc, offset)
            else:
                ops = self.statement(node, loc)
        except Exception as exc:  # a pglast shape we did not foresee: say so, don't crash
            ops = [Unresolved(
                reason=f"b03lint could not interpret {type(node).__name__}: {exc!r}",
                snippet=self.text[start:end][:300], **self.kw(loc),
            )]
        self.result.operations.extend(ops)


def read_sql(
    text: str,
    *,
    path: str,
    position: Position | None = None,
    phase: Phase = "upgrade",
    via: str = "sql",
    template: bool = False,
) -> SqlResult:
    """Read PostgreSQL ``text`` into operations, diagnostics and comments.

    :param path: the file the text belongs to (for every ``Location``)
    :param position: maps a character offset in ``text`` to ``(line, column)`` in that file
        (1-based line, 0-based column); by default the lines of ``text`` itself
    :param phase: stamped on every operation (``upgrade``/``downgrade``/``module``)
    :param via: stamped on every operation (e.g. ``op.execute``)
    :param template: the text is a template whose run-time parts are
        :data:`~b03lint.readers.templates.PLACEHOLDER` (see ``b03lint/readers/templates.py``):
        an operation that names or holds a placeholder is Unresolved, and a statement that
        does not parse is Unresolved instead of a syntax error

    Never raises for bad SQL: a statement PostgreSQL rejects is an ``I003`` diagnostic
    located at the error, and the statements around it are still read.
    """
    result = _Reader(text, path, position or line_position(text), phase, via).run()
    return _as_template(result, phase, via) if template else result


def _as_template(result: SqlResult, phase: Phase, via: str) -> SqlResult:
    """What a template's reading says for certain: operations that do not involve a run-time
    part as read; the others, and statements that do not parse, Unresolved."""
    out = SqlResult(comments=result.comments)
    out.operations.extend(template_operation(op) for op in result.operations)
    for d in result.diagnostics:
        if d.code != SYNTAX_ERROR_CODE:
            out.diagnostics.append(d)
            continue
        out.operations.append(Unresolved(
            loc=d.loc, phase=phase, source="sql", via=via, reason="a SQL template that does not parse with its run-time parts "
            f"left out: {d.message.removeprefix('SQL syntax error: ')}"))
    return out
