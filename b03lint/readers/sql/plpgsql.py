"""DO blocks: the PL/pgSQL body is parsed; plain SQL statements and ``EXECUTE`` of a
constant string become operations, nested blocks are flattened, and what depends on
run-time state (``IF``, loops, dynamic ``EXECUTE``, exception handlers) becomes
:class:`Unresolved`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pglast import ast, enums, parse_plpgsql
from pglast.parser import ParseError

from b03lint.operations import Diagnostic, Location, Operation, OtherStatement, Unresolved
from b03lint.readers.markers import guard
from b03lint.readers.sql.context import SYNTAX_ERROR_CODE, ReaderContext
from b03lint.readers.sql.deparse import string_value
from b03lint.readers.sql.expressions import is_string_const, operator_name
from b03lint.readers.sql.lexer import DOLLAR_TAG_RE, events, sanitize
from b03lint.readers.sql.parse import parse_sql
from b03lint.readers.templates import PLACEHOLDER, template_operation

#: a conversion of PostgreSQL's ``format()``: ``%s``, ``%I``, ``%L``, with an optional
#: position (``%1$s``), flag and width; ``%%`` is a percent sign
_FORMAT_SPEC = re.compile(r"%(?:(?P<pct>%)|(?:\d+\$)?-?(?:\d+|\*(?:\d+\$)?)?[sIL])")


def _format(template: str, args: Any) -> tuple[str, bool]:
    """PostgreSQL's ``format(template, args...)`` where an argument that is a string literal
    is known (``%I`` names the identifier, quoted so a keyword stays a name; ``%L`` is
    the literal) and any
    other is a run-time part."""
    values = [str(a.val.sval) if is_string_const(a) else None for a in args]
    used = 0
    template_parts = False

    def convert(m: re.Match[str]) -> str:
        nonlocal used, template_parts
        if m["pct"]:
            return "%"
        spec = m.group(0)
        if "*" in spec:  # a width taken from the arguments: not worth following
            template_parts = True
            return PLACEHOLDER
        position = re.match(r"%(\d+)\$", spec)
        index = int(position.group(1)) - 1 if position else used
        used = index + 1
        value = values[index] if 0 <= index < len(values) else None
        if value is None:
            template_parts = True
            return PLACEHOLDER
        if spec.endswith("I"):
            return '"' + value.replace('"', '""') + '"'  # the same name quote_ident gives
        if spec.endswith("L"):
            return "'" + value.replace("'", "''") + "'"
        return value

    return _FORMAT_SPEC.sub(convert, template), template_parts


def _dynamic_sql(expr: str) -> tuple[str, bool] | None:
    """The SQL text of an ``EXECUTE`` expression, as far as it is known statically, and
    whether it is a template: string literals joined by ``||`` (a part that is not a
    literal is filled in at run time) or ``format('...', ...)`` (each conversion is). A
    run-time part becomes :data:`~b03lint.readers.templates.PLACEHOLDER`. None when
    nothing of the text is known (a variable, a function other than ``format``)."""
    try:
        stmts = parse_sql("SELECT " + expr)
    except ParseError:
        return None
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, ast.SelectStmt):
        return None
    targets = stmts[0].stmt.targetList or ()
    if len(targets) != 1 or stmts[0].stmt.fromClause:
        return None

    def text(node: Any) -> tuple[str, bool] | None:
        if is_string_const(node):
            return str(node.val.sval), False
        if isinstance(node, ast.A_Expr) and node.kind == enums.A_Expr_Kind.AEXPR_OP and (
            operator_name(node) == "||"
        ):
            left, right = text(node.lexpr), text(node.rexpr)
            if left is None and right is None:
                return None
            lv, lt = left if left is not None else (PLACEHOLDER, True)
            rv, rt = right if right is not None else (PLACEHOLDER, True)
            return lv + rv, lt or rt
        if isinstance(node, ast.FuncCall) and node.args and (
            [n.sval for n in node.funcname or ()][-1:] == ["format"]
        ) and is_string_const(node.args[0]):
            return _format(str(node.args[0].val.sval), node.args[1:])
        return None

    return text(targets[0].val)


#: PL/pgSQL statements that cannot change the schema b03lint models (PERFORM and CALL
#: run a function, which is as opaque as a top-level SELECT f() -- an OtherStatement there)
_PLPGSQL_NO_SCHEMA_EFFECT = {
    "PLpgSQL_stmt_raise", "PLpgSQL_stmt_return", "PLpgSQL_stmt_assign",
    "PLpgSQL_stmt_getdiag", "PLpgSQL_stmt_assert", "PLpgSQL_stmt_perform",
    "PLpgSQL_stmt_call", "PLpgSQL_stmt_commit", "PLpgSQL_stmt_rollback",
    "PLpgSQL_stmt_open", "PLpgSQL_stmt_fetch", "PLpgSQL_stmt_close",
}
_PLPGSQL_LABELS = {
    "PLpgSQL_stmt_if": "IF", "PLpgSQL_stmt_case": "CASE", "PLpgSQL_stmt_loop": "LOOP",
    "PLpgSQL_stmt_while": "WHILE loop", "PLpgSQL_stmt_fori": "FOR loop",
    "PLpgSQL_stmt_fors": "FOR loop", "PLpgSQL_stmt_forc": "FOR loop",
    "PLpgSQL_stmt_dynfors": "FOR ... EXECUTE loop", "PLpgSQL_stmt_foreach_a": "FOREACH loop",
    "PLpgSQL_stmt_exit": "EXIT/CONTINUE", "PLpgSQL_stmt_return_query": "RETURN QUERY",
}


def _line_at(lines: list[str], lineno: Any) -> str:
    if isinstance(lineno, int) and 1 <= lineno <= len(lines):
        return lines[lineno - 1].strip()[:300]
    return ""


def _one_table(ops: list[Operation]) -> str | None:
    tables = {op.table_name for op in ops if op.table_name}
    if len(tables) == 1:
        return tables.pop()
    return None


class DoBlocks(ReaderContext):
    """The DO-block reader."""

    def do_block(
        self, node: Any, loc: Location, offset: Callable[[int], int] | None = None
    ) -> list[Operation]:
        """Operations of a DO statement, all at ``loc``. With ``offset`` (the DO is in
        ``self.text``), comments inside a dollar-quoted body join ``comments``: a waiver
        written next to the statement it excuses, inside the body, is still seen."""
        kw = self.kw(loc)
        body: str | None = None
        language = "plpgsql"
        for arg in node.args or ():
            if arg.defname == "as":
                body = string_value(arg.arg)
                if offset is not None and arg.location is not None:
                    self.body_comments(offset(int(arg.location)), body)
            elif arg.defname == "language":
                language = string_value(arg.arg).lower()
        snippet = (body or "").strip()[:300]
        if body is None:
            return [Unresolved(reason="DO block without a body", **kw)]
        if language != "plpgsql":
            return [Unresolved(
                reason=f"DO block in language {language} is not analysed", snippet=snippet, **kw
            )]
        tag = "$b03lint$"
        while tag in body:
            tag = tag[:-1] + "_$"
        source = f"CREATE FUNCTION b03lint_do() RETURNS void LANGUAGE plpgsql AS {tag}{body}{tag}"
        try:
            tree = parse_plpgsql(sanitize(source))
        except ParseError as exc:
            message = str(exc.args[0]) if exc.args else str(exc)
            self.result.diagnostics.append(Diagnostic(
                code=SYNTAX_ERROR_CODE,
                message=f"SQL syntax error: PL/pgSQL in DO block: {message}",
                loc=Location(loc.path, loc.line, loc.column),
                severity="blocking",
            ))
            return [Unresolved(reason=f"DO block PL/pgSQL does not parse: {message}",
                               snippet=snippet, **kw)]
        ops: list[Operation] = []
        try:
            action = tree[0]["PLpgSQL_function"]["action"]
        except (IndexError, KeyError, TypeError):
            action = None
        if action is not None:
            self.plpgsql([action], body, loc, ops)
        if not ops:
            ops.append(OtherStatement(statement="DoStmt", **kw))
        return ops

    def body_comments(self, at: int, body: str) -> None:
        tag = DOLLAR_TAG_RE.match(self.text, at)
        if tag is None:
            return  # a '...' body: its text differs from the source ('' escapes); skip
        start, end = tag.end(), tag.end() + len(body)
        if end > len(self.text):
            return
        self.collect_comments(
            [(s, e) for kind, s, e in events(self.text, start, end) if kind == "comment"]
        )

    def plpgsql(
        self, statements: list[Any], body: str, loc: Location, ops: list[Operation]
    ) -> None:
        """Append the operations of PL/pgSQL ``statements`` (parse_plpgsql's JSON) to
        ``ops``; what cannot be flattened honestly becomes :class:`Unresolved`."""
        kw = self.kw(loc)
        lines = body.splitlines()
        for item in statements:
            if not isinstance(item, dict) or len(item) != 1:
                continue
            ((kind, data),) = item.items()
            if kind == "PLpgSQL_stmt_block":
                self.plpgsql(data.get("body") or [], body, loc, ops)
                handlers = (data.get("exceptions") or {}).get("PLpgSQL_exception_block") or {}
                for handler in handlers.get("exc_list") or []:
                    exception = handler.get("PLpgSQL_exception") or {}
                    actions = exception.get("action") or []
                    inner: list[Operation] = []
                    self.plpgsql(actions, body, loc, inner)
                    if inner:
                        conditions = " OR ".join(
                            str((c.get("PLpgSQL_condition") or {}).get("condname", "?"))
                            for c in exception.get("conditions") or []
                        )
                        first: Any = next(iter(actions[0].values()), {}) if actions else {}
                        snippet = f"EXCEPTION WHEN {conditions} THEN " + _line_at(
                            lines, first.get("lineno") if isinstance(first, dict) else None
                        )
                        ops.append(Unresolved(
                            reason="EXCEPTION handler in DO block runs only if the block fails",
                            snippet=snippet.strip()[:300], table=_one_table(inner), **kw,
                        ))
            elif kind == "PLpgSQL_stmt_execsql":
                query = data["sqlstmt"]["PLpgSQL_expr"]["query"]
                ops.extend(self.embedded(query, loc, f"statement in DO block: {query}"))
            elif kind == "PLpgSQL_stmt_dynexecute":
                query = data["query"]["PLpgSQL_expr"]["query"]
                known = _dynamic_sql(query)
                if known is None:
                    ops.append(Unresolved(
                        reason="EXECUTE of a string built at run time in DO block",
                        snippet=f"EXECUTE {query}"[:300], **kw,
                    ))
                else:
                    sql, template = known
                    ops.extend(self.embedded(sql, loc, f"EXECUTE in DO block: {sql}",
                                             template=template))
            elif kind in _PLPGSQL_NO_SCHEMA_EFFECT:
                continue
            else:
                inner = []
                for key in ("then_body", "else_body", "body"):
                    if isinstance(data.get(key), list):
                        self.plpgsql(data[key], body, loc, inner)
                for part in data.get("elsif_list") or []:
                    elsif = part.get("PLpgSQL_if_elsif") or {}
                    self.plpgsql(elsif.get("stmts") or [], body, loc, inner)
                for part in data.get("case_when_list") or []:
                    when = part.get("PLpgSQL_case_when") or {}
                    self.plpgsql(when.get("stmts") or [], body, loc, inner)
                label = _PLPGSQL_LABELS.get(kind, kind.removeprefix("PLpgSQL_stmt_").upper())
                marker = guard(Unresolved(
                    reason=f"{label} in DO block: what runs depends on run-time state; "
                           "the statements inside are read",
                    snippet=_line_at(lines, data.get("lineno")) or label, **kw,
                ), inner)
                if marker is not None:
                    ops.append(marker)
                    ops.extend(inner)

    def embedded(self, sql: str, loc: Location, what: str, *,
                 template: bool = False) -> list[Operation]:
        """Operations of SQL found inside a DO block, all at ``loc``. A ``template`` (SQL
        with run-time parts, :mod:`b03lint.readers.templates`) that does not parse is
        Unresolved, never a syntax error: the error would be the placeholder's."""
        try:
            stmts = parse_sql(sanitize(sql))
        except ParseError as exc:
            message = str(exc.args[0]) if exc.args else str(exc)
            if not template:
                self.result.diagnostics.append(Diagnostic(
                    code=SYNTAX_ERROR_CODE,
                    message=f"SQL syntax error: {message} ({what[:120]})",
                    loc=Location(loc.path, loc.line, loc.column), severity="blocking",
                ))
            return [Unresolved(reason=f"unparsable {what[:120]}", snippet=sql[:300],
                               **self.kw(loc))]
        ops: list[Operation] = []
        for raw in stmts:
            ops.extend(self.statement(raw.stmt, loc))
        return [template_operation(op) for op in ops] if template else ops
