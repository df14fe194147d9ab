"""The PostgreSQL catalog -> :class:`~b03lint.schema.model.Schema`, the same type the
canonical files and the static replay produce, normalised by the same functions
(:func:`~b03lint.sqltypes.normalize_type`, :func:`~b03lint.readers.sql.normalize_default`,
:func:`~b03lint.readers.sql.analyze_check`, :func:`~b03lint.readers.sql.normalize_expression`,
and index definitions read back by :func:`~b03lint.readers.sql.read_sql`), so one diff
compares them.

One query per object kind (tables, columns, constraints, indexes, policies, enum types),
never one per table: a thousand tables take as many queries as one. Everything runs in one
read-only transaction with a statement timeout and ``search_path`` set to the introspected
schema (so the catalog prints names as the canonical SQL writes them). The SQL works on
PostgreSQL 13 to 17.

Every object's origin is the database: ``Location("postgresql://host:port/db#table.column",
0, 0)``, never with a user or password.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from b03lint.live import LiveError
from b03lint.operations import CreateIndex, ForeignKeyRef, IndexElement, Location
from b03lint.schema.model import Column, Constraint, Index, Origin, Policy, Schema, Table
from b03lint.sqltypes import normalize_type

if TYPE_CHECKING:
    import psycopg

#: the table Alembic keeps its revision in (never part of a schema contract)
VERSION_TABLE = "alembic_version"
#: default statement timeout of catalog reads (milliseconds)
DEFAULT_TIMEOUT_MS = 30_000

_FK_ACTIONS = {"c": "CASCADE", "r": "RESTRICT", "n": "SET NULL", "d": "SET DEFAULT"}
_POLICY_COMMANDS = {"*": "all", "r": "select", "a": "insert", "w": "update", "d": "delete"}
#: types whose casts to text PostgreSQL prints in stored expressions (``(col)::text``)
_TEXTLIKE = ("varchar", "text", "citext")

_TABLES = """
SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p')
   AND NOT (c.relname = ANY (%(exclude)s))
 ORDER BY c.relname
"""

_COLUMNS = """
SELECT a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
       a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity,
       a.attgenerated
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p')
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attrelid, a.attnum
"""

_CONSTRAINTS = """
SELECT co.conrelid, co.conname, co.contype, pg_catalog.pg_get_constraintdef(co.oid),
       ARRAY(SELECT a.attname
               FROM unnest(co.conkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_catalog.pg_attribute a
                 ON a.attrelid = co.conrelid AND a.attnum = k.attnum
              ORDER BY k.ord)::text[],
       fn.nspname, fc.relname,
       ARRAY(SELECT a.attname
               FROM unnest(co.confkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_catalog.pg_attribute a
                 ON a.attrelid = co.confrelid AND a.attnum = k.attnum
              ORDER BY k.ord)::text[],
       co.confdeltype, co.confupdtype, co.convalidated, co.condeferrable
  FROM pg_catalog.pg_constraint co
  JOIN pg_catalog.pg_class c ON c.oid = co.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_class fc ON fc.oid = co.confrelid
  LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
 WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p')
   AND co.contype IN ('p', 'u', 'f', 'c', 'x')
 ORDER BY co.conrelid, co.conname
"""

#: indexes that do not implement a constraint (those are constraints, not indexes)
_INDEXES = """
SELECT i.indrelid, ic.relname, pg_catalog.pg_get_indexdef(i.indexrelid)
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co
                    WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid
                      AND co.contype IN ('p', 'u', 'x'))
 ORDER BY ic.relname
"""

_POLICIES = """
SELECT p.polrelid, p.polname, p.polcmd, p.polpermissive,
       CASE WHEN p.polroles = '{0}'::oid[] THEN ARRAY['public']::text[]
            ELSE ARRAY(SELECT r.rolname FROM pg_catalog.pg_roles r
                        WHERE r.oid = ANY (p.polroles) ORDER BY r.rolname)::text[] END,
       pg_catalog.pg_get_expr(p.polqual, p.polrelid),
       pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)
  FROM pg_catalog.pg_policy p
  JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %(schema)s
 ORDER BY p.polrelid, p.polname
