"""Behavioural probes on a schema built for them: foreign keys to unique (not primary)
columns and composite keys, other enum columns, NOT NULL columns of many types, and forced
row-level security for a table owner that is not a superuser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from live_support import role_url
from pgcluster import PostgresCluster

from b03lint.live import probes
from b03lint.live.connect import Target
from b03lint.live.introspect import introspect

OWNER = "b03_probe_owner"

SCHEMA_SQL = """
CREATE TABLE tenants (id uuid PRIMARY KEY, name varchar(5) NOT NULL);
CREATE TABLE regions (code char(2) NOT NULL UNIQUE, zone int NOT NULL, label text NOT NULL,
    PRIMARY KEY (code, zone));
CREATE TABLE items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    region_code char(2) NOT NULL,
    region_zone int NOT NULL,
    parent_id bigint REFERENCES items (id),
    status varchar(8) NOT NULL CONSTRAINT ck_items_status CHECK (status IN ('open', 'closed')),
    priority text NOT NULL CONSTRAINT ck_items_priority CHECK (priority IN ('low', 'high')),
    amount numeric(6,2) NOT NULL CHECK (amount > 0),
    due date NOT NULL,
    meta jsonb NOT NULL,
    flags boolean[] NOT NULL,
    FOREIGN KEY (region_code, region_zone) REFERENCES regions (code, zone)
);
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
ALTER TABLE items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON items
    USING (tenant_id = current_setting('app.current_tenant_id')::uuid);
"""


@pytest.fixture()
def owner_url(pg_cluster: PostgresCluster, pg_database: str) -> Iterator[str]:
    dbname = pg_database.rsplit("/", 1)[1]
    with pg_cluster.connect() as conn:
        conn.execute(f"DROP ROLE IF EXISTS {OWNER}")
        conn.execute(f"CREATE ROLE {OWNER} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD 'owner-pw'")
    with pg_cluster.connect(dbname) as conn:
        conn.execute(f"GRANT CREATE ON SCHEMA public TO {OWNER}")
        conn.execute(f"SET ROLE {OWNER}")
        conn.execute(SCHEMA_SQL)
    yield role_url(pg_database, OWNER, "owner-pw")
    with pg_cluster.connect(dbname) as conn:
        conn.execute(f"DROP OWNED BY {OWNER}")
    with pg_cluster.connect() as conn:
        conn.execute(f"DROP ROLE {OWNER}")


def test_probes_under_forced_rls_as_a_plain_owner(owner_url: str) -> None:
    target = Target.parse(owner_url)
    with target.connect() as conn:
        live = introspect(conn, target.label()).schema
        planned = probes.plan(live, live, {("items", "status"): {"open", "closed", "archived"}})
        with target.connect(autocommit=False) as probe_conn:
            outcomes = probes.run(probe_conn, planned, live)
        left = conn.execute("SELECT (SELECT count(*) FROM tenants) + "
                            "(SELECT count(*) FROM regions)").fetchone()
    got = {(o.probe.column, o.probe.value): (o.accepted, o.error) for o in outcomes}
    assert got[("status", "open")] == (True, None)
    assert got[("status", "closed")] == (True, None)
    assert got[("status", "archived")][0] is False
    assert 'violates check constraint "ck_items_status"' in str(got[("status", "archived")][1])
    assert got[("priority", "low")] == (True, None)
    made_up = [o for o in outcomes if o.probe.column == "status" and o.probe.value not in
               {"open", "closed", "archived"}]
    assert len(made_up) == 1 and made_up[0].accepted is False
    assert len(made_up[0].probe.value) <= 8  # fits varchar(8)
    assert all(o.ok for o in outcomes), [o.describe() for o in outcomes]
    assert left == (0,), "every probe is rolled back"
    statements = "\n".join(outcomes[0].statements)
    assert 'INSERT INTO "tenants"' in statements and 'INSERT INTO "regions"' in statements


def test_an_unfillable_row_is_inconclusive(pg_cluster: PostgresCluster, pg_database: str) -> None:
    dbname = pg_database.rsplit("/", 1)[1]
    with pg_cluster.connect(dbname) as conn:
        conn.execute("CREATE TABLE odd (id int PRIMARY KEY, shape point NOT NULL, "
                     "kind text NOT NULL CHECK (kind IN ('x', 'y')))")
    target = Target.parse(pg_database)
    with target.connect() as conn:
        live = introspect(conn, target.label()).schema
    with target.connect(autocommit=False) as conn:
        outcomes = probes.run(conn, probes.plan(live, live, {}), live)
    assert outcomes and all(o.accepted is None for o in outcomes)
    assert "cannot generate a value of type point for odd.shape" in str(outcomes[0].error)
