"""The canonical YAML (format 1): strict reading, default names, agreement with the SQL,
the writers' round trips, and the declared invariants."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from b03lint.readers.sql import read_sql
from b03lint.schema.canonical import CanonicalError, load_sql
from b03lint.schema.canonical_yaml import (
    INVARIANT_KINDS,
    check_invariants,
    load_canonical_yaml,
)
from b03lint.schema.diff import diff
from b03lint.schema.emit import schema_to_sql, schema_to_yaml, yaml_scalar
from b03lint.schema.model import Invariant, Schema
from b03lint.schema.replay import fold

ROOT = Path(__file__).resolve().parents[1]
CANONICAL_SQL = ROOT / "db" / "schema" / "canonical_schema.sql"
CANONICAL_YAML = ROOT / "db" / "schema" / "canonical_schema.yaml"


def facts(value: Any) -> Any:
    """A schema as plain data without origins, labels and paths: what must round-trip."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: facts(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name not in ("origin", "rls_origin", "label", "path")}
    if isinstance(value, dict):
        return {k: facts(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [facts(v) for v in value]
    return value


def load(text: str) -> Schema:
    return load_canonical_yaml(textwrap.dedent(text), "canon.yaml")


def sql_schema(text: str) -> Schema:
    result = read_sql(textwrap.dedent(text), path="canon.sql")
    assert not result.diagnostics, result.diagnostics
    replay = fold([(None, result.operations)], "sql")
    assert not replay.conflicts, replay.conflicts
    return replay.schema


def error_of(text: str) -> CanonicalError:
    with pytest.raises(CanonicalError) as info:
        load(text)
    return info.value


BASE = """\
version: 1
tables:
  tenants:
    columns:
      id: {type: uuid, nullable: false}
      name: {type: VARCHAR(255), nullable: false}
    primary_key: {columns: [id]}
  events:
    columns:
      id: {type: uuid, nullable: false}
      tenant_id: {type: uuid, nullable: false}
      status: {type: varchar(20), nullable: false, default: "'new'"}
      created_at: {type: timestamp with time zone, default: now()}
    primary_key: {columns: [id]}
    foreign_keys:
      - columns: [tenant_id]
        references: {table: tenants, columns: [id]}
        on_delete: cascade
    checks:
      - column: status
        values: [new, done]
    indexes:
      - columns: [tenant_id, created_at DESC]
        include: [status]
    rls: {enabled: true, forced: true}
    policies:
      - name: tenant_isolation
        using: "tenant_id = current_setting('app.tenant')::uuid"
"""


# --------------------------------------------------------------------------- strictness


@pytest.mark.parametrize(("text", "line", "where", "words"), [
    ("version: 1\ntables: {}\nextra: 1\n", 3, "extra", "unknown key 'extra'"),
    ("version: 1\ntables:\n  t:\n    columns:\n      a: {type: int, nulable: false}\n",
     5, "tables.t.columns.a.nulable", "unknown key 'nulable'"),
    ("version: 1\ntables:\n  t:\n    columns: {}\n    indexs: []\n", 5, "tables.t.indexs",
     "unknown key 'indexs'"),
    ("version: 1\ntables:\n  t:\n    columns:\n      a: {type: int}\n    indexes:\n"
     "      - columns: [a]\n        order: desc\n", 8, "tables.t.indexes[0].order",
     "unknown key 'order'"),
    ("version: 1\ntables:\n  t:\n    columns:\n      a: {type: int}\n    rls: {on: true}\n",
     6, "tables.t.rls", "unknown key"),
])
def test_unknown_keys(text: str, line: int, where: str, words: str) -> None:
    err = error_of(text)
    assert err.line == line
    assert err.path == "canon.yaml"
    assert f"(at {where}" in str(err)
    assert words in str(err)


@pytest.mark.parametrize(("text", "line", "where", "words"), [
    ("version: one\ntables: {}\n", 1, "version", "expected an integer"),
    ("version: 1\ntables: [a]\n", 2, "tables", "expected a mapping"),
    ("version: 1\ntables:\n  t:\n    columns: [a]\n", 4, "tables.t.columns",
     "expected a mapping"),
    ("version: 1\ntables:\n  t:\n    columns:\n      a: {type: int, nullable: 'no'}\n", 5,
     "tables.t.columns.a.nullable", "expected true or false"),
    ("version: 1\ntables:\n  t:\n    columns:\n      a: {type: [int]}\n", 5,
     "tables.t.columns.a.type", "expected a string"),
    ("version: 1\ntables:\n  t:\n    columns:\n      a: {type: numeric, default: 1.000}\n", 5,
     "tables.t.columns.a.default", "quote the SQL text"),
    ("version: 1\ntables:\n  t:\n    columns:\n      a: {type: int}\n    indexes: {a: 1}\n",
     6, "tables.t.indexes", "expected a list"),
    ("version: 1\ntables:\n  t:\n    columns:\n      a: {type: int}\n    policies:\n"
     "      - {name: p, command: upsert}\n", 7, "tables.t.policies[0].command",
     "expected one of all"),
    ("version: 1\ntables:\n  t:\n    columns:\n      a: {type: int}\n    foreign_keys:\n"
     "      - {columns: [a], references: {table: t}, on_delete: explode}\n", 7,
     "tables.t.foreign_keys[0].on_delete", "CASCADE"),
    ("version: 2\ntables: {}\n", 1, "version", "unsupported canonical YAML version"),
])
def test_wrong_types(text: str, line: int, where: str, words: str) -> None:
    err = error_of(text)
    assert err.line == line
    assert f"(at {where}" in str(err)
    assert words in str(err)


COLS = "version: 1\ntables:\n  t:\n    columns:\n      a: {type: int}\n      b: {type: text}\n"


@pytest.mark.parametrize(("tail", "line", "where", "words"), [
    ("    primary_key: {columns: [c]}\n", 7, "tables.t.primary_key.columns[0]",
     "column 'c' is not a column of table t"),
    ("    unique:\n      - columns: [a, z]\n", 8, "tables.t.unique[0].columns[1]", "'z'"),
    ("    foreign_keys:\n      - columns: [a]\n        references: {table: nowhere}\n", 9,
     "tables.t.foreign_keys[0].references.table", "table 'nowhere'"),
    ("    foreign_keys:\n      - columns: [a]\n        references: {table: t, columns: [q]}\n",
     9, "tables.t.foreign_keys[0].references.columns[0]", "column 'q'"),
    ("    checks:\n      - {column: c, values: [x]}\n", 8, "tables.t.checks[0].column",
     "column 'c'"),
    ("    checks:\n      - {expression: \"c IN ('x', 'y')\"}\n", 8,
     "tables.t.checks[0].expression", "column 'c'"),
    ("    indexes:\n      - columns: [a, missing DESC]\n", 8,
     "tables.t.indexes[0].columns[1]", "column 'missing'"),
    ("    indexes:\n      - columns: [a]\n        include: [nope]\n", 9,
     "tables.t.indexes[0].include[0]", "column 'nope'"),
    ("    indexes:\n      - columns: [{column: nope}]\n", 8,
     "tables.t.indexes[0].columns[0]", "column 'nope'"),
])
def test_dangling_references(tail: str, line: int, where: str, words: str) -> None:
    err = error_of(COLS + tail)
    assert err.line == line
    assert f"(at {where}" in str(err)
    assert words in str(err)


@pytest.mark.parametrize(("invariant", "where", "words"), [
    ("{id: I1, kind: not_null, object: t.zz}", "invariants[0].object", "column 'zz'"),
    ("{id: I1, kind: not_null, object: zz.a}", "invariants[0].object", "table 'zz'"),
    ("{id: I1, kind: not_null, object: t}", "invariants[0].object", "expected `table.column`"),
    ("{id: I1, kind: unique_index, object: idx_nope}", "invariants[0].object",
     "index 'idx_nope'"),
    ("{id: I1, kind: constraint_exists, object: t.ck_nope}", "invariants[0].object",
     "constraint 'ck_nope'"),
    ("{id: I1, kind: rls_enabled, object: nope}", "invariants[0].object", "table 'nope'"),
    ("{id: I1, kind: check_values, object: t.a, expect: {values: [x], constraint: ck}}",
     "invariants[0].expect.constraint", "constraint 'ck'"),
    ("{id: I1, kind: unique_index, object: t_a_idx, expect: {table: u}}",
     "invariants[0].expect.table", "table 'u'"),
    ("{id: I1, kind: check_values, object: t.a}", "invariants[0]", "needs `expect`"),
    ("{id: I1, kind: not_null, object: t.a, expect: {values: [x]}}",
     "invariants[0].expect.values", "unknown key 'values'"),
    ("{id: I1, kind: nonsense, object: t.a}", "invariants[0].kind", "expected one of"),
])
def test_invariant_references(invariant: str, where: str, words: str) -> None:
    text = COLS + "    indexes:\n      - columns: [a]\ninvariants:\n  - " + invariant + "\n"
    err = error_of(text)
    assert err.line == 10
    assert f"(at {where}" in str(err)
    assert words in str(err)


def test_duplicates_are_errors() -> None:
    err = error_of(COLS + "    unique:\n      - {name: u1, columns: [a]}\n"
                          "      - {name: u1, columns: [b]}\n")
    assert err.line == 9 and "declared twice" in str(err) and "first at line 8" in str(err)
    err = error_of(COLS + "    indexes:\n      - {name: i, columns: [a]}\n"
                          "  u:\n    columns:\n      a: {type: int}\n    indexes:\n"
                          "      - {name: i, columns: [a]}\n")
    assert err.line == 13 and "index i is declared twice" in str(err)
    err = error_of("version: 1\ntables:\n  t:\n    columns:\n      a: {type: int}\n"
                   "      a: {type: text}\n")
    assert err.line == 6 and "duplicate key" in str(err)
    err = error_of(COLS + "invariants:\n  - {id: I, kind: not_null, object: t.a}\n"
                          "  - {id: I, kind: not_null, object: t.b}\n")
    assert err.line == 9 and "used twice" in str(err)


def test_other_refusals() -> None:
    assert "nullable: true" in str(error_of(
        "version: 1\ntables:\n  t:\n    columns:\n      a: {type: int, nullable: true}\n"
        "    primary_key: {columns: [a]}\n"))
    assert "needs `expression`" in str(error_of(COLS + "    checks:\n      - {name: c}\n"))
    err = error_of(COLS + "    checks:\n      - column: b\n        values: [x, y]\n"
                          "        expression: \"b IN ('x', 'z')\"\n")
    assert err.line == 10 and "values" in str(err)
    err = error_of("version: 1\ntables:\n  t: &x\n    columns: {}\n  u: *x\n")
    assert "anchors and aliases" in str(err)
    assert error_of("").line == 1
    assert "invalid YAML" in str(error_of("version: 1\ntables: {\n"))


# --------------------------------------------------------------------------- meaning


def test_defaults_and_postgres_default_names() -> None:
    s = load(BASE)
    events = s.tables["events"]
    assert list(events.columns) == ["id", "tenant_id", "status", "created_at"]
    assert events.columns["created_at"].type == "timestamptz"
    assert events.columns["created_at"].nullable is True
    assert s.tables["tenants"].columns["name"].type == "varchar(255)"
    assert set(events.constraints) == {"events_pkey", "events_tenant_id_fkey",
                                       "events_status_check"}
    check = events.constraints["events_status_check"]
    assert check.enum_column == "status" and check.enum_values == ("new", "done")
    assert check.expression == "status IN ('new', 'done')"
    assert check.implicit_name
    fk = events.constraints["events_tenant_id_fkey"]
    assert fk.references is not None and fk.references.on_delete == "CASCADE"
    assert "events_tenant_id_created_at_idx" in s.indexes
    idx = s.indexes["events_tenant_id_created_at_idx"]
    assert [(e.expression, e.descending) for e in idx.elements] == [
        ("tenant_id", False), ("created_at", True)]
    assert events.rls_enabled and events.rls_forced
    pol = events.policies["tenant_isolation"]
    assert pol.command == "all" and pol.roles == ("public",) and pol.permissive
    assert events.origin is not None and events.origin.loc.line == 8
    assert events.columns["status"].origin is not None
    assert events.columns["status"].origin.loc == events.columns["status"].origin.loc
    assert events.columns["status"].origin.loc.path == "canon.yaml"
    assert events.columns["status"].origin.loc.line == 12


EQUIVALENT_SQL = """\
CREATE TABLE tenants (
    id uuid PRIMARY KEY,
    name character varying(255) NOT NULL
);
CREATE TABLE events (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    status varchar(20) NOT NULL DEFAULT 'new',
    created_at TIMESTAMPTZ DEFAULT NOW(),
    CHECK (status IN ('new', 'done'))
);
CREATE INDEX ON events (tenant_id, created_at DESC) INCLUDE (status);
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON events
    USING (tenant_id = current_setting('app.tenant')::uuid);
"""


def test_yaml_and_sql_of_one_schema_agree() -> None:
    from_yaml, from_sql = load(BASE), sql_schema(EQUIVALENT_SQL)
    assert diff(from_yaml, from_sql) == []
    assert diff(from_sql, from_yaml) == []


def test_a_planted_disagreement_is_found() -> None:
    changed = BASE.replace("values: [new, done]", "values: [new, done, lost]")
    devs = diff(load(changed), sql_schema(EQUIVALENT_SQL))
    assert [(d.kind, d.object) for d in devs] == [("enum-values", "events.status")]


RICH_SQL = """\
CREATE TYPE mood AS ENUM ('happy', 'it''s complicated');
CREATE TABLE "Odd Table" (
    "select" integer CHECK ("select" > 0) UNIQUE,
    b text NOT NULL CONSTRAINT b_short CHECK (length(b) < 10),
    c integer GENERATED BY DEFAULT AS IDENTITY,
    e mood,
    f numeric(5,2)[] DEFAULT '{}',
    g varchar(10) DEFAULT 'x: #y',
    CONSTRAINT uq_b_c UNIQUE (b, c) DEFERRABLE,
    CONSTRAINT ck_g CHECK (g = ANY (ARRAY['x: #y', 'z']))
);
CREATE TABLE parent (id bigint PRIMARY KEY, odd integer);
ALTER TABLE parent ADD CONSTRAINT fk_parent_odd FOREIGN KEY (odd)
    REFERENCES "Odd Table" ("select") ON UPDATE SET NULL NOT VALID;
CREATE UNIQUE INDEX idx_parent_expr ON parent USING btree
    (lower(odd::text) DESC NULLS LAST, id NULLS FIRST) WHERE odd IS NOT NULL;
CREATE INDEX idx_gin ON "Odd Table" USING gin (f);
CREATE INDEX idx_pattern ON "Odd Table" (b text_pattern_ops);
CREATE TABLE counters (id serial PRIMARY KEY);
ALTER TABLE parent ENABLE ROW LEVEL SECURITY;
CREATE POLICY "read only" ON parent AS RESTRICTIVE FOR SELECT TO app_reader, "Auditors"
    USING (true);
CREATE POLICY p_insert ON parent FOR INSERT WITH CHECK (id > 0);
"""


@pytest.mark.parametrize("source", ["rich", "example"])
def test_round_trips(source: str) -> None:
    if source == "rich":
        original = sql_schema(RICH_SQL)
    else:
        original, diagnostics, conflicts = load_sql(CANONICAL_SQL, "canonical_schema.sql")
        assert not diagnostics and not conflicts
    # SQL -> Schema -> YAML -> Schema -> YAML
    text = schema_to_yaml(original)
    again = load_canonical_yaml(text, "x.yaml")
    assert facts(again) == facts(original)
    assert schema_to_yaml(again) == text
    assert diff(again, original) == [] and diff(original, again) == []
    # SQL -> Schema -> SQL -> Schema
    sql = schema_to_sql(original)
    reread = sql_schema(sql)
    assert facts(reread) == facts(original)
    assert schema_to_sql(reread) == sql


@pytest.mark.parametrize("source", ["rich", "example"])
def test_the_emitted_sql_runs_on_postgresql(source: str, pg_database: str) -> None:
    import psycopg

    if source == "rich":
        schema = sql_schema(RICH_SQL)
    else:
        schema, _diagnostics, _conflicts = load_sql(CANONICAL_SQL, "canonical_schema.sql")
    with psycopg.connect(pg_database, autocommit=True) as conn:
        for role in ("app_reader", "Auditors"):  # the policies' roles (cluster-wide)
            conn.execute(f"DO $$ BEGIN CREATE ROLE \"{role}\"; "  # type: ignore[arg-type]
                         "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        conn.execute(schema_to_sql(schema))  # type: ignore[arg-type]
        tables = {row[0] for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    assert tables == set(schema.tables)


def test_writers_are_deterministic_and_sorted() -> None:
    a = sql_schema(EQUIVALENT_SQL)
    statements = EQUIVALENT_SQL.split(";\n")
    # the same schema written in another order: events before tenants
    b = sql_schema(";\n".join([statements[1], statements[0], *statements[2:]]))
    assert schema_to_yaml(a) == schema_to_yaml(b)
    assert schema_to_sql(a) == schema_to_sql(b)
    text = schema_to_yaml(a)
    assert text.index("  events:") < text.index("  tenants:")
    sql = schema_to_sql(a)
    assert sql.index("CREATE TABLE events") < sql.index("CREATE TABLE tenants")
    # foreign keys come after every table, so the DDL runs in any table order
    assert sql.index("FOREIGN KEY") > sql.index("CREATE TABLE tenants")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_yaml_scalars_read_back_as_the_same_string(text: str) -> None:
    rendered = yaml_scalar(text)
    assert yaml.safe_load(f"k: {rendered}") == {"k": text}
    assert yaml.safe_load(f"k: [{rendered}, x]") == {"k": [text, "x"]}
    assert yaml.safe_load(f"k: {{a: {rendered}}}") == {"k": {"a": text}}


def test_the_example_yaml_agrees_with_the_example_sql() -> None:
    from_sql, _diagnostics, _conflicts = load_sql(CANONICAL_SQL, "canonical_schema.sql")
    from_yaml = load_canonical_yaml(CANONICAL_YAML.read_text(encoding="utf-8"),
                                    "canonical_schema.yaml")
    assert diff(from_yaml, from_sql) == []
    assert diff(from_sql, from_yaml) == []
    assert len(from_yaml.invariants) == 12
    assert check_invariants(from_sql, from_yaml.invariants) == []
    # the file is exactly what the exporter writes (plus the hand-written invariants)
    exported = schema_to_yaml(from_sql, invariants=False)
    assert CANONICAL_YAML.read_text(encoding="utf-8").startswith(exported)


# --------------------------------------------------------------------------- invariants


INV_BASE = BASE + """\
    unique:
      - {name: uq_events_status_id, columns: [status, id]}
  ledger:
    columns:
      id: {type: uuid, nullable: false}
      tenant_id: {type: uuid, nullable: false}
      tx: {type: text, nullable: false}
      amount: {type: "numeric(4,3)"}
    primary_key: {columns: [id]}
    checks:
      - {name: ck_amount, expression: "amount >= 0"}
    indexes:
      - {name: idx_ledger_tx, unique: true, columns: [tx]}
    rls: {enabled: true}
"""


def invariant(inv_kind: str, obj: str, **expect: Any) -> Invariant:
    pairs = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in expect.items())
    return Invariant(id="I", description="", kind=inv_kind, object=obj, expect=pairs)


HOLDING = [
    invariant("column_exists", "ledger.amount", type="numeric(4,3)", nullable=True),
    invariant("not_null", "ledger.tx"),
    invariant("unique", "ledger.tx"),
    invariant("unique", "ledger.id"),
    invariant("unique_index", "idx_ledger_tx", table="ledger", columns=["tx"]),
    invariant("index_includes", "events_tenant_id_created_at_idx",
              columns=["tenant_id", "created_at DESC"], include=["status"]),
    invariant("check_values", "events.status", values=["done", "new"]),
    invariant("check_values", "events.status", values=["new", "done"],
              constraint="events_status_check"),
    invariant("constraint_exists", "ledger.ck_amount", kind="check"),
    invariant("rls_enabled", "events", forced=True, policy=True),
    invariant("rls_enabled", "ledger"),
    invariant("rls_enabled", "tenant_scoped"),
]

FAILING = [
    (invariant("column_exists", "ledger.amount", type="integer"), "is numeric(4,3)"),
    (invariant("column_exists", "ledger.nope"), "does not exist"),
    (invariant("not_null", "ledger.amount"), "is nullable"),
    (invariant("unique", "events.status"), "nothing makes events.status unique"),
    (invariant("unique_index", "events_tenant_id_created_at_idx"), "is not UNIQUE"),
    (invariant("unique_index", "idx_ledger_tx", columns=["tx DESC"]), "keys are (tx)"),
    (invariant("unique_index", "idx_nope"), "does not exist"),
    (invariant("index_includes", "idx_ledger_tx", include=["amount"]), "INCLUDEs (nothing)"),
    (invariant("index_includes", "events_tenant_id_created_at_idx",
               columns=["tenant_id", "created_at"], include=["status"]), "keys are"),
    (invariant("check_values", "events.status", values=["new", "gone"]),
     "missing gone; extra done"),
    (invariant("check_values", "ledger.amount", values=["1"]), "no CHECK restricts"),
    (invariant("constraint_exists", "ledger.ck_amount", kind="unique"), "is a check"),
    (invariant("constraint_exists", "ledger.ck_gone"), "does not exist"),
    (invariant("rls_enabled", "ledger", forced=True), "not forced on ledger"),
    (invariant("rls_enabled", "tenants"), "not enabled on tenants"),
    (invariant("rls_enabled", "tenant_scoped", forced=True, policy=True),
     "not forced on ledger"),
]


def test_every_kind_has_a_holding_and_a_failing_case() -> None:
    kinds = {i.kind for i in HOLDING}
    assert kinds == set(INVARIANT_KINDS) == {i.kind for i, _ in FAILING}


@pytest.mark.parametrize("inv", HOLDING, ids=lambda i: f"{i.kind}-{i.object}")
def test_invariant_holds(inv: Invariant) -> None:
    assert check_invariants(load(INV_BASE), [inv]) == []


@pytest.mark.parametrize(("inv", "words"), FAILING, ids=lambda x: getattr(x, "kind", ""))
def test_invariant_fails(inv: Invariant, words: str) -> None:
    [(got, message)] = check_invariants(load(INV_BASE), [inv])
    assert got is inv
    assert words in message


def test_unknown_tables_are_reported_not_guessed() -> None:
    schema = load(INV_BASE)
    schema.tables["ledger"].unknown = True
    [(_, message)] = check_invariants(schema, [invariant("not_null", "ledger.tx")])
    assert "unknown" in message


def test_invariants_read_from_yaml() -> None:
    text = INV_BASE + textwrap.dedent("""\
        invariants:
          - id: INV-1
            description: the ledger is idempotent
            kind: unique_index
            object: idx_ledger_tx
            expect:
              table: ledger
              columns: [tx]
          - id: INV-2
            kind: rls_enabled
            object: tenant_scoped
            expect: {forced: true}
        """)
    schema = load(text)
    first, second = schema.invariants
    assert first.expect == (("table", "ledger"), ("columns", ("tx",)))
    assert first.origin is not None
    assert first.origin.loc.line == text.splitlines().index("  - id: INV-1") + 1
    [(failed, message)] = check_invariants(schema, schema.invariants)
    assert failed is second and "not forced on ledger" in message
    # and the writer keeps them
    again = load_canonical_yaml(schema_to_yaml(schema), "x.yaml")
    assert [(i.id, i.kind, i.object, i.expect) for i in again.invariants] == [
        (i.id, i.kind, i.object, i.expect) for i in schema.invariants]
