"""The Alembic ``op`` / ``batch_op`` surface: one table (:data:`OPERATIONS`) from each
operation's name to its parameters and the builder that turns a bound call into
operations of the vocabulary.

A call is bound to the parameters Alembic declares (positional or keyword, ``*args`` and
``**kwargs`` of static values included); inside ``with op.batch_alter_table(t) as
batch_op:`` the table (and schema) come from the block. A builder raises
:class:`Unreadable` for a call it cannot read (the call is then one Unresolved marker) and
notes the arguments it could not read (each an Unresolved marker after the operations it
did read). Adding an operation: a builder method and one row in :data:`OPERATIONS`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterColumnDefault,
    AlterColumnNullable,
    AlterColumnType,
    ConstraintDef,
    ConstraintKind,
    CreateEnumType,
    CreateIndex,
    CreateTable,
    DataChange,
    Diagnostic,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropTable,
    ForeignKeyRef,
    Operation,
    OtherStatement,
    Phase,
    RenameColumn,
    RenameTable,
)
from b03lint.readers.python.constructs import (
    ColumnRead,
    Constructs,
    EnumInfo,
    action_text,
    replace_column,
)
from b03lint.readers.python.embedded_sql import EmbeddedSql, sql_text
from b03lint.readers.python.emit import Bound, Emit, Unreadable, op_fields, unresolved
from b03lint.readers.python.evaluator import Evaluator
from b03lint.readers.python.extensions import (
    create_entity,
    drop_entity,
    replace_entity,
    sync_enum_values,
)
from b03lint.readers.python.source import Source
from b03lint.readers.python.text import FixedText, Text
from b03lint.readers.python.values import (
    MISSING,
    UNKNOWN,
    Batch,
    Dict,
    Env,
    Node,
    Seq,
    Table,
    TextClause,
    last_part,
    text_of,
)

#: op.* names that do not change anything by themselves
OP_HARMLESS = frozenset(
    {"get_bind", "get_context", "f", "inline_literal", "implementation_for",
     "register_operation", "batch_alter_table"}
)
_DROP_KINDS: dict[str, ConstraintKind] = {
    "primary": "primary_key",
    "primary_key": "primary_key",
    "unique": "unique",
    "foreignkey": "foreign_key",
    "foreign_key": "foreign_key",
    "check": "check",
    "exclude": "exclude",
}

_TABLE_PARAMS = ("table_name", "source_table")


class AlembicOps:
    """The ``op.*`` / ``batch_op.*`` calls of one file."""

    def __init__(self, ev: Evaluator, sa: Constructs, sql: EmbeddedSql, src: Source,
                 diagnostics: list[Diagnostic]) -> None:
        self.ev = ev
        self.sa = sa
        self.sql = sql
        self.src = src
        self.diagnostics = diagnostics

    def bind(
        self, call: ast.Call, env: Env, params: tuple[str, ...], varargs: bool
    ) -> Bound:
        bound = Bound()
        positional: list[tuple[object, ast.expr]] = []
        for a in call.args:
            if isinstance(a, ast.Starred):
                value = self.ev.value(a.value, env)
                if isinstance(value, Seq):
                    positional.extend((item, a) for item in value.items)
                else:
                    bound.unknown.append(f"*{self.src.segment(a.value)}")
            else:
                positional.append((self.ev.value(a, env), a))
        for k, (value, node) in enumerate(positional):
            if k < len(params):
                bound.values[params[k]] = value
                bound.nodes[params[k]] = node
            elif varargs:
                bound.varargs.append(value)
            else:
                bound.unknown.append(self.src.segment(node))
        for kw in call.keywords:
            if kw.arg is None:
                value = self.ev.value(kw.value, env)
                if isinstance(value, Dict):
                    for k_value, v in value.items:
                        if isinstance(k_value, Text):
                            bound.values[k_value.text] = v
                            bound.nodes[k_value.text] = kw.value
                            continue
                        bound.unknown.append(f"**{self.src.segment(kw.value)}")
                else:
                    bound.unknown.append(f"**{self.src.segment(kw.value)}")
                continue
            bound.values[kw.arg] = self.ev.value(kw.value, env)
            bound.nodes[kw.arg] = kw.value
        return bound

    def call(
        self,
        name: str,
        call: ast.Call,
        env: Env,
        phase: Phase,
        out: list[Operation],
        batch: Batch | None,
    ) -> None:
        prefix = "batch_op" if batch is not None else "op"
        via = f"{prefix}.{name}"
        if name in OP_HARMLESS:
            return
        spec = OPERATIONS.get(name)
        if spec is None:
            unresolved(
                self.src, out, phase, call,
                f"`{via}` is not an operation b03lint understands; it may change the schema",
                table=batch.table if batch else None,
                via=via,
            )
            return
        params = spec.params
        if batch is not None:
            params = tuple(p for p in params if p not in _TABLE_PARAMS)
        bound = self.bind(call, env, params, spec.varargs)
        if batch is not None:
            for p in _TABLE_PARAMS:
                bound.values.setdefault(p, FixedText(batch.table, (0, 0)) if batch.table
                                        else UNKNOWN)
            bound.values.setdefault("schema", FixedText(batch.schema, (0, 0))
                                    if batch.schema else None)
            bound.values.setdefault("source_schema", bound.values["schema"])
        emit = Emit(out=out, phase=phase, via=via, loc=self.src.loc(call), node=call)
        before = len(out)
        try:
            spec.build(self, bound, env, emit)
        except Unreadable as exc:
            del out[before:]
            unresolved(self.src, out, phase, call, f"`{via}`: {exc.reason}", table=exc.table,
                       via=via, data=exc.data)
            return
        for what, node in emit.notes:
            unresolved(self.src, out, phase, node, f"`{via}`: {what}", table=emit.table, via=via)
        if bound.unknown:
            unresolved(
                self.src, out, phase, call,
                f"`{via}`: arguments not known statically: {', '.join(bound.unknown)}",
                table=emit.table,
                via=via,
            )

    # each builder reads a bound call; raises Unreadable for a call it cannot read

    def required_text(self, bound: Bound, param: str, what: str, table: str | None = None) -> str:
        value = bound.get(param, MISSING)
        text = text_of(value)
        if text is None:
            raise Unreadable(f"{what} is not known statically", table)
        return text

    def optional_text(self, bound: Bound, param: str, emit: Emit) -> str | None:
        value = bound.get(param)
        if value is None or value is MISSING:
            return None
        text = text_of(value)
        if text is None:
            emit.notes.append((f"`{param}` is not known statically", bound.nodes.get(param,
                                                                                     emit.node)))
        return text

    def flag(self, bound: Bound, param: str, emit: Emit) -> bool:
        value = bound.get(param)
        if value is None or value is MISSING:
            return False
        if isinstance(value, bool):
            return value
        emit.notes.append((f"`{param}` is not known statically", bound.nodes.get(param, emit.node)))
        return False


    def create_table(self, bound: Bound, env: Env, emit: Emit) -> None:
        table = self.required_text(bound, "table_name", "the table name")
        emit.table = table
        schema = self.optional_text(bound, "schema", emit)
        reads: list[ColumnRead] = []
        table_constraints: list[ConstraintDef] = []
        enums: list[EnumInfo] = []
        indexes: list[CreateIndex] = []
        for item in bound.varargs:
            if isinstance(item, Node):
                kind = last_part(item.qual)
                if kind == "Column":
                    read = self.sa.column(item, table, emit, enums, indexes, schema)
                    if read is not None:
                        reads.append(read)
                elif kind == "Index":
                    index = self.sa.table_index(item, table, schema, emit)
                    if index is not None:
                        indexes.append(index)
                else:
                    constraint = self.sa.constraint(item, emit)
                    if constraint is not None:
                        table_constraints.append(constraint)
                continue
            emit.notes.append(("a column or constraint argument is not known statically",
                               emit.node))
        # the same shape the SQL reader gives CREATE TABLE: every primary-key column is
        # primary_key and NOT NULL, and every constraint (column-level too) is listed
        pk_declared = [c for c in table_constraints if c.kind == "primary_key"]
        inline_pk = tuple(r.column.name for r in reads if r.column.primary_key)
        pk_columns = set(pk_declared[0].columns) if pk_declared else set(inline_pk)
        fk_columns = frozenset(n for c in table_constraints if c.kind == "foreign_key"
                               for n in c.columns)
        reads = self.sa.serial(reads, pk_columns, table, schema, fk_columns)
        columns = [
            replace_column(r.column, nullable=False, primary_key=True)
            if r.column.name in pk_columns else r.column
            for r in reads
        ]
        constraints: list[ConstraintDef] = []
        if inline_pk and not pk_declared:
            constraints.append(ConstraintDef(kind="primary_key", name=None, columns=inline_pk))
        for r in reads:
            constraints.extend(r.constraints)
        constraints.extend(table_constraints)
        base = op_fields(emit)
        self._emit_enums(enums, emit)
        emit.out.append(
            CreateTable(
                **base,  # type: ignore[arg-type]
                table=table,
                columns=tuple(columns),
                constraints=tuple(constraints),
                schema=schema,
                if_not_exists=self.flag(bound, "if_not_exists", emit),
            )
        )
        emit.out.extend(indexes)

    def _emit_enums(self, enums: list[EnumInfo], emit: Emit) -> None:
        seen: set[str] = set()
        for info in enums:
            if not info.create or info.name is None or info.name in seen:
                continue
            seen.add(info.name)
            if info.values is None:
                emit.notes.append((f"values of enum type `{info.name}` come from a Python "
                                   "class and are not read", info.node))
                continue
            emit.out.append(
                CreateEnumType(
                    loc=self.src.loc(info.node), phase=emit.phase, via=emit.via,
                    name=info.name, values=info.values, schema=info.schema,
                )
            )

    def drop_table(self, bound: Bound, env: Env, emit: Emit) -> None:
        table = self.required_text(bound, "table_name", "the table name")
        emit.table = table
        emit.out.append(
            DropTable(
                **op_fields(emit),  # type: ignore[arg-type]
                table=table,
                schema=self.optional_text(bound, "schema", emit),
                if_exists=self.flag(bound, "if_exists", emit),
            )
        )

    def rename_table(self, bound: Bound, env: Env, emit: Emit) -> None:
        table = self.required_text(bound, "old_table_name", "the table name")
        emit.table = table
        new = self.required_text(bound, "new_table_name", "the new table name", table)
        emit.out.append(
            RenameTable(
                **op_fields(emit),  # type: ignore[arg-type]
                table=table,
                new_name=new,
                schema=self.optional_text(bound, "schema", emit),
            )
        )

    def add_column(self, bound: Bound, env: Env, emit: Emit) -> None:
        table = self.required_text(bound, "table_name", "the table name")
        emit.table = table
        schema = self.optional_text(bound, "schema", emit)
        node = bound.get("column")
        if not isinstance(node, Node) or last_part(node.qual) != "Column":
            raise Unreadable("the column is not a `sa.Column(...)` known statically", table)
        enums: list[EnumInfo] = []
        indexes: list[CreateIndex] = []
        read = self.sa.column(node, table, emit, enums, indexes, schema)
        if read is None:
            raise Unreadable("the column could not be read", table)
        if read.column.primary_key:
            read = self.sa.serial([read], {read.column.name}, table, schema)[0]
        column = read.column
        # Alembic's add_column emits the column as SQLAlchemy specifies it (NOT NULL unless
        # nullable=True, SERIAL for an integer key) but never its PRIMARY KEY
        # (alembic/operations/toimpl.py skips the PrimaryKeyConstraint)
        if column.primary_key:
            column = replace_column(column, primary_key=False)
        # Alembic's add_column does not create enum types (CREATE TYPE must come first).
        # The replay derives unnamed constraints from the column; a named one is emitted
        # as its own AddConstraint (Alembic adds it with ALTER TABLE ... ADD CONSTRAINT).
        named = [c for c in read.constraints if c.name is not None]
        for c in named:
            if c.kind == "foreign_key":
                column = replace_column(column, references=None)
            elif c.kind == "check":
                column = replace_column(column, check=None)
        emit.out.append(
            AddColumn(
                **op_fields(emit),  # type: ignore[arg-type]
                table=table,
                column=column,
                schema=schema,
                if_not_exists=self.flag(bound, "if_not_exists", emit),
            )
        )
        for c in named:
            emit.out.append(AddConstraint(**op_fields(emit), table=table, constraint=c,  # type: ignore[arg-type]
                                          schema=schema))
        emit.out.extend(indexes)

    def drop_column(self, bound: Bound, env: Env, emit: Emit) -> None:
        table = self.required_text(bound, "table_name", "the table name")
        emit.table = table
        column = self.required_text(bound, "column_name", "the column name", table)
        emit.out.append(
            DropColumn(
                **op_fields(emit),  # type: ignore[arg-type]
                table=table,
                column=column,
                schema=self.optional_text(bound, "schema", emit),
                if_exists=self.flag(bound, "if_exists", emit),
            )
        )

    def alter_column(self, bound: Bound, env: Env, emit: Emit) -> None:
        table = self.required_text(bound, "table_name", "the table name")
        emit.table = table
        column = self.required_text(bound, "column_name", "the column name", table)
        schema = self.optional_text(bound, "schema", emit)
        base = op_fields(emit)
        produced = False
        # the order Alembic emits them in: TYPE, NULL, DEFAULT, ..., RENAME last
        type_value = bound.get("type_", None)
        if type_value is not None:
            new_type, enum, problem = self.sa.column_type(type_value)
            if problem:
                emit.notes.append((problem, bound.nodes.get("type_", emit.node)))
            using = bound.get("postgresql_using")
            using_text = text_of(using) if using is not None else None
            if using is not None and using_text is None:
                emit.notes.append(("`postgresql_using` is not known statically",
                                   bound.nodes.get("postgresql_using", emit.node)))
            del enum  # Alembic's alter_column does not create enum types
            existing = bound.get("existing_type", None)
            existing_type = self.sa.column_type(existing)[0] if existing is not None else None
            emit.out.append(AlterColumnType(**base, table=table, column=column,  # type: ignore[arg-type]
                                            new_type=new_type, using=using_text, schema=schema,
                                            existing_type=existing_type))
            produced = True
        nullable = bound.get("nullable", None)
        if nullable is not None:
            if isinstance(nullable, bool):
                emit.out.append(AlterColumnNullable(**base, table=table, column=column,  # type: ignore[arg-type]
                                                    nullable=nullable, schema=schema))
                produced = True
            else:
                emit.notes.append(("`nullable` is not known statically",
                                   bound.nodes.get("nullable", emit.node)))
        if "server_default" in bound.values:
            value = bound.values["server_default"]
            if value is not False:
                default, ok = self.sa.server_default(value)
                if ok:
                    emit.out.append(AlterColumnDefault(**base, table=table, column=column,  # type: ignore[arg-type]
                                                       default=default, schema=schema))
                    produced = True
                else:
                    emit.notes.append(("`server_default` is not known statically",
                                       bound.nodes.get("server_default", emit.node)))
        comment = bound.get("comment", False)
        if comment is not False and "comment" in bound.values:
            emit.out.append(OtherStatement(**base, statement="op.alter_column comment",  # type: ignore[arg-type]
                                           table=table))
            produced = True
        new_name_value = bound.get("new_column_name", None)
        if new_name_value is not None:
            new_name = text_of(new_name_value)
            if new_name is None:
                emit.notes.append(("`new_column_name` is not known statically",
                                   bound.nodes.get("new_column_name", emit.node)))
            else:
                emit.out.append(RenameColumn(**base, table=table, column=column,  # type: ignore[arg-type]
                                             new_name=new_name, schema=schema))
                produced = True
        if not produced and not emit.notes:
            emit.out.append(OtherStatement(**base, statement="op.alter_column", table=table))  # type: ignore[arg-type]

    def create_index(self, bound: Bound, env: Env, emit: Emit) -> None:
        table = self.required_text(bound, "table_name", "the table name")
        emit.table = table
        name_value = bound.get("index_name")
        name = text_of(name_value)
        if name_value is not None and name is None:
            raise Unreadable("the index name is not known statically", table)
        columns = bound.get("columns", MISSING)
        if isinstance(columns, (Text, TextClause, Node)):
            columns = Seq((columns,))
        if not isinstance(columns, Seq):
            raise Unreadable("the index columns are not known statically", table)
        index = self.sa.index(
            name, table, list(columns.items), bound.values,
            self.optional_text(bound, "schema", emit), emit,
        )
        emit.out.append(index)

    def drop_index(self, bound: Bound, env: Env, emit: Emit) -> None:
        name = self.required_text(bound, "index_name", "the index name")
        table = self.optional_text(bound, "table_name", emit)
        emit.table = table
        emit.out.append(
            DropIndex(
                **op_fields(emit),  # type: ignore[arg-type]
                name=name,
                table=table,
                concurrently=self.flag(bound, "postgresql_concurrently", emit),
                if_exists=self.flag(bound, "if_exists", emit),
                schema=self.optional_text(bound, "schema", emit),
            )
        )

    def _add_constraint(self, bound: Bound, emit: Emit, constraint: ConstraintDef,
                        table: str, schema_param: str = "schema") -> None:
        emit.out.append(
            AddConstraint(
                **op_fields(emit),  # type: ignore[arg-type]
                table=table,
                constraint=constraint,
                schema=self.optional_text(bound, schema_param, emit),
            )
        )

    def _constraint_name(self, bound: Bound, table: str | None) -> str | None:
        value = bound.get("constraint_name")
        if value is None:
            return None
        text = text_of(value)
        if text is None:
            raise Unreadable("the constraint name is not known statically", table)
        return text

    def create_primary_key(self, bound: Bound, env: Env, emit: Emit) -> None:
        self._key_constraint(bound, emit, "primary_key")

    def create_unique_constraint(self, bound: Bound, env: Env, emit: Emit) -> None:
        self._key_constraint(bound, emit, "unique")

    def _key_constraint(self, bound: Bound, emit: Emit, kind: ConstraintKind) -> None:
        table = self.required_text(bound, "table_name", "the table name")
        emit.table = table
        name = self._constraint_name(bound, table)
        columns = self.ev.names(bound.get("columns"))
        if columns is None:
            raise Unreadable("the constraint columns are not known statically", table)
        constraint = ConstraintDef(kind=kind, name=name, columns=columns,
                                   deferrable=self.flag(bound, "deferrable", emit))
        self._add_constraint(bound, emit, constraint, table)

    def create_foreign_key(self, bound: Bound, env: Env, emit: Emit) -> None:
        table = self.required_text(bound, "source_table", "the table name")
        emit.table = table
        name = self._constraint_name(bound, table)
        referent = self.required_text(bound, "referent_table", "the referenced table", table)
        local = self.ev.names(bound.get("local_cols"))
        remote = self.ev.names(bound.get("remote_cols"))
        if local is None or remote is None:
            raise Unreadable("the foreign key columns are not known statically", table)
        referent_schema = self.optional_text(bound, "referent_schema", emit)
        ref = ForeignKeyRef(
            table=f"{referent_schema}.{referent}"
            if referent_schema and referent_schema != "public" else referent,
            columns=remote,
            on_delete=action_text(self.optional_text(bound, "ondelete", emit)),
            on_update=action_text(self.optional_text(bound, "onupdate", emit)),
        )
        constraint = ConstraintDef(kind="foreign_key", name=name, columns=local, references=ref,
                                   deferrable=self.flag(bound, "deferrable", emit),
                                   not_valid=self.flag(bound, "postgresql_not_valid", emit))
        self._add_constraint(bound, emit, constraint, table, "source_schema")

    def create_check_constraint(self, bound: Bound, env: Env, emit: Emit) -> None:
        table = self.required_text(bound, "table_name", "the table name")
        emit.table = table
        name = self._constraint_name(bound, table)
        condition = sql_text(bound.get("condition"))
        if condition is None:
            raise Unreadable("the CHECK condition is not SQL text known statically", table)
        check = self.sql.check(name, condition)
        if self.flag(bound, "postgresql_not_valid", emit):
            check = replace(check, not_valid=True)
        self._add_constraint(bound, emit, check, table)

    def create_exclude_constraint(self, bound: Bound, env: Env, emit: Emit) -> None:
        table = self.required_text(bound, "table_name", "the table name")
        emit.table = table
        name = self._constraint_name(bound, table)
        columns: list[str] = []
        for element in bound.varargs:
            first = element.items[0] if isinstance(element, Seq) and element.items else element
            column = self.ev.column_name(first)
            if column is None and isinstance(first, TextClause):
                column = first.text.text
            if column is None:
                emit.notes.append(("an EXCLUDE element is not known statically", emit.node))
                continue
            columns.append(column)
        where = bound.get("where")
        where_text = sql_text(where) if where is not None else None
        self._add_constraint(
            bound, emit,
            ConstraintDef(kind="exclude", name=name, columns=tuple(columns), expression=where_text,
                          deferrable=self.flag(bound, "deferrable", emit)),
            table,
        )

    def drop_constraint(self, bound: Bound, env: Env, emit: Emit) -> None:
        table = self.required_text(bound, "table_name", "the table name")
        emit.table = table
        type_text = self.optional_text(bound, "type_", emit)
        if "constraint_name" in bound.values and bound.values["constraint_name"] is None:
            # what autogenerate writes for an unnamed constraint: Alembic refuses to run it
            function = "downgrade()" if emit.phase == "downgrade" else "upgrade()"
            what = f"{type_text} constraint" if type_text else "constraint"
            self.diagnostics.append(Diagnostic(
                code="I007", loc=emit.loc, object=table,
                severity="warning" if emit.phase == "downgrade" else "blocking",
                message=f"`{emit.via}(None, ...)` cannot run: Alembic needs the {what}'s name "
                        f"to drop it, so this {function} fails. Write the name PostgreSQL "
                        f"gave it (by default `{_default_name(table, type_text)}`)."))
            return
        name = self.required_text(bound, "constraint_name", "the constraint name", table)
        kind = _DROP_KINDS.get(type_text.lower()) if type_text else None
        emit.out.append(
            DropConstraint(
                **op_fields(emit),  # type: ignore[arg-type]
                table=table,
                name=name,
                constraint_kind=kind,
                if_exists=self.flag(bound, "if_exists", emit),
                schema=self.optional_text(bound, "schema", emit),
            )
        )

    def table_comment(self, bound: Bound, env: Env, emit: Emit) -> None:
        table = self.required_text(bound, "table_name", "the table name")
        emit.table = table
        emit.out.append(OtherStatement(**op_fields(emit), statement=emit.via, table=table))  # type: ignore[arg-type]

    def bulk_insert(self, bound: Bound, env: Env, emit: Emit) -> None:
        target = bound.get("table")
        if not isinstance(target, Table) or target.name is None:
            raise Unreadable("the table is not a `sa.table(...)` known statically")
        emit.table = target.name
        emit.out.append(DataChange(**op_fields(emit), verb="insert", table=target.name))  # type: ignore[arg-type]

    def execute(self, bound: Bound, env: Env, emit: Emit) -> None:
        self.sql.run(bound.get("sqltext", MISSING), bound.nodes.get("sqltext"), emit)

    def connection_execute(
        self, call: ast.Call, env: Env, phase: Phase, out: list[Operation], via: str
    ) -> None:
        """``conn.execute(...)`` / ``conn.exec_driver_sql(...)``."""
        bound = self.bind(call, env, ("statement", "parameters"), False)
        bound.unknown.clear()  # extra run-time parameters do not change the SQL
        emit = Emit(out=out, phase=phase, via=via, loc=self.src.loc(call), node=call)
        value = bound.get("statement", MISSING)
        if value is MISSING:
            value = bound.get("sqltext", MISSING)
        before = len(out)
        try:
            self.sql.run(value, bound.nodes.get("statement"), emit, driver=True)
        except Unreadable as exc:
            del out[before:]
            unresolved(self.src, out, phase, call, f"`{via}`: {exc.reason}", table=exc.table,
                       via=via, data=exc.data)


def _default_name(table: str, type_text: str | None) -> str:
    """How PostgreSQL names an unnamed constraint of this kind (the columns are unknown)."""
    kind = _DROP_KINDS.get(type_text.lower()) if type_text else None
    return {"primary_key": f"{table}_pkey", "foreign_key": f"{table}_<column>_fkey",
            "unique": f"{table}_<columns>_key", "check": f"{table}_<column>_check",
            "exclude": f"{table}_<columns>_excl"}.get(kind or "", f"{table}_<...>")


class OpSpec(NamedTuple):
    """One operation of the surface: its positional parameters in Alembic's table-first
    form (a ``batch_op`` call drops the table parameters), whether it takes ``*args``,
    and the builder that reads a bound call."""

    params: tuple[str, ...]
    varargs: bool
    build: Callable[[AlembicOps, Bound, Env, Emit], None]


#: every ``op.<name>`` / ``batch_op.<name>`` that b03lint reads; any other name is
#: reported as an operation it does not understand
OPERATIONS: dict[str, OpSpec] = {
    "create_table": OpSpec(("table_name",), True, AlembicOps.create_table),
    "drop_table": OpSpec(("table_name",), False, AlembicOps.drop_table),
    "rename_table": OpSpec(("old_table_name", "new_table_name"), False,
                           AlembicOps.rename_table),
    "add_column": OpSpec(("table_name", "column"), False, AlembicOps.add_column),
    "drop_column": OpSpec(("table_name", "column_name"), False, AlembicOps.drop_column),
    "alter_column": OpSpec(("table_name", "column_name"), False, AlembicOps.alter_column),
    "create_index": OpSpec(("index_name", "table_name", "columns"), False,
                           AlembicOps.create_index),
    "drop_index": OpSpec(("index_name", "table_name"), False, AlembicOps.drop_index),
    "create_primary_key": OpSpec(("constraint_name", "table_name", "columns"), False,
                                 AlembicOps.create_primary_key),
    "create_unique_constraint": OpSpec(("constraint_name", "table_name", "columns"), False,
                                       AlembicOps.create_unique_constraint),
    "create_foreign_key": OpSpec(
        ("constraint_name", "source_table", "referent_table", "local_cols", "remote_cols"),
        False, AlembicOps.create_foreign_key),
    "create_check_constraint": OpSpec(("constraint_name", "table_name", "condition"), False,
                                      AlembicOps.create_check_constraint),
    "drop_constraint": OpSpec(("constraint_name", "table_name", "type_"), False,
                              AlembicOps.drop_constraint),
    "create_exclude_constraint": OpSpec(("constraint_name", "table_name"), True,
                                        AlembicOps.create_exclude_constraint),
    "execute": OpSpec(("sqltext",), False, AlembicOps.execute),
    "bulk_insert": OpSpec(("table", "rows", "multiinsert"), False, AlembicOps.bulk_insert),
    "create_table_comment": OpSpec(("table_name", "comment"), False, AlembicOps.table_comment),
    "drop_table_comment": OpSpec(("table_name",), False, AlembicOps.table_comment),
    # alembic_utils
    "create_entity": OpSpec(("entity",), False, create_entity),
    "replace_entity": OpSpec(("entity",), False, replace_entity),
    "drop_entity": OpSpec(("entity", "cascade"), False, drop_entity),
    # alembic-postgresql-enum
    "sync_enum_values": OpSpec(("enum_schema", "enum_name", "new_values", "affected_columns",
                                "enum_values_to_rename"), False, sync_enum_values),
}
