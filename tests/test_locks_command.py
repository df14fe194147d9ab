"""``b03lint locks``: every statement with the lock model's verdict, in text and JSON, for
a file, a revision or the chain; ``b03lint show`` carries the same verdicts."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from b03lint.cli import main

PARENT = '''"""a0"""
from alembic import op
import sqlalchemy as sa

revision = "a0"
down_revision = None


def upgrade():
    op.create_table("events", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("code", sa.Text()))
    op.create_index("ix_events_code", "events", ["code"])


def downgrade():
    pass
'''

CHILD = '''"""a1"""
from alembic import op
import sqlalchemy as sa

revision = "a1"
down_revision = "a0"


def upgrade():
    op.add_column("events", sa.Column("note", sa.Text(), server_default="x"))
    op.create_index("ix_events_note", "events", ["note"])
    op.execute("CREATE INDEX CONCURRENTLY ix_events_id ON events (id)")
    op.create_table("fresh", sa.Column("id", sa.Integer()))
    op.create_index("ix_fresh_id", "fresh", ["id"])


def downgrade():
    pass
'''


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "pyproject.toml").write_text('[tool.b03lint]\nmigrations = "v"\n')
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "a0.py").write_text(PARENT)
    (tmp_path / "v" / "a1.py").write_text(CHILD)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def test_json_for_a_revision(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["locks", "--rev", "a1", "--output-format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["postgres_version"] == 15
    rows = {r["line"]: r for r in out["statements"]}
    add, index, concurrent, create, fresh_index = (rows[n] for n in (10, 11, 12, 13, 14))
    assert add["risk"] == "brief" and add["row"] == "add_column.default"
    assert add["rewrite"] is False and add["mode"] == "ACCESS EXCLUSIVE"
    assert add["rules"] == ["L008"]
    assert index["risk"] == "high" and index["mode"] == "SHARE" and index["blocks"] == "writes"
    assert index["rules"] == ["L001", "L009"]
    assert concurrent["risk"] == "fails" and concurrent["transaction"] is False
    assert concurrent["rules"] == ["L010"] and concurrent["waits"] is True
    assert create["risk"] == "none" and create["locks"] == []
    assert fresh_index["risk"] == "none" and not fresh_index["existing_table"]
    assert "proven on PostgreSQL 15" in index["source"]


def test_text_for_a_file_and_another_version(project: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["locks", "v/a1.py", "--postgres-version", "10"]) == 0
    out = capsys.readouterr().out
    assert "v/a1.py (revision a1, PostgreSQL 10)" in out
    line = next(ln for ln in out.splitlines() if "add column events.note" in ln)
    assert " high " in line and "L019" in line  # before 11 a default rewrites the table
    assert "rewrites" in out


def test_the_whole_chain_and_bad_arguments(project: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["locks"]) == 0
    out = capsys.readouterr().out
    assert out.index("v/a0.py") < out.index("v/a1.py")
    assert main(["locks", "--rev", "zz"]) == 2
    assert "unknown revision 'zz'" in capsys.readouterr().err
    assert main(["locks", "nope.py"]) == 2
    assert "nope.py is not a migration of this chain" in capsys.readouterr().err
    assert main(["locks", "--postgres-version", "8"]) == 2


def test_show_carries_the_lock_of_each_migration(project: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "events.note", "--output-format", "json"]) == 0
    touches = json.loads(capsys.readouterr().out)["migrations"]
    assert touches[0]["lock"]["mode"] == "ACCESS EXCLUSIVE"
    assert touches[0]["lock"]["new_table"] is False
    assert main(["show", "ix_fresh_id"]) == 0
    assert "(a table created in the same migration)" in capsys.readouterr().out
