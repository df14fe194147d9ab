"""Unknowns stay local: an unresolved operation makes unknown only what it may touch.

A data statement built at run time (an ``INSERT`` whose table or values are filled in when
the migration runs) changes no schema fact; a statement on one table the template names
taints that table only; ``C013`` (replay-conflict) stays on for everything else. The
summary counts unresolved schema operations apart from unresolved data statements. Each
case in the Python form and in the SQL form.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PYPROJECT = '[tool.b03lint]\nmigrations = "alembic/versions"\n'

HEAD = '''\
from uuid import uuid4

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def table_name():
    return "users" if uuid4() else "other"


def upgrade():
    op.create_table("users", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("name", sa.Text()))
    op.create_table("orders", sa.Column("id", sa.Integer(), primary_key=True))
'''

PYTHON = HEAD + '''\
    op.execute(f"INSERT INTO {table_name()} (id, name) VALUES (1, '{uuid4()}')")
    op.execute(f"ALTER TABLE users ADD COLUMN {table_name()} text")
    op.drop_column("users", "missing")
    op.drop_column("orders", "missing")
'''

SQL = HEAD + '''\
    op.execute("""
        DO $$ BEGIN
            IF random() > 0.5 THEN ALTER TABLE users ADD COLUMN extra text; END IF;
        END $$;
        ALTER TABLE users DROP COLUMN missing;
        ALTER TABLE orders DROP COLUMN missing;
    """)
'''


def _check(tmp_path: Path, source: str) -> dict:  # type: ignore[type-arg]
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    versions = tmp_path / "alembic" / "versions"
    versions.mkdir(parents=True)
    (versions / "0001_all.py").write_text(source)
    proc = subprocess.run([sys.executable, "-m", "b03lint", "check", "--no-cache",
                           "--output-format", "json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"})
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    report: dict = json.loads(proc.stdout)  # type: ignore[type-arg]
    return report


@pytest.mark.parametrize("form", ["python", "sql"])
def test_an_unknown_on_one_table_leaves_the_others_checked(tmp_path: Path, form: str) -> None:
    report = _check(tmp_path, PYTHON if form == "python" else SQL)
    conflicts = [(f["object"], f["message"]) for f in report["findings"] if f["code"] == "C013"]
    # users may have the column (an unresolved statement touched it); orders cannot
    assert conflicts == [("orders.missing", "column orders.missing does not exist")]
    summary = report["summary"]
    if form == "python":
        assert (summary["unresolved_schema_operations"],
                summary["unresolved_data_statements"]) == (1, 1)
        data = [f for f in report["findings"] if f["code"] == "I004" and "data statement"
                in f["message"]]
        assert len(data) == 1 and data[0]["line"] == 18
    else:
        assert (summary["unresolved_schema_operations"],
                summary["unresolved_data_statements"]) == (1, 0)
    assert summary["unresolved_operations"] == (2 if form == "python" else 1)


def test_a_data_statement_never_silences_the_check(tmp_path: Path) -> None:
    """Before, the first unresolved statement that named no table switched C013 off for
    the rest of the chain; a run-time INSERT is not such a statement."""
    source = HEAD + '''\
    op.execute(f"INSERT INTO {table_name()} (id) VALUES (1)")
    op.drop_column("users", "missing")
'''
    report = _check(tmp_path, source)
    assert [f["object"] for f in report["findings"] if f["code"] == "C013"] == [
        "users.missing"]


def test_a_condition_around_data_statements_is_a_data_statement(tmp_path: Path) -> None:
    """A run-time condition or loop whose body only reads or writes rows changes no
    schema fact: the checks after it go on."""
    source = HEAD + '''\
    if table_name() == "users":
        op.execute("DELETE FROM users WHERE name IS NULL")
    for row in op.get_bind().execute(sa.text("SELECT id FROM orders")):
        op.execute(sa.text("UPDATE orders SET id = id WHERE id = :i").bindparams(i=row[0]))
    op.drop_column("orders", "missing")
'''
    report = _check(tmp_path, source)
    assert [f["object"] for f in report["findings"] if f["code"] == "C013"] == [
        "orders.missing"]
    markers = [f for f in report["findings"] if f["code"] == "I004"
               and "data statement" in f["message"]]
    assert len(markers) >= 2
