"""Operations of the widely used Alembic extensions, read like Alembic's own.

``alembic_utils`` registers ``op.create_entity`` / ``op.replace_entity`` /
``op.drop_entity`` for database objects declared in Python (``PGFunction``, ``PGProcedure``,
``PGView``, ``PGMaterializedView``, ``PGTrigger``, ``PGPolicy``, ``PGExtension``,
``PGGrantTable``): each runs the SQL the entity renders, which is read here as that SQL, so
a policy created this way is a ``CreatePolicy`` for the row-level-security contract.

``alembic-postgresql-enum`` registers ``op.sync_enum_values``: it renames the type to
``<name>_old``, creates the type with the new values, converts each affected column with
``USING column::text::<type>`` (renamed values mapped), and drops the old type. Those are
the operations read, in that order: what PostgreSQL receives.
"""

from __future__ import annotations

import ast
from typing import Protocol

from b03lint.operations import (
    AlterColumnDefault,
    AlterColumnType,
    CreateEnumType,
    DropType,
    Operation,
    RenameType,
)
from b03lint.readers.python.emit import Bound, Emit, Unreadable, op_fields
from b03lint.readers.python.source import Pos
from b03lint.readers.python.text import FixedText
from b03lint.readers.python.values import MISSING, Entity, Env, Seq, qual_of, text_of

#: the top-level modules whose objects are read as entities
EXTENSION_MODULES = frozenset({"alembic_utils", "alembic_postgresql_enum"})

#: each entity class and its positional parameters, in order
ENTITY_PARAMS: dict[str, tuple[str, ...]] = {
    "PGFunction": ("schema", "signature", "definition"),
    "PGProcedure": ("schema", "signature", "definition"),
    "PGView": ("schema", "signature", "definition"),
    "PGMaterializedView": ("schema", "signature", "definition", "with_data"),
    "PGTrigger": ("schema", "signature", "on_entity", "definition", "is_constraint"),
    "PGPolicy": ("schema", "signature", "definition", "on_entity"),
    "PGExtension": ("schema", "signature"),
    "PGGrantTable": ("schema", "table", "role", "grant", "columns", "with_grant_option"),
    "TableReference": ("table_name", "column_name", "table_schema", "column_type",
                       "existing_server_default"),
}


class SqlRunner(Protocol):
    def run(self, value: object, node: ast.expr | None, emit: Emit,
            driver: bool = False) -> None: ...


class Ops(Protocol):
    """What the builders here use of :class:`~b03lint.readers.python.alembic_ops.AlembicOps`."""

    @property
    def sql(self) -> SqlRunner: ...

    def required_text(self, bound: Bound, param: str, what: str,
                      table: str | None = None) -> str: ...

    def flag(self, bound: Bound, param: str, emit: Emit) -> bool: ...


def _quoted(name: str) -> str:
    return name if name.startswith('"') else '"' + name.replace('"', '""') + '"'


def _text(entity: Entity, name: str) -> str:
    value = text_of(entity.get(name))
    if value is None:
        raise Unreadable(f"the `{name}` of the `{entity.kind}` is not known statically")
    return value


