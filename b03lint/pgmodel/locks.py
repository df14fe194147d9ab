"""What each operation locks, rewrites, scans and waits for, as PostgreSQL does it.

One table, :data:`ROWS`, says it for every kind of operation b03lint reads (from Python
and SQL alike), by PostgreSQL major version. Every lock rule, ``b03lint locks``,
``b03lint show`` and ``b03lint rebuild --trace`` ask :func:`effect`, which picks the row
an operation falls under (from the operation and the replayed schema just before it) and
names the relations it locks.

Sources. The lock modes and their conflicts are the documentation's chapter "Explicit
Locking" (section 13.3, table 13.2); each statement's lock level is its reference page,
chiefly ``ALTER TABLE`` ("An ACCESS EXCLUSIVE lock is acquired unless explicitly noted",
then the subcommands that take less), ``CREATE INDEX``, ``DROP INDEX``, ``REINDEX``,
``CREATE TRIGGER``, ``COMMENT``, ``VACUUM``, ``CLUSTER``, ``LOCK`` and ``ALTER TYPE``.
Version differences are the release notes of the version that changed them:

- 11: ``ADD COLUMN`` with a non-volatile default no longer rewrites the table;
- 12: ``SET NOT NULL`` skips its scan when a valid CHECK proves the column has no NULL;
  ``REINDEX CONCURRENTLY``; ``ATTACH PARTITION`` takes SHARE UPDATE EXCLUSIVE on the parent;
  renaming an index takes SHARE UPDATE EXCLUSIVE; ``ALTER TYPE ... ADD VALUE`` may run
  inside a transaction block (the new value cannot be used before it commits);
- 14: ``DETACH PARTITION ... CONCURRENTLY``.

Proof. ``tests/test_pg_locks.py`` runs an example of every row that applies to the suite's
server (PostgreSQL 15) under :mod:`b03lint.live.trace` (``pg_locks`` of the migration's
backend, ``relfilenode`` before and after, the transaction's sequential scans) and checks
the row. Rows of older majors come from the documentation only and say so
(:attr:`Row.proven`). Where the trace and the model disagree in a real upgrade,
``rebuild --trace`` reports it (``M005``), never hides it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from b03lint.operations import (
    AddConstraint,
    AlterColumnType,
    CreateTable,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropTable,
    LockTable,
    Operation,
    Reindex,
    RenameConstraint,
    RenameIndex,
    Truncate,
    Unresolved,
    Vacuum,
    ValidateConstraint,
)
from b03lint.pgmodel.lockkey import State, checks_on, fk_targets, variant

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record

Mode = Literal["ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE",
               "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"]
MODES: tuple[Mode, ...] = ("ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE",
                           "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE",
                           "ACCESS EXCLUSIVE")
RANK: dict[str, int] = {m: i for i, m in enumerate(MODES)}
AS, RS, RE, SUE, S, SRE, E, AE = MODES

#: table 13.2, "Conflicting Lock Modes"
CONFLICTS: dict[Mode, frozenset[Mode]] = {
    AS: frozenset({AE}),
    RS: frozenset({E, AE}),
    RE: frozenset({S, SRE, E, AE}),
    SUE: frozenset({SUE, S, SRE, E, AE}),
    S: frozenset({RE, SUE, SRE, E, AE}),
    SRE: frozenset({RE, SUE, S, SRE, E, AE}),
    E: frozenset({RS, RE, SUE, S, SRE, E, AE}),
    AE: frozenset(MODES),
}

Blocks = Literal["reads and writes", "writes", "schema changes", "nothing"]

#: the majors the table covers; outside them ``postgres_version`` is refused
OLDEST_MODELLED = 10
NEWEST_MODELLED = 18
#: the default ``postgres_version``: the oldest major the PostgreSQL project still
#: supported when this table was written (14 reached its end of life on 2026-11-12)
DEFAULT_VERSION = 15
#: the major the suite's live test runs (rows that cover it are proven)
PROVEN_ON = 15


def blocks(mode: str | None) -> Blocks:
    """What ordinary traffic a lock mode stops: ``SELECT`` takes ACCESS SHARE, ``INSERT``/
    ``UPDATE``/``DELETE`` ROW EXCLUSIVE."""
    if mode is None:
        return "nothing"
    conflicts = CONFLICTS[mode]  # type: ignore[index]
    if AS in conflicts:
        return "reads and writes"
    if RE in conflicts:
        return "writes"
    if SUE in conflicts:
        return "schema changes"
    return "nothing"


def strongest(modes: Iterable[str]) -> str | None:
    found = list(modes)
    return max(found, key=RANK.__getitem__) if found else None


# --------------------------------------------------------------------------- the table

Role = Literal["table", "referenced", "referencing", "index", "partition", "dependent"]


@record(frozen=True)
class Also:
    """A lock on other relations than the operation's own table."""

    role: Role
    mode: Mode
    #: taken only when rows need it (the foreign-key checks of a data change)
    maybe: bool = False


