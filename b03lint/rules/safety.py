"""Lock safety: DDL that blocks reads or writes of a table that already holds rows, or
fails on one (opt-in: ``select``/``extend_select = ["safety"]``).

"Existing" comes from the replayed schema: a table (column, index) exists when the chain
up to this migration's parents builds it and this migration has not created it (again)
before the operation. A table created earlier in the same migration is empty, so nothing
here fires for it: squawk, which sees one file at a time, cannot tell the difference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from b03lint.findings import Finding
from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterColumnNullable,
    CreateIndex,
    CreateTable,
    DropIndex,
    Location,
    Operation,
    RenameColumn,
    RenameIndex,
    RenameTable,
    Unresolved,
)
from b03lint.rules.base import Example, FileContext, Option, Rule

if TYPE_CHECKING:
    from b03lint.project import Project
    from b03lint.schema.model import Schema

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


def downgrade():
    op.drop_table("accounts")
    op.drop_table("events")
'''
_FILES = {"alembic/versions/a0_create_events.py": _PARENT}

_HEAD = '''"""change events"""
from alembic import op
import sqlalchemy as sa

revision = "a1"
down_revision = "a0"


def upgrade():
'''
#: the first line of an example's upgrade() body
BODY_LINE = _HEAD.count("\n") + 1


def _mig(body: str) -> str:
    return _HEAD + body + "\n\n\ndef downgrade():\n    pass\n"


def _on_existing(body: str, line: int = BODY_LINE, title: str = "") -> Example:
    """An example migration on top of the parent that created ``events``."""
    return Example(_mig(body), line=line, files=_FILES, title=title)


def _same_migration(body: str, title: str = "table created in the same migration") -> Example:
    create = ('    op.create_table("fresh", sa.Column("id", sa.Integer(), primary_key=True),\n'
              '                    sa.Column("code", sa.Text()))\n')
    return Example(_mig(create + body), files=_FILES, title=title)


# --------------------------------------------------------------------------- the schema before


@dataclass(frozen=True)
class Facts:
    """What lock safety needs to know of a schema: its tables with their columns, and
    which table each index is on."""

    tables: dict[str, frozenset[str]]
    indexes: dict[str, str]

    @classmethod
    def of(cls, schema: Schema) -> Facts:
        return cls({name: frozenset(t.columns) for name, t in schema.tables.items()},
                   {name: idx.table for name, idx in schema.indexes.items()})


class _Before:
    """The schema after each revision, computed once per run.

    One fold walks the whole chain in graph order and notes the facts after every
    revision whose ancestors are exactly the revisions before it in that order (every
    revision of a linear chain, and again after each merge): there, the running schema is
    the schema that revision leaves. Other revisions (branch tips) are replayed on their
    own with :func:`b03lint.contract.replay_chain`, memoised. So a linear chain of n
    revisions costs one fold, not n.
    """

    def __init__(self, project: Project):
        self.project = project
        graph = project.graph
        self.position = {rev: i for i, rev in enumerate(graph.order)}
        bits: dict[str, int] = {}
        for i, rev in enumerate(graph.order):
            mask = 1 << i
            for parent in graph.parents.get(rev, ()):
                mask |= bits.get(parent, 0)
            bits[rev] = mask
        #: revisions after which the running fold is exactly their schema
        self.linear = {rev for i, rev in enumerate(graph.order) if bits[rev].bit_count() == i + 1}
        self.after: dict[str, Facts] = {}
        self.folded = False

    def facts_after(self, revision: str) -> Facts | None:
        if revision not in self.position:
            return None  # in a cycle, or unknown: not replayable
        if revision in self.linear and not self.folded:
            self._fold()
        if revision not in self.after:
            from b03lint.contract import replay_chain

            self.after[revision] = Facts.of(replay_chain(self.project.graph, revision).schema)
        return self.after[revision]

    def _fold(self) -> None:
        from b03lint.schema.replay import Folder

        self.folded = True
        graph = self.project.graph
        folder = Folder("lock safety")
        for rev in graph.order:
            mf = graph.nodes[rev]
            folder.revision = rev
            ops: list[Operation] = list(mf.upgrade_ops)
            if not mf.readable:  # as replay_chain does
                ops = [Unresolved(loc=Location(mf.path, 1, 0),
                                  reason="the file could not be read")]
            for op in ops:
                folder.apply(op)
            if rev in self.linear:
                self.after[rev] = Facts.of(folder.schema)


def schemas_before(ctx: FileContext) -> list[Facts]:
    """The facts of the schema(s) this migration starts from: one per parent revision (a
    merge has several; a base revision starts from an empty schema, i.e. none)."""
    mf = ctx.file
    project = ctx.project
    graph = project.graph
    if mf.revision is None or graph.nodes.get(mf.revision) is not mf:
        return []  # no revision, or a duplicate: where it runs is not known
    before = project.memo.get("safety:before")
    if not isinstance(before, _Before):
        before = project.memo["safety:before"] = _Before(project)
    out: list[Facts] = []
    for parent in graph.parents.get(mf.revision, ()):
        facts = before.facts_after(parent)
        if facts is not None:
            out.append(facts)
    return out


def _earlier(ctx: FileContext, op: Operation) -> Iterator[Operation]:
    """The operations of this migration's upgrade() before ``op``, latest first."""
    ops = ctx.file.upgrade_ops
    for i, other in enumerate(ops):
        if other is op:
            yield from reversed(ops[:i])
            return


