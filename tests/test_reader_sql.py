"""Tests of the SQL reader (the package b03lint/readers/sql/): real pglast, real PostgreSQL where the
catalog's own spelling is the point."""

from __future__ import annotations

import dataclasses
import textwrap
from typing import Any

import pytest
from ci_skip import skip_outside_ci
from hypothesis import given, settings
from hypothesis import strategies as st

from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterColumnDefault,
    AlterColumnNullable,
    AlterColumnType,
    AlterEnumAddValue,
    AlterEnumRenameValue,
    AttachPartition,
    Cluster,
    ColumnDef,
    ConstraintDef,
    CreateEnumType,
    CreateIndex,
    CreatePolicy,
    CreateSchema,
    CreateTable,
    DataChange,
    DetachPartition,
    DisableRLS,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropPolicy,
    DropSchema,
    DropTable,
    DropType,
    EnableRLS,
    ForceRLS,
    ForeignKeyRef,
    IndexElement,
    Location,
    LockTable,
    NoForceRLS,
    Operation,
    OtherStatement,
    Reindex,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameTable,
    RenameType,
    SetParameter,
    TransactionControl,
    Truncate,
    Unresolved,
    Vacuum,
    ValidateConstraint,
)
from b03lint.readers.sql import (
    CheckInfo,
    SqlResult,
    analyze_check,
    normalize_default,
    normalize_expression,
    parse_index_elements,
    read_sql,
    split_statements,
)
from b03lint.readers.sql import parse as sqlparse

PATH = "m.sql"


def read(text: str, **kw: Any) -> SqlResult:
    return read_sql(textwrap.dedent(text).lstrip("\n"), path=PATH, **kw)


def ops(text: str, **kw: Any) -> list[Operation]:
    result = read(text, **kw)
    assert result.diagnostics == []
    return result.operations


def loc(line: int, col: int, end_line: int, end_col: int) -> Location:
    return Location(PATH, line, col, end_line, end_col)


def at(text: str, snippet: str, nth: int = 0) -> Location:
    """The location of the ``nth`` occurrence of ``snippet`` in (dedented) ``text``: an
    oracle independent of the reader's lexer."""
    text = textwrap.dedent(text).lstrip("\n")
    start = -1
    for _ in range(nth + 1):
        start = text.index(snippet, start + 1)
    end = start + len(snippet)

    def line_col(offset: int) -> tuple[int, int]:
        return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1)

    return Location(PATH, *line_col(start), *line_col(end))


S: dict[str, Any] = {"phase": "upgrade", "source": "sql", "via": "sql"}


# --------------------------------------------------------------------------- CREATE TABLE


def test_create_table_columns_and_constraints() -> None:
    text = """
        CREATE TABLE IF NOT EXISTS public.dead_events (
            id bigserial PRIMARY KEY,
            tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            status VARCHAR(50) NOT NULL DEFAULT 'pending'
                CONSTRAINT ck_status CHECK (status IN ('pending', 'resolved')),
            score numeric(5, 4) CHECK (score >= 0),
            tags text[] UNIQUE,
            seq int GENERATED ALWAYS AS IDENTITY,
            created_at timestamp with time zone DEFAULT NOW(),
            span interval day to second,
            CONSTRAINT uq_tenant_status UNIQUE (tenant_id, status),
            FOREIGN KEY (tenant_id, seq) REFERENCES audit.other (a, b)
                ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED,
            CHECK (score < 1) NOT VALID,
            EXCLUDE USING gist (tenant_id WITH =)
        );
    """
    (op,) = ops(text)
    fk_tenants = ForeignKeyRef(table="tenants", columns=("id",), on_delete="CASCADE")
    assert op == CreateTable(
        loc=loc(1, 0, 16, 1), **S,
        table="dead_events", schema="public", if_not_exists=True,
        columns=(
            ColumnDef(name="id", type="bigint", nullable=False,
                      default="nextval('dead_events_id_seq'::regclass)", primary_key=True),
            ColumnDef(name="tenant_id", type="uuid", nullable=False, references=fk_tenants),
            ColumnDef(name="status", type="varchar(50)", nullable=False, default="'pending'",
                      check="status IN ('pending', 'resolved')"),
            ColumnDef(name="score", type="numeric(5,4)", check="score >= 0"),
            ColumnDef(name="tags", type="text[]", unique=True),
            ColumnDef(name="seq", type="integer", nullable=False, identity=True),
            ColumnDef(name="created_at", type="timestamptz", default="now()"),
            ColumnDef(name="span", type="interval day to second"),
        ),
        constraints=(
            ConstraintDef(kind="primary_key", name=None, columns=("id",)),
            ConstraintDef(kind="foreign_key", name=None, columns=("tenant_id",),
                          references=fk_tenants),
            ConstraintDef(kind="check", name="ck_status", columns=("status",),
                          expression="status IN ('pending', 'resolved')",
                          enum_column="status", enum_values=("pending", "resolved")),
            ConstraintDef(kind="check", name=None, columns=("score",),
                          expression="score >= 0"),
            ConstraintDef(kind="unique", name=None, columns=("tags",)),
            ConstraintDef(kind="unique", name="uq_tenant_status", columns=("tenant_id", "status")),
            ConstraintDef(kind="foreign_key", name=None, columns=("tenant_id", "seq"),
                          references=ForeignKeyRef(table="audit.other", columns=("a", "b"),
                                                   on_update="SET NULL"),
                          deferrable=True),
            ConstraintDef(kind="check", name=None, expression="score < 1", not_valid=True),
            ConstraintDef(kind="exclude", name=None, columns=("tenant_id",),
                          expression="USING gist (tenant_id WITH =)"),
        ),
    )


def test_table_level_primary_key_marks_columns_and_column_attributes_apply() -> None:
    (op,) = ops("""
        CREATE TABLE t (
            a int, b int NULL, c int REFERENCES u DEFERRABLE,
            CONSTRAINT t_pk PRIMARY KEY (a, b));
    """)
    assert isinstance(op, CreateTable)
    assert [(c.name, c.primary_key, c.nullable) for c in op.columns] == [
        ("a", True, False), ("b", True, False), ("c", False, True)]
    assert op.constraints == (
        ConstraintDef(kind="foreign_key", name=None, columns=("c",),
                      references=ForeignKeyRef(table="u", columns=()), deferrable=True),
        ConstraintDef(kind="primary_key", name="t_pk", columns=("a", "b")),
    )
    assert op.schema is None and op.table == "t"