@record(frozen=True)
class Row:
    """One line of the table: what a kind of statement does in a range of versions."""

    key: str
    #: the statement it stands for
    statement: str
    #: the lock on the table the operation names (None: no table lock)
    mode: Mode | None
    rewrite: bool = False
    scan: bool = False
    #: waits for the transactions running when it starts (the CONCURRENTLY forms)
    waits: bool = False
    #: may run inside a transaction block
    transaction: bool = True
    also: tuple[Also, ...] = ()
    #: the relation that ``rewrite`` and ``scan`` are about
    scan_role: Role = "table"
    since: int = OLDEST_MODELLED
    until: int = NEWEST_MODELLED
    #: where the documentation says it
    doc: str = ""
    #: what to know beyond the columns
    note: str = ""
    #: False: the server rejects the statement in these versions
    available: bool = True

    @property
    def proven(self) -> bool:
        """Whether the suite's live test proves this row (it covers the suite's server)."""
        return self.since <= PROVEN_ON <= self.until

    def covers(self, version: int) -> bool:
        return self.since <= version <= self.until


_ALTER = "ALTER TABLE reference page"
_NOT = "Notes of the ALTER TABLE reference page"
#: a type change re-creates the foreign keys that involve the column (tablecmds.c,
#: ATPostAlterTypeCleanup), locking the table at their other end as a drop does
_KEYS_OF_COLUMN = (Also("referenced", AE), Also("referencing", AE))

