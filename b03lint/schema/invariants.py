"""The structural invariants of the canonical YAML (guide section 4.3) as data: each kind
(:data:`INVARIANT_KINDS`: what its object names, which ``expect`` keys it takes) and how
it is checked on a schema (:func:`check_invariants`), the replayed chain's or a live
catalog's."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from b03lint.operations import IndexElement
from b03lint.schema.model import (
    Column,
    Index,
    Invariant,
    Schema,
    Table,
)

#: the word ``rls_enabled`` accepts as object: every tenant-scoped table
ALL_TENANT_SCOPED = "tenant_scoped"


# =========================================================================== invariant kinds


@dataclass(frozen=True)
class InvariantKind:
    """One kind of structural invariant: what ``object`` names and which ``expect`` keys
    it takes (``required`` / ``optional``)."""

    name: str
    object: Literal["column", "index", "constraint", "table"]
    doc: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


INVARIANT_KINDS: dict[str, InvariantKind] = {k.name: k for k in (
    InvariantKind("column_exists", "column",
                  "the column exists; with `type` / `nullable`, it has that type / nullability",
                  optional=("type", "nullable")),
    InvariantKind("not_null", "column", "the column exists and is NOT NULL"),
    InvariantKind("unique", "column",
                  "the column alone is unique: a primary key, a UNIQUE constraint or a "
                  "unique, non-partial index on exactly this column"),
    InvariantKind("unique_index", "index",
                  "the index exists, is UNIQUE and not partial; with `table` / `columns`, it "
                  "is on that table with exactly these keys (in order, `created_at DESC`)",
                  optional=("table", "columns")),
    InvariantKind("index_includes", "index",
                  "the index exists and INCLUDEs exactly `include` (any order); with "
                  "`columns`, its keys are exactly these (in order, with direction)",
                  required=("include",), optional=("columns",)),
    InvariantKind("check_values", "column",
                  "a CHECK constraint restricts the column to exactly `values` (any order); "
                  "with `constraint`, that constraint does",
                  required=("values",), optional=("constraint",)),
    InvariantKind("constraint_exists", "constraint",
                  "the constraint (`table.constraint`) exists; with `kind` (check, unique, "
                  "primary_key, foreign_key), it is of that kind", optional=("kind",)),
    InvariantKind("rls_enabled", "table",
                  "row level security is enabled on the table, or on every tenant-scoped "
                  "table when the object is `tenant_scoped`; with `forced: true` it is also "
                  "forced, with `policy: true` the table has at least one policy",
                  optional=("forced", "policy")),
)}



def _element_text(e: IndexElement) -> str:
    text = e.expression + (" DESC" if e.descending else "")
    return text + (f" NULLS {e.nulls.upper()}" if e.nulls else "")


_PLAIN_KEY = re.compile(r"^\s*([a-z_][a-z0-9_$]*)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)


def _index_key(text: str) -> tuple[IndexElement, ...]:
    """``created_at DESC`` without a parser; anything else through PostgreSQL's."""
    m = _PLAIN_KEY.match(text)
    if m and m.group(1).lower() == m.group(1):
        return (IndexElement(m.group(1), descending=(m.group(2) or "").lower() == "desc"),)
    from b03lint.readers.sql import parse_index_elements

    return parse_index_elements(text)


def _keys_match(idx: Index, expected: Iterable[str]) -> bool:
    try:
        wanted = tuple(el for text in expected for el in _index_key(text))
    except ValueError:
        return False

    def shape(e: IndexElement) -> tuple[str, bool, str | None]:
        return (e.expression, e.descending, e.nulls)

    return tuple(map(shape, idx.elements)) == tuple(map(shape, wanted))


