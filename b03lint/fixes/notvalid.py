"""A foreign key or CHECK added ``NOT VALID``, validated by a new migration (L003): a safe
fix when the revision is a head.

The constraint gets ``postgresql_not_valid=True`` (``op.create_foreign_key``,
``op.create_check_constraint``) or ``NOT VALID`` (SQL), and a new revision on top of this
one runs ``ALTER TABLE ... VALIDATE CONSTRAINT ...``: it reads the table under SHARE UPDATE
EXCLUSIVE, which lets reads and writes go on. The new revision's id is derived from this
one's, so the fix is the same every time it is asked for; a second constraint of the same
revision is validated by the same follow-up (its file is edited). When other revisions
already build on this one, the follow-up goes between them (their ``down_revision`` moves
to it): that rewrites revisions that may already be applied somewhere, so it is unsafe.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst

from b03lint.findings import Finding
from b03lint.fixes.context import Context
from b03lint.fixes.model import Fix, TextEdit
from b03lint.fixes.source import Source, op_call, with_keyword
from b03lint.fixes.sql import edited, sql_literal
from b03lint.operations import (
    AddConstraint,
    DropColumn,
    DropConstraint,
    DropTable,
    RenameColumn,
    RenameConstraint,
    RenameTable,
    Unresolved,
)

if TYPE_CHECKING:
    from b03lint.project import Project

#: the arguments of the Alembic calls: (name, table) positions and the schema keyword
_CALLS = {
    "create_foreign_key": (0, 1, "source_schema"),
    "create_check_constraint": (0, 1, "schema"),
}
_PARAMS = {
    "create_foreign_key": ("constraint_name", "source_table"),
    "create_check_constraint": ("constraint_name", "table_name"),
}
_MARK = "Written by `b03lint check --fix` (L003)"


def _text_arg(src: Source, call: cst.Call, position: int, name: str) -> str | None:
    """The text of an argument: a string literal, or a name the module assigns one to
    (``FK_NAME = "..."`` at its top level)."""
    found = next((a for a in call.args if a.keyword is not None and a.keyword.value == name),
                 None)
    if found is None:
        positional = [a for a in call.args if a.keyword is None and not a.star]
        found = positional[position] if position < len(positional) else None
    if found is None:
        return None
    value: cst.BaseExpression | None = found.value
    if isinstance(value, cst.Name):
        value = _constants(src).get(value.value)
    if not isinstance(value, cst.SimpleString):
        return None
    text = value.evaluated_value
    return text if isinstance(text, str) else None


def _constants(src: Source) -> dict[str, cst.BaseExpression]:
    """Names assigned exactly once at the module's top level, and to what."""
    found: dict[str, cst.BaseExpression] | None = src.memo.get("constants")
    if found is None:
        found = {}
        twice: set[str] = set()
        for stmt in src.module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                        and isinstance(small.targets[0].target, cst.Name):
                    key = small.targets[0].target.value
                    if key in found:
                        twice.add(key)
                    found[key] = small.value
        for key in twice:
            found.pop(key, None)
        src.memo["constants"] = found
    return found


def quote(name: str) -> str:
    from b03lint.schema.canonical_yaml import quote_ident

    return ".".join(quote_ident(part) for part in name.split("."))


def validate_sql(table: str, constraint: str) -> str:
    return f"ALTER TABLE {quote(table)} VALIDATE CONSTRAINT {quote(constraint)}"


