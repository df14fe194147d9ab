"""What depends on what, as PostgreSQL records it in ``pg_depend``, for the replay's drops.

PostgreSQL distinguishes two kinds of dependents when something is dropped:

- **automatic** ones go with it, with or without ``CASCADE``: dropping a column drops the
  indexes that use it (in a key, an ``INCLUDE`` column, an expression or the ``WHERE``
  predicate), its table's constraints that use it (a multi-column ``UNIQUE`` or ``PRIMARY
  KEY`` entirely, a ``CHECK`` that mentions it, the table's own foreign keys on it), and the
  sequences ``OWNED BY`` it; dropping a table drops its indexes, constraints, policies and
  owned sequences;
- **normal** ones make the drop fail ("cannot drop ... because other objects depend on
  it") unless ``CASCADE`` is given, which drops them too: a foreign key of any table that
  references the column, the table, or the unique constraint or index it is bound to; a
  policy or a generated column whose expression uses the column; a column default that
  draws from a sequence being dropped; a column whose type is a type being dropped.

``tests/test_replay_pg.py`` proves each of these against a real server.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from b03lint.schema.expressions import bare as bare
from b03lint.schema.expressions import referenced_columns
from b03lint.schema.model import Column, Constraint, Index, Schema, Sequence, Table

_NEXTVAL_PREFIX = "nextval('"


def ref_names(table: Table) -> set[str]:
    """The names a foreign key may use for ``table`` (bare, and qualified by its schema)."""
    out = {table.name}
    if table.schema:
        out.add(f"{table.schema}.{table.name}")
    return out


def index_uses(idx: Index, column: str) -> bool | None:
    """Whether ``idx`` uses ``column``; None when an expression could not be read."""
    unknown = False
    if column in idx.include:
        return True
    for e in idx.elements:
        if not e.is_expression:
            if e.expression == column:
                return True
            continue
        cols = referenced_columns(e.expression, idx.table)
        if cols is None:
            unknown = True
        elif column in cols:
            return True
    if idx.where is not None:
        cols = referenced_columns(idx.where, idx.table)
        if cols is None:
            unknown = True
        elif column in cols:
            return True
    return None if unknown else False


def constraint_uses(table: Table, con: Constraint, column: str) -> bool:
    """Whether one of ``table``'s own constraints uses ``column`` (a key column, or a
    column its CHECK expression mentions)."""
    if column in con.columns or con.enum_column == column:
        return True
    if con.kind == "check" and con.expression:
        cols = referenced_columns(con.expression, table.name)
        return cols is not None and column in cols
    return False


def referenced_key(schema: Schema, con: Constraint) -> tuple[str, tuple[str, ...]] | None:
    """(table, columns) a foreign key points at, its implicit primary key resolved."""
    ref = con.references
    if con.kind != "foreign_key" or ref is None:
        return None
    target = find_table(schema, ref.table)
    if target is None:
        return None
    cols = ref.columns or primary_key(target)
    return target.name, cols


def find_table(schema: Schema, name: str) -> Table | None:
    t = schema.tables.get(bare(name))
    if t is not None:
        return t
    if "." in name:
        sch, _, rel = name.rpartition(".")
        t = schema.tables.get(rel)
        if t is not None and (t.schema or "public") == sch:
            return t
    return None


def primary_key(table: Table) -> tuple[str, ...]:
    for con in table.constraints.values():
        if con.kind == "primary_key":
            return con.columns
    return ()


@dataclass
class Dependents:
    """What a drop takes with it (``auto``) and what makes it fail without CASCADE
    (``blocking``), as (table, constraint name) pairs, index names, (table, policy name),
    (table, column) pairs and sequence names."""

    constraints: list[tuple[str, str]] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    sequences: list[str] = field(default_factory=list)
    blocking_constraints: list[tuple[str, str]] = field(default_factory=list)
    blocking_policies: list[tuple[str, str]] = field(default_factory=list)
    blocking_columns: list[tuple[str, str]] = field(default_factory=list)
    blocking_defaults: list[tuple[str, str]] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return bool(self.blocking_constraints or self.blocking_policies
                    or self.blocking_columns or self.blocking_defaults)

    def describe_blocking(self) -> str:
        parts = [f"constraint {c} on {t}" for t, c in self.blocking_constraints]
        parts += [f"policy {p} on {t}" for t, p in self.blocking_policies]
        parts += [f"column {t}.{c}" for t, c in self.blocking_columns]
        parts += [f"the default of {t}.{c}" for t, c in self.blocking_defaults]
        return ", ".join(parts)


def _foreign_keys_to(schema: Schema, table: str, columns: set[str] | None,
                     skip_own: Table | None = None) -> list[tuple[str, str]]:
    """Foreign keys of any table that point at ``table`` (at one of ``columns`` when
    given); ``skip_own`` excludes that table's own foreign keys on a dropped column."""
    out = []
    for other in schema.tables.values():
        for con in other.constraints.values():
            key = referenced_key(schema, con)
            if key is None or key[0] != table:
                continue
            if columns is not None and not columns & set(key[1]):
                continue
            out.append((other.name, con.name))
    return out


def _sequence_users(schema: Schema, sequences: set[str],
                    skip: tuple[str, str] | None) -> list[tuple[str, str]]:
    """Columns whose default draws from one of ``sequences`` (``skip`` excepted)."""
    out: list[tuple[str, str]] = []
    if not sequences:  # most dropped columns own no sequence: no need to look at all
        return out
    for t in schema.tables.values():
        for c in t.columns.values():
            if (t.name, c.name) == skip:
                continue
            seq = sequence_of(c)
            if seq is not None and seq in sequences:
                out.append((t.name, c.name))
    return out