def test_serial_sequence_name_is_truncated_like_postgres() -> None:
    table, column = "t" * 40, "c" * 40
    (op,) = ops(f"CREATE TABLE {table} ({column} serial);")
    assert isinstance(op, CreateTable)
    # ChooseRelationName: 63 - len('seq') - 2 = 58 characters, taken from the longer name
    assert op.columns[0].default == f"nextval('{'t' * 29}_{'c' * 29}_seq'::regclass)"
    (op,) = ops("CREATE TABLE audit.t (id smallserial);")
    assert isinstance(op, CreateTable)
    assert op.columns[0] == ColumnDef(name="id", type="smallint", nullable=False,
                                      default="nextval('audit.t_id_seq'::regclass)")


def test_create_table_like_and_partition_are_unresolved_not_dropped() -> None:
    result = ops("CREATE TABLE c (LIKE t INCLUDING ALL);\nCREATE TABLE p1 PARTITION OF p "
                 "FOR VALUES IN (1);")
    assert [type(o).__name__ for o in result] == [
        "CreateTable", "Unresolved", "CreateTable", "Unresolved"]
    assert isinstance(result[1], Unresolved) and result[1].table == "c"
    assert isinstance(result[3], Unresolved) and "PARTITION OF p" in result[3].snippet


# --------------------------------------------------------------------------- ALTER TABLE


def test_alter_table_subcommands_located_at_their_own_text() -> None:
    text = """
        ALTER TABLE ONLY public.t
            ADD COLUMN IF NOT EXISTS x varchar(10) NOT NULL DEFAULT 'a',  -- CI:DESTRUCTIVE_OK - See ADR-003
            DROP COLUMN IF EXISTS y CASCADE,
            ALTER COLUMN z TYPE numeric(5, 2) USING z::numeric,
            ALTER z SET NOT NULL, ALTER z DROP NOT NULL,
            ALTER z SET DEFAULT now(), ALTER z DROP DEFAULT,
            ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES b (c) NOT VALID,
            DROP CONSTRAINT IF EXISTS old CASCADE,
            VALIDATE CONSTRAINT fk,
            ENABLE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY,
            FORCE ROW LEVEL SECURITY, NO FORCE ROW LEVEL SECURITY,
            OWNER TO app;
    """
    result = read(text)
    assert result.diagnostics == []
    assert result.comments == {2: "-- CI:DESTRUCTIVE_OK - See ADR-003"}
    t: dict[str, Any] = {"table": "t", "schema": "public", **S}
    assert result.operations == [
        AddColumn(loc=at(text, "ADD COLUMN IF NOT EXISTS x varchar(10) NOT NULL DEFAULT 'a'"),
                  **t, if_not_exists=True,
                  column=ColumnDef(name="x", type="varchar(10)", nullable=False,
                                   default="'a'")),
        DropColumn(loc=at(text, "DROP COLUMN IF EXISTS y CASCADE"), **t, column="y",
                   if_exists=True, cascade=True),
        AlterColumnType(loc=at(text, "ALTER COLUMN z TYPE numeric(5, 2) USING z::numeric"), **t,
                        column="z", new_type="numeric(5,2)", using="z::numeric"),
        AlterColumnNullable(loc=at(text, "ALTER z SET NOT NULL"), **t, column="z",
                            nullable=False),
        AlterColumnNullable(loc=at(text, "ALTER z DROP NOT NULL"), **t, column="z",
                            nullable=True),
        AlterColumnDefault(loc=at(text, "ALTER z SET DEFAULT now()"), **t, column="z",
                           default="now()"),
        AlterColumnDefault(loc=at(text, "ALTER z DROP DEFAULT"), **t, column="z", default=None),
        AddConstraint(loc=at(text, "ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES b (c) NOT VALID"),
                      **t, constraint=ConstraintDef(
                          kind="foreign_key", name="fk", columns=("a",),
                          references=ForeignKeyRef(table="b", columns=("c",)), not_valid=True)),
        DropConstraint(loc=at(text, "DROP CONSTRAINT IF EXISTS old CASCADE"), **t, name="old",
                       if_exists=True, cascade=True),
        ValidateConstraint(loc=at(text, "VALIDATE CONSTRAINT fk"), **t, name="fk"),
        EnableRLS(loc=at(text, "ENABLE ROW LEVEL SECURITY"), **t),
        DisableRLS(loc=at(text, "DISABLE ROW LEVEL SECURITY"), **t),
        ForceRLS(loc=at(text, "FORCE ROW LEVEL SECURITY"), **t),
        NoForceRLS(loc=at(text, "NO FORCE ROW LEVEL SECURITY"), **t),
        OtherStatement(loc=at(text, "OWNER TO app"), **S, statement="AlterTableStmt(AT_ChangeOwner)",
                       table="t"),
    ]


def test_alter_table_add_check_constraint_in_canonical_form() -> None:
    text = """
        ALTER TABLE dead_events
            ADD CONSTRAINT ck_dead_events_remediation_status_valid
            CHECK (remediation_status IN ('pending', 'in_progress', 'resolved', 'abandoned'));
    """
    (op,) = ops(text)
    first, last = at(text, "ADD CONSTRAINT"), at(text, "'abandoned'))")
    assert op == AddConstraint(
        loc=loc(first.line, first.column, last.line, last.end_column or 0), **S, table="dead_events", schema=None,
        constraint=ConstraintDef(
            kind="check", name="ck_dead_events_remediation_status_valid",
            expression="remediation_status IN ('pending', 'in_progress', 'resolved', 'abandoned')",
            enum_column="remediation_status",
            enum_values=("pending", "in_progress", "resolved", "abandoned"),
        ),
    )


def test_add_column_with_column_constraints_also_emits_add_constraint() -> None:
    result = ops("ALTER TABLE t ADD COLUMN s text CONSTRAINT s_ck CHECK (s IN ('a', 'b')) "
                 "UNIQUE;")
    assert [type(o).__name__ for o in result] == ["AddColumn", "AddConstraint", "AddConstraint"]
    assert isinstance(result[0], AddColumn)
    assert result[0].column == ColumnDef(name="s", type="text", unique=True,
                                         check="s IN ('a', 'b')")
    assert isinstance(result[1], AddConstraint)
    assert result[1].constraint == ConstraintDef(
        kind="check", name="s_ck", columns=("s",), expression="s IN ('a', 'b')",
        enum_column="s", enum_values=("a", "b"))
    assert all(o.loc == result[0].loc for o in result)


