"""Honest unknowns (issue 8): every construct the reader cannot resolve statically is named
(an ``Unresolved`` operation, reported as ``I004 unresolved-operation``, info), the run's
summary counts them, and nothing -- neither selecting rules nor ignoring them -- turns a
file the tool could not read into a PASS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from b03lint.operations import Unresolved
from b03lint.readers.python import read_migration

HEAD = '''\
from alembic import op
import sqlalchemy as sa
import os

revision = "0002"
down_revision = "0001"
TABLES = os.environ["TABLES"].split()
'''
#: line of the first line of a body below HEAD
FIRST = HEAD.count("\n") + 1

# name: (body after HEAD, line of the construct relative to FIRST, what the reader makes of it)
# "unresolved": an Unresolved at that line; "drop_table": read statically as a DropTable
CONSTRUCTS: dict[str, tuple[str, int, str]] = {
    # a function of the file is followed (issue 15): its operations sit at the call
    "helper-function": ("def h():\n    op.drop_table('t')\ndef upgrade():\n    h()\n", 3,
                        "drop_table"),
    "recursive-helper": ("def h():\n    h()\ndef upgrade():\n    h()\n", 3, "unresolved"),
    "sql-built-at-run-time": ("def upgrade():\n    op.execute(build_sql())\n", 1, "unresolved"),
    "loop-over-run-time-data": ("def upgrade():\n    for t in TABLES:\n        op.drop_table(t)\n",
                                1, "unresolved"),
    "run-time-condition": ("def upgrade():\n    if os.environ.get('X'):\n"
                           "        op.drop_table('t')\n", 1, "unresolved"),
    "getattr-on-op": ("def upgrade():\n    getattr(op, 'drop_table')('t')\n", 1, "unresolved"),
    "exec-string": ("def upgrade():\n    exec(\"op.drop_table('t')\")\n", 1, "unresolved"),
    "lambda-called": ("def upgrade():\n    f = lambda: op.drop_table('t')\n    f()\n", 2,
                      "drop_table"),
    "operation-passed-to-map": ("def upgrade():\n    list(map(op.drop_table, ['a']))\n", 1,
                                "unresolved"),
    "lambda-passed-to-map": ("def upgrade():\n    list(map(lambda t: op.drop_table(t), ['a']))\n",
                             1, "unresolved"),
    "operation-as-sort-key": ("def upgrade():\n    sorted(['a'], key=op.drop_table)\n", 1,
                              "unresolved"),
    "nested-function": ("def upgrade():\n    def inner():\n        op.drop_table('t')\n"
                        "    inner()\n", 3, "drop_table"),
    "helper-of-run-time-values": ("def h(t):\n    op.drop_table(t)\ndef upgrade():\n"
                                  "    h(TABLES[0])\n", 3, "unresolved"),
    "unknown-op": ("def upgrade():\n    op.invoke(some_operation)\n", 1, "unresolved"),
    "class-helper": ("class H:\n    def run(self):\n        op.drop_table('t')\n"
                     "def upgrade():\n    H().run()\n", 4, "unresolved"),
    "match-statement": ("def upgrade():\n    match os.environ['X']:\n        case 'a':\n"
                        "            op.drop_table('t')\n", 1, "unresolved"),
    "while-loop": ("def upgrade():\n    while False:\n        op.drop_table('t')\n", 1,
                   "unresolved"),
    "try-block": ("def upgrade():\n    try:\n        op.drop_table('t')\n    except Exception:\n"
                  "        pass\n", 1, "unresolved"),
    "metadata-create-all": ("def upgrade():\n    META.create_all(op.get_bind())\n", 1,
                            "unresolved"),
    "subprocess": ("import subprocess\ndef upgrade():\n    subprocess.run(['psql', '-c', 'x'])\n",
                   2, "unresolved"),
    "sql-read-from-a-file": ("def upgrade():\n    op.execute(open('x.sql').read())\n", 1,
                             "unresolved"),
    "batch-on-run-time-table": ("def upgrade():\n    with op.batch_alter_table(TABLES[0]) as b:\n"
                                "        b.drop_column('c')\n", 1, "unresolved"),
    # found by this issue: these were read as nothing at all
    "upgrade-assigned": ("def _impl():\n    op.drop_table('t')\nupgrade = _impl\n", 2,
                         "unresolved"),
    "upgrade-defined-in-if": ("if True:\n    def upgrade():\n        op.drop_table('t')\n", 0,
                              "unresolved"),
    "upgrade-rebound-after-def": ("def upgrade():\n    pass\nupgrade = other\n", 2,
                                  "unresolved"),
    "operation-at-module-level": ("op.drop_table('t')\n", 0, "unresolved"),
    "unknown-call-at-module-level": ("setup_schema()\n", 0, "unresolved"),
    # ... and these ran SQL the reader never saw; it is now read like op.execute's
    "alembic-context-execute": ("from alembic import context\ndef upgrade():\n"
                                "    context.execute('DROP TABLE t')\n", 2, "drop_table"),
    "migration-context-execute": ("def upgrade():\n    op.get_context().execute('DROP TABLE t')\n",
                                  1, "drop_table"),
    "orm-session-execute": ("from sqlalchemy.orm import Session\ndef upgrade():\n"
                            "    s = Session(bind=op.get_bind())\n"
                            "    s.execute(sa.text('DROP TABLE t'))\n", 3, "drop_table"),
    "raw-dbapi-cursor": ("def upgrade():\n    c = op.get_bind().connection\n"
                         "    c.cursor().execute('DROP TABLE t')\n", 2, "drop_table"),
    # read statically: no unknown
    "op-alias": ("def upgrade():\n    o = op\n    o.drop_table('t')\n", 2, "drop_table"),
    "from-alembic-op-import": ("from alembic.op import drop_table\ndef upgrade():\n"
                               "    drop_table('t')\n", 2, "drop_table"),
    "bind-exec-driver-sql": ("def upgrade():\n    op.get_bind().exec_driver_sql('DROP TABLE t')\n",
                             1, "drop_table"),
}


@pytest.mark.parametrize("name", list(CONSTRUCTS))
def test_every_construct_is_read_or_named(name: str) -> None:
    body, offset, outcome = CONSTRUCTS[name]
    mf = read_migration("m.py", (HEAD + body).encode())
    line = FIRST + offset
    at_line = [o for o in mf.operations if o.loc.line == line]
    metadata = ("revision", "down_revision", "branch_labels", "depends_on")
    if outcome == "unresolved":
        assert any(isinstance(o, Unresolved) and o.via not in metadata for o in at_line), \
            (line, mf.operations)
    else:
        assert any(o.kind == outcome for o in at_line), (line, mf.operations)
        assert not [o for o in mf.operations if isinstance(o, Unresolved)], mf.operations


def test_unresolved_assignment_of_upgrade_is_not_replayed() -> None:
    """`upgrade = _impl` after a def: Alembic calls `_impl`; reading the def instead would
    replay the wrong operations."""
    body = "def upgrade():\n    op.add_column('t', sa.Column('c', sa.Text()))\nupgrade = other\n"
    mf = read_migration("m.py", (HEAD + body).encode())
    assert [o.kind for o in mf.operations] == ["unresolved"]


# ----------------------------------------------------------------- the verdict counts them

PYPROJECT = '[tool.b03lint]\nmigrations = "alembic/versions"\nadr_dir = "adr"\n'
BASE = '''\
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None


def upgrade():
    op.create_table("tenants", sa.Column("id", sa.Integer(), primary_key=True))
'''
FOUR_UNKNOWNS = '''\
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"


def upgrade():
    op.execute(build_sql("tenants"))
    for name in load_names():
        op.add_column("tenants", sa.Column(name, sa.Text()))
'''


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "adr").mkdir()
    for rel, text in {"alembic/versions/0001_base.py": BASE, **files}.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _check(root: Path, *args: str) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "b03lint", "check", "--no-cache", *args],
                          cwd=root, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"})
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc.returncode, proc.stdout


def test_summary_counts_every_unresolved_operation(tmp_path: Path) -> None:
    root = _project(tmp_path, {"alembic/versions/0002_unknowns.py": FOUR_UNKNOWNS})
    code, out = _check(root, "--output-format", "json")
    assert code == 0, out  # nothing blocking: a PASS, which says what it could not check
    report = json.loads(out)
    unknowns = [f for f in report["findings"] if f["code"] == "I004"]
    # the execute, the call to load_names(), the loop, and the add_column whose column
    # name is unknown
    assert [f["line"] for f in unknowns] == [9, 10, 10, 11]
    assert all(f["severity"] == "info" for f in unknowns)
    assert report["summary"]["unresolved_operations"] == 4
    _code, out = _check(root)
    assert out.strip().splitlines()[-1].endswith(
        "(5 operation(s) checked, 4 unresolved schema operation(s))"), out


def test_ignoring_i004_hides_the_findings_not_the_count(tmp_path: Path) -> None:
    root = _project(tmp_path, {"alembic/versions/0002_unknowns.py": FOUR_UNKNOWNS})
    code, out = _check(root, "--ignore", "I004", "--output-format", "json")
    assert code == 0, out
    report = json.loads(out)
    assert not [f for f in report["findings"] if f["code"] == "I004"]
    assert report["summary"]["unresolved_operations"] == 4
    _code, out = _check(root, "--ignore", "I004")
    assert "4 unresolved schema operation(s)" in out.strip().splitlines()[-1]


BROKEN = 'revision = "0002"\ndown_revision = "0001"\ndef upgrade(:\n    pass\n'


@pytest.mark.parametrize("how", [
    ("--ignore", "I001"),
    ("--select", "D"),
    ("--config", "pyproject-per-file.toml"),
], ids=["ignore-I001", "select-other-rules", "per-file-ignores"])
def test_no_rule_selection_turns_an_unreadable_file_into_a_pass(tmp_path: Path,
                                                                 how: tuple[str, str]) -> None:
    root = _project(tmp_path, {"alembic/versions/0002_broken.py": BROKEN})
    (root / "pyproject-per-file.toml").write_text(
        PYPROJECT + '[tool.b03lint.per_file_ignores]\n"alembic/versions/*" = ["I001", "I005"]\n')
    code, out = _check(root, *how)
    assert code == 2, out
    assert "alembic/versions/0002_broken.py:3:" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("ERROR: ") and "PASS" not in out, out
