"""The safe rewrite of an operation, in Alembic's Python form, for the lock rules' fixes.

Each function takes the operation as b03lint read it (from Python or SQL alike) and
returns the code to write instead, with the names of the migration: what squawk says in
prose, written out. Nothing here reads the schema; the rules pass what they know.
"""

from __future__ import annotations

import json
import re

from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterEnumAddValue,
    ColumnDef,
    CreateIndex,
    DetachPartition,
    DropColumn,
    DropConstraint,
    DropDatabase,
    DropIndex,
    DropTable,
    DropType,
    Operation,
    Reindex,
    Vacuum,
)

AUTOCOMMIT = "with op.get_context().autocommit_block():"
LATER = "# in a later revision (its own transaction):"


def q(text: str) -> str:
    """A Python string literal (double quotes, as Alembic's templates write them)."""
    return json.dumps(text, ensure_ascii=False)


def indent(code: str, by: str = "    ") -> str:
    return "\n".join(by + line if line else line for line in code.splitlines())


def in_autocommit(code: str) -> str:
    return f"{AUTOCOMMIT}\n{indent(code)}"


def execute(sql: str) -> str:
    return f"op.execute({q(sql)})"


_SA_TYPES = {
    "text": "sa.Text()", "integer": "sa.Integer()", "bigint": "sa.BigInteger()",
    "smallint": "sa.SmallInteger()", "boolean": "sa.Boolean()", "date": "sa.Date()",
    "timestamptz": "sa.DateTime(timezone=True)", "timestamp": "sa.DateTime()",
    "uuid": "sa.Uuid()", "jsonb": "postgresql.JSONB()", "json": "sa.JSON()",
    "double precision": "sa.Float()", "real": "sa.REAL()", "numeric": "sa.Numeric()",
    "interval": "sa.Interval()", "bytea": "sa.LargeBinary()", "time": "sa.Time()",
}
_SIZED = re.compile(r"^(varchar|char|numeric)\((\d+)(?:,(\d+))?\)$")


def sa_type(sql_type: str | None) -> str:
    """SQLAlchemy's spelling of a normalised type (``varchar(20)`` -> ``sa.String(20)``)."""
    if sql_type is None:
        return "sa.Text()  # its type"
    if sql_type in _SA_TYPES:
        return _SA_TYPES[sql_type]
    m = _SIZED.match(sql_type)
    if m:
        name = {"varchar": "sa.String", "char": "sa.CHAR", "numeric": "sa.Numeric"}[m[1]]
        return f"{name}({m[2]}{', ' + m[3] if m[3] else ''})"
    return f"sa.types.NullType()  # {sql_type}"


def column(col: ColumnDef, *, nullable: bool | None = None, default: bool = True) -> str:
    parts = [q(col.name), sa_type(col.type)]
    if default and col.default is not None:
        parts.append(f"server_default=sa.text({q(col.default)})")
    parts.append(f"nullable={col.nullable if nullable is None else nullable}")
    return f"sa.Column({', '.join(parts)})"


def index_columns(op: CreateIndex) -> str:
    items = [f"sa.text({q(e.expression)})" if e.is_expression else q(e.expression)
             for e in op.elements]
    return f"[{', '.join(items)}]"


def create_index(op: CreateIndex, *, concurrently: bool = True,
                 unique: bool | None = None, name: str | None = None) -> str:
    args = [q(name or op.name or f"ix_{op.table}"), q(op.table), index_columns(op)]
    if unique if unique is not None else op.unique:
        args.append("unique=True")
    if op.where:
        args.append(f"postgresql_where=sa.text({q(op.where)})")
    if op.include:
        args.append(f"postgresql_include={list(op.include)!r}".replace("'", '"'))
    if op.method != "btree":
        args.append(f"postgresql_using={q(op.method)}")
    if concurrently:
        args.append("postgresql_concurrently=True")
    return f"op.create_index({', '.join(args)})"


def drop_index(op: DropIndex, table: str | None) -> str:
    args = [q(op.name)] + ([f"table_name={q(table)}"] if table else [])
    return f"op.drop_index({', '.join([*args, 'postgresql_concurrently=True'])})"


