"""The replay does what PostgreSQL does: each scenario's statements run one at a time on the
suite's real server and go, read statically, through the replay's fold. Three things must
agree:

1. the statements PostgreSQL refuses are exactly those the replay reports as conflicts
   (``C013``): dropping what other objects depend on without ``CASCADE``, dropping the index
   a constraint owns, ...;
2. the introspected catalog and the replayed schema have no difference (what
   ``M001`` would report): renames reached every reference, drops took their dependents;
3. ``schema_to_sql`` of the replayed schema loads into an empty schema without an error
   and gives the same catalog again.

``b03lint.schema.depends`` cites this file as the proof of its model.
"""

from __future__ import annotations

from typing import Any

import pytest
from pgcluster import PostgresCluster

from b03lint.live.compare import two_way
from b03lint.live.introspect import introspect
from b03lint.readers.sql import read_sql, split_statements
from b03lint.schema.emit import schema_to_sql
from b03lint.schema.replay import Replay, fold

SCENARIOS: dict[str, list[str]] = {
    "drop column takes indexes and constraints that use it": [
        "CREATE TABLE t (a int, b int, c int, CONSTRAINT u UNIQUE (a, b), "
        "CONSTRAINT ck CHECK (a > b), CONSTRAINT ck2 CHECK (c > 0), "
        "CONSTRAINT ck3 CHECK (b IN (1, 2)))",
        "CREATE INDEX i1 ON t (a, c)",
        "CREATE INDEX i2 ON t (c) INCLUDE (b)",
        "CREATE INDEX i3 ON t ((a + 1)) WHERE b > 0",
        "CREATE INDEX i4 ON t (lower(b::text))",
        "ALTER TABLE t DROP COLUMN b",
    ],
    "a constraint's index name stays taken through renames and is freed by drops": [
        "CREATE TABLE a (id int, k int, CONSTRAINT a_key UNIQUE (id))",
        "CREATE INDEX a_key ON a (k)",
        "ALTER TABLE a RENAME TO b",
        "CREATE INDEX a_key ON b (k)",
        "ALTER TABLE b RENAME CONSTRAINT a_key TO b_key",
        "CREATE INDEX a_key ON b (k)",
        "CREATE INDEX b_key ON b (k)",
        "CREATE TABLE c (id int PRIMARY KEY)",
        "ALTER INDEX c_pkey RENAME TO c_pk",
        "CREATE INDEX c_pkey ON c (id)",
        "CREATE INDEX c_pk ON c (id)",
        "ALTER TABLE b DROP CONSTRAINT b_key",
        "CREATE INDEX b_key ON b (k)",
        "DROP TABLE c",
        "CREATE INDEX c_pk ON b (id)",
    ],
    "drop column referenced by another table needs CASCADE": [
        "CREATE TABLE p (id int PRIMARY KEY, k int, CONSTRAINT pk2 UNIQUE (id, k))",
        "CREATE TABLE ch (id int, pid int REFERENCES p (id), k int, "
        "FOREIGN KEY (pid, k) REFERENCES p (id, k))",
        "ALTER TABLE p DROP COLUMN k",
        "ALTER TABLE p DROP COLUMN k CASCADE",
    ],
    "a self-reference blocks too": [
        "CREATE TABLE t (id int PRIMARY KEY, parent_id int REFERENCES t (id))",
        "ALTER TABLE t DROP COLUMN id",
        "ALTER TABLE t DROP COLUMN parent_id",
    ],
    "policies and generated columns that use a column": [
        "CREATE TABLE t (a int, b int, g int GENERATED ALWAYS AS (a * 2) STORED)",
        "ALTER TABLE t ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY pol ON t USING (b > 0)",
        "ALTER TABLE t DROP COLUMN b",
        "ALTER TABLE t DROP COLUMN a",
        "ALTER TABLE t DROP COLUMN a CASCADE",
        "ALTER TABLE t DROP COLUMN b CASCADE",
    ],
    "a serial column's sequence goes with it": [
        "CREATE TABLE t (id serial, a int)",
        "CREATE TABLE u (x int DEFAULT nextval('t_id_seq'))",
        "ALTER TABLE t DROP COLUMN id",
        "ALTER TABLE u DROP COLUMN x",
        "ALTER TABLE t DROP COLUMN id",
        "CREATE TABLE v (id serial PRIMARY KEY)",
        "DROP TABLE v",
    ],
    "renames reach every reference": [
        "CREATE TABLE p (id serial PRIMARY KEY, code text)",
        "CREATE TABLE c (pid int REFERENCES p, code text, n int, "
        "g int GENERATED ALWAYS AS (n + 1) STORED, CONSTRAINT ck CHECK (n > 0 AND code <> 'x'))",
        "CREATE INDEX ix ON c (lower(code)) WHERE n > 0",
        "CREATE INDEX ix2 ON c (n) INCLUDE (code)",
        "ALTER TABLE c ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY pol ON c USING (n > 0) WITH CHECK (code = 'y')",
        "ALTER TABLE p RENAME TO p2",
        "ALTER TABLE p2 RENAME COLUMN id TO ident",
        "ALTER TABLE c RENAME COLUMN n TO num",
        "ALTER TABLE c RENAME COLUMN code TO label",
        "ALTER TABLE c RENAME TO c2",
        "ALTER TABLE c2 RENAME COLUMN num TO label",
    ],
    "index renames, constraint indexes": [
        "CREATE TABLE t (a int PRIMARY KEY, b int, CONSTRAINT uq UNIQUE (b))",
        "CREATE INDEX ix ON t (b)",
        "ALTER INDEX ix RENAME TO ix2",
        "ALTER INDEX t_pkey RENAME TO tp",
        "ALTER INDEX ix2 RENAME TO uq",
        "DROP INDEX uq",
        "DROP INDEX ix2",
        "ALTER TABLE t RENAME CONSTRAINT uq TO uq2",
        "ALTER TABLE t RENAME CONSTRAINT nothing TO x",
    ],
    "USING INDEX turns an index into a constraint": [
        "CREATE TABLE t (a int NOT NULL, b int)",
        "CREATE UNIQUE INDEX ix ON t (a, b)",
        "ALTER TABLE t ADD CONSTRAINT named_u UNIQUE USING INDEX ix",
        "CREATE UNIQUE INDEX ix2 ON t (b)",
        "ALTER TABLE t ADD UNIQUE USING INDEX ix2",
        "CREATE UNIQUE INDEX ix3 ON t (a)",
        "ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY USING INDEX ix3",
        "CREATE INDEX ix4 ON t (b)",
        "ALTER TABLE t ADD CONSTRAINT u4 UNIQUE USING INDEX ix4",
        "ALTER TABLE t DROP CONSTRAINT named_u",
    ],
    "dropping what a foreign key is bound to": [
        "CREATE TABLE p (id int, code text, CONSTRAINT pk PRIMARY KEY (id), "
        "CONSTRAINT uq UNIQUE (code))",
        "CREATE TABLE c (pid int REFERENCES p, code text REFERENCES p (code))",
        "CREATE TABLE p3 (k text)",
        "CREATE UNIQUE INDEX p3_k ON p3 (k)",
        "CREATE TABLE c3 (k text REFERENCES p3 (k))",
        "ALTER TABLE p DROP CONSTRAINT pk",
        "ALTER TABLE p DROP CONSTRAINT uq",
        "DROP INDEX p3_k",
        "DROP TABLE p",
        "ALTER TABLE p DROP CONSTRAINT pk CASCADE",
        "DROP INDEX p3_k CASCADE",
        "DROP TABLE p CASCADE",
    ],
    "NOT VALID counts in ALTER TABLE only": [
        "CREATE TABLE t (a int PRIMARY KEY, b int, CONSTRAINT ck0 CHECK (a > 0) NOT VALID)",
        "ALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0) NOT VALID",
        "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (b) REFERENCES t (a) NOT VALID",
        "ALTER TABLE t ADD CONSTRAINT ck2 CHECK (b > 0) NOT VALID",
        "ALTER TABLE t VALIDATE CONSTRAINT ck",
        "ALTER TABLE t VALIDATE CONSTRAINT missing",
    ],
    "sequences: owned, renamed, dropped": [
        "CREATE TABLE t (a int PRIMARY KEY, b int)",
        "CREATE SEQUENCE s OWNED BY t.b",
        "CREATE SEQUENCE s2",
        "CREATE SEQUENCE IF NOT EXISTS s2",
        "CREATE SEQUENCE s2",
        "ALTER SEQUENCE s2 OWNED BY t.a",
        "ALTER TABLE t ALTER COLUMN a SET DEFAULT nextval('s2')",
        "ALTER TABLE t DROP COLUMN b",
        "ALTER SEQUENCE s2 RENAME TO s3",
        "CREATE SEQUENCE free",
        "CREATE TABLE u (n int DEFAULT nextval('free'), m int)",
        "DROP SEQUENCE free",
        "ALTER SEQUENCE free OWNED BY u.m",
        "ALTER TABLE u DROP COLUMN m CASCADE",
        "CREATE SEQUENCE gone",
        "DROP SEQUENCE gone",
        "DROP SEQUENCE IF EXISTS gone",
    ],
    "enum types in use": [
        "CREATE TYPE e AS ENUM ('a', 'b')",
        "CREATE TABLE t (a int, x e DEFAULT 'a')",
        "DROP TYPE e",
        "DROP TYPE e CASCADE",
    ],
    "generated names are PostgreSQL's, shortened as it shortens them": [
        "CREATE TABLE chat_message_with_a_rather_long_name (session_identifier int, "
        "message_number_in_the_session int, edit_number_of_the_message int, "
        "PRIMARY KEY (session_identifier, message_number_in_the_session, "
        "edit_number_of_the_message), UNIQUE (message_number_in_the_session, "
        "edit_number_of_the_message, session_identifier))",
        "CREATE TABLE chat_feedback (chat_message_chat_session_id int, "
        "chat_message_message_number int, chat_message_edit_number int, "
        "FOREIGN KEY (chat_message_chat_session_id, chat_message_message_number, "
        "chat_message_edit_number) REFERENCES chat_message_with_a_rather_long_name)",
        "CREATE INDEX ON chat_feedback (chat_message_chat_session_id, "
        "chat_message_message_number, chat_message_edit_number)",
        "ALTER TABLE chat_feedback DROP CONSTRAINT "
        "chat_feedback_chat_message_chat_session_id_chat_message_me_fkey",
        "DROP INDEX chat_feedback_chat_message_chat_session_id_chat_message_mes_idx",
        "ALTER TABLE chat_message_with_a_rather_long_name DROP CONSTRAINT "
        "chat_message_with_a_rather_long_name_pkey",
        "ALTER TABLE chat_message_with_a_rather_long_name DROP CONSTRAINT "
        "chat_message_with_a_rather_lo_message_number_in_the_session_key",
    ],
    "tables": [
        "CREATE TABLE t (a int)",
        "CREATE TABLE t (a int)",
        "CREATE TABLE IF NOT EXISTS t (b int)",
        "CREATE TABLE u (b int)",
        "ALTER TABLE t RENAME TO u",
        "ALTER TABLE t ADD COLUMN a int",
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS a int",
        "ALTER TABLE t RENAME COLUMN missing TO z",
        "DROP TABLE missing",
        "DROP TABLE IF EXISTS missing",
    ],
}


