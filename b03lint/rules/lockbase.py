"""What every lock rule shares: the judgement of each upgrade operation by the lock model
(once per file and run), what "existing" means, the examples' parent migration, and the
base class. The rules are in :mod:`b03lint.rules.locks`, :mod:`b03lint.rules.timeouts`,
:mod:`b03lint.rules.blocking` and :mod:`b03lint.rules.runtime`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from b03lint.findings import Finding
from b03lint.operations import (
    OPERATION_TYPES,
    AddColumn,
    CreateTable,
    Operation,
    RenameColumn,
    RenameTable,
    Unresolved,
)
from b03lint.pgmodel.locks import DEFAULT_VERSION, Effect, blocks, effect
from b03lint.rules.base import Example, FileContext, Rule

if TYPE_CHECKING:
    from b03lint.project import Project
    from b03lint.schema.timeline import Before

ALL_KINDS = frozenset(OPERATION_TYPES)

# --------------------------------------------------------------------------- examples

_PARENT = '''"""create events"""
from alembic import op
import sqlalchemy as sa

revision = "a0"
down_revision = None


def upgrade():
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
    )
    op.create_table("accounts", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_index("ix_events_tenant_id", "events", ["tenant_id"])
    op.execute("CREATE TYPE mood AS ENUM ('calm', 'busy')")


def downgrade():
    op.drop_table("accounts")
    op.drop_table("events")
'''
FILES = {"alembic/versions/a0_create_events.py": _PARENT}

_HEAD = '''"""change events"""
from alembic import op
import sqlalchemy as sa

revision = "a1"
down_revision = "a0"


def upgrade():
'''
#: the first line of an example's upgrade() body
BODY_LINE = _HEAD.count("\n") + 1
#: the statement that keeps the timeout rules quiet in the other rules' examples
TIMEOUTS = ("    op.execute(\"SET lock_timeout = '5s'\")\n"
            "    op.execute(\"SET statement_timeout = '60s'\")\n")
QUIET = {"env_settings": ["lock_timeout", "statement_timeout"]}


def migration(body: str) -> str:
    return _HEAD + body + "\n\n\ndef downgrade():\n    pass\n"


def on_existing(body: str, line: int = BODY_LINE, title: str = "",
                config: dict[str, object] | None = None) -> Example:
    """An example migration on top of the parent that created ``events``."""
    return Example(migration(body), line=line, files=FILES, title=title,
                   config={**QUIET, **(config or {})})


def same_migration(body: str, title: str = "table created in the same migration") -> Example:
    create = ('    op.create_table("fresh", sa.Column("id", sa.Integer(), primary_key=True),\n'
              '                    sa.Column("code", sa.Text()))\n')
    return Example(migration(create + body), files=FILES, title=title, config=QUIET)


# --------------------------------------------------------------------------- the analysis


@dataclass(frozen=True)
class Step:
    """One upgrade operation of a linted migration, judged by the lock model."""

    op: Operation
    index: int
    state: Before | None
    effect: Effect
    #: the table it touches (an index's table for index operations)
    table: str | None
    #: that table holds rows that existed before this migration
    existing: bool
    #: the reader could not read all of the call (an unresolved part of it, such as a
    #: ``server_default`` computed at run time): what the rules would say may be wrong
    partial: bool = False


def version(project: Project) -> int:
    value = project.config.get("postgres_version")
    return value if isinstance(value, int) else DEFAULT_VERSION


def env_settings(project: Project) -> frozenset[str]:
    value = project.config.get("env_settings") or []
    return frozenset(str(v).lower() for v in value)


def created_here(ops: list[Operation], i: int, table: str) -> bool | None:
    """Whether ``ops[:i]`` create ``table`` (following renames back); None when an
    unresolved operation of that table may have."""
    for earlier in reversed(ops[:i]):
        if isinstance(earlier, CreateTable) and earlier.table == table:
            return True
        if isinstance(earlier, RenameTable) and earlier.new_name == table:
            table = earlier.table
        if isinstance(earlier, Unresolved) and earlier.table == table:
            return None
    return False


def column_added_here(ops: list[Operation], i: int, table: str, column: str) -> bool:
    for earlier in reversed(ops[:i]):
        if isinstance(earlier, AddColumn) and earlier.table == table \
                and earlier.column.name == column:
            return True
        if isinstance(earlier, RenameColumn) and earlier.table == table \
                and earlier.new_name == column:
            column = earlier.column
        if isinstance(earlier, RenameTable) and earlier.new_name == table:
            table = earlier.table
    return False


def steps(ctx: FileContext) -> list[Step]:
    """Every upgrade operation of the file, judged once per run for all lock rules."""
    project = ctx.project
    ver = version(project)
    key = f"locks:steps:{ver}:{ctx.file.path}"
    cached = project.memo.get(key)
    if isinstance(cached, list):
        return cached
    ops = ctx.file.upgrade_ops
    out: list[Step] = []
    for i, op in enumerate(ops):
        state = ctx.before(op)
        eff = effect(op, state, ver)
        table = op.table_name
        if table is None and state is not None and state.table is not None:
            table = state.table.name
        existing = False
        if table is not None and state is not None:
            existing = created_here(ops, i, table) is False and (
                state.table is not None or not state.certain)
        partial = not isinstance(op, Unresolved) and any(
            isinstance(other, Unresolved) and other.loc.line in op.loc.span_lines()
            and other.table in (None, table) for other in ops[i + 1:i + 4])
        out.append(Step(op, i, state, eff, table, existing, partial))
    project.memo[key] = out
    return out


def risk(step: Step) -> str:
    """``its ACCESS EXCLUSIVE lock blocks reads and writes of events while it rewrites the
    table`` (with the other tables it locks as strongly: a foreign key's referenced table)."""
    e = step.effect
    locks = [lk for lk in e.table_locks if not lk.maybe]
    mine = next((lk for lk in locks if lk.relation == step.table
                 or lk.relation.endswith(f".{step.table}")), None)
    mode = mine.mode if mine is not None else e.mode
    if mode is None:
        return "it takes no table lock"
    tables = [step.table or "its table"] + [lk.relation for lk in locks
                                            if lk is not mine and lk.mode == mode]
    what = f"its {mode} lock blocks {blocks(mode)} of {' and '.join(dict.fromkeys(tables))}"
    if e.rewrite:
        what += " while it rewrites the table"
    elif e.scan:
        what += " while it reads every row"
    return what


class LockRule(Rule):
    """Shared behaviour; subclasses hold the documentation."""

    category: ClassVar[str] = "locks"
    default_enabled: ClassVar[bool] = False
    uses_schema_before: ClassVar[bool] = True
    operation_kinds: ClassVar[frozenset[str]] = ALL_KINDS
    #: only operations on tables that hold rows from before this migration
    only_existing: ClassVar[bool] = True

    def check_file(self, ctx: FileContext) -> Iterable[Finding]:
        all_steps = steps(ctx)
        for step in all_steps:
            if (self.only_existing and not step.existing) or step.partial:
                continue
            found = self.problem(step, ctx, all_steps)
            if found is not None:
                message, fix = found
                yield self.finding(step.op.loc, message, object=self.object_of(step), fix=fix)

    def problem(self, step: Step, ctx: FileContext,
                all_steps: list[Step]) -> tuple[str, str] | None:
        raise NotImplementedError

    def object_of(self, step: Step) -> str | None:
        op = step.op
        column = getattr(op, "column", None)
        name = getattr(column, "name", column)
        if isinstance(name, str) and step.table:
            return f"{step.table}.{name}"
        other = getattr(op, "name", None)
        return other if isinstance(other, str) else step.table