def existing_table(ctx: FileContext, op: Operation, table: str) -> bool:
    """Whether ``table`` holds the rows of a table that existed before this migration."""
    for earlier in _earlier(ctx, op):
        if isinstance(earlier, CreateTable) and earlier.table == table:
            return False
        if isinstance(earlier, RenameTable) and earlier.new_name == table:
            table = earlier.table
    return any(table in facts.tables for facts in schemas_before(ctx))


def existing_column(ctx: FileContext, op: Operation, table: str, column: str) -> bool:
    for earlier in _earlier(ctx, op):
        if isinstance(earlier, CreateTable) and earlier.table == table:
            return False
        if (isinstance(earlier, AddColumn) and earlier.table == table
                and earlier.column.name == column):
            return False
        if isinstance(earlier, RenameColumn) and earlier.table == table \
                and earlier.new_name == column:
            column = earlier.column
        if isinstance(earlier, RenameTable) and earlier.new_name == table:
            table = earlier.table
    return any(column in facts.tables.get(table, ()) for facts in schemas_before(ctx))


def existing_index_table(ctx: FileContext, op: Operation, name: str) -> str | None:
    """The table of index ``name`` if the index existed before this migration."""
    for earlier in _earlier(ctx, op):
        if isinstance(earlier, CreateIndex) and earlier.name == name:
            return None
        if isinstance(earlier, RenameIndex) and earlier.new_name == name:
            name = earlier.name
    for facts in schemas_before(ctx):
        if name in facts.indexes:
            return facts.indexes[name]
    return None


class SafetyRule(Rule):
    """Shared behaviour; subclasses hold the documentation."""

    category: ClassVar[str] = "safety"
    default_enabled: ClassVar[bool] = False
    remedy: ClassVar[str] = ""

    def check_operation(self, op: Operation, ctx: FileContext) -> Iterable[Finding]:
        message = self.problem(op, ctx)
        if message is not None:
            yield self.finding(op.loc, message, object=self.object_of(op), fix=self.remedy)

    def problem(self, op: Operation, ctx: FileContext) -> str | None:
        raise NotImplementedError

    def object_of(self, op: Operation) -> str | None:
        column = getattr(op, "column", None)
        name = getattr(column, "name", column)
        if isinstance(name, str) and op.table_name:
            return f"{op.table_name}.{name}"
        other = getattr(op, "name", None)
        return other if isinstance(other, str) else op.table_name


class IndexWithoutConcurrently(SafetyRule):
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
    operation_kinds = frozenset({CreateIndex.kind})
    remedy = "create it with CONCURRENTLY (postgresql_concurrently=True in an autocommit block)"
    invalid = (
        _on_existing('    op.create_index("ix_events_code", "events", ["code"])'),
        _on_existing('    op.execute("CREATE UNIQUE INDEX ix_events_code ON events (code)")',
                     title="SQL form"),
    )
    valid = (
        _on_existing('    with op.get_context().autocommit_block():\n'
                     '        op.create_index("ix_events_code", "events", ["code"],\n'
                     '                        postgresql_concurrently=True)', title="concurrently"),
        _same_migration('    op.create_index("ix_fresh_code", "fresh", ["code"])'),
    )

    def problem(self, op: Operation, ctx: FileContext) -> str | None:
        if not isinstance(op, CreateIndex) or op.concurrently:
            return None
        if not existing_table(ctx, op, op.table):
            return None
        return (f"{op.describe()} without CONCURRENTLY: writes to {op.table} are blocked "
                "while the index builds")


