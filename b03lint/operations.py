"""The typed vocabulary every reader produces and every rule consumes.

A migration's ``op.*`` calls, its ``batch_alter_table`` blocks and the SQL inside
``op.execute(...)`` all become the same :class:`Operation` objects, so a rule never
needs to know whether the author wrote Python or SQL.

This module imports nothing of b03lint's own and nothing heavy: it is on every path.
"""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost
    from b03lint.records import record

Phase = Literal["upgrade", "downgrade", "module"]
Source = Literal["python", "sql"]
ConstraintKind = Literal["primary_key", "unique", "foreign_key", "check", "exclude"]


@record(frozen=True, slots=True)
class Location:
    """A place in a file: 1-based line, 0-based column (as ``ast`` gives them)."""

    path: str
    line: int
    column: int = 0
    end_line: int | None = None
    end_column: int | None = None

    def span_lines(self) -> range:
        """Every line the located thing covers."""
        return range(self.line, (self.end_line or self.line) + 1)


@record(frozen=True, slots=True)
class Related:
    """Another place that explains a located thing, with what it is: where the helper an
    operation came through writes it (the operation itself sits at the call)."""

    loc: Location
    message: str


# --------------------------------------------------------------------------- parts


@record(frozen=True, slots=True)
class ColumnDef:
    """A column as a migration or canonical file declares it.

    ``type`` is normalised by :func:`b03lint.sqltypes.normalize_type` (``varchar(100)``,
    ``timestamptz``, ``numeric(5,4)``, ...); ``None`` when it could not be resolved.
    ``default`` is the server default as SQL text (``now()``, ``'pending'``), or None.
    """

    name: str
    type: str | None
    nullable: bool = True
    default: str | None = None
    primary_key: bool = False
    unique: bool = False
    references: ForeignKeyRef | None = None
    check: str | None = None
    identity: bool = False
    #: ``GENERATED ALWAYS AS (expr) STORED`` / ``sa.Computed(expr)``: the expression
    generated: str | None = None


@record(frozen=True, slots=True)
class ForeignKeyRef:
    table: str
    columns: tuple[str, ...]
    on_delete: str | None = None
    on_update: str | None = None


@record(frozen=True, slots=True)
class ConstraintDef:
    """A table constraint. For CHECK constraints of the form ``col IN ('a', 'b')`` (or
    ``col = ANY (ARRAY[...])``) ``enum_column``/``enum_values`` hold the value set."""

    kind: ConstraintKind
    name: str | None
    columns: tuple[str, ...] = ()
    expression: str | None = None
    references: ForeignKeyRef | None = None
    enum_column: str | None = None
    enum_values: tuple[str, ...] | None = None
    not_valid: bool = False
    deferrable: bool = False
    #: ``ADD CONSTRAINT ... UNIQUE|PRIMARY KEY USING INDEX idx``: the index it takes over
    using_index: str | None = None


@record(frozen=True, slots=True)
class IndexElement:
    """One key of an index: a column name, or an expression (``is_expression``)."""

    expression: str
    descending: bool = False
    nulls: Literal["first", "last"] | None = None
    is_expression: bool = False
    opclass: str | None = None


# --------------------------------------------------------------------------- operations


@record(frozen=True, slots=True, kw_only=True)
class Operation:
    """Base of every operation. ``kind`` is a stable snake_case name used by rules,
    declarative rule files and JSON output."""

    kind: ClassVar[str] = "operation"
    #: whether the operation removes or rewrites data/schema irreversibly
    destructive: ClassVar[bool] = False

    loc: Location
    phase: Phase = "upgrade"
    source: Source = "python"
    #: the Python call this operation came from, e.g. ``op.drop_column`` or ``op.execute``
    via: str = ""
    #: run outside the migration's transaction (inside ``op.get_context().autocommit_block()``)
    autocommit: bool = False
    #: the way from ``loc`` to where the operation is written, outermost first: a call of
    #: a helper function in ``upgrade()`` is ``loc``; each helper on the way is one entry
    related: tuple[Related, ...] = ()

    @property
    def table_name(self) -> str | None:
        """The table the operation concerns, if any (used by rules and replay)."""
        value = getattr(self, "table", None)
        return value if isinstance(value, str) else None

    def describe(self) -> str:
        return self.kind.replace("_", " ")


