"""The SQL reader's faster equivalents of pglast's own machinery give exactly what pglast
gives: the ``ancestors`` chain of every node (which pglast's printers consult), and so the
text of every deparsed expression."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pglast import ast
from pglast.parser import parse_sql
from pglast.stream import RawStream
from pglast.visitors import populate_ancestors

from b03lint.readers.sql import deparse as dp

ROOT = Path(__file__).resolve().parent.parent

#: shapes with tuples of tuples (VALUES lists, ROWS FROM), casts under SET, CASE, arrays,
#: subqueries, operators, DDL with every constraint kind
TRICKY = [
    "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, NULL)",
    "SELECT * FROM ROWS FROM (generate_series(10, 11), get_users()) AS r(a, b)",
    "SET TIME ZONE INTERVAL '+00:00' HOUR TO MINUTE",
    "SELECT CASE WHEN a > 1 THEN 'big' WHEN a IS NULL THEN NULL ELSE 'small' END::varchar(10)",
    "SELECT ARRAY[1, 2, 3]::int[], (x).f[1:2], -1::int, (a + b) * c, a || b || c FROM t",
    "SELECT a FROM t WHERE a IN (SELECT b FROM u WHERE u.c = t.c) AND NOT EXISTS "
    "(SELECT 1 FROM v) OR a BETWEEN 1 AND 2",
    "CREATE TABLE t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), n numeric(10, 2) "
    "CHECK (n >= 0), s text NOT NULL DEFAULT 'a'::text, d timestamptz DEFAULT now(), "
    "k int REFERENCES u (id) ON DELETE CASCADE, CONSTRAINT ck CHECK (s IN ('a', 'b')), "
    "EXCLUDE USING gist (d WITH &&), UNIQUE (s, k))",
    "CREATE INDEX CONCURRENTLY ix ON t USING btree (lower(s) DESC NULLS LAST, k) "
    "INCLUDE (d) WHERE d > now() - interval '1 day'",
    "CREATE POLICY p ON t USING (tenant_id = current_setting('app.tenant')::uuid) "
    "WITH CHECK (tenant_id = current_setting('app.tenant')::uuid)",
    "ALTER TABLE t ADD COLUMN x interval day to second(3), ALTER COLUMN s TYPE varchar(5) "
    "USING s::varchar(5), ADD CONSTRAINT fk FOREIGN KEY (k) REFERENCES u (id) NOT VALID",
    "SELECT x::interval hour to minute, y::double precision[], z::public.mytype",
]


def _statements() -> list[Any]:
    texts = [*TRICKY, (ROOT / "db" / "schema" / "canonical_schema.sql").read_text()]
    return [raw.stmt for text in texts for raw in parse_sql(text)]


def _nodes(tree: Any) -> list[Any]:
    out, stack = [], [tree]
    while stack:
        value = stack.pop()
        if isinstance(value, tuple):
            stack.extend(value)
        elif isinstance(value, ast.Node):
            out.append(value)
            stack.extend(getattr(value, m) for m in value)
    return out


def _chain(anc: Any) -> list[tuple[int, object]]:
    out = []
    while anc is not None:
        out.append((id(anc.node), anc.member))
        anc = anc.parent
    return out


def test_the_statements_cover_many_node_kinds() -> None:
    kinds = {type(n).__name__ for s in _statements() for n in _nodes(s)}
    assert {"TypeCast", "A_Expr", "CaseExpr", "SubLink", "FuncCall", "Constraint",
            "IndexElem", "CreatePolicyStmt", "AlterTableCmd", "A_Indirection"} <= kinds


@pytest.mark.parametrize("which", ["statement", "expressions"])
def test_ancestors_are_pglasts(which: str) -> None:
    for stmt in _statements():
        roots = [stmt] if which == "statement" else [
            n for n in _nodes(stmt) if isinstance(n, (ast.A_Expr, ast.TypeCast, ast.FuncCall))]
        for root in roots:
            tree = (root,)  # as RawStream.__call__ wraps a node
            populate_ancestors(tree)
            theirs = {id(n): _chain(n.ancestors) for n in _nodes(root)}
            touched: list[Any] = []
            dp._populate_ancestors(tree, touched)
            ours = {id(n): _chain(n.ancestors) for n in _nodes(root)}
            assert ours == theirs
            assert {id(n) for n in touched} == set(theirs)


def test_deparse_prints_what_pglasts_machinery_prints_and_leaves_no_cycle() -> None:
    class Reference(dp._printer()):  # type: ignore[misc]
        __call__ = RawStream.__call__  # pglast's own entry point, its own populate

    for stmt in _statements():
        for node in [stmt, *(n for n in _nodes(stmt) if isinstance(n, ast.Expr))]:
            try:
                expected = Reference()(node)
            except Exception:
                continue
            assert dp._printer()()(node) == expected
            assert all(n.ancestors is None for n in _nodes(node))


def test_deparse_by_shape_is_deparse_of_the_node() -> None:
    """Memoised by shape (positions left out), deparse gives each node's own text; trees
    that differ anywhere but in their positions have different keys."""
    dp._PRINTED.clear()
    seen: dict[object, str] = {}
    for stmt in _statements():
        for node in (n for n in _nodes(stmt) if isinstance(n, ast.Expr)):
            fresh = dp._print(node)
            assert dp.deparse(node) == fresh
            key = dp._shape(node)
            assert seen.setdefault(key, fresh) == fresh
    a, b = (parse_sql(f"SELECT {e}")[0].stmt.targetList[0].val
            for e in ("a + 1", "  a   +   1"))
    assert dp._shape(a) == dp._shape(b)  # only the positions differ
    c = parse_sql("SELECT a + 2")[0].stmt.targetList[0].val
    assert dp._shape(a) != dp._shape(c)


# --------------------------------------------------------------------------- fastparse


def _strict_difference(a: Any, b: Any, where: str = "tree") -> str | None:
    """Where two pglast trees differ in anything (types, every slot set or not, positions
    too, which pglast's own ``==`` leaves out); None when they do not."""
    if type(a) is not type(b):
        return f"{where}: {type(a).__name__} {a!r:.60} vs {type(b).__name__} {b!r:.60}"
    if isinstance(a, tuple):
        if len(a) != len(b):
            return f"{where}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _strict_difference(x, y, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(a, ast.Node):
        for slot in [*a.__slots__, "ancestors"]:
            if hasattr(a, slot) != hasattr(b, slot):
                return f"{where}.{slot}: set in one tree only"
            if hasattr(a, slot):
                found = _strict_difference(getattr(a, slot), getattr(b, slot),
                                           f"{where}.{type(a).__name__}.{slot}")
                if found:
                    return found
        return None
    return None if a == b else f"{where}: {a!r:.60} vs {b!r:.60}"


def _sql_corpus() -> list[str]:
    """Every string of the test suite and of the example project long enough to be a
    statement, and the example's SQL files (most are not SQL: pglast sorts them out)."""
    import ast as pyast

    from b03lint.readers.sql.lexer import sanitize

    texts = [p.read_text() for p in (ROOT / "db").rglob("*.sql")]
    for path in [*(ROOT / "tests").rglob("*.py"), *(ROOT / "alembic").rglob("*.py"),
                 *(ROOT / "rules").rglob("*.py")]:
        tree = pyast.parse(path.read_bytes())
        texts += [n.value for n in pyast.walk(tree)
                  if isinstance(n, pyast.Constant) and isinstance(n.value, str)
                  and len(n.value) > 6]
    return [sanitize(t) for t in [*texts, *TRICKY]]


def test_fastparse_builds_pglasts_tree_and_raises_its_errors() -> None:
    from b03lint.readers.sql import fastparse

    parsed = failed = 0
    for text in _sql_corpus():
        try:
            want = parse_sql(text)
        except Exception as exc:
            with pytest.raises(type(exc)) as got:
                fastparse.parse_sql(text)
            assert got.value.args == exc.args, text
            failed += 1
            continue
        assert _strict_difference(fastparse.parse_sql(text), want) is None, text
        parsed += 1
    assert parsed > 500 and failed > 1000  # the corpus holds both, many of each


def test_fastparse_leaves_non_ascii_text_to_pglast() -> None:
    """libpg_query's JSON positions are UTF-8 bytes; pglast's tree has characters."""
    from b03lint.readers.sql import fastparse

    text = "CREATE TABLE caf\u00e9 (n\u00e4me text DEFAULT '\u00e9t\u00e9', id int CHECK (id > 0))"
    assert _strict_difference(fastparse.parse_sql(text), parse_sql(text)) is None
    raw = fastparse.parse_sql(text)[0]
    assert raw.stmt.tableElts[1].location == text.index("id int")


def test_a_long_text_read_statement_by_statement_reads_as_a_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above ``SPLIT_FROM`` the reader parses one statement at a time (one tree in memory
    at a time): the operations, diagnostics and comments are those of a whole parse, for
    valid SQL and for SQL with errors (read around them as before)."""
    import sys

    from b03lint.cache import dumps
    from b03lint.readers.sql import read_sql
    from b03lint.readers.sql import reader as sql_reader

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(ROOT / "bench"))
    canonical = generate(tmp_path / "chain", 200) / "db" / "schema" / "canonical_schema.sql"
    big = canonical.read_text()
    texts = [*_sql_corpus(), big, big.replace("CREATE INDEX", "CREATE INDX", 3),
             big + "\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; "
                   "SELECT 2; END; -- after\n/* caf\u00e9 */ SELECT '\u00e9t\u00e9';"]
    for text in texts:
        monkeypatch.setattr(sql_reader, "SPLIT_FROM", 10**12)
        whole = dumps(read_sql(text, path="s.sql"))
        monkeypatch.setattr(sql_reader, "SPLIT_FROM", 0)
        assert dumps(read_sql(text, path="s.sql")) == whole, text[:200]


def test_the_operator_bound_is_never_below_the_depth_scan() -> None:
    """The guard scans operator depth in Python only when the C-speed count of operator
    characters could reach the limit: that count must bound the scan on every text."""
    from b03lint.readers.sql.parse import (
        MAX_OPERATOR_DEPTH,
        _operator_bound,
        _operator_depth,
    )
    from b03lint.readers.sql.parse import (
        parse_sql as guarded,
    )

    texts = [*_sql_corpus(), "SELECT " + " + ".join(["1"] * 50), "a::b::c::d", "x --> y",
             "SELECT 'a' || 'b' || $$ + + $$ /* - - */ -- ***\n", "x AND y OR z <> w"]
    for text in texts:
        assert _operator_bound(text) >= _operator_depth(text)[0], text
    deep = "SELECT " + "+".join(["1"] * (MAX_OPERATOR_DEPTH + 10))
    assert _operator_bound(deep) > MAX_OPERATOR_DEPTH
    with pytest.raises(Exception, match="nested about"):
        guarded(deep)
