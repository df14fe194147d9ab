"""One parsed statement -> operations: CREATE TABLE (columns, constraints, serials),
ALTER TABLE (one location per subcommand), CREATE INDEX, DROP, RENAME, TRUNCATE,
INSERT/UPDATE/DELETE, policies, enum types, schemas; anything else an
``OtherStatement`` naming the pglast node."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from pglast import ast, enums

from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterColumnDefault,
    AlterColumnNullable,
    AlterColumnType,
    AlterEnumAddValue,
    AlterEnumRenameValue,
    AlterSequenceOwner,
    ColumnDef,
    ConstraintDef,
    CreateEnumType,
    CreateIndex,
    CreatePolicy,
    CreateSchema,
    CreateSequence,
    CreateTable,
    DataChange,
    DisableRLS,
    DropColumn,
    DropConstraint,
    DropDatabase,
    DropIndex,
    DropPolicy,
    DropSchema,
    DropSequence,
    DropTable,
    DropType,
    EnableRLS,
    ForceRLS,
    ForeignKeyRef,
    Location,
    NoForceRLS,
    Operation,
    OtherStatement,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameSequence,
    RenameTable,
    RenameType,
    Truncate,
    Unresolved,
    ValidateConstraint,
)
from b03lint.readers.sql.context import ReaderContext
from b03lint.readers.sql.deparse import (
    FK_ACTIONS,
    deparse,
    deparse_opt,
    name_list,
    qualified,
    range_var,
    range_var_name,
    split_names,
    string_value,
    type_spelling,
)
from b03lint.readers.sql.expressions import always_true, index_element, value_set
from b03lint.readers.sql.lexer import DETAIL_RE, events, skip_ws_comments, trim_end
from b03lint.readers.sql.session import partition_command, session_statement
from b03lint.sqltypes import is_serial, serial_default


def _role_name(role: Any) -> str:
    kind = role.roletype
    if kind == enums.RoleSpecType.ROLESPEC_CSTRING:
        return str(role.rolename)
    return {
        enums.RoleSpecType.ROLESPEC_PUBLIC: "public",
        enums.RoleSpecType.ROLESPEC_CURRENT_USER: "current_user",
        enums.RoleSpecType.ROLESPEC_CURRENT_ROLE: "current_role",
        enums.RoleSpecType.ROLESPEC_SESSION_USER: "session_user",
    }.get(kind, str(role.rolename or kind))


_QUALIFIED_NAME_RE = re.compile(
    r'(?:"(?:[^"]|"")*"|[^\W\d][\w$]*)(?:\s*\.\s*(?:"(?:[^"]|"")*"|[^\W\d][\w$]*))*'
)


class Statements(ReaderContext):
    """The statement readers."""

    def statement(self, node: Any, loc: Location) -> list[Operation]:
        """Operations of one statement; ``loc`` for all of them."""
        kw = self.kw(loc)
        if isinstance(node, ast.CreateStmt):
            return self.create_table(node, loc)
        if isinstance(node, ast.AlterTableStmt):
            return self.alter_table(node, loc, None)
        if isinstance(node, ast.IndexStmt):
            schema, table = range_var(node.relation)
            return [CreateIndex(
                name=node.idxname or None, table=table, schema=schema,
                elements=tuple(index_element(e) for e in node.indexParams or ()),
                unique=bool(node.unique),
                include=tuple(
                    str(e.name) if e.name else deparse(e.expr)
                    for e in node.indexIncludingParams or ()
                ),
                where=deparse_opt(node.whereClause),
                method=str(node.accessMethod or "btree").lower(),
                concurrently=bool(node.concurrent),
                if_not_exists=bool(node.if_not_exists),
                **kw,
            )]
        if isinstance(node, ast.DropStmt):
            return self.drop(node, loc)
        if isinstance(node, ast.RenameStmt):
            return self.rename(node, loc)
        if isinstance(node, ast.CreateSeqStmt | ast.AlterSeqStmt):
            return self.sequence(node, loc)
        if isinstance(node, ast.TruncateStmt):
            return [Truncate(
                tables=tuple(range_var_name(rv) for rv in node.relations or ()),
                cascade=node.behavior == enums.DropBehavior.DROP_CASCADE,
                **kw,
            )]
        if isinstance(node, ast.InsertStmt):
            return [DataChange(verb="insert", table=range_var_name(node.relation), has_where=True,
                               **kw)]
        if isinstance(node, ast.UpdateStmt):
            return [DataChange(
                verb="update", table=range_var_name(node.relation),
                has_where=not always_true(node.whereClause), **kw,
            )]
        if isinstance(node, ast.DeleteStmt):
            return [DataChange(
                verb="delete", table=range_var_name(node.relation),
                has_where=not always_true(node.whereClause), **kw,
            )]
        if isinstance(node, ast.DropdbStmt):
            return [DropDatabase(name=str(node.dbname), if_exists=bool(node.missing_ok),
                                 **kw)]
        if isinstance(node, ast.CreatePolicyStmt):
            schema, table = range_var(node.table)
            return [CreatePolicy(
                name=str(node.policy_name), table=table, schema=schema,
                command=str(node.cmd_name or "all").lower(),
                permissive=bool(node.permissive),
                roles=tuple(_role_name(r) for r in node.roles or ()) or ("public",),
                using=deparse_opt(node.qual),
                with_check=deparse_opt(node.with_check),
                **kw,
            )]
        if isinstance(node, ast.CreateEnumStmt):
            schema, name = split_names(name_list(node.typeName))
            return [CreateEnumType(
                name=name, schema=schema, values=tuple(name_list(node.vals)), **kw
            )]
        if isinstance(node, ast.AlterEnumStmt):
            schema, name = split_names(name_list(node.typeName))
            if node.oldVal:
                return [AlterEnumRenameValue(name=name, schema=schema, value=str(node.oldVal),
                                             new_value=str(node.newVal), **kw)]
            neighbor = node.newValNeighbor or None
            return [AlterEnumAddValue(
                name=name, schema=schema, value=str(node.newVal),
                before=None if node.newValIsAfter else neighbor,
                after=neighbor if node.newValIsAfter else None,
                if_not_exists=bool(node.skipIfNewValExists),
                **kw,
            )]
        if isinstance(node, ast.CreateSchemaStmt):
            ops: list[Operation] = [CreateSchema(
                name=str(node.schemaname or (node.authrole and node.authrole.rolename) or ""),
                if_not_exists=bool(node.if_not_exists), **kw,
            )]
            for element in node.schemaElts or ():
                ops.extend(self.statement(element, loc))
            return ops
        if isinstance(node, ast.DoStmt):
            return self.do_block(node, loc)
        into = getattr(node, "into", None) or getattr(node, "intoClause", None)
        if (isinstance(node, ast.CreateTableAsStmt | ast.SelectStmt) and into is not None
                and isinstance(getattr(into, "rel", None), ast.RangeVar)
                and getattr(node, "objtype", None) != enums.ObjectType.OBJECT_MATVIEW):
            # a table whose columns come from a query: its shape is not known statically
            return [Unresolved(reason="CREATE TABLE ... AS / SELECT INTO: the table's columns "
                                      "come from a query", table=range_var_name(into.rel),
                               **kw)]
        session = session_statement(node, kw)
        if session is not None:
            return session
        relation = getattr(node, "relation", None)
        other_table = range_var_name(relation) if isinstance(relation, ast.RangeVar) else None
        return [OtherStatement(statement=type(node).__name__, table=other_table, **kw)]

    # ------------------------------------------------------------------ CREATE TABLE

    def column(
        self, cd: Any, schema: str | None, table: str
    ) -> tuple[ColumnDef, list[ConstraintDef]]:
        name = str(cd.colname)
        names = name_list(cd.typeName.names) if cd.typeName is not None else []
        serial = len(names) == 1 and is_serial(names[0])
        column = ColumnDef(
            name=name,
            type=type_spelling(cd.typeName),
            nullable=not cd.is_not_null,
        )
        checks: list[str] = []
        constraints: list[ConstraintDef] = []
        ct = enums.ConstrType
        for con in cd.constraints or ():
            kind = con.contype
            if kind == ct.CONSTR_NOTNULL:
                column = dataclasses.replace(column, nullable=False)
            elif kind == ct.CONSTR_NULL:
                column = dataclasses.replace(column, nullable=True)
            elif kind == ct.CONSTR_DEFAULT:
                column = dataclasses.replace(column, default=deparse(con.raw_expr))
            elif kind == ct.CONSTR_IDENTITY:
                column = dataclasses.replace(column, identity=True, nullable=False)
            elif kind == ct.CONSTR_GENERATED:
                column = dataclasses.replace(column, generated=deparse(con.raw_expr))
            elif kind in (ct.CONSTR_ATTR_DEFERRABLE, ct.CONSTR_ATTR_DEFERRED,
                          ct.CONSTR_ATTR_NOT_DEFERRABLE):
                if constraints:
                    constraints[-1] = dataclasses.replace(
                        constraints[-1], deferrable=kind != ct.CONSTR_ATTR_NOT_DEFERRABLE
                    )
            else:
                made = self.constraint(con, (name,))
                if made is None:
                    continue
                constraints.append(made)
                if made.kind == "primary_key":
                    column = dataclasses.replace(column, primary_key=True, nullable=False)
                elif made.kind == "unique":
                    column = dataclasses.replace(column, unique=True)
                elif made.kind == "foreign_key":
                    column = dataclasses.replace(column, references=made.references)
                elif made.kind == "check" and made.expression is not None:
                    checks.append(made.expression)
        if checks:
            check = checks[0] if len(checks) == 1 else " AND ".join(f"({c})" for c in checks)
            column = dataclasses.replace(column, check=check)
        if serial:
            column = dataclasses.replace(
                column, nullable=False,
                default=column.default or serial_default(schema, table, name),
            )
        return column, constraints

    def constraint(self, con: Any, own_columns: tuple[str, ...] = ()) -> ConstraintDef | None:
        ct = enums.ConstrType
        kind = con.contype
        common: dict[str, Any] = {
            "name": con.conname or None,
            "not_valid": bool(con.skip_validation),
            "deferrable": bool(con.deferrable or con.initdeferred),
        }
        if kind in (ct.CONSTR_PRIMARY, ct.CONSTR_UNIQUE):
            return ConstraintDef(
                kind="primary_key" if kind == ct.CONSTR_PRIMARY else "unique",
                columns=tuple(name_list(con.keys)) or own_columns,
                using_index=con.indexname or None, **common
            )
        if kind == ct.CONSTR_FOREIGN:
            ref = ForeignKeyRef(
                table=range_var_name(con.pktable),
                columns=tuple(name_list(con.pk_attrs)),
                on_delete=FK_ACTIONS.get(str(con.fk_del_action or "")),
                on_update=FK_ACTIONS.get(str(con.fk_upd_action or "")),
            )
            return ConstraintDef(
                kind="foreign_key", columns=tuple(name_list(con.fk_attrs)) or own_columns,
                references=ref, **common,
            )
        if kind == ct.CONSTR_CHECK:
            found = value_set(con.raw_expr)
            return ConstraintDef(
                kind="check", columns=own_columns, expression=deparse(con.raw_expr),
                enum_column=found[0] if found else None,
                enum_values=found[1] if found else None,
                **common,
            )
        if kind == ct.CONSTR_EXCLUSION:
            parts, columns = [], []
            for elem, ops in con.exclusions or ():
                element = index_element(elem)
                columns.append(element.expression)
                key = element.expression if not element.is_expression else f"({element.expression})"
                parts.append(f"{key} WITH {'.'.join(name_list(ops))}")
            text = f"USING {con.access_method or 'btree'} ({', '.join(parts)})"
            if con.where_clause is not None:
                text += f" WHERE ({deparse(con.where_clause)})"
            return ConstraintDef(
                kind="exclude", columns=tuple(columns), expression=text, **common
            )
        return None

    def create_table(self, node: Any, loc: Location) -> list[Operation]:
        kw = self.kw(loc)
        schema, table = range_var(node.relation)
        columns: list[ColumnDef] = []
        constraints: list[ConstraintDef] = []
        extra: list[Operation] = []
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                column, cons = self.column(element, schema, table)
                columns.append(column)
                constraints.extend(cons)
            elif isinstance(element, ast.Constraint):
                made = self.constraint(element)
                if made is not None:
                    constraints.append(made)
            elif isinstance(element, ast.TableLikeClause):
                extra.append(Unresolved(
                    reason="CREATE TABLE ... (LIKE ...) copies columns from another table",
                    snippet=f"LIKE {range_var_name(element.relation)}",
                    table=qualified(schema, table), **kw,
                ))
        if node.inhRelations:
            how = "PARTITION OF" if node.partbound is not None else "INHERITS"
            extra.append(Unresolved(
                reason=f"CREATE TABLE ... {how} takes columns from another table",
                snippet=f"{how} {', '.join(range_var_name(r) for r in node.inhRelations)}",
                table=qualified(schema, table), **kw,
            ))
        pk_columns = {c for con in constraints if con.kind == "primary_key" for c in con.columns}
        columns = [
            dataclasses.replace(c, primary_key=True, nullable=False)
            if c.name in pk_columns else c
            for c in columns
        ]
        return [CreateTable(
            table=table, schema=schema, columns=tuple(columns),
            constraints=tuple(constraints), if_not_exists=bool(node.if_not_exists), **kw,
        ), *extra]

    # ------------------------------------------------------------------ ALTER TABLE

    def subcommand_locs(
        self, node: Any, end: int, offset: Callable[[int], int]
    ) -> list[Location] | None:
        """One location per subcommand: the text between top-level commas after the table
        name. None when that does not line up with the parsed subcommands."""
        cmds = node.cmds or ()
        if len(cmds) < 1 or node.relation is None or node.relation.location is None:
            return None
        text = self.text
        name_at = offset(int(node.relation.location))
        m = _QUALIFIED_NAME_RE.match(text, name_at, end)
        if m is None:
            return None
        pos = skip_ws_comments(text, m.end(), end)
        if text.startswith("*", pos):
            pos = skip_ws_comments(text, pos + 1, end)
        spans: list[tuple[int, int]] = []
        depth, piece = 0, pos
        for kind, s, e in events(text, pos, end, DETAIL_RE):
            if kind in ("(", "["):
                depth += 1
            elif kind in (")", "]"):
                depth = max(0, depth - 1)
            elif kind == "," and depth == 0:
                spans.append((piece, s))
                piece = e
        spans.append((piece, end))
        if len(spans) != len(cmds):
            return None
        locs = []
        for s, e in spans:
            first = skip_ws_comments(text, s, e)
            locs.append(self.loc(first, trim_end(text, first, e, self.comment_starts)))
        return locs

    def alter_table(
        self, node: Any, loc: Location, sub_locs: list[Location] | None
    ) -> list[Operation]:
        schema, table = range_var(node.relation)
        if node.objtype != enums.ObjectType.OBJECT_TABLE:
            detail = getattr(node.objtype, "name", str(node.objtype))
            return [OtherStatement(
                statement=f"AlterTableStmt({detail})", table=None, **self.kw(loc)
            )]
        ops: list[Operation] = []
        at = enums.AlterTableType
        for index, cmd in enumerate(node.cmds or ()):
            kw = self.kw(sub_locs[index] if sub_locs else loc)
            sub = cmd.subtype
            base: dict[str, Any] = {"table": table, "schema": schema, **kw}
            if sub == at.AT_AddColumn:
                column, cons = self.column(cmd.def_, schema, table)
                ops.append(AddColumn(column=column, if_not_exists=bool(cmd.missing_ok), **base))
                ops.extend(AddConstraint(constraint=c, **base) for c in cons)
            elif sub == at.AT_DropColumn:
                ops.append(DropColumn(
                    column=str(cmd.name), if_exists=bool(cmd.missing_ok),
                    cascade=cmd.behavior == enums.DropBehavior.DROP_CASCADE, **base,
                ))
            elif sub == at.AT_AlterColumnType:
                cd = cmd.def_
                ops.append(AlterColumnType(
                    column=str(cmd.name), new_type=type_spelling(cd.typeName),
                    using=deparse_opt(cd.raw_default), **base,
                ))
            elif sub in (at.AT_SetNotNull, at.AT_DropNotNull):
                ops.append(AlterColumnNullable(
                    column=str(cmd.name), nullable=sub == at.AT_DropNotNull, **base
                ))
            elif sub == at.AT_ColumnDefault:
                ops.append(AlterColumnDefault(
                    column=str(cmd.name), default=deparse_opt(cmd.def_), **base
                ))
            elif sub == at.AT_AddConstraint:
                made = self.constraint(cmd.def_)
                if made is None:
                    ops.append(OtherStatement(
                        statement="AlterTableStmt(AT_AddConstraint)",
                        table=qualified(schema, table), **kw,
                    ))
                else:
                    ops.append(AddConstraint(constraint=made, **base))
            elif sub == at.AT_DropConstraint:
                ops.append(DropConstraint(
                    name=str(cmd.name), if_exists=bool(cmd.missing_ok),
                    cascade=cmd.behavior == enums.DropBehavior.DROP_CASCADE, **base,
                ))
            elif sub == at.AT_ValidateConstraint:
                ops.append(ValidateConstraint(name=str(cmd.name), **base))
            elif sub == at.AT_EnableRowSecurity:
                ops.append(EnableRLS(**base))
            elif sub == at.AT_DisableRowSecurity:
                ops.append(DisableRLS(**base))
            elif sub == at.AT_ForceRowSecurity:
                ops.append(ForceRLS(**base))
            elif sub == at.AT_NoForceRowSecurity:
                ops.append(NoForceRLS(**base))
            elif (part := partition_command(sub, cmd, qualified(schema, table), kw)) is not None:
                ops.append(part)
            else:
                detail = getattr(sub, "name", str(sub))
                ops.append(OtherStatement(
                    statement=f"AlterTableStmt({detail})", table=qualified(schema, table), **kw
                ))
        return ops

    # ------------------------------------------------------------------ sequences

    def sequence(self, node: Any, loc: Location) -> list[Operation]:
        """``CREATE SEQUENCE`` and ``ALTER SEQUENCE ... OWNED BY``; an ``ALTER SEQUENCE``
        of anything else (``RESTART``, ``INCREMENT``) changes nothing b03lint models."""
        kw = self.kw(loc)
        schema, name = range_var(node.sequence)
        owned: list[str] = []
        for option in node.options or ():
            if option.defname == "owned_by":
                owned = name_list(option.arg)
        owner = None if owned in ([], ["none"]) else ".".join(
            owned[1:] if len(owned) == 3 and owned[0] == "public" else owned)
        if isinstance(node, ast.CreateSeqStmt):
            return [CreateSequence(name=name, schema=schema, owned_by=owner,
                                   if_not_exists=bool(node.if_not_exists), **kw)]
        if owned:
            return [AlterSequenceOwner(name=name, schema=schema, owned_by=owner, **kw)]
        return [OtherStatement(statement="AlterSeqStmt", **kw)]

    # ------------------------------------------------------------------ DROP / RENAME

    def drop(self, node: Any, loc: Location) -> list[Operation]:
        kw = self.kw(loc)
        ot = enums.ObjectType
        kind = node.removeType
        if_exists = bool(node.missing_ok)
        cascade = node.behavior == enums.DropBehavior.DROP_CASCADE
        ops: list[Operation] = []
        for obj in node.objects or ():
            if kind == ot.OBJECT_TYPE:
                names = name_list(obj.names) if isinstance(obj, ast.TypeName) else name_list(obj)
            elif isinstance(obj, (tuple, list)):
                names = name_list(obj)
            else:
                names = [string_value(obj)]
            if kind == ot.OBJECT_TABLE:
                schema, name = split_names(names)
                ops.append(DropTable(
                    table=name, schema=schema, if_exists=if_exists, cascade=cascade, **kw
                ))
            elif kind == ot.OBJECT_INDEX:
                schema, name = split_names(names)
                ops.append(DropIndex(
                    name=name, schema=schema, concurrently=bool(node.concurrent),
                    if_exists=if_exists, cascade=cascade, **kw,
                ))
            elif kind == ot.OBJECT_SCHEMA:
                ops.append(DropSchema(name=names[-1], if_exists=if_exists, cascade=cascade, **kw))
            elif kind == ot.OBJECT_TYPE:
                schema, name = split_names(names)
                ops.append(DropType(
                    name=name, schema=schema, if_exists=if_exists, cascade=cascade, **kw
                ))
            elif kind == ot.OBJECT_SEQUENCE:
                schema, name = split_names(names)
                ops.append(DropSequence(
                    name=name, schema=schema, if_exists=if_exists, cascade=cascade, **kw
                ))
            elif kind == ot.OBJECT_POLICY:
                schema, table = split_names(names[:-1])
                ops.append(DropPolicy(
                    name=names[-1], table=table, schema=schema, if_exists=if_exists, **kw
                ))
        if ops:
            return ops
        detail = getattr(kind, "name", str(kind))
        owner: str | None = None
        if kind in (ot.OBJECT_TRIGGER, ot.OBJECT_RULE) and node.objects:
            names = name_list(node.objects[0])
            if len(names) >= 2:
                schema, bare = split_names(names[:-1])
                owner = qualified(schema, bare)
        return [OtherStatement(statement=f"DropStmt({detail})", table=owner, **kw)]

    def rename(self, node: Any, loc: Location) -> list[Operation]:
        kw = self.kw(loc)
        ot = enums.ObjectType
        kind = node.renameType
        schema, name = range_var(node.relation)
        new_name = str(node.newname)
        if kind == ot.OBJECT_TABLE:
            return [RenameTable(table=name, new_name=new_name, schema=schema, **kw)]
        if kind == ot.OBJECT_COLUMN and node.relationType == ot.OBJECT_TABLE:
            return [RenameColumn(
                table=name, column=str(node.subname), new_name=new_name, schema=schema, **kw
            )]
        if kind == ot.OBJECT_INDEX:
            return [RenameIndex(name=name, new_name=new_name, schema=schema, **kw)]
        if kind in (ot.OBJECT_TYPE, ot.OBJECT_DOMAIN) and node.object is not None:
            type_schema, type_name = split_names(name_list(node.object))
            return [RenameType(name=type_name, new_name=new_name, schema=type_schema, **kw)]
        if kind == ot.OBJECT_SEQUENCE:
            return [RenameSequence(name=name, new_name=new_name, schema=schema, **kw)]
        if kind == ot.OBJECT_TABCONSTRAINT:
            return [RenameConstraint(
                table=name, name=str(node.subname), new_name=new_name, schema=schema, **kw
            )]
        detail = getattr(kind, "name", str(kind))
        table = qualified(schema, name) if node.relation is not None else None
        return [OtherStatement(statement=f"RenameStmt({detail})", table=table, **kw)]
