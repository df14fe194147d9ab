"""Column references in table expressions, and renames that edit them in place."""

from __future__ import annotations

import pytest

from b03lint.schema.expressions import (
    referenced_columns,
    rename_column,
    rename_type,
    string_literal,
)


@pytest.mark.parametrize(("expr", "old", "new", "expected"), [
    ("lower(b) > 'b'", "b", "bb", "lower(bb) > 'b'"),
    ('"b" = 1 AND t.b = 2 AND x.b = 3', "b", "c", "c = 1 AND t.c = 2 AND x.b = 3"),
    ("b = 1", "b", "Mixed", '"Mixed" = 1'),
    ("'é' || b", "b", "select", "'é' || \"select\""),
    ("exists (select 1 from u where b = 1) and b > 0", "b", "c",
     "exists (select 1 from u where b = 1) and c > 0"),
    ("not an expression (", "b", "c", "not an expression ("),
])
def test_rename_column(expr: str, old: str, new: str, expected: str) -> None:
    assert rename_column(expr, old, new, "t") == expected


def test_referenced_columns() -> None:
    assert referenced_columns("a + t.b > x.c AND exists (select d from u)", "t") == {"a", "b"}
    assert referenced_columns("((", "t") is None


def test_rename_type_and_literals() -> None:
    assert rename_type("'a'::e", "e", "f") == "'a'::f"
    assert rename_type("'a'::public.e", "e", "f") == "'a'::public.f"
    assert rename_type("'a'::other.e", "e", "f") == "'a'::other.e"
    assert rename_type("'e'::text", "e", "f") == "'e'::text"
    assert string_literal("'a'::e") == "a"
    assert string_literal("now()") is None


def test_literal_casts_and_sequence_defaults_as_postgresql_stores_them() -> None:
    from b03lint.schema.expressions import canonical_nextval, drop_literal_casts

    enums = frozenset({"status"})
    assert drop_literal_casts("status = 'new'::status", enums) == "status = 'new'"
    assert drop_literal_casts("x = 'a'::public.status OR y = 'b'::text", enums) == (
        "x = 'a' OR y = 'b'::text")
    assert drop_literal_casts("CAST('a' AS status) = s", enums) == "CAST('a' AS status) = s"
    assert canonical_nextval("nextval('public.t_id_seq'::regclass)") == (
        "nextval('t_id_seq'::regclass)")
    assert canonical_nextval("nextval('s')") == "nextval('s'::regclass)"
    assert canonical_nextval("nextval('other.s')") == "nextval('other.s'::regclass)"


def test_a_database_and_its_own_spelling_do_not_differ() -> None:
    """The replay keeps the author's spelling; the catalog adds casts. The diff sees one
    expression."""
    from b03lint.readers.sql import read_sql
    from b03lint.schema.diff import diff
    from b03lint.schema.replay import fold

    def schema(sql: str):  # type: ignore[no-untyped-def]
        return fold([(None, read_sql(sql, path="x.sql").operations)], "x").schema

    written = schema("CREATE TYPE status AS ENUM ('new', 'done');"
                     "CREATE SEQUENCE s;"
                     "CREATE TABLE t (id int DEFAULT nextval('s'), st status,"
                     " CONSTRAINT ck CHECK (st <> 'done'));"
                     "CREATE INDEX ix ON t (id) WHERE st = 'new';"
                     "CREATE TABLE u (email varchar(80));"
                     "CREATE INDEX ux ON u (lower(email));")
    stored = schema("CREATE TYPE status AS ENUM ('new', 'done');"
                    "CREATE SEQUENCE public.s;"
                    "CREATE TABLE t (id int DEFAULT nextval('public.s'::regclass), st status,"
                    " CONSTRAINT ck CHECK ((st <> 'done'::status)));"
                    "CREATE INDEX ix ON t (id) WHERE (st = 'new'::status);"
                    "CREATE TABLE u (email character varying(80));"
                    "CREATE INDEX ux ON public.u USING btree (lower((email)::text));")
    assert diff(written, stored) == []
    assert diff(stored, written) == []
    other = schema("CREATE TYPE status AS ENUM ('new', 'done');"
                   "CREATE TABLE t (id int, st status, CONSTRAINT ck CHECK (st <> 'new'));")
    assert sorted(d.kind for d in diff(other, stored)) == [
        "column-default", "constraint-differs", "missing-index", "missing-table"]
