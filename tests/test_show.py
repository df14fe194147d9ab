"""`b03lint show OBJECT`: the guide's section 2.4 walk in one command, on the bundled
example (and on small chains built here for renames and unregistered drift)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from b03lint.cli import main

REPO = Path(__file__).resolve().parent.parent
V = "alembic/versions/003_data_governance"
CREATE_DEAD = f"{V}/202511151400_create_dead_events.py"
RETRY = f"{V}/202511151440_add_dead_events_retry_tracking.py"
RECONCILE = f"{V}/202511171200_reconcile_b03_baseline.py"
STATS = f"{V}/202511151420_add_allocations_statistical_fields.py"
SQL = "db/schema/canonical_schema.sql"
YAML = "db/schema/canonical_schema.yaml"


def line_of(rel: str, needle: str, after: str | None = None) -> int:
    """1-based line of the first ``needle`` in ``rel`` (after the first ``after``)."""
    lines = (REPO / rel).read_text().splitlines()
    start = 0
    if after is not None:
        start = next(i for i, text in enumerate(lines) if after in text)
    return next(i for i, text in enumerate(lines[start:], start + 1) if needle in text)


def show_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
              *args: str, cwd: Path = REPO) -> dict[str, Any]:
    monkeypatch.chdir(cwd)
    code = main(["show", *args, "--output-format", "json"])
    out = capsys.readouterr().out
    assert code == 0, out
    data: dict[str, Any] = json.loads(out)
    return data


# --------------------------------------------------------------------------- guide 2.4


def test_guide_2_4_scenario_as_a_command() -> None:
    """The exit-gate scenario: valid states of dead_events.remediation_status, answered by
    the real command line in the repository root."""
    proc = subprocess.run([sys.executable, "-m", "b03lint", "show",
                           "dead_events.remediation_status"], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "Traceback" not in proc.stderr
    # 1. the conceptual intent: ADR-001 names the object
    adr_line = line_of("docs/architecture/adr/ADR-001-schema-source-of-truth.md",
                       "dead_events.remediation_status")
    assert (f"docs/architecture/adr/ADR-001-schema-source-of-truth.md:{adr_line}:"
            in out)
    # 2. canonical values, with their place in the canonical SQL and the YAML
    check_line = line_of(SQL, "ADD CONSTRAINT ck_dead_events_remediation_status_valid")
    assert check_line in (389, 390, 391)  # the guide quotes 389:393
    assert (f"allowed values: pending, in_progress, resolved, abandoned  "
            f"(check constraint ck_dead_events_remediation_status_valid, {SQL}:{check_line})"
            in out)
    column_line = line_of(SQL, "remediation_status  VARCHAR(20)")
    assert f"varchar(20) NOT NULL DEFAULT 'pending'  [{SQL}:{column_line}]" in out
    yaml_line = line_of(YAML, "remediation_status: {type: varchar(20)")
    assert f"[{YAML}:{yaml_line}]" in out
    # 3. the migrations, in chain order, with their lines
    ignored = line_of(RETRY, "ADD CONSTRAINT ck_dead_events_remediation_status_valid")
    dropped = line_of(RECONCILE, 'drop_constraint("ck_dead_events_remediation_status_valid"')
    added = line_of(RECONCILE, "op.create_check_constraint(",
                    after="SCHEMA-DRIFT-002: canonical remediation lifecycle")
    expected = [f"202511151440  {RETRY}:{ignored}: add check constraint "
                "ck_dead_events_remediation_status_valid on dead_events: CHECK "
                "(remediation_status IN ('pending', 'in_progress', 'resolved', 'ignored'))",
                f"202511171200  {RECONCILE}:{dropped}: drop constraint "
                "ck_dead_events_remediation_status_valid on dead_events "
                "(waiver: CI:DESTRUCTIVE_OK, ADR-003)",
                f"202511171200  {RECONCILE}:{added}: add check constraint "
                "ck_dead_events_remediation_status_valid on dead_events: CHECK "
                "(remediation_status IN ('pending', 'in_progress', 'resolved', 'abandoned'))"]
    positions = [out.index(text) for text in expected]
    assert positions == sorted(positions)
    created = line_of(CREATE_DEAD, '"remediation_status"')
    assert out.index(f"202511151400  {CREATE_DEAD}:{created}: create table dead_events with "
                     "column remediation_status varchar(20) NOT NULL") < positions[0]
    # 4. the state at head matches, and the register says SCHEMA-DRIFT-002 is resolved
    assert "State at head 202511171200 (static replay)" in out
    assert "none: the chain matches the canonical schema" in out
    assert ("SCHEMA-DRIFT-002 dead_events.remediation_status: resolved by 202511171200 "
            "(migration authored, pending DBA validation), ADR-003" in out)


def test_json_output_of_the_scenario(monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    data = show_json(monkeypatch, capsys, "dead_events.remediation_status")
    assert data["object"] == {"name": "dead_events.remediation_status", "kind": "column",
                              "table": "dead_events"}
    assert data["revision"] == "202511171200" and data["heads"] == ["202511171200"]
    sql = data["canonical"]["sql"]
    assert sql["path"] == SQL
    check = next(f for f in sql["facts"] if f.get("values"))
    assert check["values"] == ["pending", "in_progress", "resolved", "abandoned"]
    assert (check["path"], check["line"]) == (SQL, line_of(
        SQL, "ADD CONSTRAINT ck_dead_events_remediation_status_valid"))
    yaml_check = next(f for f in data["canonical"]["yaml"]["facts"] if f.get("values"))
    assert yaml_check["path"] == YAML and yaml_check["values"] == check["values"]
    assert [m["revision"] for m in data["migrations"]] == [
        "202511151400", "202511151440", "202511151440", "202511171200", "202511171200"]
    assert {a["adr"] for a in data["adrs"]} == {"ADR-001", "ADR-003"}
    state = data["state"]
    assert state["exists"]
    head_check = next(f for f in state["facts"] if f.get("values"))
    assert head_check["values"] == check["values"]
    assert head_check["revision"] == "202511171200" and head_check["path"] == RECONCILE
    assert data["deviations"] == []
    [entry] = data["drift_register"]
    assert (entry["id"], entry["status"], entry["resolving_revision"], entry["adr"]) == (
        "SCHEMA-DRIFT-002", "resolved", "202511171200", "ADR-003")
    assert data["errors"] == []


def test_at_the_pre_reconciliation_revision(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    data = show_json(monkeypatch, capsys, "dead_events.remediation_status",
                     "--at", "202511161130")
    assert data["revision"] == "202511161130"
    assert all(m["revision"] != "202511171200" for m in data["migrations"])
    values = next(f for f in data["state"]["facts"] if f.get("values"))["values"]
    assert values == ["pending", "in_progress", "resolved", "ignored"]
    [dev] = data["deviations"]
    assert dev["kind"] == "enum-values" and dev["severity"] == "blocking"
    assert dev["drift_id"] == "SCHEMA-DRIFT-002" and dev["revision"] == "202511151440"
    assert dev["path"] == RETRY
    assert dev["line"] == line_of(RETRY, "ADD CONSTRAINT ck_dead_events_remediation_status")
    assert "not yet applied at this revision" in dev["note"]


def test_index_history(monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    data = show_json(monkeypatch, capsys, "idx_allocations_channel_performance")
    assert data["object"]["kind"] == "index"
    assert data["object"]["table"] == "attribution_allocations"
    touched = [(m["revision"], m["what"].split(" ")[0], m["waiver"])
               for m in data["migrations"]]
    assert touched == [("202511151420", "create", None), ("202511171200", "drop", "ADR-003"),
                       ("202511171200", "create", None)]
    assert "channel_code" in data["migrations"][0]["what"]
    assert data["migrations"][0]["path"] == STATS
    canonical = data["canonical"]["sql"]["facts"][0]
    assert "(tenant_id, channel, created_at DESC) INCLUDE (allocated_revenue_cents, " \
           "confidence_score)" in canonical["text"]
    assert [e["id"] for e in data["drift_register"]] == ["SCHEMA-DRIFT-001"]


def test_dropped_index_still_has_a_history(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    data = show_json(monkeypatch, capsys, "idx_allocations_tenant_id")
    assert not data["state"]["exists"]
    assert data["canonical"]["sql"]["facts"] == []
    assert [m["revision"] for m in data["migrations"]] == ["202511131000", "202511171200"]
    assert [e["id"] for e in data["drift_register"]] == ["SCHEMA-DRIFT-001"]


def test_open_drift_at_head(monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    data = show_json(monkeypatch, capsys, "attribution_allocations.channel_code")
    assert not data["canonical"]["sql"]["facts"]
    # the column itself, and its foreign key (a single-column constraint goes by the
    # column's name too)
    assert [(d["kind"], d["severity"], d["drift_id"], d["drift_status"], d["revision"])
            for d in data["deviations"]] == [
        ("extra-column", "warning", "SCHEMA-DRIFT-003", "open", "202511131000"),
        ("extra-constraint", "warning", "SCHEMA-DRIFT-003", "open", "202511141000")]
    assert [e["id"] for e in data["drift_register"]] == ["SCHEMA-DRIFT-003"]


def test_table_and_policy(monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    table = show_json(monkeypatch, capsys, "dead_events")
    whats = [f["what"] for f in table["canonical"]["sql"]["facts"]]
    assert "column remediation_status" in whats
    assert "policy tenant_isolation_policy" in whats
    assert "row level security" in whats
    assert table["migrations"][0]["what"] == "create table dead_events"
    assert {e["id"] for e in table["drift_register"]} == {"SCHEMA-DRIFT-002"}
    policy = show_json(monkeypatch, capsys, "dead_events.tenant_isolation_policy")
    assert policy["object"]["kind"] == "policy"
    [fact] = policy["canonical"]["sql"]["facts"]
    assert ("USING (tenant_id = (NULLIF(current_setting('app.current_tenant_id', true), "
            "''))::uuid)") in fact["text"]
    assert [m["revision"] for m in policy["migrations"]] == ["202511151400"]


def test_constraint_by_name(monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    data = show_json(monkeypatch, capsys, "ck_dead_events_remediation_status_valid")
    assert data["object"] == {"name": "ck_dead_events_remediation_status_valid",
                              "kind": "constraint", "table": "dead_events"}
    assert [m["revision"] for m in data["migrations"]] == [
        "202511151440", "202511171200", "202511171200"]
    assert [e["id"] for e in data["drift_register"]] == ["SCHEMA-DRIFT-002"]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("name", "suggested"), [
    ("dead_events.remediation_stat", "dead_events.remediation_status"),
    ("remediation_status", "dead_events.remediation_status"),
    ("idx_allocation_channel_performance", "idx_allocations_channel_performance"),
])
def test_unknown_object_exits_2_with_suggestions(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str,
        suggested: str) -> None:
    monkeypatch.chdir(REPO)
    assert main(["show", name]) == 2
    err = capsys.readouterr().err
    assert f"no table, column, index, constraint or policy named {name!r}" in err
    did_you_mean = next(line for line in err.splitlines() if line.startswith("did you mean"))
    assert suggested in did_you_mean


def test_ambiguous_policy_name_lists_the_tables(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    assert main(["show", "tenant_isolation_policy"]) == 2
    err = capsys.readouterr().err
    assert "is ambiguous" in err
    assert "dead_events.tenant_isolation_policy" in err


def test_unknown_revision_exits_2(monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    assert main(["show", "dead_events", "--at", "nope"]) == 2
    assert "--at: unknown revision 'nope'" in capsys.readouterr().err


# --------------------------------------------------------------------------- small chains

HEAD = '''\
"""{message}"""
from alembic import op
import sqlalchemy as sa

revision = "{rev}"
down_revision = {down}


def upgrade():
{body}


def downgrade():
    pass
'''


def write_chain(root: Path, steps: list[tuple[str, str | None, str]],
                canonical: str | None = None) -> Path:
    lines = ['[tool.b03lint]', 'migrations = "versions"']
    if canonical is not None:
        (root / "canonical.sql").write_text(canonical)
        lines.append('canonical_sql = "canonical.sql"')
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")
    (root / "versions").mkdir()
    for rev, down, body in steps:
        (root / "versions" / f"{rev}.py").write_text(HEAD.format(
            message=f"step {rev}", rev=rev, down=repr(down),
            body=textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")))
    return root


def test_history_follows_a_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    write_chain(tmp_path, [
        ("a1", None, """
            op.create_table("orders",
                            sa.Column("id", sa.Integer(), primary_key=True),
                            sa.Column("state", sa.String(10), nullable=False))
        """),
        ("a2", "a1", 'op.alter_column("orders", "state", new_column_name="status")'),
        ("a3", "a2", """
            op.create_check_constraint("ck_orders_status", "orders",
                                       "status IN ('new', 'paid')")
        """),
    ], canonical="""CREATE TABLE orders (
    id integer PRIMARY KEY,
    status varchar(10) NOT NULL,
    CONSTRAINT ck_orders_status CHECK (status IN ('new', 'paid', 'void'))
);
""")
    data = show_json(monkeypatch, capsys, "orders.status", cwd=tmp_path)
    whats = [(m["revision"], m["what"]) for m in data["migrations"]]
    assert whats[0] == ("a1", "create table orders with column state varchar(10) NOT NULL")
    assert whats[1] == ("a2", "rename column orders.state to status")
    assert whats[2][0] == "a3" and "ck_orders_status" in whats[2][1]
    assert data["migrations"][0]["line"] == 12  # the sa.Column("state", ...) line
    [dev] = data["deviations"]
    assert dev["kind"] == "enum-values" and dev["drift_id"] is None
    assert dev["severity"] == "blocking" and dev["revision"] == "a3"
    assert data["drift_register"] == []
    assert data["canonical"]["sql"]["facts"][0]["line"] == 3  # the column's own line


def test_text_output_without_canonical_or_register(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    write_chain(tmp_path, [("b1", None, """
        op.create_table("t", sa.Column("id", sa.Integer(), primary_key=True))
        op.create_index("ix_t_id", "t", ["id"])
    """)])
    monkeypatch.chdir(tmp_path)
    assert main(["show", "ix_t_id"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("index ix_t_id on table t\n")
    assert "no canonical schema is configured" in out
    assert "none: no canonical schema to compare with" in out
    assert "b1  versions/b1.py:11: create index ix_t_id on t (id)" in out
    assert "Drift register\n  no entry" in out