def test_alter_table_commas_inside_brackets_do_not_split_subcommands() -> None:
    text = "ALTER TABLE t ALTER a SET DEFAULT ARRAY[1, 2], ADD COLUMN b int;"
    result = ops(text)
    assert [o.loc for o in result] == [
        at(text, "ALTER a SET DEFAULT ARRAY[1, 2]"), at(text, "ADD COLUMN b int")]
    assert isinstance(result[0], AlterColumnDefault) and result[0].default == "ARRAY[1, 2]"


def test_alter_other_relation_kinds_are_other_statements() -> None:
    result = ops("ALTER INDEX ix SET (fillfactor = 50);\nALTER TABLE t ALTER a SET STATISTICS 5;")
    assert result == [
        OtherStatement(loc=loc(1, 0, 1, 36), **S, statement="AlterTableStmt(OBJECT_INDEX)"),
        OtherStatement(loc=loc(2, 14, 2, 38), **S, statement="AlterTableStmt(AT_SetStatistics)",
                       table="t"),
    ]


# --------------------------------------------------------------------------- CREATE INDEX


def test_create_index_shape() -> None:
    (op,) = ops("""
        CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_x ON public.events USING BTREE (
            tenant_id, lower(email) text_pattern_ops, created_at DESC,
            a DESC NULLS LAST, b NULLS FIRST, c ASC NULLS LAST, d DESC NULLS FIRST
        ) INCLUDE (amount, score) WHERE deleted_at IS NULL;
    """)
    assert op == CreateIndex(
        loc=loc(1, 0, 4, 50), **S, name="idx_x", table="events", schema="public",
        elements=(
            IndexElement("tenant_id"),
            IndexElement("lower(email)", is_expression=True, opclass="text_pattern_ops"),
            IndexElement("created_at", descending=True),
            IndexElement("a", descending=True, nulls="last"),
            IndexElement("b", nulls="first"),
            IndexElement("c"),
            IndexElement("d", descending=True),
        ),
        unique=True, include=("amount", "score"), where="deleted_at IS NULL",
        method="btree", concurrently=True, if_not_exists=True,
    )


def test_create_index_defaults_and_canonical_composite_index() -> None:
    text = """
        CREATE INDEX idx_allocations_channel_performance
            ON attribution_allocations (tenant_id, channel, created_at DESC)
            INCLUDE (allocated_revenue_cents, confidence_score);
    """
    (op,) = ops(text)
    assert op == CreateIndex(
        loc=loc(1, 0, 3, at(text, "confidence_score)").end_column or 0), **S, name="idx_allocations_channel_performance",
        table="attribution_allocations",
        elements=(IndexElement("tenant_id"), IndexElement("channel"),
                  IndexElement("created_at", descending=True)),
        include=("allocated_revenue_cents", "confidence_score"),
    )
    (op,) = ops("CREATE INDEX ON t USING gin (doc jsonb_path_ops);")
    assert isinstance(op, CreateIndex)
    assert (op.name, op.method, op.elements) == (
        None, "gin", (IndexElement("doc", opclass="jsonb_path_ops"),))


# --------------------------------------------------------------------------- DROP / RENAME


def test_drop_statements_one_operation_per_object() -> None:
    result = ops("""
        DROP TABLE IF EXISTS public.a, b CASCADE;
        DROP INDEX CONCURRENTLY IF EXISTS s.ix;
        DROP SCHEMA IF EXISTS audit CASCADE;
        DROP TYPE IF EXISTS public.mood, feeling;
        DROP POLICY IF EXISTS p ON public.t;
        DROP FUNCTION f(int);
        DROP TRIGGER trg ON s.t;
        DROP EXTENSION pgcrypto;
        DROP VIEW v;
    """)
    assert result == [
        DropTable(loc=loc(1, 0, 1, 40), **S, table="a", schema="public", if_exists=True,
                  cascade=True),
        DropTable(loc=loc(1, 0, 1, 40), **S, table="b", if_exists=True, cascade=True),
        DropIndex(loc=loc(2, 0, 2, 38), **S, name="ix", schema="s", concurrently=True,
                  if_exists=True),
        DropSchema(loc=loc(3, 0, 3, 35), **S, name="audit", if_exists=True, cascade=True),
        DropType(loc=loc(4, 0, 4, 40), **S, name="mood", schema="public", if_exists=True),
        DropType(loc=loc(4, 0, 4, 40), **S, name="feeling", if_exists=True),
        DropPolicy(loc=loc(5, 0, 5, 35), **S, name="p", table="t", schema="public",
                   if_exists=True),
        OtherStatement(loc=loc(6, 0, 6, 20), **S, statement="DropStmt(OBJECT_FUNCTION)"),
        OtherStatement(loc=loc(7, 0, 7, 23), **S, statement="DropStmt(OBJECT_TRIGGER)",
                       table="s.t"),
        OtherStatement(loc=loc(8, 0, 8, 23), **S, statement="DropStmt(OBJECT_EXTENSION)"),
        OtherStatement(loc=loc(9, 0, 9, 11), **S, statement="DropStmt(OBJECT_VIEW)"),
    ]


def test_rename_statements() -> None:
    result = ops("""
        ALTER TABLE t RENAME TO t2;
        ALTER TABLE public.t RENAME COLUMN a TO b;
        ALTER INDEX ix RENAME TO ix2;
        ALTER TABLE t RENAME CONSTRAINT c TO d;
        ALTER TYPE mood RENAME TO feeling;
    """)
    assert result == [
        RenameTable(loc=loc(1, 0, 1, 26), **S, table="t", new_name="t2"),
        RenameColumn(loc=loc(2, 0, 2, 41), **S, table="t", schema="public", column="a",
                     new_name="b"),
        RenameIndex(loc=loc(3, 0, 3, 28), **S, name="ix", new_name="ix2"),
        RenameConstraint(loc=loc(4, 0, 4, 38), **S, table="t", name="c", new_name="d"),
        RenameType(loc=loc(5, 0, 5, 33), **S, name="mood", new_name="feeling"),
    ]


