"""`b03lint rebuild` of the bundled example on a real server: the guide's story (PASS at
the B0.3 head, SCHEMA-DRIFT-001 and -002 before the reconciliation), the static replay
proved at every revision, probes, the round trip, evidence, cleanup."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from live_support import (
    HEAD,
    PRE_RECONCILIATION,
    ROOT,
    Run,
    b03,
    copy_example,
    scratch_databases,
)
from pgcluster import PostgresCluster

CONFIG = str(ROOT / "pyproject.toml")
REVISIONS = sorted(p.name.split("_", 1)[0] for p in (ROOT / "alembic" / "versions").rglob("*.py")
                   if p.name[:1].isdigit())
PRE_FILE = ("alembic/versions/003_data_governance/"
            "202511161130_enforce_revenue_ledger_transaction_id.py")


def rebuild(cluster: PostgresCluster, *args: str, config: str = CONFIG) -> Run:
    run = b03("rebuild", "--database-url", cluster.url(), "--config", config,
              "--output-format", "json", *args)
    assert scratch_databases(cluster) == [], "the scratch database must be dropped"
    return run


def _probe(report: dict[str, object], value: str) -> str:
    probes = report["probes"]
    assert isinstance(probes, list)
    (hit,) = [p for p in probes if p["table"] == "dead_events"
              and p["column"] == "remediation_status" and p["value"] == value]
    return str(hit["outcome"])


def test_example_at_head_passes(pg_cluster: PostgresCluster) -> None:
    run = rebuild(pg_cluster)
    assert run.code == 0, run.text
    report = run.json()
    assert report["verdict"] == "PASS" and report["revision"] == HEAD
    assert report["database"].startswith("postgresql://127.0.0.1:")
    assert "/b03lint_scratch_" in report["database"]
    assert {(f["code"], f["severity"], f["data"].get("drift_id")) for f in report["findings"]
            } == {("C004", "warning", "SCHEMA-DRIFT-003")}


def test_example_before_the_reconciliation_has_drift_001_and_002(
        pg_cluster: PostgresCluster) -> None:
    run = rebuild(pg_cluster, "--rev", PRE_RECONCILIATION)
    assert run.code == 1, run.text
    report = run.json()
    blocking = [f for f in report["findings"] if f["severity"] == "blocking"]
    assert {f["data"].get("drift_id") for f in blocking} == {"SCHEMA-DRIFT-001",
                                                              "SCHEMA-DRIFT-002"}
    assert {f["code"] for f in blocking} == {"C001", "C002", "C004"}
    assert not [f for f in report["findings"] if f["code"].startswith("M")]


@pytest.mark.parametrize("revision", REVISIONS)
def test_static_replay_agrees_with_postgresql(pg_cluster: PostgresCluster,
                                              revision: str) -> None:
    """M001 would report every fact where b03lint's replay and the real catalog differ."""
    run = rebuild(pg_cluster, "--rev", revision)
    assert run.code in (0, 1), run.text
    report = run.json()
    assert report["errors"] == []
    mismatches = [f["message"] for f in report["findings"] if f["code"] == "M001"]
    assert mismatches == []


def test_probes_at_head_and_before_the_reconciliation(pg_cluster: PostgresCluster) -> None:
    head = rebuild(pg_cluster, "--probes").json()
    assert (_probe(head, "abandoned"), _probe(head, "ignored")) == ("accepted", "rejected")
    assert not [f for f in head["findings"] if f["code"] == "M002"]
    assert all(p["outcome"] == p["expected"] for p in head["probes"])

    pre = rebuild(pg_cluster, "--probes", "--rev", PRE_RECONCILIATION).json()
    assert (_probe(pre, "abandoned"), _probe(pre, "ignored")) == ("rejected", "accepted")
    failed = {(f["data"]["value"], f["severity"]) for f in pre["findings"] if f["code"] == "M002"}
    assert failed == {("abandoned", "blocking"), ("ignored", "blocking")}
    m002 = next(f for f in pre["findings"] if f["code"] == "M002")
    # reported where the chain shaped the constraint, with the register's note
    assert m002["path"].endswith("202511151440_add_dead_events_retry_tracking.py")
    assert "SCHEMA-DRIFT-002" in m002["message"]