def _column(schema: Schema, obj: str) -> tuple[Table | None, Column | None, str | None]:
    """(table, column, failure message) for a ``table.column`` object."""
    table_name, _, column_name = obj.partition(".")
    table = schema.tables.get(table_name)
    if table is None:
        return None, None, f"table {table_name} does not exist"
    if table.unknown:
        return table, None, f"table {table_name} is unknown after an unresolved operation"
    column = table.columns.get(column_name)
    if column is None:
        return table, None, f"column {obj} does not exist"
    if column.unknown:
        return table, column, f"column {obj} is unknown after an unresolved operation"
    return table, column, None


def _check_column_exists(schema: Schema, inv: Invariant, expect: dict[str, Any]) -> str | None:
    _table, column, problem = _column(schema, inv.object)
    if problem or column is None:
        return problem
    if "type" in expect and column.type != expect["type"]:
        return f"column {inv.object} is {column.type}, expected {expect['type']}"
    if "nullable" in expect and column.nullable != expect["nullable"]:
        want = "nullable" if expect["nullable"] else "NOT NULL"
        return f"column {inv.object} is not {want}"
    return None


def _check_not_null(schema: Schema, inv: Invariant, expect: dict[str, Any]) -> str | None:
    _table, column, problem = _column(schema, inv.object)
    if problem or column is None:
        return problem
    return f"column {inv.object} is nullable" if column.nullable else None


def _check_unique(schema: Schema, inv: Invariant, expect: dict[str, Any]) -> str | None:
    table, column, problem = _column(schema, inv.object)
    if problem or table is None or column is None:
        return problem
    name = column.name
    if any(c.kind in ("primary_key", "unique") and c.columns == (name,)
           for c in table.constraints.values()):
        return None
    if any(i.unique and i.where is None and len(i.elements) == 1
           and not i.elements[0].is_expression and i.elements[0].expression == name
           for i in schema.indexes_of(table.name)):
        return None
    return f"nothing makes {inv.object} unique (no primary key, UNIQUE constraint or " \
           "unique non-partial index on exactly this column)"


def _index(schema: Schema, name: str) -> tuple[Index | None, str | None]:
    idx = schema.indexes.get(name)
    if idx is None:
        return None, f"index {name} does not exist"
    table = schema.tables.get(idx.table)
    if table is not None and table.unknown:
        return None, f"index {name}: table {idx.table} is unknown after an unresolved " \
                     "operation"
    return idx, None


def _check_unique_index(schema: Schema, inv: Invariant, expect: dict[str, Any]) -> str | None:
    idx, problem = _index(schema, inv.object)
    if idx is None:
        return problem
    if "table" in expect and idx.table != expect["table"]:
        return f"index {idx.name} is on {idx.table}, expected {expect['table']}"
    if not idx.unique:
        return f"index {idx.name} is not UNIQUE"
    if idx.where is not None:
        return f"index {idx.name} is partial (WHERE {idx.where}): it does not make every " \
               "row unique"
    if "columns" in expect and not _keys_match(idx, expect["columns"]):
        return (f"index {idx.name} keys are ({', '.join(map(_element_text, idx.elements))}), "
                f"expected ({', '.join(expect['columns'])})")
    return None


def _check_index_includes(schema: Schema, inv: Invariant,
                          expect: dict[str, Any]) -> str | None:
    idx, problem = _index(schema, inv.object)
    if idx is None:
        return problem
    if "columns" in expect and not _keys_match(idx, expect["columns"]):
        return (f"index {idx.name} keys are ({', '.join(map(_element_text, idx.elements))}), "
                f"expected ({', '.join(expect['columns'])})")
    if set(idx.include) != set(expect["include"]):
        got = ", ".join(idx.include) or "nothing"
        return f"index {idx.name} INCLUDEs ({got}), expected ({', '.join(expect['include'])})"
    return None


