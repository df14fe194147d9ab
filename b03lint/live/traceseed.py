"""A few rows in every table, for ``b03lint rebuild --trace``: what a production table has and
a fresh scratch database does not.

A migration that works on empty tables can fail on a table that holds rows (``ADD COLUMN
... NOT NULL`` without a default, a unique index on a column every row has the same value
in), and only a table with rows shows what the later revisions' statements really read.
So after each revision, every table of the schema that is still empty gets ``ROWS`` rows,
committed, before the next revision runs.

Values are generated the way the behavioural probes generate them
(:func:`b03lint.live.probes._generated`): one counter for the whole run, so that text and
numbers differ from row to row and from table to table; the first allowed value of a
column's CHECK value set (rotating through them); enum labels; a foreign key takes the
values of the referenced table's rows (tables are filled parents first). Columns with a
default, identity and generated columns are left to PostgreSQL. A row is first tried with
every column filled, then with only the NOT NULL ones (a CHECK b03lint cannot satisfy
accepts NULL); a table whose rows cannot be built at all is listed, never guessed. The tenant
column and the settings row-level security policies read get one generated tenant id, so
that forced RLS admits the rows. Identifiers are quoted and values are parameters.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from b03lint.live.probes import _SETTING_RE, _enum_checks, _generated

if TYPE_CHECKING:
    import psycopg

    from b03lint.schema.model import Schema, Table

#: rows given to each empty table
ROWS = 3


@dataclass
class Seeded:
    """What one round of seeding did."""

    #: table -> rows inserted
    rows: dict[str, int] = field(default_factory=dict)
    #: table -> why it could not be filled
    skipped: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"{n} row(s) in {t}" for t, n in sorted(self.rows.items())]
        parts += [f"{t} left empty ({why})" for t, why in sorted(self.skipped.items())]
        return "; ".join(parts) or "no empty table"

    def to_json(self) -> dict[str, Any]:
        return {"rows": dict(sorted(self.rows.items())),
                "skipped": dict(sorted(self.skipped.items()))}


def _order(schema: Schema) -> list[str]:
    """Tables, every referenced table before the tables that reference it (cycles and
    self references in name order)."""
    done: list[str] = []
    seen: set[str] = set()

    def visit(name: str, path: frozenset[str]) -> None:
        if name in seen or name in path or name not in schema.tables:
            return
        for con in schema.tables[name].constraints.values():
            if con.kind == "foreign_key" and con.references is not None:
                visit(con.references.table, path | {name})
        if name not in seen:
            seen.add(name)
            done.append(name)

    for name in sorted(schema.tables):
        visit(name, frozenset())
    return done


class Seeder:
    """Fills the empty tables of a scratch database, one round after each revision."""

    def __init__(self, rows: int = ROWS, tenant_column: str = "tenant_id",
                 skip: frozenset[str] = frozenset({"alembic_version"})):
        self.rows = rows
        self.tenant_column = tenant_column
        self.skip = skip
        #: generated values count up from here: apart from the probes' (which count from 1
        #: in every probe), small enough for a smallint
        self.counter = 10_000
        self.tenant = uuid.uuid4()
        #: every table this seeder put rows in (and that may still hold them)
        self.filled: set[str] = set()

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def seed(self, conn: psycopg.Connection[Any], schema: Schema,
             namespace: str = "public") -> Seeded:
        """Fill every empty table of ``schema`` (the live catalog just read); committed."""
        from psycopg import sql

        out = Seeded()
        settings = sorted({m.group(1) for t in schema.tables.values()
                           for p in t.policies.values() for text in (p.using, p.with_check)
                           if text for m in _SETTING_RE.finditer(text)})
        with conn.transaction():
            for name in settings:
                conn.execute("SELECT pg_catalog.set_config(%s, %s, true)",
                             (name, str(self.tenant)))
            for name in _order(schema):
                if name in self.skip:
                    continue
                target = sql.Identifier(namespace, name)
                found = conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(target)
                                     ).fetchone()
                if found:
                    continue
                inserted, why = self._fill(conn, schema, schema.tables[name], target)
                if inserted:
                    out.rows[name] = inserted
                    self.filled.add(name)
                else:
                    out.skipped[name] = why
        return out

    def _fill(self, conn: psycopg.Connection[Any], schema: Schema, table: Table,
              target: Any) -> tuple[int, str]:
        import psycopg

        parents = self._parent_rows(conn, schema, table)
        inserted = 0
        why = ""
        for i in range(self.rows):
            for every in (True, False):
                try:
                    values = self._values(schema, table, parents, i, every)
                except ValueError as exc:
                    why = str(exc)
                    continue
                try:
                    with conn.transaction():
                        self._insert(conn, target, values)
                    inserted += 1
                    break
                except psycopg.errors.OperationalError:
                    raise
                except psycopg.Error as exc:
                    diag = getattr(exc, "diag", None)
                    why = " ".join(str(getattr(diag, "message_primary", None) or exc).split())
        return inserted, why

    def _parent_rows(self, conn: psycopg.Connection[Any], schema: Schema,
                     table: Table) -> dict[str, list[tuple[Any, ...]]]:
        """constraint name -> rows of the referenced columns (as text) in the parent."""
        from psycopg import sql

        out: dict[str, list[tuple[Any, ...]]] = {}
        for con in table.constraints.values():
            ref = con.references
            if con.kind != "foreign_key" or ref is None or not ref.columns \
                    or ref.table not in schema.tables:
                continue
            cols = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c))
                                      for c in ref.columns)
            query = sql.SQL("SELECT {} FROM {} WHERE {} LIMIT {}").format(
                cols, sql.Identifier(ref.table),
                sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c))
                                      for c in ref.columns),
                sql.Literal(self.rows))
            out[con.name] = [tuple(r) for r in conn.execute(query).fetchall()]
        return out

    def _values(self, schema: Schema, table: Table, parents: dict[str, list[tuple[Any, ...]]],
                i: int, every: bool) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for con in table.constraints.values():
            ref = con.references
            if con.kind != "foreign_key" or ref is None:
                continue
            rows = parents.get(con.name) or []
            required = any(not table.columns[c].nullable for c in con.columns
                           if c in table.columns)
            if rows and (every or required) and len(ref.columns) == len(con.columns):
                for c, v in zip(con.columns, rows[i % len(rows)], strict=True):
                    values[c] = v
            elif required:
                raise ValueError(f"no row in {ref.table} for its foreign key {con.name}")
            else:
                for c in con.columns:
                    values.setdefault(c, None)
        for name, col in table.columns.items():
            if name in values:
                if values[name] is None:
                    del values[name]
                continue
            if col.default is not None or col.identity or col.generated is not None:
                continue
            if col.nullable and not every:
                continue
            if name == self.tenant_column:
                values[name] = str(self.tenant)
                continue
            value = self._value(schema, table, name, i)
            if value is None:
                if col.nullable:
                    continue
                raise ValueError(f"no value of type {col.type} for {table.name}.{name}")
            values[name] = value
        return values

    def _value(self, schema: Schema, table: Table, column: str, i: int) -> str | None:
        for con in _enum_checks(table):
            if con.enum_column == column and con.enum_values:
                return con.enum_values[i % len(con.enum_values)]
        return _generated(table.columns[column].type, self._next(), schema.enums)

    @staticmethod
    def _insert(conn: psycopg.Connection[Any], target: Any, values: dict[str, Any]) -> None:
        from psycopg import sql

        if values:
            query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                target, sql.SQL(", ").join(map(sql.Identifier, values)),
                sql.SQL(", ").join(sql.Placeholder() * len(values)))
        else:
            query = sql.SQL("INSERT INTO {} DEFAULT VALUES").format(target)
        conn.execute(query, list(values.values()))

    def empty(self, conn: psycopg.Connection[Any], schema: Schema,
              namespace: str = "public") -> list[str]:
        """Remove every row of every table of ``schema`` (but the version table), to run a
        revision again on empty tables; the tables emptied."""
        from psycopg import sql

        names = sorted(n for n in schema.tables if n not in self.skip)
        if names:
            with conn.transaction():
                conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(
                    sql.SQL(", ").join(sql.Identifier(namespace, n) for n in names)))
        self.filled.clear()
        return names
