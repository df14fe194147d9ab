"""`b03lint reconcile`: a real database (built by the real `alembic upgrade`, then altered
by hand) against the canonical schema, with the drift register."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_support import HEAD, PRE_RECONCILIATION, ROOT, alembic_upgrade, b03, role_url
from pgcluster import PostgresCluster

CONFIG = str(ROOT / "pyproject.toml")


@pytest.fixture(scope="module")
def head_url(pg_cluster: PostgresCluster) -> Iterator[str]:
    url = pg_cluster.create_database("reconcile_head")
    alembic_upgrade(url, "head")
    yield url
    pg_cluster.drop_database("reconcile_head")


def _blocking(findings: list[dict[str, object]]) -> list[dict[str, object]]:
    return [f for f in findings if f["severity"] == "blocking"]


def test_head_passes_with_drift_003_as_warnings(head_url: str, tmp_path: Path) -> None:
    out = tmp_path / "artifacts" / "phase2-validation.json"
    run = b03("reconcile", "--database-url", head_url, "--config", CONFIG, "--output", str(out))
    assert run.code == 0, run.text
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["version"] == 1 and report["verdict"] == "PASS"
    assert report["errors"] == []
    assert report["revision"] == HEAD and report["alembic_version"] == [HEAD]
    assert {(f["code"], f["severity"], f["data"]["drift_id"]) for f in report["findings"]} == {
        ("C004", "warning", "SCHEMA-DRIFT-003")}
    assert {f["object"] for f in report["findings"]} == {
        "attribution_allocations.channel_code", "fk_attribution_allocations_channel_code"}
    dbname = head_url.rsplit("/", 1)[1]
    assert all(f["path"].startswith("postgresql://127.0.0.1:") and f"/{dbname}#" in f["path"]
               for f in report["findings"])
    assert "PASS: 0 blocking, 2 warning" in run.out


def test_live_findings_look_like_the_static_ones(head_url: str) -> None:
    """Same rules, objects, severities and register notes as `b03lint check` at head."""
    live = b03("reconcile", "--database-url", head_url, "--config", CONFIG,
               "--output-format", "json").json()
    static = b03("check", "--config", CONFIG, "--select", "contract",
                 "--output-format", "json").json()

    def key(f: dict[str, object]) -> tuple[object, ...]:
        message = str(f["message"]).split(" (canonical:")[0]
        return (f["code"], f["rule"], f["severity"], f["object"], message)

    static_contract = {key(f) for f in static["findings"] if f["code"] not in {"C012", "C014"}}
    assert {key(f) for f in live["findings"]} == static_contract


def test_pre_reconciliation_database_reports_drift_001_and_002(pg_cluster: PostgresCluster
                                                               ) -> None:
    url = pg_cluster.create_database("reconcile_pre")
    try:
        alembic_upgrade(url, PRE_RECONCILIATION)
        run = b03("reconcile", "--database-url", url, "--config", CONFIG,
                  "--output-format", "json")
    finally:
        pg_cluster.drop_database("reconcile_pre")
    assert run.code == 1
    report = run.json()
    assert report["revision"] == PRE_RECONCILIATION
    assert {f["data"].get("drift_id") for f in _blocking(report["findings"])} == {
        "SCHEMA-DRIFT-001", "SCHEMA-DRIFT-002"}
    assert all("not yet applied at this revision" in f["message"]
               for f in _blocking(report["findings"]))


def test_hand_altered_database_reports_each_change_as_blocking(pg_cluster: PostgresCluster,
                                                               tmp_path: Path) -> None:
    url = pg_cluster.create_database("reconcile_altered")
    try:
        alembic_upgrade(url, "head")
        with pg_cluster.connect("reconcile_altered") as conn:
            # an INCLUDE column dropped from the channel performance index
            conn.execute("DROP INDEX idx_allocations_channel_performance")
            conn.execute("CREATE INDEX idx_allocations_channel_performance ON "
                         "attribution_allocations (tenant_id, channel, created_at DESC) "
                         "INCLUDE (allocated_revenue_cents)")
            # a CHECK changed: 'chargeback' no longer allowed
            conn.execute("ALTER TABLE revenue_ledger DROP CONSTRAINT ck_revenue_ledger_state_valid,"
                         " ADD CONSTRAINT ck_revenue_ledger_state_valid"
                         " CHECK (state IN ('authorized', 'captured', 'refunded'))")
        out = tmp_path / "validation.json"
        run = b03("reconcile", "--config", CONFIG, "-o", str(out), env={"DATABASE_URL": url})
    finally:
        pg_cluster.drop_database("reconcile_altered")
    assert run.code == 1, run.text
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["verdict"] == "BLOCKING"
    blocking = {(f["code"], f["object"]) for f in _blocking(report["findings"])}
    assert blocking == {("C002", "idx_allocations_channel_performance"),
                        ("C001", "revenue_ledger.state")}
    index = next(f for f in report["findings"] if f["code"] == "C002")
    assert "INCLUDE (allocated_revenue_cents)" in index["message"]
    assert "SCHEMA-DRIFT-001 resolved by 202511171200, but still present" in index["message"]
    check = next(f for f in report["findings"] if f["code"] == "C001")
    assert "missing 'chargeback'" in check["message"]
    assert "BLOCKING: 2 blocking, 2 warning" in run.out


def test_a_read_only_role_is_enough(pg_cluster: PostgresCluster, head_url: str) -> None:
    """reconcile reads the catalog and alembic_version only: SELECT on that is all it needs."""
    dbname = head_url.rsplit("/", 1)[1]
    with pg_cluster.connect(dbname) as conn:
        conn.execute("DROP ROLE IF EXISTS b03_reader; CREATE ROLE b03_reader LOGIN "
                     "PASSWORD 'reader-pw'")
        conn.execute("GRANT SELECT ON alembic_version TO b03_reader")
    try:
        url = role_url(head_url, "b03_reader", "reader-pw")
        run = b03("reconcile", "--database-url", url, "--config", CONFIG)
        assert run.code == 0, run.text
    finally:
        with pg_cluster.connect(dbname) as conn:
            conn.execute("REVOKE ALL ON alembic_version FROM b03_reader; DROP ROLE b03_reader")


def test_without_a_database_it_says_so() -> None:
    run = b03("reconcile", "--config", CONFIG)
    assert run.code == 2
    assert "pass --database-url URL or set DATABASE_URL" in run.err