def sequence_of(col: Column) -> str | None:
    """The sequence a ``nextval('name'::regclass)`` default draws from (``public.`` dropped)."""
    return sequence_of_text(col.default)


def sequence_of_text(default: str | None) -> str | None:
    """:func:`sequence_of` of a default's text."""
    text = (default or "").strip()
    if not text.startswith(_NEXTVAL_PREFIX):
        return None
    end = text.find("'", len(_NEXTVAL_PREFIX))
    if end < 0:
        return None
    return bare(text[len(_NEXTVAL_PREFIX):end].strip('"'))


def of_column(schema: Schema, table: Table, column: str) -> Dependents:
    """What ``ALTER TABLE table DROP COLUMN column`` drops and what blocks it."""
    out = Dependents()
    for con in table.constraints.values():
        if constraint_uses(table, con, column):
            out.constraints.append((table.name, con.name))
    for idx in schema.indexes.values():
        if idx.table == table.name and index_uses(idx, column):
            out.indexes.append(idx.name)
    out.sequences = [s.name for s in schema.sequences.values()
                     if s.owned_by == (table.name, column)]
    own = {c for t, c in out.constraints if t == table.name}
    out.blocking_constraints = [
        fk for fk in _foreign_keys_to(schema, table.name, {column})
        if not (fk[0] == table.name and fk[1] in own
                and column in table.constraints[fk[1]].columns)]
    for pol in table.policies.values():
        for expr in (pol.using, pol.with_check):
            cols = referenced_columns(expr, table.name) if expr else None
            if cols is not None and column in cols:
                out.blocking_policies.append((table.name, pol.name))
                break
    for col in table.columns.values():
        if col.name != column and col.generated:
            cols = referenced_columns(col.generated, table.name)
            if cols is not None and column in cols:
                out.blocking_columns.append((table.name, col.name))
    out.blocking_defaults = _sequence_users(schema, set(out.sequences), (table.name, column))
    return out


def of_table(schema: Schema, table: Table) -> Dependents:
    """What ``DROP TABLE table`` drops and what blocks it."""
    out = Dependents()
    out.constraints = [(table.name, n) for n in table.constraints]
    out.indexes = [i.name for i in schema.indexes.values() if i.table == table.name]
    out.sequences = [s.name for s in schema.sequences.values()
                     if s.owned_by is not None and s.owned_by[0] == table.name]
    out.blocking_constraints = [fk for fk in _foreign_keys_to(schema, table.name, None)
                                if fk[0] != table.name]
    out.blocking_defaults = [u for u in _sequence_users(schema, set(out.sequences), None)
                             if u[0] != table.name]
    return out


def _bound_to(schema: Schema, table: Table, columns: tuple[str, ...]) -> str | None:
    """The unique constraint or unique index a foreign key to ``table(columns)`` is bound
    to: a primary key or unique constraint with exactly those columns first, else a
    unique, non-partial index on them (what ``transformFkeyCheckAttrs`` picks)."""
    wanted = set(columns)
    for con in table.constraints.values():
        if con.kind in ("primary_key", "unique") and set(con.columns) == wanted:
            return con.name
    for idx in schema.indexes.values():
        if (idx.table == table.name and idx.unique and idx.where is None
                and all(not e.is_expression for e in idx.elements)
                and {e.expression for e in idx.elements} == wanted):
            return idx.name
    return None


def of_key(schema: Schema, table: Table, name: str) -> list[tuple[str, str]]:
    """Foreign keys bound to ``table``'s unique constraint or unique index ``name``: they
    block dropping it without CASCADE."""
    out = []
    for other in schema.tables.values():
        for con in other.constraints.values():
            key = referenced_key(schema, con)
            if key is not None and key[0] == table.name \
                    and _bound_to(schema, table, key[1]) == name:
                out.append((other.name, con.name))
    return out


def of_type(schema: Schema, name: str) -> list[tuple[str, str]]:
    """Columns whose type is ``name`` (or an array of it): they block ``DROP TYPE``."""
    wanted = {name, f"{name}[]", f"public.{name}", f"public.{name}[]"}
    return [(t.name, c.name) for t in schema.tables.values() for c in t.columns.values()
            if c.type in wanted]


def of_sequence(schema: Schema, name: str) -> list[tuple[str, str]]:
    """Column defaults that draw from sequence ``name``: they block ``DROP SEQUENCE``."""
    return _sequence_users(schema, {name}, None)


def complete(schema: Schema) -> None:
    """What PostgreSQL derives when a schema is declared rather than replayed (the canonical
    YAML): the sequence each ``nextval`` default of a serial column owns, the primary key
    columns of a foreign key written ``REFERENCES t`` without columns, and the namespaces
    its tables live in."""
    from dataclasses import replace

    for t in schema.tables.values():
        for col in t.columns.values():
            seq = sequence_of(col)
            if seq is not None and seq not in schema.sequences:
                schema.sequences[seq] = Sequence(seq, (t.name, col.name), col.origin)
        for con in t.constraints.values():
            ref = con.references
            if ref is not None and not ref.columns:
                target = find_table(schema, ref.table)
                if target is not None:
                    con.references = replace(ref, columns=primary_key(target))
        if t.schema and t.schema != "public":
            schema.schemas.add(t.schema)
