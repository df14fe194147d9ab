"""Fold operations, in order, into a :class:`Schema`, remembering for every object the
operation that last shaped it. The canonical SQL goes through the same fold as the
migration chain, so both are read by exactly the same rules.

Operations that cannot apply (dropping a column that is not there, creating a table that
exists) are returned as :class:`Conflict`s: the real migration would fail there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterColumnDefault,
    AlterColumnNullable,
    AlterColumnType,
    AlterEnumAddValue,
    ColumnDef,
    ConstraintDef,
    CreateEnumType,
    CreateIndex,
    CreatePolicy,
    CreateTable,
    DisableRLS,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropPolicy,
    DropTable,
    DropType,
    EnableRLS,
    ForceRLS,
    IndexElement,
    Location,
    NoForceRLS,
    Operation,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameTable,
    Unresolved,
    ValidateConstraint,
)
from b03lint.schema.model import (
    Column,
    Constraint,
    Index,
    Origin,
    Policy,
    Schema,
    Table,
    default_constraint_name,
    default_index_name,
)


@dataclass(frozen=True, slots=True)
class Conflict:
    loc: Location
    message: str
    object: str | None
    revision: str | None = None


@dataclass
class Replay:
    """The result of a fold: the schema, the conflicts, and what could not be known."""

    schema: Schema
    conflicts: list[Conflict]
    #: tables an unresolved operation may have changed (their facts are unknown)
    unknown_tables: set[str]
    #: unresolved operations that name no table: anything may have changed
    unknown_anywhere: list[Unresolved]


def constraint_from_def(table: str, cdef: ConstraintDef, origin: Origin | None) -> Constraint:
    columns = cdef.columns
    if cdef.kind == "check" and not columns and cdef.enum_column:
        columns = (cdef.enum_column,)
    name = cdef.name or default_constraint_name(cdef.kind, table, columns)
    return Constraint(
        name=name, kind=cdef.kind, columns=cdef.columns, expression=cdef.expression,
        references=cdef.references, enum_column=cdef.enum_column, enum_values=cdef.enum_values,
        not_valid=cdef.not_valid, deferrable=cdef.deferrable, origin=origin,
        implicit_name=cdef.name is None,
    )


def _column_constraints(table: str, col: ColumnDef) -> list[ConstraintDef]:
    """The constraints a column definition implies (``primary_key=True``, ``unique=True``,
    an inline ``REFERENCES`` or CHECK)."""
    out: list[ConstraintDef] = []
    if col.unique:
        out.append(ConstraintDef(kind="unique", name=None, columns=(col.name,)))
    if col.references is not None:
        out.append(ConstraintDef(kind="foreign_key", name=None, columns=(col.name,),
                                 references=col.references))
    if col.check:
        out.append(_check_def(col.check, col.name))
    return out


def _check_def(expression: str, column: str | None) -> ConstraintDef:
    from b03lint.readers.sql import analyze_check

    info = analyze_check(expression)
    return ConstraintDef(kind="check", name=None, columns=(column,) if column else (),
                         expression=info.expression, enum_column=info.column,
                         enum_values=info.values)


def _same_constraint(a: ConstraintDef, b: ConstraintDef) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == "check":
        return (a.expression or "") == (b.expression or "")
    return a.columns == b.columns


class Folder:
    def __init__(self, label: str):
        self.schema = Schema(label=label)
        self.conflicts: list[Conflict] = []
        self.unknown_tables: set[str] = set()
        self.unknown_anywhere: list[Unresolved] = []
        self.revision: str | None = None

    # ------------------------------------------------------------------ helpers

    def origin(self, op: Operation) -> Origin:
        return Origin(op.loc, self.revision, op.describe())

    def conflict(self, op: Operation, message: str, obj: str | None) -> None:
        table = op.table_name
        if table is not None and table in self.unknown_tables:
            return  # an unresolved operation may explain it: never guess
        if self.unknown_anywhere:
            return
        self.conflicts.append(Conflict(op.loc, message, obj, self.revision))

    def table(self, op: Operation, name: str) -> Table | None:
        t = self.schema.tables.get(name)
        if t is None:
            self.conflict(op, f"table {name} does not exist at this point of the chain", name)
        return t

    def add_constraint(self, op: Operation, table: Table, cdef: ConstraintDef) -> None:
        con = constraint_from_def(table.name, cdef, self.origin(op))
        existing = table.constraints.get(con.name)
        if (existing is not None and con.implicit_name and existing.implicit_name
                and (existing.kind, existing.columns, existing.expression)
                == (con.kind, con.columns, con.expression)):
            return  # one inline constraint reported both on the column and on its own
        if existing is not None:
            self.conflict(op, f"constraint {con.name} already exists on {table.name}",
                          con.name)
        table.constraints[con.name] = con

    def add_column(self, op: Operation, table: Table, col: ColumnDef) -> None:
        table.columns[col.name] = Column(
            name=col.name, type=col.type, nullable=col.nullable and not col.primary_key,
            default=col.default, identity=col.identity, origin=self.origin(op))

    # ------------------------------------------------------------------ fold

    def apply(self, op: Operation) -> None:
        s = self.schema
        t: Table | None
        con: Constraint | None
        col: Column | None
        idx: Index | None
        if isinstance(op, CreateTable):
            if op.table in s.tables:
                if not op.if_not_exists:
                    self.conflict(op, f"table {op.table} already exists", op.table)
                return
            t = Table(name=op.table, schema=op.schema, origin=self.origin(op))
            s.tables[op.table] = t
            declared = list(op.constraints)
            pk_cols = tuple(c.name for c in op.columns if c.primary_key)
            if pk_cols and not any(c.kind == "primary_key" for c in declared):
                declared.insert(0, ConstraintDef(kind="primary_key", name=None, columns=pk_cols))
            for cdef_col in op.columns:
                self.add_column(op, t, cdef_col)
                for implied in _column_constraints(op.table, cdef_col):
                    if not any(_same_constraint(implied, d) for d in declared):
                        declared.append(implied)
            for cdef in declared:
                if cdef.kind == "primary_key":
                    for name in cdef.columns:
                        if name in t.columns:
                            t.columns[name].nullable = False
                self.add_constraint(op, t, cdef)
        elif isinstance(op, DropTable):
            if op.table not in s.tables:
                if not op.if_exists:
                    self.conflict(op, f"table {op.table} does not exist", op.table)
                return
            del s.tables[op.table]
            for name in [n for n, i in s.indexes.items() if i.table == op.table]:
                del s.indexes[name]
        elif isinstance(op, RenameTable):
            t = self.table(op, op.table)
            if t is None:
                return
            del s.tables[op.table]
            t.name, t.origin = op.new_name, self.origin(op)
            s.tables[op.new_name] = t
            for idx in s.indexes.values():
                if idx.table == op.table:
                    idx.table = op.new_name
            for pol in t.policies.values():
                pol.table = op.new_name
        elif isinstance(op, AddColumn):
            t = self.table(op, op.table)
            if t is None:
                return
            if op.column.name in t.columns:
                if not op.if_not_exists:
                    self.conflict(op, f"column {op.table}.{op.column.name} already exists",
                                  f"{op.table}.{op.column.name}")
                return
            self.add_column(op, t, op.column)
            if op.column.primary_key:
                self.add_constraint(op, t, ConstraintDef(kind="primary_key", name=None,
                                                         columns=(op.column.name,)))
            for implied in _column_constraints(op.table, op.column):
                self.add_constraint(op, t, implied)
        elif isinstance(op, DropColumn):
            t = self.table(op, op.table)
            if t is None:
                return
            if op.column not in t.columns:
                if not op.if_exists:
                    self.conflict(op, f"column {op.table}.{op.column} does not exist",
                                  f"{op.table}.{op.column}")
                return
            del t.columns[op.column]
            for name, con in list(t.constraints.items()):
                if op.column in con.columns or con.enum_column == op.column:
                    del t.constraints[name]
            for name, idx in list(s.indexes.items()):
                if idx.table == op.table and (
                        op.column in idx.include
                        or any(not e.is_expression and e.expression == op.column
                               for e in idx.elements)):
                    del s.indexes[name]
        elif isinstance(op, RenameColumn):
            t = self.table(op, op.table)
            if t is None:
                return
            col = t.columns.pop(op.column, None)
            if col is None:
                self.conflict(op, f"column {op.table}.{op.column} does not exist",
                              f"{op.table}.{op.column}")
                return
            col.name, col.origin = op.new_name, self.origin(op)
            t.columns = {**t.columns, op.new_name: col}
            self._rename_references(t, op.column, op.new_name)
        elif isinstance(op, AlterColumnType | AlterColumnNullable | AlterColumnDefault):
            t = self.table(op, op.table)
            if t is None:
                return
            col = t.columns.get(op.column)
            if col is None:
                self.conflict(op, f"column {op.table}.{op.column} does not exist",
                              f"{op.table}.{op.column}")
                return
            if isinstance(op, AlterColumnType):
                col.type = op.new_type
            elif isinstance(op, AlterColumnNullable):
                col.nullable = op.nullable
            else:
                col.default = op.default
            col.origin = self.origin(op)
        elif isinstance(op, CreateIndex):
            if op.table not in s.tables and self.table(op, op.table) is None:
                return
            cols = tuple(e.expression for e in op.elements if not e.is_expression)
            name = op.name or default_index_name(op.table, cols)
            if name in s.indexes:
                if not op.if_not_exists:
                    self.conflict(op, f"index {name} already exists", name)
                return
            s.indexes[name] = Index(name=name, table=op.table, elements=op.elements,
                                    unique=op.unique, include=op.include, where=op.where,
                                    method=op.method, origin=self.origin(op))
        elif isinstance(op, DropIndex):
            if op.name not in s.indexes:
                if not op.if_exists:
                    self.conflict(op, f"index {op.name} does not exist", op.name)
                return
            del s.indexes[op.name]
        elif isinstance(op, RenameIndex):
            idx = s.indexes.pop(op.name, None)
            if idx is not None:
                idx.name, idx.origin = op.new_name, self.origin(op)
                s.indexes[op.new_name] = idx
                return
            for owner in s.tables.values():  # ALTER INDEX on a constraint's index
                con = owner.constraints.pop(op.name, None)
                if con is not None:
                    con.name, con.origin = op.new_name, self.origin(op)
                    owner.constraints[op.new_name] = con
                    return
            self.conflict(op, f"index {op.name} does not exist", op.name)
        elif isinstance(op, AddConstraint):
            t = self.table(op, op.table)
            if t is None:
                return
            if op.constraint.kind == "primary_key":
                for name in op.constraint.columns:
                    if name in t.columns:
                        t.columns[name].nullable = False
            self.add_constraint(op, t, op.constraint)
        elif isinstance(op, DropConstraint):
            t = self.table(op, op.table)
            if t is None:
                return
            if op.name not in t.constraints:
                if not op.if_exists:
                    self.conflict(op, f"constraint {op.name} does not exist on {op.table}",
                                  op.name)
                return
            del t.constraints[op.name]
        elif isinstance(op, RenameConstraint):
            t = self.table(op, op.table)
            if t is None:
                return
            con = t.constraints.pop(op.name, None)
            if con is None:
                self.conflict(op, f"constraint {op.name} does not exist on {op.table}", op.name)
                return
            con.name, con.origin, con.implicit_name = op.new_name, self.origin(op), False
            t.constraints[op.new_name] = con
        elif isinstance(op, ValidateConstraint):
            t = self.table(op, op.table)
            if t is not None and op.name in t.constraints:
                t.constraints[op.name].not_valid = False
        elif isinstance(op, EnableRLS | DisableRLS | ForceRLS | NoForceRLS):
            t = self.table(op, op.table)
            if t is None:
                return
            if isinstance(op, EnableRLS | DisableRLS):
                t.rls_enabled = isinstance(op, EnableRLS)
            else:
                t.rls_forced = isinstance(op, ForceRLS)
            t.rls_origin = self.origin(op)
        elif isinstance(op, CreatePolicy):
            t = self.table(op, op.table)
            if t is None:
                return
            if op.name in t.policies:
                self.conflict(op, f"policy {op.name} already exists on {op.table}", op.name)
            t.policies[op.name] = Policy(
                name=op.name, table=op.table, command=op.command, permissive=op.permissive,
                roles=op.roles, using=op.using, with_check=op.with_check,
                origin=self.origin(op))
        elif isinstance(op, DropPolicy):
            t = self.table(op, op.table)
            if t is None:
                return
            if t.policies.pop(op.name, None) is None and not op.if_exists:
                self.conflict(op, f"policy {op.name} does not exist on {op.table}", op.name)
        elif isinstance(op, CreateEnumType):
            s.enums[op.name] = op.values
        elif isinstance(op, AlterEnumAddValue):
            values = list(s.enums.get(op.name, ()))
            if op.value not in values:
                anchor = op.before or op.after
                if anchor in values:
                    at = values.index(anchor) + (1 if op.after else 0)
                    values.insert(at, op.value)
                else:
                    values.append(op.value)
            s.enums[op.name] = tuple(values)
        elif isinstance(op, DropType):
            s.enums.pop(op.name, None)
        elif isinstance(op, Unresolved):
            if op.table:
                self.unknown_tables.add(op.table)
                t = s.tables.get(op.table)
                if t is not None:
                    t.unknown = True
            elif op.phase != "module":
                self.unknown_anywhere.append(op)

    def _rename_references(self, t: Table, old: str, new: str) -> None:
        def ren(names: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(new if n == old else n for n in names)

        for con in t.constraints.values():
            con.columns = ren(con.columns)
            if con.enum_column == old:
                con.enum_column = new
        for idx in self.schema.indexes.values():
            if idx.table == t.name:
                idx.include = ren(idx.include)
                idx.elements = tuple(
                    replace(e, expression=new)
                    if not e.is_expression and e.expression == old else e
                    for e in idx.elements)


def fold(steps: Iterable[tuple[str | None, Iterable[Operation]]], label: str) -> Replay:
    """Apply each step's operations in order. A step is ``(revision or None, operations)``."""
    folder = Folder(label)
    for revision, ops in steps:
        folder.revision = revision
        for op in ops:
            folder.apply(op)
    return Replay(folder.schema, folder.conflicts, folder.unknown_tables,
                  folder.unknown_anywhere)


def index_columns(elements: tuple[IndexElement, ...]) -> tuple[str, ...]:
    return tuple(e.expression for e in elements)