@record(frozen=True, slots=True, kw_only=True)
class CreateTable(Operation):
    kind: ClassVar[str] = "create_table"
    table: str
    columns: tuple[ColumnDef, ...] = ()
    constraints: tuple[ConstraintDef, ...] = ()
    schema: str | None = None
    if_not_exists: bool = False

    def describe(self) -> str:
        return f"create table {self.table}"


@record(frozen=True, slots=True, kw_only=True)
class DropTable(Operation):
    kind: ClassVar[str] = "drop_table"
    destructive: ClassVar[bool] = True
    table: str
    schema: str | None = None
    if_exists: bool = False
    cascade: bool = False

    def describe(self) -> str:
        return f"drop table {self.table}"


@record(frozen=True, slots=True, kw_only=True)
class RenameTable(Operation):
    kind: ClassVar[str] = "rename_table"
    destructive: ClassVar[bool] = True
    table: str
    new_name: str
    schema: str | None = None

    def describe(self) -> str:
        return f"rename table {self.table} to {self.new_name}"


@record(frozen=True, slots=True, kw_only=True)
class AddColumn(Operation):
    kind: ClassVar[str] = "add_column"
    table: str
    column: ColumnDef
    schema: str | None = None
    if_not_exists: bool = False

    def describe(self) -> str:
        return f"add column {self.table}.{self.column.name}"


@record(frozen=True, slots=True, kw_only=True)
class DropColumn(Operation):
    kind: ClassVar[str] = "drop_column"
    destructive: ClassVar[bool] = True
    table: str
    column: str
    schema: str | None = None
    if_exists: bool = False
    #: ``DROP COLUMN ... CASCADE``: also drop what depends on the column outside its table's
    #: own indexes and constraints (foreign keys of other tables, policies, generated columns)
    cascade: bool = False

    def describe(self) -> str:
        return f"drop column {self.table}.{self.column}"


@record(frozen=True, slots=True, kw_only=True)
class RenameColumn(Operation):
    kind: ClassVar[str] = "rename_column"
    destructive: ClassVar[bool] = True
    table: str
    column: str
    new_name: str
    schema: str | None = None

    def describe(self) -> str:
        return f"rename column {self.table}.{self.column} to {self.new_name}"


@record(frozen=True, slots=True, kw_only=True)
class AlterColumnType(Operation):
    kind: ClassVar[str] = "alter_column_type"
    destructive: ClassVar[bool] = True
    table: str
    column: str
    new_type: str | None
    using: str | None = None
    schema: str | None = None
    #: the type the migration says the column has (Alembic's ``existing_type=``)
    existing_type: str | None = None

    def describe(self) -> str:
        return f"change type of {self.table}.{self.column} to {self.new_type or '?'}"


@record(frozen=True, slots=True, kw_only=True)
class AlterColumnNullable(Operation):
    kind: ClassVar[str] = "alter_column_nullable"
    table: str
    column: str
    nullable: bool
    schema: str | None = None

    def describe(self) -> str:
        what = "drop not null on" if self.nullable else "set not null on"
        return f"{what} {self.table}.{self.column}"


@record(frozen=True, slots=True, kw_only=True)
class AlterColumnDefault(Operation):
    """``default`` None means DROP DEFAULT."""

    kind: ClassVar[str] = "alter_column_default"
    table: str
    column: str
    default: str | None
    schema: str | None = None

    def describe(self) -> str:
        if self.default is None:
            return f"drop default of {self.table}.{self.column}"
        return f"set default of {self.table}.{self.column} to {self.default}"


@record(frozen=True, slots=True, kw_only=True)
class CreateIndex(Operation):
    kind: ClassVar[str] = "create_index"
    name: str | None
    table: str
    elements: tuple[IndexElement, ...]
    unique: bool = False
    include: tuple[str, ...] = ()
    where: str | None = None
    method: str = "btree"
    concurrently: bool = False
    if_not_exists: bool = False
    schema: str | None = None

    def describe(self) -> str:
        return f"create index {self.name or '?'} on {self.table}"


@record(frozen=True, slots=True, kw_only=True)
class DropIndex(Operation):
    kind: ClassVar[str] = "drop_index"
    name: str
    table: str | None = None
    concurrently: bool = False
    if_exists: bool = False
    cascade: bool = False
    schema: str | None = None

    def describe(self) -> str:
        return f"drop index {self.name}"