def fix(ctx: Context, finding: Finding) -> Fix | None:
    src = ctx.source
    stmt = src.statement_at(finding.line)
    found = op_call(stmt)
    if stmt is None or found is None or src.function_of(stmt) != "upgrade":
        return None
    call, method = found
    new_call: cst.Call | None = None
    name: str | None = None
    table: str | None = None
    if method in _CALLS:
        name_at, table_at, schema_kw = _CALLS[method]
        name_kw, table_kw = _PARAMS[method]
        name = _text_arg(src, call, name_at, name_kw)
        table = _text_arg(src, call, table_at, table_kw)
        schema = _text_arg(src, call, 99, schema_kw)
        if name is None or table is None:
            return None  # an unnamed constraint cannot be validated by name
        if schema:
            table = f"{schema}.{table}"
        new_call = with_keyword(call, "postgresql_not_valid", source=src,
                                width=ctx.line_length)
    elif method == "execute":
        lit = sql_literal(src, call)
        if lit is None or len(lit.statements) != 1:
            return None
        st = lit.statements[0]
        node = st.node
        cmds: Any = getattr(node, "cmds", None) or ()
        if type(node).__name__ != "AlterTableStmt" or len(cmds) != 1 \
                or getattr(cmds[0].subtype, "name", "") != "AT_AddConstraint":
            return None
        con = cmds[0].def_
        if getattr(con.contype, "name", "") not in ("CONSTR_FOREIGN", "CONSTR_CHECK") \
                or not con.conname:
            return None
        name = str(con.conname)
        rel = node.relation
        table = f"{rel.schemaname}.{rel.relname}" if rel.schemaname else str(rel.relname)
        body = lit.value[st.start:st.end].rstrip()
        end = st.start + len(body.rstrip(";").rstrip())

        def expect(tree: dict[str, Any]) -> None:
            tree["cmds"][0]["def_"]["skip_validation"] = True
            tree["cmds"][0]["def_"]["initially_valid"] = False

        new_lit = edited(lit, st, [(end, " NOT VALID")], expect)
        if new_lit is None:
            return None
        new_call = call.deep_replace(lit.node, new_lit)  # type: ignore[assignment]
    if new_call is None or name is None or table is None:
        return None
    edit = src.replace_in(stmt, call, new_call)
    if edit is None:
        return None
    return _with_follow_up(ctx, finding, edit, table, name)


def _revision(src: Source) -> str | None:
    for stmt in src.module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            small = stmt.body[0]
            target = small.target if isinstance(small, cst.AnnAssign) else (
                small.targets[0].target if isinstance(small, cst.Assign)
                and len(small.targets) == 1 else None)
            value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign)) else None
            if isinstance(target, cst.Name) and target.value == "revision" \
                    and isinstance(value, cst.SimpleString):
                text = value.evaluated_value
                return text if isinstance(text, str) else None
    return None


def follow_up_id(revision: str, taken: set[str]) -> str:
    """The follow-up's revision id: from this revision's, unique in the chain."""
    n = 0
    while True:
        seed = f"b03lint-validate:{revision}" + (f":{n}" if n else "")
        rev = hashlib.sha256(seed.encode()).hexdigest()[:12]
        if rev not in taken:
            return rev
        n += 1


def follow_up_text(revision: str, parent: str, statements: list[str]) -> str:
    body = "".join(f"    op.execute({json.dumps(s)})\n" for s in statements)
    return (f'"""Validate the constraints {parent} added NOT VALID\n\n'
            f"Revision ID: {revision}\nRevises: {parent}\n\n"
            f"{_MARK}: VALIDATE CONSTRAINT reads the table\n"
            "under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on, in a\n"
            'transaction of its own.\n"""\n'
            "from alembic import op\n\n"
            f'revision = "{revision}"\ndown_revision = "{parent}"\n'
            "branch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade() -> None:\n{body}\n\n"
            "def downgrade() -> None:\n"
            "    pass  # the revision that added the constraint drops it\n")


def _with_follow_up(ctx: Context, finding: Finding, edit: TextEdit, table: str,
                    constraint: str) -> Fix | None:
    revision = _revision(ctx.source)
    if revision is None:
        return None
    project = ctx.project()
    graph = project.graph
    if not _stays(project, revision, finding.line, table, constraint):
        return None
    children = list(graph.children.get(revision, ()))
    statement = validate_sql(table, constraint)
    title = f"Add {constraint} NOT VALID; validate it in a new migration"
    own = follow_up_id(revision, set(graph.nodes) - set(children))
    if own in children:
        # our follow-up is there: it validates this constraint too
        path = _real(graph.nodes[own].path)
        added = _add_statement(path, statement)
        if added is None:
            return None
        others = () if added == _NOTHING else ((path, (added,)),)
        return ctx.fix(finding, title, edit, other_edits=others)
    new_rev = follow_up_id(revision, set(graph.nodes))
    target = ctx.path.parent / f"{new_rev}_validate_constraints.py"
    text = follow_up_text(new_rev, revision, [statement])
    if not children:
        return ctx.fix(finding, title, edit, follow_up_files=((target, text),))
    # between this revision and the ones built on it: unsafe, they may be applied already
    moved: list[tuple[Path, tuple[TextEdit, ...]]] = []
    for child in children:
        path = _real(graph.nodes[child].path)
        repoint = _repoint(path, revision, new_rev)
        if repoint is None:
            return None
        moved.append((path, (repoint,)))
    return ctx.fix(finding, title + " (before the revisions built on this one)", edit,
                   safe=False, follow_up_files=((target, text),), other_edits=tuple(moved))


_NOTHING = TextEdit(0, 0, 0, 0, "")

