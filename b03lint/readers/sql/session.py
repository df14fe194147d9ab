"""Statements that change no schema object but decide what a migration locks and whether
it can run: ``REINDEX``, ``VACUUM``/``ANALYZE``, ``CLUSTER``, ``LOCK``, ``SET``/``RESET``
(and ``SELECT set_config(...)``), ``BEGIN``/``COMMIT``/..., and the partition subcommands
of ``ALTER TABLE``. Each becomes its own :class:`~b03lint.operations.OtherStatement`
subclass (``statement`` still names the pglast node), for the lock model
(:mod:`b03lint.pgmodel.locks`)."""

from __future__ import annotations

from typing import Any

from pglast import ast, enums

from b03lint.operations import (
    AttachPartition,
    Cluster,
    DetachPartition,
    LockTable,
    Operation,
    Reindex,
    ReindexTarget,
    SetParameter,
    TransactionControl,
    Vacuum,
)
from b03lint.readers.sql.deparse import range_var_name

#: LockStmt.mode (lockdefs.h) -> the documentation's name
_LOCK_MODES = {1: "ACCESS SHARE", 2: "ROW SHARE", 3: "ROW EXCLUSIVE",
               4: "SHARE UPDATE EXCLUSIVE", 5: "SHARE", 6: "SHARE ROW EXCLUSIVE",
               7: "EXCLUSIVE", 8: "ACCESS EXCLUSIVE"}

_REINDEX_TARGETS: dict[Any, ReindexTarget] = {
    enums.ReindexObjectType.REINDEX_OBJECT_INDEX: "index",
    enums.ReindexObjectType.REINDEX_OBJECT_TABLE: "table",
    enums.ReindexObjectType.REINDEX_OBJECT_SCHEMA: "schema",
    enums.ReindexObjectType.REINDEX_OBJECT_SYSTEM: "system",
    enums.ReindexObjectType.REINDEX_OBJECT_DATABASE: "database",
}

_TRANSACTION_VERBS = {
    enums.TransactionStmtKind.TRANS_STMT_BEGIN: "begin",
    enums.TransactionStmtKind.TRANS_STMT_START: "begin",
    enums.TransactionStmtKind.TRANS_STMT_COMMIT: "commit",
    enums.TransactionStmtKind.TRANS_STMT_ROLLBACK: "rollback",
    enums.TransactionStmtKind.TRANS_STMT_SAVEPOINT: "savepoint",
    enums.TransactionStmtKind.TRANS_STMT_RELEASE: "release",
    enums.TransactionStmtKind.TRANS_STMT_ROLLBACK_TO: "rollback_to",
    enums.TransactionStmtKind.TRANS_STMT_PREPARE: "prepare",
    enums.TransactionStmtKind.TRANS_STMT_COMMIT_PREPARED: "commit_prepared",
    enums.TransactionStmtKind.TRANS_STMT_ROLLBACK_PREPARED: "rollback_prepared",
}


def _options(params: Any) -> set[str]:
    """Names of the ``(OPTION, ...)`` list whose value is not false."""
    out = set()
    for d in params or ():
        arg = getattr(d, "arg", None)
        value = getattr(arg, "sval", None) or getattr(arg, "boolval", None)
        if arg is not None and str(value).lower() in ("false", "off", "0"):
            continue
        out.add(str(d.defname).lower())
    return out


def _constant(node: Any) -> str | None:
    """A literal's text (``'5s'`` -> ``5s``, ``1000`` -> ``1000``), or None."""
    val = getattr(node, "val", None)
    for attr in ("sval", "ival", "fval", "boolval"):
        value = getattr(val, attr, None)
        if value is not None:
            return str(value).lower() if attr == "boolval" else str(value)
    return None


