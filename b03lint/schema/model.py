"""The one ``Schema`` type that the canonical SQL, the canonical YAML, the static replay
of the migration chain and a live catalog all produce, so one diff serves every
comparison. Every object remembers where it was last shaped (``origin``)."""

from __future__ import annotations

import re
from dataclasses import field
from typing import TYPE_CHECKING, Any, Literal

from b03lint.operations import ConstraintKind, ForeignKeyRef, IndexElement, Location

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:  # the same classes, made without dataclasses' start-up cost (b03lint.records)
    from b03lint.records import record

PG_MAX_IDENT = 63


@record(frozen=True, slots=True)
class Origin:
    """Where an object got its current shape: a file location, and for migrations the
    revision and a short description of the operation."""

    loc: Location
    revision: str | None = None
    what: str = ""


@record(slots=True)
class Column:
    name: str
    type: str | None
    nullable: bool = True
    default: str | None = None
    identity: bool = False
    origin: Origin | None = None
    #: an unresolved operation may have changed it: its facts are not known
    unknown: bool = False
    #: ``GENERATED ALWAYS AS (expr) STORED``: the expression (``default`` is then None)
    generated: str | None = None


@record(slots=True)
class Constraint:
    name: str
    kind: ConstraintKind
    columns: tuple[str, ...] = ()
    expression: str | None = None
    references: ForeignKeyRef | None = None
    enum_column: str | None = None
    enum_values: tuple[str, ...] | None = None
    not_valid: bool = False
    deferrable: bool = False
    origin: Origin | None = None
    #: the name was given by PostgreSQL's default naming, not written by the author
    implicit_name: bool = False


@record(slots=True)
class Index:
    name: str
    table: str
    elements: tuple[IndexElement, ...]
    unique: bool = False
    include: tuple[str, ...] = ()
    where: str | None = None
    method: str = "btree"
    origin: Origin | None = None


@record(slots=True)
class Policy:
    name: str
    table: str
    command: str = "all"
    permissive: bool = True
    roles: tuple[str, ...] = ("public",)
    using: str | None = None
    with_check: str | None = None
    origin: Origin | None = None


@record(slots=True)
class Sequence:
    """A sequence the schema has: one a ``serial`` column implies, or one created on its
    own. ``owned_by`` is ``(table, column)`` when ``OWNED BY`` ties it to a column (it is
    then dropped with that column or table, as PostgreSQL does)."""

    name: str
    owned_by: tuple[str, str] | None = None
    origin: Origin | None = None


@record(slots=True)
class Table:
    name: str
    schema: str | None = None
    columns: dict[str, Column] = field(default_factory=dict)
    constraints: dict[str, Constraint] = field(default_factory=dict)
    rls_enabled: bool = False
    rls_forced: bool = False
    policies: dict[str, Policy] = field(default_factory=dict)
    origin: Origin | None = None
    rls_origin: Origin | None = None
    #: declared tenant-scoped (canonical YAML); None means "decide by the tenant column"
    tenant_scoped: bool | None = None
    unknown: bool = False

    def is_tenant_scoped(self, tenant_column: str = "tenant_id") -> bool:
        if self.tenant_scoped is not None:
            return self.tenant_scoped
        return tenant_column in self.columns


@record(frozen=True, slots=True)
class Invariant:
    """A structural invariant declared in the canonical YAML (guide section 4.3)."""

    id: str
    description: str
    #: what must hold; see b03lint.schema.invariants for the kinds
    kind: str
    object: str
    expect: tuple[tuple[str, Any], ...] = ()
    origin: Origin | None = None


@record(slots=True)
class Schema:
    tables: dict[str, Table] = field(default_factory=dict)
    #: every index by name (PostgreSQL index names are unique per schema)
    indexes: dict[str, Index] = field(default_factory=dict)
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: every sequence by name (``public.`` dropped, other schemas kept)
    sequences: dict[str, Sequence] = field(default_factory=dict)
    #: the schemas (namespaces) besides ``public`` that this schema creates
    schemas: set[str] = field(default_factory=set)
    invariants: list[Invariant] = field(default_factory=list)
    #: where this schema came from ("canonical SQL", "replay at 202511161130", ...)
    label: str = ""
    #: the file it was read from, if any
    path: str | None = None

    def table(self, name: str) -> Table | None:
        return self.tables.get(name)

    def indexes_of(self, table: str) -> list[Index]:
        return [i for i in self.indexes.values() if i.table == table]


ObjectKind = Literal["table", "column", "index", "constraint", "policy", "enum"]


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_SIMPLE_IDENT = re.compile(r"[a-z_][a-z0-9_$]*")


def quote_ident(name: str) -> str:
    """``name`` as SQL writes it: bare when simple and not a keyword, else double-quoted."""
    if _SIMPLE_IDENT.fullmatch(name):
        from pglast.keywords import RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

        if name not in RESERVED_KEYWORDS and name not in TYPE_FUNC_NAME_KEYWORDS:
            return name
    return '"' + name.replace('"', '""') + '"'


def pg_truncate(name: str) -> str:
    """PostgreSQL truncates identifiers to 63 bytes."""
    encoded = name.encode()
    if len(encoded) <= PG_MAX_IDENT:
        return name
    return encoded[:PG_MAX_IDENT].decode(errors="ignore")


def _name_addition(columns: tuple[str, ...]) -> str:
    """The column part of a generated name: the columns joined by ``_``, stopping once it
    reaches 63 bytes (``ChooseIndexNameAddition`` / ``ChooseForeignKeyConstraintNameAddition``
    in PostgreSQL's ``indexcmds.c`` / ``tablecmds.c``)."""
    out = ""
    for name in columns:
        if out:
            out += "_"
        out += name
        if len(out.encode()) >= PG_MAX_IDENT + 1:
            break
    return out


def make_object_name(name1: str, name2: str | None, label: str | None) -> str:
    """PostgreSQL's ``makeObjectName``: ``name1_name2_label`` within 63 bytes, the longer of
    the two names shortened first, so the label (``pkey``, ``fkey``, ``idx``) survives."""
    overhead = (len(label) + 1 if label else 0) + (1 if name2 else 0)
    avail = PG_MAX_IDENT - overhead
    n1, n2 = len(name1.encode()), len((name2 or "").encode())
    while n1 + n2 > avail:
        if n1 > n2:
            n1 -= 1
        else:
            n2 -= 1
    out = name1.encode()[:n1].decode(errors="ignore")
    if name2:
        out += "_" + name2.encode()[:n2].decode(errors="ignore")
    if label:
        out += "_" + label
    return out


def default_constraint_name(kind: ConstraintKind, table: str, columns: tuple[str, ...]) -> str:
    """The name PostgreSQL gives an unnamed constraint (``tenants_pkey``,
    ``tenants_api_key_hash_key``, ``events_tenant_id_fkey``, ``dead_events_retry_count_check``),
    shortened as PostgreSQL shortens it (the label kept)."""
    suffix = {"primary_key": "pkey", "unique": "key", "foreign_key": "fkey", "check": "check",
              "exclude": "excl"}[kind]
    if kind == "primary_key":
        return make_object_name(table, None, "pkey")
    parts = _name_addition(columns[:1] if kind == "check" else columns)
    return make_object_name(table, parts or None, suffix)


def default_index_name(table: str, columns: tuple[str, ...]) -> str:
    return make_object_name(table, _name_addition(columns) or "expr", "idx")