ROWS: tuple[Row, ...] = (
    # ---- tables
    Row("create_table", "CREATE TABLE t (...)", None,
        also=(Also("referenced", SRE),),
        doc="CREATE TABLE; a foreign key takes SHARE ROW EXCLUSIVE on the table it "
            "references (ALTER TABLE, ADD FOREIGN KEY)",
        note="the new table is invisible to others until the transaction commits"),
    Row("drop_table", "DROP TABLE t", AE,
        also=(Also("referenced", AE), Also("referencing", AE)),
        doc="Explicit Locking: ACCESS EXCLUSIVE is acquired by DROP TABLE",
        note="the foreign keys it holds are dropped from the tables they reference, and "
             "with CASCADE those of the tables referencing it"),
    Row("rename_table", "ALTER TABLE t RENAME TO u", AE, doc=_ALTER),
    Row("truncate", "TRUNCATE t", AE, rewrite=True, also=(Also("referencing", AE),),
        doc="Explicit Locking: ACCESS EXCLUSIVE is acquired by TRUNCATE",
        note="the table gets new, empty storage (a new relfilenode); CASCADE truncates the "
             "tables referencing it"),
    Row("lock_table", "LOCK TABLE t IN mode MODE", AE,
        doc="LOCK: the mode written, ACCESS EXCLUSIVE when none is"),
    # ---- columns
    Row("add_column", "ALTER TABLE t ADD COLUMN c type", AE, doc=_ALTER,
        note="without a default only the catalog changes"),
    Row("add_column.default", "ALTER TABLE t ADD COLUMN c type DEFAULT <non-volatile>", AE,
        rewrite=True, scan=True, until=10, doc="PostgreSQL 11 release notes",
        note="before 11 every existing row is written with the default"),
    Row("add_column.default", "ALTER TABLE t ADD COLUMN c type DEFAULT <non-volatile>", AE,
        since=11, doc=_NOT, note="the value is computed once and kept in the catalog"),
    Row("add_column.volatile_default", "ALTER TABLE t ADD COLUMN c type DEFAULT <volatile>",
        AE, rewrite=True, scan=True, doc=_NOT,
        note="a volatile default (a function not known to be immutable or stable, a "
             "sequence of serial or identity) is computed for every row"),
    Row("add_column.generated", "ALTER TABLE t ADD COLUMN c type GENERATED ALWAYS AS (...) "
        "STORED", AE, rewrite=True, scan=True, since=12, doc=_NOT,
        note="a stored generated column is computed for every row"),
    Row("add_column.generated", "ALTER TABLE t ADD COLUMN c type GENERATED ALWAYS AS (...) "
        "STORED", None, until=11, available=False, doc="PostgreSQL 12 release notes"),
    Row("drop_column", "ALTER TABLE t DROP COLUMN c", AE, also=(Also("referenced", AE),),
        doc=_ALTER, note="the column is only marked dropped (no rewrite); a foreign key on "
                         "it is dropped from the table it references too"),
    Row("rename_column", "ALTER TABLE t RENAME COLUMN c TO d", AE, doc=_ALTER),
    Row("alter_column_type", "ALTER TABLE t ALTER COLUMN c TYPE new (no rewrite)", AE,
        also=_KEYS_OF_COLUMN, doc=_NOT,
        note="binary-coercible or widening changes keep the rows "
             "(b03lint.pgmodel.typechange); a CHECK on the column is validated again (a "
             "scan), and the foreign keys on it or referencing it are dropped and added "
             "again (ACCESS EXCLUSIVE on the tables at their other end)"),
    Row("alter_column_type.rewrite", "ALTER TABLE t ALTER COLUMN c TYPE new (rewrite)", AE,
        rewrite=True, scan=True, also=_KEYS_OF_COLUMN, doc=_NOT,
        note="the table and its indexes are rebuilt (b03lint.pgmodel.typechange); the "
             "foreign keys on the column or referencing it are added again"),
    Row("set_not_null", "ALTER TABLE t ALTER COLUMN c SET NOT NULL", AE, scan=True, doc=_ALTER,
        note="every row is read to prove there is no NULL"),
    Row("set_not_null.checked", "SET NOT NULL with a valid CHECK (c IS NOT NULL)", AE,
        scan=True, until=11, doc="PostgreSQL 12 release notes",
        note="before 12 the CHECK does not spare the scan"),
    Row("set_not_null.checked", "SET NOT NULL with a valid CHECK (c IS NOT NULL)", AE,
        since=12, doc=_ALTER, note="the valid CHECK proves it: no scan"),
    Row("set_not_null.already", "SET NOT NULL of a column that is NOT NULL", AE, doc=_ALTER,
        note="nothing to prove"),
    Row("drop_not_null", "ALTER TABLE t ALTER COLUMN c DROP NOT NULL", AE, doc=_ALTER),
    Row("alter_column_default", "ALTER TABLE t ALTER COLUMN c SET|DROP DEFAULT", AE,
        doc=_ALTER, note="only new rows are affected"),
    # ---- indexes
    Row("create_index", "CREATE INDEX i ON t (...)", S, scan=True,
        doc="CREATE INDEX: SHARE, which blocks writes but not reads"),
    Row("create_index.concurrently", "CREATE INDEX CONCURRENTLY i ON t (...)", SUE, scan=True,
        waits=True, transaction=False,
        doc="CREATE INDEX, Building Indexes Concurrently",
        note="two scans, and waits for every transaction that could use the index"),
    Row("drop_index", "DROP INDEX i", AE, also=(Also("index", AE),),
        doc="DROP INDEX: ACCESS EXCLUSIVE on the index's table"),
    Row("drop_index.concurrently", "DROP INDEX CONCURRENTLY i", SUE,
        also=(Also("index", SUE),), waits=True, transaction=False, doc="DROP INDEX"),
    Row("rename_index", "ALTER INDEX i RENAME TO j", None, also=(Also("index", AE),), until=11,
        doc="ALTER INDEX before PostgreSQL 12"),
    Row("rename_index", "ALTER INDEX i RENAME TO j", None, also=(Also("index", SUE),),
        since=12, doc="ALTER INDEX; PostgreSQL 12 release notes",
        note="the table is not locked"),
    Row("reindex", "REINDEX INDEX i | TABLE t", S, scan=True, also=(Also("index", AE),),
        doc="REINDEX: SHARE on the table, ACCESS EXCLUSIVE on the index (reads that would "
            "use it wait)"),
    Row("reindex.concurrently", "REINDEX INDEX|TABLE CONCURRENTLY ...", SUE, scan=True,
        also=(Also("index", AE),), waits=True, transaction=False, since=12,
        doc="REINDEX, Rebuilding Indexes Concurrently",
        note="the old index is swapped out under ACCESS EXCLUSIVE, briefly, once the "
             "transactions that used it are done"),
    Row("reindex.concurrently", "REINDEX INDEX|TABLE CONCURRENTLY ...", None, until=11,
        available=False, doc="PostgreSQL 12 release notes"),
    Row("reindex.many", "REINDEX SCHEMA|DATABASE|SYSTEM ...", S, scan=True, transaction=False,
        doc="REINDEX: SCHEMA, DATABASE and SYSTEM cannot run inside a transaction block",
        note="every table of the schema or database in turn"),
    # ---- constraints
    Row("add_foreign_key", "ALTER TABLE t ADD FOREIGN KEY (...) REFERENCES u", SRE, scan=True,
        also=(Also("referenced", SRE),), doc=_ALTER,
        note="both tables are read to validate it; writes to both are blocked"),
    Row("add_foreign_key.not_valid", "ALTER TABLE t ADD FOREIGN KEY ... NOT VALID", SRE,
        also=(Also("referenced", SRE),), doc=_ALTER, note="no validation: a brief lock"),
    Row("add_foreign_key.new_column", "ALTER TABLE t ADD COLUMN c type REFERENCES u", SRE,
        also=(Also("referenced", SRE),), doc="parse_utilcmd.c, transformFKConstraints",
        note="a column added in the same statement without a default holds only NULLs, so "
             "PostgreSQL marks the key valid without reading the table"),
    Row("add_check", "ALTER TABLE t ADD CHECK (...)", AE, scan=True, doc=_ALTER,
        note="every row is read to validate it"),
    Row("add_check.not_valid", "ALTER TABLE t ADD CHECK (...) NOT VALID", AE, doc=_ALTER,
        note="no validation: a brief lock"),
    Row("add_unique", "ALTER TABLE t ADD UNIQUE|PRIMARY KEY (...)", AE, scan=True, doc=_ALTER,
        note="the index is built while the lock is held"),
    Row("add_unique.using_index", "ALTER TABLE t ADD UNIQUE|PRIMARY KEY USING INDEX i", AE,
        doc=_ALTER, note="the index already exists: a brief lock (a primary key on "
                         "nullable columns also proves them NOT NULL, a scan)"),
    Row("add_exclude", "ALTER TABLE t ADD EXCLUDE ...", AE, scan=True, doc=_ALTER),
    Row("validate_constraint", "ALTER TABLE t VALIDATE CONSTRAINT c", SUE, scan=True,
        doc=_ALTER, note="reads and writes go on while it scans"),
    Row("validate_foreign_key", "ALTER TABLE t VALIDATE CONSTRAINT fk", SUE, scan=True,
        also=(Also("referenced", RS),), doc=_ALTER,
        note="the referenced table is read under ROW SHARE"),
    Row("drop_constraint", "ALTER TABLE t DROP CONSTRAINT c", AE,
        also=(Also("referenced", AE),), doc=_ALTER,
        note="a foreign key is dropped from the table it references too"),
    Row("rename_constraint", "ALTER TABLE t RENAME CONSTRAINT c TO d", AE,
        also=(Also("index", SUE),), doc=_ALTER,
        note="a constraint with an index renames the index too"),
    # ---- row level security
    Row("rls", "ALTER TABLE t ENABLE|DISABLE|FORCE|NO FORCE ROW LEVEL SECURITY", AE,
        doc=_ALTER),
    Row("policy", "CREATE|DROP POLICY p ON t", AE,
        doc="CREATE POLICY / DROP POLICY (the table's definition changes)"),
    # ---- partitions
    Row("attach_partition", "ALTER TABLE t ATTACH PARTITION p ...", AE, scan=True,
        scan_role="partition", also=(Also("partition", AE),), until=11,
        doc="PostgreSQL 12 release notes"),
    Row("attach_partition", "ALTER TABLE t ATTACH PARTITION p ...", SUE, scan=True,
        scan_role="partition", also=(Also("partition", AE),), since=12, doc=_ALTER,
        note="the partition is read to prove its rows fit, unless a CHECK proves it"),
    Row("detach_partition", "ALTER TABLE t DETACH PARTITION p", AE,
        also=(Also("partition", AE),), doc=_ALTER),
    Row("detach_partition.concurrently", "ALTER TABLE t DETACH PARTITION p CONCURRENTLY", SUE,
        also=(Also("partition", SUE),), waits=True, transaction=False, since=14, doc=_ALTER,
        note="two transactions; the second takes ACCESS EXCLUSIVE on the partition only"),
    Row("detach_partition.concurrently", "ALTER TABLE t DETACH PARTITION p CONCURRENTLY", None,
        until=13, available=False, doc="PostgreSQL 14 release notes"),
    # ---- maintenance
    Row("vacuum", "VACUUM t", SUE, scan=True, transaction=False,
        doc="VACUUM: cannot be executed inside a transaction block"),
    Row("vacuum.full", "VACUUM FULL t", AE, rewrite=True, scan=True, transaction=False,
        doc="Explicit Locking: ACCESS EXCLUSIVE is acquired by VACUUM FULL",
        note="the table is copied into new storage"),
    Row("analyze", "ANALYZE t", SUE, doc="Explicit Locking: SHARE UPDATE EXCLUSIVE",
        note="reads a random sample of the rows, not all of them"),
    Row("cluster", "CLUSTER t USING i", AE, rewrite=True, scan=True,
        doc="CLUSTER: ACCESS EXCLUSIVE", note="the table is copied in index order"),
    # ---- data
    Row("insert", "INSERT INTO t ...", RE, also=(Also("referenced", RS, maybe=True),),
        doc="Explicit Locking: ROW EXCLUSIVE",
        note="foreign-key checks lock the rows they reference (ROW SHARE)"),
    Row("update_or_delete", "UPDATE t ... / DELETE FROM t ...", RE,
        also=(Also("referenced", RS, maybe=True), Also("referencing", RS, maybe=True)),
        doc="Explicit Locking: ROW EXCLUSIVE",
        note="the rows it changes stay locked to the end of the transaction; whether it "
             "reads every row depends on the plan (not modelled); a foreign key's ON "
             "DELETE|UPDATE action writes the referencing table (ROW EXCLUSIVE)"),
    Row("update_or_delete.all", "UPDATE t SET ... / DELETE FROM t (every row)", RE, scan=True,
        also=(Also("referenced", RS, maybe=True), Also("referencing", RS, maybe=True)),
        doc="Explicit Locking: ROW EXCLUSIVE",
        note="every row is read, and every row it changes stays locked to the end of the "
             "transaction"),
    # ---- other objects: no table lock
    Row("no_table", "CREATE/ALTER/DROP of schemas, types, functions, sequences, grants, SET",
        None, doc="no table is named"),
    Row("drop_cascade", "DROP SCHEMA|TYPE ... CASCADE", None, also=(Also("dependent", AE),),
        doc="DROP SCHEMA / DROP TYPE", note="every table that depends on it loses a column "
                                            "or is dropped"),
    Row("alter_enum_add_value", "ALTER TYPE e ADD VALUE 'v'", None, transaction=False,
        until=11, doc="PostgreSQL 12 release notes",
        note="before 12 it cannot run inside a transaction block"),
    Row("alter_enum_add_value", "ALTER TYPE e ADD VALUE 'v'", None, since=12, doc="ALTER TYPE",
        note="the new value cannot be used before the transaction commits"),
    Row("drop_database", "DROP DATABASE d", None, transaction=False,
        doc="DROP DATABASE: cannot be executed inside a transaction block"),
    Row("transaction_control", "BEGIN / COMMIT / ROLLBACK / SAVEPOINT", None,
        doc="inside Alembic's transaction, COMMIT ends it early"),
    Row("create_trigger", "CREATE TRIGGER ... ON t", SRE, doc="CREATE TRIGGER"),
    Row("comment", "COMMENT ON TABLE|COLUMN t ...", SUE, doc="COMMENT"),
    Row("alter_table.light", "ALTER TABLE t SET STATISTICS | SET (option) | CLUSTER ON ...",
        SUE, doc=_ALTER),
    Row("alter_table.triggers", "ALTER TABLE t ENABLE|DISABLE TRIGGER ...", SRE, doc=_ALTER),
    Row("alter_table.other", "ALTER TABLE t <another subcommand>", AE, doc=_ALTER,
        note="ACCESS EXCLUSIVE unless the page notes less"),
    Row("reads", "SELECT / CREATE VIEW ... FROM t", None,
        doc="Explicit Locking: ACCESS SHARE on the tables read",
        note="the tables read are not named by b03lint"),
)


