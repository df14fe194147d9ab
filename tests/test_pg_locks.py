"""The lock model (:mod:`b03lint.pgmodel.locks`) proven on a real PostgreSQL.

Every row of the model's table that covers the suite's server has examples here. Each
example is read by b03lint's SQL reader into operations, judged by the model on the
replayed schema just before it, then run on a fresh copy of the same schema (with rows)
under :mod:`b03lint.live.trace`, the measuring ``rebuild --trace`` uses: ``pg_locks`` of the
backend, ``relfilenode`` before and after, the transaction's sequential scans, and for
statements that run outside a transaction the locks and waits seen from other
connections. The model and the server must agree on every example, and every operation
kind of the vocabulary must be among them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pgcluster import PostgresCluster

from b03lint.live.trace import Observer, difference, snapshot
from b03lint.live.tracecompare import Statement, Verdict, compare, predict
from b03lint.operations import OPERATION_TYPES
from b03lint.pgmodel.locks import PROVEN_ON, ROWS
from b03lint.readers.sql import read_sql
from b03lint.schema.replay import Folder

FIXTURE = """
CREATE TYPE mood AS ENUM ('calm', 'busy');
CREATE SCHEMA audit;
CREATE TABLE audit.log (id int PRIMARY KEY, note text);
CREATE TABLE accounts (id int PRIMARY KEY, name text);
CREATE TABLE events (
    id int PRIMARY KEY,
    account_id int REFERENCES accounts (id),
    code text,
    label varchar(100),
    n int,
    kind text NOT NULL DEFAULT 'a',
    feeling mood,
    seen timestamp
);
CREATE INDEX ix_events_code ON events (code);
CREATE TABLE other (id int PRIMARY KEY, event_id int REFERENCES events (id));
CREATE TABLE parted (id int, k int) PARTITION BY RANGE (k);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10);
CREATE TABLE loose (id int, k int CHECK (k >= 10 AND k < 30));
CREATE FUNCTION make_code() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN 'x'; END $$;
INSERT INTO accounts VALUES (1, 'a'), (2, 'b');
INSERT INTO events (id, account_id, code, label, n, seen)
    VALUES (1, 1, 'a', 'x', 1, now()), (2, 2, 'b', 'y', 2, now());