#: operations after which a constraint of their table may be gone (or renamed) by the end
#: of the revision: then no VALIDATE can name it
_CHANGES = (DropConstraint, DropTable, DropColumn, RenameTable, RenameColumn,
            RenameConstraint, Unresolved)


def _stays(project: Project, revision: str, line: int, table: str, constraint: str) -> bool:
    """Whether the constraint added at ``line`` of ``revision`` is still there, under its
    name, when the revision ends: nothing after it in ``upgrade()`` drops, renames or may
    change it, its table or a column of its table (PostgreSQL drops a constraint with a
    column it uses)."""
    mf = project.file_for(revision)
    if mf is None:
        return False
    ops = mf.upgrade_ops
    at = next((i for i, op in enumerate(ops) if isinstance(op, AddConstraint)
               and op.loc.line <= line <= (op.loc.end_line or op.loc.line)
               and op.constraint.name == constraint), None)
    if at is None:
        return False
    added = ops[at]
    assert isinstance(added, AddConstraint)
    con = added.constraint
    used = set(con.columns) | set(re.findall(r"[A-Za-z_][A-Za-z0-9_$]*", con.expression or ""))
    bare = table.rsplit(".", 1)[-1]
    for op in ops[at + 1:]:
        if not isinstance(op, _CHANGES) or op.table_name not in (None, bare, table):
            continue
        if isinstance(op, (DropColumn, RenameColumn)):
            if op.column in used or not used:
                return False
        elif isinstance(op, (DropConstraint, RenameConstraint)):
            if op.name == constraint:
                return False
        else:
            return False
    return True


def _real(shown: str) -> Path:
    import os

    return Path(os.path.abspath(shown))


def _read(path: Path) -> Source | None:
    from b03lint import overlay

    try:
        return Source(overlay.read_bytes(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, cst.ParserSyntaxError):
        return None


def _add_statement(path: Path, statement: str) -> TextEdit | None:
    """The edit that adds ``op.execute(statement)`` to ``upgrade()`` of the follow-up at
    ``path`` (:data:`_NOTHING` when it is there already)."""
    src = _read(path)
    if src is None:
        return None
    upgrade = next((s for s in src.module.body if isinstance(s, cst.FunctionDef)
                    and s.name.value == "upgrade"), None)
    if upgrade is None or not isinstance(upgrade.body, cst.IndentedBlock):
        return None
    line = f"op.execute({json.dumps(statement)})"
    if any(src.code(s).strip() == line for s in upgrade.body.body):
        return _NOTHING
    body = list(upgrade.body.body)
    if len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine) \
            and len(body[0].body) == 1 and isinstance(body[0].body[0], cst.Pass):
        return src.replace(body[0], cst.parse_statement(line))
    last = body[-1]
    if not isinstance(last, cst.SimpleStatementLine):
        return None
    src.statements()
    end = src.range(last).end.line
    indent = "".join(src.indentation(last))
    return TextEdit(end + 1, 0, end + 1, 0, f"{indent}{line}{src.module.default_newline}")


#: ``down_revision = "..."`` (annotated or not) at the start of a line
_DOWN_REVISION = re.compile(
    r"""^down_revision\s*(?::[^=\n]*)?=\s*(?P<value>\([^)]*\)|\[[^\]]*\]|'[^'\n]*'|"[^"\n]*")""",
    re.MULTILINE)


def _repoint(path: Path, old: str, new: str) -> TextEdit | None:
    """The edit that makes ``down_revision`` of the file at ``path`` name ``new`` instead
    of ``old`` (a string, or one string of a tuple or list): the literal's text, found
    where the module assigns it (checked with ``ast``; the file is not rewritten)."""
    import ast

    from b03lint import overlay
    from b03lint.fixes.model import position_of

    try:
        text = overlay.read_bytes(path).decode("utf-8")
        tree = ast.parse(text)
    except (OSError, UnicodeDecodeError, SyntaxError):
        return None
    assigned = [node for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                and any(isinstance(t, ast.Name) and t.id == "down_revision"
                        for t in (node.targets if isinstance(node, ast.Assign)
                                  else [node.target]))]
    matches = list(_DOWN_REVISION.finditer(text))
    if len(assigned) != 1 or len(matches) != 1:
        return None
    m = matches[0]
    start = m.start("value")
    for quote in ('"', "'"):
        at = m.group("value").find(f"{quote}{old}{quote}")
        if at != -1:
            line, col = position_of(text, start + at + 1)
            return TextEdit(line, col, line, col + len(old), new)
    return None


FIXERS = {"L003": fix}
