"""The type-change model (:mod:`b03lint.pgmodel.typechange`) proven on a real PostgreSQL.

For every pair the model lists in ``PROVEN``: a table with a row, ``pg_class.relfilenode``
before and after ``ALTER COLUMN ... TYPE`` (a new file means PostgreSQL rewrote the table),
and for each pair the model calls lossy a row that the new type rejects or changes. The
model is also asked about each pair, so the table, the model and the server agree."""

from __future__ import annotations

from typing import Any

import pytest
from pgcluster import PostgresCluster

from b03lint.pgmodel.typechange import PROVEN, classify

#: a value of the old type that every new type of the pairs can hold
GOOD: dict[str, str] = {
    "varchar(50)": "'abc'", "varchar(100)": "'abc'", "varchar": "'abc'", "text": "'12'",
    "numeric(10,2)": "12.5", "varbit(4)": "B'101'", "timestamp(0)": "'2024-01-01 10:00'",
    "timestamptz(0)": "'2024-01-01 10:00+00'", "time(0)": "'10:00'",
    "interval(0)": "'1 day'", "cidr": "'10.0.0.0/8'", "xml": "'<a/>'", "bigint": "12",
    "double precision": "12", "timestamp(3)": "'2024-01-01 10:00:00'", "json": "'{\"a\": 1}'",
    "char(5)": "'ab'", "char(2)": "'ab'", "integer": "12", "smallint": "12", "real": "1.5",
    "date": "'2024-01-01'",
}

#: for lossy pairs: a value of the old type the new type rejects or changes
BAD: dict[tuple[str, str], str] = {
    ("varchar(100)", "varchar(50)"): "repeat('x', 60)",
    ("text", "varchar(5)"): "'abcdefgh'",
    ("text", "integer"): "'twelve'",
    ("numeric(10,2)", "numeric(10,1)"): "1.25",
    ("numeric(10,2)", "numeric(5,2)"): "12345.67",
    ("bigint", "integer"): "3000000000",
    ("double precision", "integer"): "1.5",
    ("timestamp(3)", "timestamp(0)"): "'2024-01-01 10:00:00.123'",
    ("json", "jsonb"): "'{\"a\": 1, \"a\": 2}'",
    ("char(5)", "char(2)"): "'abcde'",
}

#: pairs PostgreSQL converts only with USING (no assignment cast exists)
NEEDS_USING = {("text", "integer")}


def _relfilenode(cur: Any, table: str) -> int:
    cur.execute("SELECT relfilenode FROM pg_class WHERE oid = %s::regclass", (table,))
    return int(cur.fetchone()[0])


def _alter(cur: Any, table: str, old: str, new: str) -> None:
    using = f" USING c::{new}" if (old, new) in NEEDS_USING else ""
    cur.execute(f"ALTER TABLE {table} ALTER COLUMN c TYPE {new}{using}")


@pytest.fixture(scope="module")
def conn(pg_cluster: PostgresCluster) -> Any:
    url = pg_cluster.create_database("typechange")
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        yield connection
    pg_cluster.drop_database("typechange")


@pytest.mark.parametrize(("old", "new", "verdict"), PROVEN,
                         ids=[f"{o}->{n}" for o, n, _ in PROVEN])
def test_rewrite_as_the_model_says(conn: Any, old: str, new: str, verdict: str) -> None:
    assert classify(old, new, column="c").verdict == verdict
    table = "t_" + "".join(ch if ch.isalnum() else "_" for ch in f"{old}_{new}")[:50]
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"CREATE TABLE {table} (c {old})")
        cur.execute(f"INSERT INTO {table} VALUES ({GOOD[old]})")
        cur.execute(f"SELECT c::text FROM {table}")
        before_value = cur.fetchone()[0]
        before = _relfilenode(cur, table)
        _alter(cur, table, old, new)
        rewritten = _relfilenode(cur, table) != before
        assert rewritten == (verdict in ("rewrite", "may_lose")), \
            f"{old} -> {new}: PostgreSQL {'rewrote' if rewritten else 'did not rewrite'}"
        if verdict != "may_lose":
            cur.execute(f"SELECT c::text FROM {table}")
            after_value = cur.fetchone()[0]
            if old.startswith(("char", "varchar", "text")) or new.startswith(
                    ("char", "varchar", "text")):
                after_value, before_value = after_value.rstrip(), before_value.rstrip()
            assert after_value == before_value or verdict == "rewrite"


LOSSY = [(o, n) for o, n, v in PROVEN if v == "may_lose"]


@pytest.mark.parametrize(("old", "new"), LOSSY, ids=[f"{o}->{n}" for o, n in LOSSY])
def test_lossy_pairs_reject_or_change_a_value(conn: Any, old: str, new: str) -> None:
    import psycopg

    table = "l_" + "".join(ch if ch.isalnum() else "_" for ch in f"{old}_{new}")[:50]
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"CREATE TABLE {table} (c {old})")
        cur.execute(f"INSERT INTO {table} VALUES ({BAD[old, new]})")
        cur.execute(f"SELECT c::text FROM {table}")
        before = cur.fetchone()[0]
        try:
            _alter(cur, table, old, new)
        except psycopg.errors.DataError:
            return  # rejected
        cur.execute(f"SELECT c::text FROM {table}")
        assert cur.fetchone()[0] != before, f"{old} -> {new} kept {before!r}"


def test_a_using_that_is_the_implicit_cast_does_not_rewrite(conn: Any) -> None:
    """``USING col::newtype`` is planned like the cast itself: no rewrite for a wider
    varchar; any other USING expression rewrites."""
    assert classify("varchar(16)", "varchar(20)", using="s::varchar(20)", column="s").harmless
    assert not classify("varchar(16)", "varchar(20)", using="lower(s)", column="s").harmless
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS u")
        cur.execute("CREATE TABLE u (s varchar(16))")
        cur.execute("INSERT INTO u VALUES ('a')")
        first = _relfilenode(cur, "u")
        cur.execute("ALTER TABLE u ALTER COLUMN s TYPE varchar(20) USING s::varchar(20)")
        assert _relfilenode(cur, "u") == first
        cur.execute("ALTER TABLE u ALTER COLUMN s TYPE varchar(30) USING lower(s)")
        assert _relfilenode(cur, "u") != first


def test_timestamp_to_timestamptz_rewrites_unless_the_session_is_utc(conn: Any) -> None:
    """The model's sentence for timestamp <-> timestamptz (PostgreSQL 12+)."""
    assert "UTC" in classify("timestamp", "timestamptz").why
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS z")
        cur.execute("CREATE TABLE z (c timestamp)")
        cur.execute("INSERT INTO z VALUES ('2024-01-01 10:00')")
        cur.execute("SET TimeZone = 'UTC'")
        first = _relfilenode(cur, "z")
        cur.execute("ALTER TABLE z ALTER COLUMN c TYPE timestamptz")
        assert _relfilenode(cur, "z") == first
        cur.execute("SET TimeZone = 'Europe/Paris'")
        cur.execute("ALTER TABLE z ALTER COLUMN c TYPE timestamp")
        assert _relfilenode(cur, "z") != first
        cur.execute("RESET TimeZone")