#: scenarios PostgreSQL runs without refusing anything (the names they drop are the ones
#: PostgreSQL generated, so a wrong guess by the replay shows as a refusal there too)
CLEAN = {"generated names are PostgreSQL's, shortened as it shortens them"}


@pytest.fixture(scope="module")
def scratch(pg_cluster: PostgresCluster) -> Any:
    name = "replay_scenarios"
    pg_cluster.create_database(name)
    with pg_cluster.connect(name) as conn:
        yield conn
    pg_cluster.drop_database(name)


def _reset(conn: Any) -> None:
    conn.execute("DROP SCHEMA public CASCADE")
    conn.execute("CREATE SCHEMA public")


def _run(conn: Any, statements: list[str]) -> list[int]:
    """Run each statement; the indexes of those PostgreSQL refused."""
    import psycopg

    refused = []
    for i, statement in enumerate(statements):
        try:
            conn.execute(statement)
        except psycopg.Error:
            refused.append(i)
    return refused


def _replay(statements: list[str]) -> tuple[Replay, list[int]]:
    text = "".join(s + ";\n" for s in statements)
    result = read_sql(text, path="scenario.sql")
    assert not result.diagnostics, result.diagnostics
    replay = fold([(None, result.operations)], "scenario")
    # statement i is on line i + 1
    conflicts = sorted({c.loc.line - 1 for c in replay.conflicts})
    return replay, conflicts


