"""Type conventions for new columns (opt-in: ``extend_select = ["conventions"]``): the
choices that cost a rewrite or an outage later, when the table is large. Each looks at the
columns a migration creates (``CREATE TABLE``, ``ADD COLUMN``) or the type it changes a
column to, from Python and SQL alike; existing columns are never reported again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import ClassVar

from b03lint.findings import Finding
from b03lint.operations import (
    AddColumn,
    AlterColumnType,
    ColumnDef,
    CreateTable,
    Operation,
)
from b03lint.rules import lockfix
from b03lint.rules.base import Example, FileContext, Rule

_HEAD = '''"""create things"""
from alembic import op
import sqlalchemy as sa

revision = "c1"
down_revision = None


def upgrade():
'''
_LINE = _HEAD.count("\n") + 1


def _mig(body: str) -> Example:
    return Example(_HEAD + body + "\n\n\ndef downgrade():\n    pass\n", line=_LINE)


def _columns(op: Operation) -> Iterator[tuple[str, ColumnDef | None, str | None, bool]]:
    """(table, column, type, is_key) of the columns ``op`` creates or retypes."""
    if isinstance(op, CreateTable):
        keys = {c for con in op.constraints if con.kind == "primary_key" for c in con.columns}
        for col in op.columns:
            yield op.table, col, col.type, col.primary_key or col.name in keys
    elif isinstance(op, AddColumn):
        yield op.table, op.column, op.column.type, op.column.primary_key
    elif isinstance(op, AlterColumnType):
        yield op.table, None, op.new_type, False


class ConventionRule(Rule):
    category: ClassVar[str] = "conventions"
    default_enabled: ClassVar[bool] = False
    default_severity = "warning"
    operation_kinds: ClassVar[frozenset[str]] = frozenset(
        {CreateTable.kind, AddColumn.kind, AlterColumnType.kind})

    def check_operation(self, op: Operation, ctx: FileContext) -> Iterable[Finding]:
        for table, col, sql_type, key in _columns(op):
            name = col.name if col is not None else getattr(op, "column", "?")
            found = self.problem(col, sql_type, key)
            if found is not None:
                message, fix = found
                yield self.finding(op.loc, f"{table}.{name}: {message}",
                                   object=f"{table}.{name}", fix=fix)

    def problem(self, col: ColumnDef | None, sql_type: str | None,
                key: bool) -> tuple[str, str] | None:
        raise NotImplementedError


class CharType(ConventionRule):
    """
    What it does:
        Flags ``char(n)`` / ``character(n)`` columns (``sa.CHAR``).

    Why it matters:
        ``char(n)`` pads every value with spaces to ``n`` characters, compares with the
        padding ignored, and is no faster than ``text`` in PostgreSQL; changing its length
        later rewrites the table.

    Example:
        ``sa.Column("country", sa.CHAR(2))``

    How to fix:
        Use ``text`` (``sa.Text()``), with a CHECK on the length if one is wanted.
    """

    code = "P001"
    name = "char-type"
    invalid = (_mig('    op.create_table("t", sa.Column("country", sa.CHAR(2)))'),
               _mig('    op.execute("CREATE TABLE t (country character(2))")'))
    valid = (_mig('    op.create_table("t", sa.Column("country", sa.Text()))'),)

    def problem(self, col: ColumnDef | None, sql_type: str | None,
                key: bool) -> tuple[str, str] | None:
        if sql_type is None or not re.match(r"^char(\(\d+\))?(\[\])*$", sql_type):
            return None
        return (f"{sql_type} pads values with spaces and costs a rewrite to resize.",
                "Use text: sa.Text() (and CHECK (length(col) <= n) if a limit matters).")


class IntegerKey(ConventionRule):
    """
    What it does:
        Flags a primary key column of type ``integer`` or ``smallint`` (``serial`` too).

    Why it matters:
        A busy table runs out of 2,147,483,647 ids sooner than expected, and changing the
        key to ``bigint`` then rewrites the table and every table whose foreign keys
        reference it, under ACCESS EXCLUSIVE locks.

    Example:
        ``sa.Column("id", sa.Integer(), primary_key=True)``

    How to fix:
        Use ``bigint`` from the start: ``sa.Column("id", sa.BigInteger(), sa.Identity(),
        primary_key=True)``.
    """

    code = "P002"
    name = "integer-primary-key"
    invalid = (_mig('    op.create_table("t", sa.Column("id", sa.Integer(), primary_key=True))'),
               _mig('    op.execute("CREATE TABLE t (id serial PRIMARY KEY)")'))
    valid = (_mig('    op.create_table("t", sa.Column("id", sa.BigInteger(), sa.Identity(),\n'
                  '                                   primary_key=True))'),)

    def problem(self, col: ColumnDef | None, sql_type: str | None,
                key: bool) -> tuple[str, str] | None:
        if not key or sql_type not in ("integer", "smallint"):
            return None
        return (f"a {sql_type} primary key runs out of ids on a busy table, and widening it "
                "later rewrites it and every table that references it.",
                "Use bigint: sa.Column(..., sa.BigInteger(), sa.Identity(), primary_key=True).")


_NEXTVAL = re.compile(r"^nextval\('.+'(::regclass)?\)$", re.IGNORECASE)


class SerialColumn(ConventionRule):
    """
    What it does:
        Flags ``serial``/``bigserial`` columns: a default of ``nextval()`` on a sequence
        the column owns, which is also what SQLAlchemy makes of an integer primary key
        without ``sa.Identity()``.

    Why it matters:
        The sequence is a separate object with its own privileges and ownership: copying
        the table, dumping a schema or granting access forgets it, and the column accepts
        values that bypass it. An identity column (SQL standard) is part of the column.

    Example:
        ``op.execute("CREATE TABLE t (id bigserial PRIMARY KEY)")``

    How to fix:
        ``sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True)``
        (``GENERATED ALWAYS AS IDENTITY``).
    """

    code = "P003"
    name = "serial-column"
    invalid = (_mig('    op.execute("CREATE TABLE t (id bigserial PRIMARY KEY)")'),
               _mig('    op.create_table("t", sa.Column("id", sa.BigInteger(), '
                    'primary_key=True))'))
    valid = (_mig('    op.create_table("t", sa.Column("id", sa.BigInteger(),\n'
                  '                                   sa.Identity(always=True), '
                  'primary_key=True))'),)

    def problem(self, col: ColumnDef | None, sql_type: str | None,
                key: bool) -> tuple[str, str] | None:
        if col is None or col.identity or not col.default or not _NEXTVAL.match(col.default):
            return None
        return ("a serial column's sequence is a separate object that copies, dumps and "
                "grants forget.",
                f"Use an identity column: sa.Column({lockfix.q(col.name)}, "
                f"{lockfix.sa_type(sql_type)}, sa.Identity(always=True)"
                + (", primary_key=True)" if key else ")"))


class TimestampWithoutTimeZone(ConventionRule):
    """
    What it does:
        Flags ``timestamp`` (without time zone) columns (``sa.DateTime()`` without
        ``timezone=True``).

    Why it matters:
        A ``timestamp`` stores a wall-clock reading with no zone: the same instant written
        by two servers in different zones (or across a DST change) reads as two different
        times, and converting the column later rewrites the table.

    Example:
        ``sa.Column("created_at", sa.DateTime())``

    How to fix:
        ``sa.DateTime(timezone=True)`` (``timestamptz``), which stores the instant.
    """

    code = "P004"
    name = "timestamp-without-time-zone"
    invalid = (_mig('    op.create_table("t", sa.Column("created_at", sa.DateTime()))'),
               _mig('    op.execute("CREATE TABLE t (created_at timestamp)")'))
    valid = (_mig('    op.create_table("t", sa.Column("created_at", '
                  'sa.DateTime(timezone=True)))'),)

    def problem(self, col: ColumnDef | None, sql_type: str | None,
                key: bool) -> tuple[str, str] | None:
        if sql_type is None or not re.match(r"^timestamp(\(\d\))?(\[\])*$", sql_type):
            return None
        return ("timestamp without time zone stores a wall-clock reading, not an instant.",
                "Use timestamptz: sa.DateTime(timezone=True).")


class VarcharLength(ConventionRule):
    """
    What it does:
        Flags ``varchar(n)`` columns (``sa.String(n)``).

    Why it matters:
        In PostgreSQL ``varchar(n)`` is ``text`` with a length check that cannot be changed
        without an ACCESS EXCLUSIVE lock (and a rewrite when it shrinks); the limit is
        usually a guess that a real value exceeds one day.

    Example:
        ``sa.Column("name", sa.String(100))``

    How to fix:
        ``sa.Text()``, with ``CHECK (length(name) <= 100)`` if the limit is a rule (a
        CHECK can be replaced ``NOT VALID`` without a rewrite).
    """

    code = "P005"
    name = "varchar-length"
    invalid = (_mig('    op.create_table("t", sa.Column("name", sa.String(100)))'),
               _mig('    op.execute("CREATE TABLE t (name varchar(100))")'))
    valid = (_mig('    op.create_table("t", sa.Column("name", sa.Text()))'),
             _mig('    op.create_table("t", sa.Column("name", sa.String()))'))

    def problem(self, col: ColumnDef | None, sql_type: str | None,
                key: bool) -> tuple[str, str] | None:
        m = re.match(r"^varchar\((\d+)\)(\[\])*$", sql_type or "")
        if m is None:
            return None
        name = col.name if col is not None else "col"
        return (f"{sql_type} is text with a length limit that is hard to change later.",
                f"Use text: sa.Text(), with CHECK (length({name}) <= {m[1]}) if the limit "
                "is a rule.")


RULES: tuple[type[Rule], ...] = (CharType, IntegerKey, SerialColumn, TimestampWithoutTimeZone,
                                 VarcharLength)
