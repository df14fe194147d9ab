"""Lock and statement timeouts before locking DDL on existing tables (opt-in with the
``locks`` category): the lock queue and unbounded scans, the two ways a short migration
takes a busy table down."""

from __future__ import annotations

from typing import ClassVar

from b03lint.operations import (
    SetParameter,
)
from b03lint.rules import lockfix
from b03lint.rules.base import Example, FileContext, Rule
from b03lint.rules.lockbase import (
    BODY_LINE,
    FILES,
    LockRule,
    Step,
    env_settings,
    migration,
    on_existing,
    risk,
)

# --------------------------------------------------------------------------- timeouts


def _timeout_set(parameter: str, ctx: FileContext, before: int) -> bool:
    if parameter in env_settings(ctx.project):
        return True
    state = False
    for op in ctx.file.upgrade_ops[:before]:
        if isinstance(op, SetParameter) and op.name == parameter:
            state = op.value is not None and op.value.strip("'\" ").lower() not in (
                "0", "default")
    return state


class _Timeout(LockRule):
    parameter: ClassVar[str] = ""
    suggested: ClassVar[str] = ""

    def needs(self, step: Step) -> bool:
        raise NotImplementedError

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        if not self.needs(step) or _timeout_set(self.parameter, ctx, step.index):
            return None
        first = next(s for s in all_steps if s.existing and self.needs(s))
        if first is not step:
            return None  # once per migration, at the first statement that needs it
        return (f"{step.op.describe()} without {self.parameter}: {self.hazard(step)}.",
                f"Set {self.parameter} first (or in env.py, declared in env_settings):\n"
                + lockfix.timeout_first(self.parameter, self.suggested))

    def hazard(self, step: Step) -> str:
        raise NotImplementedError


class LockTimeoutMissing(_Timeout):
    """
    What it does:
        Flags the first statement of a migration that takes a lock blocking reads or writes
        of an existing table when no ``lock_timeout`` is set before it: neither in the
        migration (``SET lock_timeout``, ``set_config('lock_timeout', ...)``) nor, as the
        configuration declares (``env_settings = ["lock_timeout"]``), by ``env.py``.

    Why it matters:
        A lock request waits behind every transaction that holds a conflicting lock, and
        while it waits every new query on the table queues behind it: a brief ACCESS
        EXCLUSIVE lock behind one long report takes the table down. ``lock_timeout`` makes
        the migration give up (and retry later) instead.

    Example:
        ``op.add_column("events", sa.Column("note", sa.Text()))`` as the first statement.

    How to fix:
        ``op.execute("SET lock_timeout = '5s'")`` first in ``upgrade()``, or set it for
        every migration in ``env.py`` and declare it: ``env_settings = ["lock_timeout"]``.
    """

    code = "L008"
    name = "lock-timeout-missing"
    parameter = "lock_timeout"
    suggested = "5s"
    invalid = (
        on_existing('    op.add_column("events", sa.Column("note", sa.Text()))',
                    config={"env_settings": []}),
        on_existing('    op.execute("SET statement_timeout = \'60s\'")\n'
                    '    op.execute("ALTER TABLE events ADD COLUMN note text")',
                    line=BODY_LINE + 1, config={"env_settings": []}, title="SQL form"),
    )
    valid = (
        on_existing('    op.execute("SET lock_timeout = \'5s\'")\n'
                    '    op.add_column("events", sa.Column("note", sa.Text()))',
                    config={"env_settings": []}, title="set in the migration"),
        on_existing('    op.add_column("events", sa.Column("note", sa.Text()))',
                    config={"env_settings": ["lock_timeout"]}, title="set by env.py"),
        Example(migration('    op.create_table("fresh", sa.Column("id", sa.Integer()))'),
                files=FILES, title="a new table"),
    )

    def needs(self, step: Step) -> bool:
        return step.effect.blocks in ("reads and writes", "writes")

    def hazard(self, step: Step) -> str:
        return (f"while its {step.effect.mode} lock waits for running transactions, every "
                f"query on {step.table} queues behind it")


class StatementTimeoutMissing(_Timeout):
    """
    What it does:
        Flags the first statement of a migration that reads or rewrites a whole existing
        table under a lock that blocks reads or writes when no ``statement_timeout`` is set
        before it (in the migration, or by ``env.py`` as ``env_settings`` declares).

    Why it matters:
        How long the table stays locked is then unbounded: it grows with the table, and a
        migration that took a second on staging holds production for an hour.
        ``statement_timeout`` bounds it, and the migration fails cleanly instead.

    Example:
        ``op.alter_column("events", "code", nullable=False)`` (reads every row).

    How to fix:
        ``op.execute("SET statement_timeout = '60s'")`` first in ``upgrade()``, or in
        ``env.py`` with ``env_settings = ["statement_timeout"]``; better, use the form that
        does not scan under the lock (the other lock rules say which).
    """

    code = "L009"
    name = "statement-timeout-missing"
    parameter = "statement_timeout"
    suggested = "60s"
    invalid = (
        on_existing('    op.alter_column("events", "code", nullable=False)',
                    config={"env_settings": ["lock_timeout"]}),
    )
    valid = (
        on_existing('    op.execute("SET statement_timeout = \'60s\'")\n'
                    '    op.alter_column("events", "code", nullable=False)',
                    config={"env_settings": ["lock_timeout"]}, title="set in the migration"),
        on_existing('    op.add_column("events", sa.Column("note", sa.Text()))',
                    config={"env_settings": ["lock_timeout"]}, title="no scan"),
    )

    def needs(self, step: Step) -> bool:
        return step.effect.blocks in ("reads and writes", "writes") and bool(
            step.effect.scan or step.effect.rewrite)

    def hazard(self, step: Step) -> str:
        return f"{risk(step)}, for as long as that takes"




RULES: tuple[type[Rule], ...] = (
    LockTimeoutMissing, StatementTimeoutMissing,
)
