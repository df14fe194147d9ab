"""Fold operations, in order, into a :class:`Schema`, remembering for every object the
operation that last shaped it. The canonical SQL goes through the same fold as the
migration chain, so both are read by exactly the same rules.

Each operation does what PostgreSQL does with it: a rename reaches every reference (foreign
keys of other tables, indexes, constraints and policies that use the column, sequences
owned by it, column types and defaults that name a renamed type); a drop takes its
automatic dependents with it and refuses, without ``CASCADE``, what depends on it otherwise
(:mod:`b03lint.schema.depends`); ``ADD CONSTRAINT ... USING INDEX`` turns the index into the
constraint; ``NOT VALID`` counts only where PostgreSQL honours it (``ALTER TABLE ... ADD``).

Operations that cannot apply (dropping a column that is not there, creating a table that
exists, dropping what others depend on) are returned as :class:`Conflict`s: the real
migration would fail there, and PostgreSQL would leave the schema as it was, so the fold
does too.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterColumnDefault,
    AlterColumnNullable,
    AlterColumnType,
    ColumnDef,
    ConstraintDef,
    CreateIndex,
    CreatePolicy,
    CreateSchema,
    CreateSequence,
    CreateTable,
    DisableRLS,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropPolicy,
    DropSchema,
    DropTable,
    EnableRLS,
    ForceRLS,
    ForeignKeyRef,
    IndexElement,
    Location,
    NoForceRLS,
    Operation,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameSequence,
    RenameTable,
    Unresolved,
    ValidateConstraint,
)
from b03lint.schema import depends, replay_types
from b03lint.schema.model import (
    Column,
    Constraint,
    Index,
    Origin,
    Policy,
    Schema,
    Sequence,
    Table,
    default_constraint_name,
    default_index_name,
)

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record


@record(frozen=True, slots=True)
class Conflict:
    loc: Location
    message: str
    object: str | None
    revision: str | None = None


@record
class Replay:
    """The result of a fold: the schema, the conflicts, and what could not be known."""

    schema: Schema
    conflicts: list[Conflict]
    #: tables an unresolved operation may have changed (their facts are unknown)
    unknown_tables: set[str]
    #: unresolved operations that name no table: anything may have changed
    unknown_anywhere: list[Unresolved]
    #: tables the chain uses but never creates (they come from the schema it starts from)
    external_tables: set[str] = field(default_factory=set)


def constraint_from_def(table: str, cdef: ConstraintDef, origin: Origin | None) -> Constraint:
    columns = cdef.columns
    if cdef.kind == "check" and not columns and cdef.enum_column:
        columns = (cdef.enum_column,)
    name = cdef.name or default_constraint_name(cdef.kind, table, columns)
    ref = cdef.references
    if ref is not None and ref.table.startswith("public."):
        ref = replace(ref, table=depends.bare(ref.table))  # names after the search path
    return Constraint(
        name=name, kind=cdef.kind, columns=cdef.columns, expression=cdef.expression,
        references=ref, enum_column=cdef.enum_column, enum_values=cdef.enum_values,
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


#: the constraint kinds that own an index of their name
_INDEXED_KINDS = ("primary_key", "unique", "exclude")


class Folder:
    """The running fold: apply operations one at a time with :meth:`apply`."""

    def __init__(self, label: str, base: Schema | None = None,
                 knowable: set[str] | None = None):
        """``base``: the schema the chain starts from (copied); ``knowable``: the names of
        the relations (tables, indexes, sequences) the chain or its base could know, when
        only those may be reported as missing (None: any may)."""
        self.schema = copy.deepcopy(base) if base is not None else Schema()
        self.schema.label = label
        self.conflicts: list[Conflict] = []
        self.unknown_tables: set[str] = set()
        self.unknown_anywhere: list[Unresolved] = []
        self.revision: str | None = None
        self.knowable = knowable
        self.external_tables: set[str] = set()
        #: (the schema it indexes, constraint name -> tables): see :meth:`_owners`
        self._owner_map: tuple[Schema, dict[str, list[Table]]] | None = None
        self._handlers: dict[type[Operation], Callable[[Any], None]] = {
            CreateTable: self._create_table, DropTable: self._drop_table,
            RenameTable: self._rename_table, AddColumn: self._add_column,
            DropColumn: self._drop_column, RenameColumn: self._rename_column,
            AlterColumnType: self._alter_column, AlterColumnNullable: self._alter_column,
            AlterColumnDefault: self._alter_column, CreateIndex: self._create_index,
            DropIndex: self._drop_index, RenameIndex: self._rename_index,
            AddConstraint: self._add_constraint_op, DropConstraint: self._drop_constraint,
            RenameConstraint: self._rename_constraint,
            ValidateConstraint: self._validate_constraint,
            EnableRLS: self._rls, DisableRLS: self._rls, ForceRLS: self._rls,
            NoForceRLS: self._rls, CreatePolicy: self._create_policy,
            DropPolicy: self._drop_policy, CreateSchema: self._create_schema,
            DropSchema: self._drop_schema, Unresolved: self._unresolved,
        }
        for kind, handle in replay_types.HANDLERS.items():
            self._handlers[kind] = partial(handle, self)

    # ------------------------------------------------------------------ helpers

    def origin(self, op: Operation) -> Origin:
        return Origin(op.loc, self.revision, op.describe())

    def conflict(self, op: Operation, message: str, obj: str | None,
                 also: Iterable[str] = ()) -> None:
        """Record that ``op`` cannot apply, unless an unresolved operation may explain it
        (its table, or one of the ``also`` tables it depends on, is unknown)."""
        for table in (op.table_name, *also):
            if table is not None and table in self.unknown_tables:
                return  # an unresolved operation may explain it: never guess
        if self.unknown_anywhere:
            return
        self.conflicts.append(Conflict(op.loc, message, obj, self.revision))

    def absent(self, op: Operation, name: str, message: str, table: bool = False) -> None:
        """``name`` is missing where ``op`` needs it: a conflict when the chain could have
        known it; otherwise it comes from the schema the chain starts from, which is not
        known (a table of it then is unknown, never reported)."""
        if self.knowable is not None and depends.bare(name) not in self.knowable:
            if table:
                self.unknown_tables.add(name)
                self.external_tables.add(name)
            return
        self.conflict(op, message, name)

    def table(self, op: Operation, name: str) -> Table | None:
        t = self.schema.tables.get(name)
        if t is None:
            self.absent(op, name, f"table {name} does not exist at this point of the chain",
                        table=True)
        return t

    def column(self, op: Operation, t: Table, name: str) -> Column | None:
        col = t.columns.get(name)
        if col is None:
            self.conflict(op, f"column {t.name}.{name} does not exist", f"{t.name}.{name}")
        return col

    def add_constraint(self, op: Operation, table: Table, cdef: ConstraintDef,
                       in_create: bool = False) -> None:
        if cdef.using_index is not None:
            self._constraint_using_index(op, table, cdef)
            return
        con = constraint_from_def(table.name, cdef, self.origin(op))
        if in_create:
            con.not_valid = False  # CREATE TABLE validates every constraint it declares
        existing = table.constraints.get(con.name)
        if (existing is not None and con.implicit_name and existing.implicit_name
                and (existing.kind, existing.columns, existing.expression)
                == (con.kind, con.columns, con.expression)):
            return  # one inline constraint reported both on the column and on its own
        if existing is not None:
            self.conflict(op, f"constraint {con.name} already exists on {table.name}",
                          con.name)
            return
        ref = con.references
        if ref is not None and not ref.columns:  # REFERENCES t: its primary key, resolved now
            target = depends.find_table(self.schema, ref.table)
            if target is not None:
                con.references = replace(ref, columns=depends.primary_key(target))
        if con.kind == "primary_key":
            for name in con.columns:
                if name in table.columns:
                    table.columns[name].nullable = False
        table.constraints[con.name] = con
        self._owned(con.name, table)

    def _constraint_using_index(self, op: Operation, table: Table, cdef: ConstraintDef) -> None:
        """``ADD CONSTRAINT [name] UNIQUE|PRIMARY KEY USING INDEX idx``: the index becomes
        the constraint's (renamed to the constraint's name when one is given)."""
        assert cdef.using_index is not None
        idx_name = depends.bare(cdef.using_index)
        idx = self.schema.indexes.get(idx_name)
        if idx is None or idx.table != table.name:
            self.conflict(op, f"index {idx_name} does not exist on {table.name}", idx_name)
            return
        columns = tuple(e.expression for e in idx.elements)
        if not idx.unique or idx.where is not None or any(e.is_expression
                                                          for e in idx.elements):
            self.conflict(op, f"index {idx_name} cannot back a {cdef.kind} constraint "
                          "(it must be unique, without expressions or WHERE)", idx_name)
            return
        name = cdef.name or idx_name
        del self.schema.indexes[idx_name]
        self.add_constraint(op, table, replace(cdef, name=name, columns=columns,
                                               using_index=None))
        con = table.constraints.get(name)
        if con is not None and cdef.name is None:
            con.implicit_name = False

    def add_column(self, op: Operation, table: Table, col: ColumnDef) -> None:
        table.columns[col.name] = Column(
            name=col.name, type=col.type, nullable=col.nullable and not col.primary_key,
            default=None if col.generated else col.default, identity=col.identity,
            generated=col.generated, origin=self.origin(op))
        seq = depends.sequence_of(table.columns[col.name])
        if seq is not None and seq not in self.schema.sequences:
            # serial: the column's default draws from a sequence it owns
            self.schema.sequences[seq] = Sequence(seq, (table.name, col.name),
                                                  self.origin(op))

    def drop_dependents(self, deps: depends.Dependents, cascade: bool) -> None:
        s = self.schema
        for table, name in deps.constraints + (deps.blocking_constraints if cascade else []):
            t = s.tables.get(table)
            if t is not None:
                t.constraints.pop(name, None)
        for name in deps.indexes:
            s.indexes.pop(name, None)
        for name in deps.sequences:
            s.sequences.pop(name, None)
        if not cascade:
            return
        for table, name in deps.blocking_policies:
            t = s.tables.get(table)
            if t is not None:
                t.policies.pop(name, None)
        for table, name in deps.blocking_defaults:
            t = s.tables.get(table)
            if t is not None and name in t.columns:
                t.columns[name].default = None
        for table, name in deps.blocking_columns:
            t = s.tables.get(table)
            if t is not None and name in t.columns:
                self.remove_column(t, name, cascade=True)

    def remove_column(self, t: Table, name: str, cascade: bool) -> None:
        deps = depends.of_column(self.schema, t, name)
        t.columns.pop(name, None)
        self.drop_dependents(deps, cascade)

    # ------------------------------------------------------------------ fold

    def apply(self, op: Operation) -> None:
        handler = self._handlers.get(type(op))
        if handler is not None:
            handler(op)

    def _create_table(self, op: CreateTable) -> None:
        s = self.schema
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
        # keys first, so that a foreign key to the table itself finds its primary key
        for cdef in sorted(declared, key=lambda c: c.kind == "foreign_key"):
            self.add_constraint(op, t, cdef, in_create=True)

    def _drop_table(self, op: DropTable) -> None:
        s = self.schema
        t = s.tables.get(op.table)
        if t is None:
            if not op.if_exists:
                self.absent(op, op.table, f"table {op.table} does not exist", table=True)
            return
        deps = depends.of_table(s, t)
        if deps.blocked and not op.cascade:
            self.conflict(op, f"cannot drop table {op.table}: {deps.describe_blocking()} "
                          "depend(s) on it (PostgreSQL requires CASCADE)", op.table,
                          also=[x for x, _ in deps.blocking_constraints])
            return
        del s.tables[op.table]
        self.drop_dependents(deps, op.cascade)

    def _rename_table(self, op: RenameTable) -> None:
        s = self.schema
        t = s.tables.get(op.table)
        if t is None:
            seq = s.sequences.get(replay_types.seq_name(op.table, op.schema))
            if seq is not None:  # ALTER TABLE seq RENAME TO: PostgreSQL allows it
                replay_types.rename_sequence(self, RenameSequence(
                    loc=op.loc, name=op.table, new_name=op.new_name, schema=op.schema))
                return
            self.table(op, op.table)
            return
        if op.new_name in s.tables:
            self.conflict(op, f"table {op.new_name} already exists", op.new_name)
            return
        old_refs = depends.ref_names(t)
        del s.tables[op.table]
        t.name, t.origin = op.new_name, self.origin(op)
        s.tables[op.new_name] = t
        for idx in s.indexes.values():
            if idx.table == op.table:
                idx.table = op.new_name
        for pol in t.policies.values():
            pol.table = op.new_name
        for seq in s.sequences.values():
            if seq.owned_by is not None and seq.owned_by[0] == op.table:
                seq.owned_by = (op.new_name, seq.owned_by[1])
        for other in s.tables.values():
            for con in other.constraints.values():
                ref = con.references
                if ref is not None and ref.table in old_refs:
                    con.references = replace(ref, table=_renamed(ref.table, op.table,
                                                                 op.new_name))
        if op.table in self.unknown_tables:
            self.unknown_tables.add(op.new_name)

    def _add_column(self, op: AddColumn) -> None:
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

    def _drop_column(self, op: DropColumn) -> None:
        t = self.table(op, op.table)
        if t is None:
            return
        if op.column not in t.columns:
            if not op.if_exists:
                self.conflict(op, f"column {op.table}.{op.column} does not exist",
                              f"{op.table}.{op.column}")
            return
        deps = depends.of_column(self.schema, t, op.column)
        if deps.blocked and not op.cascade:
            self.conflict(op, f"cannot drop column {op.table}.{op.column}: "
                          f"{deps.describe_blocking()} depend(s) on it (PostgreSQL requires "
                          "CASCADE)", f"{op.table}.{op.column}",
                          also=[x for x, _ in deps.blocking_constraints])
            return
        del t.columns[op.column]
        self.drop_dependents(deps, op.cascade)

    def _rename_column(self, op: RenameColumn) -> None:
        t = self.table(op, op.table)
        if t is None:
            return
        if op.column not in t.columns:
            self.column(op, t, op.column)
            return
        if op.new_name in t.columns:
            self.conflict(op, f"column {op.table}.{op.new_name} already exists",
                          f"{op.table}.{op.new_name}")
            return
        col = t.columns[op.column]
        col.name, col.origin = op.new_name, self.origin(op)
        t.columns = {(op.new_name if n == op.column else n): c for n, c in t.columns.items()}
        self._rename_references(t, op.column, op.new_name)

    def _alter_column(self, op: AlterColumnType | AlterColumnNullable | AlterColumnDefault
                      ) -> None:
        t = self.table(op, op.table)
        if t is None:
            return
        col = self.column(op, t, op.column)
        if col is None:
            return
        if isinstance(op, AlterColumnType):
            col.type = op.new_type
        elif isinstance(op, AlterColumnNullable):
            col.nullable = op.nullable
        else:
            col.default = op.default
        col.origin = self.origin(op)

    def _create_index(self, op: CreateIndex) -> None:
        s = self.schema
        if op.table not in s.tables and self.table(op, op.table) is None:
            return
        cols = tuple(e.expression for e in op.elements if not e.is_expression)
        name = op.name or default_index_name(op.table, cols)
        if name in s.indexes or self._constraint_index(name) is not None:
            if not op.if_not_exists:
                self.conflict(op, f"index {name} already exists", name)
            return
        s.indexes[name] = Index(name=name, table=op.table, elements=op.elements,
                                unique=op.unique, include=op.include, where=op.where,
                                method=op.method, origin=self.origin(op))

    def _constraint_index(self, name: str) -> tuple[Table, Constraint] | None:
        """The table and constraint whose index is called ``name`` (primary keys, unique and
        exclusion constraints have one of the constraint's name). Looked up in the tables
        known to have held a constraint of that name (:meth:`_owners`), each checked still
        to hold it: scanning every table for every index made a fold quadratic (a third of
        a 20,000-revision run, 3,168 tables)."""
        owners = self._owners()
        if owners is None:
            return self._scan_constraint_index(name)
        tables = self.schema.tables
        found: tuple[Table, Constraint] | None = None
        for owner in owners.get(name, ()):
            con = owner.constraints.get(name)
            if (con is not None and con.kind in _INDEXED_KINDS
                    and tables.get(owner.name) is owner):
                if found is not None and found[0] is not owner:
                    return self._scan_constraint_index(name)  # several: the first in order
                found = (owner, con)
        return found

    def _scan_constraint_index(self, name: str) -> tuple[Table, Constraint] | None:
        for owner in self.schema.tables.values():
            con = owner.constraints.get(name)
            if con is not None and con.kind in _INDEXED_KINDS:
                return owner, con
        return None

    def _owners(self) -> dict[str, list[Table]] | None:
        """Constraint name -> the tables that have held one of that name in this fold's
        schema (built once per schema; :meth:`_owned` adds to it; a table that lost the
        constraint or left the schema stays listed and fails the check above). None when
        some table is not filed under its own name (then every lookup scans)."""
        if self._owner_map is None or self._owner_map[0] is not self.schema:
            owners: dict[str, list[Table]] = {}
            for key, table in self.schema.tables.items():
                if key != table.name:
                    return None
                for con_name in table.constraints:
                    owners.setdefault(con_name, []).append(table)
            self._owner_map = (self.schema, owners)
        return self._owner_map[1]

    def _owned(self, name: str, table: Table) -> None:
        """``table`` now holds a constraint called ``name``: keep :meth:`_owners` whole."""
        if self._owner_map is not None and self._owner_map[0] is self.schema:
            self._owner_map[1].setdefault(name, []).append(table)

    def _drop_index(self, op: DropIndex) -> None:
        s = self.schema
        idx = s.indexes.get(op.name)
        if idx is None:
            owned = self._constraint_index(op.name)
            if owned is not None:
                self.conflict(op, f"cannot drop index {op.name}: constraint {op.name} on "
                              f"{owned[0].name} requires it (drop the constraint instead)",
                              op.name, also=[owned[0].name])
            elif not op.if_exists:
                self.absent(op, op.name, f"index {op.name} does not exist")
            return
        table = s.tables.get(idx.table)
        blocking = depends.of_key(s, table, idx.name) if table is not None else []
        if blocking and not op.cascade:
            self.conflict(op, f"cannot drop index {op.name}: "
                          + ", ".join(f"constraint {c} on {x}" for x, c in blocking)
                          + " depend(s) on it (PostgreSQL requires CASCADE)", op.name,
                          also=[idx.table, *(x for x, _ in blocking)])
            return
        del s.indexes[op.name]
        self.drop_dependents(depends.Dependents(constraints=blocking), cascade=False)
        # (with CASCADE, the foreign keys bound to the index went with it)

    def _rename_index(self, op: RenameIndex) -> None:
        s = self.schema
        if op.new_name in s.indexes or self._constraint_index(op.new_name) is not None:
            self.conflict(op, f"relation {op.new_name} already exists", op.new_name)
            return
        idx = s.indexes.pop(op.name, None)
        if idx is not None:
            idx.name, idx.origin = op.new_name, self.origin(op)
            s.indexes[op.new_name] = idx
            return
        owned = self._constraint_index(op.name)  # ALTER INDEX on a constraint's index
        if owned is not None:
            owner, con = owned
            del owner.constraints[op.name]
            con.name, con.origin, con.implicit_name = op.new_name, self.origin(op), False
            owner.constraints[op.new_name] = con
            self._owned(op.new_name, owner)
            return
        seq = s.sequences.get(replay_types.seq_name(op.name, op.schema))
        if seq is not None:  # ALTER INDEX seq RENAME TO: PostgreSQL allows it too
            replay_types.rename_sequence(self, RenameSequence(
                loc=op.loc, name=op.name, new_name=op.new_name, schema=op.schema))
            return
        self.absent(op, op.name, f"index {op.name} does not exist")

    def _add_constraint_op(self, op: AddConstraint) -> None:
        t = self.table(op, op.table)
        if t is not None:
            self.add_constraint(op, t, op.constraint)

    def _drop_constraint(self, op: DropConstraint) -> None:
        t = self.table(op, op.table)
        if t is None:
            return
        con = t.constraints.get(op.name)
        if con is None:
            if not op.if_exists:
                self.conflict(op, f"constraint {op.name} does not exist on {op.table}",
                              op.name)
            return
        blocking = ([fk for fk in depends.of_key(self.schema, t, op.name) if fk != (t.name,
                                                                                   op.name)]
                    if con.kind in ("primary_key", "unique") else [])
        if blocking and not op.cascade:
            self.conflict(op, f"cannot drop constraint {op.name} on {op.table}: "
                          + ", ".join(f"constraint {c} on {x}" for x, c in blocking)
                          + " depend(s) on it (PostgreSQL requires CASCADE)", op.name,
                          also=[x for x, _ in blocking])
            return
        del t.constraints[op.name]
        self.drop_dependents(depends.Dependents(blocking_constraints=blocking), op.cascade)

    def _rename_constraint(self, op: RenameConstraint) -> None:
        t = self.table(op, op.table)
        if t is None:
            return
        con = t.constraints.get(op.name)
        if con is None:
            self.conflict(op, f"constraint {op.name} does not exist on {op.table}", op.name)
            return
        if op.new_name in t.constraints:
            self.conflict(op, f"constraint {op.new_name} already exists on {op.table}",
                          op.new_name)
            return
        del t.constraints[op.name]
        con.name, con.origin, con.implicit_name = op.new_name, self.origin(op), False
        t.constraints[op.new_name] = con
        self._owned(op.new_name, t)

    def _validate_constraint(self, op: ValidateConstraint) -> None:
        t = self.table(op, op.table)
        if t is None:
            return
        con = t.constraints.get(op.name)
        if con is None:
            self.conflict(op, f"constraint {op.name} does not exist on {op.table}", op.name)
            return
        con.not_valid = False

    def _rls(self, op: EnableRLS | DisableRLS | ForceRLS | NoForceRLS) -> None:
        t = self.table(op, op.table)
        if t is None:
            return
        if isinstance(op, EnableRLS | DisableRLS):
            t.rls_enabled = isinstance(op, EnableRLS)
        else:
            t.rls_forced = isinstance(op, ForceRLS)
        t.rls_origin = self.origin(op)

    def _create_policy(self, op: CreatePolicy) -> None:
        t = self.table(op, op.table)
        if t is None:
            return
        if op.name in t.policies:
            self.conflict(op, f"policy {op.name} already exists on {op.table}", op.name)
            return
        t.policies[op.name] = Policy(
            name=op.name, table=op.table, command=op.command, permissive=op.permissive,
            roles=op.roles, using=op.using, with_check=op.with_check, origin=self.origin(op))

    def _drop_policy(self, op: DropPolicy) -> None:
        t = self.table(op, op.table)
        if t is None:
            return
        if t.policies.pop(op.name, None) is None and not op.if_exists:
            self.conflict(op, f"policy {op.name} does not exist on {op.table}", op.name)

    # ------------------------------------------------------------------ schemas

    def _create_schema(self, op: CreateSchema) -> None:
        s = self.schema
        if op.name in s.schemas or op.name == "public":
            if not op.if_not_exists:
                self.conflict(op, f"schema {op.name} already exists", op.name)
            return
        s.schemas.add(op.name)

    def _drop_schema(self, op: DropSchema) -> None:
        """A schema the chain did not create may exist all the same (made by hand, by the
        application): dropping it is never a conflict, and what it held is not known."""
        s = self.schema
        inside = [t for t in s.tables.values() if t.schema == op.name]
        if inside and not op.cascade:
            self.conflict(op, f"cannot drop schema {op.name}: table(s) "
                          f"{', '.join(t.name for t in inside)} are in it (PostgreSQL "
                          "requires CASCADE)", op.name, also=[t.name for t in inside])
            return
        s.schemas.discard(op.name)
        for t in inside:
            if t.name in s.tables:
                deps = depends.of_table(s, t)
                del s.tables[t.name]
                self.drop_dependents(deps, cascade=True)
        prefix = f"{op.name}."
        for name in [n for n in s.sequences if n.startswith(prefix)]:
            del s.sequences[name]

    # ------------------------------------------------------------------ unknowns

    def _unresolved(self, op: Unresolved) -> None:
        """What an unresolved operation may touch becomes unknown, and only that: a data
        statement nothing, a statement on one table that table, a marker in front of read
        operations the tables they touch, anything else anything."""
        if op.data:
            return
        if op.table or op.tables:
            for name in (op.table, *op.tables) if op.table else op.tables:
                self.unknown_tables.add(name)
                t = self.schema.tables.get(name)
                if t is not None:
                    t.unknown = True
        elif op.phase != "module":
            self.unknown_anywhere.append(op)

    # ------------------------------------------------------------------ renames

    def _rename_references(self, t: Table, old: str, new: str) -> None:
        """Everything that refers to column ``old`` of ``t`` follows the rename: PostgreSQL
        keeps references by column number, so they print with the new name."""
        from b03lint.schema.expressions import rename_column

        def ren(names: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(new if n == old else n for n in names)

        def expr(text: str | None) -> str | None:
            return None if text is None else rename_column(text, old, new, t.name)

        s = self.schema
        for con in t.constraints.values():
            con.columns = ren(con.columns)
            if con.enum_column == old:
                con.enum_column = new
            if con.kind == "check":
                con.expression = expr(con.expression)
        for idx in s.indexes.values():
            if idx.table == t.name:
                idx.include = ren(idx.include)
                idx.elements = tuple(_rename_element(e, old, new, t.name)
                                     for e in idx.elements)
                idx.where = expr(idx.where)
        for pol in t.policies.values():
            pol.using, pol.with_check = expr(pol.using), expr(pol.with_check)
        for col in t.columns.values():
            if col.generated:
                col.generated = expr(col.generated)
        names = depends.ref_names(t)
        for other in s.tables.values():
            for con in other.constraints.values():
                ref = con.references
                if ref is not None and ref.table in names and old in ref.columns:
                    con.references = ForeignKeyRef(ref.table, ren(ref.columns),
                                                   ref.on_delete, ref.on_update)
        for seq in s.sequences.values():
            if seq.owned_by == (t.name, old):
                seq.owned_by = (t.name, new)


def _renamed(ref_table: str, old: str, new: str) -> str:
    schema, _, name = ref_table.rpartition(".")
    return f"{schema}.{new}" if schema and name == old else new


def _rename_element(e: IndexElement, old: str, new: str, table: str) -> IndexElement:
    from b03lint.schema.expressions import rename_column

    if not e.is_expression:
        return replace(e, expression=new) if e.expression == old else e
    return replace(e, expression=rename_column(e.expression, old, new, table))


def fold(steps: Iterable[tuple[str | None, Iterable[Operation]]], label: str,
         base: Schema | None = None, knowable: set[str] | None = None) -> Replay:
    """Apply each step's operations in order. A step is ``(revision or None, operations)``;
    ``base`` and ``knowable`` as for :class:`Folder`."""
    folder = Folder(label, base, knowable)
    for revision, ops in steps:
        folder.revision = revision
        for op in ops:
            folder.apply(op)
    return Replay(folder.schema, folder.conflicts, folder.unknown_tables,
                  folder.unknown_anywhere, folder.external_tables)


def created_names(ops: Iterable[Operation], base: Schema | None = None) -> set[str]:
    """The relations (tables, indexes, sequences, constraints' indexes) that ``ops`` create
    or rename into being, and those of ``base``: what a chain can know of."""
    out: set[str] = set()
    if base is not None:
        out |= set(base.tables) | set(base.indexes) | set(base.sequences)
        out |= {c for t in base.tables.values() for c in t.constraints}
    for op in ops:
        if isinstance(op, CreateTable):
            out.add(op.table)
            out |= {c.name for c in op.constraints if c.name}
            out |= {s for c in op.columns if (s := depends.sequence_of_text(c.default))}
        elif isinstance(op, AddColumn):
            if (s := depends.sequence_of_text(op.column.default)) is not None:
                out.add(s)
        elif isinstance(op, CreateIndex):
            out.add(op.name or default_index_name(
                op.table, tuple(e.expression for e in op.elements if not e.is_expression)))
        elif isinstance(op, AddConstraint) and op.constraint.name:
            out.add(op.constraint.name)
        elif isinstance(op, RenameTable | RenameIndex | RenameConstraint | RenameSequence):
            out.add(op.new_name)
        elif isinstance(op, CreateSequence):
            out.add(replay_types.seq_name(op.name, op.schema))
    return out


def index_columns(elements: tuple[IndexElement, ...]) -> tuple[str, ...]:
    return tuple(e.expression for e in elements)