def entity_sql(entity: Entity, action: str, cascade: bool = False) -> list[str]:
    """The statements alembic_utils sends for ``action`` (``create``, ``replace``,
    ``drop``) of ``entity``; raises :class:`Unreadable` for what it cannot render."""
    kind = entity.kind
    schema = _quoted(_text(entity, "schema"))
    tail = " CASCADE" if cascade else ""
    if kind in ("PGFunction", "PGProcedure"):
        word = "FUNCTION" if kind == "PGFunction" else "PROCEDURE"
        signature = _text(entity, "signature")
        name, _, rest = signature.partition("(")
        quoted = f"{_quoted(name.strip())}({rest}"
        if action == "drop":
            params = ", ".join(p.split(" default ")[0].split(" DEFAULT ")[0].strip()
                               for p in rest.rsplit(")", 1)[0].split(",") if p.strip())
            return [f"DROP {word} {schema}.{_quoted(name.strip())}({params}){tail}"]
        create = "CREATE OR REPLACE" if action == "replace" else "CREATE"
        return [f"{create} {word} {schema}.{quoted} {_text(entity, 'definition')}"]
    if kind in ("PGView", "PGMaterializedView"):
        word = "VIEW" if kind == "PGView" else "MATERIALIZED VIEW"
        name = f"{schema}.{_quoted(_text(entity, 'signature'))}"
        drop = f"DROP {word} {name}{tail}"
        if action == "drop":
            return [drop]
        definition = _text(entity, "definition").rstrip().rstrip(";")
        data = ""
        if kind == "PGMaterializedView":
            data = " WITH DATA" if entity.get("with_data", True) is not False else " WITH NO DATA"
        create = f"CREATE {word} {name} AS {definition}{data}"
        if action == "replace":
            if kind == "PGView":
                return [f"CREATE OR REPLACE VIEW {name} AS {definition}"]
            return [f"DROP {word} IF EXISTS {name}", create]
        return [create]
    if kind in ("PGPolicy", "PGTrigger"):
        on = _text(entity, "on_entity")
        if "." not in on:
            on = f"{_text(entity, 'schema')}.{on}"
        signature = _text(entity, "signature")
        if kind == "PGPolicy":
            drop = f"DROP POLICY {signature} ON {on}{tail}"
            create = f"CREATE POLICY {signature} ON {on} {_text(entity, 'definition')}"
            exists = f"DROP POLICY IF EXISTS {signature} ON {on}"
        else:
            drop = f"DROP TRIGGER {_quoted(signature)} ON {on}{tail}"
            constraint = " CONSTRAINT" if entity.get("is_constraint") is True else ""
            create = f"CREATE{constraint} TRIGGER {_quoted(signature)} {_text(entity, 'definition')}"
            exists = f"DROP TRIGGER IF EXISTS {_quoted(signature)} ON {on}"
        return {"drop": [drop], "replace": [exists, create]}.get(action, [create])
    if kind == "PGExtension":
        name = _quoted(_text(entity, "signature"))
        if action == "drop":
            return [f"DROP EXTENSION {name}{tail}"]
        if action == "replace":
            raise Unreadable("alembic_utils cannot replace a `PGExtension`")
        return [f"CREATE EXTENSION {name} WITH SCHEMA {schema}"]
    if kind == "PGGrantTable":
        table = f"{schema}.{_quoted(_text(entity, 'table'))}"
        role = _quoted(_text(entity, "role"))
        grant = _text(entity, "grant").upper()
        columns = entity.get("columns")
        listed = ""
        if isinstance(columns, Seq) and columns.items:
            names = [text_of(c) for c in columns.items]
            if any(n is None for n in names):
                raise Unreadable("the `columns` of the `PGGrantTable` are not known statically")
            listed = f" ( {', '.join(sorted(n for n in names if n is not None))} )"
        option = " WITH GRANT OPTION" if entity.get("with_grant_option") is True else ""
        revoke = f"REVOKE {grant} ON {table} FROM {role}"
        create = f"GRANT {grant}{listed} ON {table} TO {role}{option}"
        return {"drop": [revoke], "replace": [revoke, create]}.get(action, [create])
    raise Unreadable(f"a `{kind}` is not an entity b03lint reads")


def _entity(ops: Ops, bound: Bound, emit: Emit, action: str) -> None:
    entity = bound.get("entity")
    if not isinstance(entity, Entity) or entity.kind not in ENTITY_PARAMS:
        raise Unreadable("the entity is not an alembic_utils entity known statically")
    cascade = ops.flag(bound, "cascade", emit)
    at: Pos = (emit.loc.line, emit.loc.column)
    for statement in entity_sql(entity, action, cascade):
        ops.sql.run(FixedText(statement, at), None, emit)


def create_entity(ops: Ops, bound: Bound, env: Env, emit: Emit) -> None:
    _entity(ops, bound, emit, "create")


def replace_entity(ops: Ops, bound: Bound, env: Env, emit: Emit) -> None:
    _entity(ops, bound, emit, "replace")


def drop_entity(ops: Ops, bound: Bound, env: Env, emit: Emit) -> None:
    _entity(ops, bound, emit, "drop")