def concurrent_form(op: Operation, table: str | None = None) -> str | None:
    """The operation with CONCURRENTLY, where PostgreSQL has a concurrent form."""
    if isinstance(op, CreateIndex):
        return create_index(op)
    if isinstance(op, DropIndex):
        return drop_index(op, table or op.table)
    if isinstance(op, Reindex) and op.target in ("index", "table"):
        return execute(f"REINDEX {op.target.upper()} CONCURRENTLY {op.name}")
    if isinstance(op, DetachPartition):
        return execute(f"ALTER TABLE {op.table} DETACH PARTITION {op.partition} CONCURRENTLY")
    return None


def as_written(op: Operation) -> str | None:
    """The operation in Python form, as it is, for moving it somewhere else."""
    if isinstance(op, CreateIndex):
        return create_index(op, concurrently=op.concurrently)
    if isinstance(op, DropIndex):
        args = [q(op.name)] + ([f"table_name={q(op.table)}"] if op.table else [])
        if op.concurrently:
            args.append("postgresql_concurrently=True")
        return f"op.drop_index({', '.join(args)})"
    if isinstance(op, Reindex):
        how = " CONCURRENTLY" if op.concurrently else ""
        return execute(f"REINDEX {op.target.upper()}{how} {op.name}")
    if isinstance(op, DetachPartition):
        how = " CONCURRENTLY" if op.concurrently else ""
        return execute(f"ALTER TABLE {op.table} DETACH PARTITION {op.partition}{how}")
    if isinstance(op, Vacuum):
        verb = "ANALYZE" if op.analyze_only else "VACUUM (FULL)" if op.full else "VACUUM"
        return execute(f"{verb} {', '.join(op.tables)}".rstrip())
    if isinstance(op, DropDatabase):
        return execute(f"DROP DATABASE {'IF EXISTS ' if op.if_exists else ''}{op.name}")
    if isinstance(op, AlterEnumAddValue):
        where = (f" BEFORE '{op.before}'" if op.before else
                 f" AFTER '{op.after}'" if op.after else "")
        return execute(f"ALTER TYPE {op.name} ADD VALUE IF NOT EXISTS '{op.value}'{where}")
    return None


def guarded(op: Operation) -> str | None:
    """The operation with ``IF [NOT] EXISTS`` (Alembic's ``if_exists=True`` /
    ``if_not_exists=True``), so that it can run twice; None when b03lint cannot write the
    whole call (a table's definition)."""
    if isinstance(op, CreateIndex):
        return create_index(op, concurrently=op.concurrently).removesuffix(")") + \
            ", if_not_exists=True)"
    if isinstance(op, DropIndex):
        if op.source == "sql":
            how = "CONCURRENTLY " if op.concurrently else ""
            return execute(f"DROP INDEX {how}IF EXISTS {op.name}")
        args = [q(op.name)] + ([f"table_name={q(op.table)}"] if op.table else [])
        args += ["postgresql_concurrently=True"] if op.concurrently else []
        return f"op.drop_index({', '.join([*args, 'if_exists=True'])})"
    if isinstance(op, AddColumn):
        return f"op.add_column({q(op.table)}, {column(op.column)}, if_not_exists=True)"
    if isinstance(op, DropColumn):
        return f"op.drop_column({q(op.table)}, {q(op.column)}, if_exists=True)"
    if isinstance(op, DropTable):
        return f"op.drop_table({q(op.table)}, if_exists=True)"
    if isinstance(op, DropConstraint):
        return f"op.drop_constraint({q(op.name)}, {q(op.table)}, if_exists=True)"
    if isinstance(op, DropType):
        return execute(f"DROP TYPE IF EXISTS {op.name}")
    return None