def _differences(conn: Any, replay: Replay) -> list[str]:
    live = introspect(conn, "scenario database").schema
    return [d.message for d, _ in two_way(live, replay.schema)]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_replay_is_what_postgresql_does(scratch: Any, name: str) -> None:
    statements = SCENARIOS[name]
    _reset(scratch)
    refused = _run(scratch, statements)
    assert name not in CLEAN or refused == [], [statements[i] for i in refused]
    replay, conflicts = _replay(statements)
    assert conflicts == refused, (
        "refused by PostgreSQL: " + "; ".join(statements[i] for i in refused)
        + " | conflicts: " + "; ".join(f"{c.loc.line}: {c.message}" for c in replay.conflicts))
    assert _differences(scratch, replay) == []
    # the replayed schema as plain DDL builds the same catalog
    _reset(scratch)
    sql = schema_to_sql(replay.schema)
    spans = split_statements(sql)
    failed = _run(scratch, [sql[s:e] for s, e in spans])
    assert failed == [], [sql[spans[i][0]:spans[i][1]] for i in failed]
    assert _differences(scratch, replay) == []



def test_type_renames_reach_columns_and_defaults(scratch: Any) -> None:
    """``ALTER TYPE ... RENAME TO`` and ``RENAME VALUE``: the columns take the new type name,
    a default holding the renamed value prints with the new label and type. (The operations
    are built here; their SQL reading is the reader's and is tested with it.)"""
    from b03lint.operations import AlterEnumRenameValue, Location, RenameType

    before = ["CREATE TYPE e AS ENUM ('a', 'b')",
              "CREATE TABLE t (x e DEFAULT 'a', y e[], z e DEFAULT 'b'::e)"]
    renames = ["ALTER TYPE e RENAME TO f", "ALTER TYPE f RENAME VALUE 'a' TO 'z'"]
    _reset(scratch)
    assert _run(scratch, before + renames) == []
    _, conflicts = _replay(before)
    loc = Location("scenario.sql", 3)
    folded = fold([(None, [*read_sql("".join(s + ";\n" for s in before),
                                     path="scenario.sql").operations,
                           RenameType(loc=loc, name="e", new_name="f"),
                           AlterEnumRenameValue(loc=loc, name="f", value="a",
                                                new_value="z")])], "scenario")
    assert conflicts == [] and folded.conflicts == []
    t = folded.schema.tables["t"]
    assert (t.columns["x"].type, t.columns["y"].type) == ("f", "f[]")
    assert folded.schema.enums == {"f": ("z", "b")}
    assert _differences(scratch, folded) == []
    _reset(scratch)
    sql = schema_to_sql(folded.schema)
    assert _run(scratch, [sql[s:e] for s, e in split_statements(sql)]) == []
    assert _differences(scratch, folded) == []
    live = introspect(scratch, "again").schema.tables["t"].columns
    assert (live["x"].default, live["z"].default) == ("'z'", "'b'")
