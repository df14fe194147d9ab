"""Whether an expression (a column default) is volatile, as PostgreSQL decides it.

PostgreSQL evaluates a non-volatile default of ``ADD COLUMN`` once and stores the value in
the catalog (PostgreSQL 11+), so existing rows are not touched; a volatile default must be
computed for every row, which rewrites the table. A function's volatility is
``pg_proc.provolatile``, and ``CREATE FUNCTION`` makes a function ``VOLATILE`` unless it says
otherwise. So the safe reading of an expression is: **every function that is not known to
be immutable or stable is volatile** -- a user-defined ``generate_id()`` included.

:data:`NON_VOLATILE` lists the built-in functions of ``pg_catalog`` that defaults commonly
use and whose every overload is immutable or stable; ``tests/test_pg_volatility.py`` checks
each against ``pg_proc`` on a real server, and each name of :data:`VOLATILE` too.
Operators, casts, literals and the SQL value functions (``CURRENT_TIMESTAMP``,
``CURRENT_DATE``, ``CURRENT_USER``...) are stable or immutable; a subquery is treated as
volatile (PostgreSQL does not allow one in a default anyway).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

#: pg_catalog functions whose every overload is immutable or stable (proven live)
NON_VOLATILE: frozenset[str] = frozenset({
    "now", "statement_timestamp", "transaction_timestamp", "current_setting", "timezone",
    "lower", "upper", "btrim", "ltrim", "rtrim", "concat", "concat_ws", "length",
    "char_length", "substr", "substring", "replace", "md5", "abs", "round", "floor", "ceil",
    "ceiling", "trunc", "date_trunc", "date_part", "to_char", "to_date", "to_timestamp",
    "make_date", "make_time", "make_timestamp", "make_timestamptz", "make_interval",
    "jsonb_build_object", "jsonb_build_array", "json_build_object", "json_build_array",
    "to_jsonb", "to_json", "array_length", "cardinality", "left", "right", "lpad", "rpad",
    "split_part", "format", "encode", "decode", "sha256", "int4", "int8", "numeric", "text",
    "bool", "float8", "array_to_string", "string_to_array", "jsonb_typeof", "initcap",
    "current_database", "current_schema", "version", "txid_current",
})

#: well-known volatile functions (named in messages; PostgreSQL's own are proven live)
VOLATILE: frozenset[str] = frozenset({
    "random", "gen_random_uuid", "clock_timestamp", "timeofday", "nextval", "setseed",
    "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4",
})


def _walk(node: Any, out: list[str]) -> None:
    from pglast import ast

    if isinstance(node, tuple | list):
        for item in node:
            _walk(item, out)
        return
    if not isinstance(node, ast.Node):
        return
    if isinstance(node, ast.FuncCall):
        parts = [str(getattr(p, "sval", p)) for p in node.funcname or ()]
        schema = parts[0].lower() if len(parts) > 1 else "pg_catalog"
        name = parts[-1].lower() if parts else "?"
        if schema != "pg_catalog" or name not in NON_VOLATILE:
            out.append(name if schema == "pg_catalog" else ".".join(parts))
    elif isinstance(node, ast.SubLink):
        out.append("(subquery)")
        return
    for slot in getattr(node, "__slots__", ()):
        _walk(getattr(node, slot, None), out)


@lru_cache(maxsize=4096)
def volatile_calls(expression: str) -> tuple[str, ...] | None:
    """The functions of ``expression`` that are not known to be immutable or stable, in
    the order written (empty: the expression is not volatile); None when it does not
    parse (the caller cannot tell)."""
    from pglast.parser import ParseError, parse_sql

    try:
        stmts = parse_sql(f"SELECT {expression}")
    except ParseError:
        return None
    if len(stmts) != 1:
        return None
    found: list[str] = []
    _walk(stmts[0].stmt, found)
    return tuple(dict.fromkeys(found))


def is_volatile(expression: str | None) -> bool | None:
    """Whether a default is volatile (None: unknown; no default is not volatile)."""
    if expression is None:
        return False
    calls = volatile_calls(expression)
    return None if calls is None else bool(calls)
