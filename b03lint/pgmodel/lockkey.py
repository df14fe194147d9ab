"""Which row of the lock model's table (:data:`b03lint.pgmodel.locks.ROWS`) an operation
falls under, read from the operation and the replayed schema just before it: the type
change (:mod:`b03lint.pgmodel.typechange`), the default (:mod:`b03lint.pgmodel.volatility`),
the constraints that prove a column NOT NULL, the kind of an ``ALTER TABLE`` subcommand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterColumnNullable,
    AlterColumnType,
    CreateIndex,
    CreateTable,
    DataChange,
    DetachPartition,
    DropIndex,
    DropSchema,
    DropTable,
    DropType,
    Operation,
    OtherStatement,
    Reindex,
    Vacuum,
    ValidateConstraint,
)
from b03lint.pgmodel import typechange
from b03lint.pgmodel.volatility import is_volatile

if TYPE_CHECKING:
    from b03lint.schema.model import Index, Table


# --------------------------------------------------------------------------- the schema before


class State(Protocol):
    """What the model reads of the schema just before an operation (a
    :class:`b03lint.schema.timeline.Before`)."""

    @property
    def table(self) -> Table | None: ...

    @property
    def indexes(self) -> Mapping[str, Index]: ...

    @property
    def referencing(self) -> tuple[str, ...]: ...

    @property
    def dependents(self) -> tuple[str, ...]: ...

    @property
    def cascading(self) -> tuple[str, ...]: ...


# --------------------------------------------------------------------------- rows


def column_type(state: State | None, column: str) -> str | None:
    table = state.table if state is not None else None
    col = table.columns.get(column) if table is not None else None
    return col.type if col is not None else None


def fk_targets(state: State | None, column: str | None = None,
                name: str | None = None) -> list[str]:
    """Tables the foreign keys of the state's table reference (those on ``column``, or the
    one named ``name``)."""
    table = state.table if state is not None else None
    if table is None:
        return []
    out = []
    for con in table.constraints.values():
        if con.kind != "foreign_key" or con.references is None:
            continue
        if column is not None and column not in con.columns:
            continue
        if name is not None and con.name != name:
            continue
        out.append(con.references.table)
    return list(dict.fromkeys(out))


def checks_on(state: State | None, column: str) -> bool:
    """Whether a CHECK constraint of the state's table names ``column``."""
    import re

    table = state.table if state is not None else None
    if table is None:
        return False
    word = re.compile(rf'(?<![\w$"]){re.escape(column)}(?![\w$"])|"{re.escape(column)}"',
                      re.IGNORECASE)
    return any(con.kind == "check" and con.expression and word.search(con.expression)
               for con in table.constraints.values())


def _proves_not_null(state: State | None, column: str) -> bool:
    """A valid CHECK of the form ``column IS NOT NULL`` (PostgreSQL's own test)."""
    table = state.table if state is not None else None
    if table is None:
        return False
    want = f"{column} is not null"
    for con in table.constraints.values():
        if con.kind != "check" or con.not_valid or not con.expression:
            continue
        text = " ".join(con.expression.lower().replace('"', "").strip("() ").split())
        if text == want:
            return True
    return False


def variant(op: Operation, state: State | None) -> tuple[str, str, set[str]]:
    """The row key ``op`` falls under, why, and whether the row's rewrite and scan are
    only a guess (an unknown type change, a default b03lint cannot parse)."""
    key, why = _key(op, state)
    uncertain: set[str] = set()
    if isinstance(op, AlterColumnType):
        if why.startswith(_UNKNOWN_TYPE):
            uncertain = {"rewrite", "scan"}
        why = why.removeprefix(_UNKNOWN_TYPE)
    elif key == "attach_partition":
        uncertain = {"scan"}
        why = ("the partition is read to prove its rows fit its bounds unless one of its "
               "CHECK constraints proves it, which b03lint does not judge")
    elif key == "update_or_delete":
        uncertain = {"scan"}
        why = ("whether it reads every row depends on the plan: an index on the WHERE "
               "columns, and the table's size")
    elif key == "add_column.volatile_default" and isinstance(op, AddColumn) and \
            op.column.default is not None and not op.column.identity and \
            op.column.generated is None and is_volatile(op.column.default) is None:
        uncertain = {"rewrite", "scan"}
    return key, why, uncertain


