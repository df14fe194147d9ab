"""Comments as fixes: the guide's destructive-DDL waiver (unsafe, it needs an ADR) and a
suppression whose reason the user writes (offered in the editor only).

The comment goes on the finding's line: at its end as a Python comment, or, inside a
multi-line SQL string, as an SQL comment (``-- ...``), which is where the engine reads
waivers and suppressions of SQL lines too. Where the line already ends with a comment, a
comment line goes above it (the line above counts as well); a waiver or suppression
already there is rewritten instead.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Callable

import libcst as cst

from b03lint.findings import Finding
from b03lint.fixes.context import Context
from b03lint.fixes.model import REASON_PLACEHOLDER, Fix, TextEdit
from b03lint.fixes.sql import parse
from b03lint.suppressions import NOT_SUPPRESSIBLE
from b03lint.suppressions import parse as parse_suppression
from b03lint.waivers import WAIVER_RE


def _comments(ctx: Context) -> dict[int, tuple[int, str]]:
    """line -> (column, text) of each Python comment of the file (read once)."""
    found = ctx.source.memo.get("comments")
    if found is not None:
        return found  # type: ignore[no-any-return]
    out: dict[int, tuple[int, str]] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(ctx.source.text).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0]] = (tok.start[1], tok.string)
    except (tokenize.TokenError, SyntaxError):
        pass
    ctx.source.memo["comments"] = out
    return out


def _string_over(ctx: Context, line: int) -> cst.SimpleString | cst.BaseExpression | None:
    """The string literal whose text goes on past the end of ``line``, if any."""
    spans = ctx.source.memo.get("multi-line strings")
    if spans is None:
        spans = [(r.start.line, r.end.line, node)
                 for node, r in ctx.source.positions.items()
                 if isinstance(node, (cst.SimpleString, cst.FormattedString))
                 and r.start.line < r.end.line]
        ctx.source.memo["multi-line strings"] = spans
    for first, last, node in spans:
        if first <= line < last:
            return node  # type: ignore[no-any-return]
    return None


def _line_text(text: str, line: int) -> str:
    lines = text.split("\n")
    return lines[line - 1] if line - 1 < len(lines) else ""


def _placed(ctx: Context, line: int, python: str, sql: str,
            rewrite: Callable[[str], str | None] | None = None) -> TextEdit | None:
    """The edit that puts ``python`` (a ``# ...`` comment) or, inside SQL, ``sql`` (a
    ``-- ...`` comment) on ``line``; ``rewrite(old comment) -> new`` replaces a comment of
    the same kind already there (None: it is not of that kind)."""
    text = ctx.source.text
    here = _line_text(text, line)
    body = here.rstrip("\r")
    string = _string_over(ctx, line)
    if string is not None:
        return _in_sql(ctx, string, line, body, sql)
    existing = _comments(ctx).get(line)
    if existing is not None:
        col, old = existing
        new = rewrite(old) if rewrite is not None else None
        if new is not None:
            return TextEdit(line, col, line, col + len(old), new) if new != old else None
        # a comment line above, at the line's indentation, unless that is inside a string
        if _string_over(ctx, line - 1) is not None:
            return None
        indent = body[:len(body) - len(body.lstrip())]
        newline = ctx.source.module.default_newline
        return TextEdit(line, 0, line, 0, f"{indent}{python}{newline}")
    if body.rstrip().endswith("\\"):
        return None
    end = len(body.rstrip())
    return TextEdit(line, end, line, len(body), f"  {python}")


def _in_sql(ctx: Context, string: object, line: int, body: str, sql: str) -> TextEdit | None:
    """``sql`` at the end of ``line`` inside a multi-line SQL string, when PostgreSQL
    reads the statements the same with it (the line is not inside an SQL string)."""
    if not isinstance(string, cst.SimpleString) or set(string.prefix.lower()) & {"b", "f"}:
        return None
    value = string.evaluated_value
    if not isinstance(value, str):
        return None
    raw = string.value[len(string.prefix) + len(string.quote):-len(string.quote)]
    if raw != value or "\\" in sql or string.quote[0] in sql:
        return None
    start = ctx.source.range(string).start
    first_col = start.column + len(string.prefix) + len(string.quote) if line == start.line \
        else 0
    offset_line = line - start.line
    lines = value.split("\n")
    if offset_line >= len(lines) - 1:
        return None
    existing = lines[offset_line]
    if WAIVER_RE.search(existing) or parse_suppression(existing) is not None:
        return None  # already commented; left to the author
    changed = "\n".join([*lines[:offset_line], existing.rstrip() + " " + sql,
                         *lines[offset_line + 1:]])
    before, after = parse(value), parse(changed)
    if before is None or after is None or len(before) != len(after):
        return None
    from b03lint.fixes.sql import _tree

    if [_tree(s.node) for s in before] != [_tree(s.node) for s in after]:
        return None
    end = first_col + len(existing.rstrip())
    return TextEdit(line, end, line, first_col + len(existing), " " + sql)


# --------------------------------------------------------------------------- waiver


def waiver(ctx: Context, finding: Finding) -> Fix | None:
    if ctx.adr is None or not finding.data.get("waivable") or finding.data.get("waived_by") \
            or finding.severity == "info":
        return None
    text = f"CI:DESTRUCTIVE_OK - See {ctx.adr}"

    def rewrite(old: str) -> str | None:
        return f"# {text}" if WAIVER_RE.search(old) else None

    edit = _placed(ctx, finding.line, f"# {text}", f"-- {text}", rewrite)
    return ctx.fix(finding, f"Waive it: # {text}", edit, safe=False)


# --------------------------------------------------------------------------- suppression


def suppression(ctx: Context, finding: Finding) -> Fix | None:
    category = ctx.category(finding.code)
    if category is None or category in NOT_SUPPRESSIBLE:
        return None
    code = finding.code
    comment = f"b03lint: ignore[{code}] -- {REASON_PLACEHOLDER}"

    def rewrite(old: str) -> str | None:
        parsed = parse_suppression(old)
        if parsed is None or parsed[2]:
            return None
        idents, reason, _ = parsed
        if code in idents or finding.rule in idents:
            return old  # already there: nothing to add
        # the reason given for the other codes is not this one's
        why = f"{reason}; {code}: {REASON_PLACEHOLDER}" if reason else REASON_PLACEHOLDER
        return f"# b03lint: ignore[{', '.join([*idents, code])}] -- {why}"

    edit = _placed(ctx, finding.line, f"# {comment}", f"-- {comment}", rewrite)
    if edit is None or REASON_PLACEHOLDER not in edit.new_text:
        return None
    return ctx.fix(finding, f"Suppress {code} on this line (write the reason)", edit,
                   safe=False, placeholder=REASON_PLACEHOLDER)