# --------------------------------------------------------------------------- data, policies, types


def test_truncate_and_data_changes() -> None:
    result = ops("""
        TRUNCATE a, audit.b CASCADE;
        TRUNCATE public.c;
        DELETE FROM t;
        DELETE FROM public.t WHERE id = 1;
        UPDATE audit.t SET a = 1;
        UPDATE t SET a = 1 WHERE b;
        INSERT INTO t (a) VALUES (1);
    """)
    assert result == [
        Truncate(loc=loc(1, 0, 1, 27), **S, tables=("a", "audit.b"), cascade=True),
        Truncate(loc=loc(2, 0, 2, 17), **S, tables=("c",)),
        DataChange(loc=loc(3, 0, 3, 13), **S, verb="delete", table="t", has_where=False),
        DataChange(loc=loc(4, 0, 4, 33), **S, verb="delete", table="t", has_where=True),
        DataChange(loc=loc(5, 0, 5, 24), **S, verb="update", table="audit.t", has_where=False),
        DataChange(loc=loc(6, 0, 6, 26), **S, verb="update", table="t", has_where=True),
        DataChange(loc=loc(7, 0, 7, 28), **S, verb="insert", table="t", has_where=True),
    ]


def test_create_policy() -> None:
    result = ops("""
        CREATE POLICY tenant_isolation ON public.t AS RESTRICTIVE FOR SELECT
            TO app_user, PUBLIC
            USING (tenant_id = current_setting('app.current_tenant_id')::UUID)
            WITH CHECK (TRUE);
        CREATE POLICY p2 ON t USING (true);
    """)
    assert result == [
        CreatePolicy(loc=loc(1, 0, 4, 21), **S, name="tenant_isolation", table="t",
                     schema="public", command="select", permissive=False,
                     roles=("app_user", "public"),
                     using="tenant_id = current_setting('app.current_tenant_id')::uuid",
                     with_check="true"),
        CreatePolicy(loc=loc(5, 0, 5, 34), **S, name="p2", table="t", using="true"),
    ]


def test_enum_types_and_schema() -> None:
    result = ops("""
        CREATE TYPE public.mood AS ENUM ('sad', 'ok');
        ALTER TYPE mood ADD VALUE IF NOT EXISTS 'happy' AFTER 'ok';
        ALTER TYPE s.mood ADD VALUE 'meh' BEFORE 'ok';
        ALTER TYPE mood ADD VALUE 'last';
        ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';
        CREATE SCHEMA IF NOT EXISTS audit;
        CREATE SCHEMA other;
    """)
    assert result == [
        CreateEnumType(loc=loc(1, 0, 1, 45), **S, name="mood", schema="public",
                       values=("sad", "ok")),
        AlterEnumAddValue(loc=loc(2, 0, 2, 58), **S, name="mood", value="happy", after="ok",
                          if_not_exists=True),
        AlterEnumAddValue(loc=loc(3, 0, 3, 45), **S, name="mood", schema="s", value="meh",
                          before="ok"),
        AlterEnumAddValue(loc=loc(4, 0, 4, 32), **S, name="mood", value="last"),
        AlterEnumRenameValue(loc=loc(5, 0, 5, 44), **S, name="mood", value="sad",
                             new_value="blue"),
        CreateSchema(loc=loc(6, 0, 6, 33), **S, name="audit", if_not_exists=True),
        CreateSchema(loc=loc(7, 0, 7, 19), **S, name="other"),
    ]


def test_create_schema_with_elements() -> None:
    result = ops("CREATE SCHEMA audit CREATE TABLE log (id int) CREATE INDEX ON log (id);")
    assert [type(o).__name__ for o in result] == ["CreateSchema", "CreateTable", "CreateIndex"]
    assert all(o.loc == loc(1, 0, 1, 70) for o in result)


@pytest.mark.parametrize(
    ("statement", "kind", "table"),
    [
        ("CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
         "CreateFunctionStmt", None),
        ("CREATE TRIGGER trg BEFORE UPDATE ON public.t FOR EACH ROW EXECUTE FUNCTION f()",
         "CreateTrigStmt", "t"),
        ("CREATE EXTENSION IF NOT EXISTS pgcrypto", "CreateExtensionStmt", None),
        ("GRANT SELECT ON t TO app", "GrantStmt", None),
        ("COMMENT ON TABLE t IS 'x'", "CommentStmt", None),
        ("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "VariableSetStmt", None),
        ("SELECT 1", "SelectStmt", None),
        ("CREATE VIEW v AS SELECT 1", "ViewStmt", None),
        ("ALTER SEQUENCE s RESTART WITH 10", "AlterSeqStmt", None),
        ("ALTER POLICY p ON t USING (false)", "AlterPolicyStmt", None),
    ],
)
def test_other_statements(statement: str, kind: str, table: str | None) -> None:
    assert ops(statement + ";") == [
        OtherStatement(loc=loc(1, 0, 1, len(statement)), **S, statement=kind, table=table)]


_NOWHERE = Location(PATH, 0)


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("REINDEX INDEX CONCURRENTLY public.ix_a",
         Reindex(loc=_NOWHERE, statement="ReindexStmt", target="index", name="ix_a", concurrently=True)),
        ("REINDEX (VERBOSE) TABLE audit.t",
         Reindex(loc=_NOWHERE, statement="ReindexStmt", target="table", name="audit.t", table="audit.t")),
        ("REINDEX SCHEMA app", Reindex(loc=_NOWHERE, statement="ReindexStmt", target="schema", name="app")),
        ("VACUUM (FULL, ANALYZE) t", Vacuum(loc=_NOWHERE, statement="VacuumStmt", tables=("t",), full=True,
                                            table="t")),
        ("VACUUM FULL t, u", Vacuum(loc=_NOWHERE, statement="VacuumStmt", tables=("t", "u"), full=True)),
        ("ANALYZE t", Vacuum(loc=_NOWHERE, statement="VacuumStmt", tables=("t",), analyze_only=True,
                             table="t")),
        ("CLUSTER t USING ix", Cluster(loc=_NOWHERE, statement="ClusterStmt", table="t", index="ix")),
        ("LOCK TABLE t IN SHARE MODE NOWAIT",
         LockTable(loc=_NOWHERE, statement="LockStmt", tables=("t",), mode="SHARE", nowait=True, table="t")),
        ("LOCK t, u", LockTable(loc=_NOWHERE, statement="LockStmt", tables=("t", "u"))),
        ("SET lock_timeout = '5s'",
         SetParameter(loc=_NOWHERE, statement="VariableSetStmt", name="lock_timeout", value="5s")),
        ("SET LOCAL statement_timeout TO 1000",
         SetParameter(loc=_NOWHERE, statement="VariableSetStmt", name="statement_timeout", value="1000",
                      local=True)),
        ("RESET lock_timeout", SetParameter(loc=_NOWHERE, statement="VariableSetStmt", name="lock_timeout")),
        ("SELECT set_config('lock_timeout', '2s', false)",
         SetParameter(loc=_NOWHERE, statement="SelectStmt(set_config)", name="lock_timeout", value="2s")),
        ("BEGIN", TransactionControl(loc=_NOWHERE, statement="TransactionStmt", verb="begin")),
        ("END", TransactionControl(loc=_NOWHERE, statement="TransactionStmt", verb="commit")),
        ("ROLLBACK", TransactionControl(loc=_NOWHERE, statement="TransactionStmt", verb="rollback")),
        ("ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY",
         DetachPartition(loc=_NOWHERE, statement="AlterTableStmt(AT_DetachPartition)", table="p",
                         partition="p1", concurrently=True)),
        ("ALTER TABLE p ATTACH PARTITION p1 FOR VALUES IN (1)",
         AttachPartition(loc=_NOWHERE, statement="AlterTableStmt(AT_AttachPartition)", table="p",
                         partition="p1")),
    ],
)
def test_session_and_maintenance_statements(statement: str, expected: Operation) -> None:
    """What decides locks but changes no schema object is read into its own operation
    (an ALTER TABLE subcommand is located at its own text)."""
    [got] = ops(statement + ";")
    start = statement.index("TACH") - 2 if statement.startswith("ALTER") else 0
    assert got == dataclasses.replace(expected, loc=loc(1, start, 1, len(statement)), **S)