def _check_check_values(schema: Schema, inv: Invariant, expect: dict[str, Any]) -> str | None:
    table, column, problem = _column(schema, inv.object)
    if problem or table is None or column is None:
        return problem
    wanted = set(expect["values"])
    checks = [c for c in table.constraints.values()
              if c.kind == "check" and c.enum_column == column.name
              and ("constraint" not in expect or c.name == expect["constraint"])]
    if not checks:
        if "constraint" in expect:
            return (f"CHECK {expect['constraint']} on {table.name} does not exist or does "
                    f"not restrict {column.name} to a value list")
        return f"no CHECK restricts {inv.object} to a value list"
    for con in checks:
        if set(con.enum_values or ()) == wanted:
            return None
    con = checks[0]
    got = set(con.enum_values or ())
    parts = []
    if wanted - got:
        parts.append("missing " + ", ".join(sorted(wanted - got)))
    if got - wanted:
        parts.append("extra " + ", ".join(sorted(got - wanted)))
    return f"CHECK {con.name} allows ({', '.join(con.enum_values or ())}): {'; '.join(parts)}"


def _check_constraint_exists(schema: Schema, inv: Invariant,
                             expect: dict[str, Any]) -> str | None:
    table_name, _, name = inv.object.partition(".")
    table = schema.tables.get(table_name)
    if table is None:
        return f"table {table_name} does not exist"
    if table.unknown:
        return f"table {table_name} is unknown after an unresolved operation"
    con = table.constraints.get(name)
    if con is None:
        return f"constraint {name} does not exist on {table_name}"
    if "kind" in expect and con.kind != expect["kind"]:
        return f"constraint {name} is a {con.kind.replace('_', ' ')}, expected " \
               f"{str(expect['kind']).replace('_', ' ')}"
    return None


def _check_rls(schema: Schema, inv: Invariant, expect: dict[str, Any],
               tenant_column: str) -> str | None:
    if inv.object == ALL_TENANT_SCOPED:
        tables = [t for _, t in sorted(schema.tables.items())
                  if t.is_tenant_scoped(tenant_column)]
    else:
        table = schema.tables.get(inv.object)
        if table is None:
            return f"table {inv.object} does not exist"
        tables = [table]
    problems: list[str] = []
    for t in tables:
        if t.unknown:
            problems.append(f"{t.name} is unknown after an unresolved operation")
        elif not t.rls_enabled:
            problems.append(f"row level security is not enabled on {t.name}")
        elif expect.get("forced") and not t.rls_forced:
            problems.append(f"row level security is not forced on {t.name}")
        elif expect.get("policy") and not t.policies:
            problems.append(f"{t.name} has no policy")
    return "; ".join(problems) or None


_CHECKERS: dict[str, Callable[[Schema, Invariant, dict[str, Any]], str | None]] = {
    "column_exists": _check_column_exists,
    "not_null": _check_not_null,
    "unique": _check_unique,
    "unique_index": _check_unique_index,
    "index_includes": _check_index_includes,
    "check_values": _check_check_values,
    "constraint_exists": _check_constraint_exists,
}


def check_invariant(schema: Schema, invariant: Invariant, *,
                    tenant_column: str = "tenant_id") -> str | None:
    """Why ``invariant`` does not hold on ``schema`` (None when it holds)."""
    expect = dict(invariant.expect)
    if invariant.kind == "rls_enabled":
        return _check_rls(schema, invariant, expect, tenant_column)
    checker = _CHECKERS.get(invariant.kind)
    if checker is None:
        return f"unknown invariant kind {invariant.kind!r}"
    return checker(schema, invariant, expect)


def check_invariants(schema: Schema, invariants: Iterable[Invariant], *,
                     tenant_column: str = "tenant_id") -> list[tuple[Invariant, str]]:
    """Every invariant that does not hold on ``schema``, with the reason.

    An invariant whose object is unknown (an unresolved operation may have changed the
    table) is returned too, with a message that says so: it cannot be proved, and it is
    never guessed. See :data:`INVARIANT_KINDS` and ``docs/canonical-yaml.md`` for the kinds.
    """
    out: list[tuple[Invariant, str]] = []
    for inv in invariants:
        problem = check_invariant(schema, inv, tenant_column=tenant_column)
        if problem is not None:
            out.append((inv, problem))
    return out