def test_roundtrip_passes_and_writes_the_evidence(pg_cluster: PostgresCluster,
                                                  tmp_path: Path) -> None:
    evidence = tmp_path / "artifacts"
    run = rebuild(pg_cluster, "--roundtrip", "--probes", "--evidence", str(evidence))
    assert run.code == 0, run.text
    assert sorted(p.name for p in evidence.iterdir()) == [
        "phase2-validation.json", "phase3-baseline-rebuild.log",
        "phase3-psql-verification.txt", "phase5-downgrade.log"]
    report = json.loads((evidence / "phase2-validation.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "PASS"
    log = (evidence / "phase3-baseline-rebuild.log").read_text(encoding="utf-8")
    assert re.search(r"\$ createdb b03lint_scratch_\w+", log)
    assert f"alembic -c alembic.ini upgrade {HEAD}" in log
    assert re.search(r"\$ dropdb b03lint_scratch_\w+", log)
    downgrade = (evidence / "phase5-downgrade.log").read_text(encoding="utf-8")
    for revision in REVISIONS:
        assert f"schema after downgrade of {revision} == schema at" in downgrade
        assert f"schema after upgrading {revision} again == schema before" in downgrade
    assert f"Running downgrade {HEAD} -> {PRE_RECONCILIATION}" in downgrade
    psql = (evidence / "phase3-psql-verification.txt").read_text(encoding="utf-8")
    assert ("CREATE INDEX idx_allocations_channel_performance ON "
            "public.attribution_allocations USING btree (tenant_id, channel, created_at DESC) "
            "INCLUDE (allocated_revenue_cents, confidence_score)") in psql
    assert "dead_events.remediation_status = 'abandoned': accepted (must accept)" in psql
    assert ("dead_events.remediation_status = 'ignored': rejected (must reject): new row for "
            'relation "dead_events" violates check constraint '
            '"ck_dead_events_remediation_status_valid"') in psql
    assert "relrowsecurity AS row_security" in psql
    assert re.search(r"dead_events\s+\| True\s+\| True", psql)


def test_roundtrip_catches_a_downgrade_that_leaves_an_index(pg_cluster: PostgresCluster,
                                                            tmp_path: Path) -> None:
    config = copy_example(tmp_path)
    path = tmp_path / PRE_FILE
    source = path.read_text(encoding="utf-8")
    planted = re.sub(r"\n    op\.drop_index\(\"idx_revenue_ledger_transaction_id\".*", "",
                     source)
    assert planted != source
    path.write_text(planted, encoding="utf-8")
    run = rebuild(pg_cluster, "--roundtrip", config=str(config))
    assert run.code == 1, run.text
    findings = run.json()["findings"]
    residue = [f for f in findings if f["code"] == "M004"]
    assert len(residue) == 1
    assert residue[0]["data"]["revision"] == PRE_RECONCILIATION
    assert residue[0]["object"] == "idx_revenue_ledger_transaction_id"
    assert residue[0]["message"].startswith(
        f"downgrade of {PRE_RECONCILIATION} does not restore the schema the upgrade path built "
        "at 202511151440: index idx_revenue_ledger_transaction_id on revenue_ledger")
    assert residue[0]["path"].endswith(PRE_FILE)
    lines = planted.splitlines()
    assert lines[residue[0]["line"] - 1].startswith("def downgrade")
    # the full walk goes on down to the base (which drops the table, index and all), so
    # every upgrade back up succeeds; with two steps, the re-upgrade meets the leftover
    assert not [f for f in findings if f["code"] == "M003"]
    short = rebuild(pg_cluster, "--roundtrip", "--steps", "2", config=str(config))
    assert short.code == 1, short.text
    findings = short.json()["findings"]
    assert [f["data"]["revision"] for f in findings if f["code"] == "M004"] == [
        PRE_RECONCILIATION]
    failed = [f for f in findings if f["code"] == "M003"]
    assert len(failed) == 1 and failed[0]["data"] == {"revision": PRE_RECONCILIATION,
                                                      "phase": "upgrade"}
    assert 'relation "idx_revenue_ledger_transaction_id" already exists' in failed[0]["message"]
    assert "op.create_index(" in lines[failed[0]["line"] - 1]


def test_a_failing_upgrade_is_a_finding_at_its_line(pg_cluster: PostgresCluster,
                                                    tmp_path: Path) -> None:
    config = copy_example(tmp_path)
    path = tmp_path / PRE_FILE
    source = path.read_text(encoding="utf-8")
    path.write_text(source.replace("def upgrade() -> None:\n",
                                   "def upgrade() -> None:\n    op.execute('SELECT 1 / 0')\n"),
                    encoding="utf-8")
    run = rebuild(pg_cluster, config=str(config))
    assert run.code == 1, run.text
    (finding,) = run.json()["findings"]
    assert finding["code"] == "M003" and finding["path"].endswith(PRE_FILE)
    assert "division by zero" in finding["message"]
    assert path.read_text(encoding="utf-8").splitlines()[finding["line"] - 1].strip() == (
        "op.execute('SELECT 1 / 0')")


def test_without_a_url_on_a_throwaway_local_cluster(pg_cluster: PostgresCluster) -> None:
    """(pg_cluster only guarantees that the server binaries are installed.)"""
    run = b03("rebuild", "--config", CONFIG, "--verbose")
    assert run.code == 0, run.text
    assert "on a throwaway local cluster" in run.out
    (root,) = re.findall(r"# local cluster running in (\S+) \(socket only\)", run.err)
    assert "pg_ctl stop" in run.err
    assert not Path(root).exists()
    running = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True,
                             check=False).stdout
    assert root not in running


def test_an_existing_database_is_never_touched(pg_cluster: PostgresCluster) -> None:
    from b03lint.live import LiveError
    from b03lint.live.connect import Target
    from b03lint.live.evidence import Evidence
    from b03lint.live.rebuild import Scratch

    pg_cluster.create_database("b03lint_scratch_taken")
    try:
        scratch = Scratch(Target.parse(pg_cluster.url()), Evidence())
        scratch.name = "b03lint_scratch_taken"
        with pytest.raises(LiveError, match="already exists"):
            scratch.create()
        assert scratch.drop() is None
        assert scratch_databases(pg_cluster) == ["b03lint_scratch_taken"]
    finally:
        pg_cluster.drop_database("b03lint_scratch_taken")


def test_unknown_revision_is_an_error(pg_cluster: PostgresCluster) -> None:
    run = rebuild(pg_cluster, "--rev", "nope")
    assert run.code == 2
    assert "unknown revision 'nope'" in run.out


def test_an_env_py_that_ignores_database_url_is_caught(pg_cluster: PostgresCluster,
                                                      tmp_path: Path) -> None:
    """env.py hard-codes another database: refused before it is connected to (the checks
    of every connection target are in test_live_isolation.py)."""
    config = copy_example(tmp_path)
    decoy = pg_cluster.create_database("decoy_db")
    env_py = tmp_path / "alembic" / "env.py"
    source = env_py.read_text(encoding="utf-8")
    env_py.write_text(source.replace(
        "    url = database_url()\n    if url is None:",
        f"    url = sqlalchemy_url({decoy!r})\n    if url is None:"), encoding="utf-8")
    try:
        run = rebuild(pg_cluster, config=str(config))
    finally:
        pg_cluster.drop_database("decoy_db")
    assert run.code == 2, run.text
    assert "refused: env.py or a migration was about to connect" in run.out
    assert "/decoy_db, whose URL came from env.py or the migration code" in run.out


def test_roundtrip_goes_down_to_the_baseline_revision(pg_cluster: PostgresCluster,
                                                      tmp_path: Path) -> None:
    config = copy_example(tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[tool.b03lint]\n",
                                   f'[tool.b03lint]\nbaseline_revision = "{PRE_RECONCILIATION}"\n',
                                   1), encoding="utf-8")
    evidence = tmp_path / "evidence"
    run = rebuild(pg_cluster, "--roundtrip", "--evidence", str(evidence), config=str(config))
    assert run.code == 0, run.text
    log = (evidence / "phase5-downgrade.log").read_text(encoding="utf-8")
    assert f"# round trip of 2 revision(s): {HEAD}, {PRE_RECONCILIATION}" in log
    assert log.count("alembic -c alembic.ini downgrade") == 2
