"""SQL inside ``op.execute("...")``: find the statement a finding is about, and insert
keywords into the string literal without changing anything else of it.

An edit is made only where the literal's source text and its value agree character for
character up to the edit (no backslash escape before it), and is checked by parsing the
edited SQL with PostgreSQL's parser: the statement must be the same tree but for the one
property the fix sets (``concurrent``, ``missing_ok``, ``if_not_exists``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import libcst as cst

from b03lint.fixes.source import Source


@dataclass(frozen=True)
class Statement:
    """One statement of a literal's SQL: its node (pglast), where it starts and ends in the
    value (character offsets), and its tokens (kind name, start, end: offsets)."""

    node: Any
    start: int
    end: int
    tokens: tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class Literal:
    """An SQL string literal of a migration: its node, its value, its statements."""

    node: cst.SimpleString
    value: str
    statements: tuple[Statement, ...]
    #: (line, column) in the file of each character offset of the value, when the
    #: literal's text equals its value (no escapes); else None
    positions: tuple[tuple[int, int], ...] | None

    def statement_at(self, line: int, column: int | None = None) -> Statement | None:
        """The statement that starts on ``line`` (at ``column``, when several do)."""
        if self.positions is None:
            return self.statements[0] if len(self.statements) == 1 else None
        found = []
        for st in self.statements:
            first = st.start + (len(self.value[st.start:st.end])
                                - len(self.value[st.start:st.end].lstrip()))
            if first < len(self.positions) and self.positions[first][0] == line:
                found.append((self.positions[first][1], st))
        if len(found) > 1:
            found = [(col, st) for col, st in found if col == column]
        return found[0][1] if len(found) == 1 else None

    def insert(self, inserts: list[tuple[int, str]]) -> cst.SimpleString | None:
        """The literal with ``text`` inserted at each value offset, or None when its text
        differs from its value before one of them, or the text would need escaping."""
        prefix = self.node.prefix
        quote = self.node.quote
        body = self.node.value[len(prefix) + len(quote):len(self.node.value) - len(quote)]
        raw = "r" in prefix.lower()
        out = body
        for at, text in sorted(inserts, reverse=True):
            if "\\" in text or quote[0] in text or "\n" in text:
                return None
            if (not raw and "\\" in body[:at]) or body[:at] != self.value[:at]:
                return None
            out = out[:at] + text + out[at:]
        return self.node.with_changes(value=prefix + quote + out + quote)


def sql_literal(source: Source, call: cst.Call) -> Literal | None:
    """The SQL literal of ``op.execute("...")`` / ``op.execute(sa.text("..."))``."""
    if not call.args or call.args[0].keyword is not None:
        return None
    arg = call.args[0].value
    if isinstance(arg, cst.Call) and arg.args and arg.args[0].keyword is None:
        name = arg.func.attr.value if isinstance(arg.func, cst.Attribute) else (
            arg.func.value if isinstance(arg.func, cst.Name) else "")
        if name != "text":
            return None
        arg = arg.args[0].value
    if not isinstance(arg, cst.SimpleString) or set(arg.prefix.lower()) & {"b", "f"}:
        return None
    value = arg.evaluated_value
    if not isinstance(value, str):
        return None
    statements = parse(value)
    if not statements:
        return None
    return Literal(arg, value, tuple(statements), _positions(source, arg, value))


def _positions(source: Source, node: cst.SimpleString,
               value: str) -> tuple[tuple[int, int], ...] | None:
    prefix, quote = node.prefix, node.quote
    body = node.value[len(prefix) + len(quote):len(node.value) - len(quote)]
    if body != value:
        return None
    start = source.range(node).start
    line, col = start.line, start.column + len(prefix) + len(quote)
    out = []
    for ch in value:
        out.append((line, col))
        if ch == "\n":
            line, col = line + 1, 0
        else:
            col += 1
    return tuple(out)


def parse(sql: str) -> list[Statement] | None:
    """The statements of ``sql``, or None when PostgreSQL's parser rejects it."""
    from pglast.parser import ParseError, parse_sql, scan

    try:
        raw = parse_sql(sql)
        tokens = scan(sql)
    except ParseError:
        return None
    data = sql.encode("utf-8")

    def char(byte: int) -> int:
        return len(data[:byte].decode("utf-8", errors="ignore"))

    out = []
    for r in raw:
        begin = r.stmt_location or 0
        stop = begin + r.stmt_len if r.stmt_len else len(data)
        toks = tuple((t.name, char(t.start), char(t.end + 1)) for t in tokens
                     if begin <= t.start < stop)
        out.append(Statement(r.stmt, char(begin), char(stop), toks))
    return out


def after_token(st: Statement, *names: str, then: tuple[str, ...] = ()) -> int | None:
    """The offset just after the tokens ``names``, found in this order (``"DROP",
    "INDEX"``: after the INDEX that follows DROP), and after those of ``then`` that come
    right after them (``then=("CONCURRENTLY",)``)."""
    want = list(names)
    tokens = list(st.tokens)
    for i, (name, _start, end) in enumerate(tokens):
        if name == want[0]:
            want.pop(0)
            if not want:
                for follow, _s, follow_end in tokens[i + 1:]:
                    if follow not in then:
                        break
                    end = follow_end
                return end
    return None


def _tree(node: Any) -> Any:
    """A statement's tree as plain data, without source locations."""
    data = node(depth=None, skip_none=True)

    def strip(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in ("location", "stmt_location",
                                                                  "stmt_len")}
        if isinstance(x, (list, tuple)):
            return [strip(v) for v in x]
        return x

    return strip(data)


def same_but(old: Statement, new_sql: str, expect: Callable[[Any], None]) -> bool:
    """Whether ``new_sql`` is one statement equal to ``old`` once ``expect`` has set, on a
    copy of ``old``'s tree, what the edit meant to change."""
    parsed = parse(new_sql)
    if parsed is None or len(parsed) != 1:
        return False
    before = _tree(old.node)
    expect(before)
    return bool(before == _tree(parsed[0].node))


def edited(lit: Literal, st: Statement, inserts: list[tuple[int, str]],
           expect: Callable[[Any], None]) -> cst.SimpleString | None:
    """The literal with ``inserts`` made in statement ``st``, checked by the parser."""
    new_node = lit.insert(inserts)
    if new_node is None:
        return None
    text = lit.value
    for at, piece in sorted(inserts, reverse=True):
        text = text[:at] + piece + text[at:]
    shift = sum(len(piece) for at, piece in inserts if at <= st.end)
    if not same_but(st, text[st.start:st.end + shift], expect):
        return None
    return new_node
