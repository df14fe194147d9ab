"""The fix engine (``b03lint.fixes``) and ``b03lint check --fix / --unsafe-fixes / --diff``.

Every fix is judged the same way, on a real chain: the fixed file, linted again, has no
finding of the rule it fixed; every comment of the file is still there; and fixing again
finds nothing more to do (no edit). The command line is run for real (``b03lint.cli.main``).
"""

from __future__ import annotations

import io
import os
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

from b03lint.cli import main
from b03lint.config import load_config
from b03lint.engine import Result, lint
from b03lint.fixes import Fix, TextEdit, apply, edit_between, fixes_for, lsp_text_edit

PARENT = '''"""create events"""
from alembic import op
import sqlalchemy as sa

revision = "a0"
down_revision = None


def upgrade():
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
    )
    op.create_table("accounts", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_index("ix_events_account", "events", ["account_id"])


def downgrade():
    op.drop_table("accounts")
    op.drop_table("events")
'''

HEAD = '''"""change events"""  # the docstring's comment
from alembic import op  # op
import sqlalchemy as sa

revision = "a1"
down_revision = "a0"


def upgrade():
    # before the body
{body}
    # after the body


def downgrade():
    pass
'''


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.b03lint]\nmigrations = "v"\nextend_select = ["locks"]\n'
        'env_settings = ["lock_timeout", "statement_timeout"]\nadr_dir = "adr"\n',
        encoding="utf-8")
    (tmp_path / "v").mkdir()
    (tmp_path / "adr").mkdir()
    (tmp_path / "adr" / "ADR-007-drop-legacy-columns.md").write_text("# ADR-007\n")
    (tmp_path / "v" / "a0_create.py").write_text(PARENT, encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def run_lint(root: Path) -> Result:
    result = lint(load_config(explicit=root / "pyproject.toml"), baseline=None)
    assert result.errors == [], [str(e) for e in result.errors]
    return result


def head(root: Path, body: str) -> Path:
    path = root / "v" / "a1_change.py"
    path.write_text(HEAD.format(body=body), encoding="utf-8")
    return path


def comments(text: str) -> list[str]:
    return sorted(t.string for t in tokenize.generate_tokens(io.StringIO(text).readline)
                  if t.type == tokenize.COMMENT)


def fixes_of(root: Path, path: Path, code: str, adr: str | None = None) -> list[Fix]:
    config = load_config(explicit=root / "pyproject.toml")
    found = [f for f in run_lint(root).findings
             if Path(f.path).resolve() == path.resolve()]
    text = path.read_text(encoding="utf-8")
    return [f for f in fixes_for(text, path, found, config=config, adr=adr) if f.code == code]


def codes(result: Result, path: Path) -> list[str]:
    return [f.code for f in result.findings if Path(f.path).resolve() == path.resolve()]


def round_trip(root: Path, body: str, code: str, *, adr: str | None = None,
               count: int = 1) -> str:
    """Apply the ``code`` fixes of the head migration (with their new files); check it is
    re-linted clean for ``code``, keeps every comment and is idempotent; return the text."""
    path = head(root, body)
    before = path.read_text(encoding="utf-8")
    assert code in codes(run_lint(root), path)
    fixes = fixes_of(root, path, code, adr)
    assert len(fixes) == count, fixes
    text = apply(before, [e for fix in fixes for e in fix.edits])
    path.write_text(text, encoding="utf-8")
    for fix in fixes:
        for new, content in fix.follow_up_files:
            new.write_text(content, encoding="utf-8")
    after = run_lint(root)
    assert code not in codes(after, path), after.findings
    missing = [c for c in comments(before) if c not in comments(text)]
    assert missing == []
    assert fixes_of(root, path, code, adr) == []
    return text


# ---------------------------------------------------------------- the text edits


def test_edits_and_positions() -> None:
    text = "a = 1\nbé = 2  # é\n"
    edit = edit_between(text, "a = 1\nbé = 3  # é\n")
    assert edit == TextEdit(2, 5, 2, 6, "3")
    assert apply(text, [edit]) == "a = 1\nbé = 3  # é\n"
    assert edit_between(text, text) is None
    # LSP: 0-based lines, UTF-16 code units (é is one unit, 🙂 two)
    assert lsp_text_edit(text, edit)["range"]["start"] == {"line": 1, "character": 5}
    wide = "x = '🙂'; y = 1\n"
    e2 = edit_between(wide, "x = '🙂'; y = 2\n")
    assert e2 is not None and e2.start_col == 13
    assert lsp_text_edit(wide, e2)["range"]["start"]["character"] == 14
    assert lsp_text_edit(wide, e2, "utf-8")["range"]["start"]["character"] == 16
    with pytest.raises(ValueError, match="overlap"):
        apply(text, [TextEdit(1, 0, 1, 3, "x"), TextEdit(1, 2, 1, 4, "y")])
    with pytest.raises(ValueError, match="outside"):
        apply(text, [TextEdit(9, 0, 9, 0, "x")])


def test_the_package_does_not_import_libcst_until_asked() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import sys, b03lint.fixes; "
                           "print('libcst' in sys.modules)"], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