def session_statement(node: Any, kw: dict[str, Any]) -> list[Operation] | None:
    """The operation of ``node`` if it is one of this module's statements, else None."""
    if isinstance(node, ast.ReindexStmt):
        target = _REINDEX_TARGETS.get(node.kind, "index")
        name = range_var_name(node.relation) if node.relation is not None else str(node.name or "")
        return [Reindex(statement="ReindexStmt", target=target, name=name,
                        concurrently="concurrently" in _options(node.params),
                        table=name if target == "table" else None, **kw)]
    if isinstance(node, ast.VacuumStmt):
        options = _options(node.options)
        tables = tuple(range_var_name(r.relation) for r in node.rels or ()
                       if getattr(r, "relation", None) is not None)
        return [Vacuum(statement="VacuumStmt", tables=tables, full="full" in options,
                       analyze_only=not node.is_vacuumcmd,
                       table=tables[0] if len(tables) == 1 else None, **kw)]
    if isinstance(node, ast.ClusterStmt):
        table = range_var_name(node.relation) if node.relation is not None else None
        return [Cluster(statement="ClusterStmt", table=table,
                        index=str(node.indexname) if node.indexname else None, **kw)]
    if isinstance(node, ast.LockStmt):
        tables = tuple(range_var_name(r) for r in node.relations or ())
        return [LockTable(statement="LockStmt", tables=tables,
                          mode=_LOCK_MODES.get(int(node.mode or 8), "ACCESS EXCLUSIVE"),
                          nowait=bool(node.nowait),
                          table=tables[0] if len(tables) == 1 else None, **kw)]
    if isinstance(node, ast.VariableSetStmt):
        kind = node.kind or enums.VariableSetKind.VAR_SET_VALUE
        if kind not in (enums.VariableSetKind.VAR_SET_VALUE,
                        enums.VariableSetKind.VAR_SET_DEFAULT,
                        enums.VariableSetKind.VAR_RESET) or not node.name:
            return None  # SET TRANSACTION ..., RESET ALL, SET ... FROM CURRENT
        value = None
        if kind == enums.VariableSetKind.VAR_SET_VALUE:
            value = ", ".join(v for v in (_constant(a) for a in node.args or ()) if v) or None
        return [SetParameter(statement="VariableSetStmt", name=str(node.name).lower(),
                             value=value, local=bool(node.is_local), **kw)]
    if isinstance(node, ast.TransactionStmt):
        verb = _TRANSACTION_VERBS.get(node.kind or enums.TransactionStmtKind.TRANS_STMT_BEGIN)
        if verb is None:
            return None
        return [TransactionControl(statement="TransactionStmt", verb=verb, **kw)]
    if isinstance(node, ast.SelectStmt):
        return _set_config(node, kw)
    return None


def _set_config(node: Any, kw: dict[str, Any]) -> list[Operation] | None:
    """``SELECT set_config('lock_timeout', '5s', false)`` alone in its statement."""
    targets: tuple[Any, ...] = tuple(node.targetList or ())
    if len(targets) != 1 or node.fromClause or node.whereClause:
        return None
    call = getattr(targets[0], "val", None)
    if not isinstance(call, ast.FuncCall):
        return None
    name = [str(getattr(p, "sval", "")) for p in call.funcname or ()]
    args = call.args or ()
    if name[-1:] != ["set_config"] or name[:-1] not in ([], ["pg_catalog"]) or len(args) != 3:
        return None
    setting, value, local = (_constant(a) for a in args)
    if setting is None or local not in ("true", "false"):
        return None
    return [SetParameter(statement="SelectStmt(set_config)", name=setting.lower(),
                         value=value, local=local == "true", **kw)]


def partition_command(sub: Any, cmd: Any, table: str, kw: dict[str, Any]) -> Operation | None:
    """``ATTACH PARTITION`` / ``DETACH PARTITION [CONCURRENTLY | FINALIZE]``."""
    at = enums.AlterTableType
    part = getattr(cmd.def_, "name", None)
    if part is None:
        return None
    name = range_var_name(part)
    if sub == at.AT_AttachPartition:
        return AttachPartition(statement="AlterTableStmt(AT_AttachPartition)", table=table,
                               partition=name, **kw)
    if sub in (at.AT_DetachPartition, at.AT_DetachPartitionFinalize):
        return DetachPartition(statement=f"AlterTableStmt({sub.name})", table=table,
                               partition=name, concurrently=bool(cmd.def_.concurrent),
                               finalize=sub == at.AT_DetachPartitionFinalize, **kw)
    return None
