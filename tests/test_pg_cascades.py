"""What PostgreSQL drops with a column, proven on a real server: the ground for D010 and
D011 not reporting an index or constraint apart when the same upgrade drops a column it
involves (``rules/dropped.py``)."""

from __future__ import annotations

from typing import Any

from pgcluster import PostgresCluster


def _names(cur: Any) -> tuple[set[str], set[str]]:
    cur.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'cascade_t'::regclass")
    constraints = {row[0] for row in cur.fetchall()}
    cur.execute("SELECT indexrelid::regclass::text FROM pg_index "
                "WHERE indrelid = 'cascade_t'::regclass")
    return constraints, {row[0] for row in cur.fetchall()}


def test_dropping_one_column_drops_every_index_and_constraint_involving_it(
        pg_cluster: PostgresCluster, pg_database: str) -> None:
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE cascade_p (id int PRIMARY KEY)")
        cur.execute("""CREATE TABLE cascade_t (
            id int PRIMARY KEY, a int, b int, c int,
            CONSTRAINT uq_ab UNIQUE (a, b),
            CONSTRAINT ck_ab CHECK (a > 0 AND b > 0),
            CONSTRAINT ck_c CHECK (c > 0),
            CONSTRAINT fk_a FOREIGN KEY (a) REFERENCES cascade_p (id))""")
        cur.execute("CREATE INDEX ix_ab ON cascade_t (a, b)")
        cur.execute("CREATE INDEX ix_b ON cascade_t (b)")
        cur.execute("CREATE INDEX ix_expr ON cascade_t ((a + c))")
        cur.execute("CREATE INDEX ix_partial ON cascade_t (c) WHERE a > 1")
        cur.execute("CREATE INDEX ix_incl ON cascade_t (c) INCLUDE (a)")
        cur.execute("ALTER TABLE cascade_t DROP COLUMN a")
        constraints, indexes = _names(cur)
        assert constraints == {"cascade_t_pkey", "ck_c"}
        assert indexes == {"cascade_t_pkey", "ix_b"}