# ---------------------------------------------------------------- concurrent index fixes


def test_create_index_made_concurrent_in_an_autocommit_block(project: Path) -> None:
    text = round_trip(project, '    op.create_index("ix_events_code", "events",  # why\n'
                               '                    ["code"])  # keep me', "L001")
    assert ('    # before the body\n'
            '    with op.get_context().autocommit_block():\n'
            '        op.create_index("ix_events_code", "events",  # why\n'
            '                        ["code"], postgresql_concurrently=True)  # keep me\n'
            in text)


def test_create_index_in_sql(project: Path) -> None:
    text = round_trip(project, '    op.execute(sa.text("CREATE UNIQUE INDEX ix_events_code '
                               'ON events (code)"))', "L001")
    assert ('    with op.get_context().autocommit_block():\n'
            '        op.execute(sa.text("CREATE UNIQUE INDEX CONCURRENTLY ix_events_code ON '
            'events (code)"))\n' in text)


def test_drop_index(project: Path) -> None:
    text = round_trip(project, '    op.drop_index(\n        "ix_events_account",\n'
                               '        table_name="events",\n    )', "L002")
    assert ('    with op.get_context().autocommit_block():\n        op.drop_index(\n'
            '            "ix_events_account",\n            table_name="events",\n'
            '            postgresql_concurrently=True,\n        )\n' in text)
    path = head(project, '    op.execute("""\n        DROP INDEX ix_events_account\n    """)')
    text = round_trip(project, '    op.execute("""\n        DROP INDEX ix_events_account\n'
                               '    """)', "L002")
    assert "        DROP INDEX CONCURRENTLY ix_events_account\n" in text
    assert path.exists()


def test_concurrently_outside_autocommit(project: Path) -> None:
    text = round_trip(project, '    op.create_index("ix_events_code", "events", ["code"],\n'
                               '                    postgresql_concurrently=True)', "L010")
    assert "    with op.get_context().autocommit_block():\n        op.create_index(" in text
    round_trip(project, '    if True:\n        op.execute("VACUUM events")', "L010")


def test_no_fix_where_it_would_not_help(project: Path) -> None:
    """Two statements in one string run as one implicit transaction: CONCURRENTLY fails
    in an autocommit block too. A batch operation is not wrapped either."""
    path = head(project, '    op.execute("CREATE INDEX ix_a ON events (code); '
                         'CREATE INDEX ix_b ON events (id)")')
    assert "L001" in codes(run_lint(project), path)
    assert fixes_of(project, path, "L001") == []


# ---------------------------------------------------------------- the command line


def test_fix_writes_and_reports(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = head(project, '    op.create_index("ix_events_code", "events", ["code"])\n'
                         '    op.drop_index("ix_events_account", table_name="events")')
    code = main(["check", "--fix"])
    err = capsys.readouterr().err
    assert "Fixed 2 finding(s) (L001 x1, L002 x1) in 1 file(s)" in err
    assert code == 0, err
    assert path.read_text().count("autocommit_block") == 2
    assert main(["check", "--fix"]) == 0
    assert "No fixes applied" in capsys.readouterr().err


def test_diff_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = head(project, '    op.create_index("ix_events_code", "events", ["code"])')
    before = path.read_bytes()
    files = sorted(p.name for p in (project / "v").iterdir())
    assert main(["check", "--diff"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("--- a/v/a1_change.py\n+++ b/v/a1_change.py\n")
    assert "+    with op.get_context().autocommit_block():" in out
    assert "Would fix 1 finding(s) (L001 x1)" in err
    assert path.read_bytes() == before
    assert sorted(p.name for p in (project / "v").iterdir()) == files
    # what --diff shows is what --fix does
    assert main(["check", "--fix"]) == 0
    capsys.readouterr()
    assert main(["check", "--diff"]) == 0
    assert capsys.readouterr().out == ""
