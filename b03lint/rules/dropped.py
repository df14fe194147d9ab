"""Dropped indexes and constraints, judged in context (D010, D011).

A drop is reported by what it takes away, read from the replayed schema just before it
(:mod:`b03lint.schema.timeline`): the index's columns and uniqueness, the constraint's
kind and rule. In the same ``upgrade()``:

- a drop whose protection is restored, on the same table and with the same shape, under
  any name (or none: a name from the naming convention), is info "replaced"; so is an
  index "renamed" as create-then-drop;
- a drop followed by the drop of its table, or of a column it covers, is not reported
  apart: PostgreSQL drops every index and constraint involving a dropped column, and the
  table or column finding covers it;
- a drop made redundant (a unique index or UNIQUE constraint on the primary key's
  columns, a ``CHECK (col IS NOT NULL)`` on a column that is NOT NULL, an index whose
  columns lead another index of the table) is info.

Everything else is a warning whose message says what is really lost: uniqueness only for
a unique index, referential integrity only for a foreign key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar

from b03lint.findings import Finding
from b03lint.operations import (
    AddConstraint,
    AlterColumnNullable,
    ConstraintDef,
    ConstraintKind,
    CreateIndex,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropTable,
    IndexElement,
    Operation,
)
from b03lint.operations import Severity as _Severity
from b03lint.rules.base import Example, FileContext, Rule
from b03lint.rules.destructive import _ADR, _CREATE_TENANTS, DestructiveRule, _mig, _object
from b03lint.schema.model import (
    Constraint,
    Index,
    Table,
    default_constraint_name,
    default_index_name,
)
from b03lint.schema.timeline import Before

_Shape = tuple[tuple[tuple[str, bool, str | None, bool, str | None], ...], bool, str | None, str]

_CHILD = {"rev": "a2", "down": "a1"}
_PRICE = 'sa.Column("price", sa.Numeric(10, 2)))'


def _parent(*, constraint: str = "", ops: str = "") -> dict[str, str]:
    """The parent revision of the examples: ``tenants`` (from :mod:`destructive`), with
    one more table constraint and more operations after its creation."""
    text = _CREATE_TENANTS
    if constraint:
        text = text.replace(_PRICE, f"{_PRICE[:-1]},\n                    {constraint})")
    if ops:
        text = text.replace(_PRICE, f"{_PRICE}\n{ops}")
    return {"alembic/versions/a1_create.py": text}


def _elements_key(elements: Sequence[IndexElement]) -> tuple[
        tuple[str, bool, str | None, bool, str | None], ...]:
    return tuple((e.expression, e.descending, e.nulls, e.is_expression, e.opclass)
                 for e in elements)


def _index_shape(index: Index | CreateIndex) -> _Shape:
    return (_elements_key(index.elements), index.unique, index.where, index.method)


def _show_elements(elements: Sequence[IndexElement]) -> str:
    parts = []
    for e in elements:
        text = f"({e.expression})" if e.is_expression else e.expression
        if e.opclass:
            text += f" {e.opclass}"
        if e.descending:
            text += " DESC"
        if e.nulls:
            text += f" NULLS {e.nulls.upper()}"
        parts.append(text)
    return "(" + ", ".join(parts) + ")"


def _plain_columns(elements: Sequence[IndexElement]) -> tuple[str, ...] | None:
    if any(e.is_expression or e.descending or e.nulls or e.opclass for e in elements):
        return None
    return tuple(e.expression for e in elements)


class _Context:
    """What the same ``upgrade()`` does besides the drop being judged."""

    def __init__(self, op: Operation, ctx: FileContext):
        self.ops = [o for o in ctx.ops_in_same_phase(op) if o is not op]
        after = False
        self.later: list[Operation] = []
        for o in ctx.ops_in_same_phase(op):
            if o is op:
                after = True
            elif after:
                self.later.append(o)

    def table_dropped(self, table: str) -> bool:
        return any(isinstance(o, DropTable) and o.table == table for o in self.later)

    def dropped_columns(self, table: str) -> set[str]:
        return {o.column for o in self.later if isinstance(o, DropColumn) and o.table == table}

    def columns_dropped(self, table: str, columns: Iterable[str]) -> bool:
        """Whether a later DROP COLUMN takes this index or constraint with it: PostgreSQL
        drops every index and table constraint that involves a dropped column."""
        return bool(set(columns) & self.dropped_columns(table))

    def set_not_null(self, table: str, column: str) -> bool:
        return any(isinstance(o, AlterColumnNullable) and o.table == table
                   and o.column == column and not o.nullable for o in self.ops)

    def created_indexes(self, table: str) -> list[CreateIndex]:
        return [o for o in self.ops if isinstance(o, CreateIndex) and o.table == table]

    def added_constraints(self, table: str) -> list[ConstraintDef]:
        return [o.constraint for o in self.ops
                if isinstance(o, AddConstraint) and o.table == table]


def _constraint_name(table: str, cdef: ConstraintDef) -> str:
    """The name PostgreSQL gives the constraint: its own, or the default for its kind and
    columns (``accounts_owner_id_fkey``) when the migration gives none."""
    if cdef.name:
        return cdef.name
    columns = cdef.columns or ((cdef.enum_column,) if cdef.enum_column else ())
    return default_constraint_name(cdef.kind, table, columns)


def _index_name(index: CreateIndex) -> str:
    columns = tuple(e.expression for e in index.elements if not e.is_expression)
    return index.name or default_index_name(index.table, columns)


def _info(rule: Rule, op: Operation, message: str, **data: object) -> Finding:
    return Finding.at(op.loc, code=rule.code, rule=rule.name, severity="info",
                      message=f"{op.describe()}: {message}", object=_object(op),
                      data={"waivable": True, **data})


def _cols(columns: Iterable[str]) -> str:
    return "(" + ", ".join(columns) + ")"


def _pk_columns(table: Table | None) -> tuple[str, ...] | None:
    if table is None:
        return None
    for con in table.constraints.values():
        if con.kind == "primary_key":
            return con.columns
    return None


class _DropRule(DestructiveRule):
    default_severity: ClassVar[_Severity] = "warning"
    uses_schema_before = True

    def _warn(self, op: Operation, message: str, fix: str) -> Finding:
        return self.finding(op.loc, f"{op.describe()}: {message}", object=_object(op),
                            fix=fix, data={"waivable": True})


class DropIndexRule(_DropRule):
    """
    What it does:
        Flags an index dropped in ``upgrade()`` by what the drop takes away, read from the
        replayed schema just before it. Info, not a warning, when the same ``upgrade()``
        restores it (an index of the same shape on the same table, under any name: a
        rebuild, or a rename written as create-then-drop), when the index was redundant
        (a unique index on the primary key's columns, an index whose columns lead another
        index of the table); not reported at all when the same ``upgrade()`` drops its
        table or a column it covers (that finding covers it).

    Why it matters:
        Queries that used the index slow down at once; a unique index also stops
        enforcing uniqueness, so duplicates can be written from then on.

    Example:
        ``op.drop_index("idx_events_idempotency", table_name="attribution_events")``

    How to fix:
        Make sure nothing needs the index, or create its replacement in the same
        migration; for a unique index, keep a UNIQUE constraint on the same columns.
    """

    code = "D010"
    name = "drop-index"
    operation_kinds = frozenset({DropIndex.kind})
    remedy = "confirm nothing needs it, or create its replacement in the same migration"
    invalid = (
        Example(_mig('    op.drop_index("ix_tenants_name", table_name="tenants")', **_CHILD),
                line=10, files=_parent(ops='    op.create_index("ix_tenants_name", "tenants",'
                                           ' ["name"], unique=True)'),
                title="a unique index: uniqueness is no longer enforced"),
        Example(_mig('    op.execute("DROP INDEX ix_tenants_seats")', **_CHILD), line=10,
                files=_parent(ops='    op.create_index("ix_tenants_seats", "tenants", ["seats"])'),
                title="SQL form"),
        Example(_mig('    op.drop_index("idx_events_idempotency",'
                     ' table_name="attribution_events")'), line=10,
                title="an index the chain does not define"),
    )
    valid = (
        Example(_mig('    op.drop_index("ix_tenants_seats", table_name="tenants")\n'
                     '    op.create_index("ix_tenants_seats_v2", "tenants", ["seats"])',
                     **_CHILD),
                files=_parent(ops='    op.create_index("ix_tenants_seats", "tenants", ["seats"])'),
                title="replaced under another name (info)"),
        Example(_mig('    op.create_index(None, "tenants", ["seats"])\n'
                     '    op.execute("DROP INDEX ix_tenants_seats")', **_CHILD),
                files=_parent(ops='    op.create_index("ix_tenants_seats", "tenants", ["seats"])'),
                title="renamed as create-then-drop, SQL form (info)"),
        Example(_mig('    with op.batch_alter_table("tenants") as batch_op:\n'
                     '        batch_op.drop_index("ix_tenants_seats")\n'
                     '        batch_op.drop_column("seats")', **_CHILD),
                files=_parent(ops='    op.create_index("ix_tenants_seats", "tenants", ["seats"])'),
                title="its column is dropped too: D002 covers it"),
        Example(_mig('    op.drop_index("ix_tenants_name", table_name="tenants")', **_CHILD),
                files=_parent(ops='    op.create_index("ix_tenants_name", "tenants", ["name"])\n'
                                  '    op.create_index("ix_tenants_name_seats", "tenants",'
                                  ' ["name", "seats"])'),
                title="redundant: another index starts with the same columns"),
        Example(_mig('    # CI:DESTRUCTIVE_OK - See ADR-007\n'
                     '    op.drop_index("idx_events_idempotency",'
                     ' table_name="attribution_events")'), files=_ADR,
                title="waived"),
    )

    def check_operation(self, op: Operation, ctx: FileContext) -> Iterable[Finding]:
        assert isinstance(op, DropIndex)
        before = ctx.before(op)
        index = before.index(op.name) if before is not None else None
        around = _Context(op, ctx)
        table_name = index.table if index is not None else op.table
        if table_name is not None and around.table_dropped(table_name):
            return
        if index is None:
            yield from self._unknown(op, around)
            return
        columns = _plain_columns(index.elements)
        if columns is not None and around.columns_dropped(index.table, (*columns,
                                                                        *index.include)):
            return
        shape = _index_shape(index)
        for created in around.created_indexes(index.table):
            if _index_shape(created) == shape and set(index.include) <= set(created.include):
                what = ("recreated under the same name" if _index_name(created) == op.name else
                        f"replaced by {created.name}" if created.name else
                        "replaced by an index of the same shape")
                yield _info(self, op, f"{what} in this migration", replaced=True)
                return
        for created in around.created_indexes(index.table):
            if _index_name(created) == op.name and not (index.unique and not created.unique):
                yield _info(self, op, "recreated under the same name with a new shape in "
                            "this migration", replaced=True)
                return
        if index.unique and columns is not None and index.where is None:
            for con in around.added_constraints(index.table):
                if con.kind in ("unique", "primary_key") and con.columns == columns:
                    yield _info(self, op, f"replaced by a {con.kind.replace('_', ' ')} "
                                f"constraint on {_cols(columns)} in this migration",
                                replaced=True)
                    return
        assert before is not None
        yield from self._judge(op, index, columns, before, around)

    def _unknown(self, op: DropIndex, around: _Context) -> Iterator[Finding]:
        if any(isinstance(o, CreateIndex) and _index_name(o) == op.name for o in around.ops):
            yield _info(self, op, "recreated under the same name in this migration",
                        replaced=True)
            return
        yield self._warn(op, "the chain does not define this index, so what it protected "
                         "is not known: queries that use it slow down, and if it was "
                         "unique, duplicates can be written from now on", self.remedy)

    def _judge(self, op: DropIndex, index: Index, columns: tuple[str, ...] | None,
               before: Before, around: _Context) -> Iterator[Finding]:
        table = before.table
        if index.unique:
            if columns is not None and columns == _pk_columns(table) and index.where is None:
                yield _info(self, op, f"redundant: the primary key enforces the same "
                            f"uniqueness on {_cols(columns)}", redundant=True)
                return
            what = _show_elements(index.elements)
            where = f" where {index.where}" if index.where else ""
            yield self._warn(op, f"stops enforcing uniqueness of {what}{where}: duplicates "
                             "can be written from now on, and queries that use it slow down",
                             "keep a UNIQUE constraint on the same columns, or cite the ADR "
                             "that retires it")
            return
        if index.method == "btree" and index.where is None:
            key = _elements_key(index.elements)
            dropped = {o.name for o in around.later if isinstance(o, DropIndex)}
            for other in before.indexes.values():
                if other.name == index.name or other.name in dropped:
                    continue
                if (other.method == "btree" and other.where is None
                        and _elements_key(other.elements)[:len(key)] == key):
                    yield _info(self, op, f"redundant: {other.name} starts with the same "
                                "columns and serves the same queries", redundant=True)
                    return
        yield self._warn(op, f"queries that filter or sort by "
                         f"{_show_elements(index.elements)} may slow down "
                         f"({index.method} index)", self.remedy)


_NOT_NULL_CHECK = re.compile(r"^\(?\s*\"?(?P<col>[A-Za-z_][A-Za-z0-9_$]*)\"?\s+IS\s+NOT\s+"
                             r"NULL\s*\)?$", re.IGNORECASE)


def _same_constraint(dropped: Constraint, added: ConstraintDef) -> bool:
    if dropped.kind != added.kind:
        return False
    if dropped.kind == "check":
        return (dropped.expression or "") == (added.expression or "")
    if dropped.columns != added.columns:
        return False
    if dropped.kind == "foreign_key":
        a, b = dropped.references, added.references
        return a is not None and b is not None and (a.table, a.columns) == (b.table, b.columns)
    return True


class DropConstraintRule(_DropRule):
    """
    What it does:
        Flags a constraint dropped in ``upgrade()`` by the rule it stops enforcing, read
        from the replayed schema just before it. Info when the same ``upgrade()`` restores
        it (the same kind on the same table with the same columns, foreign-key target or
        CHECK expression, under any name or none), when it was redundant (a NOT NULL CHECK
        on a column that is NOT NULL, a UNIQUE on the primary key's columns); not reported
        when the same ``upgrade()`` drops its table or a column it covers.

    Why it matters:
        Rows that break the rule can be written from that moment on: duplicates for a
        UNIQUE, orphans for a FOREIGN KEY, any value for a CHECK.

    Example:
        ``op.drop_constraint("ck_dead_events_remediation_status_valid", "dead_events")``

    How to fix:
        Replace the constraint in the same migration, or cite the ADR that retires it.
    """

    code = "D011"
    name = "drop-constraint"
    operation_kinds = frozenset({DropConstraint.kind})
    remedy = "replace it in the same migration, or cite the ADR that retires it"
    invalid = (
        Example(_mig('    op.drop_constraint("ck_x", "dead_events", type_="check")'), line=10,
                title="a constraint the chain does not define"),
        Example(_mig('    op.execute("ALTER TABLE tenants DROP CONSTRAINT tenants_name_key")',
                     **_CHILD), line=10,
                files=_parent(constraint='sa.UniqueConstraint("name")'),
                title="SQL form: duplicates of (name) can be written"),
        Example(_mig('    op.drop_constraint("ck_price", "tenants", type_="check")\n'
                     '    op.create_check_constraint("ck_price_2", "tenants", "price > 0")',
                     **_CHILD), line=10,
                files=_parent(constraint='sa.CheckConstraint("price >= 0", name="ck_price")'),
                title="replaced by a different rule"),
    )
    valid = (
        Example(_mig('    op.drop_constraint("ck_price", "tenants", type_="check")\n'
                     '    op.create_check_constraint(None, "tenants", "price >= 0")',
                     **_CHILD),
                files=_parent(constraint='sa.CheckConstraint("price >= 0", name="ck_price")'),
                title="replaced by the same CHECK under a convention name (info)"),
        Example(_mig('    with op.batch_alter_table("tenants") as batch_op:\n'
                     '        batch_op.alter_column("name", nullable=False)\n'
                     '        batch_op.drop_constraint("ck_name_nn", type_="check")',
                     **_CHILD),
                files=_parent(constraint='sa.CheckConstraint("name IS NOT NULL",'
                                         ' name="ck_name_nn")'),
                title="a NOT NULL CHECK made redundant by SET NOT NULL, batch mode"),
        Example(_mig('    op.execute("ALTER TABLE tenants DROP CONSTRAINT tenants_name_key")\n'
                     '    op.drop_table("tenants")  # CI:DESTRUCTIVE_OK - See ADR-007',
                     **_CHILD),
                files={**_ADR, **_parent(constraint='sa.UniqueConstraint("name")')},
                title="its table is dropped too: D001 covers it"),
        Example(_mig('    op.create_check_constraint("ck_x", "dead_events", "retry_count >= 0")')),
    )

    def check_operation(self, op: Operation, ctx: FileContext) -> Iterable[Finding]:
        assert isinstance(op, DropConstraint)
        around = _Context(op, ctx)
        if around.table_dropped(op.table):
            return
        before = ctx.before(op)
        table = before.table if before is not None else None
        con = table.constraints.get(op.name) if table is not None else None
        if con is None:
            yield from self._unknown(op, around)
            return
        covered = con.columns or ((con.enum_column,) if con.enum_column else ())
        if around.columns_dropped(op.table, covered):
            return
        for added in around.added_constraints(op.table):
            if _same_constraint(con, added):
                what = ("recreated under the same name"
                        if _constraint_name(op.table, added) == op.name else
                        f"replaced by {added.name}" if added.name else
                        "replaced by an unnamed constraint of the same rule")
                yield _info(self, op, f"{what} in this migration", replaced=True)
                return
        if con.kind == "unique":
            for created in around.created_indexes(op.table):
                if created.unique and created.where is None \
                        and _plain_columns(created.elements) == con.columns:
                    yield _info(self, op, f"replaced by the unique index "
                                f"{created.name or 'of the same columns'} in this migration",
                                replaced=True)
                    return
        assert table is not None
        redundant = self._redundant(con, table, around)
        if redundant:
            yield _info(self, op, f"redundant: {redundant}", redundant=True)
            return
        if any(_constraint_name(op.table, added) == op.name
               for added in around.added_constraints(op.table)):
            yield _info(self, op, "recreated under the same name with a new definition in "
                        "this migration", replaced=True)
            return
        yield self._warn(op, _loss(con), self.remedy)

    def _redundant(self, con: Constraint, table: Table, around: _Context) -> str | None:
        if con.kind == "check" and con.expression:
            match = _NOT_NULL_CHECK.match(con.expression.strip())
            if match:
                col = match.group("col")
                column = table.columns.get(col)
                if (column is not None and not column.nullable) or around.set_not_null(
                        table.name, col):
                    return f"{col} is NOT NULL, which enforces the same rule"
        if con.kind == "unique" and con.columns and con.columns == _pk_columns(table):
            return f"the primary key enforces the same uniqueness on {_cols(con.columns)}"
        return None

    def _unknown(self, op: DropConstraint, around: _Context) -> Iterator[Finding]:
        if any(_constraint_name(op.table, added) == op.name
               for added in around.added_constraints(op.table)):
            yield _info(self, op, "recreated under the same name in this migration",
                        replaced=True)
            return
        kinds: list[ConstraintKind] = [op.constraint_kind] if op.constraint_kind else [
            "unique", "foreign_key", "check", "primary_key"]
        for column in around.dropped_columns(op.table):
            if any(default_constraint_name(k, op.table, (column,)) == op.name for k in kinds):
                return  # PostgreSQL's name for a constraint on a column dropped below
        kind = op.constraint_kind
        what = {"unique": "duplicates can be written from now on",
                "foreign_key": "rows can point at rows that do not exist from now on",
                "check": "rows that break its CHECK can be written from now on",
                "primary_key": "duplicate keys can be written, and foreign keys to it "
                               "can no longer exist",
                }.get(kind or "", "rows that break the rule can be written from now on")
        yield self._warn(op, f"the chain does not define this constraint; {what}",
                         self.remedy)


def _loss(con: Constraint) -> str:
    cols = _cols(con.columns)
    if con.kind == "unique":
        return f"stops enforcing uniqueness of {cols}: duplicates can be written from now on"
    if con.kind == "primary_key":
        return (f"stops enforcing the primary key {cols}: duplicate and NULL keys can be "
                "written from now on")
    if con.kind == "foreign_key":
        target = con.references.table if con.references else "the referenced table"
        return (f"{cols} no longer has to match a row of {target}: orphans can be written "
                "from now on")
    if con.kind == "exclude":
        return "rows that its EXCLUDE rule kept apart can be written from now on"
    return f"rows that break CHECK ({con.expression}) can be written from now on"


RULES: tuple[type[Rule], ...] = (DropIndexRule, DropConstraintRule)