@record(frozen=True, slots=True, kw_only=True)
class RenameIndex(Operation):
    kind: ClassVar[str] = "rename_index"
    name: str
    new_name: str
    schema: str | None = None

    def describe(self) -> str:
        return f"rename index {self.name} to {self.new_name}"


@record(frozen=True, slots=True, kw_only=True)
class AddConstraint(Operation):
    kind: ClassVar[str] = "add_constraint"
    table: str
    constraint: ConstraintDef
    schema: str | None = None

    def describe(self) -> str:
        kind = self.constraint.kind.replace("_", " ")
        return f"add {kind} constraint {self.constraint.name or '?'} on {self.table}"


@record(frozen=True, slots=True, kw_only=True)
class DropConstraint(Operation):
    kind: ClassVar[str] = "drop_constraint"
    table: str
    name: str
    constraint_kind: ConstraintKind | None = None
    if_exists: bool = False
    cascade: bool = False
    schema: str | None = None

    def describe(self) -> str:
        return f"drop constraint {self.name} on {self.table}"


@record(frozen=True, slots=True, kw_only=True)
class RenameConstraint(Operation):
    kind: ClassVar[str] = "rename_constraint"
    table: str
    name: str
    new_name: str
    schema: str | None = None


@record(frozen=True, slots=True, kw_only=True)
class ValidateConstraint(Operation):
    kind: ClassVar[str] = "validate_constraint"
    table: str
    name: str
    schema: str | None = None


@record(frozen=True, slots=True, kw_only=True)
class EnableRLS(Operation):
    kind: ClassVar[str] = "enable_rls"
    table: str
    schema: str | None = None

    def describe(self) -> str:
        return f"enable row level security on {self.table}"


@record(frozen=True, slots=True, kw_only=True)
class DisableRLS(Operation):
    kind: ClassVar[str] = "disable_rls"
    table: str
    schema: str | None = None

    def describe(self) -> str:
        return f"disable row level security on {self.table}"


@record(frozen=True, slots=True, kw_only=True)
class ForceRLS(Operation):
    kind: ClassVar[str] = "force_rls"
    table: str
    schema: str | None = None

    def describe(self) -> str:
        return f"force row level security on {self.table}"


@record(frozen=True, slots=True, kw_only=True)
class NoForceRLS(Operation):
    kind: ClassVar[str] = "no_force_rls"
    table: str
    schema: str | None = None

    def describe(self) -> str:
        return f"no force row level security on {self.table}"


@record(frozen=True, slots=True, kw_only=True)
class CreatePolicy(Operation):
    kind: ClassVar[str] = "create_policy"
    name: str
    table: str
    command: str = "all"
    permissive: bool = True
    roles: tuple[str, ...] = ("public",)
    using: str | None = None
    with_check: str | None = None
    schema: str | None = None

    def describe(self) -> str:
        return f"create policy {self.name} on {self.table}"


@record(frozen=True, slots=True, kw_only=True)
class DropPolicy(Operation):
    kind: ClassVar[str] = "drop_policy"
    name: str
    table: str
    if_exists: bool = False
    schema: str | None = None

    def describe(self) -> str:
        return f"drop policy {self.name} on {self.table}"


@record(frozen=True, slots=True, kw_only=True)
class CreateSchema(Operation):
    kind: ClassVar[str] = "create_schema"
    name: str
    if_not_exists: bool = False


@record(frozen=True, slots=True, kw_only=True)
class DropSchema(Operation):
    kind: ClassVar[str] = "drop_schema"
    destructive: ClassVar[bool] = True
    name: str
    if_exists: bool = False
    cascade: bool = False

    def describe(self) -> str:
        return f"drop schema {self.name}"


@record(frozen=True, slots=True, kw_only=True)
class CreateEnumType(Operation):
    kind: ClassVar[str] = "create_enum_type"
    name: str
    values: tuple[str, ...]
    schema: str | None = None

    def describe(self) -> str:
        return f"create type {self.name} as enum"


@record(frozen=True, slots=True, kw_only=True)
class AlterEnumAddValue(Operation):
    kind: ClassVar[str] = "alter_enum_add_value"
    name: str
    value: str
    before: str | None = None
    after: str | None = None
    if_not_exists: bool = False
    schema: str | None = None


