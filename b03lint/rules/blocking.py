"""Statements that block an existing table for as long as they run and have a gentler
form: REINDEX and DETACH PARTITION without CONCURRENTLY, VACUUM FULL and CLUSTER, ADD COLUMN
that rewrites, and DROP NOT NULL (opt-in with the ``locks`` category)."""

from __future__ import annotations

from b03lint.operations import (
    AddColumn,
    AlterColumnNullable,
    Cluster,
    DetachPartition,
    Reindex,
    Vacuum,
)
from b03lint.rules import lockfix
from b03lint.rules.base import FileContext, Rule
from b03lint.rules.lockbase import (
    BODY_LINE,
    LockRule,
    Step,
    on_existing,
    risk,
    same_migration,
    version,
)

# --------------------------------------------------------------------------- maintenance


class ReindexWithoutConcurrently(LockRule):
    """
    What it does:
        Flags ``REINDEX INDEX|TABLE`` without ``CONCURRENTLY`` on a table that existed
        before this migration.

    Why it matters:
        A plain ``REINDEX`` holds SHARE on the table (writes wait) and ACCESS EXCLUSIVE on
        each index (reads that would use it wait) for the whole rebuild.

    Example:
        ``op.execute("REINDEX INDEX ix_events_tenant_id")``

    How to fix:
        PostgreSQL 12+: ``REINDEX ... CONCURRENTLY`` in an autocommit block::

            with op.get_context().autocommit_block():
                op.execute("REINDEX INDEX CONCURRENTLY ix_events_tenant_id")
    """

    code = "L012"
    name = "reindex-without-concurrently"
    invalid = (
        on_existing('    op.execute("REINDEX INDEX ix_events_tenant_id")'),
        on_existing('    op.execute("REINDEX TABLE events")', title="a table"),
    )
    valid = (
        on_existing('    with op.get_context().autocommit_block():\n'
                    '        op.execute("REINDEX INDEX CONCURRENTLY ix_events_tenant_id")',
                    title="concurrently"),
        same_migration('    op.execute("REINDEX TABLE fresh")'),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        if not isinstance(op, Reindex) or op.concurrently or op.target not in (
                "index", "table"):
            return None
        if version(ctx.project) < 12:
            fix = ("Before PostgreSQL 12 there is no REINDEX CONCURRENTLY: build a new index "
                   "CONCURRENTLY, drop the old one CONCURRENTLY and rename the new one.")
        else:
            fix = ("Rebuild it CONCURRENTLY, outside the transaction:\n"
                   + lockfix.in_autocommit(lockfix.concurrent_form(op) or ""))
        return f"{op.describe()} without CONCURRENTLY: {risk(step)}.", fix


class DetachPartitionWithoutConcurrently(LockRule):
    """
    What it does:
        Flags ``ALTER TABLE ... DETACH PARTITION`` without ``CONCURRENTLY`` on PostgreSQL
        14+ (where the concurrent form exists), on a table that existed before this
        migration.

    Why it matters:
        A plain detach takes ACCESS EXCLUSIVE on the partitioned table: no reads and no
        writes of any partition until it is done.

    Example:
        ``op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2023")``

    How to fix:
        Detach it concurrently, outside the transaction::

            with op.get_context().autocommit_block():
                op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2023 "
                           "CONCURRENTLY")
    """

    code = "L013"
    name = "detach-partition-without-concurrently"
    invalid = (on_existing('    op.execute("ALTER TABLE events DETACH PARTITION events_old")'),)
    valid = (
        on_existing('    with op.get_context().autocommit_block():\n'
                    '        op.execute("ALTER TABLE events DETACH PARTITION events_old '
                    'CONCURRENTLY")', title="concurrently"),
        on_existing('    op.execute("ALTER TABLE events DETACH PARTITION events_old")',
                    config={"postgres_version": 13}, title="PostgreSQL 13 has no other form"),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        if not isinstance(op, DetachPartition) or op.concurrently or op.finalize \
                or version(ctx.project) < 14:
            return None
        return (f"{op.describe()}: {risk(step)} and of all its partitions.",
                "Detach it CONCURRENTLY, outside the transaction:\n"
                + lockfix.in_autocommit(lockfix.concurrent_form(op) or ""))


class RewritingMaintenance(LockRule):
    """
    What it does:
        Flags ``VACUUM FULL`` and ``CLUSTER`` of a table that existed before this migration.

    Why it matters:
        Both copy the whole table into new storage under an ACCESS EXCLUSIVE lock: no
        reads, no writes, for as long as the copy takes, and twice the disk space meanwhile.

    Example:
        ``op.execute("VACUUM FULL events")``

    How to fix:
        Keep them out of migrations: a plain ``VACUUM`` (no rewrite, no blocking lock) in
        an autocommit block, or an online tool such as pg_repack run by operations::

            with op.get_context().autocommit_block():
                op.execute("VACUUM (ANALYZE) events")
    """

    code = "L014"
    name = "rewriting-maintenance"
    invalid = (
        on_existing('    with op.get_context().autocommit_block():\n'
                    '        op.execute("VACUUM FULL events")', line=BODY_LINE + 1),
        on_existing('    op.execute("CLUSTER events USING ix_events_tenant_id")',
                    title="CLUSTER"),
    )
    valid = (
        on_existing('    with op.get_context().autocommit_block():\n'
                    '        op.execute("VACUUM (ANALYZE) events")', title="plain VACUUM"),
        same_migration('    op.execute("CLUSTER fresh USING fresh_pkey")'),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        if not (isinstance(op, Vacuum) and op.full) and not isinstance(op, Cluster):
            return None
        return (f"{op.describe()}: {risk(step)}.",
                "Use a plain VACUUM in an autocommit block, or pg_repack outside the "
                "migration:\n" + lockfix.in_autocommit(lockfix.execute(
                    f"VACUUM (ANALYZE) {step.table or ''}".rstrip())))


class AddColumnRewrite(LockRule):
    """
    What it does:
        Flags ``ADD COLUMN`` that rewrites an existing table for another reason than a
        volatile default (L006): a stored generated column, or any default before
        PostgreSQL 11 (``postgres_version``).

    Why it matters:
        Every row is written again under an ACCESS EXCLUSIVE lock: no reads, no writes,
        for as long as the rewrite takes.

    Example:
        ``op.add_column("events", sa.Column("source", sa.Text(), server_default="api"))``
        on PostgreSQL 10.

    How to fix:
        Add the column without a default, ``SET DEFAULT`` for new rows, and backfill in
        batches; a generated column can be a plain column filled the same way (and by a
        trigger for new rows)::

            op.add_column("events", sa.Column("source", sa.Text(), nullable=True))
            op.alter_column("events", "source", server_default=sa.text("'api'"))
    """

    code = "L019"
    name = "add-column-rewrite"
    invalid = (
        on_existing('    op.add_column("events", sa.Column("source", sa.Text(),\n'
                    '                                      server_default="api"))',
                    config={"postgres_version": 10}, title="a default before PostgreSQL 11"),
        on_existing('    op.execute("ALTER TABLE events ADD COLUMN twice int GENERATED ALWAYS '
                    'AS (id * 2) STORED")', title="a stored generated column"),
        on_existing('    op.add_column("events", sa.Column("twice", sa.Integer(),\n'
                    '                  sa.Computed("id * 2", persisted=True)))',
                    title="sa.Computed"),
    )
    valid = (
        on_existing('    op.add_column("events", sa.Column("source", sa.Text(),\n'
                    '                                      server_default="api"))',
                    title="a default on PostgreSQL 11+"),
        same_migration('    op.add_column("fresh", sa.Column("twice", sa.Integer(),\n'
                       '                  sa.Computed("id * 2", persisted=True)))'),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        row = step.effect.row
        if not isinstance(op, AddColumn) or row is None or not step.effect.rewrite \
                or row.key not in ("add_column.generated", "add_column.default"):
            return None
        why = (f"the generated column {op.column.name} is computed for every row"
               if row.key == "add_column.generated" else
               f"before PostgreSQL 11 the default {op.column.default} is written to every row")
        return (f"{op.describe()}: {why}, so {risk(step)}.",
                "Add it without the default, SET DEFAULT for new rows, backfill in batches:\n"
                + lockfix.add_nullable_then_fill(op))


class DropNotNull(LockRule):
    """
    What it does:
        Flags ``ALTER COLUMN ... DROP NOT NULL`` (``op.alter_column(..., nullable=True)``)
        on a column of a table that existed before this migration.

    Why it matters:
        The code already deployed reads the column as never NULL; once the constraint is
        gone, the first NULL written breaks it (a crash, a wrong total). The statement
        also takes an ACCESS EXCLUSIVE lock, brief but queued behind every running query.

    Example:
        ``op.alter_column("events", "tenant_id", nullable=True)``

    How to fix:
        Deploy code that handles NULL first, then drop the constraint with a lock timeout::

            op.execute("SET lock_timeout = '5s'")
            op.alter_column("events", "tenant_id", nullable=True)
    """

    code = "L020"
    name = "drop-not-null"
    default_severity = "warning"
    invalid = (
        on_existing('    op.alter_column("events", "id", nullable=True)'),
        on_existing('    op.execute("ALTER TABLE events ALTER COLUMN code DROP NOT NULL")',
                    title="SQL form"),
    )
    valid = (
        on_existing('    op.alter_column("events", "code", nullable=False)',
                    title="SET NOT NULL (see L004)"),
        same_migration('    op.alter_column("fresh", "code", nullable=True)'),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        if not isinstance(op, AlterColumnNullable) or not op.nullable:
            return None
        return (f"{op.describe()}: code that reads {op.table}.{op.column} as never NULL "
                "breaks on the first NULL, and its ACCESS EXCLUSIVE lock queues behind "
                "running queries.",
                "Deploy code that handles NULL first, and drop it with a lock timeout:\n"
                + lockfix.timeout_first("lock_timeout", "5s") + "\n"
                + f"op.alter_column({lockfix.q(op.table)}, {lockfix.q(op.column)}, "
                  "nullable=True)")




RULES: tuple[type[Rule], ...] = (
    ReindexWithoutConcurrently, DetachPartitionWithoutConcurrently, RewritingMaintenance, AddColumnRewrite, DropNotNull,
)
