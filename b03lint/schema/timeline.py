"""What the schema looked like just before an operation, for the rules that judge an
operation by what it changes: a type change by the column's current type, a dropped index
by its shape, a dropped constraint by what it enforced.

One fold walks the chain in graph order (the same fold as the contract's replay, see
:mod:`b03lint.schema.replay`). Just before each operation of a kind a rule asked for, the
table that operation touches is copied: its columns, constraints, policies and indexes.
Copying one table per such operation keeps the cost proportional to what is asked, not to
the size of the chain's schema times its length.

Where the running fold is not exactly the schema a revision starts from (a branch tip of a
graph with several branches), that revision is replayed on its own from its ancestors.
A revision that is not in the graph (no id, a duplicate, part of a cycle) has no "before".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import field, replace
from typing import TYPE_CHECKING, Any

from b03lint.graph import RevisionGraph
from b03lint.operations import (
    AlterColumnType,
    DataChange,
    DropIndex,
    DropSchema,
    DropType,
    Location,
    MigrationFile,
    Operation,
    Reindex,
    RenameIndex,
    Truncate,
    Unresolved,
)
from b03lint.schema.model import Index, Schema, Table
from b03lint.schema.replay import Folder

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record


@record(frozen=True)
class Before:
    """The state of the table an operation touches, just before it ran.

    ``table`` is None when the table did not exist at that point of the chain (or the
    operation names no table the replay knows). ``known`` is False when an unresolved
    operation of that table may have changed it (its facts cannot be trusted) or when the
    file could not be read. An unresolved operation that names no table does not make
    every table unknown here: the replayed facts stay the best statement of what the
    chain built (the contract's replay decides for itself what such an operation hides).
    """

    table: Table | None
    indexes: dict[str, Index] = field(default_factory=dict)
    known: bool = True
    #: the enum types that exist at that point
    enums: frozenset[str] = frozenset()
    #: the chain knows every table there is at that point: it starts from an empty
    #: database and no unresolved operation before could have created one
    certain: bool = False
    #: tables whose foreign keys reference this table (for the operations whose locks
    #: reach them: drops, truncations, data changes; empty for the others)
    referencing: tuple[str, ...] = ()
    #: tables a ``DROP SCHEMA|TYPE ... CASCADE`` reaches: those in the schema, those with a
    #: column of the type
    dependents: tuple[str, ...] = ()
    #: when not ``certain`` although the chain starts from an empty database: the first
    #: unresolved operation before that may have touched any table (what to name when a
    #: finding depends on it)
    doubt: Unresolved | None = None
    #: of ``referencing``, the tables whose foreign keys write them when this data change
    #: deletes or updates a referenced row (``ON DELETE|UPDATE CASCADE|SET NULL|SET
    #: DEFAULT``)
    cascading: tuple[str, ...] = ()

    def index(self, name: str) -> Index | None:
        return self.indexes.get(name)


def _ops_of(mf: MigrationFile) -> list[Operation]:
    if not mf.readable:  # as the contract's replay does
        return [Unresolved(loc=Location(mf.path, 1, 0), reason="the file could not be read")]
    return list(mf.upgrade_ops)


def _subject_table(schema: Schema, op: Operation) -> str | None:
    """The table ``op`` touches in ``schema``: its own, or an index's."""
    name = op.table_name
    if name is not None:
        return name
    if isinstance(op, DropIndex | RenameIndex) or (
            isinstance(op, Reindex) and op.target == "index"):
        idx = schema.indexes.get(op.name)
        return idx.table if idx is not None else None
    return None


def _copy_table(table: Table) -> Table:
    """A copy of ``table`` that later folds cannot change: its columns, constraints and
    policies are copied one level down (their origins and tuples are immutable and shared),
    which is what a deep copy would give at a fraction of its cost."""
    return replace(table,
                   columns={n: replace(c) for n, c in table.columns.items()},
                   constraints={n: replace(c) for n, c in table.constraints.items()},
                   policies={n: replace(p) for n, p in table.policies.items()})


#: operation kinds whose locks reach the tables referencing theirs
_REFERENCING_KINDS = frozenset({"drop_table", "truncate", "data_change", "alter_column_type"})
_ACTIONS = frozenset({"cascade", "set null", "set default"})


def _keys_to(schema: Schema, names: set[str], op: Operation) -> Iterator[tuple[str, Any]]:
    """(table, foreign key) of the keys of other tables that reference ``names`` (for a
    type change, only those on its column)."""
    column = op.column if isinstance(op, AlterColumnType) else None
    for t in schema.tables.values():
        if t.name in names:
            continue
        for c in t.constraints.values():
            ref = c.references
            if c.kind != "foreign_key" or ref is None or ref.table not in names:
                continue
            if column is not None and column not in (ref.columns or _key_columns(
                    schema, ref.table)):
                continue
            yield t.name, c


def _key_columns(schema: Schema, table: str) -> tuple[str, ...]:
    """The primary key of ``table`` (what ``REFERENCES table`` without columns means)."""
    t = schema.tables.get(table)
    pk = next((c for c in t.constraints.values() if c.kind == "primary_key"), None) \
        if t is not None else None
    return pk.columns if pk is not None else ()


def _referencing(schema: Schema, op: Operation, name: str | None) -> tuple[str, ...]:
    if op.kind not in _REFERENCING_KINDS or (name is None and not isinstance(op, Truncate)):
        return ()
    start: set[str] = set(op.tables) if isinstance(op, Truncate) else {name or ""}
    names = set(start)
    # TRUNCATE ... CASCADE reaches the tables referencing those it truncates, and so on
    transitive = isinstance(op, Truncate) and op.cascade
    while True:
        found = {t for t, _ in _keys_to(schema, names, op)}
        names |= found
        if not found or not transitive:
            break
    return tuple(sorted(_qualified(schema, n) for n in names - start))


def _cascading(schema: Schema, op: Operation, name: str | None) -> tuple[str, ...]:
    if not isinstance(op, DataChange) or op.verb == "insert" or name is None:
        return ()
    found = {t for t, c in _keys_to(schema, {name}, op)
             if ((c.references.on_delete if op.verb == "delete" else c.references.on_update)
                 or "").lower() in _ACTIONS}
    return tuple(sorted(_qualified(schema, n) for n in found))


def _qualified(schema: Schema, name: str) -> str:
    """A table's name as the lock model names relations (``audit.log``, ``events``)."""
    t = schema.tables.get(name)
    return name if t is None or t.schema in (None, "public") else f"{t.schema}.{t.name}"


def _dependents(schema: Schema, op: Operation) -> tuple[str, ...]:
    if isinstance(op, DropSchema) and op.cascade:
        return tuple(_qualified(schema, n) for n, t in schema.tables.items()
                     if t.schema == op.name)
    if isinstance(op, DropType) and op.cascade:
        return tuple(_qualified(schema, n) for n, t in schema.tables.items() if any(
            c.type is not None and c.type.removesuffix("[]") == op.name
            for c in t.columns.values()))
    return ()


def _snapshot(folder: Folder, op: Operation, trusted: bool, complete: bool) -> Before:
    schema = folder.schema
    certain = complete and not folder.unknown_anywhere
    doubt = folder.unknown_anywhere[0] if complete and folder.unknown_anywhere else None
    name = _subject_table(schema, op)
    table = schema.tables.get(name) if name is not None else None
    referencing = _referencing(schema, op, name)
    cascading = _cascading(schema, op, name)
    dependents = _dependents(schema, op)
    if name is None or table is None:
        # an index dropped by name whose table is unknown, or a table that is not there
        unknown = name in folder.unknown_tables
        return Before(None, {}, known=trusted and not unknown, enums=frozenset(schema.enums),
                      certain=certain, referencing=referencing, dependents=dependents,
                      doubt=doubt,
                      cascading=cascading)
    indexes = {n: replace(i) for n, i in schema.indexes.items() if i.table == name}
    known = trusted and not table.unknown and name not in folder.unknown_tables
    return Before(_copy_table(table), indexes, known=known, enums=frozenset(schema.enums),
                  certain=certain, referencing=referencing, dependents=dependents,
                      doubt=doubt,
                      cascading=cascading)


def state_before(folder: Folder, op: Operation) -> Before:
    """The :class:`Before` of ``op`` on ``folder``'s running schema (for a fold of
    statements as they run, such as ``rebuild --trace``)."""
    return _snapshot(folder, op, True, True)


class Timeline:
    """The :class:`Before` of every operation of the given kinds in the given files."""

    def __init__(self, graph: RevisionGraph, kinds: Iterable[str],
                 files: Sequence[MigrationFile] | None = None):
        self.graph = graph
        self.kinds = frozenset(kinds)
        wanted = graph.files if files is None else files
        #: revisions whose operations are snapshotted
        self.wanted = {mf.revision for mf in wanted
                       if mf.revision is not None and graph.nodes.get(mf.revision) is mf
                       and any(op.kind in self.kinds for op in mf.upgrade_ops)}
        self._before: dict[int, Before] | None = None
        #: whether the chain starts from an empty database: every root revision creates
        #: a table (a chain whose root creates nothing starts from a schema made
        #: elsewhere, e.g. by ``metadata.create_all()``, and cannot be sure of absence)
        self.complete = bool(graph.bases) and all(
            any(op.kind == "create_table" for op in graph.nodes[root].upgrade_ops)
            for root in graph.bases)

    def before(self, op: Operation) -> Before | None:
        """The state just before ``op``, or None if it was not asked for or not knowable."""
        if self._before is None:
            self._before = {}
            if self.wanted:
                self._walk()
        return self._before.get(id(op))

    # ------------------------------------------------------------------ the walk

    def _walk(self) -> None:
        assert self._before is not None
        graph = self.graph
        # a revision starts from exactly the running fold iff everything folded before it
        # is one of its ancestors (bit i is revision i of the order)
        bits: dict[str, int] = {}
        folder = Folder("timeline")
        position = {rev: i for i, rev in enumerate(graph.order)}
        last = max((position[r] for r in self.wanted if r in position), default=-1)
        for i, rev in enumerate(graph.order[:last + 1]):
            mask = 1 << i
            for parent in graph.parents.get(rev, ()):
                mask |= bits.get(parent, 0)
            bits[rev] = mask
            mf = graph.nodes[rev]
            exact = mask.bit_count() == i + 1
            if rev in self.wanted and not exact:
                self._record(self._replay_ancestors(rev, bits), rev, mf)
            elif rev in self.wanted:
                self._record(folder, rev, mf)
                continue  # _record applied the operations to the running fold
            folder.revision = rev
            for op in _ops_of(mf):
                folder.apply(op)

    def _record(self, folder: Folder, rev: str, mf: MigrationFile) -> None:
        assert self._before is not None
        folder.revision = rev
        trusted = mf.readable
        for op in _ops_of(mf):
            if op.kind in self.kinds:
                self._before[id(op)] = _snapshot(folder, op, trusted, self.complete)
            folder.apply(op)

    def _replay_ancestors(self, rev: str, bits: dict[str, int]) -> Folder:
        """A fold of exactly the ancestors of ``rev`` (not ``rev`` itself), in graph order."""
        mask = bits[rev]
        folder = Folder("timeline (branch)")
        for j, other in enumerate(self.graph.order):
            if other == rev:
                break
            if mask >> j & 1:
                folder.revision = other
                for op in _ops_of(self.graph.nodes[other]):
                    folder.apply(op)
        return folder
