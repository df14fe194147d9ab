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
    """The fixes of ``code`` for ``path`` that the command line may apply (not the
    suppressions, which the editor offers)."""
    config = load_config(explicit=root / "pyproject.toml")
    found = [f for f in run_lint(root).findings
             if Path(f.path).resolve() == path.resolve()]
    text = path.read_text(encoding="utf-8")
    return [f for f in fixes_for(text, path, found, config=config, adr=adr)
            if f.code == code and not f.manual]


def codes(result: Result, path: Path) -> list[str]:
    """The codes of the findings of ``path`` (a waived one, kept as info, is not one)."""
    return [f.code for f in result.findings if Path(f.path).resolve() == path.resolve()
            and not f.data.get("waived_by")]


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
    # the second round gives the statements in their autocommit blocks their guards
    assert "Fixed 4 finding(s) (L001 x1, L002 x1, L021 x2) in 1 file(s); 1 finding(s) " \
           "remain." in err  # D010, a warning
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
    assert "Would fix 2 finding(s) (L001 x1, L021 x1) in 1 file(s)" in err
    assert path.read_bytes() == before
    assert sorted(p.name for p in (project / "v").iterdir()) == files
    # what --diff shows is what --fix does
    assert main(["check", "--fix"]) == 0
    capsys.readouterr()
    assert main(["check", "--diff"]) == 0
    assert capsys.readouterr().out == ""


def test_reindex_concurrently(project: Path) -> None:
    text = round_trip(project, '    op.execute("REINDEX INDEX ix_events_account")', "L012")
    assert 'op.execute("REINDEX INDEX CONCURRENTLY ix_events_account")' in text


# ---------------------------------------------------------------- NOT VALID + VALIDATE


def follow_ups(root: Path) -> list[Path]:
    return sorted(p for p in (root / "v").glob("*_validate_constraints.py"))


def test_not_valid_and_the_validate_migration(project: Path) -> None:
    text = round_trip(project, '    op.create_foreign_key("fk_events_account", "events", '
                               '"accounts",\n                          ["account_id"], ["id"])',
                      "L003")
    assert ('["account_id"], ["id"], postgresql_not_valid=True)' in text)
    (new,) = follow_ups(project)
    body = new.read_text()
    assert 'down_revision = "a1"' in body
    assert 'op.execute("ALTER TABLE events VALIDATE CONSTRAINT fk_events_account")' in body
    result = run_lint(project)
    # one head, nothing validated in the transaction that added it, no graph finding
    assert [f.code for f in result.findings if f.code[0] in "GL" and f.code != "L008"] == []