@record(frozen=True, slots=True, kw_only=True)
class AlterEnumRenameValue(Operation):
    """``ALTER TYPE name RENAME VALUE 'old' TO 'new'``."""

    kind: ClassVar[str] = "alter_enum_rename_value"
    destructive: ClassVar[bool] = True
    name: str
    value: str
    new_value: str
    schema: str | None = None

    def describe(self) -> str:
        return f"rename value {self.value!r} of type {self.name} to {self.new_value!r}"


@record(frozen=True, slots=True, kw_only=True)
class RenameType(Operation):
    """``ALTER TYPE name RENAME TO new_name`` (an enum, a domain or a composite type)."""

    kind: ClassVar[str] = "rename_type"
    destructive: ClassVar[bool] = True
    name: str
    new_name: str
    schema: str | None = None

    def describe(self) -> str:
        return f"rename type {self.name} to {self.new_name}"


@record(frozen=True, slots=True, kw_only=True)
class DropType(Operation):
    kind: ClassVar[str] = "drop_type"
    destructive: ClassVar[bool] = True
    name: str
    if_exists: bool = False
    cascade: bool = False
    schema: str | None = None

    def describe(self) -> str:
        return f"drop type {self.name}"


@record(frozen=True, slots=True, kw_only=True)
class CreateSequence(Operation):
    """``CREATE SEQUENCE name [OWNED BY table.column]``."""

    kind: ClassVar[str] = "create_sequence"
    name: str
    #: ``table.column`` of ``OWNED BY``, None when the sequence is owned by nothing
    owned_by: str | None = None
    if_not_exists: bool = False
    schema: str | None = None

    def describe(self) -> str:
        return f"create sequence {self.name}"


@record(frozen=True, slots=True, kw_only=True)
class AlterSequenceOwner(Operation):
    """``ALTER SEQUENCE name OWNED BY table.column`` (``owned_by`` None: ``OWNED BY NONE``)."""

    kind: ClassVar[str] = "alter_sequence_owner"
    name: str
    owned_by: str | None
    schema: str | None = None

    def describe(self) -> str:
        return f"set owner of sequence {self.name} to {self.owned_by or 'none'}"


@record(frozen=True, slots=True, kw_only=True)
class RenameSequence(Operation):
    kind: ClassVar[str] = "rename_sequence"
    name: str
    new_name: str
    schema: str | None = None

    def describe(self) -> str:
        return f"rename sequence {self.name} to {self.new_name}"


@record(frozen=True, slots=True, kw_only=True)
class DropSequence(Operation):
    kind: ClassVar[str] = "drop_sequence"
    destructive: ClassVar[bool] = True
    name: str
    if_exists: bool = False
    cascade: bool = False
    schema: str | None = None

    def describe(self) -> str:
        return f"drop sequence {self.name}"


@record(frozen=True, slots=True, kw_only=True)
class DropDatabase(Operation):
    kind: ClassVar[str] = "drop_database"
    destructive: ClassVar[bool] = True
    name: str
    if_exists: bool = False

    def describe(self) -> str:
        return f"drop database {self.name}"


@record(frozen=True, slots=True, kw_only=True)
class Truncate(Operation):
    kind: ClassVar[str] = "truncate"
    destructive: ClassVar[bool] = True
    tables: tuple[str, ...]
    cascade: bool = False

    def describe(self) -> str:
        return f"truncate {', '.join(self.tables)}"


@record(frozen=True, slots=True, kw_only=True)
class DataChange(Operation):
    """INSERT / UPDATE / DELETE (and ``op.bulk_insert``)."""

    kind: ClassVar[str] = "data_change"
    verb: Literal["insert", "update", "delete"]
    table: str
    has_where: bool = True

    def describe(self) -> str:
        if not self.has_where:
            return f"{self.verb} of every row of {self.table}"
        return f"{self.verb} on {self.table}"


@record(frozen=True, slots=True, kw_only=True)
class OtherStatement(Operation):
    """A statement that was read and understood, but that does not change the tables,
    columns, constraints, indexes or policies b03lint models (CREATE FUNCTION,
    CREATE TRIGGER, CREATE EXTENSION, GRANT, COMMENT ON, SET, ...)."""

    kind: ClassVar[str] = "other_statement"
    statement: str  # e.g. "CreateFunctionStmt" or "op.create_table_comment"
    table: str | None = None

    def describe(self) -> str:
        return self.statement


