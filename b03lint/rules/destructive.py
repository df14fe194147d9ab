"""Destructive DDL in ``upgrade()``, from Python and SQL alike (guide section 5).

Each finding here can be waived with the guide's comment ``# CI:DESTRUCTIVE_OK - See
ADR-<id>`` (``-- CI:DESTRUCTIVE_OK - See ADR-<id>`` inside SQL) on the operation's line or
the line above; the engine applies waivers (see :mod:`b03lint.waivers`), rules only find.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from b03lint.findings import Finding
from b03lint.operations import (
    AddConstraint,
    AlterColumnType,
    CreateIndex,
    DataChange,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropSchema,
    DropTable,
    DropType,
    Operation,
    RenameColumn,
    RenameTable,
    Truncate,
)
from b03lint.operations import Severity as _Severity
from b03lint.rules.base import Example, FileContext, Rule

_HEAD = '''"""example"""
from alembic import op
import sqlalchemy as sa

revision = "a1"
down_revision = None


def upgrade():
'''


def _mig(body: str) -> str:
    """An example migration whose upgrade() is ``body`` (lines start at line 9)."""
    return _HEAD + body + "\n\ndef downgrade():\n    pass\n"


_ADR = {"docs/architecture/adr/ADR-007-retire-legacy.md": "# ADR-007\n\nStatus: Accepted\n"}


def _object(op: Operation) -> str | None:
    table = op.table_name
    for attr in ("column", "name"):
        value = getattr(op, attr, None)
        if isinstance(value, str):
            return f"{table}.{value}" if table and attr == "column" else value
    return table


class DestructiveRule(Rule):
    """Shared behaviour; subclasses hold the documentation."""

    category: ClassVar[str] = "destructive"
    risk: ClassVar[str] = ""
    remedy: ClassVar[str] = ""

    def check_operation(self, op: Operation, ctx: FileContext) -> Iterable[Finding]:
        if self.applies(op, ctx):
            yield self.finding(
                op.loc,
                f"{op.describe()}: {self.risk}",
                object=_object(op),
                fix=self.remedy,
                data={"waivable": True},
            )

    def applies(self, op: Operation, ctx: FileContext) -> bool:
        return True


class DropTableRule(DestructiveRule):
    """
    What it does:
        Flags a table dropped in ``upgrade()``: ``op.drop_table(...)`` or ``DROP TABLE``.

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
    )


class DropColumnRule(DestructiveRule):
    """
    What it does:
        Flags a column dropped in ``upgrade()``: ``op.drop_column``, ``batch_op.drop_column``
        or ``ALTER TABLE ... DROP COLUMN``.

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
        Flags ``DROP TYPE`` (an enum or composite type) in ``upgrade()``.

    Why it matters:
        Columns of that type must be converted or dropped with it; values are lost.

    Example:
        ``op.execute("DROP TYPE remediation_state")``

    How to fix:
        Convert the columns first; drop the type in a later release with a waiver.
    """

    code = "D004"
    name = "drop-type"
    operation_kinds = frozenset({DropType.kind})
    risk = "drops the type; columns using it lose their values"
    remedy = "convert dependent columns first, then drop with an ADR-backed waiver"
    invalid = (Example(_mig('    op.execute("DROP TYPE remediation_state")'), line=10),)
    valid = (Example(_mig('    op.execute("CREATE TYPE mood AS ENUM (\'ok\', \'sad\')")')),)


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
        Flags ``DELETE`` without a ``WHERE`` clause in ``upgrade()``.

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
    invalid = (Example(_mig('    op.execute("DELETE FROM dead_events")'), line=10),)
    valid = (Example(_mig('    op.execute("DELETE FROM dead_events WHERE id IS NULL")')),
             Example(_mig('    op.execute("UPDATE dead_events SET retry_count = 0")')))

    def applies(self, op: Operation, ctx: FileContext) -> bool:
        return isinstance(op, DataChange) and op.verb == "delete" and not op.has_where


class RenameTableRule(DestructiveRule):
    """
    What it does:
        Flags a table renamed in ``upgrade()``.

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
    risk = "breaks every query that uses the old name"
    remedy = "expand and contract: add the new name, move readers, then retire the old"
    invalid = (Example(_mig('    op.rename_table("events", "attribution_events")'), line=10),
               Example(_mig('    op.execute("ALTER TABLE events RENAME TO attribution_events")'),
                       line=10, title="SQL form"))
    valid = (Example(_mig('    op.create_table("events", sa.Column("id", sa.Integer()))')),)


class RenameColumnRule(DestructiveRule):
    """
    What it does:
        Flags a column renamed in ``upgrade()`` (``op.alter_column(..., new_column_name=)``
        or ``ALTER TABLE ... RENAME COLUMN``).

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
    risk = "breaks every query that uses the old column name"
    remedy = "add the new column, backfill, move readers, then drop the old one"
    invalid = (
        Example(_mig('    op.alter_column("attribution_allocations", "channel",\n'
                     '                    new_column_name="channel_code")'), line=10),
        Example(_mig('    op.execute("ALTER TABLE t RENAME COLUMN a TO b")'), line=10,
                title="SQL form"),
    )
    valid = (Example(_mig('    op.alter_column("t", "a", nullable=True)')),)