# --------------------------------------------------------------------------- DO blocks


def test_do_block_plain_statements_become_operations_at_the_do() -> None:
    result = ops("""
        SELECT 1;
        DO $$
        BEGIN
            ALTER TABLE t ADD COLUMN x int;
            EXECUTE 'DROP TABLE ' || 'legacy';
            BEGIN
                CREATE TYPE mood AS ENUM ('a');
            EXCEPTION WHEN duplicate_object THEN NULL;
            END;
            RAISE NOTICE 'done';
        END
        $$;
    """)
    at = loc(2, 0, 12, 2)
    assert result[1:] == [
        AddColumn(loc=at, **S, table="t", column=ColumnDef(name="x", type="integer")),
        DropTable(loc=at, **S, table="legacy"),
        CreateEnumType(loc=at, **S, name="mood", values=("a",)),
    ]


def test_do_block_dynamic_parts_are_unresolved() -> None:
    """What runs under a PL/pgSQL condition or loop is read behind a marker, as in Python;
    ``EXECUTE`` of ``||`` or ``format()`` is a template (its literal parts known)."""
    result = ops("""
        DO $do$
        DECLARE r record;
        BEGIN
            EXECUTE format('DROP TABLE %I', 'x');
            IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'ck') THEN
                ALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0);
            END IF;
            FOR r IN SELECT tablename FROM pg_tables LOOP
                EXECUTE 'ALTER TABLE ' || r.tablename || ' ENABLE ROW LEVEL SECURITY';
            END LOOP;
            BEGIN
                CREATE TYPE x AS ENUM ('a');
            EXCEPTION WHEN duplicate_object THEN
                DROP TYPE x;
            END;
        END
        $do$ LANGUAGE plpgsql;
    """)
    at = loc(1, 0, 17, 21)
    marker = "in DO block: what runs depends on run-time state; the statements inside are read"
    assert result == [
        DropTable(loc=at, **S, table="x"),  # format() of literals is the statement itself
        Unresolved(loc=at, **S, reason=f"IF {marker}",
                   snippet="IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'ck') "
                           "THEN", table="t"),
        AddConstraint(loc=at, **S, table="t", constraint=ConstraintDef(
            kind="check", name="ck", expression="a > 0")),
        Unresolved(loc=at, **S, reason=f"FOR loop {marker}",
                   snippet="FOR r IN SELECT tablename FROM pg_tables LOOP"),
        Unresolved(loc=at, **S, reason="enable rls whose `table` is filled in at run time (the "
                                       "SQL is a template)"),
        CreateEnumType(loc=at, **S, name="x", values=("a",)),
        Unresolved(loc=at, **S,
                   reason="EXCEPTION handler in DO block runs only if the block fails",
                   snippet="EXCEPTION WHEN duplicate_object THEN DROP TYPE x;"),
    ]


def test_comments_inside_a_do_body_are_comments() -> None:
    text = """
        DO $$
        BEGIN
            -- CI:DESTRUCTIVE_OK - See ADR-003
            DROP TABLE legacy;  /* gone */
        END $$;  -- after
        INSERT INTO t VALUES ('-- not a comment', $q$ -- nor this $q$);
    """
    result = read(text)
    assert result.comments == {
        3: "-- CI:DESTRUCTIVE_OK - See ADR-003", 4: "/* gone */", 5: "-- after"}
    assert result.operations[0] == DropTable(loc=loc(1, 0, 5, 6), **S, table="legacy")
    assert 3 in result.operations[0].loc.span_lines()


def test_do_block_never_dropped_silently() -> None:
    result = read("""
        DO $$ BEGIN RAISE NOTICE 'hi'; END $$;
        DO LANGUAGE plpython3u $$ print(1) $$;
        DO $$ BEGIN ALTER TABEL x; END $$;
    """)
    assert result.operations == [
        OtherStatement(loc=loc(1, 0, 1, 37), **S, statement="DoStmt"),
        Unresolved(loc=loc(2, 0, 2, 37), **S,
                   reason="DO block in language plpython3u is not analysed", snippet="print(1)"),
        Unresolved(loc=loc(3, 0, 3, 33), **S,
                   reason='DO block PL/pgSQL does not parse: syntax error at or near "TABEL"',
                   snippet="BEGIN ALTER TABEL x; END"),
    ]
    (diag,) = result.diagnostics
    assert (diag.code, diag.severity, diag.loc.line) == ("I003", "blocking", 3)
    assert diag.message == 'SQL syntax error: PL/pgSQL in DO block: syntax error at or near "TABEL"'


