"""Index operations built, dropped and rebuilt concurrently, in an autocommit block (L001,
L002, L010, L012): safe fixes.

The statement is wrapped in ``with op.get_context().autocommit_block():`` and made
concurrent: ``postgresql_concurrently=True`` on ``op.create_index`` / ``op.drop_index``,
``CONCURRENTLY`` in the SQL of ``op.execute``. An ``op.execute`` whose string holds more
than one statement is left alone: PostgreSQL runs a multi-statement string as one implicit
transaction, where ``CONCURRENTLY`` fails all the same.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from b03lint.findings import Finding
from b03lint.fixes.context import Context
from b03lint.fixes.model import Fix
from b03lint.fixes.source import in_autocommit_block, op_call, with_keyword
from b03lint.fixes.sql import after_token, edited, sql_literal

WRAP = "with op.get_context().autocommit_block()"


def _wrapped(ctx: Context, finding: Finding, *, python: str | None,
             sql: tuple[str, tuple[str, ...], str] | None, title: str) -> Fix | None:
    """Wrap the statement of ``finding`` in an autocommit block; make the ``op.<python>``
    call concurrent (``postgresql_concurrently=True``), or insert ``CONCURRENTLY`` into
    the SQL of an ``op.execute`` whose one statement is of node type ``sql[0]``, after the
    tokens ``sql[1]``, checking the parsed statement's property ``sql[2]``. Either None:
    only wrap."""
    src = ctx.source
    stmt = src.statement_at(finding.line)
    found = op_call(stmt)
    if stmt is None or found is None or src.in_autocommit(stmt) \
            or src.function_of(stmt) != "upgrade":
        return None
    call, method = found
    new_call: cst.Call | None = None
    if method == "execute":
        lit = sql_literal(src, call)
        if lit is None or len(lit.statements) != 1:
            return None
        st = lit.statements[0]
        if sql is not None:
            kind, tokens, prop = sql
            if type(st.node).__name__ != kind:
                return None
            at = after_token(st, *tokens)
            if at is None:
                return None

            def expect(tree: dict[str, Any], prop: str = prop) -> None:
                tree[prop] = True

            new_lit = edited(lit, st, [(at, " CONCURRENTLY")], expect)
            if new_lit is None:
                return None
            new_call = call.deep_replace(lit.node, new_lit)  # type: ignore[assignment]
        else:
            new_call = call
    elif python is not None and method == python:
        new_call = with_keyword(call, "postgresql_concurrently", source=src,
                                width=ctx.line_length, deeper=len(src.module.default_indent))
    elif python is None and method in ("create_index", "drop_index"):
        new_call = call
    if new_call is None:
        return None
    body = stmt.body[0]
    assert isinstance(body, cst.Expr)
    inner = stmt.with_changes(body=[body.with_changes(value=new_call)])
    return ctx.fix(finding, title, src.replace(stmt, in_autocommit_block(src, stmt, inner)))


def create_index(ctx: Context, finding: Finding) -> Fix | None:
    return _wrapped(ctx, finding, python="create_index",
                    sql=("IndexStmt", ("INDEX",), "concurrent"),
                    title="Create the index CONCURRENTLY, in an autocommit block")


def drop_index(ctx: Context, finding: Finding) -> Fix | None:
    src = ctx.source
    found = op_call(src.statement_at(finding.line))
    if found is not None and found[1] == "execute":
        lit = sql_literal(src, found[0])
        # DROP INDEX CONCURRENTLY drops one index, without CASCADE
        if lit is None or len(lit.statements) != 1:
            return None
        node = lit.statements[0].node
        if type(node).__name__ != "DropStmt" or len(node.objects or ()) != 1 \
                or getattr(node.behavior, "name", "") == "DROP_CASCADE":
            return None
    return _wrapped(ctx, finding, python="drop_index",
                    sql=("DropStmt", ("DROP", "INDEX"), "concurrent"),
                    title="Drop the index CONCURRENTLY, in an autocommit block")


def outside_autocommit(ctx: Context, finding: Finding) -> Fix | None:
    return _wrapped(ctx, finding, python=None, sql=None,
                    title="Run it in an autocommit block")


def reindex(ctx: Context, finding: Finding) -> Fix | None:
    if ctx.postgres_version < 12:
        return None  # no REINDEX CONCURRENTLY before PostgreSQL 12

    src = ctx.source
    found = op_call(src.statement_at(finding.line))
    if found is None or found[1] != "execute":
        return None
    lit = sql_literal(src, found[0])
    if lit is None or len(lit.statements) != 1:
        return None
    st = lit.statements[0]
    if type(st.node).__name__ != "ReindexStmt":
        return None
    kind = getattr(st.node.kind, "name", "")
    if kind not in ("REINDEX_OBJECT_INDEX", "REINDEX_OBJECT_TABLE"):
        return None
    # REINDEX [ ( options ) ] { INDEX | TABLE } CONCURRENTLY name; PostgreSQL 14+ reads
    # it from the options list
    word = "INDEX" if kind == "REINDEX_OBJECT_INDEX" else "TABLE"
    at = after_token(st, "REINDEX", word)
    if at is None:
        return None

    def expect(tree: dict[str, Any]) -> None:
        params = list(tree.get("params") or [])
        params.append({"@": "DefElem", "defname": "concurrently", "defaction":
                       {"#": "DefElemAction", "name": "DEFELEM_UNSPEC", "value": 0}})
        tree["params"] = params

    new_lit = edited(lit, st, [(at, " CONCURRENTLY")], expect)
    if new_lit is None:
        return None
    stmt = src.statement_at(finding.line)
    assert stmt is not None
    if src.in_autocommit(stmt) or src.function_of(stmt) != "upgrade":
        return None
    inner = stmt.deep_replace(lit.node, new_lit)
    assert isinstance(inner, cst.SimpleStatementLine)
    return ctx.fix(finding, "Rebuild it CONCURRENTLY, in an autocommit block",
                   src.replace(stmt, in_autocommit_block(src, stmt, inner)))


FIXERS = {
    "L001": create_index,
    "L002": drop_index,
    "L010": outside_autocommit,
    "L012": reindex,
}
