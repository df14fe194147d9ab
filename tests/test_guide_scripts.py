"""The guide's own command lines, run as written (sections 5.4, 5.3 and 3.4):
``scripts/validate-migration.sh`` through ``find ... | xargs``, the test PR scenario with
``op.drop_column('tenants', 'name')``, and ``scripts/validate-schema-compliance.py`` against
a real PostgreSQL database built by ``alembic upgrade``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = str(Path(sys.executable).parent)

#: guide 5.4, "Manual invocation (for local pre-checks)"
FIND_XARGS = 'find alembic/versions -name "*.py" -print0 | xargs -0 -n1 ./scripts/validate-migration.sh'
#: guide 3.4, "Zero-drift confirmation" (the URL is filled in)
COMPLIANCE = ("python scripts/validate-schema-compliance.py --database-url {url} "
              "--output artifacts/phase2-validation.json")

DROP = '''\
"""test destructive drop (guide 5.3)"""
from alembic import op

revision = "test_destructive_drop"
down_revision = "202511171200"


def upgrade():
    {waiver}op.drop_column('tenants', 'name')


def downgrade():
    pass
'''
SCENARIO = "alembic/versions/003_data_governance/test_destructive_drop.py"


def shell(cmd: str, cwd: Path, path: str | None = None,
          **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` with bash, as a developer or the CI job would, b03lint's environment on
    PATH (``python`` is this interpreter)."""
    return subprocess.run(["bash", "-c", cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False,
                          env={**os.environ, "PATH": path or f"{BIN}:{os.environ['PATH']}",
                               "NO_COLOR": "1", **env})


@pytest.fixture()
def example(tmp_path: Path) -> Path:
    """A copy of the bundled example project (chain, canonical files, ADRs, scripts)."""
    from live_support import copy_example

    root = tmp_path / "project"
    root.mkdir()
    copy_example(root)
    return root


# --------------------------------------------------------------------------- guide 5.4


def test_find_xargs_line_passes_on_the_example() -> None:
    proc = shell(FIND_XARGS, REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "alembic/versions").rglob(
        "*.py") if "__pycache__" not in p.parts)
    assert proc.stdout.count("Validating ") == len(files)
    for rel in files:
        assert f"Validating {rel}\n" in proc.stdout or f"Validating ./{rel}\n" in proc.stdout
    assert proc.stdout.count("PASS: 0 blocking") == len(files)
    # the reconciliation's waived destructive steps stay visible
    assert "D011 info drop constraint ck_dead_events_remediation_status_valid" in proc.stdout
    assert "(waived: ADR-003)" in proc.stdout
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- guide 5.3


def test_test_pr_scenario_fails_then_passes(example: Path) -> None:
    scenario = example / SCENARIO
    # step 2-3: the temporary migration without the bypass comment fails the job
    scenario.write_text(DROP.format(waiver=""))
    failed = shell(FIND_XARGS, example)
    assert failed.returncode != 0, failed.stdout + failed.stderr
    assert (f"{SCENARIO}:9:5: D002 blocking drop column tenants.name" in failed.stdout)
    assert "BLOCKING: 1 blocking" in failed.stdout
    single = shell(f"./scripts/validate-migration.sh {SCENARIO}", example)
    assert single.returncode == 1
    # step 4: the bypass comment citing an ADR that exists: the job passes
    scenario.write_text(DROP.format(waiver="# CI:DESTRUCTIVE_OK - See ADR-003\n    "))
    passed = shell(FIND_XARGS, example)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert f"{SCENARIO}:10:5: D002 info drop column tenants.name" in passed.stdout
    assert "(waived: ADR-003)" in passed.stdout
    # a waiver citing an ADR that has no file (the guide's placeholder) waives nothing
    scenario.write_text(DROP.format(waiver="# CI:DESTRUCTIVE_OK - See ADR-XYZ\n    "))
    placeholder = shell(f"./scripts/validate-migration.sh {SCENARIO}", example)
    assert placeholder.returncode == 1
    assert "D021 blocking destructive-DDL waiver cites ADR-XYZ" in placeholder.stdout


def test_script_runs_b03lint_as_a_module_without_it_on_path(example: Path) -> None:
    """No `b03lint` on PATH and no .venv next to the script: `$PYTHON -m b03lint`."""
    (example / SCENARIO).write_text(DROP.format(waiver=""))
    proc = shell(f"./scripts/validate-migration.sh {SCENARIO}", example, path="/usr/bin:/bin",
                 PYTHON=sys.executable)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "D002 blocking drop column tenants.name" in proc.stdout


def test_script_usage_and_unreadable_file(example: Path) -> None:
    usage = shell("./scripts/validate-migration.sh", example)
    assert usage.returncode == 2 and "usage:" in usage.stderr
    broken = example / "alembic/versions/003_data_governance/broken.py"
    broken.write_text("revision = 'x'\ndef upgrade(:\n")
    proc = shell(f"./scripts/validate-migration.sh {broken.relative_to(example)}", example)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- guide 3.4


def alembic_upgrade(url: str, rev: str) -> None:
    script = Path(sys.executable).with_name("alembic")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "alembic"]
    env = {**os.environ, "DATABASE_URL": url}
    proc = subprocess.run([*argv, "-c", str(REPO / "alembic.ini"), "upgrade", rev], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zero_drift_confirmation_at_the_baseline(example: Path, pg_database: str) -> None:
    alembic_upgrade(pg_database, "head")
    proc = shell(COMPLIANCE.format(url=pg_database), example)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((example / "artifacts/phase2-validation.json").read_text())
    assert report["severity"] == "PASS" and report["verdict"] == "PASS"
    assert proc.stdout.rstrip().splitlines()[-1].startswith("severity=PASS")
    reconciled = {"dead_events.remediation_status", "ck_dead_events_remediation_status_valid",
                  "idx_allocations_channel_performance"}
    assert not [f for f in report["findings"]
                if f["severity"] == "blocking" or f.get("object") in reconciled]


def test_compliance_before_the_reconciliation_is_blocking(example: Path,
                                                          pg_database: str) -> None:
    alembic_upgrade(pg_database, "202511161130")
    proc = shell(COMPLIANCE.format(url=pg_database), example)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((example / "artifacts/phase2-validation.json").read_text())
    assert report["severity"] == "BLOCKING"
    blocking = {f.get("object") for f in report["findings"] if f["severity"] == "blocking"}
    assert "dead_events.remediation_status" in blocking
    assert "idx_allocations_channel_performance" in blocking
    assert proc.stdout.rstrip().splitlines()[-1].startswith("severity=BLOCKING")


def test_compliance_without_a_database_is_an_error(example: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.run([sys.executable, "scripts/validate-schema-compliance.py", "--output",
                           "artifacts/x.json"], cwd=example, capture_output=True, text=True,
                          timeout=120, env=env, check=False)
    assert proc.returncode == 2
    assert "no database" in proc.stderr
    assert "Traceback" not in proc.stderr