# --------------------------------------------------------------------------- locations


def test_multi_statement_lines_and_leading_comments() -> None:
    text = (
        "-- header comment\n"
        "/* a block\n"
        "   comment */  DROP TABLE a;   DROP TABLE b\n"
        ";\n"
        "\n"
        "  -- CI:DESTRUCTIVE_OK - See ADR-003\n"
        "  DROP TABLE c  -- trailing\n"
    )
    result = read_sql(text, path=PATH)
    assert [o.loc for o in result.operations] == [
        loc(3, 15, 3, 27), loc(3, 31, 3, 43), loc(7, 2, 7, 14)]
    assert result.comments == {
        1: "-- header comment", 2: "/* a block", 3: "comment */",
        6: "-- CI:DESTRUCTIVE_OK - See ADR-003", 7: "-- trailing",
    }


def test_position_callback_maps_into_the_enclosing_file() -> None:
    # as the Python reader does for op.execute("""...""") starting at line 41, column 15
    text = "\n    -- CI:DESTRUCTIVE_OK - See ADR-003\n    ALTER TABLE t DROP COLUMN a;\n"

    def position(offset: int) -> tuple[int, int]:
        line = text.count("\n", 0, offset)
        col = offset - (text.rfind("\n", 0, offset) + 1)
        return 41 + line, (15 + col if line == 0 else col)

    result = read_sql(text, path="alembic/versions/x.py", position=position,
                      phase="downgrade", via="op.execute")
    assert result.operations == [
        DropColumn(loc=Location("alembic/versions/x.py", 43, 18, 43, 31), phase="downgrade",
                   source="sql", via="op.execute", table="t", column="a"),
    ]
    assert result.comments == {42: "-- CI:DESTRUCTIVE_OK - See ADR-003"}


def test_non_ascii_text_before_statements_uses_character_offsets() -> None:
    text = "SELECT 'ééé€😀';  DROP TABLE a; -- ünïcode\nSELECT 'ß'; ALTER TABLE b DROP x, DROP y;"
    result = read_sql(text, path=PATH)
    assert [o.loc for o in result.operations] == [
        loc(1, 0, 1, 14), loc(1, 17, 1, 29), loc(2, 0, 2, 10), loc(2, 26, 2, 32),
        loc(2, 34, 2, 40)]
    assert result.comments == {1: "-- ünïcode"}
    assert not sqlparse.PGLAST_BYTE_OFFSETS  # pglast 8 converts; the fallback is tested below


def test_byte_offset_fallback_converter() -> None:
    text = "SELECT 'é€'; x"
    assert sqlparse.char_offset(text, len("SELECT 'é€'; ".encode())) == 13
    assert sqlparse.char_offset(text, 0) == 0
    assert sqlparse.offset_converter("ascii only")(5) == 5


# --------------------------------------------------------------------------- syntax errors


def test_syntax_error_is_located_and_reading_continues() -> None:
    text = "CREATE TABLE a (x int);\nSELECT 'é'; CREATE TABEL b (x int);\n-- c\nDROP TABLE c;"
    result = read_sql(text, path=PATH)
    (diag,) = result.diagnostics
    assert diag.code == "I003" and diag.severity == "blocking" and not diag.fatal
    assert diag.message == 'SQL syntax error: syntax error at or near "TABEL"'
    assert diag.loc == Location(PATH, 2, 19)
    assert [type(o).__name__ for o in result.operations] == [
        "CreateTable", "OtherStatement", "DropTable"]
    assert result.operations[2].loc == loc(4, 0, 4, 12)
    assert result.comments == {3: "-- c"}


def test_several_errors_and_error_at_end_of_input() -> None:
    result = read_sql("SELECT (1;\nDROP TABLE d;\nALTER TABLE x ADD;\nALTER TABLE q DROP a, DROP b",
                      path=PATH)
    # PostgreSQL's own messages: the recovery parses each statement with its ";"
    assert [(d.message, d.loc.line, d.loc.column) for d in result.diagnostics] == [
        ('SQL syntax error: syntax error at or near ";"', 1, 9),
        ('SQL syntax error: syntax error at or near ";"', 3, 17),
    ]
    assert [o.loc for o in result.operations] == [
        loc(2, 0, 2, 12), loc(4, 14, 4, 20), loc(4, 22, 4, 28)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("DROP TABLE a;\nDO $$ BEGIN DROP TABLE x; ",
         'unterminated dollar-quoted string at or near "$$ BEGIN DROP TABLE x; "'),
        ("DROP TABLE a;\nSELECT 'abc; DROP TABLE b;", "unterminated quoted string at or near"),
        ("DROP TABLE a;\nSELECT 1 /* never closed", "unterminated /* comment at or near"),
        ('DROP TABLE a;\nSELECT "abc', "unterminated quoted identifier at or near"),
        ("DROP TABLE a;\nSELECT E'a\\'", "unterminated quoted string at or near"),
    ],
)
def test_unterminated_constructs_do_not_hang(text: str, message: str) -> None:
    result = read_sql(text, path=PATH)
    assert [o.loc for o in result.operations] == [loc(1, 0, 1, 12)]
    (diag,) = result.diagnostics
    assert diag.message.startswith("SQL syntax error: " + message)
    assert diag.loc.line == 2


def test_begin_atomic_bodies_survive_recovery() -> None:
    text = ("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
            "DROP TABLE b; CREATE TABEL c;")
    result = read_sql(text, path=PATH)
    assert [type(o).__name__ for o in result.operations] == ["OtherStatement", "DropTable"]
    assert result.operations[0].loc == at(text, text[:text.index("END;") + 3])
    assert [d.loc.line for d in result.diagnostics] == [2]


def test_empty_and_comment_only_text() -> None:
    assert read_sql("", path=PATH) == SqlResult()
    result = read_sql("  -- only a comment\n/* and /* nested */ one */", path=PATH)
    assert result.operations == [] and result.diagnostics == []
    assert result.comments == {1: "-- only a comment", 2: "/* and /* nested */ one */"}