class AlterColumnTypeRule(DestructiveRule):
    """
    What it does:
        Flags a change of a column's type in ``upgrade()``.

    Why it matters:
        A type change can truncate or reject existing values, and it rewrites the whole
        table under an ACCESS EXCLUSIVE lock for most conversions.

    Example:
        ``op.alter_column("tenants", "name", type_=sa.String(50))``

    How to fix:
        Add a column of the new type, backfill and switch readers; or waive it with an ADR.
    """

    code = "D009"
    name = "alter-column-type"
    operation_kinds = frozenset({AlterColumnType.kind})
    risk = "may truncate or reject existing values and rewrites the table"
    remedy = "add a new column of the new type, backfill, switch readers"
    invalid = (
        Example(_mig('    op.alter_column("tenants", "name", type_=sa.String(50))'), line=10),
        Example(_mig('    op.execute("ALTER TABLE tenants ALTER COLUMN name TYPE varchar(50)")'),
                line=10, title="SQL form"),
    )
    valid = (Example(_mig('    op.alter_column("tenants", "name", server_default="x")')),)


def _recreated(op: Operation, name: str, ctx: FileContext, kind: type[Operation]) -> bool:
    for other in ctx.ops_in_same_phase(op):
        if isinstance(other, CreateIndex) and kind is CreateIndex and other.name == name:
            return True
        if (isinstance(other, AddConstraint) and kind is AddConstraint
                and other.constraint.name == name):
            return True
    return False


class _DropRecreatable(DestructiveRule):
    """Warning by default; info when the same migration recreates the same name."""

    default_severity: ClassVar[_Severity] = "warning"
    recreated_by: ClassVar[type[Operation]] = Operation

    def check_operation(self, op: Operation, ctx: FileContext) -> Iterable[Finding]:
        name = getattr(op, "name", "")
        if _recreated(op, name, ctx, self.recreated_by):
            yield Finding.at(
                op.loc, code=self.code, rule=self.name, severity="info",
                message=f"{op.describe()}: recreated under the same name in this migration",
                object=_object(op), data={"waivable": True, "recreated": True},
            )
        else:
            yield from super().check_operation(op, ctx)


class DropIndexRule(_DropRecreatable):
    """
    What it does:
        Flags an index dropped in ``upgrade()``; a warning, and only info when the same
        migration creates an index of the same name again (a rebuild, as the guide's
        reconciliation of ``idx_allocations_channel_performance`` does).

    Why it matters:
        Queries that relied on the index slow down at once; a unique index also stops
        enforcing uniqueness.

    Example:
        ``op.drop_index("idx_events_idempotency", table_name="attribution_events")``

    How to fix:
        Make sure nothing needs the index, or recreate it in the same migration.
    """

    code = "D010"
    name = "drop-index"
    operation_kinds = frozenset({DropIndex.kind})
    recreated_by = CreateIndex
    risk = "queries relying on it slow down; a unique index stops enforcing uniqueness"
    remedy = "confirm nothing needs it, or recreate it in the same migration"
    invalid = (
        Example(_mig('    op.drop_index("idx_events_idempotency",'
                     ' table_name="attribution_events")'), line=10),
    )
    valid = (
        Example(_mig('    op.create_index("ix_a", "t", ["a"])')),
    )


class DropConstraintRule(_DropRecreatable):
    """
    What it does:
        Flags a constraint dropped in ``upgrade()``; a warning, and only info when the same
        migration adds a constraint of the same name again (replacing a CHECK, as the
        guide's SCHEMA-DRIFT-002 reconciliation does).

    Why it matters:
        Rows that break the rule can be written from that moment on.

    Example:
        ``op.drop_constraint("ck_dead_events_remediation_status_valid", "dead_events")``

    How to fix:
        Replace the constraint in the same migration, or cite the ADR that retires it.
    """

    code = "D011"
    name = "drop-constraint"
    operation_kinds = frozenset({DropConstraint.kind})
    recreated_by = AddConstraint
    risk = "rows that break the rule can be written from now on"
    remedy = "replace it in the same migration, or cite the ADR that retires it"
    invalid = (
        Example(_mig('    op.drop_constraint("ck_x", "dead_events", type_="check")'), line=10),
    )
    valid = (
        Example(_mig('    op.create_check_constraint("ck_x", "dead_events", "retry_count >= 0")')),
    )


RULES: tuple[type[Rule], ...] = (
    DropTableRule, DropColumnRule, DropSchemaRule, DropTypeRule, TruncateRule,
    DeleteWithoutWhereRule, RenameTableRule, RenameColumnRule, AlterColumnTypeRule,
    DropIndexRule, DropConstraintRule,
)