@record(frozen=True)
class Correction:
    """Where a trace showed the model wrong, and how the table was corrected (rendered in
    ``docs/lock-model.md``)."""

    rows: tuple[str, ...]
    #: what the model said before
    said: str
    #: what the server did, and how it was seen
    traced: str


CORRECTIONS: tuple[Correction, ...] = (
    Correction(("alter_column_type", "alter_column_type.rewrite"),
               "a type change locks only its table",
               "traced while checking the next correction (now cases of "
               "tests/test_pg_locks.py): a type change of a column in a foreign key drops and "
               "re-creates the key, taking ACCESS EXCLUSIVE on the table at its other end "
               "(referenced or referencing), with or without a rewrite"),
    Correction(("alter_column_type",),
               "a type change without a rewrite does not read the table",
               "numeric(10,2) to numeric(12,2) under CHECK (amount >= 0) in the fidelity "
               "chain (tests/test_trace_model.py): a CHECK constraint that names the column is validated again, a full "
               "scan under the ACCESS EXCLUSIVE lock"),
    Correction(("update_or_delete",),
               "an UPDATE or DELETE with a WHERE clause does not read the whole table",
               "b03lint rebuild --trace of the bundled example chain: "
               "UPDATE revenue_ledger ... WHERE transaction_id IS NULL read every row (no index "
               "on the column); whether it does depends on the plan, so the model no longer "
               "says, and the trace does not count it"),
    Correction(("update_or_delete", "update_or_delete.all"),
               "a DELETE (an UPDATE of a key) takes ROW SHARE on the referencing tables",
               "a DELETE of a row referenced ON DELETE CASCADE in the fidelity chain: the "
               "foreign key's action deletes (SET NULL and SET DEFAULT update) the "
               "referencing rows, ROW EXCLUSIVE on their table"),
)