# The statements below are read and understood but change nothing the schema model holds;
# they matter to what a migration locks and whether it can run at all. They are
# OtherStatements (``statement`` is still the pglast node name), so every consumer that
# treats OtherStatement as "not modelled" (the replay, normalisation) treats them alike.

ReindexTarget = Literal["index", "table", "schema", "database", "system"]


@record(frozen=True, slots=True, kw_only=True)
class Reindex(OtherStatement):
    """``REINDEX [CONCURRENTLY] INDEX|TABLE|SCHEMA|DATABASE|SYSTEM name``; ``table`` is the
    table (``REINDEX TABLE``) when known."""

    kind: ClassVar[str] = "reindex"
    target: ReindexTarget
    name: str
    concurrently: bool = False

    def describe(self) -> str:
        how = " concurrently" if self.concurrently else ""
        return f"reindex{how} {self.target} {self.name}"


@record(frozen=True, slots=True, kw_only=True)
class Vacuum(OtherStatement):
    """``VACUUM [FULL] [tables]`` and ``ANALYZE [tables]`` (``analyze_only``)."""

    kind: ClassVar[str] = "vacuum"
    tables: tuple[str, ...] = ()
    full: bool = False
    analyze_only: bool = False

    def describe(self) -> str:
        verb = "analyze" if self.analyze_only else "vacuum full" if self.full else "vacuum"
        return f"{verb} {', '.join(self.tables) or '(every table)'}"


@record(frozen=True, slots=True, kw_only=True)
class Cluster(OtherStatement):
    """``CLUSTER table [USING index]`` (``table`` None: every clustered table)."""

    kind: ClassVar[str] = "cluster"
    index: str | None = None

    def describe(self) -> str:
        return f"cluster {self.table or '(every clustered table)'}"


@record(frozen=True, slots=True, kw_only=True)
class AttachPartition(OtherStatement):
    """``ALTER TABLE parent ATTACH PARTITION partition ...``."""

    kind: ClassVar[str] = "attach_partition"
    partition: str

    def describe(self) -> str:
        return f"attach partition {self.partition} to {self.table}"


@record(frozen=True, slots=True, kw_only=True)
class DetachPartition(OtherStatement):
    """``ALTER TABLE parent DETACH PARTITION partition [CONCURRENTLY | FINALIZE]``."""

    kind: ClassVar[str] = "detach_partition"
    partition: str
    concurrently: bool = False
    finalize: bool = False

    def describe(self) -> str:
        how = " concurrently" if self.concurrently else ""
        return f"detach partition {self.partition} from {self.table}{how}"


@record(frozen=True, slots=True, kw_only=True)
class SetParameter(OtherStatement):
    """``SET [LOCAL] name = value`` / ``RESET name`` (``value`` None) of a run-time
    parameter, such as ``lock_timeout``; ``name`` is lower case, ``value`` as written
    (``'5s'`` -> ``5s``)."""

    kind: ClassVar[str] = "set_parameter"
    name: str
    value: str | None = None
    local: bool = False

    def describe(self) -> str:
        if self.value is None:
            return f"reset {self.name}"
        return f"set {'local ' if self.local else ''}{self.name} = {self.value}"


@record(frozen=True, slots=True, kw_only=True)
class TransactionControl(OtherStatement):
    """``BEGIN``/``START TRANSACTION``, ``COMMIT``/``END``, ``ROLLBACK``, ``SAVEPOINT``,
    ``RELEASE``, ``ROLLBACK TO``, ``PREPARE TRANSACTION``... (``verb`` lower case, one
    word: ``begin``, ``commit``, ``rollback``, ``savepoint``, ``release``,
    ``rollback_to``, ``prepare``, ``commit_prepared``, ``rollback_prepared``)."""

    kind: ClassVar[str] = "transaction_control"
    verb: str

    def describe(self) -> str:
        return self.verb.replace("_", " ").upper()