def sync_enum_values(ops: Ops, bound: Bound, env: Env, emit: Emit) -> None:
    """``op.sync_enum_values(enum_schema, enum_name, new_values, affected_columns,
    enum_values_to_rename=[])`` as the operations alembic-postgresql-enum runs."""
    schema = ops.required_text(bound, "enum_schema", "the enum schema")
    name = ops.required_text(bound, "enum_name", "the enum name")
    values = _texts(bound.get("new_values", MISSING), "the new values")
    renames: list[tuple[str, str]] = []
    given = bound.get("enum_values_to_rename", None)
    if given is not None:
        pairs = given.items if isinstance(given, Seq) else None
        if pairs is None:
            raise Unreadable("`enum_values_to_rename` is not known statically")
        for pair in pairs:
            old_new = _texts(pair, "a value to rename")
            if len(old_new) != 2:
                raise Unreadable("`enum_values_to_rename` is not pairs of values")
            renames.append((old_new[0], old_new[1]))
    columns = bound.get("affected_columns", MISSING)
    if not isinstance(columns, Seq):
        raise Unreadable("the affected columns are not known statically")
    where = None if schema == "public" else schema
    qualified = name if where is None else f"{schema}.{name}"
    base = op_fields(emit)
    out: list[Operation] = [
        RenameType(**base, name=name, new_name=f"{name}_old", schema=where),  # type: ignore[arg-type]
        CreateEnumType(**base, name=name, values=tuple(values), schema=where),  # type: ignore[arg-type]
    ]
    for column in columns.items:
        table, column_name, table_schema, is_array, default = _affected(column, schema)
        cast = f"{column_name}::text[]" if is_array else f"{column_name}::text"
        if renames and not is_array:
            cases = " ".join(f"WHEN '{o}' THEN '{n}'" for o, n in renames)
            cast = f"(CASE {column_name}::text {cases} ELSE {column_name}::text END)"
        new_type = qualified + ("[]" if is_array else "")
        owner = None if table_schema == "public" else table_schema
        if default is not None:
            out.append(AlterColumnDefault(**base, table=table, column=column_name,  # type: ignore[arg-type]
                                          default=None, schema=owner))
        out.append(AlterColumnType(**base, table=table, column=column_name,  # type: ignore[arg-type]
                                   new_type=new_type, using=f"{cast}::{new_type}", schema=owner))
        if default is not None:
            for o, n in renames:
                default = default.replace(f"'{o}'", f"'{n}'")
            out.append(AlterColumnDefault(**base, table=table, column=column_name,  # type: ignore[arg-type]
                                          default=default, schema=owner))
    out.append(DropType(**base, name=f"{name}_old", schema=where))  # type: ignore[arg-type]
    if len({getattr(o, "table", None) for o in out} - {None}) == 1:
        emit.table = next(o.table_name for o in out if o.table_name)
    emit.out.extend(out)


def _texts(value: object, what: str) -> list[str]:
    items = value.items if isinstance(value, Seq) else None
    texts = [text_of(v) for v in items] if items is not None else None
    if texts is None or any(t is None for t in texts):
        raise Unreadable(f"{what} are not known statically")
    return [t for t in texts if t is not None]


def _affected(column: object, schema: str) -> tuple[str, str, str, bool, str | None]:
    """(table, column, table schema, is an array, existing server default) of one
    affected column: a ``TableReference`` or an old-style ``(table, column)`` tuple."""
    if isinstance(column, Entity) and column.kind == "TableReference":
        table, name = text_of(column.get("table_name")), text_of(column.get("column_name"))
        table_schema = text_of(column.get("table_schema")) or schema
        kind = qual_of(column.get("column_type"))
        is_array = kind is not None and kind.endswith(".ARRAY")
        default = text_of(column.get("existing_server_default"))
    elif isinstance(column, Seq) and len(column.items) >= 2:
        table, name = text_of(column.items[0]), text_of(column.items[1])
        table_schema, is_array, default = schema, False, None
    else:
        raise Unreadable("an affected column is not known statically")
    if table is None or name is None:
        raise Unreadable("an affected column is not known statically")
    return table, name, table_schema, is_array, default
