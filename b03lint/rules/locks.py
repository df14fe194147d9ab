"""Lock safety: DDL that blocks reads or writes of a table that already holds rows, scans or
rewrites it under such a lock, or waits in the lock queue without a timeout (opt-in: one
line, ``extend_select = ["locks"]``).

Every verdict comes from the lock model (:mod:`b03lint.pgmodel.locks`) at the configured
``postgres_version``, on the replayed schema just before the operation
(:mod:`b03lint.schema.timeline`). "Existing" means: the table was not created earlier in
the same migration (following renames), and the chain either builds it before this
operation or does not know every table there is (a chain whose first revision starts
from a schema made elsewhere). A table created in the same migration is empty, so nothing
here fires for it: squawk, which sees one file at a time, cannot tell the difference.
"""

from __future__ import annotations

from typing import ClassVar

from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterColumnNullable,
    CreateIndex,
    DropIndex,
)
from b03lint.pgmodel.volatility import volatile_calls
from b03lint.rules import lockfix
from b03lint.rules.base import Example, FileContext, Option, Rule
from b03lint.rules.lockbase import (
    BODY_LINE,
    FILES,
    QUIET,
    LockRule,
    Step,
    column_added_here,
    created_here,
    on_existing,
    risk,
    same_migration,
)

# --------------------------------------------------------------------------- L001-L007


