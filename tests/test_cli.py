"""The CLI contract, end to end through `b03lint` in a subprocess or `cli.main`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from b03lint.cli import main

REPO = Path(__file__).resolve().parent.parent

PYPROJECT = """\
[tool.b03lint]
migrations = "alembic/versions"
adr_dir = "docs/architecture/adr"
"""

BASE = '''\
"""create tenants"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None


def upgrade():
    op.create_table("tenants", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("name", sa.Text()))


def downgrade():
    op.drop_table("tenants")
'''

DROP = '''\
"""test destructive drop (guide 5.3)"""
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade():
    {waiver}op.drop_column("tenants", "name")


def downgrade():
    pass
'''


def make_project(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    adr = tmp_path / "docs/architecture/adr"
    adr.mkdir(parents=True)
    (adr / "ADR-003-baseline-reconciliation.md").write_text("# ADR-003\n")
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text)
    return tmp_path


def run(root: Path, *args: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "b03lint", *args], cwd=root,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"})
    return proc.returncode, proc.stdout, proc.stderr


def base_files(**extra: str | bytes) -> dict[str, str | bytes]:
    return {"alembic/versions/001_core/0001_tenants.py": BASE, **extra}


# ----------------------------------------------------------------- guide section 5.3


def test_drop_column_without_waiver_is_blocking(tmp_path: Path) -> None:
    root = make_project(tmp_path, base_files(**{
        "alembic/versions/003_data_governance/test_destructive_drop.py": DROP.format(waiver="")}))
    code, out, err = run(root, "check")
    assert code == 1, out + err
    path = "alembic/versions/003_data_governance/test_destructive_drop.py"
    assert f"{path}:9:5: D002 blocking drop column tenants.name" in out
    assert "Traceback" not in err


def test_drop_column_with_waiver_passes_and_stays_visible(tmp_path: Path) -> None:
    root = make_project(tmp_path, base_files(**{
        "alembic/versions/003_data_governance/test_destructive_drop.py": DROP.format(
            waiver="# CI:DESTRUCTIVE_OK - See ADR-003\n    ")}))
    code, out, err = run(root, "check")
    assert code == 0, out + err
    assert "D002 info drop column tenants.name" in out
    assert "(waived: ADR-003)" in out


def test_waiver_citing_missing_adr_waives_nothing(tmp_path: Path) -> None:
    root = make_project(tmp_path, base_files(**{
        "alembic/versions/003_data_governance/test_destructive_drop.py": DROP.format(
            waiver="# CI:DESTRUCTIVE_OK - See ADR-XYZ\n    ")}))
    code, out, _ = run(root, "check")
    assert code == 1
    assert "D002 blocking drop column tenants.name" in out
    assert "D021 blocking destructive-DDL waiver cites ADR-XYZ" in out


def test_waiver_without_adr_waives_nothing(tmp_path: Path) -> None:
    root = make_project(tmp_path, base_files(**{
        "alembic/versions/x.py": DROP.format(waiver="# CI:DESTRUCTIVE_OK\n    ")}))
    code, out, _ = run(root, "check")
    assert code == 1
    assert "D020" in out and "D002 blocking" in out


def test_waiver_inside_sql(tmp_path: Path) -> None:
    mig = DROP.replace('{waiver}op.drop_column("tenants", "name")',
                       'op.execute("""\n        -- CI:DESTRUCTIVE_OK - See ADR-003\n'
                       '        ALTER TABLE tenants DROP COLUMN name;\n'
                       '        ALTER TABLE tenants DROP COLUMN id;\n    """)')
    root = make_project(tmp_path, base_files(**{"alembic/versions/x.py": mig}))
    code, out, _ = run(root, "check")
    assert code == 1
    assert re.search(r"^alembic/versions/x.py:11:\d+: D002 info drop column tenants.name", out,
                     re.M), out
    assert re.search(r"^alembic/versions/x.py:12:\d+: D002 blocking drop column tenants.id",
                     out, re.M), out


# ----------------------------------------------------------------- output contract


def test_json_shape(tmp_path: Path) -> None:
    root = make_project(tmp_path, base_files(**{
        "alembic/versions/x.py": DROP.format(waiver="")}))
    code, out, _ = run(root, "check", "--output-format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["version"] == 1 and doc["verdict"] == "BLOCKING" and doc["errors"] == []
    finding = next(f for f in doc["findings"] if f["code"] == "D002")
    for key in ("path", "line", "column", "code", "rule", "severity", "message", "object"):
        assert key in finding
    assert finding["object"] == "tenants.name" and finding["rule"] == "drop-column"
    assert finding["severity"] == "blocking" and finding["line"] == 9


def test_text_output_is_sorted_and_deterministic(tmp_path: Path) -> None:
    root = make_project(tmp_path, base_files(**{
        "alembic/versions/b.py": DROP.format(waiver="").replace('"0002"', '"0003"', 1)
        .replace('down_revision = "0001"', 'down_revision = "0002"'),
        "alembic/versions/a.py": DROP.format(waiver="")}))
    first = run(root, "check")
    second = run(root, "check")
    assert first == second
    lines = [ln for ln in first[1].splitlines() if ": " in ln and ln.startswith("alembic")]
    assert lines == sorted(lines, key=lambda s: (s.split(":")[0], int(s.split(":")[1])))


def test_clean_chain_exits_zero(tmp_path: Path) -> None:
    root = make_project(tmp_path, base_files())
    code, out, _ = run(root, "check")
    assert code == 0, out
    assert out.strip().endswith(")") and "PASS" in out


# ----------------------------------------------------------------- bad input


def test_syntax_error_is_exit_2_with_location_and_others_still_linted(tmp_path: Path) -> None:
    root = make_project(tmp_path, base_files(**{
        "alembic/versions/broken.py": "revision = 'b1'\ndef upgrade(:\n    pass\n",
        "alembic/versions/x.py": DROP.format(waiver="")}))
    code, out, err = run(root, "check")
    assert code == 2
    assert "alembic/versions/broken.py:2:" in out and "I001" in out
    assert "D002 blocking drop column tenants.name" in out  # the other file still linted
    assert "Traceback" not in out + err


def test_undecodable_bytes(tmp_path: Path) -> None:
    root = make_project(tmp_path, base_files(**{
        "alembic/versions/latin1.py": b"revision = 'l1'\ndown_revision = '0001'\n# caf\xe9\n"}))
    code, out, err = run(root, "check")
    assert code == 2
    assert "alembic/versions/latin1.py:3:" in out and "I002" in out
    assert "Traceback" not in out + err


def test_unparsable_sql_is_blocking_at_its_line(tmp_path: Path) -> None:
    mig = DROP.replace('{waiver}op.drop_column("tenants", "name")',
                       'op.execute("""\n        CREATE TABEL x (id int);\n    """)')
    root = make_project(tmp_path, base_files(**{"alembic/versions/x.py": mig}))
    code, out, err = run(root, "check")
    assert code == 1, out + err
    assert "alembic/versions/x.py:10:" in out and "I003 blocking" in out


def test_missing_migrations_folder(tmp_path: Path) -> None:
    root = make_project(tmp_path, {})
    code, out, err = run(root, "check")
    assert code == 2
    assert "alembic/versions" in out and "migrations folder not found" in out
    assert "Traceback" not in out + err


def test_missing_path_argument(tmp_path: Path) -> None:
    root = make_project(tmp_path, base_files())
    code, out, _ = run(root, "check", "alembic/versions/nope.py")
    assert code == 2 and "alembic/versions/nope.py: error: no such file" in out


def test_unknown_config_key(tmp_path: Path) -> None:
    root = make_project(tmp_path, base_files())
    (root / "pyproject.toml").write_text(PYPROJECT + "migratons = 'x'\n")
    code, _, err = run(root, "check")
    assert code == 2 and "unknown key 'migratons'" in err and "pyproject.toml:4" in err


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    root = make_project(tmp_path, base_files())
    code, _, err = run(root, "check", "--output-format", "xml")
    assert code == 2 and "invalid choice" in err


def test_paths_limit_file_findings(tmp_path: Path) -> None:
    root = make_project(tmp_path, base_files(**{
        "alembic/versions/a.py": DROP.format(waiver=""),
        "alembic/versions/b.py": DROP.format(waiver="").replace('"0002"', '"0003"', 1)
        .replace('down_revision = "0001"', 'down_revision = "0002"')}))
    code, out, _ = run(root, "check", "alembic/versions/b.py")
    assert code == 1
    assert "alembic/versions/b.py:9:5: D002" in out
    assert "alembic/versions/a.py" not in out


def test_flags_override_config(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"elsewhere/0001.py": BASE})
    code, out, _ = run(root, "check", "--migrations", "elsewhere")
    assert code == 0, out


# ----------------------------------------------------------------- graph defects


def _rev(rev: str, down: str) -> str:
    return textwrap.dedent(f'''\
        from alembic import op
        revision = "{rev}"
        down_revision = {down}
        def upgrade():
            pass
        def downgrade():
            pass
        ''')


@pytest.mark.parametrize(("files", "code", "where"), [
    ({"a.py": _rev("a", "None"), "b.py": _rev("b", "'a'"), "c.py": _rev("c", "'a'")},
     "G001", "c.py:2"),
    ({"a.py": _rev("a", "'b'"), "b.py": _rev("b", "'a'")}, "G002", "a.py:3"),
    ({"a.py": _rev("a", "'a'")}, "G002", "a.py:3"),
    ({"a.py": _rev("a", "None"), "b.py": _rev("b", "'zzz'")}, "G003", "b.py:3"),
    ({"a.py": _rev("a", "None"), "sub/a2.py": _rev("a", "None")}, "G004", "sub/a2.py:2"),
    ({"a.py": "from alembic import op\ndef upgrade():\n    pass\n"}, "I005", "a.py:1"),
], ids=["multiple-heads", "cycle", "self-cycle", "unknown-parent", "duplicate", "no-revision"])
def test_graph_defects(tmp_path: Path, files: dict[str, str], code: str, where: str) -> None:
    root = make_project(tmp_path, {f"alembic/versions/{k}": v for k, v in files.items()})
    rc, out, err = run(root, "check")
    assert rc == 1, out + err
    assert any(line.startswith(f"alembic/versions/{where}:") and f" {code} " in line
               for line in out.splitlines()), out


def test_merge_is_one_head(tmp_path: Path) -> None:
    root = make_project(tmp_path, {f"alembic/versions/{k}": v for k, v in {
        "a.py": _rev("a", "None"), "b.py": _rev("b", "'a'"), "c.py": _rev("c", "'a'"),
        "m.py": _rev("m", "('b', 'c')")}.items()})
    rc, out, _ = run(root, "check")
    assert rc == 0, out


# ----------------------------------------------------------------- no execution


def test_static_mode_never_executes_migration_code(tmp_path: Path) -> None:
    marker = tmp_path / "executed.txt"
    evil = textwrap.dedent(f'''\
        import socket
        import this_module_does_not_exist
        open({str(marker)!r}, "w").write("module body ran")
        revision = "e1"
        down_revision = "0001"

        def _default(x=open({str(marker)!r}, "a")):
            return x

        @(lambda f: open({str(marker)!r}, "a") and f)
        def upgrade():
            socket.create_connection(("127.0.0.1", 9))

        class Sneaky:
            open({str(marker)!r}, "a")

        def downgrade():
            pass
        ''')
    root = make_project(tmp_path, base_files(**{"alembic/versions/evil.py": evil}))
    rc, out, err = run(root, "check")
    assert not marker.exists()
    assert rc in (0, 1) and "Traceback" not in out + err


# ----------------------------------------------------------------- the bundled example


def test_bundled_example_is_clean() -> None:
    code, out, err = run(REPO, "check")
    assert code == 0, out + err


def test_main_in_process_returns_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path, base_files(**{"alembic/versions/x.py": DROP.format(waiver="")}))
    monkeypatch.chdir(root)
    assert main(["check", "--output-format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == "BLOCKING"


def test_rules_and_rule_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    listing = capsys.readouterr().out
    assert "D002" in listing and "drop-column" in listing
    assert main(["rule", "drop-column"]) == 0
    doc = capsys.readouterr().out
    for heading in ("What it does", "Why it matters", "Example", "How to fix"):
        assert heading in doc
    assert main(["rule", "no-such-rule"]) == 2


def test_computed_down_revision_explains_multiple_heads(tmp_path: Path) -> None:
    root = make_project(tmp_path, {f"alembic/versions/{k}": v for k, v in {
        "a.py": _rev("a", "None"),
        "b.py": _rev("b", "'a'").replace("down_revision = 'a'",
                                         "down_revision = compute_parent()")}.items()})
    rc, out, _ = run(root, "check", "--output-format", "concise")
    assert rc == 1, out  # one head cannot be proven: never a PASS
    assert " G001 blocking " in out and "computed down_revision (b)" in out
    assert " I004 info " in out


def test_a_chosen_command_builds_only_its_own_parser() -> None:
    import argparse

    from b03lint.cli import COMMANDS, build_parser

    def commands(parser: argparse.ArgumentParser) -> set[str]:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return set(sub.choices)

    assert commands(build_parser("check")) == {"check"}
    assert commands(build_parser("")) == set(COMMANDS)  # unknown: all, for the error


@pytest.mark.parametrize("columns", ["57", "", "junk", "-3"])
def test_help_is_as_wide_as_argparse_makes_it(columns: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from b03lint.cli import _columns

    monkeypatch.setenv("COLUMNS", columns)
    assert _columns() == shutil.get_terminal_size().columns
