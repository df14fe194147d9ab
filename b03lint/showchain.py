"""The migrations of the chain that touched one object, for ``b03lint show``: earlier
names followed back through renames, each operation matched, with the lock model's
effect on the replayed schema just before it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterColumnDefault,
    AlterColumnNullable,
    AlterColumnType,
    CreateIndex,
    CreatePolicy,
    CreateTable,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropPolicy,
    DropTable,
    MigrationFile,
    Operation,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameTable,
    Truncate,
    Unresolved,
    ValidateConstraint,
)
from b03lint.pgmodel.locks import DEFAULT_VERSION
from b03lint.showfacts import (
    _constraint_concerns,
    _constraint_name,
    _implied,
    _index_concerns,
    _index_name,
    _Lines,
    column_text,
    constraint_text,
    index_shape,
    policy_text,
)
from b03lint.showmodel import ObjectRef, Touch

if TYPE_CHECKING:
    from b03lint.graph import RevisionGraph


# --------------------------------------------------------------------------- migrations


@dataclass
class _Aliases:
    tables: set[str]
    locals: set[str]


def _aliases(ref: ObjectRef, ops: list[tuple[str, Operation]]) -> _Aliases:
    """Earlier names of the object, following renames backwards through the chain."""
    tables = {ref.table} if ref.table else set()
    locals_ = {ref.local}
    for _, op in reversed(ops):
        if isinstance(op, RenameTable) and op.new_name in tables:
            tables.add(op.table)
            if ref.kind == "table":
                locals_.add(op.table)
        elif (isinstance(op, RenameColumn) and ref.kind == "column" and op.table in tables
              and op.new_name in locals_):
            locals_.add(op.column)
        elif ((isinstance(op, RenameConstraint) and ref.kind == "constraint"
               and op.table in tables)
              or (isinstance(op, RenameIndex) and ref.kind in ("index", "constraint"))) \
                and op.new_name in locals_:
            locals_.add(op.name)
    return _Aliases(tables, locals_)


class _Matcher:
    """Decides, walking the chain forward, whether an operation concerns the object."""

    def __init__(self, ref: ObjectRef, aliases: _Aliases, related_constraints: set[str],
                 related_indexes: set[str]):
        self.ref = ref
        self.a = aliases
        #: for a column: constraints and indexes that concern it (grown while walking)
        self.constraints = set(related_constraints)
        self.indexes = set(related_indexes)
        #: for a table: its indexes; for an index or constraint: its table and columns
        self.index_tables: set[str] = set(aliases.tables)
        self.columns: set[str] = set()

    def what(self, op: Operation) -> str | None:
        """A description of what ``op`` did to the object, or None if unrelated."""
        kind = self.ref.kind
        if kind == "table":
            return self._table(op)
        if kind == "column":
            return self._column(op)
        if kind == "index":
            return self._index(op)
        if kind == "constraint":
            return self._constraint(op)
        return self._policy(op)

    def _on_table(self, op: Operation) -> bool:
        return op.table_name in self.a.tables

    def _common(self, op: Operation) -> str | None:
        if isinstance(op, DropTable) and self._on_table(op):
            return f"{op.describe()} (and with it the {self.ref.kind})"
        if isinstance(op, RenameTable) and (op.table in self.a.tables
                                            or op.new_name in self.a.tables):
            return op.describe()
        if isinstance(op, Unresolved) and self._on_table(op):
            return f"{op.describe()} (may touch it)"
        return None

    def _table(self, op: Operation) -> str | None:
        if isinstance(op, CreateIndex) and self._on_table(op):
            self.indexes.add(_index_name(op))
            return f"{op.describe()} {index_shape(op)}"
        if isinstance(op, DropIndex) and (op.name in self.indexes or self._on_table(op)):
            return op.describe()
        if isinstance(op, Truncate) and self.a.tables & set(op.tables):
            return op.describe()
        if isinstance(op, RenameTable) and (op.table in self.a.tables
                                            or op.new_name in self.a.tables):
            return op.describe()
        if self._on_table(op):
            return _detail(op)
        return None

    def _column(self, op: Operation) -> str | None:
        names = self.a.locals
        if not self._on_table(op) and not isinstance(op, DropIndex | RenameIndex):
            return None
        if isinstance(op, CreateTable):
            parts: list[str] = []
            for col in op.columns:
                if col.name in names:
                    parts.append(f"column {col.name} {column_text(col)}")
                    self.constraints.update(n for n, _ in _implied(op.table, col))
            for cdef in op.constraints:
                if any(_constraint_concerns(cdef, n) for n in names):
                    cname = _constraint_name(op.table, cdef)
                    self.constraints.add(cname)
                    parts.append(f"constraint {cname} {constraint_text(cdef)}")
            return f"create table {op.table} with " + "; ".join(parts) if parts else None
        if isinstance(op, AddColumn) and op.column.name in names:
            for cname, _ in _implied(op.table, op.column):
                self.constraints.add(cname)
            return f"{op.describe()} {column_text(op.column)}"
        if isinstance(op, DropColumn | AlterColumnType | AlterColumnNullable
                      | AlterColumnDefault) and op.column in names:
            return op.describe()
        if isinstance(op, RenameColumn) and (op.column in names or op.new_name in names):
            return op.describe()
        if isinstance(op, AddConstraint) and any(_constraint_concerns(op.constraint, n)
                                                 for n in names):
            self.constraints.add(_constraint_name(op.table, op.constraint))
            return f"{op.describe()}: {constraint_text(op.constraint)}"
        if isinstance(op, DropConstraint | ValidateConstraint) and op.name in self.constraints:
            return _detail(op)
        if isinstance(op, RenameConstraint) and op.name in self.constraints:
            self.constraints.add(op.new_name)
            return f"rename constraint {op.name} to {op.new_name}"
        if isinstance(op, CreateIndex) and any(
                _index_concerns(op.elements, op.include, op.where, n) for n in names):
            self.indexes.add(_index_name(op))
            return f"{op.describe()} {index_shape(op)}"
        if isinstance(op, DropIndex) and op.name in self.indexes:
            return op.describe()
        if isinstance(op, RenameIndex) and op.name in self.indexes:
            self.indexes.add(op.new_name)
            return op.describe()
        return self._common(op)

    def _index(self, op: Operation) -> str | None:
        names = self.a.locals
        if isinstance(op, CreateIndex):
            if _index_name(op) in names:
                self.index_tables.add(op.table)
                return f"{op.describe()} {index_shape(op)}"
            return None
        if isinstance(op, DropIndex) and op.name in names:
            return op.describe()
        if isinstance(op, RenameIndex) and (op.name in names or op.new_name in names):
            return op.describe()
        if isinstance(op, DropTable) and op.table in self.index_tables:
            return f"{op.describe()} (and with it the index)"
        if isinstance(op, Unresolved) and op.table in self.index_tables:
            return f"{op.describe()} (may touch it)"
        return None

    def _constraint(self, op: Operation) -> str | None:
        names = self.a.locals
        if isinstance(op, CreateTable) and self._on_table(op):
            for cdef in op.constraints:
                if _constraint_name(op.table, cdef) in names:
                    self.columns.update(cdef.columns)
                    return f"create table {op.table} with {constraint_text(cdef)}"
            for col in op.columns:
                for cname, ctext in _implied(op.table, col):
                    if cname in names:
                        self.columns.add(col.name)
                        return f"create table {op.table} with {ctext}"
            return None
        if isinstance(op, AddConstraint) and self._on_table(op) and _constraint_name(
                op.table, op.constraint) in names:
            self.columns.update(op.constraint.columns)
            return f"{op.describe()}: {constraint_text(op.constraint)}"
        if isinstance(op, AddColumn) and self._on_table(op):
            for cname, ctext in _implied(op.table, op.column):
                if cname in names:
                    return f"{op.describe()} with {ctext}"
            return None
        if (isinstance(op, DropConstraint | ValidateConstraint) and self._on_table(op)
                and op.name in names):
            return _detail(op)
        if isinstance(op, RenameConstraint) and self._on_table(op) and (
                op.name in names or op.new_name in names):
            return f"rename constraint {op.name} to {op.new_name}"
        if isinstance(op, RenameIndex) and (op.name in names or op.new_name in names):
            return op.describe()
        if isinstance(op, DropColumn) and self._on_table(op) and op.column in self.columns:
            return f"{op.describe()} (and with it the constraint)"
        return self._common(op)

    def _policy(self, op: Operation) -> str | None:
        if isinstance(op, CreatePolicy) and self._on_table(op) and op.name in self.a.locals:
            return f"{op.describe()} {policy_text(op)}"
        if isinstance(op, DropPolicy) and self._on_table(op) and op.name in self.a.locals:
            return op.describe()
        return self._common(op)


def _detail(op: Operation) -> str:
    if isinstance(op, AddConstraint):
        return f"{op.describe()}: {constraint_text(op.constraint)}"
    if isinstance(op, AddColumn):
        return f"{op.describe()} {column_text(op.column)}"
    if isinstance(op, CreatePolicy):
        return f"{op.describe()} {policy_text(op)}"
    if isinstance(op, ValidateConstraint):
        return f"validate constraint {op.name} on {op.table}"
    if isinstance(op, RenameConstraint):
        return f"rename constraint {op.name} to {op.new_name} on {op.table}"
    return op.describe()


def _chain_ops(graph: RevisionGraph, revs: list[str]) -> Iterator[tuple[str, Operation]]:
    for rev in revs:
        for op in graph.nodes[rev].upgrade_ops:
            yield rev, op


def touches(ref: ObjectRef, graph: RevisionGraph, revision: str | None,
            related_constraints: Iterable[str] = (), related_indexes: Iterable[str] = (),
            lines: _Lines | None = None, pattern: str | None = None,
            version: int = DEFAULT_VERSION) -> list[Touch]:
    """Every upgrade operation up to ``revision`` (every head when None) that concerns the
    object, in chain order; ``pattern`` is ``adr_pattern``."""
    from b03lint.waivers import adr_pattern, waivers_in

    project_pattern = adr_pattern(pattern)

    lines = lines or _Lines()
    ops = list(_chain_ops(graph, graph.upto(revision)))
    aliases = _aliases(ref, ops)
    words = [ref.local, *sorted(aliases.locals - {ref.local})]
    matcher = _Matcher(ref, aliases, set(related_constraints), set(related_indexes))
    waivers: dict[str, dict[int, Any]] = {}
    out: list[Touch] = []
    matched: list[tuple[str, Operation]] = []
    for rev, op in ops:
        what = matcher.what(op)
        if what is None:
            continue
        mf: MigrationFile = graph.nodes[rev]
        if mf.path not in waivers:
            waivers[mf.path] = waivers_in(mf, project_pattern)
        line = op.loc.line
        if isinstance(op, CreateTable) and ref.kind != "table":
            line = next((n for n in (lines.refine(op.loc, w) for w in words)
                         if n != op.loc.line), op.loc.line)
        found = waivers[mf.path]
        waiver = next((found[n].adr for n in (op.loc.line, op.loc.line - 1) if n in found),
                      None)
        out.append(Touch(rev, op.loc.path, line, what, waiver if op.destructive or isinstance(
            op, DropIndex | DropConstraint) else None))
        matched.append((rev, op))
    return _with_locks(out, matched, graph, version)


def _with_locks(out: list[Touch], matched: list[tuple[str, Operation]], graph: RevisionGraph,
                version: int) -> list[Touch]:
    """Each touch with the lock model's effect, on the replayed schema just before it."""
    from b03lint.pgmodel.locks import effect
    from b03lint.rules.lockbase import created_here
    from b03lint.schema.timeline import Timeline

    if not matched:
        return out
    timeline = Timeline(graph, {op.kind for _, op in matched},
                        [graph.nodes[rev] for rev in dict.fromkeys(r for r, _ in matched)])
    done = []
    for touch, (rev, op) in zip(out, matched, strict=True):
        before = timeline.before(op)
        table = op.table_name or (before.table.name if before is not None
                                  and before.table is not None else None)
        ops = graph.nodes[rev].upgrade_ops
        index = next(i for i, other in enumerate(ops) if other is op)
        fresh = table is not None and created_here(ops, index, table) is True
        done.append(replace(touch, lock=effect(op, before, version), new_table=fresh))
    return done