def test_quotes_hide_separators_and_comment_markers() -> None:
    text = ("INSERT INTO t VALUES ('a;b -- no', E'it\\'s; /*', $x$ ; -- $x$, \"we;ird\");\n"
            "DROP TABLE a$b;")
    result = read_sql(text, path=PATH)
    assert result.diagnostics == [] and result.comments == {}
    assert [o.loc.line for o in result.operations] == [1, 2]
    assert split_statements(text) == [(0, 72), (74, 88)]


def test_nul_and_lone_surrogates_do_not_crash() -> None:
    result = read_sql("\x00DROP TABLE a;\ud800", path=PATH)
    assert [type(o).__name__ for o in result.operations] == ["DropTable"]


_FRAGMENTS = [*"ab ;'\"$-/*()\nE\\é,x1", "DROP TABLE t", "DO $$", "$$", "$q$", "CREATE TABLE",
              "ALTER TABLE t ADD", "BEGIN ATOMIC", "--", "/*", "*/", "END", "IF x THEN"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=30).map("".join))
def test_never_raises_on_arbitrary_text(text: str) -> None:
    result = read_sql(text, path=PATH)
    for op in result.operations:
        assert op.loc.line >= 1
    for diag in result.diagnostics:
        assert diag.code == "I003"


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("expr", "column", "values"),
    [
        ("remediation_status IN ('pending', 'in_progress', 'resolved', 'abandoned')",
         "remediation_status", ("pending", "in_progress", "resolved", "abandoned")),
        ("status = ANY (ARRAY['b', 'a'])", "status", ("b", "a")),
        ("((remediation_status)::text = ANY ((ARRAY['pending'::character varying, "
         "'x'::character varying])::text[]))", "remediation_status", ("pending", "x")),
        ("CHECK ((status)::text = ANY ((ARRAY['a'::varchar])::text[])) NOT VALID", "status",
         ("a",)),
        ("status = 'a' OR status = 'b' OR status IN ('c')", "status", ("a", "b", "c")),
        ("priority IN (1, 2, 3)", "priority", ("1", "2", "3")),
        ("status IS NULL OR status IN ('a', 'b')", "status", ("a", "b")),
        ("other IS NULL OR status IN ('a', 'b')", None, None),
        ("status IS NOT NULL OR status IN ('a')", None, None),
        ("a > 0", None, None),
        ("a IN ('x') OR b = 'y'", None, None),
        ("a IN (b, 'x')", None, None),
        ("not ( valid sql", None, None),
    ],
)
def test_analyze_check(expr: str, column: str | None, values: tuple[str, ...] | None) -> None:
    info = analyze_check(expr)
    assert (info.column, info.values) == (column, values)
    assert normalize_expression(info.expression) == normalize_expression(expr)


def test_analyze_check_forms_compare_equal_on_values_and_expression() -> None:
    written = analyze_check("status IN ('a', 'b')")
    catalog = analyze_check(
        "((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))"
    )
    assert written == CheckInfo("status IN ('a', 'b')", "status", ("a", "b"))
    assert catalog == CheckInfo("status::text = ANY(ARRAY['a'::varchar, 'b'::varchar]::text[])",
                                "status", ("a", "b"))
    assert normalize_expression(written.expression) == "status = ANY(ARRAY['a', 'b'])"
    assert normalize_expression(catalog.expression, text_columns={"status"}) == (
        normalize_expression(written.expression))


def test_read_sql_and_analyze_check_spell_a_check_alike() -> None:
    """The Python reader builds CHECKs with analyze_check; the SQL reader from the tree."""
    expr = "( score>=0 ) AND score <= 1::NUMERIC OR status IN ('a')"
    (op,) = ops(f"ALTER TABLE t ADD CONSTRAINT ck CHECK ({expr});")
    assert isinstance(op, AddConstraint)
    assert op.constraint.expression == analyze_check(expr).expression


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("now()", "NOW()"),
        ("now()", "CURRENT_TIMESTAMP"),
        ("((a > 0))", "a > 0"),
        ("'x'::character varying", "'x'::varchar"),
        ("'x'::character varying", "'x'"),
        ("a::timestamp with time zone", "a::TIMESTAMPTZ"),
        ("((score >= (0)::numeric) AND (score <= (1)::numeric))", "score >= 0 AND score <= 1"),
        ("a NOT IN (1, 2)", "a <> ALL (ARRAY[1, 2])"),
        ("lower( email )", "LOWER(email)"),
    ],
)
def test_normalize_expression_equalities(left: str, right: str) -> None:
    assert normalize_expression(left) == normalize_expression(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("now()", "clock_timestamp()"),
        ("'x'::varchar(1)", "'x'"),  # a length cast can truncate
        ("a::text", "a"),  # column casts are kept unless the caller vouches for the column
        ("1.5::integer", "1.5"),
    ],
)
def test_normalize_expression_keeps_meaningful_differences(left: str, right: str) -> None:
    assert normalize_expression(left) != normalize_expression(right)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("'pending'::character varying", "'pending'"),
        ("'pending'", "'pending'"),
        ("(0)", "0"),
        ("'-1'::integer", "-1"),
        ("'007'::text", "'007'"),
        ("'{}'::jsonb", "'{}'"),
        ("CURRENT_TIMESTAMP", "now()"),
        ("now()", "now()"),
        ("LOCALTIMESTAMP", "LOCALTIMESTAMP"),
        ("gen_random_uuid()", "gen_random_uuid()"),
        ("nextval('t_id_seq'::regclass)", "nextval('t_id_seq'::regclass)"),
        ("TRUE", "true"),
        ("not an ( expression", "not an ( expression"),
    ],
)
def test_normalize_default(expr: str, expected: str) -> None:
    assert normalize_default(expr) == expected


def test_normalize_default_boolean_words_need_the_column_type() -> None:
    assert normalize_default("'t'", column_type="boolean") == "true"
    assert normalize_default("'off'::boolean", column_type="boolean") == "false"
    assert normalize_default("'t'") == "'t'"


def test_parse_index_elements() -> None:
    assert parse_index_elements("created_at DESC") == (IndexElement("created_at", True),)
    assert parse_index_elements("lower(email), id NULLS FIRST") == (
        IndexElement("lower(email)", is_expression=True), IndexElement("id", nulls="first"))
    assert parse_index_elements('(("Mixed")), a text_ops') == (
        IndexElement("Mixed"), IndexElement("a", opclass="text_ops"))
    for bad in ["", "a)", "a; DROP TABLE x", "(a", "a) WHERE (b", "a) INCLUDE (b", "desc desc"]:
        with pytest.raises(ValueError):
            parse_index_elements(bad)


