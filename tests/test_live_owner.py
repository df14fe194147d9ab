"""The bundled example as its table owner rebuilds it (ADR-005): a role with a password and
``CREATEDB``, not a superuser, no ``BYPASSRLS``, on the suite's server.

- a plain ``alembic upgrade head`` by the owner works (it failed in ``202511141000``: the
  foreign key check went through a forced policy that raised without the tenant setting);
  ``b03lint rebuild`` as the owner tells the example's story;
- the tenant policy admits no row without a tenant, the same way whether the setting was
  never set or was reset, and the owner's reads and writes are isolated with one;
- the two facts of PostgreSQL the ADR rests on: the old policy raised differently before
  and after a reset, and an owner without a tenant validates a foreign key against no
  rows (why production migrations keep a role that bypasses row level security).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from live_support import HEAD, PRE_RECONCILIATION, ROOT, alembic_upgrade, b03_fresh, role_url
from pgcluster import PostgresCluster

OWNER = "b03_table_owner"
OWNER_PASSWORD = "Owner pw: 'tenant' #5"
CONFIG = str(ROOT / "pyproject.toml")


@pytest.fixture(scope="module")
def owner(pg_cluster: PostgresCluster) -> Iterator[str]:
    literal = OWNER_PASSWORD.replace("'", "''")
    with pg_cluster.connect() as conn:
        conn.execute(f"DROP ROLE IF EXISTS {OWNER}")
        conn.execute(f"CREATE ROLE {OWNER} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS "
                     f"PASSWORD '{literal}'")
    yield OWNER
    with pg_cluster.connect() as conn:
        conn.execute(f"DROP OWNED BY {OWNER}; DROP ROLE IF EXISTS {OWNER}")


@pytest.fixture()
def owned_db(pg_cluster: PostgresCluster, owner: str) -> Iterator[str]:
    """An empty database owned by the owner; its URL as the owner."""
    name = f"owned_{uuid.uuid4().hex[:10]}"
    with pg_cluster.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}" OWNER {owner}')
    try:
        yield role_url(pg_cluster.url(name), owner, OWNER_PASSWORD)
    finally:
        pg_cluster.drop_database(name)


def test_the_owner_runs_the_chain_with_plain_alembic(owned_db: str) -> None:
    alembic_upgrade(owned_db, "head")
    with psycopg.connect(owned_db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND relkind = 'r'"
        ).fetchall()
    assert owners == [(OWNER,)]


def test_b03lint_rebuild_as_the_owner_tells_the_story(pg_cluster: PostgresCluster,
                                                      owner: str) -> None:
    url = role_url(pg_cluster.url(), owner, OWNER_PASSWORD)
    head = b03_fresh("rebuild", "--config", CONFIG, "--probes", "--roundtrip", "--steps", "2",
                     "--output-format", "json", env={"DATABASE_URL": url})
    assert head.code == 0, head.text
    assert head.json()["verdict"] == "PASS"
    before = b03_fresh("rebuild", "--rev", PRE_RECONCILIATION, "--config", CONFIG,
                       "--output-format", "json", env={"DATABASE_URL": url})
    assert before.code == 1, before.text
    blocking = [f for f in before.json()["findings"] if f["severity"] == "blocking"]
    assert {f["data"].get("drift_id") for f in blocking} == {"SCHEMA-DRIFT-001",
                                                              "SCHEMA-DRIFT-002"}
    assert not [f for f in before.json()["findings"] if f["code"].startswith("M")]


def _ledger_row(conn: psycopg.Connection[Any], tenant: uuid.UUID) -> None:
    conn.execute("INSERT INTO revenue_ledger (tenant_id, processor, transaction_id, "
                 "amount_cents) VALUES (%s, 'stripe', %s, 100)", (tenant, uuid.uuid4().hex))


def test_without_a_tenant_the_policy_admits_no_row(owned_db: str) -> None:
    alembic_upgrade(owned_db, "head")
    a, b = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(owned_db, autocommit=True) as conn:
        for tenant in (a, b):
            conn.execute("INSERT INTO tenants (id, name, api_key_hash) VALUES (%s, 'x', %s)",
                         (tenant, tenant.hex))
        # no tenant: nothing can be written ...
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                           match="violates row-level security policy"):
            _ledger_row(conn, a)
        for tenant in (a, b):
            with conn.transaction():
                conn.execute("SELECT set_config('app.current_tenant_id', %s, true)",
                             (str(tenant),))
                _ledger_row(conn, tenant)
                # ... and with one, only its own rows are seen
                assert conn.execute("SELECT count(*), min(tenant_id::text) FROM "
                                    "revenue_ledger").fetchone() == (1, str(tenant))
        # reset to '' by the end of the transaction: no row, and no error either
        assert conn.execute("SELECT current_setting('app.current_tenant_id')"
                            ).fetchone() == ("",)
        assert conn.execute("SELECT count(*) FROM revenue_ledger").fetchone() == (0,)
    with psycopg.connect(owned_db) as fresh:  # never set in this session
        assert fresh.execute("SELECT count(*) FROM revenue_ledger").fetchone() == (0,)
        assert fresh.execute("UPDATE revenue_ledger SET amount_cents = 0").rowcount == 0


OLD_POLICY = "tenant_id = current_setting('app.current_tenant_id')::uuid"
NEW_POLICY = "tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid"


def _forced_table(conn: psycopg.Connection[Any], name: str, policy: str) -> None:
    conn.execute(f"CREATE TABLE {name} (tenant_id uuid, code text)")
    conn.execute(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
    conn.execute(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
    conn.execute(f"CREATE POLICY p ON {name} USING ({policy}) WITH CHECK ({policy})")


def test_the_old_policy_raised_and_raised_differently_after_a_reset(owned_db: str) -> None:
    """ADR-005's context, measured."""
    with psycopg.connect(owned_db, autocommit=True) as conn:
        _forced_table(conn, "old_style", OLD_POLICY)
        with pytest.raises(psycopg.errors.UndefinedObject,
                           match="unrecognized configuration parameter"):
            conn.execute("SELECT count(*) FROM old_style")
        with conn.transaction():
            conn.execute("SELECT set_config('app.current_tenant_id', %s, true)",
                         (str(uuid.uuid4()),))
            conn.execute("SELECT count(*) FROM old_style")
        with pytest.raises(psycopg.errors.InvalidTextRepresentation, match="uuid"):
            conn.execute("SELECT count(*) FROM old_style")