INSERT INTO other VALUES (1, 1);
INSERT INTO parted VALUES (1, 1);
INSERT INTO loose VALUES (1, 20);
INSERT INTO audit.log VALUES (1, 'x');
"""


@dataclass(frozen=True)
class Case:
    row: str
    sql: str
    #: committed before the traced statement (part of the schema it runs on)
    pre: str = ""
    #: run outside a transaction (as inside ``autocommit_block()``)
    autocommit: bool = False

    @property
    def id(self) -> str:
        return f"{self.row}: {self.sql}"


CASES = [
    Case("create_table", "CREATE TABLE t2 (id int PRIMARY KEY, account_id int "
                         "REFERENCES accounts (id))"),
    Case("create_table", "CREATE TABLE t3 (id int)"),
    Case("drop_table", "DROP TABLE other"),
    Case("drop_table", "DROP TABLE accounts CASCADE"),
    Case("rename_table", "ALTER TABLE events RENAME TO happenings"),
    Case("truncate", "TRUNCATE other"),
    Case("truncate", "TRUNCATE accounts CASCADE"),
    Case("lock_table", "LOCK TABLE events IN SHARE MODE"),
    Case("lock_table", "LOCK TABLE events, accounts"),
    Case("add_column", "ALTER TABLE events ADD COLUMN note text"),
    Case("add_column.default", "ALTER TABLE events ADD COLUMN source text NOT NULL "
                               "DEFAULT 'api'"),
    Case("add_column.default", "ALTER TABLE events ADD COLUMN created timestamptz "
                               "DEFAULT now()"),
    Case("add_column.volatile_default", "ALTER TABLE events ADD COLUMN r float "
                                        "DEFAULT random()"),
    Case("add_column.volatile_default", "ALTER TABLE events ADD COLUMN c text "
                                        "DEFAULT make_code()"),
    Case("add_column.volatile_default", "ALTER TABLE events ADD COLUMN s serial"),
    Case("add_column.volatile_default", "ALTER TABLE events ADD COLUMN i int GENERATED "
                                        "ALWAYS AS IDENTITY"),
    Case("add_column.generated", "ALTER TABLE events ADD COLUMN twice int GENERATED "
                                 "ALWAYS AS (n * 2) STORED"),
    Case("add_column", "ALTER TABLE events ADD COLUMN a2 int REFERENCES accounts (id)"),
    Case("add_foreign_key", "ALTER TABLE events ADD FOREIGN KEY (a2) REFERENCES accounts (id)",
         pre="ALTER TABLE events ADD COLUMN a2 int"),
    Case("drop_column", "ALTER TABLE events DROP COLUMN code"),
    Case("drop_column", "ALTER TABLE events DROP COLUMN account_id"),
    Case("rename_column", "ALTER TABLE events RENAME COLUMN code TO c2"),
    Case("alter_column_type", "ALTER TABLE events ALTER COLUMN label TYPE varchar(200)"),
    Case("alter_column_type", "ALTER TABLE events ALTER COLUMN label TYPE text"),
    Case("alter_column_type", "ALTER TABLE events ALTER COLUMN label TYPE varchar(300)",
         pre="ALTER TABLE events ADD CONSTRAINT ck_label CHECK (label <> '')"),
    Case("alter_column_type.rewrite", "ALTER TABLE events ALTER COLUMN n TYPE bigint"),
    Case("alter_column_type.rewrite", "ALTER TABLE events ALTER COLUMN account_id TYPE bigint"),
    Case("alter_column_type.rewrite", "ALTER TABLE events ALTER COLUMN id TYPE bigint"),
    Case("alter_column_type", "ALTER TABLE accounts ALTER COLUMN name TYPE varchar(20)",
         pre="ALTER TABLE accounts ALTER COLUMN name TYPE varchar(10); ALTER TABLE accounts "
             "ADD UNIQUE (name); ALTER TABLE audit.log ADD COLUMN who varchar(10) "
             "REFERENCES accounts (name)"),
    Case("alter_column_type.rewrite", "ALTER TABLE events ALTER COLUMN code TYPE integer "
                                      "USING length(code)"),
    Case("set_not_null", "ALTER TABLE events ALTER COLUMN code SET NOT NULL"),
    Case("set_not_null.checked", "ALTER TABLE events ALTER COLUMN code SET NOT NULL",
         pre="ALTER TABLE events ADD CONSTRAINT events_code_nn CHECK (code IS NOT NULL)"),
    Case("set_not_null.checked", "ALTER TABLE events ALTER COLUMN code SET NOT NULL",
         pre="ALTER TABLE events ADD CONSTRAINT events_code_nn CHECK (code IS NOT NULL) "
             "NOT VALID; ALTER TABLE events VALIDATE CONSTRAINT events_code_nn"),
    Case("set_not_null.already", "ALTER TABLE events ALTER COLUMN kind SET NOT NULL"),
    Case("drop_not_null", "ALTER TABLE events ALTER COLUMN kind DROP NOT NULL"),
    Case("alter_column_default", "ALTER TABLE events ALTER COLUMN code SET DEFAULT 'x'"),
    Case("alter_column_default", "ALTER TABLE events ALTER COLUMN kind DROP DEFAULT"),
    Case("create_index", "CREATE INDEX ix_events_n ON events (n)"),
    Case("create_index", "CREATE UNIQUE INDEX ux_events_label ON events (label) "
                         "WHERE n > 0"),
    Case("create_index.concurrently", "CREATE INDEX CONCURRENTLY ix_events_n ON events (n)",
         autocommit=True),
    Case("drop_index", "DROP INDEX ix_events_code"),
    Case("drop_index.concurrently", "DROP INDEX CONCURRENTLY ix_events_code",
         autocommit=True),
    Case("rename_index", "ALTER INDEX ix_events_code RENAME TO ix_code"),
    Case("reindex", "REINDEX INDEX ix_events_code"),
    Case("reindex", "REINDEX TABLE events"),
    Case("reindex.concurrently", "REINDEX INDEX CONCURRENTLY ix_events_code",
         autocommit=True),
    Case("reindex.concurrently", "REINDEX TABLE CONCURRENTLY events", autocommit=True),
    Case("reindex.many", "REINDEX SCHEMA audit", autocommit=True),
    Case("add_foreign_key", "ALTER TABLE events ADD CONSTRAINT fk_n FOREIGN KEY (n) "
                            "REFERENCES accounts (id)"),
    Case("add_foreign_key.not_valid", "ALTER TABLE events ADD CONSTRAINT fk_n FOREIGN KEY "
                                      "(n) REFERENCES accounts (id) NOT VALID"),
    Case("add_check", "ALTER TABLE events ADD CONSTRAINT ck_n CHECK (n > 0)"),
    Case("add_check.not_valid", "ALTER TABLE events ADD CONSTRAINT ck_n CHECK (n > 0) "
                                "NOT VALID"),
    Case("add_unique", "ALTER TABLE events ADD CONSTRAINT uq_code UNIQUE (code)"),
    Case("add_unique", "ALTER TABLE loose ADD PRIMARY KEY (id)"),
    Case("add_unique.using_index", "ALTER TABLE events ADD CONSTRAINT ux UNIQUE USING "
                                   "INDEX ux", pre="CREATE UNIQUE INDEX ux ON events (code)"),
    Case("add_unique.using_index", "ALTER TABLE loose ADD CONSTRAINT loose_pk PRIMARY KEY "
                                   "USING INDEX lx", pre="CREATE UNIQUE INDEX lx ON loose (id)"),
    Case("add_exclude", "ALTER TABLE events ADD CONSTRAINT ex_code EXCLUDE USING btree "
                        "(code WITH =)"),
    Case("validate_constraint", "ALTER TABLE events VALIDATE CONSTRAINT ck_n",
         pre="ALTER TABLE events ADD CONSTRAINT ck_n CHECK (n > 0) NOT VALID"),
    Case("validate_foreign_key", "ALTER TABLE events VALIDATE CONSTRAINT fk_n",
         pre="ALTER TABLE events ADD CONSTRAINT fk_n FOREIGN KEY (n) REFERENCES accounts "
             "(id) NOT VALID"),
    Case("drop_constraint", "ALTER TABLE loose DROP CONSTRAINT loose_k_check"),
    Case("drop_constraint", "ALTER TABLE events DROP CONSTRAINT events_account_id_fkey"),
    Case("rename_constraint", "ALTER TABLE events RENAME CONSTRAINT events_pkey TO pk2"),
    Case("rename_constraint", "ALTER TABLE loose RENAME CONSTRAINT loose_k_check TO k_ok"),
    Case("rls", "ALTER TABLE events ENABLE ROW LEVEL SECURITY"),
    Case("rls", "ALTER TABLE events DISABLE ROW LEVEL SECURITY"),
    Case("rls", "ALTER TABLE events FORCE ROW LEVEL SECURITY"),
    Case("rls", "ALTER TABLE events NO FORCE ROW LEVEL SECURITY"),
    Case("policy", "CREATE POLICY p ON events USING (true)"),
    Case("policy", "DROP POLICY p ON events", pre="CREATE POLICY p ON events USING (true)"),
    Case("attach_partition", "ALTER TABLE parted ATTACH PARTITION loose FOR VALUES "
                             "FROM (10) TO (30)"),
    Case("detach_partition", "ALTER TABLE parted DETACH PARTITION parted_1"),
    Case("detach_partition.concurrently", "ALTER TABLE parted DETACH PARTITION parted_1 "
                                          "CONCURRENTLY", autocommit=True),
    Case("vacuum", "VACUUM events", autocommit=True),
    Case("vacuum.full", "VACUUM FULL events", autocommit=True),
    Case("analyze", "ANALYZE events"),
    Case("cluster", "CLUSTER events USING events_pkey"),
    Case("insert", "INSERT INTO events (id, account_id, code, n) VALUES (9, 1, 'z', 9)"),
    Case("update_or_delete", "UPDATE events SET n = 5 WHERE id = 1"),
    Case("update_or_delete", "DELETE FROM accounts WHERE id = 99"),
    Case("update_or_delete", "DELETE FROM accounts WHERE id = 2",
         pre="ALTER TABLE events DROP CONSTRAINT events_account_id_fkey; ALTER TABLE events "
             "ADD FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE"),
    Case("update_or_delete", "UPDATE accounts SET id = 3 WHERE id = 2",
         pre="ALTER TABLE events DROP CONSTRAINT events_account_id_fkey; ALTER TABLE events "
             "ADD FOREIGN KEY (account_id) REFERENCES accounts (id) ON UPDATE SET NULL"),
    Case("update_or_delete.all", "UPDATE events SET n = n + 1"),
    Case("update_or_delete.all", "DELETE FROM other"),
    Case("no_table", "CREATE SCHEMA reports"),
    Case("no_table", "DROP SCHEMA reports", pre="CREATE SCHEMA reports"),
    Case("no_table", "CREATE TYPE size AS ENUM ('s', 'm')"),
    Case("no_table", "ALTER TYPE mood RENAME VALUE 'calm' TO 'serene'"),
    Case("no_table", "ALTER TYPE mood RENAME TO feeling"),
    Case("no_table", "DROP TYPE size", pre="CREATE TYPE size AS ENUM ('s', 'm')"),
    Case("no_table", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$"),
    Case("no_table", "GRANT SELECT ON events TO PUBLIC"),
    Case("no_table", "CREATE SEQUENCE seq_a"),
    Case("no_table", "CREATE SEQUENCE seq_b OWNED BY events.n"),
    Case("no_table", "ALTER SEQUENCE seq_a OWNED BY events.n", pre="CREATE SEQUENCE seq_a"),
    Case("no_table", "ALTER SEQUENCE seq_a RENAME TO seq_c", pre="CREATE SEQUENCE seq_a"),
    Case("no_table", "DROP SEQUENCE seq_a", pre="CREATE SEQUENCE seq_a"),
    Case("no_table", "SET lock_timeout = '5s'"),
    Case("no_table", "SELECT set_config('statement_timeout', '60s', true)"),
    Case("drop_cascade", "DROP SCHEMA audit CASCADE"),
    Case("drop_cascade", "DROP TYPE mood CASCADE"),
    Case("alter_enum_add_value", "ALTER TYPE mood ADD VALUE 'tired'"),
    Case("drop_database", "DROP DATABASE IF EXISTS b03lint_no_such_database",
         autocommit=True),
    Case("transaction_control", "SAVEPOINT before_change"),
    Case("create_trigger", "CREATE TRIGGER tr BEFORE UPDATE ON events FOR EACH ROW "
                           "EXECUTE FUNCTION suppress_redundant_updates_trigger()"),
    Case("comment", "COMMENT ON TABLE events IS 'what happened'"),
    Case("alter_table.light", "ALTER TABLE events ALTER COLUMN n SET STATISTICS 200"),
    Case("alter_table.light", "ALTER TABLE events SET (fillfactor = 70)"),
    Case("alter_table.light", "ALTER TABLE events CLUSTER ON events_pkey"),
    Case("alter_table.triggers", "ALTER TABLE events DISABLE TRIGGER tr",
         pre="CREATE TRIGGER tr BEFORE UPDATE ON events FOR EACH ROW "
             "EXECUTE FUNCTION suppress_redundant_updates_trigger()"),
    Case("alter_table.other", "ALTER TABLE events REPLICA IDENTITY FULL"),
    Case("alter_table.other", "ALTER TABLE events ALTER COLUMN code SET STORAGE EXTERNAL"),
    Case("reads", "CREATE VIEW recent AS SELECT * FROM events"),
    Case("reads", "SELECT count(*) FROM events"),
]


def _reset(cluster: PostgresCluster, db: str, pre: str) -> None:
    with cluster.connect(db) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE; DROP SCHEMA IF EXISTS audit CASCADE;"
                     "DROP SCHEMA IF EXISTS reports CASCADE; DROP TYPE IF EXISTS mood CASCADE;"
                     "CREATE SCHEMA public")
        conn.execute(FIXTURE)
        if pre:
            conn.execute(pre)


def _prediction(case: Case) -> tuple[list[Any], Statement]:
    folder = Folder("test_pg_locks")
    for op in read_sql(FIXTURE + ";" + case.pre, path="fixture.sql").operations:
        folder.apply(op)
    result = read_sql(case.sql, path="case.sql")
    assert result.diagnostics == []
    ops = list(result.operations)
    for op in ops:
        if case.autocommit:
            object.__setattr__(op, "autocommit", True)
    return ops, predict(ops, folder, PROVEN_ON)


@pytest.fixture(scope="module")
def server(pg_cluster: PostgresCluster) -> Iterator[tuple[PostgresCluster, str]]:
    name = "locks_model"
    pg_cluster.create_database(name)
    try:
        yield pg_cluster, name
    finally:
        pg_cluster.drop_database(name)


def _trace(cluster: PostgresCluster, db: str, case: Case) -> Verdict:
    _reset(cluster, db, case.pre)
    _ops, prediction = _prediction(case)
    if case.autocommit:
        conn = cluster.connect(db, autocommit=True)
        observer = Observer(lambda: cluster.connect(db, autocommit=False))
        try:
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            observer.start(pid)
            conn.execute(case.sql)
            observed = observer.stop()
        finally:
            observer.close()
            conn.close()
    else:
        conn = cluster.connect(db, autocommit=False)
        try:
            cur = conn.cursor()
            before = snapshot(cur)
            cur.execute(case.sql)
            observed = difference(before, snapshot(cur))
            conn.rollback()
        finally:
            conn.close()
    return compare(prediction, observed)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_model_agrees_with_the_server(server: tuple[PostgresCluster, str],
                                          case: Case) -> None:
    cluster, db = server
    _ops, prediction = _prediction(case)
    assert case.row in [e.row.key for e in prediction.effects if e.row], \
        [e.row.key if e.row else None for e in prediction.effects]
    verdict = _trace(cluster, db, case)
    assert verdict.agrees, [d.message() for d in verdict.disagreements]
    assert verdict.verified or case.row in ("no_table", "transaction_control", "reads",
                                            "drop_database", "alter_enum_add_value",
                                            "create_table") or not prediction.locks()


def test_every_row_on_the_suites_server_has_an_example() -> None:
    covered = {e.row.key for c in CASES for e in _prediction(c)[1].effects if e.row}
    missing = sorted({r.key for r in ROWS if r.proven} - covered)
    assert missing == []


def test_every_operation_kind_is_among_the_examples() -> None:
    kinds = {op.kind for c in CASES for op in read_sql(c.sql + ";" + c.pre,
                                                       path="x.sql").operations}
    # DROP DATABASE of the scratch database itself cannot be traced on it; ``unresolved``
    # is what the model never claims to know (see test_unresolved_is_not_modelled)
    assert sorted(set(OPERATION_TYPES) - kinds - {"unresolved"}) == []


def test_unresolved_is_not_modelled() -> None:
    from b03lint.operations import Location, Unresolved
    from b03lint.pgmodel.locks import effect

    e = effect(Unresolved(loc=Location("x.py", 1), reason="a helper", table="events"))
    assert not e.modelled and e.summary() == "not modelled"
