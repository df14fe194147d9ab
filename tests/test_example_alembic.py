"""The bundled example is a real Alembic project that tells the guide's story.

Everything here runs the real ``alembic`` command against a real PostgreSQL server
(tests/pgcluster.py): no mocks. The facts checked:

* the chain upgrades, downgrades to base, upgrades again, and renders offline SQL;
* guide 3.4 probes: at the B0.3 head 'abandoned' is a valid remediation state and
  'ignored' is not; at the pre-reconciliation head 202511161130 the reverse;
* the schema at head equals a database built from db/schema/canonical_schema.sql,
  catalog fact by catalog fact, except exactly SCHEMA-DRIFT-003 (channel_code and
  its foreign key); at 202511161130 the index and the CHECK differ as guide 3.3 says;
* the guide's quoted snippets sit at the quoted lines, the drift register agrees
  with the files, and every destructive migration line carries an ADR waiver.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pgcluster import PostgresCluster

ROOT = Path(__file__).resolve().parents[1]
VERSIONS = ROOT / "alembic" / "versions"
CANONICAL_SQL = ROOT / "db" / "schema" / "canonical_schema.sql"
DRIFT_REGISTER = ROOT / "db" / "schema" / "drift_register.yaml"
ADR_DIR = ROOT / "docs" / "architecture" / "adr"

HEAD = "202511171200"
PRE_RECONCILIATION = "202511161130"
RECONCILIATION_FILE = VERSIONS / "003_data_governance" / "202511171200_reconcile_b03_baseline.py"

Row = tuple[str, ...]
Facts = dict[str, set[Row]]
Diff = dict[str, tuple[set[Row], set[Row]]]

# --------------------------------------------------------------------------- helpers


def _alembic_argv() -> list[str]:
    script = Path(sys.executable).with_name("alembic")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "alembic"]


def alembic(*args: str, url: str | None) -> subprocess.CompletedProcess[str]:
    """Run the real alembic command in the repository root with ``DATABASE_URL=url``."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if url is not None:
        env["DATABASE_URL"] = url
    return subprocess.run(
        [*_alembic_argv(), "-c", str(ROOT / "alembic.ini"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def alembic_ok(*args: str, url: str | None) -> str:
    result = alembic(*args, url=url)
    assert result.returncode == 0, (
        f"alembic {' '.join(args)} failed ({result.returncode}):\n"
        f"{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


_CATALOG_QUERIES = {
    "tables": r"""
        SELECT c.relname, c.relrowsecurity::text, c.relforcerowsecurity::text
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
           AND c.relname <> 'alembic_version'""",
    "columns": r"""
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull::text, coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
               a.attidentity::text, a.attgenerated::text
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
           AND a.attnum > 0 AND NOT a.attisdropped
           AND c.relname <> 'alembic_version'""",
    "constraints": r"""
        SELECT c.relname, co.conname, co.contype::text, pg_get_constraintdef(co.oid),
               co.convalidated::text, co.condeferrable::text
          FROM pg_constraint co
          JOIN pg_class c ON c.oid = co.conrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relname <> 'alembic_version'""",
    "indexes": r"""
        SELECT tablename, indexname, indexdef
          FROM pg_indexes
         WHERE schemaname = 'public' AND tablename <> 'alembic_version'""",
    "policies": r"""
        SELECT tablename, policyname, permissive, array_to_string(roles, ','), cmd,
               coalesce(qual, ''), coalesce(with_check, '')
          FROM pg_policies
         WHERE schemaname = 'public'""",
    "triggers": r"""
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid)
          FROM pg_trigger t
          JOIN pg_class c ON c.oid = t.tgrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND NOT t.tgisinternal""",
    "functions": r"""
        SELECT p.proname, pg_get_function_identity_arguments(p.oid),
               pg_get_function_result(p.oid), l.lanname,
               btrim(regexp_replace(p.prosrc, '\s+', ' ', 'g'))
          FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace
          JOIN pg_language l ON l.oid = p.prolang
         WHERE n.nspname = 'public'""",
    "extensions": "SELECT extname FROM pg_extension",
}


def catalog_facts(url: str) -> Facts:
    """What the guide's pg_dump diff compares, as sets of catalog rows (order-free)."""
    facts: Facts = {}
    with connect(url) as conn:
        for kind, query in _CATALOG_QUERIES.items():
            facts[kind] = {tuple(str(v) for v in row) for row in conn.execute(query)}
    return facts


def differences(left: Facts, right: Facts) -> Diff:
    """Per kind: (only in left, only in right), for kinds that differ."""
    out: Diff = {}
    for kind in left.keys() | right.keys():
        only_left = left.get(kind, set()) - right.get(kind, set())
        only_right = right.get(kind, set()) - left.get(kind, set())
        if only_left or only_right:
            out[kind] = (only_left, only_right)
    return out


def fact(facts: Facts, kind: str, *key: str) -> Row:
    """The one row of ``kind`` whose leading fields are ``key``."""
    rows = [row for row in facts[kind] if row[: len(key)] == key]
    assert len(rows) == 1, f"{kind} {key}: {rows}"
    return rows[0]


def insert_dead_event(url: str, status: str) -> str | None:
    """Guide 3.4's probe INSERT, rolled back; returns the error message or None."""
    import psycopg

    tenant = uuid.uuid4()
    with connect(url) as conn:
        try:
            with conn.transaction(force_rollback=True):
                conn.execute(
                    "INSERT INTO tenants (id, name, api_key_hash) VALUES (%s, 'probe', %s)",
                    (tenant, uuid.uuid4().hex),
                )
                conn.execute(
                    "INSERT INTO dead_events (id, tenant_id, event_type, raw_payload, error_type,"
                    " error_message, retry_count, remediation_status)"
                    " VALUES (gen_random_uuid(), %s, 'ingest_failure', '{}'::jsonb,"
                    " 'validation_error', 'test', 0, %s)",
                    (tenant, status),
                )
        except psycopg.errors.CheckViolation as exc:
            return str(exc)
    return None


# --------------------------------------------------------------------------- databases


@pytest.fixture(scope="module")
def canonical_db(pg_cluster: PostgresCluster) -> Iterator[str]:
    """A database built from canonical_schema.sql alone."""
    url = pg_cluster.create_database("example_canonical")
    with connect(url) as conn:
        conn.execute(CANONICAL_SQL.read_text(encoding="utf-8"))
    yield url
    pg_cluster.drop_database("example_canonical")


@pytest.fixture(scope="module")
def head_db(pg_cluster: PostgresCluster) -> Iterator[str]:
    """A database migrated by `alembic upgrade head`."""
    url = pg_cluster.create_database("example_head")
    alembic_ok("upgrade", "head", url=url)
    yield url
    pg_cluster.drop_database("example_head")


@pytest.fixture(scope="module")
def pre_reconciliation_db(pg_cluster: PostgresCluster) -> Iterator[str]:
    """A database migrated to 202511161130, the head before the reconciliation."""
    url = pg_cluster.create_database("example_pre_reconciliation")
    alembic_ok("upgrade", PRE_RECONCILIATION, url=url)
    yield url
    pg_cluster.drop_database("example_pre_reconciliation")


# --------------------------------------------------------------------------- the chain runs


def test_one_head_the_b03_baseline() -> None:
    out = alembic_ok("heads", url=None)
    assert out.split() == [HEAD, "(head)"]


def test_upgrade_downgrade_base_upgrade_again(pg_database: str, head_db: str) -> None:
    alembic_ok("upgrade", "head", url=pg_database)
    assert alembic_ok("current", url=pg_database).split()[:1] == [HEAD]

    alembic_ok("downgrade", "base", url=pg_database)
    left = catalog_facts(pg_database)
    assert left["tables"] == set(), "downgrade base must remove every table it created"
    assert left["functions"] == set()

    alembic_ok("upgrade", "head", url=pg_database)
    assert differences(catalog_facts(pg_database), catalog_facts(head_db)) == {}


def test_downgrade_one_step_restores_the_pre_reconciliation_schema(
    pg_database: str, pre_reconciliation_db: str
) -> None:
    """Guide 6.1: `alembic downgrade -1` from the baseline is exact."""
    alembic_ok("upgrade", HEAD, url=pg_database)
    alembic_ok("downgrade", "-1", url=pg_database)
    assert alembic_ok("current", url=pg_database).split()[:1] == [PRE_RECONCILIATION]
    assert differences(catalog_facts(pg_database), catalog_facts(pre_reconciliation_db)) == {}
    assert insert_dead_event(pg_database, "ignored") is None
    alembic_ok("upgrade", HEAD, url=pg_database)
    assert insert_dead_event(pg_database, "abandoned") is None


def test_offline_sql_renders_the_whole_chain(pg_cluster: PostgresCluster) -> None:
    sql = alembic_ok("upgrade", "head", "--sql", url=pg_cluster.url("postgres"))
    assert sql.count("CREATE TABLE") == 7  # six tables + alembic_version
    assert (
        "CREATE INDEX idx_allocations_channel_performance ON attribution_allocations "
        "(tenant_id, channel, created_at DESC) "
        "INCLUDE (allocated_revenue_cents, confidence_score)"
    ) in sql
    assert f"UPDATE alembic_version SET version_num='{HEAD}'" in sql
    # no database is needed to render SQL
    assert alembic_ok("upgrade", "head", "--sql", url=None) == sql


def test_online_without_database_url_fails_clearly() -> None:
    result = alembic("upgrade", "head", url=None)
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- guide 3.4 probes


def test_remediation_states_at_the_b03_head(head_db: str) -> None:
    assert insert_dead_event(head_db, "abandoned") is None
    error = insert_dead_event(head_db, "ignored")
    assert error is not None
    assert 'violates check constraint "ck_dead_events_remediation_status_valid"' in error


def test_remediation_states_before_the_reconciliation(pre_reconciliation_db: str) -> None:
    assert insert_dead_event(pre_reconciliation_db, "ignored") is None
    error = insert_dead_event(pre_reconciliation_db, "abandoned")
    assert error is not None
    assert 'violates check constraint "ck_dead_events_remediation_status_valid"' in error


def test_tenant_isolation_policy_applies_to_the_table_owner(head_db: str) -> None:
    """FORCE ROW LEVEL SECURITY: even the owning role sees only its tenant's rows."""
    role = f"app_{uuid.uuid4().hex[:8]}"
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    with connect(head_db) as conn, conn.transaction(force_rollback=True):
        for tenant in (tenant_a, tenant_b):
            conn.execute(
                "INSERT INTO tenants (id, name, api_key_hash) VALUES (%s, 'rls', %s)",
                (tenant, uuid.uuid4().hex),
            )
            conn.execute(
                "INSERT INTO dead_events (tenant_id, event_type, raw_payload, error_type,"
                " error_message) VALUES (%s, 'x', '{}', 'validation_error', 'test')",
                (tenant,),
            )
        conn.execute(f"CREATE ROLE {role} NOLOGIN")
        conn.execute(f"ALTER TABLE dead_events OWNER TO {role}")
        conn.execute(f"SET LOCAL ROLE {role}")
        conn.execute("SELECT set_config('app.current_tenant_id', %s, true)", (str(tenant_a),))
        seen = {row[0] for row in conn.execute("SELECT tenant_id FROM dead_events")}
        assert seen == {tenant_a}


# --------------------------------------------------------------------------- equivalence


def test_head_equals_canonical_except_drift_003(head_db: str, canonical_db: str) -> None:
    migrated, canonical = catalog_facts(head_db), catalog_facts(canonical_db)
    diff = differences(migrated, canonical)
    # SCHEMA-DRIFT-003 (open, ADR-004): the chain keeps channel_code and its FK.
    assert diff == {
        "columns": (
            {("attribution_allocations", "channel_code", "character varying(100)", "true",
              "", "", "")},
            set(),
        ),
        "constraints": (
            {("attribution_allocations", "fk_attribution_allocations_channel_code", "f",
              "FOREIGN KEY (channel_code) REFERENCES channel_taxonomy(code)", "true", "false")},
            set(),
        ),
    }
    # the guide 4.3 invariants, read from the migrated catalog
    tenant_scoped = {row[0] for row in migrated["columns"] if row[1] == "tenant_id"}
    assert tenant_scoped == {
        "attribution_events", "attribution_allocations", "revenue_ledger", "dead_events",
    }
    for table in tenant_scoped:
        assert fact(migrated, "tables", table) == (table, "true", "true")
        assert fact(migrated, "policies", table, "tenant_isolation_policy")[-2:] == (
            "(tenant_id = (NULLIF(current_setting('app.current_tenant_id'::text, true), "
            "''::text))::uuid)",
        ) * 2


def test_pre_reconciliation_head_shows_drift_001_and_002(
    pre_reconciliation_db: str, canonical_db: str
) -> None:
    """Guide 3.3: the index and the CHECK diverged before 202511171200."""
    migrated, canonical = catalog_facts(pre_reconciliation_db), catalog_facts(canonical_db)

    index = "idx_allocations_channel_performance"
    migrated_index = fact(migrated, "indexes", "attribution_allocations", index)[2]
    canonical_index = fact(canonical, "indexes", "attribution_allocations", index)[2]
    assert canonical_index.endswith(
        "USING btree (tenant_id, channel, created_at DESC) "
        "INCLUDE (allocated_revenue_cents, confidence_score)"
    )
    assert migrated_index == canonical_index.replace("(tenant_id, channel,", "(tenant_id, channel_code,")
    legacy = {row[1] for row in migrated["indexes"]} - {row[1] for row in canonical["indexes"]}
    assert legacy == {"idx_allocations_tenant_id", "idx_allocations_channel_code"}

    check = "ck_dead_events_remediation_status_valid"
    migrated_check = fact(migrated, "constraints", "dead_events", check)[3]
    canonical_check = fact(canonical, "constraints", "dead_events", check)[3]
    assert "'ignored'" in migrated_check and "'abandoned'" not in migrated_check
    assert "'abandoned'" in canonical_check and "'ignored'" not in canonical_check
    assert migrated_check == canonical_check.replace("'abandoned'", "'ignored'")

    migrated_columns = {row[:2] for row in migrated["columns"]}
    assert ("attribution_allocations", "channel") not in migrated_columns


# --------------------------------------------------------------------------- the files


GUIDE_SNIPPETS = [
    (
        CANONICAL_SQL, 210, 219,
        "CREATE INDEX idx_allocations_channel_performance \n"
        "    ON attribution_allocations (tenant_id, channel, created_at DESC) \n"
        "    INCLUDE (allocated_revenue_cents, confidence_score);\n",
    ),
    (
        VERSIONS / "003_data_governance" / "202511151420_add_allocations_statistical_fields.py",
        178, 183,
        '    op.execute("""\n'
        "        CREATE INDEX idx_allocations_channel_performance \n"
        "        ON attribution_allocations (tenant_id, channel_code, created_at DESC) \n"
        "        INCLUDE (allocated_revenue_cents, confidence_score)\n"
        '    """)\n',
    ),
    (
        VERSIONS / "003_data_governance" / "202511151440_add_dead_events_retry_tracking.py",
        161, 165,
        "        ADD CONSTRAINT ck_dead_events_remediation_status_valid \n"
        "        CHECK (remediation_status IN ('pending', 'in_progress', 'resolved', 'ignored'))\n",
    ),
    (
        CANONICAL_SQL, 389, 393,
        "ALTER TABLE dead_events \n"
        "    ADD CONSTRAINT ck_dead_events_remediation_status_valid \n"
        "    CHECK (remediation_status IN ('pending', 'in_progress', 'resolved', 'abandoned'));\n",
    ),
]


@pytest.mark.parametrize(
    ("path", "first", "last", "snippet"),
    GUIDE_SNIPPETS,
    ids=[f"{p.name}:{a}-{b}" for p, a, b, _ in GUIDE_SNIPPETS],
)
def test_guide_snippets_sit_at_the_quoted_lines(path: Path, first: int, last: int, snippet: str) -> None:
    """Guide 3.3 cites these line ranges; the snippet must lie inside its range. Trailing
    blanks are ignored (the guide's quotes have some; ruff strips them from .py files)."""
    lines = [line.rstrip() for line in path.read_text(encoding="utf-8").splitlines()]
    wanted = [line.rstrip() for line in snippet.splitlines()]
    window = lines[first - 1 : last]
    starts = [i for i in range(len(window)) if window[i : i + len(wanted)] == wanted]
    assert len(starts) == 1, f"{path.name}:{first}-{last} should hold the quoted snippet"


_DESTRUCTIVE = re.compile(
    r"\b(op|batch_op)\.(drop_\w+|rename_table)\b"
    r"|\bDROP (TABLE|INDEX|CONSTRAINT|COLUMN|POLICY|TRIGGER|FUNCTION)\b"
    r"|\b(NO FORCE|DISABLE) ROW LEVEL SECURITY\b|\bTRUNCATE\b"
)
_WAIVER = re.compile(r"(#|--) CI:DESTRUCTIVE_OK - See (ADR-\d{3})")


def _docstring_lines(source: str) -> set[int]:
    tree = ast.parse(source)
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        return set(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return set()


def test_every_destructive_migration_line_carries_an_adr_waiver() -> None:
    """ADR-002: drops, renames, RLS removal and TRUNCATE carry a waiver on the line or the
    line above; the reconciliation's waivers cite ADR-003, the ADR that authorises it."""
    adrs = {p.name[:7] for p in ADR_DIR.glob("ADR-*.md")}
    checked = 0
    for path in sorted(VERSIONS.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        docstring = _docstring_lines(source)
        lines = source.splitlines()
        for number, line in enumerate(lines, start=1):
            code = line.split("#", 1)[0].split("--", 1)[0]
            if number in docstring or not _DESTRUCTIVE.search(code):
                continue
            checked += 1
            waiver = _WAIVER.search(line) or (number > 1 and _WAIVER.search(lines[number - 2]))
            where = f"{path.relative_to(ROOT)}:{number}"
            assert waiver, f"{where}: destructive line without a waiver"
            assert waiver.group(2) in adrs, f"{where}: the waiver cites a missing ADR"
            if path == RECONCILIATION_FILE:
                assert waiver.group(2) == "ADR-003", where
    assert checked >= 30


def test_drift_register_matches_the_example() -> None:
    register = yaml.safe_load(DRIFT_REGISTER.read_text(encoding="utf-8"))
    assert register["version"] == 1
    entries = {entry["id"]: entry for entry in register["entries"]}
    assert list(entries) == ["SCHEMA-DRIFT-001", "SCHEMA-DRIFT-002", "SCHEMA-DRIFT-003"]
    keys = {"id", "object", "also", "drift_type", "canonical_truth", "migration_state",
            "resolution", "status", "status_note", "adr", "revisions"}
    revisions = {p.name.split("_", 1)[0] for p in VERSIONS.rglob("*.py")}
    adrs = {p.name[:7] for p in ADR_DIR.glob("ADR-*.md")}
    for entry in entries.values():
        assert set(entry) == keys
        assert entry["status"] in {"open", "resolved"}
        assert set(entry["revisions"]) <= revisions
        assert entry["adr"] is None or entry["adr"] in adrs
    assert [e["status"] for e in entries.values()] == ["resolved", "resolved", "open"]
    drift_003 = entries["SCHEMA-DRIFT-003"]
    assert drift_003["object"] == "attribution_allocations.channel"
    assert drift_003["also"] == [
        "attribution_allocations.channel_code", "fk_attribution_allocations_channel_code",
    ]
    assert drift_003["adr"] == "ADR-004"
