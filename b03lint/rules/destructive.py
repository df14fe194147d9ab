"""Destructive DDL in ``upgrade()``, from Python and SQL alike (guide section 5).

Each finding here can be waived with the guide's comment ``# CI:DESTRUCTIVE_OK - See
ADR-<id>`` (``-- CI:DESTRUCTIVE_OK - See ADR-<id>`` inside SQL) on the operation's line or
the line above; the engine applies waivers (see :mod:`b03lint.waivers`), rules only find.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from b03lint.findings import Finding
from b03lint.operations import (
    AddColumn,
    AlterColumnType,
    AlterEnumRenameValue,
    CreateEnumType,
    CreateTable,
    DataChange,
    DropColumn,
    DropDatabase,
    DropSchema,
    DropTable,
    DropType,
    Operation,
    Related,
    RenameColumn,
    RenameTable,
    RenameType,
    Truncate,
    Unresolved,
)
from b03lint.rules.base import Example, FileContext, Rule

_HEAD = '''"""example"""
from alembic import op
import sqlalchemy as sa

revision = "a1"
down_revision = None


def upgrade():
'''


def _mig(body: str, rev: str = "a1", down: str | None = None) -> str:
    """An example migration whose upgrade() is ``body`` (lines start at line 9)."""
    head = _HEAD if rev == "a1" and down is None else _HEAD.replace(
        'revision = "a1"\ndown_revision = None',
        f'revision = "{rev}"\ndown_revision = {down!r}')
    return head + body + "\n\ndef downgrade():\n    pass\n"


#: the parent revision of examples that change an existing table
_CREATE_TENANTS = _mig(
    '    op.create_table("tenants", sa.Column("id", sa.Integer(), primary_key=True),\n'
    '                    sa.Column("name", sa.String(100)), sa.Column("seats", sa.Integer()),\n'
    '                    sa.Column("price", sa.Numeric(10, 2)))')


_ADR = {"docs/architecture/adr/ADR-007-retire-legacy.md": "# ADR-007\n\nStatus: Accepted\n"}


def _object(op: Operation) -> str | None:
    table = op.table_name
    for attr in ("column", "name"):
        value = getattr(op, attr, None)
        if isinstance(value, str):
            return f"{table}.{value}" if table and attr == "column" else value
    return table


def _earlier(op: Operation, ctx: FileContext) -> list[Operation]:
    """The operations of the same phase before ``op``, latest first."""
    ops = ctx.ops_in_same_phase(op)
    for i, other in enumerate(ops):
        if other is op:
            return list(reversed(ops[:i]))
    return []


def created_here(op: Operation, ctx: FileContext, table: str,
                 column: str | None = None) -> bool:
    """Whether ``table`` (or its ``column``) is created earlier in the same migration
    phase, so that it holds no rows from before and no code can use its name yet. A name
    that an earlier rename gave to an older object is followed back to that object."""
    for earlier in _earlier(op, ctx):
        if isinstance(earlier, CreateTable) and earlier.table == table:
            return column is None or any(c.name == column for c in earlier.columns)
        if isinstance(earlier, RenameTable) and earlier.new_name == table:
            table = earlier.table
        if column is None:
            continue
        if (isinstance(earlier, AddColumn) and earlier.table == table
                and earlier.column.name == column):
            return True
        if (isinstance(earlier, RenameColumn) and earlier.table == table
                and earlier.new_name == column):
            column = earlier.column
    return False


class DestructiveRule(Rule):
    """Shared behaviour; subclasses hold the documentation."""

    category: ClassVar[str] = "destructive"
    risk: ClassVar[str] = ""
    remedy: ClassVar[str] = ""

    def check_operation(self, op: Operation, ctx: FileContext) -> Iterable[Finding]:
        if not self.applies(op, ctx):
            return
        harmless = self.harmless(op, ctx)
        if harmless is not None:
            yield Finding.at(op.loc, code=self.code, rule=self.name, severity="info",
                             message=f"{op.describe()}: {harmless}", object=_object(op),
                             data={"waivable": True, "harmless": True})
            return
        finding = self.finding(
            op.loc,
            f"{op.describe()}: {self.risk}",
            object=_object(op),
            fix=self.remedy,
            data={"waivable": True},
        )
        doubt = self.unproven(op, ctx)
        if doubt is not None:
            why, where = doubt
            finding = replace(finding, message=f"{finding.message}; {why}",
                              related=(*op.related, Related(where.loc, _doubt_words(where))))
        yield finding

    def applies(self, op: Operation, ctx: FileContext) -> bool:
        return True

    def harmless(self, op: Operation, ctx: FileContext) -> str | None:
        """Why this operation destroys nothing here (info), or None."""
        return None

    def unproven(self, op: Operation, ctx: FileContext) -> tuple[str, Unresolved] | None:
        """When the operation would be harmless but the chain cannot prove it: the words
        that say so and the unresolved operation that stands in the way (the finding stays
        blocking, and names it as a related location)."""
        return None


def _doubt_words(doubt: Unresolved) -> str:
    return f"not known statically: {doubt.reason}"


def _absent_unproven(op: Operation, ctx: FileContext, what: str) -> tuple[str, Unresolved] | None:
    """For ``IF EXISTS`` of an object the replay does not have: the unresolved operation
    that keeps the chain from being sure it is absent."""
    before = ctx.before(op)
    if before is None or not before.known or before.doubt is None:
        return None
    where = f"{Path(before.doubt.loc.path).name}:{before.doubt.loc.line}"
    return (f"the chain never creates {what} before this, so IF EXISTS would drop nothing, "
            f"but it cannot be sure: {where}, not known statically, may have created it",
            before.doubt)


def _absent(op: Operation, ctx: FileContext, table: str, column: str | None) -> bool:
    """Whether the chain is sure ``table`` (or its ``column``) does not exist just before
    ``op`` (so an ``IF EXISTS`` drop of it drops nothing in a database the chain built)."""
    before = ctx.before(op)
    if before is None or not before.known or not before.certain:
        return False
    if column is None:
        return before.table is None
    return before.table is not None and column not in before.table.columns


class DropTableRule(DestructiveRule):
    """
    What it does:
        Flags a table dropped in ``upgrade()``: ``op.drop_table(...)`` or ``DROP TABLE``.
        Info instead when the same migration created the table (a staging table), or for
        ``IF EXISTS`` when the chain, starting from an empty database, has no such table
        at that point.

    Why it matters:
        Every row of the table is lost and every reader of it breaks. Once deployed it
        cannot be rolled back by a downgrade; the data is gone.

    Example:
        ``op.drop_table("legacy_events")``

    How to fix:
        Stop writing to the table first and drop it in a later release. If the drop is
        intended, record the decision in an ADR and add
        ``# CI:DESTRUCTIVE_OK - See ADR-<id>`` on the line or the line above.
    """

    code = "D001"
    name = "drop-table"
    operation_kinds = frozenset({DropTable.kind})
    uses_schema_before = True

    def harmless(self, op: Operation, ctx: FileContext) -> str | None:
        assert isinstance(op, DropTable)
        if created_here(op, ctx, op.table):
            return "the table is created in this migration, so it holds no rows from before"
        if op.if_exists and _absent(op, ctx, op.table, None):
            return ("the chain has no such table here, so in a database it built this "
                    "drops nothing")
        return None

    def unproven(self, op: Operation, ctx: FileContext) -> tuple[str, Unresolved] | None:
        assert isinstance(op, DropTable)
        before = ctx.before(op)
        if not op.if_exists or before is None or before.table is not None:
            return None
        return _absent_unproven(op, ctx, f"table {op.table}")

    risk = "drops the table and all of its rows"
    remedy = "drop it in a later release after readers are gone, with an ADR-backed waiver"
    invalid = (
        Example(_mig('    op.drop_table("legacy_events")'), line=10),
        Example(_mig('    op.execute("DROP TABLE IF EXISTS legacy_events")'), line=10,
                title="SQL form"),
    )
    valid = (
        Example(_mig('    # CI:DESTRUCTIVE_OK - See ADR-007\n    op.drop_table("legacy_events")'),
                files=_ADR, title="waived (reported as info)"),
        Example(_HEAD + "    pass\n\n\ndef downgrade():\n    op.drop_table('t')\n",
                title="in downgrade()"),
        Example(_mig('    op.create_table("staging", sa.Column("id", sa.Integer()))\n'
                     '    op.drop_table("staging")'),
                title="a table created in the same migration (info)"),
        Example(_mig('    op.execute("DROP TABLE IF EXISTS staging")\n'
                     '    op.create_table("staging", sa.Column("id", sa.Integer()))'),
                title="IF EXISTS on a table the chain has not created (info)"),
    )


class DropColumnRule(DestructiveRule):
    """
    What it does:
        Flags a column dropped in ``upgrade()``: ``op.drop_column``, ``batch_op.drop_column``
        or ``ALTER TABLE ... DROP COLUMN``. Info instead when the same migration added the
        column, or for ``IF EXISTS`` when the chain has no such column at that point.

    Why it matters:
        The column's data is lost, and application code still reading it fails at once
        (old application versions keep running during a deploy).

    Example:
        ``op.drop_column("tenants", "name")`` (the guide's section 5.3 scenario)

    How to fix:
        Stop reading the column, deploy, then drop it. For an intended drop, cite the ADR:
        ``# CI:DESTRUCTIVE_OK - See ADR-<id>``.
    """

    code = "D002"
    name = "drop-column"
    operation_kinds = frozenset({DropColumn.kind})
    uses_schema_before = True

    def harmless(self, op: Operation, ctx: FileContext) -> str | None:
        assert isinstance(op, DropColumn)
        if created_here(op, ctx, op.table, op.column):
            return "the column is created in this migration, so it holds no data from before"
        if op.if_exists and _absent(op, ctx, op.table, op.column):
            return ("the chain has no such column here, so in a database it built this "
                    "drops nothing")
        return None

    def unproven(self, op: Operation, ctx: FileContext) -> tuple[str, Unresolved] | None:
        assert isinstance(op, DropColumn)
        before = ctx.before(op)
        if not op.if_exists or before is None or before.table is None or (
                op.column in before.table.columns):
            return None
        return _absent_unproven(op, ctx, f"column {op.table}.{op.column}")

    risk = "drops the column and its data"
    remedy = "remove readers first and drop in a later release, with an ADR-backed waiver"
    invalid = (
        Example(_mig('    op.drop_column("tenants", "name")'), line=10),
        Example(_mig('    with op.batch_alter_table("tenants") as batch_op:\n'
                     '        batch_op.drop_column("name")'), line=11, title="batch mode"),
        Example(_mig('    op.execute("ALTER TABLE tenants DROP COLUMN name")'), line=10,
                title="SQL form"),
    )
    valid = (
        Example(_mig('    op.drop_column("tenants", "name")  # CI:DESTRUCTIVE_OK - See ADR-007'),
                files=_ADR, title="waived on the same line"),
        Example(_mig('    op.add_column("tenants", sa.Column("name", sa.Text()))')),
        Example(_mig('    op.add_column("tenants", sa.Column("scratch", sa.Text()))\n'
                     '    op.execute("ALTER TABLE tenants DROP COLUMN scratch")'),
                title="a column added in the same migration, SQL form (info)"),
    )


class DropSchemaRule(DestructiveRule):
    """
    What it does:
        Flags ``DROP SCHEMA`` in ``upgrade()``.

    Why it matters:
        A schema drop removes every object inside it (with CASCADE) or fails the deploy.

    Example:
        ``op.execute("DROP SCHEMA staging CASCADE")``

    How to fix:
        Move objects out first and drop the empty schema later, with an ADR-backed waiver.
    """

    code = "D003"
    name = "drop-schema"
    operation_kinds = frozenset({DropSchema.kind})
    risk = "drops the schema and everything in it"
    remedy = "empty the schema first, then drop it with an ADR-backed waiver"
    invalid = (Example(_mig('    op.execute("DROP SCHEMA staging CASCADE")'), line=10),)
    valid = (Example(_mig('    op.execute("CREATE SCHEMA staging")')),)


class DropTypeRule(DestructiveRule):
    """
    What it does:
        Flags ``DROP TYPE`` (an enum, domain or composite type) in ``upgrade()``; info
        when the type got its name earlier in the same migration (the old half of a type
        swap, as ``alembic-postgresql-enum``'s ``op.sync_enum_values`` writes it).

    Why it matters:
        PostgreSQL refuses to drop a type while a column uses it, so the risk is
        ``CASCADE``, which drops every column of that type with its data, or application
        code and later migrations that still name the type (``sa.Enum(...,
        create_type=False)``, a cast in SQL) and fail once it is gone.

    Example:
        ``op.execute("DROP TYPE remediation_state CASCADE")``

    How to fix:
        Convert the columns and the code that name the type first; drop it in a later
        release with an ADR-backed waiver, without ``CASCADE``.
    """

    code = "D004"
    name = "drop-type"
    operation_kinds = frozenset({DropType.kind})
    risk = "code and migrations that still name the type break"
    remedy = "convert the columns and code that name it first, then drop with an ADR-backed waiver"
    invalid = (Example(_mig('    op.execute("DROP TYPE remediation_state")'), line=10),
               Example(_mig('    op.execute("DROP TYPE IF EXISTS remediation_state CASCADE")'),
                       line=10, title="CASCADE"),
               Example(_mig('    sa.Enum(name="remediation_state").drop(op.get_bind())'),
                       line=10, title="Python form"))
    valid = (Example(_mig('    op.execute("CREATE TYPE mood AS ENUM (\'ok\', \'sad\')")')),
             Example(_mig('    op.execute("ALTER TYPE mood RENAME TO mood_old")\n'
                          '    op.execute("CREATE TYPE mood AS ENUM (\'ok\', \'sad\', \'meh\')")\n'
                          '    op.execute("ALTER TABLE t ALTER COLUMN m TYPE mood '
                          'USING m::text::mood")\n'
                          '    op.execute("DROP TYPE mood_old")'),
                     title="the old half of a type swap (info)"))

    def check_operation(self, op: Operation, ctx: FileContext) -> Iterable[Finding]:
        assert isinstance(op, DropType)
        if not op.cascade and _type_named_here(op, ctx, op.name):
            yield Finding.at(op.loc, code=self.code, rule=self.name, severity="info",
                             message=f"{op.describe()}: the type got this name in this "
                             "migration (a type swap), so no code names it",
                             object=_object(op), data={"waivable": True, "harmless": True})
            return
        risk = ("drops every column of that type with its data (CASCADE), and code that "
                "names the type breaks" if op.cascade else self.risk)
        yield self.finding(op.loc, f"{op.describe()}: {risk}", object=_object(op),
                           fix=self.remedy, data={"waivable": True})


def _type_named_here(op: Operation, ctx: FileContext, name: str) -> bool:
    """Whether the type ``name`` got that name earlier in the same migration phase:
    created, or renamed into it (the old half of a type swap)."""
    return any((isinstance(o, CreateEnumType) and o.name == name)
               or (isinstance(o, RenameType) and o.new_name == name)
               for o in _earlier(op, ctx))


def _later(op: Operation, ctx: FileContext) -> list[Operation]:
    ops = ctx.ops_in_same_phase(op)
    for i, other in enumerate(ops):
        if other is op:
            return ops[i + 1:]
    return []


class RenameTypeRule(DestructiveRule):
    """
    What it does:
        Flags ``ALTER TYPE ... RENAME TO`` (and ``ALTER DOMAIN ... RENAME TO``) in
        ``upgrade()``; info when the same migration creates a type under the old name
        again (a type swap: code that names it keeps working).

    Why it matters:
        The type keeps its columns and values, but every piece of code that names it
        breaks at once: SQLAlchemy's ``sa.Enum(..., name="old")``, casts such as
        ``'x'::old``, functions, and the later migrations and downgrades that still spell
        the old name.

    Example:
        ``op.execute("ALTER TYPE remediation_state RENAME TO remediation_status")``

    How to fix:
        Rename it together with every reference in the same release (models, casts,
        functions), and record the decision in an ADR cited by a waiver.
    """

    code = "D012"
    name = "rename-type"
    operation_kinds = frozenset({RenameType.kind})
    risk = "code and migrations that name the old type break"
    remedy = "rename every reference in the same release, with an ADR-backed waiver"

    def harmless(self, op: Operation, ctx: FileContext) -> str | None:
        assert isinstance(op, RenameType)
        if any(isinstance(o, CreateEnumType) and o.name == op.name for o in _later(op, ctx)):
            return ("the old name is created again in this migration (a type swap), so "
                    "code that names it keeps working")
        return None
    invalid = (Example(_mig('    op.execute("ALTER TYPE remediation_state RENAME TO '
                            'remediation_status")'), line=10),
               Example(_mig('    op.execute(sa.text("ALTER DOMAIN cents RENAME TO '
                            'money_cents"))'), line=10, title="a domain, through sa.text"))
    valid = (Example(_mig('    op.execute("ALTER TYPE remediation_state ADD VALUE '
                          '\'abandoned\'")')),
             Example(_mig('    # CI:DESTRUCTIVE_OK - See ADR-007\n'
                          '    op.execute("ALTER TYPE remediation_state RENAME TO '
                          'remediation_status")'), files=_ADR, title="waived"),
             Example(_mig('    op.execute("ALTER TYPE mood RENAME TO mood_old")\n'
                          '    op.execute("CREATE TYPE mood AS ENUM (\'ok\', \'meh\')")'),
                     title="a type swap: the old name is created again (info)"))


class RenameEnumValueRule(DestructiveRule):
    """
    What it does:
        Flags ``ALTER TYPE ... RENAME VALUE 'old' TO 'new'`` in ``upgrade()``.

    Why it matters:
        Every stored value changes its spelling at once: application code that writes or
        compares the old label fails (``invalid input value for enum``), and so do later
        migrations, data fixes and downgrades that spell it.

    Example:
        ``op.execute("ALTER TYPE remediation_state RENAME VALUE 'ignored' TO 'abandoned'")``

    How to fix:
        Add the new value, move the rows and the code to it, and retire the old value in a
        later release; or cite the ADR that decides the rename.
    """

    code = "D013"
    name = "rename-enum-value"
    operation_kinds = frozenset({AlterEnumRenameValue.kind})
    risk = "code and data fixes that spell the old value break"
    remedy = "add the new value, move rows and code to it, retire the old one later"
    invalid = (Example(_mig('    op.execute("ALTER TYPE remediation_state RENAME VALUE '
                            '\'ignored\' TO \'abandoned\'")'), line=10),)
    valid = (Example(_mig('    op.execute("ALTER TYPE remediation_state ADD VALUE '
                          '\'abandoned\'")')),)


class DropDatabaseRule(DestructiveRule):
    """
    What it does:
        Flags ``DROP DATABASE`` in a migration's ``upgrade()``.

    Why it matters:
        It removes a whole database with every schema, table and row in it; there is no
        undo, and a migration is the wrong place for it.

    Example:
        ``op.execute("DROP DATABASE IF EXISTS analytics_legacy")``

    How to fix:
        Drop databases by hand (with a backup), outside the migration chain; if it must be
        in a migration, cite the ADR in a waiver.
    """

    code = "D014"
    name = "drop-database"
    operation_kinds = frozenset({DropDatabase.kind})
    risk = "drops the whole database and every row in it"
    remedy = "drop databases outside the migration chain, after a backup"
    invalid = (Example(_mig('    op.execute("DROP DATABASE IF EXISTS analytics_legacy")'),
                       line=10),)
    valid = (Example(_mig('    op.execute("CREATE DATABASE analytics")')),)


class TruncateRule(DestructiveRule):
    """
    What it does:
        Flags ``TRUNCATE`` in ``upgrade()``.

    Why it matters:
        Every row is removed at once, without row triggers and without a way back.

    Example:
        ``op.execute("TRUNCATE dead_events")``

    How to fix:
        Delete the rows you mean with a WHERE clause, or waive it with an ADR.
    """

    code = "D005"
    name = "truncate"
    operation_kinds = frozenset({Truncate.kind})
    risk = "removes every row"
    remedy = "delete only the rows you mean, or waive with an ADR"
    invalid = (Example(_mig('    op.execute("TRUNCATE dead_events")'), line=10),)
    valid = (Example(_mig('    op.execute("DELETE FROM dead_events WHERE retry_count > 9")')),)


class DeleteWithoutWhereRule(DestructiveRule):
    """
    What it does:
        Flags ``DELETE`` without a ``WHERE`` clause in ``upgrade()``, or with one that is
        always true (``WHERE 1=1``, ``WHERE true``).

    Why it matters:
        It removes every row of the table, the same as TRUNCATE but slower.

    Example:
        ``op.execute("DELETE FROM dead_events")``

    How to fix:
        Add the WHERE clause you meant, or waive it with an ADR.
    """

    code = "D006"
    name = "delete-without-where"
    operation_kinds = frozenset({DataChange.kind})
    risk = "deletes every row"
    remedy = "add a WHERE clause, or waive with an ADR"
    invalid = (Example(_mig('    op.execute("DELETE FROM dead_events")'), line=10),
               Example(_mig('    op.execute("DELETE FROM dead_events WHERE 1=1")'), line=10,
                       title="a WHERE that is always true"),
               Example(_mig('    op.execute(sa.text("DELETE FROM dead_events WHERE true"))'),
                       line=10, title="WHERE true"))
    valid = (Example(_mig('    op.execute("DELETE FROM dead_events WHERE id IS NULL")')),
             Example(_mig('    op.execute("UPDATE dead_events SET retry_count = 0")')))

    def applies(self, op: Operation, ctx: FileContext) -> bool:
        return isinstance(op, DataChange) and op.verb == "delete" and not op.has_where


class RenameTableRule(DestructiveRule):
    """
    What it does:
        Flags a table renamed in ``upgrade()``; info when the same migration created it
        (no query can use a name that did not exist before).

    Why it matters:
        Every query using the old name fails the moment the migration runs, while the
        previous application version is still serving traffic.

    Example:
        ``op.rename_table("events", "attribution_events")``

    How to fix:
        Create the new table (or a view under the new name), migrate readers, then remove
        the old one; or waive with an ADR.
    """

    code = "D007"
    name = "rename-table"
    operation_kinds = frozenset({RenameTable.kind})

    def harmless(self, op: Operation, ctx: FileContext) -> str | None:
        assert isinstance(op, RenameTable)
        if created_here(op, ctx, op.table):
            return "the table is created in this migration, so no query uses its old name"
        return None

    risk = "breaks every query that uses the old name"
    remedy = "expand and contract: add the new name, move readers, then retire the old"
    invalid = (Example(_mig('    op.rename_table("events", "attribution_events")'), line=10),
               Example(_mig('    op.execute("ALTER TABLE events RENAME TO attribution_events")'),
                       line=10, title="SQL form"))
    valid = (Example(_mig('    op.create_table("events", sa.Column("id", sa.Integer()))')),
             Example(_mig('    op.create_table("events_new", sa.Column("id", sa.Integer()))\n'
                          '    op.rename_table("events_new", "events")'),
                     title="a table created in the same migration (info)"))


class RenameColumnRule(DestructiveRule):
    """
    What it does:
        Flags a column renamed in ``upgrade()`` (``op.alter_column(..., new_column_name=)``
        or ``ALTER TABLE ... RENAME COLUMN``); info when the same migration added it (the
        add-copy-drop-rename swap renames a column no query uses yet).

    Why it matters:
        Queries that use the old name fail at once; it is also how schema drift like the
        guide's SCHEMA-DRIFT-003 (``channel`` renamed ``channel_code``) starts.

    Example:
        ``op.alter_column("attribution_allocations", "channel", new_column_name="channel_code")``

    How to fix:
        Add the new column, backfill, move readers, drop the old one later; or waive it.
    """

    code = "D008"
    name = "rename-column"
    operation_kinds = frozenset({RenameColumn.kind})

    def harmless(self, op: Operation, ctx: FileContext) -> str | None:
        assert isinstance(op, RenameColumn)
        if created_here(op, ctx, op.table, op.column):
            return "the column is created in this migration, so no query uses its old name"
        return None

    risk = "breaks every query that uses the old column name"
    remedy = "add the new column, backfill, move readers, then drop the old one"
    invalid = (
        Example(_mig('    op.alter_column("attribution_allocations", "channel",\n'
                     '                    new_column_name="channel_code")'), line=10),
        Example(_mig('    op.execute("ALTER TABLE t RENAME COLUMN a TO b")'), line=10,
                title="SQL form"),
    )
    valid = (Example(_mig('    op.alter_column("t", "a", nullable=True)')),
             Example(_mig('    op.add_column("t", sa.Column("tmp_a", sa.Text()))\n'
                          '    op.execute("ALTER TABLE t RENAME COLUMN tmp_a TO b")'),
                     title="a column added in the same migration (info)"))


class AlterColumnTypeRule(DestructiveRule):
    """
    What it does:
        Judges a change of a column's type in ``upgrade()`` the way PostgreSQL carries it
        out (:mod:`b03lint.pgmodel.typechange`), from the column's type just before, as the
        replayed chain (or Alembic's ``existing_type=``) gives it:

        - no rewrite and no data loss (a longer ``varchar``, ``varchar`` to ``text``, a
          wider ``numeric`` precision, a finer ``timestamp(p)``, ...): info;
        - a conversion that rewrites the table but keeps every value (``integer`` to
          ``bigint``, anything to ``text``): blocking, saying so;
        - a conversion that can reject or change values (a narrower type, ``text`` to
          ``integer``, fewer decimals, a ``USING`` expression): blocking, saying so;
        - a column whose current type is not known: blocking.

    Why it matters:
        A rewrite holds an ACCESS EXCLUSIVE lock on the table (no reads, no writes) for as
        long as it takes to copy every row and rebuild every index. A lossy conversion
        fails the deploy on the first row that does not fit, or silently rounds values.

    Example:
        ``op.alter_column("tenants", "name", type_=sa.String(50))`` on a ``varchar(100)``
        column: values longer than 50 characters are rejected.

    How to fix:
        Add a column of the new type, backfill it in batches, switch readers, then drop the
        old column; for a rewrite of a small table, waive it with an ADR.
    """

    code = "D009"
    name = "alter-column-type"
    operation_kinds = frozenset({AlterColumnType.kind})
    uses_schema_before = True
    risk = "may rewrite the table or reject values"
    remedy = "add a new column of the new type, backfill, switch readers"
    invalid = (
        Example(_mig('    op.alter_column("tenants", "name", '
                                       'type_=sa.String(50))', rev="a2", down="a1"),
                line=10, files={"alembic/versions/a1_create.py": _CREATE_TENANTS},
                title="narrowing varchar(100) to varchar(50)"),
        Example(_mig('    op.execute("ALTER TABLE tenants ALTER COLUMN name TYPE '
                     'varchar(50)")', rev="a2", down="a1"),
                line=10, files={"alembic/versions/a1_create.py": _CREATE_TENANTS},
                title="SQL form"),
        Example(_mig('    op.alter_column("tenants", "seats", type_=sa.BigInteger())',
                     rev="a2", down="a1"),
                line=10, files={"alembic/versions/a1_create.py": _CREATE_TENANTS},
                title="integer to bigint rewrites the table"),
        Example(_mig('    op.alter_column("tenants", "name", type_=sa.Text(),\n'
                     '                    postgresql_using="upper(name)")',
                     rev="a2", down="a1"),
                line=10, files={"alembic/versions/a1_create.py": _CREATE_TENANTS},
                title="a USING expression"),
        Example(_mig('    op.alter_column("legacy", "code", type_=sa.String(20))'),
                line=10, title="current type not known"),
    )
    valid = (
        Example(_mig('    op.alter_column("tenants", "name", type_=sa.String(200))',
                     rev="a2", down="a1"),
                files={"alembic/versions/a1_create.py": _CREATE_TENANTS},
                title="widening varchar(100) to varchar(200): no rewrite"),
        Example(_mig('    op.execute("ALTER TABLE tenants ALTER COLUMN name TYPE text")',
                     rev="a2", down="a1"),
                files={"alembic/versions/a1_create.py": _CREATE_TENANTS},
                title="varchar to text, SQL form"),
        Example(_mig('    with op.batch_alter_table("tenants") as batch_op:\n'
                     '        batch_op.alter_column("price", type_=sa.Numeric(14, 2))',
                     rev="a2", down="a1"),
                files={"alembic/versions/a1_create.py": _CREATE_TENANTS},
                title="numeric(10,2) to numeric(14,2), batch mode"),
        Example(_mig('    op.alter_column("tenants", "name", server_default="x")')),
    )

    def check_operation(self, op: Operation, ctx: FileContext) -> Iterable[Finding]:
        assert isinstance(op, AlterColumnType)
        from b03lint.pgmodel.typechange import classify

        if created_here(op, ctx, op.table):
            yield Finding.at(op.loc, code=self.code, rule=self.name, severity="info",
                             message=f"{op.describe()}: the table is created in this "
                             "migration, so it holds no rows to rewrite", object=_object(op),
                             data={"waivable": True, "harmless": True})
            return
        before = ctx.before(op)
        old = op.existing_type
        enums: frozenset[str] = frozenset()
        if before is not None and before.known and before.table is not None:
            column = before.table.columns.get(op.column)
            if column is not None and not column.unknown and column.type is not None:
                old = column.type
            enums = before.enums
        change = classify(old, op.new_type, using=op.using, column=op.column, enums=enums)
        shown = f"{op.describe()}" + (f" from {old}" if old and old != op.new_type else "")
        if change.harmless:
            yield Finding.at(op.loc, code=self.code, rule=self.name, severity="info",
                             message=f"{shown}: {change.why}", object=_object(op),
                             data={"waivable": True, "type_change": change.verdict})
            return
        fix = {"rewrite": "on a large table add a column of the new type, backfill it in "
                          "batches and swap; for a small table, waive it with an ADR",
               "unknown": "say the current type with existing_type=, or add a column of the "
                          "new type, backfill it and switch readers"}.get(change.verdict,
                                                                         self.remedy)
        yield self.finding(op.loc, f"{shown}: {change.why}", object=_object(op), fix=fix,
                           data={"waivable": True, "type_change": change.verdict})


RULES: tuple[type[Rule], ...] = (
    DropTableRule, DropColumnRule, DropSchemaRule, DropTypeRule, TruncateRule,
    DeleteWithoutWhereRule, RenameTableRule, RenameColumnRule, AlterColumnTypeRule,
    RenameTypeRule, RenameEnumValueRule, DropDatabaseRule,
)
