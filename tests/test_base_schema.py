"""Real starting points: a chain whose schema came from elsewhere (``metadata.create_all()``,
a dump) is said so once, and never reported missing what it never built; ``base_schema``
names that starting point: a SQL file the replay starts from, or ``"external"``. Each case
in the Python form and in the SQL form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT_REV = '''\
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    pass
'''

PYTHON = '''\
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade():
    op.add_column("incident", sa.Column("severity", sa.Text()))
    op.drop_column("incident", "legacy")
    op.create_table("note", sa.Column("id", sa.Integer(), primary_key=True))
    op.drop_column("note", "missing")
'''

SQL = '''\
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade():
    op.execute("""
        ALTER TABLE incident ADD COLUMN severity text;
        ALTER TABLE incident DROP COLUMN legacy;
        CREATE TABLE note (id serial PRIMARY KEY);
        ALTER TABLE note DROP COLUMN missing;
    """)
'''

BASE_SQL = """\\restrict abc
SET statement_timeout = 0;
CREATE TABLE public.incident (id integer NOT NULL, title text);
ALTER TABLE ONLY public.incident ADD CONSTRAINT incident_pkey PRIMARY KEY (id);
\\unrestrict abc
"""


def _project(tmp_path: Path, second: str, setting: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.b03lint]\nmigrations = "alembic/versions"\n{setting}')
    versions = tmp_path / "alembic" / "versions"
    versions.mkdir(parents=True)
    (versions / "0001_root.py").write_text(ROOT_REV)
    (versions / "0002_more.py").write_text(second)
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "base.sql").write_text(BASE_SQL)
    return tmp_path


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "b03lint", *args], cwd=root,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"})
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


def _c013(root: Path) -> list[tuple[str, str | None]]:
    proc = _run(root, "check", "--no-cache", "--output-format", "json")
    report = json.loads(proc.stdout)
    return [(f["severity"], f["object"]) for f in report["findings"] if f["code"] == "C013"]


@pytest.mark.parametrize("form", ["python", "sql"])
def test_a_chain_from_elsewhere_is_said_once_and_not_reported_missing(
        tmp_path: Path, form: str) -> None:
    root = _project(tmp_path, PYTHON if form == "python" else SQL)
    # incident comes from elsewhere: said once, at the root; note is the chain's own
    assert sorted(_c013(root), key=str) == [("blocking", "note.missing"), ("info", None)]
    proc = _run(root, "check", "--no-cache")
    assert 'base_schema = "external"' in proc.stdout
    assert "alembic/versions/0001_root.py:3:" in proc.stdout


@pytest.mark.parametrize("form", ["python", "sql"])
def test_base_schema_external_says_so_and_silences_the_note(tmp_path: Path, form: str) -> None:
    root = _project(tmp_path, PYTHON if form == "python" else SQL,
                    'base_schema = "external"\n')
    assert _c013(root) == [("blocking", "note.missing")]


@pytest.mark.parametrize("form", ["python", "sql"])
def test_base_schema_file_is_where_the_replay_starts(tmp_path: Path, form: str) -> None:
    root = _project(tmp_path, PYTHON if form == "python" else SQL,
                    'base_schema = "db/base.sql"\n')
    # incident is known now: its missing column is a conflict like any other
    assert sorted(_c013(root)) == [("blocking", "incident.legacy"), ("blocking", "note.missing")]
    sql = _run(root, "schema", "--at", "head", "--format", "sql").stdout
    assert "CREATE TABLE public.incident (" in sql and "severity text" in sql


def test_an_unreadable_base_schema_is_an_error(tmp_path: Path) -> None:
    root = _project(tmp_path, PYTHON, 'base_schema = "db/nowhere.sql"\n')
    proc = _run(root, "check", "--no-cache")
    assert proc.returncode == 2
    assert "base_schema" in proc.stdout + proc.stderr