@record(frozen=True, slots=True, kw_only=True)
class LockTable(OtherStatement):
    """``LOCK [TABLE] tables [IN mode MODE] [NOWAIT]``; ``mode`` as the documentation
    spells it (``ACCESS EXCLUSIVE``, the default)."""

    kind: ClassVar[str] = "lock_table"
    tables: tuple[str, ...] = ()
    mode: str = "ACCESS EXCLUSIVE"
    nowait: bool = False

    def describe(self) -> str:
        return f"lock {', '.join(self.tables)} in {self.mode} mode"


@record(frozen=True, slots=True, kw_only=True)
class Unresolved(Operation):
    """Something the reader saw but could not resolve statically: a variable built at run
    time, a helper function, a loop, a ``DO $$ ... $$`` body. It is never silently dropped:
    the engine reports it as an ``info`` finding and the replay marks what it may touch
    (``table``, when known) as unknown."""

    kind: ClassVar[str] = "unresolved"
    reason: str
    snippet: str = ""
    table: str | None = None
    #: a data statement (INSERT/UPDATE/DELETE/SELECT) whose details are not known: it
    #: changes no schema fact, so the replay knows as much after it as before
    data: bool = False
    #: for a marker in front of operations that were read (a run-time condition, a loop,
    #: a ``try``): every table those operations touch, when each names one. Only those
    #: tables become unknown, since nothing else was hidden
    tables: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"unresolved: {self.reason}"


#: every concrete operation class, by kind
OPERATION_TYPES: dict[str, type[Operation]] = {
    cls.kind: cls
    for cls in (
        CreateTable, DropTable, RenameTable, AddColumn, DropColumn, RenameColumn,
        AlterColumnType, AlterColumnNullable, AlterColumnDefault, CreateIndex, DropIndex,
        RenameIndex, AddConstraint, DropConstraint, RenameConstraint, ValidateConstraint,
        EnableRLS, DisableRLS, ForceRLS, NoForceRLS, CreatePolicy, DropPolicy, CreateSchema,
        DropSchema, CreateEnumType, AlterEnumAddValue, AlterEnumRenameValue, RenameType,
        DropType, CreateSequence, AlterSequenceOwner, RenameSequence, DropSequence,
        DropDatabase, Truncate, DataChange, OtherStatement, Reindex, Vacuum, Cluster,
        AttachPartition, DetachPartition, SetParameter, TransactionControl, LockTable,
        Unresolved,
    )
}


# --------------------------------------------------------------------------- reader output


Severity = Literal["blocking", "warning", "info"]


@record(frozen=True, slots=True)
class Diagnostic:
    """A problem found while reading a file (not a rule's finding): a syntax error, SQL
    PostgreSQL would reject, an unresolved construct. ``fatal`` means the file could not
    be read at all (the run then exits 2)."""

    code: str  # a rule code, e.g. "B001" (python-syntax-error); see rules/reader.py
    message: str
    loc: Location
    severity: Severity = "blocking"
    fatal: bool = False
    object: str | None = None


@record(slots=True)
class MigrationFile:
    """One Alembic revision file, read statically."""

    path: str
    revision: str | None = None
    revision_loc: Location | None = None
    #: parents; ``()`` for a base revision. ``None`` when not statically known
    down_revisions: tuple[str, ...] | None = ()
    down_revision_loc: Location | None = None
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    #: the docstring's first line, or the ``message`` Alembic wrote
    message: str | None = None
    upgrade_ops: list[Operation] = field(default_factory=list)
    downgrade_ops: list[Operation] = field(default_factory=list)
    #: comment text by line: Python ``#`` comments and SQL ``--`` comments inside strings
    comments: dict[int, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    has_upgrade: bool = False
    has_downgrade: bool = False
    #: sha256 of the file's bytes (cache key, fingerprints)
    digest: str = ""
    #: (path, sha256) of the project modules read to read this file (names it imports):
    #: a cached reading is stale when one of them changed
    sources: tuple[tuple[str, str], ...] = ()
    #: the SQL-memo entries (``b03lint.sqlmemo``) its reading used: still in use while
    #: this reading is, so the cache keeps them for the next edit of the file
    sql_keys: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def readable(self) -> bool:
        return not any(d.fatal for d in self.diagnostics)

    @property
    def operations(self) -> list[Operation]:
        return [*self.upgrade_ops, *self.downgrade_ops]