_UNKNOWN_TYPE = "unknown: "


def _new_in_statement(op: AddConstraint, state: State | None) -> bool:
    """A foreign key written on a column of ``ALTER TABLE ... ADD COLUMN`` (SQL): the SQL
    reader gives the column and its constraint the same location. (Alembic's
    ``op.add_column`` sends the key as a statement of its own, which does validate.)"""
    table = state.table if state is not None else None
    if op.source != "sql" or table is None or not op.constraint.columns:
        return False
    for name in op.constraint.columns:
        col = table.columns.get(name)
        if col is None or col.default is not None or col.origin is None \
                or col.origin.loc != op.loc:
            return False
    return True


def _key(op: Operation, state: State | None) -> tuple[str, str]:
    if isinstance(op, CreateTable):
        return "create_table", ""
    if isinstance(op, DropTable):
        return "drop_table", ""
    if isinstance(op, AddColumn):
        col = op.column
        if col.generated is not None:
            return "add_column.generated", f"the generated column {col.name} is computed"
        if col.identity:
            return "add_column.volatile_default", "an identity column takes a sequence value"
        if col.default is None or col.default.strip().lower() == "null":
            return "add_column", ""
        volatile = is_volatile(col.default)
        if volatile is not False:
            from b03lint.pgmodel.volatility import volatile_calls

            calls = volatile_calls(col.default) or ()
            named = ", ".join(f"{c}()" for c in calls) or col.default
            return ("add_column.volatile_default",
                    f"the default {col.default} is volatile ({named})")
        return "add_column.default", f"the default {col.default} is not volatile"
    if isinstance(op, AlterColumnType):
        old = column_type(state, op.column) or op.existing_type
        enums: frozenset[str] = frozenset(getattr(state, "enums", ()) or ())
        change = typechange.classify(old, op.new_type, using=op.using, column=op.column,
                                     enums=enums)
        if change.verdict == "unknown":
            return "alter_column_type.rewrite", _UNKNOWN_TYPE + change.why
        return ("alter_column_type.rewrite" if change.rewrites else "alter_column_type"), \
            change.why
    if isinstance(op, AlterColumnNullable):
        if op.nullable:
            return "drop_not_null", ""
        table = state.table if state is not None else None
        now = table.columns.get(op.column) if table is not None else None
        if now is not None and not now.nullable and not now.unknown:
            return "set_not_null.already", f"{op.column} is already NOT NULL"
        if _proves_not_null(state, op.column):
            return "set_not_null.checked", f"a valid CHECK ({op.column} IS NOT NULL) exists"
        return "set_not_null", ""
    if isinstance(op, CreateIndex):
        return ("create_index.concurrently" if op.concurrently else "create_index"), ""
    if isinstance(op, DropIndex):
        return ("drop_index.concurrently" if op.concurrently else "drop_index"), ""
    if isinstance(op, AddConstraint):
        con = op.constraint
        if con.kind == "foreign_key":
            if con.not_valid:
                return "add_foreign_key.not_valid", ""
            if _new_in_statement(op, state):
                return "add_foreign_key.new_column", \
                    "its columns are added by the same statement, without a default"
            return "add_foreign_key", ""
        if con.kind == "check":
            return ("add_check.not_valid" if con.not_valid else "add_check"), ""
        if con.kind == "exclude":
            return "add_exclude", ""
        if con.using_index or not con.columns:
            return "add_unique.using_index", ""
        return "add_unique", ""
    if isinstance(op, ValidateConstraint):
        if fk_targets(state, name=op.name):
            return "validate_foreign_key", ""
        return "validate_constraint", ""
    if isinstance(op, Reindex):
        if op.target in ("schema", "database", "system"):
            return "reindex.many", ""
        return ("reindex.concurrently" if op.concurrently else "reindex"), ""
    if isinstance(op, Vacuum):
        if op.analyze_only:
            return "analyze", ""
        return ("vacuum.full" if op.full else "vacuum"), ""
    if isinstance(op, DetachPartition):
        return ("detach_partition.concurrently" if op.concurrently else "detach_partition"), ""
    if isinstance(op, DataChange):
        if op.verb == "insert":
            return "insert", ""
        return ("update_or_delete" if op.has_where else "update_or_delete.all"), ""
    if isinstance(op, DropSchema | DropType):
        return ("drop_cascade" if op.cascade else "no_table"), ""
    if op.kind in _SIMPLE:
        return _SIMPLE[op.kind], ""
    if isinstance(op, OtherStatement):
        return _other(op), ""
    return "", ""


