"""The volatility model (:mod:`b03lint.pgmodel.volatility`) against ``pg_proc`` on a real
PostgreSQL: every function it calls immutable or stable is so in every overload, every
built-in it calls volatile is volatile, and ``CREATE FUNCTION`` without a volatility makes a
volatile function (which is why an unknown function counts as volatile)."""

from __future__ import annotations

from typing import Any

import pytest
from pgcluster import PostgresCluster

from b03lint.pgmodel.volatility import NON_VOLATILE, VOLATILE, is_volatile, volatile_calls

#: the volatile functions that come from extensions, not pg_catalog
EXTENSIONS = {"uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4"}


@pytest.fixture(scope="module")
def cur(pg_cluster: PostgresCluster) -> Any:
    pg_cluster.create_database("volatility")
    conn = pg_cluster.connect("volatility", autocommit=True)
    try:
        yield conn.cursor()
    finally:
        conn.close()
        pg_cluster.drop_database("volatility")


def _volatility(cur: Any, name: str) -> set[str]:
    cur.execute("SELECT DISTINCT provolatile::text FROM pg_catalog.pg_proc "
                "WHERE proname = %s AND pronamespace = 'pg_catalog'::regnamespace", (name,))
    return {row[0] for row in cur.fetchall()}


def test_non_volatile_functions_are_immutable_or_stable(cur: Any) -> None:
    wrong = {name: found for name in sorted(NON_VOLATILE)
             if not (found := _volatility(cur, name)) or not found <= {"i", "s"}}
    assert wrong == {}


def test_volatile_functions_are_volatile(cur: Any) -> None:
    wrong = {name: found for name in sorted(VOLATILE - EXTENSIONS)
             if (found := _volatility(cur, name)) != {"v"}}
    assert wrong == {}


def test_a_function_without_a_volatility_is_volatile(cur: Any) -> None:
    cur.execute("CREATE FUNCTION make_code() RETURNS text LANGUAGE plpgsql "
                "AS $$ BEGIN RETURN 'x'; END $$")
    cur.execute("SELECT provolatile::text FROM pg_proc WHERE proname = 'make_code'")
    assert cur.fetchone()[0] == "v"
    assert volatile_calls("make_code()") == ("make_code",)


@pytest.mark.parametrize(("default", "volatile"), [
    ("now()", False), ("CURRENT_TIMESTAMP", False), ("'pending'::text", False),
    ("(now() + '1 day'::interval)", False), ("timezone('utc'::text, now())", False),
    ("'{}'::jsonb", False), ("lower('X')", False), ("gen_random_uuid()", True),
    ("nextval('events_id_seq'::regclass)", True), ("public.next_code()", True),
    ("uuid_generate_v7()", True), ("coalesce(NULL, random())", True), ("NULL", False),
])
def test_defaults(default: str, volatile: bool) -> None:
    assert is_volatile(default) is volatile