def test_not_valid_in_sql_and_a_second_constraint(project: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Two constraints of one revision: --fix validates both in one follow-up (the second
    round edits the follow-up the first wrote), and the chain keeps one head."""
    path = head(project, '    op.execute("ALTER TABLE events ADD CONSTRAINT ck_code '
                         'CHECK (code <> \'\');")\n'
                         '    op.create_check_constraint("ck_id", "events", "id > 0")')
    assert main(["check", "--fix"]) == 0, capsys.readouterr()
    err = capsys.readouterr().err
    assert "Fixed 2 finding(s) (L003 x2)" in err
    assert "Wrote the new migration v/" in err
    text = path.read_text()
    assert "CHECK (code <> '') NOT VALID;\")" in text
    assert 'op.create_check_constraint("ck_id", "events", "id > 0", ' \
           'postgresql_not_valid=True)' in text
    (new,) = follow_ups(project)
    body = new.read_text()
    assert body.count('op.execute("ALTER TABLE events VALIDATE CONSTRAINT') == 2
    assert "pass" not in body.split("def upgrade")[1].split("def downgrade")[0]
    assert codes(run_lint(project), new) == []


def test_the_follow_up_between_revisions_is_unsafe(project: Path) -> None:
    path = head(project, '    op.create_check_constraint("ck_id", "events", "id > 0")')
    child = project / "v" / "a2_next.py"
    child.write_text(HEAD.replace('"a1"', '"a2"').replace('"a0"', '"a1"')
                     .format(body="    pass"))
    (fix,) = fixes_of(project, path, "L003")
    assert not fix.safe
    assert [p for p, _ in fix.other_edits] == [child.resolve()]
    assert main(["check", "--fix"]) == 1
    assert follow_ups(project) == []
    assert main(["check", "--unsafe-fixes"]) in (0, 1)
    (new,) = follow_ups(project)
    assert f'down_revision = "{new.name.split("_")[0]}"' in child.read_text()
    result = run_lint(project)
    assert [f.code for f in result.findings if f.code.startswith(("G", "L003"))] == []


def test_no_validate_of_a_constraint_the_revision_drops_again(project: Path) -> None:
    """A CHECK on a column that the same revision drops is dropped with it: a follow-up
    VALIDATE would fail. A foreign key on another column of the table is fixed."""
    path = head(project, '    op.create_check_constraint("ck_code", "events", "code <> \'\'")\n'
                         '    op.create_foreign_key("fk_events_account", "events", "accounts",'
                         ' ["account_id"], ["id"])\n'
                         '    op.drop_column("events", "code")')
    assert [f.finding.line for f in fixes_of(project, path, "L003")
            if f.finding is not None] == [12]


def test_an_unnamed_constraint_gets_no_fix(project: Path) -> None:
    path = head(project, '    op.create_check_constraint(None, "events", "id > 0")')
    assert fixes_of(project, path, "L003") == []


# ---------------------------------------------------------------- robust statements


@pytest.mark.parametrize("statement", [
    'op.create_index("ix_events_code", "events", ["code"], postgresql_concurrently=True)',
    'op.drop_index("ix_events_account", table_name="events", postgresql_concurrently=True)',
    'op.add_column("events", sa.Column("note", sa.Text()))',
    'op.drop_column("events", "code")',
    'op.execute("CREATE INDEX CONCURRENTLY ix_events_code ON events (code)")',
    'op.execute("DROP INDEX CONCURRENTLY ix_events_account")',
    'op.execute("ALTER TABLE events ADD COLUMN note text")',
    'op.execute("ALTER TABLE events DROP code")',
    'op.execute("CREATE TABLE notes (id int)")',
    'op.execute("DROP TABLE accounts")',
])
def test_robust_statements(project: Path, statement: str) -> None:
    body = f"    with op.get_context().autocommit_block():\n        {statement}  # note"
    text = round_trip(project, body, "L021")
    assert ("IF EXISTS" in text or "IF NOT EXISTS" in text or "if_exists=True" in text
            or "if_not_exists=True" in text)


def test_robust_statement_in_a_multi_statement_string(project: Path) -> None:
    body = ('    with op.get_context().autocommit_block():\n'
            '        op.execute("""\n'
            '            DROP INDEX CONCURRENTLY ix_events_account;\n'
            '            CREATE INDEX CONCURRENTLY ix_events_code ON events (code);\n'
            '        """)')
    path = head(project, body)
    found = fixes_of(project, path, "L021")
    assert len(found) == 2
    text = apply(path.read_text(), [e for f in found for e in f.edits])
    assert "DROP INDEX CONCURRENTLY IF EXISTS ix_events_account;" in text
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_events_code ON" in text


def test_fix_rounds_create_then_guard(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The concurrent index fix moves the call into an autocommit block, where the next
    round gives it its guard."""
    path = head(project, '    op.create_index("ix_events_code", "events", ["code"])')
    assert main(["check", "--fix"]) == 0
    assert "(L001 x1, L021 x1)" in capsys.readouterr().err
    # past the line length (88 when the project sets none), a keyword goes on a line of
    # its own, under the first argument; the next one follows it there
    assert ('        op.create_index("ix_events_code", "events", ["code"],\n'
            '                        postgresql_concurrently=True, if_not_exists=True)\n'
            in path.read_text())


# ---------------------------------------------------------------- waiver and suppression


def test_waiver_is_unsafe_and_cites_the_adr(project: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = head(project, '    op.drop_column("events", "code")  # legacy\n'
                         '    op.execute("""\n        ALTER TABLE events DROP COLUMN account_id\n'
                         '    """)')
    before = path.read_text()
    assert main(["check", "--fix", "--adr", "ADR-7"]) == 1
    err = capsys.readouterr().err
    assert "more fix(es) with --unsafe-fixes" in err
    assert path.read_text() == before
    text = round_trip(project, path.read_text().split("    # before the body\n")[1]
                      .split("\n    # after the body")[0], "D002", adr="7", count=2)
    assert "    # CI:DESTRUCTIVE_OK - See ADR-007\n    op.drop_column" in text
    assert ("        ALTER TABLE events DROP COLUMN account_id -- CI:DESTRUCTIVE_OK - See "
            "ADR-007\n" in text)
    assert [f.code for f in run_lint(project).findings if f.code.startswith("D02")] == []


