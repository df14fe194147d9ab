"""``IF NOT EXISTS`` / ``IF EXISTS`` for a statement of an autocommit block (L021): a safe
fix, as squawk's ``prefer-robust-stmts`` writes it.

Alembic's keyword (``if_not_exists=True``, ``if_exists=True``) where the installed Alembic
has it (1.12 for indexes, 1.13.3 for tables, 1.16 for columns and constraints; without
Alembic installed beside b03lint, as in pre-commit's own environment, the current Alembic
is assumed); the words in the SQL of ``op.execute``.
"""

from __future__ import annotations

from typing import Any

from b03lint.findings import Finding
from b03lint.fixes.context import Context
from b03lint.fixes.model import Fix
from b03lint.fixes.source import is_true, keyword, op_call, with_keyword
from b03lint.fixes.sql import Literal, Statement, after_token, edited, sql_literal

#: Alembic call -> (keyword, the Alembic version that has it)
KEYWORDS: dict[str, tuple[str, tuple[int, ...]]] = {
    "create_index": ("if_not_exists", (1, 12)),
    "drop_index": ("if_exists", (1, 12)),
    "create_table": ("if_not_exists", (1, 13, 3)),
    "drop_table": ("if_exists", (1, 13, 3)),
    "add_column": ("if_not_exists", (1, 16)),
    "drop_column": ("if_exists", (1, 16)),
    "drop_constraint": ("if_exists", (1, 16)),
}


def alembic_version() -> tuple[int, ...] | None:
    """The installed Alembic's version (read from its metadata, not imported)."""
    from importlib import metadata

    try:
        text = metadata.version("alembic")
    except metadata.PackageNotFoundError:
        return None
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _statement(lit: Literal, finding: Finding) -> Statement | None:
    if len(lit.statements) == 1:
        return lit.statements[0]
    return lit.statement_at(finding.line, finding.column - 1)


#: (node type, what it drops or alters) -> tokens after which the guard goes, the tokens
#: it may follow, the guard, and the property of the tree it sets
def _where(st: Statement) -> tuple[int, str, Any] | None:
    node = st.node
    kind = type(node).__name__
    if kind == "IndexStmt" and node.idxname:
        at = after_token(st, "INDEX", then=("CONCURRENTLY",))
        return (at, " IF NOT EXISTS", lambda t: t.update(if_not_exists=True)) if at else None
    if kind == "CreateStmt":
        at = after_token(st, "TABLE")
        return (at, " IF NOT EXISTS", lambda t: t.update(if_not_exists=True)) if at else None
    if kind == "DropStmt":
        word = {"OBJECT_INDEX": "INDEX", "OBJECT_TABLE": "TABLE",
                "OBJECT_TYPE": "TYPE_P"}.get(getattr(node.removeType, "name", ""))
        if word is None:
            return None
        at = after_token(st, "DROP", word, then=("CONCURRENTLY",))
        return (at, " IF EXISTS", lambda t: t.update(missing_ok=True)) if at else None
    if kind == "AlterTableStmt" and len(node.cmds or ()) == 1:
        sub = getattr(node.cmds[0].subtype, "name", "")

        def set_cmd(t: dict[str, Any]) -> None:
            t["cmds"][0]["missing_ok"] = True

        if sub == "AT_AddColumn":
            at = after_token(st, "ADD_P", then=("COLUMN",))
            return (at, " IF NOT EXISTS", set_cmd) if at else None
        if sub == "AT_DropColumn":
            at = after_token(st, "DROP", then=("COLUMN",))
            return (at, " IF EXISTS", set_cmd) if at else None
        if sub == "AT_DropConstraint":
            at = after_token(st, "DROP", "CONSTRAINT")
            return (at, " IF EXISTS", set_cmd) if at else None
    return None


def fix(ctx: Context, finding: Finding) -> Fix | None:
    src = ctx.source
    stmt = src.statement_at(finding.line)
    found = op_call(stmt)
    if stmt is None or found is None or not src.in_autocommit(stmt):
        return None
    call, method = found
    if method in KEYWORDS:
        name, since = KEYWORDS[method]
        installed = alembic_version()
        if installed is not None and installed < since:
            return None
        if is_true(keyword(call, name)):
            return None
        guard = "IF NOT EXISTS" if name == "if_not_exists" else "IF EXISTS"
        return ctx.fix(finding, f"Add {name}=True ({guard})",
                       src.replace_in(stmt, call, with_keyword(call, name, source=src,
                                                               width=ctx.line_length)))
    if method != "execute":
        return None
    lit = sql_literal(src, call)
    if lit is None:
        return None
    st = _statement(lit, finding)
    where = _where(st) if st is not None else None
    if st is None or where is None:
        return None
    at, words, expect = where
    new_lit = edited(lit, st, [(at, words)], expect)
    if new_lit is None:
        return None
    return ctx.fix(finding, f"Add{words}", src.replace_in(stmt, lit.node, new_lit))


FIXERS = {"L021": fix}
