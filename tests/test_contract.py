"""The schema contract on the bundled example: the guide's drifts at 202511161130, a clean
head with SCHEMA-DRIFT-003 open, and single planted deviations each found at their place."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
VERSIONS = "alembic/versions/003_data_governance"
F1420 = f"{VERSIONS}/202511151420_add_allocations_statistical_fields.py"
F1440 = f"{VERSIONS}/202511151440_add_dead_events_retry_tracking.py"
CANON = "db/schema/canonical_schema.sql"


def check(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-m", "b03lint", "check", "--output-format", "json",
                           *args], cwd=root, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture()
def example(example_copy: Path) -> Path:
    """A private copy of the bundled example to plant deviations in."""
    return example_copy


def blocking(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in doc["findings"] if f["severity"] == "blocking"]


def test_head_is_clean_with_drift_003_open() -> None:
    code, doc = check(REPO)
    assert code == 0, doc
    assert doc["verdict"] == "PASS" and doc["errors"] == []
    warnings = [f for f in doc["findings"] if f["severity"] == "warning"]
    assert warnings, "SCHEMA-DRIFT-003 should be reported as an open, registered warning"
    assert {f["data"]["drift_id"] for f in warnings} == {"SCHEMA-DRIFT-003"}
    assert all(f["code"].startswith("C") for f in warnings)


def test_pre_reconciliation_head_reports_the_guides_two_drifts() -> None:
    code, doc = check(REPO, "--rev", "202511161130")
    assert code == 1
    found = blocking(doc)
    assert {f["data"]["drift_id"] for f in found} == {"SCHEMA-DRIFT-001", "SCHEMA-DRIFT-002"}
    index = next(f for f in found if f["code"] == "C002")
    assert index["path"] == F1420 and index["line"] == 179
    assert index["object"] == "idx_allocations_channel_performance"
    assert "channel_code" in index["message"] and "INCLUDE" in index["message"]
    enum = next(f for f in found if f["code"] == "C001")
    assert enum["path"] == F1440 and enum["line"] == 161
    assert enum["object"] == "dead_events.remediation_status"
    assert enum["data"]["missing"] == ["abandoned"] and enum["data"]["extra"] == ["ignored"]
    assert "canonical_schema.sql:390" in enum["message"]
    # DRIFT-003 stays a registered warning
    assert {f["data"].get("drift_id") for f in doc["findings"] if f["severity"] == "warning"} \
        == {"SCHEMA-DRIFT-003"}


def test_rev_accepts_prefix_head_and_base() -> None:
    assert check(REPO, "--rev", "2025111611")[0] == 1
    assert check(REPO, "--rev", "head")[0] == 0
    code, doc = check(REPO, "--rev", "base")
    assert code == 1 and any(f["code"] == "C003" for f in doc["findings"])
    code, doc = check(REPO, "--rev", "nope")
    assert code == 2 and "unknown revision" in doc["errors"][0]["message"]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _new_blocking(root: Path) -> list[dict[str, Any]]:
    code, doc = check(root)
    assert code == 1, doc
    return blocking(doc)


def test_removing_an_allowed_value_from_canonical(example: Path) -> None:
    # a consistent canonical change: the SQL, its YAML mirror and the YAML's invariant
    _edit(example / CANON, "'resolved', 'abandoned'));", "'resolved'));")
    yaml = example / "db/schema/canonical_schema.yaml"
    text = yaml.read_text()
    assert text.count("[pending, in_progress, resolved, abandoned]") == 2
    yaml.write_text(text.replace("[pending, in_progress, resolved, abandoned]",
                                 "[pending, in_progress, resolved]"))
    found = _new_blocking(example)
    assert len(found) == 1, found
    f = found[0]
    assert f["code"] == "C001" and f["object"] == "dead_events.remediation_status"
    assert f["data"]["extra"] == ["abandoned"]
    assert "202511171200_reconcile_b03_baseline.py" in f["path"]


def test_adding_include_columns_to_an_index(example: Path) -> None:
    mig = example / F1440
    text = mig.read_text()
    anchor = '        ["tenant_id", "created_at"],\n'
    assert anchor in text
    mig.write_text(text.replace(anchor, anchor + '        postgresql_include=["retry_count"],\n',
                                1))
    call_line = text[: text.index("    op.create_index(")].count("\n") + 1
    found = _new_blocking(example)
    assert len(found) == 1, found
    assert found[0]["code"] == "C002" and found[0]["path"] == F1440
    assert found[0]["line"] == call_line
    assert "INCLUDE (retry_count)" in found[0]["message"]


def test_turning_off_rls_on_one_table(example: Path) -> None:
    mig = example / "alembic/versions/003_data_governance/202511171200_reconcile_b03_baseline.py"
    _edit(mig, "def downgrade()", 'def _unused():\n    pass\n\n\ndef downgrade()')
    text = mig.read_text()
    up_end = text.index("def _unused()")
    mig.write_text(text[:up_end].rstrip() + '\n    op.execute("ALTER TABLE revenue_ledger '
                   'DISABLE ROW LEVEL SECURITY")\n\n\n' + text[up_end:])
    found = _new_blocking(example)
    assert len(found) == 1, found
    assert found[0]["code"] == "C008" and found[0]["object"] == "revenue_ledger"
    assert found[0]["path"].endswith("202511171200_reconcile_b03_baseline.py")


def test_unregistered_drift_is_blocking_and_stale_entry_reported(example: Path) -> None:
    reg = example / "db/schema/drift_register.yaml"
    text = reg.read_text()
    start = text.index("  - id: SCHEMA-DRIFT-003")
    reg.write_text(text[:start] + "  - id: SCHEMA-DRIFT-004\n    object: tenants.name\n"
                   "    status: open\n")
    code, doc = check(example)
    assert code == 1
    assert any(f["code"] == "C004" and f["severity"] == "blocking" and
               f["object"] == "attribution_allocations.channel_code" for f in doc["findings"])
    stale = [f for f in doc["findings"] if f["code"] == "C012"]
    assert len(stale) == 1 and "SCHEMA-DRIFT-004" in stale[0]["message"]
    assert stale[0]["path"] == "db/schema/drift_register.yaml"


def test_broken_register_is_exit_2_with_line(example: Path) -> None:
    reg = example / "db/schema/drift_register.yaml"
    reg.write_text(reg.read_text().replace("status: open", "status: maybe"))
    code, doc = check(example)
    assert code == 2
    err = doc["errors"][0]
    assert err["path"] == "db/schema/drift_register.yaml" and err["line"]
    assert "maybe" in err["message"]


def test_replay_conflict_points_at_the_failing_line(example: Path) -> None:
    mig = example / F1440
    text = mig.read_text()
    idx = text.index("def downgrade()")
    mig.write_text(text[:idx].rstrip() + '\n    op.drop_column("dead_events", "no_such")'
                   '  # CI:DESTRUCTIVE_OK - See ADR-003\n\n\n' + text[idx:])
    found = _new_blocking(example)
    assert [f["code"] for f in found] == ["C013"]
    assert "no_such does not exist" in found[0]["message"]


def test_check_written_inline_or_at_table_level_is_the_same_constraint() -> None:
    from b03lint.readers.sql import read_sql
    from b03lint.schema.diff import diff
    from b03lint.schema.replay import fold

    inline = fold([(None, read_sql("CREATE TABLE t (amount numeric CONSTRAINT "
                                   "t_amount_check CHECK (amount > 0));", path="a.sql")
                   .operations)], "a").schema
    table_level = fold([(None, read_sql("CREATE TABLE t (amount numeric);\nALTER TABLE t ADD "
                                        "CONSTRAINT t_amount_check CHECK (amount > 0);",
                                        path="b.sql").operations)], "b").schema
    assert diff(inline, table_level) == [] and diff(table_level, inline) == []


def test_unresolved_canonical_sql_is_reported_not_dropped(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.b03lint]\ncanonical_sql = "db/c.sql"\n')
    (tmp_path / "db").mkdir()
    (tmp_path / "db/c.sql").write_text(
        "CREATE TABLE t (id int);\nDO $$ BEGIN IF true THEN EXECUTE format($q$ALTER TABLE t "
        "ADD COLUMN x int$q$); END IF; END $$;\n")
    versions = tmp_path / "alembic/versions"
    versions.mkdir(parents=True)
    (versions / "a.py").write_text('from alembic import op\nrevision = "a"\n'
                                   'down_revision = None\n\n\ndef upgrade():\n'
                                   '    op.execute("CREATE TABLE t (id int)")\n')
    code, doc = check(tmp_path)
    assert code == 0
    unknown = [f for f in doc["findings"] if f["code"] == "C014"]
    canonical = [f for f in unknown if f["path"] == "db/c.sql"]
    assert len(canonical) == 1 and canonical[0]["line"] == 2
    # what the IF may have changed (table t) is not compared: never a guess either way
    assert [f["message"] for f in unknown if f["path"] != "db/c.sql"] == [
        "table t: state unknown after an unresolved operation; not compared (canonical: "
        "db/c.sql:1)"]