_SIMPLE = {
    "rename_table": "rename_table", "drop_column": "drop_column",
    "rename_column": "rename_column", "alter_column_default": "alter_column_default",
    "rename_index": "rename_index", "drop_constraint": "drop_constraint",
    "rename_constraint": "rename_constraint", "enable_rls": "rls", "disable_rls": "rls",
    "force_rls": "rls", "no_force_rls": "rls", "create_policy": "policy",
    "drop_policy": "policy", "create_schema": "no_table", "create_enum_type": "no_table",
    "alter_enum_add_value": "alter_enum_add_value", "alter_enum_rename_value": "no_table",
    "rename_type": "no_table", "drop_database": "drop_database", "truncate": "truncate",
    "cluster": "cluster", "attach_partition": "attach_partition",
    "set_parameter": "no_table", "transaction_control": "transaction_control",
    "lock_table": "lock_table", "create_sequence": "no_table",
    "alter_sequence_owner": "no_table", "rename_sequence": "no_table",
    "drop_sequence": "no_table",
}

#: OtherStatement by pglast node name (with its detail)
_STATEMENTS = {
    "CreateTrigStmt": "create_trigger", "CommentStmt": "comment", "GrantStmt": "no_table",
    "GrantRoleStmt": "no_table", "CreateFunctionStmt": "no_table", "CreateSeqStmt": "no_table",
    "AlterSeqStmt": "no_table", "CreateRoleStmt": "no_table", "AlterRoleStmt": "no_table",
    "AlterDefaultPrivilegesStmt": "no_table", "CreateDomainStmt": "no_table",
    "CompositeTypeStmt": "no_table", "DefineStmt": "no_table", "AlterFunctionStmt": "no_table",
    "AlterOwnerStmt": "no_table", "AlterEnumStmt(RENAME VALUE)": "no_table",
    "DoStmt": "no_table", "SelectStmt": "reads", "ViewStmt": "reads",
    "ExplainStmt": "reads", "NotifyStmt": "no_table", "CreateExtensionStmt": "",
}
_LIGHT_SUBCOMMANDS = {"AT_SetStatistics", "AT_SetOptions", "AT_ResetOptions", "AT_ClusterOn",
                      "AT_DropCluster", "AT_SetRelOptions", "AT_ResetRelOptions"}
_TRIGGER_SUBCOMMANDS = {"AT_EnableTrig", "AT_DisableTrig", "AT_EnableAlwaysTrig",
                        "AT_EnableReplicaTrig", "AT_EnableTrigAll", "AT_DisableTrigAll",
                        "AT_EnableTrigUser", "AT_DisableTrigUser"}


def _other(op: OtherStatement) -> str:
    statement = op.statement
    if statement.startswith("AlterTableStmt(") and op.table:
        sub = statement[len("AlterTableStmt("):-1]
        if sub in _LIGHT_SUBCOMMANDS:
            return "alter_table.light"
        if sub in _TRIGGER_SUBCOMMANDS:
            return "alter_table.triggers"
        if sub.startswith("AT_"):
            return "alter_table.other"
        return ""
    if statement.startswith(("DropStmt(", "RenameStmt(")) and not op.table:
        return "no_table"
    return _STATEMENTS.get(statement, "")