class IndexWithoutConcurrently(LockRule):
    """
    What it does:
        Flags ``CREATE INDEX`` without ``CONCURRENTLY`` (``op.create_index`` without
        ``postgresql_concurrently=True``) on a table that existed before this migration.

    Why it matters:
        A plain ``CREATE INDEX`` holds a SHARE lock for the whole build: every INSERT,
        UPDATE and DELETE on the table waits, for minutes on a large table.

    Example:
        ``op.create_index("ix_events_code", "events", ["code"])`` when ``events`` was
        created by an earlier revision.

    How to fix:
        Build it concurrently, outside the migration's transaction::

            with op.get_context().autocommit_block():
                op.create_index("ix_events_code", "events", ["code"],
                                postgresql_concurrently=True)

        An index on a table created in the same migration needs nothing: it is empty.
    """

    code = "L001"
    name = "index-without-concurrently"
    invalid = (
        on_existing('    op.create_index("ix_events_code", "events", ["code"])'),
        on_existing('    op.execute("CREATE UNIQUE INDEX ix_events_code ON events (code)")',
                    title="SQL form"),
    )
    valid = (
        on_existing('    with op.get_context().autocommit_block():\n'
                    '        op.create_index("ix_events_code", "events", ["code"],\n'
                    '                        postgresql_concurrently=True)', title="concurrently"),
        same_migration('    op.create_index("ix_fresh_code", "fresh", ["code"])'),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        if not isinstance(op, CreateIndex) or step.effect.row is None \
                or step.effect.row.key != "create_index":
            return None
        return (f"{op.describe()} without CONCURRENTLY: {risk(step)}.",
                "Build it CONCURRENTLY, outside the transaction:\n"
                + lockfix.in_autocommit(lockfix.create_index(op)))


class DropIndexWithoutConcurrently(LockRule):
    """
    What it does:
        Flags ``DROP INDEX`` without ``CONCURRENTLY`` of an index on a table that existed
        before this migration.

    Why it matters:
        A plain ``DROP INDEX`` takes an ACCESS EXCLUSIVE lock on the index's table: it
        waits behind every running query, and every query (reads too) queues behind it.

    Example:
        ``op.drop_index("ix_events_tenant_id", table_name="events")``

    How to fix:
        ``DROP INDEX CONCURRENTLY`` outside the migration's transaction::

            with op.get_context().autocommit_block():
                op.drop_index("ix_events_tenant_id", table_name="events",
                              postgresql_concurrently=True)
    """

    code = "L002"
    name = "drop-index-without-concurrently"
    invalid = (
        on_existing('    op.drop_index("ix_events_tenant_id", table_name="events")'),
        on_existing('    op.execute("DROP INDEX ix_events_tenant_id")', title="SQL form"),
    )
    valid = (
        on_existing('    with op.get_context().autocommit_block():\n'
                    '        op.execute("DROP INDEX CONCURRENTLY ix_events_tenant_id")',
                    title="concurrently"),
        same_migration('    op.create_index("ix_fresh_code", "fresh", ["code"])\n'
                       '    op.drop_index("ix_fresh_code", table_name="fresh")',
                       title="index created in the same migration"),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        if not isinstance(op, DropIndex) or op.concurrently:
            return None
        if created_here(ctx.file.upgrade_ops, step.index, step.table or "") is not False:
            return None
        return (f"{op.describe()} without CONCURRENTLY: {risk(step)} until it is done.",
                "Drop it CONCURRENTLY, outside the transaction:\n"
                + lockfix.in_autocommit(lockfix.drop_index(op, step.table)))


class ConstraintWithoutNotValid(LockRule):
    """
    What it does:
        Flags a foreign key or CHECK constraint added without ``NOT VALID``
        (``postgresql_not_valid=True``) to a table that existed before this migration.

    Why it matters:
        Adding the constraint reads every row to validate it while holding a lock that
        blocks writes to the table (and, for a foreign key, to the referenced table; a
        CHECK blocks reads too).

    Example:
        ``ALTER TABLE events ADD CONSTRAINT fk_events_account FOREIGN KEY (account_id)
        REFERENCES accounts (id)``

    How to fix:
        Add it ``NOT VALID`` (a brief lock, no scan), then validate it in a later
        migration: ``VALIDATE CONSTRAINT`` only takes SHARE UPDATE EXCLUSIVE, which lets
        reads and writes continue::

            op.create_foreign_key("fk_events_account", "events", "accounts",
                                  ["account_id"], ["id"], postgresql_not_valid=True)
            # in a later revision:
            op.execute("ALTER TABLE events VALIDATE CONSTRAINT fk_events_account")

        A foreign key written on a column that the same ``ADD COLUMN`` statement adds
        (SQL) is not validated by PostgreSQL and is not reported.
    """

    code = "L003"
    name = "constraint-without-not-valid"
    invalid = (
        on_existing('    op.execute("ALTER TABLE events ADD CONSTRAINT fk_events_account '
                    'FOREIGN KEY (account_id) REFERENCES accounts (id)")'),
        on_existing('    op.create_check_constraint("ck_events_code", "events",\n'
                    '                               "code <> \'\'")', title="CHECK, Python"),
        on_existing('    op.create_foreign_key("fk_events_account", "events", "accounts",\n'
                    '                          ["account_id"], ["id"])', title="Python"),
    )
    valid = (
        on_existing('    op.execute("ALTER TABLE events ADD CONSTRAINT fk_events_account '
                    'FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID")',
                    title="NOT VALID"),
        on_existing('    op.create_foreign_key("fk_events_account", "events", "accounts",\n'
                    '                          ["account_id"], ["id"],\n'
                    '                          postgresql_not_valid=True)',
                    title="postgresql_not_valid=True"),
        on_existing('    op.create_check_constraint("ck_events_code", "events",\n'
                    '                               "code <> \'\'", postgresql_not_valid=True)',
                    title="CHECK, postgresql_not_valid=True"),
        on_existing('    op.execute("ALTER TABLE events ADD COLUMN owner_id int '
                    'REFERENCES accounts (id)")', title="key on a column the statement adds"),
        same_migration('    op.create_check_constraint("ck_fresh_code", "fresh", '
                       '"code <> \'\'")'),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        row = step.effect.row
        if not isinstance(op, AddConstraint) or row is None \
                or row.key not in ("add_foreign_key", "add_check"):
            return None
        return (f"{op.describe()} without NOT VALID: {risk(step)}.",
                "Add it NOT VALID, and VALIDATE it in a later migration:\n"
                + lockfix.not_valid_then_validate(op))


class SetNotNull(LockRule):
    """
    What it does:
        Flags ``ALTER COLUMN ... SET NOT NULL`` (``op.alter_column(..., nullable=False)``)
        on a column that existed before this migration, unless PostgreSQL can skip the
        scan: on PostgreSQL 12+ a valid ``CHECK (col IS NOT NULL)`` (validated in an
        earlier migration, or earlier in this one) proves it without reading the table.

    Why it matters:
        Otherwise PostgreSQL reads the whole table to prove there is no NULL while holding
        an ACCESS EXCLUSIVE lock: no reads, no writes until the scan ends.

    Example:
        ``op.alter_column("events", "code", nullable=False)``

    How to fix:
        Add ``CHECK (code IS NOT NULL) NOT VALID``, validate it in a later migration, then
        ``SET NOT NULL`` (PostgreSQL 12+ uses the valid constraint and skips the scan) and
        drop the CHECK::

            op.create_check_constraint("events_code_not_null", "events",
                                       "code IS NOT NULL", postgresql_not_valid=True)
            # in a later revision:
            op.execute("ALTER TABLE events VALIDATE CONSTRAINT events_code_not_null")
            op.alter_column("events", "code", nullable=False)
            op.drop_constraint("events_code_not_null", "events", type_="check")
    """

    code = "L004"
    name = "set-not-null"
    invalid = (
        on_existing('    op.alter_column("events", "code", nullable=False)'),
        on_existing('    op.execute("ALTER TABLE events ALTER COLUMN code SET NOT NULL")',
                    title="SQL form"),
        on_existing('    op.execute("ALTER TABLE events ADD CONSTRAINT events_code_nn '
                    'CHECK (code IS NOT NULL) NOT VALID")\n'
                    '    op.execute("ALTER TABLE events VALIDATE CONSTRAINT events_code_nn")\n'
                    '    op.alter_column("events", "code", nullable=False)',
                    line=BODY_LINE + 2, config={"postgres_version": 11},
                    title="before PostgreSQL 12 the CHECK does not spare the scan"),
    )
    valid = (
        on_existing('    op.alter_column("events", "code", nullable=True)',
                    title="DROP NOT NULL"),
        same_migration('    op.alter_column("fresh", "code", nullable=False)'),
        on_existing('    op.add_column("events", sa.Column("note", sa.Text()))\n'
                    '    op.alter_column("events", "note", nullable=False)',
                    title="column added in the same migration (see L005)"),
        on_existing('    op.execute("ALTER TABLE events ADD CONSTRAINT events_code_nn '
                    'CHECK (code IS NOT NULL) NOT VALID")\n'
                    '    op.execute("ALTER TABLE events VALIDATE CONSTRAINT events_code_nn")\n'
                    '    op.alter_column("events", "code", nullable=False)',
                    title="after VALIDATE of CHECK (code IS NOT NULL), PostgreSQL 12+"),
        on_existing('    op.create_check_constraint("events_code_nn", "events",\n'
                    '                               "code IS NOT NULL")\n'
                    '    op.execute("ALTER TABLE events ALTER COLUMN code SET NOT NULL")',
                    title="after a valid CHECK, SQL form"),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        if not isinstance(op, AlterColumnNullable) or op.nullable or not step.effect.scan:
            return None
        if column_added_here(ctx.file.upgrade_ops, step.index, op.table, op.column):
            return None
        checked = step.effect.row is not None and step.effect.row.key == "set_not_null.checked"
        why = " (before PostgreSQL 12 a valid CHECK does not spare it)" if checked else ""
        return (f"{op.describe()}: {risk(step)}{why}.",
                "Prove it with a CHECK validated first, then SET NOT NULL:\n"
                + lockfix.set_not_null_safely(op.table, op.column))


class NotNullColumnWithoutDefault(LockRule):
    """
    What it does:
        Flags ``ADD COLUMN ... NOT NULL`` without a default on a table that existed before
        this migration. Identity, serial and generated columns have their values and are
        not reported.

    Why it matters:
        The existing rows have no value for the new column, so the migration fails on any
        table that holds rows (it only works on an empty table, e.g. in a fresh test
        database, which hides the problem until production).

    Example:
        ``op.add_column("events", sa.Column("source", sa.Text(), nullable=False))``

    How to fix:
        Give it a constant ``server_default`` (PostgreSQL 11+ adds it without rewriting the
        table), or add it nullable, backfill, and set NOT NULL safely (see L004)::

            op.add_column("events", sa.Column("source", sa.Text(), nullable=True))
            # backfill, then in a later revision SET NOT NULL as L004 shows
    """

    code = "L005"
    name = "not-null-column-without-default"
    invalid = (
        on_existing('    op.add_column("events", sa.Column("source", sa.Text(), '
                    'nullable=False))'),
        on_existing('    op.execute("ALTER TABLE events ADD COLUMN source text NOT NULL")',
                    title="SQL form"),
    )
    valid = (
        on_existing('    op.add_column("events", sa.Column("source", sa.Text(), '
                    'nullable=False,\n'
                    '                                      server_default="api"))',
                    title="with a default"),
        on_existing('    op.add_column("events", sa.Column("twice", sa.Integer(),\n'
                    '                  sa.Computed("id * 2", persisted=True), nullable=False))',
                    title="a generated column"),
        on_existing('    op.execute("ALTER TABLE events ADD COLUMN twice int NOT NULL '
                    'GENERATED ALWAYS AS (id * 2) STORED")', title="generated, SQL form"),
        same_migration('    op.add_column("fresh", sa.Column("source", sa.Text(), '
                       'nullable=False))'),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        if not isinstance(op, AddColumn):
            return None
        col = op.column
        if col.nullable or col.default is not None or col.identity \
                or col.generated is not None:
            return None
        return (f"{op.describe()} is NOT NULL without a default: it fails on a table that "
                "holds rows.",
                "Add it nullable, backfill it, then set NOT NULL (or give it a constant "
                "server_default):\n" + lockfix.add_nullable_then_fill(op))


class VolatileDefault(LockRule):
    """
    What it does:
        Flags ``ADD COLUMN`` with a volatile default on a table that existed before this
        migration: any function not known to be immutable or stable (a user-defined
        function is VOLATILE unless it says otherwise), such as ``random()``,
        ``gen_random_uuid()`` or ``clock_timestamp()``, a sequence's ``nextval()`` (a
        ``serial`` column), or an identity column. ``now()`` and ``CURRENT_TIMESTAMP``
        are stable and fine.

    Why it matters:
        Since PostgreSQL 11 a non-volatile default is computed once and kept in the
        catalog; a volatile default must be computed for every row, so the whole table is
        rewritten under an ACCESS EXCLUSIVE lock.

    Example:
        ``op.add_column("events", sa.Column("public_id", postgresql.UUID(),
        server_default=sa.text("gen_random_uuid()")))``

    How to fix:
        Add the column without the default, set the default for new rows with
        ``ALTER COLUMN ... SET DEFAULT`` (no rewrite), and backfill the existing rows in
        batches::

            op.add_column("events", sa.Column("public_id", sa.Uuid(), nullable=True))
            op.alter_column("events", "public_id",
                            server_default=sa.text("gen_random_uuid()"))
    """

    code = "L006"
    name = "volatile-default"
    options: ClassVar[dict[str, Option]] = {"non_volatile_functions": Option(
        default=[], type=list,
        doc="functions of the project known to be IMMUTABLE or STABLE (schema-qualified as "
            "written in defaults), which b03lint cannot see being declared")}
    invalid = (
        on_existing('    op.add_column("events", sa.Column("public_id", sa.Text(),\n'
                    '                  server_default=sa.text("gen_random_uuid()")))'),
        on_existing('    op.execute("ALTER TABLE events ADD COLUMN seen_at timestamptz '
                    'DEFAULT clock_timestamp()")', title="SQL form"),
        on_existing('    op.execute("ALTER TABLE events ADD COLUMN seq serial")',
                    title="a serial column"),
        on_existing('    op.add_column("events", sa.Column("code2", sa.Text(),\n'
                    '                  server_default=sa.text("app.make_code()")))',
                    title="a function not known to be immutable or stable"),
    )
    valid = (
        on_existing('    op.add_column("events", sa.Column("created_at", sa.DateTime(),\n'
                    '                  server_default=sa.text("now()")))', title="now()"),
        on_existing('    op.add_column("events", sa.Column("day", sa.Text(),\n'
                    '                  server_default=sa.text("lower(\'X\')")))',
                    title="an immutable function"),
        same_migration('    op.add_column("fresh", sa.Column("r", sa.Float(),\n'
                       '                  server_default=sa.text("random()")))'),
        Example(on_existing('    op.add_column("events", sa.Column("code2", sa.Text(),\n'
                            '                  server_default=sa.text("app.make_code()")))'
                            ).source, files=FILES,
                config={**QUIET, "options": {"L006": {"non-volatile-functions":
                                                      ["app.make_code"]}}},
                title="a function the project declares stable"),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        row = step.effect.row
        if not isinstance(op, AddColumn) or row is None \
                or row.key != "add_column.volatile_default":
            return None
        known = {str(n).lower() for n in self.opts["non_volatile_functions"]}
        calls = volatile_calls(op.column.default) if op.column.default else None
        if calls and all(c.lower() in known for c in calls):
            return None
        why = step.effect.why or f"the default {op.column.default} is volatile"
        return (f"{op.describe()}: {why}, so {risk(step)}.",
                "Add it without the default, SET DEFAULT for new rows, backfill in batches:\n"
                + lockfix.add_nullable_then_fill(op))


class UniqueConstraintInPlace(LockRule):
    """
    What it does:
        Flags a UNIQUE (or PRIMARY KEY) constraint added to a table that existed before
        this migration by building its index in place, instead of from an index built
        concurrently (``ADD CONSTRAINT ... UNIQUE USING INDEX``).

    Why it matters:
        The constraint's index is built under an ACCESS EXCLUSIVE lock: no reads and no
        writes of the table for the whole build.

    Example:
        ``op.create_unique_constraint("uq_events_code", "events", ["code"])``

    How to fix:
        Build the unique index concurrently, then attach it::

            with op.get_context().autocommit_block():
                op.create_index("uq_events_code", "events", ["code"], unique=True,
                                postgresql_concurrently=True)
            op.execute("ALTER TABLE events ADD CONSTRAINT uq_events_code "
                       "UNIQUE USING INDEX uq_events_code")
    """

    code = "L007"
    name = "unique-constraint-in-place"
    invalid = (
        on_existing('    op.create_unique_constraint("uq_events_code", "events", ["code"])'),
        on_existing('    op.execute("ALTER TABLE events ADD CONSTRAINT uq_events_code '
                    'UNIQUE (code)")', title="SQL form"),
    )
    valid = (
        on_existing('    op.execute("ALTER TABLE events ADD CONSTRAINT uq_events_code '
                    'UNIQUE USING INDEX uq_events_code")', title="USING INDEX"),
        same_migration('    op.create_unique_constraint("uq_fresh_code", "fresh", ["code"])'),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        row = step.effect.row
        if not isinstance(op, AddConstraint) or row is None or row.key != "add_unique":
            return None
        return (f"{op.describe()} builds its index in place: {risk(step)}.",
                "Build a unique index CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX:\n"
                + lockfix.unique_from_index(op))




RULES: tuple[type[Rule], ...] = (
    IndexWithoutConcurrently, DropIndexWithoutConcurrently, ConstraintWithoutNotValid, SetNotNull, NotNullColumnWithoutDefault, VolatileDefault, UniqueConstraintInPlace,
)
