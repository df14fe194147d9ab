"""`b03lint rebuild --trace` of the bundled example on a real server, through the migration
process: every statement Alembic sends is measured and judged by the lock model, per
statement in text, JSON and the evidence folder; the tables hold generated rows between
revisions; the server's major decides the judgement."""

from __future__ import annotations

import json
from pathlib import Path

from live_support import HEAD, ROOT, b03, scratch_databases
from pgcluster import PostgresCluster

CONFIG = str(ROOT / "pyproject.toml")


def test_the_example_traced_agrees_with_the_model(pg_cluster: PostgresCluster,
                                                  tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    run = b03("rebuild", "--trace", "--database-url", pg_cluster.url(), "--config", CONFIG,
              "--output-format", "json", "--evidence", str(evidence))
    assert scratch_databases(pg_cluster) == []
    assert run.code == 0, run.text
    report = run.json()
    assert report["verdict"] == "PASS" and report["revision"] == HEAD
    trace = report["trace"]
    assert trace["postgres_version"] == trace["configured_postgres_version"] == 15
    assert trace["counts"]["disagrees"] == 0 and trace["counts"]["verified"] > 40
    assert not [f for f in report["findings"] if f["code"] == "M005"]
    # every revision ran, one at a time, each statement with the model and the server
    revisions = {s["revision"] for s in trace["statements"]}
    assert HEAD in revisions and len(revisions) >= 6
    first = next(s for s in trace["statements"] if s["sql"].lstrip().startswith(
        "CREATE UNIQUE INDEX idx_tenants_api_key_hash"))
    assert first["status"] == "verified" and first["model"][0]["mode"] == "SHARE"
    assert first["observed"]["scanned"] == ["tenants"]
    assert first["path"].endswith("202511131000_create_core_tables.py")
    # the tables held rows for the next revisions
    assert trace["seeded"]["202511131000"]["rows"]["tenants"] == 3
    # the channel taxonomy's foreign key cannot hold on generated channel codes: a warning,
    # and the revision ran again on empty tables
    (fails,) = [f for f in report["findings"] if f["code"] == "M006"]
    assert fails["severity"] == "warning" and "202511141000" in fails["message"]
    assert list(trace["failed_with_rows"]) == ["202511141000"]
    text = (evidence / "phase3-lock-trace.txt").read_text(encoding="utf-8")
    assert text.startswith("Lock trace on PostgreSQL 15: ")
    assert "      model:    SHARE on tenants; no rewrite; scans" in text
    saved = json.loads((evidence / "phase2-validation.json").read_text(encoding="utf-8"))
    assert saved["trace"]["counts"] == trace["counts"]


def test_text_output_lists_each_statement(pg_cluster: PostgresCluster) -> None:
    run = b03("rebuild", "--trace", "--rev", "202511131030", "--database-url",
              pg_cluster.url(), "--config", CONFIG)
    assert run.code in (0, 1), run.text
    lines = run.out.splitlines()
    assert lines[0].startswith("Lock trace on PostgreSQL 15: ")
    (rls,) = [i for i, line in enumerate(lines)
              if "ALTER TABLE attribution_events ENABLE ROW LEVEL SECURITY" in line]
    assert lines[rls + 1].strip() == ("model:    ACCESS EXCLUSIVE on attribution_events; "
                                      "no rewrite")
    assert lines[rls + 2].strip().startswith("server:   ACCESS EXCLUSIVE on attribution_events")
    assert lines[rls + 3].strip().startswith("verified: ACCESS EXCLUSIVE on attribution_events")
    assert "lock trace of" in lines[-1]


def test_trace_and_roundtrip_are_separate_runs(pg_cluster: PostgresCluster) -> None:
    run = b03("rebuild", "--trace", "--roundtrip", "--database-url", pg_cluster.url(),
              "--config", CONFIG)
    assert run.code == 2
    assert "--trace and --roundtrip: run them separately" in run.out


def test_the_servers_major_decides(pg_cluster: PostgresCluster, example_copy: Path) -> None:
    """The configured postgres_version is for the static lock rules; the trace judges with
    the major of the server it ran on, and says so when they differ."""
    config = example_copy / "pyproject.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[tool.b03lint]\n", "[tool.b03lint]\npostgres_version = 12\n",
                                   1), encoding="utf-8")
    run = b03("rebuild", "--trace", "--rev", "202511131030", "--database-url",
              pg_cluster.url(), "--config", str(config))
    assert run.code in (0, 1), run.text
    assert ("note: judged for PostgreSQL 15, the server's major; the configuration says "
            "postgres_version = 12, which the static lock rules use") in run.out