def test_split_statements() -> None:
    text = "-- c\nSELECT 1; ;  SELECT 'a;b' /* x */ ;\nSELECT $$;$$"
    assert [text[s:e] for s, e in split_statements(text)] == [
        "SELECT 1", "SELECT 'a;b'", "SELECT $$;$$"]


# --------------------------------------------------------------------------- files & catalog


def test_canonical_schema_file_reads_cleanly() -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "db" / "schema" / "canonical_schema.sql"
    if not path.exists():
        skip_outside_ci("no canonical schema in this checkout")
    result = read_sql(path.read_text(encoding="utf-8"), path=str(path))
    assert result.diagnostics == []
    assert any(isinstance(o, CreateTable) for o in result.operations)
    assert not any(isinstance(o, Unresolved) for o in result.operations)


def test_helpers_agree_with_the_postgres_catalog(pg_database: str) -> None:
    """What PostgreSQL stores (pg_get_expr / pg_get_constraintdef) normalises to what the
    reader emits from the written SQL."""
    import psycopg

    ddl = """
        CREATE TABLE dead_events (
            id serial PRIMARY KEY,
            remediation_status varchar(50) NOT NULL DEFAULT 'pending'
                CONSTRAINT ck_status CHECK (remediation_status IN ('pending', 'in_progress',
                                                                   'abandoned')),
            retry_count integer NOT NULL DEFAULT -1,
            score numeric(5, 4) DEFAULT 0 CHECK (score >= 0 AND score <= 1),
            payload jsonb NOT NULL DEFAULT '{}'::jsonb,
            flag boolean NOT NULL DEFAULT 't',
            created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
        );
    """
    (create,) = ops(ddl)
    assert isinstance(create, CreateTable)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(textwrap.dedent(ddl))
        rows = conn.execute(
            "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid), format_type(a.atttypid, "
            "a.atttypmod) FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid "
            "AND a.attnum = d.adnum WHERE d.adrelid = 'dead_events'::regclass"
        ).fetchall()
        defaults = {name: (default, type_) for name, default, type_ in rows}
        checks: dict[str, str] = dict(conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'dead_events'::regclass AND contype = 'c'"
        ).fetchall())
    columns = {c.name: c for c in create.columns}
    assert set(defaults) == {"id", "remediation_status", "retry_count", "score", "payload",
                             "flag", "created_at"}
    for name, (catalog_default, catalog_type) in defaults.items():
        column = columns[name]
        assert column.default is not None
        column_type = "boolean" if catalog_type == "boolean" else None
        assert normalize_default(catalog_default, column_type=column_type) == normalize_default(
            column.default, column_type=column_type), name
    assert columns["id"].default == defaults["id"][0]  # the serial marker is the stored text
    catalog_status = analyze_check(checks["ck_status"])
    (written,) = [c for c in create.constraints if c.name == "ck_status"]
    assert (catalog_status.column, catalog_status.values) == (
        written.enum_column, written.enum_values)
    assert catalog_status.values == ("pending", "in_progress", "abandoned")
    (score_check,) = [v for k, v in checks.items() if k != "ck_status"]
    written_score = [c for c in create.constraints if c.kind == "check" and c.name is None]
    assert normalize_expression(score_check) == normalize_expression(
        written_score[0].expression or "")


def test_create_table_as_is_unresolved_not_silently_skipped() -> None:
    """A table built from a query has columns nobody wrote down: the replay must treat it
    as unknown, not miss it (found by the live comparison)."""
    from b03lint.operations import OtherStatement, Unresolved
    from b03lint.readers.sql import read_sql

    ops = read_sql("CREATE TABLE snap AS SELECT 1 AS a;\nSELECT 2 INTO snap2;\n"
                   "CREATE MATERIALIZED VIEW mv AS SELECT 1;", path="t.sql").operations
    assert [(type(o), getattr(o, "table", None)) for o in ops] == [
        (Unresolved, "snap"), (Unresolved, "snap2"), (OtherStatement, None)]
    assert ops[1].loc.line == 2


def test_sequence_statements() -> None:
    from b03lint.operations import (
        AlterSequenceOwner,
        CreateSequence,
        DropSequence,
        RenameSequence,
    )

    got = ops("CREATE SEQUENCE IF NOT EXISTS public.s START 1 OWNED BY t.id;\n"
              "ALTER SEQUENCE s OWNED BY public.t.id;\n"
              "ALTER SEQUENCE s OWNED BY NONE;\n"
              "ALTER SEQUENCE s RENAME TO s2;\n"
              "DROP SEQUENCE IF EXISTS s2, other CASCADE;\n")
    assert [(type(o).__name__, getattr(o, "name", None)) for o in got] == [
        ("CreateSequence", "s"), ("AlterSequenceOwner", "s"), ("AlterSequenceOwner", "s"),
        ("RenameSequence", "s"), ("DropSequence", "s2"), ("DropSequence", "other")]
    create, own, unown, rename, drop = got[:5]
    assert isinstance(create, CreateSequence) and create.owned_by == "t.id"
    assert create.if_not_exists and create.schema == "public"
    assert isinstance(own, AlterSequenceOwner) and own.owned_by == "t.id"
    assert isinstance(unown, AlterSequenceOwner) and unown.owned_by is None
    assert isinstance(rename, RenameSequence) and rename.new_name == "s2"
    assert isinstance(drop, DropSequence) and drop.if_exists and drop.cascade


def test_using_index_and_generated_columns() -> None:
    got = ops("ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX ix;\n"
              "ALTER TABLE t ADD PRIMARY KEY USING INDEX ix2;\n"
              "CREATE TABLE g (a int, b int GENERATED ALWAYS AS (a * 2) STORED);\n")
    first, second, table = got
    assert isinstance(first, AddConstraint) and isinstance(second, AddConstraint)
    assert (first.constraint.kind, first.constraint.name, first.constraint.using_index) == (
        "unique", "u", "ix")
    assert (second.constraint.kind, second.constraint.name,
            second.constraint.using_index) == ("primary_key", None, "ix2")
    assert isinstance(table, CreateTable)
    assert [(c.name, c.generated, c.default) for c in table.columns] == [
        ("a", None, None), ("b", "a * 2", None)]