_BY_KEY: dict[str, list[Row]] = {}
for _row in ROWS:
    _BY_KEY.setdefault(_row.key, []).append(_row)


def row(key: str, version: int) -> Row:
    """The row of ``key`` that covers ``version``."""
    for candidate in _BY_KEY[key]:
        if candidate.covers(version):
            return candidate
    raise KeyError(f"no row {key} for PostgreSQL {version}")


def keys() -> list[str]:
    return list(_BY_KEY)


# --------------------------------------------------------------------------- effects


@record(frozen=True)
class Lock:
    relation: str
    mode: Mode
    role: Role = "table"
    maybe: bool = False

    @property
    def is_index(self) -> bool:
        return self.role == "index"


@record(frozen=True)
class Effect:
    """What one operation does: the row it falls under, with the relations named."""

    row: Row | None
    locks: tuple[Lock, ...] = ()
    #: None: the model cannot tell (an unknown type change)
    rewrite: bool | None = False
    scan: bool | None = False
    waits: bool = False
    transaction: bool = True
    #: relations of a role the replay does not know (e.g. the tables a view reads)
    unnamed: tuple[str, ...] = ()
    #: one sentence on what decided the row (the type change, the default)
    why: str = ""
    version: int = DEFAULT_VERSION

    @property
    def modelled(self) -> bool:
        return self.row is not None

    @property
    def table_locks(self) -> tuple[Lock, ...]:
        return tuple(lk for lk in self.locks if not lk.is_index)

    @property
    def mode(self) -> str | None:
        """The strongest lock on a table."""
        return strongest(lk.mode for lk in self.table_locks if not lk.maybe)

    @property
    def blocks(self) -> Blocks:
        return blocks(self.mode)

    @property
    def available(self) -> bool:
        return self.row is None or self.row.available

    def summary(self) -> str:
        """``ACCESS EXCLUSIVE on events (blocks reads and writes), rewrites``."""
        if self.row is None:
            return "not modelled"
        if not self.row.available:
            return f"not available before PostgreSQL {self.row.until + 1}"
        parts = []
        for lk in self.locks:
            if lk.maybe:
                continue
            what = f"{lk.mode} on {'index ' if lk.is_index else ''}{lk.relation}"
            if not lk.is_index:
                what += f" (blocks {blocks(lk.mode)})"
            parts.append(what)
        parts += [f"{u} (not named)" for u in self.unnamed]
        if not parts:
            parts.append("no table lock")
        facts = ["rewrites" if self.rewrite else "may rewrite" if self.rewrite is None else "",
                 "scans" if self.scan and not self.rewrite else "",
                 "waits for other transactions" if self.waits else "",
                 "" if self.transaction else "cannot run in a transaction"]
        return ", ".join(parts + [f for f in facts if f])

    def to_json(self) -> dict[str, object]:
        return {
            "row": self.row.key if self.row else None,
            "statement": self.row.statement if self.row else None,
            "locks": [{"relation": lk.relation, "mode": lk.mode, "role": lk.role,
                       "maybe": lk.maybe} for lk in self.locks],
            "mode": self.mode, "blocks": self.blocks, "rewrite": self.rewrite,
            "scan": self.scan, "waits": self.waits, "transaction": self.transaction,
            "unnamed": list(self.unnamed), "why": self.why,
            "available": self.available, "postgres_version": self.version,
            "source": (None if self.row is None else
                       f"documentation ({self.row.doc})" + (
                           f"; proven on PostgreSQL {PROVEN_ON} by tests/test_pg_locks.py"
                           if self.row.proven else "")),
        }


