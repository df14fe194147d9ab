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