"""

_ENUMS = """
SELECT t.typname, ARRAY(SELECT e.enumlabel FROM pg_catalog.pg_enum e
                         WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)::text[]
  FROM pg_catalog.pg_type t
  JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = %(schema)s AND t.typtype = 'e'
 ORDER BY t.typname
"""


@dataclass
class Snapshot:
    """What one introspection read: the schema, and the Alembic revision(s) recorded in
    the database's version table (empty when it has none)."""

    schema: Schema
    revisions: tuple[str, ...] = ()
    #: the version table exists (even if empty)
    versioned: bool = False


class _Builder:
    def __init__(self, label: str, schema_name: str):
        self.label = label
        self.schema_name = schema_name
        self.schema = Schema(label=f"live database {label}", path=label)
        self.by_oid: dict[int, Table] = {}

    def origin(self, obj: str, what: str) -> Origin:
        return Origin(Location(f"{self.label}#{obj}", 0, 0), None, what)

    def text_columns(self, table: Table) -> tuple[str, ...]:
        return tuple(c.name for c in table.columns.values()
                     if c.type is not None and c.type.split("(")[0] in _TEXTLIKE)

    def qualified(self, nsp: str | None, name: str) -> str:
        return name if nsp in (None, self.schema_name) else f"{nsp}.{name}"

    # ------------------------------------------------------------------ rows

    def table(self, row: tuple[Any, ...]) -> None:
        oid, name, rls, forced = row
        t = Table(name=name, schema=self.schema_name, rls_enabled=bool(rls),
                  rls_forced=bool(forced), origin=self.origin(name, f"table {name}"))
        t.rls_origin = t.origin
        self.schema.tables[name] = t
        self.by_oid[int(oid)] = t

    def column(self, row: tuple[Any, ...]) -> None:
        from b03lint.readers.sql import normalize_default

        relid, name, type_text, notnull, default, identity, generated = row
        t = self.by_oid.get(int(relid))
        if t is None:
            return
        ctype = normalize_type(type_text) if type_text else None
        value: str | None = None
        expression: str | None = None
        if default is not None and generated:
            from b03lint.readers.sql import normalize_expression

            expression = normalize_expression(default)
        elif default is not None:
            value = normalize_default(default, column_type=ctype)
        t.columns[name] = Column(
            name=name, type=ctype, nullable=not notnull, default=value,
            identity=bool(identity), generated=expression,
            origin=self.origin(f"{t.name}.{name}", f"column {t.name}.{name}"))

    def constraint(self, row: tuple[Any, ...]) -> None:
        from b03lint.readers.sql import analyze_check, normalize_expression

        (relid, name, kind, definition, columns, ref_nsp, ref_table, ref_columns, on_delete,
         on_update, validated, deferrable) = row
        t = self.by_oid.get(int(relid))
        if t is None:
            return
        cols = tuple(columns or ())
        con = Constraint(name=name, kind="check", not_valid=not validated,
                         deferrable=bool(deferrable),
                         origin=self.origin(f"{t.name}.{name}", f"constraint {name} on {t.name}"))
        if kind == "p":
            con.kind, con.columns = "primary_key", cols
        elif kind == "u":
            con.kind, con.columns = "unique", cols
        elif kind == "f":
            con.kind, con.columns = "foreign_key", cols
            con.references = ForeignKeyRef(
                table=self.qualified(ref_nsp, ref_table), columns=tuple(ref_columns or ()),
                on_delete=_FK_ACTIONS.get(on_delete), on_update=_FK_ACTIONS.get(on_update))
        elif kind == "x":
            con.kind, con.columns = "exclude", cols
            con.expression = definition.removeprefix("EXCLUDE ").strip()
        else:
            # CHECK: the column list is the author's spelling in the readers (a table-level
            # CHECK has none), so it is left empty here and the expression speaks
            info = analyze_check(definition)
            con.enum_column, con.enum_values = info.column, info.values
            con.expression = normalize_expression(definition,
                                                  text_columns=self.text_columns(t))
        t.constraints[name] = con

    def index(self, row: tuple[Any, ...]) -> None:
        from b03lint.readers.sql import normalize_expression, read_sql

        relid, name, definition = row
        t = self.by_oid.get(int(relid))
        if t is None:
            return
        origin = self.origin(name, f"index {name} on {t.name}")
        ops = [op for op in read_sql(definition, path=origin.loc.path).operations
               if isinstance(op, CreateIndex)]
        if len(ops) != 1:  # pg_get_indexdef always parses; keep the text if it ever does not
            self.schema.indexes[name] = Index(
                name=name, table=t.name, elements=(IndexElement(definition, is_expression=True),),
                origin=origin)
            return
        op = ops[0]
        text_columns = self.text_columns(t)
        elements = tuple(
            IndexElement(normalize_expression(e.expression, text_columns=text_columns),
                         e.descending, e.nulls, True, e.opclass) if e.is_expression else e
            for e in op.elements)
        where = (normalize_expression(op.where, text_columns=text_columns)
                 if op.where is not None else None)
        self.schema.indexes[name] = Index(
            name=name, table=t.name, elements=elements, unique=op.unique, include=op.include,
            where=where, method=op.method, origin=origin)

    def policy(self, row: tuple[Any, ...]) -> None:
        from b03lint.readers.sql import normalize_expression

        relid, name, command, permissive, roles, using, with_check = row
        t = self.by_oid.get(int(relid))
        if t is None:
            return
        text_columns = self.text_columns(t)
        t.policies[name] = Policy(
            name=name, table=t.name, command=_POLICY_COMMANDS.get(command, str(command)),
            permissive=bool(permissive), roles=tuple(roles or ("public",)),
            using=normalize_expression(using, text_columns=text_columns) if using else None,
            with_check=(normalize_expression(with_check, text_columns=text_columns)
                        if with_check else None),
            origin=self.origin(f"{t.name}.{name}", f"policy {name} on {t.name}"))


