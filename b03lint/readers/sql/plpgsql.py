"""DO blocks: the PL/pgSQL body is parsed; plain SQL statements and ``EXECUTE`` of a
constant string become operations, nested blocks are flattened, and what depends on
run-time state (``IF``, loops, dynamic ``EXECUTE``, exception handlers) becomes
:class:`Unresolved`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pglast import ast, enums, parse_plpgsql
from pglast.parser import ParseError

from b03lint.operations import Diagnostic, Location, Operation, OtherStatement, Unresolved
from b03lint.readers.sql.context import SYNTAX_ERROR_CODE, ReaderContext
from b03lint.readers.sql.deparse import string_value
from b03lint.readers.sql.expressions import is_string_const, operator_name
from b03lint.readers.sql.lexer import DOLLAR_TAG_RE, events, sanitize
from b03lint.readers.sql.parse import parse_sql


def _constant_string(expr: str) -> str | None:
    """The value of a PL/pgSQL expression made only of string literals and ``||``."""
    try:
        stmts = parse_sql("SELECT " + expr)
    except ParseError:
        return None
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, ast.SelectStmt):
        return None
    targets = stmts[0].stmt.targetList or ()
    if len(targets) != 1 or stmts[0].stmt.fromClause:
        return None

    def value(node: Any) -> str | None:
        if is_string_const(node):
            return str(node.val.sval)
        if isinstance(node, ast.A_Expr) and node.kind == enums.A_Expr_Kind.AEXPR_OP and (
            operator_name(node) == "||"
        ):
            left, right = value(node.lexpr), value(node.rexpr)
            if left is not None and right is not None:
                return left + right
        return None

    return value(targets[0].val)


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
                constant = _constant_string(query)
                if constant is None:
                    ops.append(Unresolved(
                        reason="EXECUTE of a string built at run time in DO block",
                        snippet=f"EXECUTE {query}"[:300], **kw,
                    ))
                else:
                    ops.extend(self.embedded(constant, loc, f"EXECUTE in DO block: {constant}"))
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
                ops.append(Unresolved(
                    reason=f"{label} in DO block: what runs depends on run-time state",
                    snippet=_line_at(lines, data.get("lineno")) or label,
                    table=_one_table(inner), **kw,
                ))

    def embedded(self, sql: str, loc: Location, what: str) -> list[Operation]:
        """Operations of SQL found inside a DO block, all at ``loc``."""
        try:
            stmts = parse_sql(sanitize(sql))
        except ParseError as exc:
            message = str(exc.args[0]) if exc.args else str(exc)
            self.result.diagnostics.append(Diagnostic(
                code=SYNTAX_ERROR_CODE, message=f"SQL syntax error: {message} ({what[:120]})",
                loc=Location(loc.path, loc.line, loc.column), severity="blocking",
            ))
            return [Unresolved(reason=f"unparsable {what[:120]}", snippet=sql[:300],
                               **self.kw(loc))]
        ops: list[Operation] = []
        for raw in stmts:
            ops.extend(self.statement(raw.stmt, loc))
        return ops