def qualified(name: str | None, schema: str | None = None) -> str:
    if name is None:
        return "?"
    return name if schema in (None, "public") else f"{schema}.{name}"


def effect(op: Operation, state: State | None = None,
           version: int = DEFAULT_VERSION) -> Effect:
    """What ``op`` does on PostgreSQL ``version``, with ``state`` the replayed schema just
    before it (None: unknown, so only what the operation itself names is locked)."""
    if isinstance(op, Unresolved):
        return Effect(None, why="b03lint cannot read what it does", version=version)
    key, why, uncertain = variant(op, state)
    if not key:
        return Effect(None, why="this statement is not in the lock model", version=version)
    r = row(key, version)
    table = op.table_name
    if isinstance(op, DropIndex | RenameIndex | Reindex) and state is not None \
            and state.table is not None and (table is None or isinstance(op, Reindex)):
        table = state.table.name if isinstance(op, DropIndex | RenameIndex) or \
            op.target == "index" else table
    schema = getattr(op, "schema", None)
    locks: list[Lock] = []
    unnamed: list[str] = []
    targets = _targets(op, table, schema)
    mode: Mode | None = r.mode
    if isinstance(op, LockTable) and op.mode in RANK:
        mode = op.mode  # type: ignore[assignment]
    if mode is not None:
        if targets:
            locks += [Lock(t, mode) for t in targets]
        else:
            unnamed.append(f"{mode} on its table")
    for also in r.also:
        names = _role(op, also.role, state)
        if names is None:
            unnamed.append(f"{also.mode} on the {also.role} tables")
            continue
        cascading = getattr(state, "cascading", ()) if also.role == "referencing" else ()
        locks += [Lock(n, RE if also.maybe and n in cascading else also.mode, also.role,
                       also.maybe)
                  for n in names if n not in targets or also.role == "index"]
    if r.key == "reads":
        unnamed.append("ACCESS SHARE on the tables it reads")
    rewrite: bool | None = None if "rewrite" in uncertain else r.rewrite
    scan: bool | None = None if "scan" in uncertain else r.scan
    if r.key == "add_unique.using_index" and isinstance(op, AddConstraint) and \
            op.constraint.kind == "primary_key" and state is not None and \
            state.table is not None and any(
                (c := state.table.columns.get(n)) is not None and c.nullable
                for n in _using_index_columns(op, state)):
        scan = True
        why = "the primary key's columns are nullable and are proved NOT NULL"
    if r.key == "alter_column_type" and isinstance(op, AlterColumnType) and \
            checks_on(state, op.column):
        scan = True
        why = (why + "; " if why else "") + (
            f"the CHECK constraints on {op.column} are validated again")
    return Effect(r, tuple(dict.fromkeys(locks)), rewrite, scan, r.waits, r.transaction,
                  tuple(unnamed), why, version)


