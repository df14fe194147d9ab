"""Statements outside the migration's transaction that cannot run twice (opt-in with the
``locks`` category), as squawk's ``prefer-robust-stmts`` judges them.

Alembic runs each migration in a transaction: when it fails, nothing of it stays, and it
can be run again. What runs in ``op.get_context().autocommit_block()`` is committed at
once, statement by statement; a migration that fails after it leaves it done, and the next
attempt stops at it.
"""

from __future__ import annotations

from b03lint.operations import (
    AddColumn,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropTable,
    DropType,
    Operation,
)
from b03lint.rules import lockfix
from b03lint.rules.base import Example, FileContext, Rule
from b03lint.rules.lockbase import FILES, QUIET, LockRule, Step, migration, on_existing

#: operation type -> (the guard it lacks, Alembic's keyword for it, or None)
GUARDS: dict[type[Operation], tuple[str, str | None]] = {
    CreateIndex: ("IF NOT EXISTS", "if_not_exists"),
    CreateTable: ("IF NOT EXISTS", "if_not_exists"),
    AddColumn: ("IF NOT EXISTS", "if_not_exists"),
    DropIndex: ("IF EXISTS", "if_exists"),
    DropTable: ("IF EXISTS", "if_exists"),
    DropColumn: ("IF EXISTS", "if_exists"),
    DropConstraint: ("IF EXISTS", "if_exists"),
    DropType: ("IF EXISTS", None),
}


def missing_guard(op: Operation) -> tuple[str, str | None] | None:
    """The guard ``op`` would need to run twice, when it lacks it."""
    guard = GUARDS.get(type(op))
    if guard is None:
        return None
    flag = "if_not_exists" if guard[0] == "IF NOT EXISTS" else "if_exists"
    if getattr(op, flag, False):
        return None
    if isinstance(op, CreateIndex) and op.name is None:
        return None
    return guard


def _autocommit(body: str) -> str:
    lines = body.splitlines()
    return "    with op.get_context().autocommit_block():\n" + "\n".join(
        "    " + line for line in lines)


class PreferRobustStatements(LockRule):
    """
    What it does:
        Flags a statement run in an autocommit block (outside the migration's transaction)
        that fails when it runs a second time: ``CREATE INDEX``, ``CREATE TABLE`` and
        ``ADD COLUMN`` without ``IF NOT EXISTS``; ``DROP INDEX``, ``DROP TABLE``,
        ``DROP TYPE``, ``DROP COLUMN`` and ``DROP CONSTRAINT`` without ``IF EXISTS``. It
        is squawk's ``prefer-robust-stmts``, for Alembic, where a migration runs in a
        transaction except what ``autocommit_block()`` holds.

    Why it matters:
        A statement in an autocommit block is committed as soon as it runs. When the
        migration fails later, Alembic has not recorded it as applied, so the next
        ``alembic upgrade`` runs the statement again and fails ("already exists", "does
        not exist"): someone has to repair the database by hand.

    Example:
        ``op.create_index("ix_events_code", "events", ["code"],
        postgresql_concurrently=True)`` in ``autocommit_block()``.

    How to fix:
        Add the guard: ``if_not_exists=True`` / ``if_exists=True`` (Alembic 1.12+ for
        indexes, 1.13.3+ for tables, 1.16+ for columns and constraints), or ``IF NOT
        EXISTS`` / ``IF EXISTS`` in the SQL::

            with op.get_context().autocommit_block():
                op.create_index("ix_events_code", "events", ["code"],
                                postgresql_concurrently=True, if_not_exists=True)

        A ``CREATE INDEX CONCURRENTLY`` that failed leaves an INVALID index behind, which
        ``IF NOT EXISTS`` then skips: check ``pg_index.indisvalid`` after a failure.
        ``b03lint check --fix`` adds the guard.
    """

    code = "L021"
    name = "prefer-robust-statements"
    default_severity = "warning"
    only_existing = False
    invalid = (
        on_existing(_autocommit('    op.create_index("ix_events_code", "events", ["code"],\n'
                                '                    postgresql_concurrently=True)'),
                    line=11),
        on_existing(_autocommit('    op.execute("DROP INDEX CONCURRENTLY ix_events_tenant_id")'),
                    line=11, title="SQL form"),
        on_existing(_autocommit('    op.drop_column("events", "code")'), line=11,
                    title="a column"),
    )
    valid = (
        on_existing(_autocommit('    op.create_index("ix_events_code", "events", ["code"],\n'
                                '                    postgresql_concurrently=True,\n'
                                '                    if_not_exists=True)'),
                    title="with the guard"),
        on_existing(_autocommit('    op.execute("DROP INDEX CONCURRENTLY IF EXISTS '
                                'ix_events_tenant_id")'), title="SQL form, guarded"),
        Example(migration('    op.drop_column("events", "code")'), files=FILES, config=QUIET,
                title="in the migration's transaction"),
    )

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        op = step.op
        if not op.autocommit or op.phase != "upgrade":
            return None
        guard = missing_guard(op)
        if guard is None:
            return None
        words, keyword = guard
        how = f"`{keyword}=True`, or {words} in SQL" if keyword else f"{words} in SQL"
        code = lockfix.guarded(op)
        return (f"{op.describe()} without {words} in an autocommit block: it is committed "
                "at once, so a migration that fails after it cannot be run again.",
                f"Add {how}" + (":\n" + lockfix.in_autocommit(code) if code else "."))


RULES: tuple[type[Rule], ...] = (PreferRobustStatements,)