def not_valid_then_validate(op: AddConstraint) -> str:
    con = op.constraint
    name = con.name or f"{op.table}_{'_'.join(con.columns)}_{'fkey' if con.kind == 'foreign_key' else 'check'}"
    if con.kind == "foreign_key" and con.references is not None:
        add = (f"op.create_foreign_key({q(name)}, {q(op.table)}, {q(con.references.table)}, "
               f"{list(con.columns)!r}, {list(con.references.columns)!r}, "
               "postgresql_not_valid=True)").replace("'", '"')
    else:
        add = (f"op.create_check_constraint({q(name)}, {q(op.table)}, "
               f"{q(con.expression or '...')}, postgresql_not_valid=True)")
    return f"{add}\n{LATER}\n{execute(f'ALTER TABLE {op.table} VALIDATE CONSTRAINT {name}')}"


def set_not_null_safely(table: str, column: str) -> str:
    check = f"{table}_{column}_not_null"[:63]
    return "\n".join([
        f"op.create_check_constraint({q(check)}, {q(table)}, {q(f'{column} IS NOT NULL')}, "
        "postgresql_not_valid=True)",
        LATER,
        execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {check}"),
        f"op.alter_column({q(table)}, {q(column)}, nullable=False)  # no scan: the CHECK "
        "proves it",
        f"op.drop_constraint({q(check)}, {q(table)}, type_=\"check\")",
    ])


def backfill(table: str, col: ColumnDef) -> str:
    """The backfill of a new column's existing rows: its default, row by row (``SET col =
    DEFAULT`` computes a volatile default for each row)."""
    if col.generated is not None:
        return (execute(f"UPDATE {table} SET {col.name} = ({col.generated}) WHERE {col.name} "
                        "IS NULL") + "  # in batches; new rows by a trigger or the application")
    if col.default is None:
        return (f"# backfill {table}.{col.name} in batches of a few thousand rows: UPDATE "
                f"{table} SET {col.name} = <its value> WHERE {col.name} IS NULL")
    return (execute(f"UPDATE {table} SET {col.name} = DEFAULT WHERE {col.name} IS NULL")
            + "  # in batches on a large table")


def add_nullable_then_fill(op: AddColumn) -> str:
    """Add the column nullable (no rewrite), its default for new rows, backfill, and when it
    is to be NOT NULL: a CHECK added NOT VALID now, validated in a later revision, which
    lets SET NOT NULL skip its scan (PostgreSQL 12+)."""
    col = op.column
    lines = [f"op.add_column({q(op.table)}, {column(col, nullable=True, default=False)})"]
    if col.default is not None:
        lines.append(f"op.alter_column({q(op.table)}, {q(col.name)}, "
                     f"server_default=sa.text({q(col.default)}))  # new rows only")
    lines.append(backfill(op.table, col))
    if col.nullable:
        return "\n".join(lines)
    check = f"{op.table}_{col.name}_not_null"[:63]
    lines += [
        f"op.create_check_constraint({q(check)}, {q(op.table)}, "
        f"{q(f'{col.name} IS NOT NULL')}, postgresql_not_valid=True)",
        LATER,
        execute(f"ALTER TABLE {op.table} VALIDATE CONSTRAINT {check}"),
        f"op.alter_column({q(op.table)}, {q(col.name)}, nullable=False)  # no scan: the "
        "CHECK proves it",
        f"op.drop_constraint({q(check)}, {q(op.table)}, type_=\"check\")",
    ]
    return "\n".join(lines)


def unique_from_index(op: AddConstraint) -> str:
    con = op.constraint
    name = con.name or f"{op.table}_{'_'.join(con.columns)}_key"
    index = CreateIndex(loc=op.loc, name=name, table=op.table, elements=(), unique=True)
    cols = f"[{', '.join(q(c) for c in con.columns)}]"
    create = create_index(index).replace("[]", cols)
    kind = "PRIMARY KEY" if con.kind == "primary_key" else "UNIQUE"
    return (f"{in_autocommit(create)}\n"
            f"{execute(f'ALTER TABLE {op.table} ADD CONSTRAINT {name} {kind} USING INDEX {name}')}")


def timeout_first(parameter: str, value: str) -> str:
    return execute(f"SET {parameter} = '{value}'") + "  # first in upgrade()"
