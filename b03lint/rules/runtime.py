"""What makes a migration fail, or hold its locks longer than meant, because of the
transaction Alembic runs it in (opt-in with the ``locks`` category): statements that cannot
run in a transaction block, NOT VALID validated in the same transaction, enum values added
and used in one transaction, ``BEGIN``/``COMMIT`` written into the migration, and names that
PostgreSQL truncates.

Alembic runs each migration inside a transaction, except what is inside
``op.get_context().autocommit_block()`` (which commits what came before it first).
"""

from __future__ import annotations

import re
import textwrap

from b03lint.baseline import SourceLines
from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterEnumAddValue,
    CreateEnumType,
    CreateIndex,
    CreatePolicy,
    CreateSchema,
    CreateTable,
    Operation,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameTable,
    RenameType,
    TransactionControl,
    ValidateConstraint,
)
from b03lint.rules import lockfix
from b03lint.rules.base import FileContext, Rule
from b03lint.rules.lockbase import (
    BODY_LINE,
    LockRule,
    Step,
    on_existing,
    same_migration,
    version,
)
from b03lint.schema.model import PG_MAX_IDENT, pg_truncate


class NotInTransaction(LockRule):
    """
    What it does:
        Flags a statement that PostgreSQL refuses inside a transaction block when it is
        not inside ``op.get_context().autocommit_block()``: ``CREATE INDEX CONCURRENTLY``,
        ``DROP INDEX CONCURRENTLY``, ``REINDEX ... CONCURRENTLY``, ``REINDEX SCHEMA``,
        ``DETACH PARTITION ... CONCURRENTLY``, ``VACUUM`` and ``DROP DATABASE``, whatever
        table they touch.

    Why it matters:
        Alembic runs the migration in a transaction, so the statement fails with
        "cannot run inside a transaction block" and the whole migration rolls back.

    Example:
        ``op.create_index("ix_events_code", "events", ["code"],
        postgresql_concurrently=True)`` directly in ``upgrade()``.

    How to fix:
        Put it in an autocommit block (which commits what came before it first)::

            with op.get_context().autocommit_block():
                op.create_index("ix_events_code", "events", ["code"],
                                postgresql_concurrently=True)
    """

    code = "L010"
    name = "concurrently-outside-autocommit"
    only_existing = False
    invalid = (
        on_existing('    op.create_index("ix_events_code", "events", ["code"],\n'
                    '                    postgresql_concurrently=True)'),
        on_existing('    op.execute("CREATE INDEX CONCURRENTLY ix_events_code ON events '
                    '(code)")', title="SQL form"),
        on_existing('    op.execute("VACUUM events")', title="VACUUM"),
    )
    valid = (
        on_existing('    with op.get_context().autocommit_block():\n'
                    '        op.create_index("ix_events_code", "events", ["code"],\n'
                    '                        postgresql_concurrently=True)',
                    title="in an autocommit block"),
        on_existing('    op.create_index("ix_events_code", "events", ["code"])',
                    title="not concurrent (see L001)"),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op, e = step.op, step.effect
        if op.autocommit or e.transaction or e.row is None \
                or e.row.key == "alter_enum_add_value":
            return None
        moved = lockfix.as_written(op) or "..."
        return (f"{op.describe()} cannot run inside a transaction block, and Alembic runs "
                "this migration in one: it fails.",
                "Run it in an autocommit block:\n" + lockfix.in_autocommit(moved))


class ValidateInSameTransaction(LockRule):
    """
    What it does:
        Flags ``VALIDATE CONSTRAINT`` of a constraint added ``NOT VALID`` earlier in the same
        migration (and so in the same transaction), on a table that existed before it.

    Why it matters:
        ``NOT VALID`` exists to take the strong lock briefly and validate later under a
        weak one. In one transaction the lock of ``ADD CONSTRAINT`` (ACCESS EXCLUSIVE for a
        CHECK, SHARE ROW EXCLUSIVE for a foreign key) is still held while the validation
        reads every row: nothing was gained.

    Example:
        ``ADD CONSTRAINT ck ... NOT VALID`` then ``VALIDATE CONSTRAINT ck`` in one
        ``upgrade()``.

    How to fix:
        Validate it in the next migration::

            # in a later revision:
            op.execute("ALTER TABLE events VALIDATE CONSTRAINT ck_events_code")
    """

    code = "L011"
    name = "validate-in-same-transaction"
    invalid = (
        on_existing('    op.execute("ALTER TABLE events ADD CONSTRAINT ck_events_code '
                    'CHECK (code <> \'\') NOT VALID")\n'
                    '    op.execute("ALTER TABLE events VALIDATE CONSTRAINT ck_events_code")',
                    line=BODY_LINE + 1),
        on_existing('    op.create_foreign_key("fk_events_account", "events", "accounts",\n'
                    '                          ["account_id"], ["id"],\n'
                    '                          postgresql_not_valid=True)\n'
                    '    op.execute("ALTER TABLE events VALIDATE CONSTRAINT fk_events_account")',
                    line=BODY_LINE + 3, title="Python form"),
    )
    valid = (
        on_existing('    op.execute("ALTER TABLE events VALIDATE CONSTRAINT ck_events_code")',
                    title="validated in a later migration"),
        on_existing('    op.execute("ALTER TABLE events ADD CONSTRAINT ck_events_code '
                    'CHECK (code <> \'\') NOT VALID")\n'
                    '    with op.get_context().autocommit_block():\n'
                    '        op.execute("ALTER TABLE events VALIDATE CONSTRAINT '
                    'ck_events_code")', title="after the transaction committed"),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        if not isinstance(op, ValidateConstraint) or op.autocommit:
            return None
        added = next((s.op for s in reversed(all_steps[:step.index])
                      if isinstance(s.op, AddConstraint) and s.op.table == op.table
                      and s.op.constraint.name == op.name and s.op.constraint.not_valid
                      and not s.op.autocommit), None)
        if added is None:
            return None
        return (f"validate constraint {op.name} in the transaction that added it NOT VALID: "
                "the lock of ADD CONSTRAINT is still held while every row is read.",
                "Validate it in the next migration:\n" + lockfix.LATER + "\n"
                + lockfix.execute(f"ALTER TABLE {op.table} VALIDATE CONSTRAINT {op.name}"))


class EnumValueInTransaction(LockRule):
    """
    What it does:
        Flags ``ALTER TYPE ... ADD VALUE`` outside an autocommit block when
        ``postgres_version`` is below 12.

    Why it matters:
        Before PostgreSQL 12, ``ALTER TYPE ... ADD VALUE`` cannot run inside a transaction
        block, so the migration fails.

    Example:
        ``op.execute("ALTER TYPE mood ADD VALUE 'tired'")`` on PostgreSQL 11.

    How to fix:
        Run it in an autocommit block::

            with op.get_context().autocommit_block():
                op.execute("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'tired'")
    """

    code = "L015"
    name = "enum-value-in-transaction"
    only_existing = False
    invalid = (on_existing('    op.execute("ALTER TYPE mood ADD VALUE \'tired\'")',
                           config={"postgres_version": 11}),)
    valid = (
        on_existing('    op.execute("ALTER TYPE mood ADD VALUE \'tired\'")',
                    title="PostgreSQL 12+"),
        on_existing('    with op.get_context().autocommit_block():\n'
                    '        op.execute("ALTER TYPE mood ADD VALUE \'tired\'")',
                    config={"postgres_version": 11}, title="in an autocommit block"),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        if not isinstance(op, AlterEnumAddValue) or op.autocommit or step.effect.transaction:
            return None
        return (f"add value {op.value!r} to {op.name} cannot run inside a transaction block "
                f"before PostgreSQL 12 (postgres_version = {version(ctx.project)}): it fails.",
                "Run it in an autocommit block:\n"
                + lockfix.in_autocommit(lockfix.as_written(op) or ""))


def _source(ctx: FileContext, op: Operation) -> str:
    lines = ctx.project.memo.setdefault("locks:source", SourceLines())
    assert isinstance(lines, SourceLines)
    return "\n".join(lines.line(op.loc.path, n) for n in op.loc.span_lines())


def _texts(op: Operation) -> list[str]:
    """The expressions an operation carries (defaults, checks, predicates)."""
    out: list[str | None] = []
    if isinstance(op, AddColumn):
        out.append(op.column.default)
    if isinstance(op, CreateTable):
        out += [c.default for c in op.columns] + [c.expression for c in op.constraints]
    if isinstance(op, AddConstraint):
        out.append(op.constraint.expression)
    if isinstance(op, CreateIndex):
        out.append(op.where)
    for attr in ("default", "using", "with_check", "where"):
        value = getattr(op, attr, None)
        out.append(value if isinstance(value, str) else None)
    return [t for t in out if t]


class NewEnumValueUsed(LockRule):
    """
    What it does:
        Flags a statement that uses an enum value added by ``ALTER TYPE ... ADD VALUE`` in
        the same transaction (the same migration, neither inside an autocommit block): a
        default, a CHECK, an index predicate, an ``UPDATE``/``INSERT`` or
        ``op.bulk_insert`` that names it.

    Why it matters:
        PostgreSQL refuses to use a new enum value before the transaction that added it
        commits ("unsafe use of new value"), so the migration fails.

    Example:
        ``ALTER TYPE mood ADD VALUE 'tired'`` then ``UPDATE events SET feeling = 'tired'``.

    How to fix:
        Add the value in an autocommit block (it commits at once), or use it in a later
        migration::

            with op.get_context().autocommit_block():
                op.execute("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'tired'")
    """

    code = "L016"
    name = "new-enum-value-used"
    only_existing = False
    invalid = (
        on_existing('    op.execute("ALTER TYPE mood ADD VALUE \'tired\'")\n'
                    '    op.execute("UPDATE events SET code = \'tired\' WHERE id = 1")',
                    line=BODY_LINE + 1),
        on_existing('    op.execute("ALTER TYPE mood ADD VALUE \'tired\'")\n'
                    '    op.add_column("events", sa.Column("feeling", sa.Text(),\n'
                    '                  server_default="tired"))',
                    line=BODY_LINE + 1, title="as a default"),
    )
    valid = (
        on_existing('    with op.get_context().autocommit_block():\n'
                    '        op.execute("ALTER TYPE mood ADD VALUE \'tired\'")\n'
                    '    op.execute("UPDATE events SET code = \'tired\' WHERE id = 1")',
                    title="added in an autocommit block"),
        on_existing('    op.execute("ALTER TYPE mood ADD VALUE \'tired\'")\n'
                    '    op.execute("UPDATE events SET code = \'calm\' WHERE id = 1")',
                    title="an old value"),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        if op.autocommit or isinstance(op, AlterEnumAddValue):
            return None
        added = [s.op for s in all_steps[:step.index]
                 if isinstance(s.op, AlterEnumAddValue) and not s.op.autocommit]
        if not added:
            return None
        texts = [*_texts(op), _source(ctx, op)]
        for add in added:
            assert isinstance(add, AlterEnumAddValue)
            literal = re.compile(rf"""(?<![\w'"])['"]{re.escape(add.value)}['"](?![\w'"])""")
            if any(literal.search(t) for t in texts):
                return (f"{op.describe()} uses {add.value!r}, which {add.name} gets in this "
                        "same transaction: PostgreSQL refuses a new enum value before it "
                        "commits, so the migration fails.",
                        "Add the value in an autocommit block first, or use it in a later "
                        "migration:\n" + lockfix.in_autocommit(lockfix.as_written(add) or ""))
        return None


class TransactionControlInMigration(LockRule):
    """
    What it does:
        Flags ``BEGIN``, ``COMMIT``, ``ROLLBACK`` and the two-phase commands written into a
        migration (``op.execute("COMMIT")``), outside an autocommit block.

    Why it matters:
        Alembic already wraps the migration in a transaction and records the new revision
        in ``alembic_version`` inside it. A ``COMMIT`` makes everything before it permanent
        even if a later statement fails (the database is then half-migrated and Alembic
        does not know it); a ``BEGIN`` or ``ROLLBACK`` tangles Alembic's own transaction.

    Example:
        ``op.execute("COMMIT")`` before ``ALTER TYPE ... ADD VALUE``.

    How to fix:
        Remove it; what must run outside the transaction goes in an autocommit block::

            with op.get_context().autocommit_block():
                op.execute("ALTER TYPE mood ADD VALUE 'tired'")
    """

    code = "L017"
    name = "transaction-control-in-migration"
    only_existing = False
    invalid = (
        on_existing('    op.execute("COMMIT")\n'
                    '    op.execute("ALTER TYPE mood ADD VALUE \'tired\'")'),
        on_existing('    op.execute("BEGIN")', title="BEGIN"),
    )
    valid = (
        on_existing('    op.execute("SAVEPOINT before_change")', title="a savepoint"),
        on_existing('    with op.get_context().autocommit_block():\n'
                    '        op.execute("ALTER TYPE mood ADD VALUE \'tired\'")',
                    title="an autocommit block"),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        if not isinstance(op, TransactionControl) or op.autocommit or op.verb in (
                "savepoint", "release", "rollback_to"):
            return None
        following = all_steps[step.index + 1:step.index + 2]
        moved = (lockfix.as_written(following[0].op)
                 or textwrap.dedent(_source(ctx, following[0].op)).strip()) if following \
            else "pass  # the statements that cannot run in a transaction"
        fix = ("Remove it (Alembic commits the migration itself), and run what must be "
               "outside the transaction in an autocommit block:\n"
               + lockfix.in_autocommit(moved))
        return (f"{op.describe()} inside a migration that Alembic already runs in a "
                "transaction: what came before it is committed (or lost) behind Alembic's "
                "back.", fix)


def _names(op: Operation) -> list[tuple[str, str]]:
    """(what, name) of every identifier the operation creates or gives."""
    out: list[tuple[str, str | None]] = []
    if isinstance(op, CreateTable):
        out.append(("table", op.table))
        out += [("column", c.name) for c in op.columns]
        out += [("constraint", c.name) for c in op.constraints]
    elif isinstance(op, AddColumn):
        out.append(("column", op.column.name))
    elif isinstance(op, AddConstraint):
        out.append(("constraint", op.constraint.name))
    elif isinstance(op, CreateIndex):
        out.append(("index", op.name))
    elif isinstance(op, CreatePolicy):
        out.append(("policy", op.name))
    elif isinstance(op, CreateEnumType):
        out.append(("type", op.name))
    elif isinstance(op, CreateSchema):
        out.append(("schema", op.name))
    elif isinstance(op, RenameTable | RenameColumn | RenameIndex | RenameConstraint
                    | RenameType):
        out.append((op.kind.removeprefix("rename_"), op.new_name))
    return [(w, n) for w, n in out if n]


#: a word or a quoted identifier that is certainly longer than 63 bytes
#: (a quoted identifier without spaces: the Python string around the SQL has them)
_LONG_WORD = re.compile(r'(?<![\w$"])([^\W\d][\w$]{63,})|"([^"\s]{64,})"')


class IdentifierTooLong(LockRule):
    """
    What it does:
        Flags a name longer than 63 bytes (UTF-8) given to a table, column, index,
        constraint, policy, type or schema.

    Why it matters:
        PostgreSQL silently truncates identifiers to 63 bytes. The object gets another
        name than the migration wrote: two long names with the same first 63 bytes clash,
        and whatever compares names (autogenerate, the canonical schema, a later
        migration built from the model's name) looks for one that does not exist.
        SQLAlchemy refuses index and constraint names this long outright.

    Example:
        ``op.create_index("ix_events_tenant_id_account_id_created_at_status_code_kind", ...)``

    How to fix:
        Give it a name of at most 63 bytes, such as the truncation PostgreSQL would make
        on purpose (the message shows it), or a shorter convention.
    """

    code = "L018"
    name = "identifier-too-long"
    only_existing = False
    invalid = (
        on_existing('    op.create_index("ix_events_tenant_id_account_id_code_and_a_few_more_'
                    'words_to_pass_63", "events", ["code"])'),
        on_existing('    op.execute("ALTER TABLE events ADD COLUMN a_column_name_that_goes_on_and_'
                    'and_on_until_it_is_longer_than_63 text")', title="SQL form"),
    )
    valid = (
        on_existing('    op.create_index("ix_events_code", "events", ["code"])'),
        same_migration('    op.add_column("fresh", sa.Column("a_name_of_exactly_sixty_three_'
                       'bytes_is_fine_as_postgres_keep_it", sa.Text()))',
                       title="63 bytes exactly"),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        names = _names(step.op)
        if step.op.source == "sql" and names:
            # PostgreSQL's parser (and so pglast) has already truncated what it read: the
            # names as written are in the source
            names = [("identifier", m.group(1) or m.group(2))
                     for m in _LONG_WORD.finditer(_source(ctx, step.op))]
        for what, name in names:
            size = len(name.encode())
            if size > PG_MAX_IDENT:
                cut = pg_truncate(name)
                return (f"{what} name {name!r} is {size} bytes: PostgreSQL truncates it to "
                        f"{cut!r} without an error.",
                        f"Name it in at most {PG_MAX_IDENT} bytes (for example {cut!r}).")
        return None


RULES: tuple[type[Rule], ...] = (
    NotInTransaction, ValidateInSameTransaction, EnumValueInTransaction, NewEnumValueUsed,
    TransactionControlInMigration, IdentifierTooLong,
)