@pytest.mark.parametrize("as_superuser", [False, True], ids=["owner", "superuser"])
def test_an_owner_without_a_tenant_validates_a_foreign_key_against_no_rows(
        pg_cluster: PostgresCluster, owned_db: str, as_superuser: bool) -> None:
    """ADR-005's consequence, measured: why production migrations keep a role that
    bypasses row level security."""
    with psycopg.connect(owned_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE codes (code text PRIMARY KEY)")
        _forced_table(conn, "uses", NEW_POLICY)
        with conn.transaction():
            conn.execute("SELECT set_config('app.current_tenant_id', %s, true)",
                         (str(tenant := uuid.uuid4()),))
            conn.execute("INSERT INTO uses VALUES (%s, 'no-such-code')", (tenant,))
    dbname = owned_db.rsplit("/", 1)[1]
    add_fk = "ALTER TABLE uses ADD CONSTRAINT fk_uses_code FOREIGN KEY (code) REFERENCES codes"
    if as_superuser:
        with pg_cluster.connect(dbname) as su, pytest.raises(
                psycopg.errors.ForeignKeyViolation):
            su.execute(add_fk)
    else:
        with psycopg.connect(owned_db, autocommit=True) as conn:
            conn.execute(add_fk)  # accepted: the violating row was not visible to the check
            assert conn.execute("SELECT count(*) FROM pg_constraint WHERE conname = "
                                "'fk_uses_code'").fetchone() == (1,)