def test_waiver_with_unsafe_fixes_on_the_command_line(project: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = head(project, '    op.drop_column("events", "code")')
    assert main(["check", "--unsafe-fixes", "--adr", "ADR-007"]) == 0
    assert 'op.drop_column("events", "code")  # CI:DESTRUCTIVE_OK - See ADR-007\n' in \
        path.read_text()
    assert "Fixed 1 finding(s) (D002 x1)" in capsys.readouterr().err


def test_an_adr_that_does_not_exist_is_refused(project: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = head(project, '    op.drop_column("events", "code")')
    before = path.read_text()
    assert main(["check", "--unsafe-fixes", "--adr", "ADR-999"]) == 2
    err = capsys.readouterr().err
    assert "ADR-999 has no file named ADR-<id>-*.md in adr" in err
    assert path.read_text() == before
    assert main(["check", "--adr", "ADR-007"]) == 2
    assert "use it with --unsafe-fixes" in capsys.readouterr().err


def test_suppression_needs_its_reason_written(project: Path) -> None:
    path = head(project, '    op.create_index("ix_events_code", "events", ["code"])  # hot')
    config = load_config(explicit=project / "pyproject.toml")
    found = [f for f in run_lint(project).findings if f.code == "L001"]
    (fix,) = [f for f in fixes_for(path.read_text(), path, found, config=config)
              if f.manual]
    assert fix.placeholder == "<reason>" and not fix.safe
    text = apply(path.read_text(), fix.edits)
    assert "    # b03lint: ignore[L001] -- <reason>\n    op.create_index(" in text
    path.write_text(text)
    result = run_lint(project)
    # until the reason is written it suppresses nothing, and says so
    assert {"L001", "S001"} <= set(codes(result, path))
    path.write_text(text.replace("<reason>", "the table holds ten rows"))
    assert "L001" not in codes(run_lint(project), path)
    # never applied by the command line (SET NOT NULL has no other fix)
    path.write_text(HEAD.format(body='    op.alter_column("events", "code", nullable=False)'))
    before = path.read_text()
    assert "L004" in codes(run_lint(project), path)
    assert main(["check", "--unsafe-fixes"]) == 1
    assert path.read_text() == before


def test_no_suppression_of_destructive_ddl(project: Path) -> None:
    path = head(project, '    op.drop_column("events", "code")')
    assert [f for f in fixes_of(project, path, "D002") if f.manual] == []


def test_keyword_on_its_own_line_past_the_line_length(project: Path) -> None:
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text()
                                            + "\n[tool.ruff]\nline-length = 60\n")
    text = round_trip(project, '    op.drop_index("ix_events_account", table_name="events")',
                      "L002")
    assert ('        op.drop_index("ix_events_account", table_name="events",\n'
            '                      postgresql_concurrently=True)\n' in text)


def test_suppression_inside_sql(project: Path) -> None:
    path = head(project, '    op.execute("""\n'
                         '        ALTER TABLE events ALTER COLUMN code SET NOT NULL\n'
                         '    """)')
    config = load_config(explicit=project / "pyproject.toml")
    found = [f for f in run_lint(project).findings if f.code == "L004"]
    (fix,) = [f for f in fixes_for(path.read_text(), path, found, config=config) if f.manual]
    text = apply(path.read_text(), fix.edits)
    assert ("        ALTER TABLE events ALTER COLUMN code SET NOT NULL -- b03lint: "
            "ignore[L004] -- <reason>\n" in text)
    path.write_text(text.replace("<reason>", "events is empty in every environment"))
    assert "L004" not in codes(run_lint(project), path)


def test_every_fix_is_documented_by_its_rule(capsys: pytest.CaptureFixture[str]) -> None:
    """The rules whose findings have a fix say so (``b03lint rule``, docs/rules.md), and
    only those."""
    from b03lint.fixes.engine import _fixers
    from b03lint.fixes.model import FIX_DOCS
    from b03lint.rules.registry import default_registry

    registry = default_registry()
    waivable = {r.code for r in registry.select("destructive")
                if r.code not in ("D020", "D021", "D022")}
    assert set(FIX_DOCS) == set(_fixers()) | waivable
    assert main(["rule", "L003"]) == 0
    out = capsys.readouterr().out
    assert "Automatic fix (safe):\n    `b03lint check --fix` adds `postgresql_not_valid=True`" \
        in out
    rules_md = (Path(__file__).resolve().parent.parent / "docs" / "rules.md").read_text()
    for code in FIX_DOCS:
        section = rules_md.split(f"### {code} ")[1].split("\n### ")[0]
        assert "**Automatic fix**" in section, code
    assert "**Automatic fix**" not in rules_md.split("### L004 ")[1].split("\n### ")[0]


def test_diff_exit_code_is_ruffs(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--diff exits 1 when it shows a change and 0 when it has none, whatever findings
    without a fix remain (ruff's contract); a plain check still says 1."""
    head(project, '    op.alter_column("events", "code", nullable=False)')
    assert main(["check", "--diff"]) == 0
    assert "No fixes available." in capsys.readouterr().err
    assert main(["check"]) == 1


def test_keyword_before_a_parenthesis_on_its_own_line(project: Path) -> None:
    text = round_trip(project, '    op.create_foreign_key(\n'
                               '        "fk_events_account", "events", "accounts", '
                               '["account_id"], ["id"]\n    )', "L003")
    assert ('        "fk_events_account", "events", "accounts", ["account_id"], ["id"],\n'
            '        postgresql_not_valid=True\n    )\n' in text)


def test_a_waiver_of_a_data_statement_is_used(project: Path) -> None:
    """DELETE without WHERE is no schema step: the waiver that waives it is not unused."""
    text = round_trip(project, '    op.execute("DELETE FROM events")', "D006", adr="ADR-007")
    assert 'op.execute("DELETE FROM events")  # CI:DESTRUCTIVE_OK - See ADR-007' in text
    assert [f.code for f in run_lint(project).findings if f.code.startswith("D02")] == []


def test_constraint_named_by_a_module_constant(project: Path) -> None:
    path = head(project, '    op.create_check_constraint(CK_NAME, TABLE, "id > 0")')
    path.write_text(path.read_text().replace('revision = "a1"\n',
                                             'revision = "a1"\nCK_NAME = "ck_id"\n'
                                             'TABLE = "events"\n'))
    (fix,) = fixes_of(project, path, "L003")
    ((_new, text),) = fix.follow_up_files
    assert 'op.execute("ALTER TABLE events VALIDATE CONSTRAINT ck_id")' in text


# ---------------------------------------------------------------- the fixed chain runs

ENV_PY = '''\
import os

from alembic import context
from sqlalchemy import create_engine, pool

url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
'''


def _alembic(root: Path, url: str, *args: str) -> tuple[int, str]:
    import subprocess
    import sys

    script = Path(sys.executable).with_name("alembic")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "alembic"]
    done = subprocess.run([*argv, "-c", str(root / "alembic.ini"), *args], cwd=root,
                          env={**os.environ, "DATABASE_URL": url}, capture_output=True,
                          text=True, timeout=300, check=False)
    return done.returncode, done.stderr


def test_the_fixed_chain_upgrades_on_postgresql(project: Path, pg_database: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The fixes, written by `check --fix --unsafe-fixes`, run with the real `alembic
    upgrade` on a table that holds rows: the concurrent index builds outside the
    transaction (it fails inside it before the fix), the constraints are added NOT VALID
    and validated by the follow-up revision, the guards let the statements run."""
    import psycopg

    (project / "alembic.ini").write_text("[alembic]\nscript_location = mig\n")
    (project / "mig").mkdir()
    (project / "mig" / "env.py").write_text(ENV_PY)
    (project / "v").rename(project / "mig" / "versions")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('migrations = "v"',
                                                       'migrations = "mig/versions"'))
    path = project / "mig" / "versions" / "a1_change.py"
    path.write_text(HEAD.format(body=(
        '    op.create_index("ix_events_code", "events", ["code"])\n'
        '    op.create_index("ix_events_id", "events", ["id"], postgresql_concurrently=True)\n'
        '    op.execute("DROP INDEX ix_events_account")\n'
        '    op.create_foreign_key("fk_events_account", "events", "accounts",\n'
        '                          ["account_id"], ["id"])\n'
        '    op.execute("ALTER TABLE events ADD CONSTRAINT ck_code CHECK (code <> \'\')")\n'
        '    op.drop_column("events", "code")')))
    code, err = _alembic(project, pg_database, "upgrade", "a0")
    assert code == 0, err
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("INSERT INTO accounts (id) VALUES (1)")
        conn.execute("INSERT INTO events (id, account_id, code) VALUES (1, 1, 'x'), (2, 1, 'y')")
    code, err = _alembic(project, pg_database, "upgrade", "head")
    assert code != 0 and "cannot run inside a transaction block" in err

    fixed = main(["check", "--fix", "--unsafe-fixes", "--adr", "ADR-007"])
    out, err = capsys.readouterr()
    # ck_code is not fixed: its column is dropped later in the revision, and with it the
    # constraint, so no later revision could VALIDATE it (C013 would say so)
    assert fixed == 1, out + err
    assert [line.split(": ", 1)[1].split(" ")[0] for line in out.splitlines()
            if " blocking " in line] == ["L003"]
    assert "ck_code" in out
    code, err = _alembic(project, pg_database, "upgrade", "head")
    assert code == 0, err
    with psycopg.connect(pg_database) as conn:
        indexes = dict(conn.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c "
            "ON c.oid = i.indexrelid WHERE i.indrelid = 'events'::regclass").fetchall())
        constraints = dict(conn.execute(
            "SELECT conname, convalidated FROM pg_constraint WHERE conrelid = "
            "'events'::regclass AND contype IN ('f', 'c')").fetchall())
        columns = {r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'events'::regclass "
            "AND attnum > 0 AND NOT attisdropped").fetchall()}
    assert indexes == {"events_pkey": True, "ix_events_id": True}  # code dropped with it
    assert constraints == {"fk_events_account": True}
    assert "code" not in columns