def _using_index_columns(op: AddConstraint, state: State) -> tuple[str, ...]:
    if op.constraint.columns:
        return op.constraint.columns
    idx = state.indexes.get(op.constraint.using_index or "")
    if idx is None:
        return ()
    return tuple(e.expression for e in idx.elements if not e.is_expression)


def _targets(op: Operation, table: str | None, schema: str | None) -> list[str]:
    if isinstance(op, Truncate):
        return list(op.tables)
    if isinstance(op, LockTable | Vacuum):
        return list(op.tables)
    if isinstance(op, CreateTable):
        return []  # new: nobody else can see it
    if table is None:
        return []
    return [qualified(table, schema)]


def _role(op: Operation, role: Role, state: State | None) -> list[str] | None:
    """The relations of ``role`` for ``op``; None when the schema before is not known."""
    if role == "index":
        if isinstance(op, DropIndex | RenameIndex):
            return [op.name]
        if isinstance(op, Reindex):
            if op.target == "index":
                return [op.name]
            return None if state is None else sorted(state.indexes)
        if isinstance(op, RenameConstraint):
            if state is None or state.table is None:
                return None
            con = state.table.constraints.get(op.name)
            return [op.name] if con is not None and con.kind in (
                "unique", "primary_key", "exclude") else []
        return []
    if role == "partition":
        return [getattr(op, "partition", "?")]
    if role == "referenced":
        if isinstance(op, CreateTable):
            refs = [c.references.table for c in op.constraints
                    if c.kind == "foreign_key" and c.references is not None]
            refs += [c.references.table for c in op.columns if c.references is not None]
            return [r for r in dict.fromkeys(refs) if r != op.table]
        if isinstance(op, AddConstraint):
            ref = op.constraint.references
            return [ref.table] if ref is not None and ref.table != op.table else []
        if state is None:
            return None
        if isinstance(op, DropColumn | AlterColumnType):
            targets = fk_targets(state, column=op.column)
        elif isinstance(op, DropConstraint | ValidateConstraint):
            targets = fk_targets(state, name=op.name)
        else:
            targets = fk_targets(state)
        own = state.table.name if state.table is not None else None
        return [t for t in targets if t != own]
    if role == "referencing":
        if isinstance(op, DropTable | Truncate) and not op.cascade:
            return []
        return None if state is None else list(state.referencing)
    if role == "dependent":
        return None if state is None else list(state.dependents)
    return []