class DropIndexWithoutConcurrently(SafetyRule):
    """
    What it does:
        Flags ``DROP INDEX`` without ``CONCURRENTLY`` of an index that existed before this
        migration.

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
    operation_kinds = frozenset({DropIndex.kind})
    remedy = "drop it with CONCURRENTLY (postgresql_concurrently=True in an autocommit block)"
    invalid = (
        _on_existing('    op.drop_index("ix_events_tenant_id", table_name="events")'),
        _on_existing('    op.execute("DROP INDEX ix_events_tenant_id")', title="SQL form"),
    )
    valid = (
        _on_existing('    op.execute("DROP INDEX CONCURRENTLY ix_events_tenant_id")',
                     title="concurrently"),
        _same_migration('    op.create_index("ix_fresh_code", "fresh", ["code"])\n'
                        '    op.drop_index("ix_fresh_code", table_name="fresh")',
                        title="index created in the same migration"),
    )

    def problem(self, op: Operation, ctx: FileContext) -> str | None:
        if not isinstance(op, DropIndex) or op.concurrently:
            return None
        table = existing_index_table(ctx, op, op.name)
        if table is None:
            return None
        return (f"{op.describe()} without CONCURRENTLY: locks {table} against reads and writes "
                "until it is done")


class ConstraintWithoutNotValid(SafetyRule):
    """
    What it does:
        Flags a foreign key or CHECK constraint added without ``NOT VALID`` to a table
        that existed before this migration.

    Why it matters:
        Adding the constraint scans every row to validate it while holding a lock that
        blocks writes to the table (and, for a foreign key, to the referenced table).

    Example:
        ``ALTER TABLE events ADD CONSTRAINT fk_events_account FOREIGN KEY (account_id)
        REFERENCES accounts (id)``

    How to fix:
        Add it ``NOT VALID`` (a brief lock, no scan), then validate it in a later
        migration: ``ALTER TABLE events VALIDATE CONSTRAINT fk_events_account`` only takes
        a lock that lets reads and writes continue.
    """

    code = "L003"
    name = "constraint-without-not-valid"
    operation_kinds = frozenset({AddConstraint.kind})
    remedy = "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration"
    invalid = (
        _on_existing('    op.execute("ALTER TABLE events ADD CONSTRAINT fk_events_account '
                     'FOREIGN KEY (account_id) REFERENCES accounts (id)")'),
        _on_existing('    op.create_check_constraint("ck_events_code", "events",\n'
                     '                               "code <> \'\'")', title="CHECK, Python"),
    )
    valid = (
        _on_existing('    op.execute("ALTER TABLE events ADD CONSTRAINT fk_events_account '
                     'FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID")\n'
                     '    op.execute("ALTER TABLE events VALIDATE CONSTRAINT fk_events_account")',
                     title="NOT VALID, then VALIDATE"),
        _same_migration('    op.create_check_constraint("ck_fresh_code", "fresh", '
                        '"code <> \'\'")'),
    )

    def problem(self, op: Operation, ctx: FileContext) -> str | None:
        if not isinstance(op, AddConstraint):
            return None
        con = op.constraint
        if con.kind not in ("foreign_key", "check") or con.not_valid:
            return None
        if not existing_table(ctx, op, op.table):
            return None
        what = "foreign key" if con.kind == "foreign_key" else "CHECK"
        also = (f" and to {con.references.table}" if con.kind == "foreign_key"
                and con.references is not None else "")
        return (f"{op.describe()} without NOT VALID: every row is checked while writes to "
                f"{op.table}{also} are blocked ({what})")


class SetNotNull(SafetyRule):
    """
    What it does:
        Flags ``ALTER COLUMN ... SET NOT NULL`` (``op.alter_column(..., nullable=False)``)
        on a column that existed before this migration.

    Why it matters:
        PostgreSQL scans the whole table to prove there is no NULL while holding an ACCESS
        EXCLUSIVE lock: no reads, no writes until the scan ends.

    Example:
        ``op.alter_column("events", "code", nullable=False)``

    How to fix:
        Add ``CHECK (code IS NOT NULL) NOT VALID``, validate it in a later migration, then
        ``SET NOT NULL`` (PostgreSQL 12+ uses the valid constraint and skips the scan) and
        drop the CHECK.
    """

    code = "L004"
    name = "set-not-null"
    operation_kinds = frozenset({AlterColumnNullable.kind})
    remedy = ("add CHECK (col IS NOT NULL) NOT VALID, validate it, then SET NOT NULL and drop "
              "the check")
    invalid = (
        _on_existing('    op.alter_column("events", "code", nullable=False)'),
        _on_existing('    op.execute("ALTER TABLE events ALTER COLUMN code SET NOT NULL")',
                     title="SQL form"),
    )
    valid = (
        _on_existing('    op.alter_column("events", "code", nullable=True)',
                     title="DROP NOT NULL"),
        _same_migration('    op.alter_column("fresh", "code", nullable=False)'),
        _on_existing('    op.add_column("events", sa.Column("note", sa.Text()))\n'
                     '    op.alter_column("events", "note", nullable=False)',
                     title="column added in the same migration (see L005)"),
    )

    def problem(self, op: Operation, ctx: FileContext) -> str | None:
        if not isinstance(op, AlterColumnNullable) or op.nullable:
            return None
        if not existing_column(ctx, op, op.table, op.column):
            return None
        return (f"{op.describe()}: the whole table is scanned under an ACCESS EXCLUSIVE lock")


class NotNullColumnWithoutDefault(SafetyRule):
    """
    What it does:
        Flags ``ADD COLUMN ... NOT NULL`` without a default on a table that existed before
        this migration.

    Why it matters:
        The existing rows have no value for the new column, so the migration fails on any
        table that holds rows (it only works on an empty table, e.g. in a fresh test
        database, which hides the problem until production).

    Example:
        ``op.add_column("events", sa.Column("source", sa.Text(), nullable=False))``

    How to fix:
        Give it a constant ``server_default`` (PostgreSQL 11+ adds it without rewriting the
        table), or add it nullable, backfill, and set NOT NULL safely (see L004).
    """

    code = "L005"
    name = "not-null-column-without-default"
    operation_kinds = frozenset({AddColumn.kind})
    remedy = "give it a constant server_default, or add it nullable and backfill first"
    invalid = (
        _on_existing('    op.add_column("events", sa.Column("source", sa.Text(), '
                     'nullable=False))'),
        _on_existing('    op.execute("ALTER TABLE events ADD COLUMN source text NOT NULL")',
                     title="SQL form"),
    )
    valid = (
        _on_existing('    op.add_column("events", sa.Column("source", sa.Text(), '
                     'nullable=False,\n'
                     '                                      server_default="api"))',
                     title="with a default"),
        _same_migration('    op.add_column("fresh", sa.Column("source", sa.Text(), '
                        'nullable=False))'),
    )

    def problem(self, op: Operation, ctx: FileContext) -> str | None:
        if not isinstance(op, AddColumn):
            return None
        col = op.column
        if col.nullable or col.default is not None or col.identity:
            return None
        if not existing_table(ctx, op, op.table):
            return None
        return (f"{op.describe()} is NOT NULL without a default: it fails on a table that "
                "holds rows")


_VOLATILE = ["random", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc",
             "uuid_generate_v4", "clock_timestamp", "timeofday", "nextval", "setseed",
             "txid_current"]


class VolatileDefault(SafetyRule):
    """
    What it does:
        Flags ``ADD COLUMN`` with a volatile default, such as ``random()``,
        ``gen_random_uuid()``, ``clock_timestamp()`` or a sequence's ``nextval()`` (a
        ``serial`` column), on a table that existed before this migration. ``now()`` and
        ``CURRENT_TIMESTAMP`` are stable and fine.

    Why it matters:
        Since PostgreSQL 11 a constant default is stored once and the table is not
        touched; a volatile default must be computed for every row, so the whole table is
        rewritten under an ACCESS EXCLUSIVE lock.

    Example:
        ``op.add_column("events", sa.Column("public_id", postgresql.UUID(),
        server_default=sa.text("gen_random_uuid()")))``

    How to fix:
        Add the column without a default (or with a constant one), backfill it in batches,
        then set the default for new rows with ``ALTER COLUMN ... SET DEFAULT``.
    """

    code = "L006"
    name = "volatile-default"
    operation_kinds = frozenset({AddColumn.kind})
    options: ClassVar[dict[str, Option]] = {"volatile_functions": Option(
        default=_VOLATILE, type=list,
        doc="function names whose presence in a default makes it volatile")}
    remedy = "add the column without the default, backfill in batches, then SET DEFAULT"
    invalid = (
        _on_existing('    op.add_column("events", sa.Column("public_id", sa.Text(),\n'
                     '                  server_default=sa.text("gen_random_uuid()")))'),
        _on_existing('    op.execute("ALTER TABLE events ADD COLUMN seen_at timestamptz '
                     'DEFAULT clock_timestamp()")', title="SQL form"),
        _on_existing('    op.execute("ALTER TABLE events ADD COLUMN seq serial")',
                     title="a serial column"),
    )
    valid = (
        _on_existing('    op.add_column("events", sa.Column("created_at", sa.DateTime(),\n'
                     '                  server_default=sa.text("now()")))', title="now()"),
        _same_migration('    op.add_column("fresh", sa.Column("r", sa.Float(),\n'
                        '                  server_default=sa.text("random()")))'),
    )

    def problem(self, op: Operation, ctx: FileContext) -> str | None:
        if not isinstance(op, AddColumn) or not op.column.default:
            return None
        names = [n for n in self.opts["volatile_functions"] if isinstance(n, str)]
        if not names:
            return None
        pattern = r"\b(" + "|".join(map(re.escape, names)) + r")\s*\("
        found = re.search(pattern, op.column.default, re.IGNORECASE)
        if found is None or not existing_table(ctx, op, op.table):
            return None
        return (f"{op.describe()} with the volatile default {op.column.default}: every row is "
                "rewritten under an ACCESS EXCLUSIVE lock")


class UniqueConstraintInPlace(SafetyRule):
    """
    What it does:
        Flags a UNIQUE (or PRIMARY KEY) constraint added to a table that existed before
        this migration by building its index in place, instead of from an index built
        concurrently (``ADD CONSTRAINT ... UNIQUE USING INDEX``).

    Why it matters:
        The constraint's index is built under a lock that blocks every write to the table
        for the whole build.

    Example:
        ``op.create_unique_constraint("uq_events_code", "events", ["code"])``

    How to fix:
        ``CREATE UNIQUE INDEX CONCURRENTLY uq_events_code ON events (code)`` (in an
        autocommit block), then
        ``ALTER TABLE events ADD CONSTRAINT uq_events_code UNIQUE USING INDEX uq_events_code``.
    """

    code = "L007"
    name = "unique-constraint-in-place"
    operation_kinds = frozenset({AddConstraint.kind})
    remedy = "build a unique index CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX"
    invalid = (
        _on_existing('    op.create_unique_constraint("uq_events_code", "events", ["code"])'),
        _on_existing('    op.execute("ALTER TABLE events ADD CONSTRAINT uq_events_code '
                     'UNIQUE (code)")', title="SQL form"),
    )
    valid = (
        _on_existing('    op.execute("ALTER TABLE events ADD CONSTRAINT uq_events_code '
                     'UNIQUE USING INDEX uq_events_code")', title="USING INDEX"),
        _same_migration('    op.create_unique_constraint("uq_fresh_code", "fresh", ["code"])'),
    )

    def problem(self, op: Operation, ctx: FileContext) -> str | None:
        if not isinstance(op, AddConstraint):
            return None
        con = op.constraint
        # ``USING INDEX`` is read as a constraint without columns: the index has them
        if con.kind not in ("unique", "primary_key") or not con.columns:
            return None
        if not existing_table(ctx, op, op.table):
            return None
        return (f"{op.describe()} builds its index in place: writes to {op.table} are "
                "blocked while it builds")


RULES: tuple[type[Rule], ...] = (
    IndexWithoutConcurrently, DropIndexWithoutConcurrently, ConstraintWithoutNotValid,
    SetNotNull, NotNullColumnWithoutDefault, VolatileDefault, UniqueConstraintInPlace,
)
