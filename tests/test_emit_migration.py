"""`b03lint reconcile --emit-migration`: on the example at 202511161130 (the reconciliation
revision removed), the emitted revision is equivalent in effect to the guide's
reconciliation migration, lints clean, and runs on PostgreSQL both ways."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from b03lint.config import load_config
from b03lint.contract import replay_chain
from b03lint.engine import discover
from b03lint.graph import RevisionGraph
from b03lint.loader import load_files
from b03lint.schema.diff import diff

REPO = Path(__file__).resolve().parent.parent
RECONCILE = "alembic/versions/003_data_governance/202511171200_reconcile_b03_baseline.py"


def _cli(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "b03lint", *args], cwd=root,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_COLOR": "1", **(env or {})})


@pytest.fixture()
def pre_reconciliation(example_copy: Path) -> Path:
    (example_copy / RECONCILE).unlink()
    return example_copy


def _graph(root: Path) -> RevisionGraph:
    config = load_config(explicit=root / "pyproject.toml")
    folder = config.path("migrations")
    assert folder is not None
    paths = discover(folder, [])
    return RevisionGraph.build(load_files([(str(p), p) for p in paths], config))


def _emit(root: Path) -> Path:
    proc = _cli(root, "reconcile", "--emit-migration", "--message", "reconcile b03 baseline",
                "--adr", "ADR-003")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = [Path(line.split(" ", 1)[1].strip()) for line in proc.stdout.splitlines()
               if line.startswith("wrote ")]
    assert len(written) == 1, proc.stdout
    path = root / written[0]
    assert path.is_file() and "003_data_governance" in str(path)
    return path


def test_emitted_revision_matches_the_guides_reconciliation(pre_reconciliation: Path) -> None:
    path = _emit(pre_reconciliation)
    text = path.read_text()
    assert 'down_revision = "202511161130"' in text
    # equivalent in effect: the replayed heads of both chains are the same schema
    ours = replay_chain(_graph(pre_reconciliation), None).schema
    theirs = replay_chain(_graph(REPO), None).schema
    assert diff(ours, theirs) == []
    assert diff(theirs, ours) == []


def test_chain_with_emitted_revision_has_no_unregistered_drift(pre_reconciliation: Path) -> None:
    _emit(pre_reconciliation)
    proc = _cli(pre_reconciliation, "check", "--output-format", "json")
    doc: dict[str, Any] = json.loads(proc.stdout)
    assert proc.returncode == 0, doc
    assert not [f for f in doc["findings"] if f["severity"] == "blocking"]
    contract = [f for f in doc["findings"] if f["code"].startswith("C")
                and f["severity"] != "info" and f["code"] != "C012"]
    assert contract and all(f["data"].get("drift_id") == "SCHEMA-DRIFT-003" for f in contract)
    # the register still names the removed 202511171200 as resolving DRIFT-001/-002: stale
    stale = [f for f in doc["findings"] if f["code"] == "C012"]
    assert {f["data"]["drift_id"] for f in stale} == {"SCHEMA-DRIFT-001", "SCHEMA-DRIFT-002"}
    assert all("202511171200" in f["message"] for f in stale)


def test_emitted_revision_runs_on_postgresql(pre_reconciliation: Path, pg_database: str) -> None:
    _emit(pre_reconciliation)
    env = {"DATABASE_URL": pg_database}
    for args in (["upgrade", "head"], ["downgrade", "-1"], ["upgrade", "head"]):
        proc = subprocess.run([sys.executable, "-m", "alembic", *args], cwd=pre_reconciliation,
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, **env})
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_nothing_to_reconcile_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "example"
    shutil.copytree(REPO, root, ignore=shutil.ignore_patterns(
        "__pycache__", ".venv", ".git", ".b03lint_cache", "*.egg-info", ".mypy_cache",
        ".ruff_cache", ".pytest_cache", "bench", "tests"))
    before = sorted(p.name for p in (root / "alembic/versions").rglob("*.py"))
    proc = _cli(root, "reconcile", "--emit-migration")
    # at head only SCHEMA-DRIFT-003 (open) remains: its extra column and FK are not dropped,
    # and everything else already matches, so no revision is written
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nothing to reconcile" in proc.stdout
    assert sorted(p.name for p in (root / "alembic/versions").rglob("*.py")) == before


def test_without_an_adr_nothing_is_written(pre_reconciliation: Path) -> None:
    """A waiver citing no ADR (or an ADR with no file) would block the next check (D020,
    D021), so the command refuses and says which steps need one."""
    register = pre_reconciliation / "db/schema/drift_register.yaml"
    register.write_text(register.read_text().replace("    adr: ADR-003\n", "    adr: null\n"))
    before = sorted(p.name for p in (pre_reconciliation / "alembic").rglob("*.py"))
    proc = _cli(pre_reconciliation, "reconcile", "--emit-migration", "--message", "reconcile")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "destructive step(s) need a `CI:DESTRUCTIVE_OK - See ADR-<id>` waiver" in proc.stderr
    assert "pass --adr ADR-<id> (an ADR in docs/architecture/adr)" in proc.stderr
    assert "wrote " not in proc.stdout
    proc = _cli(pre_reconciliation, "reconcile", "--emit-migration", "--message", "reconcile",
                "--adr", "ADR-999")
    assert proc.returncode == 2
    assert "ADR-999 has no file in docs/architecture/adr" in proc.stderr
    assert sorted(p.name for p in (pre_reconciliation / "alembic").rglob("*.py")) == before
    # with an ADR that exists, the migration is written and the next check accepts it
    _emit(pre_reconciliation)
    check = _cli(pre_reconciliation, "check", "--output-format", "json")
    assert not [f for f in json.loads(check.stdout)["findings"]
                if f["code"] in ("D020", "D021")]