def introspect(conn: psycopg.Connection[Any], label: str, *, schema: str = "public",
               exclude: tuple[str, ...] = (VERSION_TABLE,),
               statement_timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Snapshot:
    """Read schema ``schema`` of the database ``conn`` is connected to, in a read-only
    transaction of its own (``conn`` must not be inside a transaction). Database errors
    propagate as psycopg errors (the caller explains them); a schema the database does not
    have is a :class:`~b03lint.live.LiveError` (exit 2), not a database without tables."""
    builder = _Builder(label, schema)
    params = {"schema": schema, "exclude": list(exclude)}
    revisions: tuple[str, ...] = ()
    versioned = False
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        conn.execute("SELECT pg_catalog.set_config('statement_timeout', %s, true)",
                     (f"{int(statement_timeout_ms)}ms",))
        conn.execute("SELECT pg_catalog.set_config('search_path', %s, true)",
                     (_quote_ident(schema),))
        with conn.cursor() as cur:
            cur.execute("SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname !~ "
                        "'^pg_' AND nspname <> 'information_schema' ORDER BY 1")
            schemas = [str(r[0]) for r in cur.fetchall()]
            if schema not in schemas:
                raise LiveError(f"--schema {schema}: {label} has no schema named {schema!r} "
                                f"(its schemas: {', '.join(schemas) or 'none'})")
            for query, handle in ((_TABLES, builder.table), (_COLUMNS, builder.column),
                                  (_CONSTRAINTS, builder.constraint),
                                  (_INDEXES, builder.index), (_POLICIES, builder.policy)):
                cur.execute(query, params)
                for row in cur.fetchall():
                    handle(row)
            cur.execute(_ENUMS, params)
            for name, labels in cur.fetchall():
                builder.schema.enums[name] = tuple(labels or ())
            cur.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace"
                " n ON n.oid = c.relnamespace WHERE n.nspname = %(schema)s AND c.relname ="
                " %(table)s AND c.relkind IN ('r', 'p'))",
                {"schema": schema, "table": VERSION_TABLE})
            row = cur.fetchone()
            versioned = bool(row and row[0])
            if versioned:
                from psycopg import sql

                cur.execute(sql.SQL("SELECT version_num FROM {}.{} ORDER BY 1").format(
                    sql.Identifier(schema), sql.Identifier(VERSION_TABLE)))
                revisions = tuple(str(r[0]) for r in cur.fetchall())
    return Snapshot(builder.schema, revisions, versioned)


def _quote_ident(name: str) -> str:
    if name.isidentifier() and name == name.lower() and name.isascii():
        return name
    return '"' + name.replace('"', '""') + '"'
