"""Lock rules (the ``locks`` category): squawk-style cases on tables that existed before the
migration fire, in the Python and the SQL form; the same statements on a table created
earlier in the same migration do not (the false positive a one-file linter cannot avoid);
the rules are off by default and one line turns them on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from b03lint.cli import main
from b03lint.config import load_config
from b03lint.engine import Result, RuleSet, lint
from b03lint.rules.registry import build_registry, default_registry

REPO = Path(__file__).resolve().parent.parent

HEAD = '''"""{rev}"""
from alembic import op
import sqlalchemy as sa

revision = "{rev}"
down_revision = {down}


def upgrade():
'''
BODY = HEAD.count("\n") + 1

CREATE = '''\
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer()),
        sa.Column("code", sa.Text()),
    )
    op.create_table("accounts", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_index("ix_events_code", "events", ["code"])
'''

#: (rule, statement on events) — each a squawk test case in spirit
CASES = [
    ("L001", 'op.execute("CREATE INDEX ix_events_account ON events (account_id)")'),
    ("L001", 'op.create_index("ix_events_account", "events", ["account_id"], unique=True)'),
    ("L002", 'op.execute("DROP INDEX ix_events_code")'),
    ("L002", 'op.drop_index("ix_events_code", table_name="events")'),
    ("L003", 'op.execute("ALTER TABLE events ADD CONSTRAINT fk_acc FOREIGN KEY (account_id) '
             'REFERENCES accounts (id)")'),
    ("L003", 'op.create_foreign_key("fk_acc", "events", "accounts", ["account_id"], ["id"])'),
    ("L003", 'op.execute("ALTER TABLE events ADD CONSTRAINT ck_code CHECK (code <> \'\')")'),
    ("L004", 'op.execute("ALTER TABLE events ALTER COLUMN code SET NOT NULL")'),
    ("L004", 'op.alter_column("events", "code", nullable=False)'),
    ("L005", 'op.execute("ALTER TABLE events ADD COLUMN kind text NOT NULL")'),
    ("L005", 'op.add_column("events", sa.Column("kind", sa.Text(), nullable=False))'),
    ("L006", 'op.execute("ALTER TABLE events ADD COLUMN r float DEFAULT random()")'),
    ("L006", 'op.execute("ALTER TABLE events ADD COLUMN u uuid DEFAULT gen_random_uuid()")'),
    ("L006", 'op.add_column("events", sa.Column("t", sa.DateTime(), '
             'server_default=sa.text("clock_timestamp()")))'),
    ("L006", 'op.execute("ALTER TABLE events ADD COLUMN n bigserial")'),
    ("L007", 'op.execute("ALTER TABLE events ADD CONSTRAINT uq_code UNIQUE (code)")'),
    ("L007", 'op.create_unique_constraint("uq_code", "events", ["code"])'),
    ("L007", 'op.execute("ALTER TABLE events ADD PRIMARY KEY (code)")'),
    ("L012", 'op.execute("REINDEX INDEX ix_events_code")'),
    ("L012", 'op.execute("REINDEX TABLE events")'),
    ("L014", 'op.execute("CLUSTER events USING ix_events_code")'),
    ("L019", 'op.execute("ALTER TABLE events ADD COLUMN g int GENERATED ALWAYS AS (id) STORED")'),
    ("L019", 'op.add_column("events", sa.Column("g", sa.Integer(), sa.Computed("id")))'),
    ("L020", 'op.execute("ALTER TABLE events ALTER COLUMN id DROP NOT NULL")'),
    ("L020", 'op.alter_column("events", "id", nullable=True)'),
]

#: statements that are safe on an existing table
SAFE = [
    'with op.get_context().autocommit_block():\n'
    '        op.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_events_account ON events '
    '(account_id)")',
    'with op.get_context().autocommit_block():\n'
    '        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_events_code")',
    'op.execute("ALTER TABLE events ADD CONSTRAINT fk_acc FOREIGN KEY (account_id) '
    'REFERENCES accounts (id) NOT VALID")',
    'op.execute("ALTER TABLE events VALIDATE CONSTRAINT fk_acc")',
    'op.execute("ALTER TABLE events ADD COLUMN kind text NOT NULL DEFAULT \'x\'")',
    'op.execute("ALTER TABLE events ADD COLUMN seen timestamptz DEFAULT now()")',
    'op.execute("ALTER TABLE events ADD COLUMN seen2 timestamptz DEFAULT CURRENT_TIMESTAMP")',
    'op.execute("ALTER TABLE events ADD CONSTRAINT uq_code UNIQUE USING INDEX ix_events_code")',
    'op.add_column("events", sa.Column("note", sa.Text()))',
    'op.create_foreign_key("fk_acc", "events", "accounts", ["account_id"], ["id"], '
    'postgresql_not_valid=True)',
    'op.create_check_constraint("ck", "events", "code <> \'\'", postgresql_not_valid=True)',
    'op.execute("ALTER TABLE events ADD COLUMN owner int REFERENCES accounts (id)")',
    'op.execute("ALTER TABLE events ADD COLUMN k text DEFAULT lower(\'X\')")',
    'op.execute("ANALYZE events")',
]


def mig(rev: str, down: str | tuple[str, ...] | None, body: str) -> str:
    return (HEAD.format(rev=rev, down=repr(down)) + body.rstrip("\n")
            + "\n\n\ndef downgrade():\n    pass\n")


def indent(statement: str) -> str:
    return "    " + statement + "\n"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.b03lint]\nmigrations = "v"\nextend_select = ["locks"]\n'
        'env_settings = ["lock_timeout", "statement_timeout"]\n', encoding="utf-8")
    (tmp_path / "v").mkdir()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def check(root: Path, files: dict[str, str], **kwargs: object) -> Result:
    for name, text in files.items():
        (root / "v" / f"{name}.py").write_text(text, encoding="utf-8")
    result = lint(load_config(explicit=root / "pyproject.toml"), select=["locks"],
                  **kwargs)  # type: ignore[arg-type]
    assert result.errors == [], [str(e) for e in result.errors]
    return result


def safety(result: Result) -> list[tuple[str, str, int]]:
    return sorted((f.code, Path(f.path).stem, f.line) for f in result.findings)


@pytest.mark.parametrize(("code", "statement"), CASES, ids=[f"{c}-{i}" for i, (c, _) in
                                                             enumerate(CASES)])
def test_fires_on_a_table_created_by_an_earlier_revision(project: Path, code: str,
                                                         statement: str) -> None:
    result = check(project, {"a0": mig("a0", None, CREATE),
                             "a1": mig("a1", "a0", indent(statement))})
    assert safety(result) == [(code, "a1", BODY)]
    (finding,) = result.findings
    assert finding.fix and finding.object
    assert finding.severity == ("warning" if code == "L020" else "blocking")


@pytest.mark.parametrize(("code", "statement"), CASES, ids=[f"{c}-{i}" for i, (c, _) in
                                                             enumerate(CASES)])
def test_silent_on_a_table_created_in_the_same_migration(project: Path, code: str,
                                                         statement: str) -> None:
    result = check(project, {"a0": mig("a0", None, CREATE + indent(statement))})
    assert safety(result) == []


@pytest.mark.parametrize("statement", SAFE)
def test_silent_for_the_safe_form(project: Path, statement: str) -> None:
    result = check(project, {"a0": mig("a0", None, CREATE),
                             "a1": mig("a1", "a0", indent(statement))})
    assert safety(result) == []


def test_recreated_tables_and_renames_within_one_migration(project: Path) -> None:
    body = ('    op.drop_table("events")\n'
            '    op.create_table("events", sa.Column("code", sa.Text()))\n'
            '    op.create_index("ix_e_code2", "events", ["code"])\n'  # fresh table: silent
            '    op.rename_table("accounts", "members")\n'
            '    op.create_index("ix_members_id", "members", ["id"])\n'  # renamed: existing
            '    op.add_column("members", sa.Column("code", sa.Text()))\n'
            '    op.alter_column("members", "code", nullable=False)\n'  # new column: silent
            '    op.alter_column("members", "id", new_column_name="member_id")\n'
            '    op.alter_column("members", "member_id", nullable=False)\n')  # the key: no scan
    result = check(project, {"a0": mig("a0", None, CREATE), "a1": mig("a1", "a0", body)})
    assert safety(result) == [("L001", "a1", BODY + 4)]


def test_existing_means_built_by_the_parents_not_by_a_sibling_branch(project: Path) -> None:
    """``b1`` and ``c1`` both build on ``a0``; ``c1`` creates ``extra``. For ``b1`` the
    table ``extra`` does not exist (it comes from another branch); after the merge it does."""
    files = {
        "a0": mig("a0", None, CREATE),
        "c1": mig("c1", "a0", '    op.create_table("extra", sa.Column("k", sa.Text()))'),
        "b1": mig("b1", "a0", '    op.create_table("extra", sa.Column("k", sa.Text()))\n'
                              '    op.create_index("ix_extra_k", "extra", ["k"])'),
        "m1": mig("m1", ("b1", "c1"), '    op.create_index("ix_extra_k2", "extra", ["k"])'),
    }
    result = check(project, files)
    assert safety(result) == [("L001", "m1", BODY)]


def test_a_chain_that_starts_from_a_schema_made_elsewhere(project: Path) -> None:
    """A first revision that creates no table starts from a database built elsewhere
    (``metadata.create_all()``): the table it indexes holds rows."""
    body = '    op.execute("CREATE INDEX ix ON legacy (a)")'
    result = check(project, {"a0": mig("a0", None, body)})
    assert safety(result) == [("L001", "a0", BODY)]


def test_a_function_not_known_to_be_stable_is_volatile(project: Path) -> None:
    body = ('    op.execute("ALTER TABLE events ADD COLUMN a timestamptz DEFAULT now()")\n'
            '    op.execute("ALTER TABLE events ADD COLUMN b text DEFAULT app.next_code()")\n'
            '    op.execute("ALTER TABLE events ADD COLUMN c float DEFAULT random()")\n')
    result = check(project, {"a0": mig("a0", None, CREATE), "a1": mig("a1", "a0", body)})
    assert safety(result) == [("L006", "a1", BODY + 1), ("L006", "a1", BODY + 2)]
    assert "app.next_code()" in result.findings[0].message


def test_set_not_null_after_a_validated_check_by_version(project: Path) -> None:
    """The sequence L004's own fix recommends is silent on PostgreSQL 12+, reported before."""
    body = ('    op.execute("ALTER TABLE events ADD CONSTRAINT nn CHECK (code IS NOT NULL) '
            'NOT VALID")\n'
            '    op.execute("ALTER TABLE events VALIDATE CONSTRAINT nn")\n'
            '    op.alter_column("events", "code", nullable=False)\n')
    files = {"a0": mig("a0", None, CREATE), "a1": mig("a1", "a0", body)}
    assert [c for c, *_ in safety(check(project, files))] == ["L011"]
    with (project / "pyproject.toml").open("a") as fh:
        fh.write("postgres_version = 11\n")
    assert [c for c, *_ in safety(check(project, files))] == ["L004", "L011"]


def test_timeouts_once_per_migration_and_declared_by_env(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.b03lint]\nmigrations = "v"\n', encoding="utf-8")
    body = ('    op.add_column("events", sa.Column("a", sa.Text()))\n'
            '    op.add_column("events", sa.Column("b", sa.Text()))\n'
            '    op.alter_column("events", "code", nullable=False)\n')
    files = {"a0": mig("a0", None, CREATE), "a1": mig("a1", "a0", body)}
    codes = safety(check(project, files))
    assert [c for c in codes if c[0] in ("L008", "L009")] == [("L008", "a1", BODY),
                                                              ("L009", "a1", BODY + 2)]
    (project / "pyproject.toml").write_text(
        '[tool.b03lint]\nmigrations = "v"\nenv_settings = ["lock_timeout"]\n',
        encoding="utf-8")
    codes = safety(check(project, files))
    assert [c for c in codes if c[0] in ("L008", "L009")] == [("L009", "a1", BODY + 2)]


def test_postgres_version_is_checked(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.b03lint]\nmigrations = "v"\npostgres_version = 9\n', encoding="utf-8")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "postgres_version must be a PostgreSQL major from 10 to 18, not 9" in err
    assert "pyproject.toml:3" in err


def test_lock_rules_are_opt_in_with_one_line() -> None:
    registry = default_registry()
    lock_rules = registry.select("L")
    assert [r.code for r in lock_rules] == [f"L{i:03d}" for i in range(1, 22)]
    assert all(not r.default_enabled and r.category == "locks" for r in lock_rules)
    assert set(lock_rules) == set(registry.select("locks"))
    conventions = registry.select("conventions")
    assert [r.code for r in conventions] == [f"P00{i}" for i in range(1, 6)]
    assert all(not r.default_enabled for r in conventions)
    config = load_config(explicit=REPO / "pyproject.toml")
    enabled = RuleSet.from_config(registry, config).enabled_codes
    assert not {r.code for r in [*lock_rules, *conventions]} & enabled
    config.set("extend_select", ["locks"], "test")
    assert {r.code for r in lock_rules} <= RuleSet.from_config(registry, config).enabled_codes


def test_on_the_example_chain(capsys: pytest.CaptureFixture[str]) -> None:
    """The B0.3 chain: the first revision creates its tables and indexes in one migration
    (silent); the reconciliation drops and rebuilds indexes of live tables (reported)."""
    import json

    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        assert main(["check", "--select", "locks", "--output-format", "json"]) == 1
        assert main(["check", "--output-format", "json"]) in (0, 1)
    finally:
        os.chdir(cwd)
    first, default = capsys.readouterr().out.strip().split("\n{", 1)
    findings = json.loads(first)["findings"]
    by_file = {(Path(f["path"]).name, f["code"]) for f in findings}
    assert ("202511171200_reconcile_b03_baseline.py", "L002") in by_file
    assert ("202511171200_reconcile_b03_baseline.py", "L001") in by_file
    assert not [f for f in findings if "202511131000" in f["path"]]
    assert not [f for f in json.loads("{" + default)["findings"] if f["code"].startswith("L")]


def test_the_registry_of_a_run_holds_them(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.b03lint]\n")
    registry = build_registry(load_config(explicit=tmp_path / "pyproject.toml"))
    assert registry.get("index-without-concurrently") is registry.get("L001") is not None


def test_a_call_the_reader_could_not_read_whole_is_not_judged(project: Path) -> None:
    """``server_default`` computed at run time: the column may well have a default, so
    L005 says nothing (the unresolved part is reported by I004)."""
    body = ('    op.add_column("events", sa.Column("kind", sa.Text(), nullable=False,\n'
            '                  server_default=Kind.DEFAULT.value))\n')
    result = check(project, {"a0": mig("a0", None, CREATE), "a1": mig("a1", "a0", body)})
    assert safety(result) == []


#: issue #16's false positives and blind spots, each in the Python and the SQL form:
#: (what, form, body on the tables of CREATE, the codes it must report with line offsets)
ISSUE_CASES = [
    ("L003 reads postgresql_not_valid", "python",
     'op.create_foreign_key("fk_acc", "events", "accounts", ["account_id"], ["id"],\n'
     '                          postgresql_not_valid=True)\n'
     '    op.create_check_constraint("ck", "events", "code <> \'\'", postgresql_not_valid=True)',
     []),
    ("L003 reads postgresql_not_valid", "sql",
     'op.execute("ALTER TABLE events ADD CONSTRAINT fk_acc FOREIGN KEY (account_id) '
     'REFERENCES accounts (id) NOT VALID")\n'
     '    op.execute("ALTER TABLE events ADD CONSTRAINT ck CHECK (code <> \'\') NOT VALID")',
     []),
    ("L004 after VALIDATE of CHECK (col IS NOT NULL)", "python",
     'op.create_check_constraint("nn", "events", "code IS NOT NULL",\n'
     '                               postgresql_not_valid=True)\n'
     '    with op.get_context().autocommit_block():\n'
     '        op.execute("ALTER TABLE events VALIDATE CONSTRAINT nn")\n'
     '    op.alter_column("events", "code", nullable=False)', []),
    ("L004 after VALIDATE of CHECK (col IS NOT NULL)", "sql",
     'op.execute("ALTER TABLE events ADD CONSTRAINT nn CHECK (code IS NOT NULL) NOT VALID")\n'
     '    with op.get_context().autocommit_block():\n'
     '        op.execute("ALTER TABLE events VALIDATE CONSTRAINT nn")\n'
     '    op.execute("ALTER TABLE events ALTER COLUMN code SET NOT NULL")', []),
    ("L005 not on a generated stored column", "python",
     'op.add_column("events", sa.Column("twice", sa.Integer(),\n'
     '                  sa.Computed("id * 2", persisted=True), nullable=False))', [("L019", 0)]),
    ("L005 not on a generated stored column", "sql",
     'op.execute("ALTER TABLE events ADD COLUMN twice int NOT NULL '
     'GENERATED ALWAYS AS (id * 2) STORED")', [("L019", 0)]),
    ("L006 a user function is volatile", "python",
     'op.add_column("events", sa.Column("c2", sa.Text(),\n'
     '                  server_default=sa.text("app.make_code()")))', [("L006", 0)]),
    ("L006 a user function is volatile", "sql",
     'op.execute("ALTER TABLE events ADD COLUMN c2 text DEFAULT app.make_code()")',
     [("L006", 0)]),
    ("NOT VALID and VALIDATE in one transaction", "python",
     'op.create_check_constraint("ck", "events", "code <> \'\'", postgresql_not_valid=True)\n'
     '    op.execute("ALTER TABLE events VALIDATE CONSTRAINT ck")', [("L011", 1)]),
    ("NOT VALID and VALIDATE in one transaction", "sql",
     'op.execute("ALTER TABLE events ADD CONSTRAINT ck CHECK (code <> \'\') NOT VALID")\n'
     '    op.execute("ALTER TABLE events VALIDATE CONSTRAINT ck")', [("L011", 1)]),
    ("CONCURRENTLY inside Alembic's transaction", "python",
     'op.create_index("ix_acc", "events", ["account_id"], postgresql_concurrently=True)',
     [("L010", 0)]),
    ("CONCURRENTLY inside Alembic's transaction", "sql",
     'op.execute("CREATE INDEX CONCURRENTLY ix_acc ON events (account_id)")', [("L010", 0)]),
]


@pytest.mark.parametrize(("what", "form", "body", "expected"), ISSUE_CASES,
                         ids=[f"{w} ({f})" for w, f, _, _ in ISSUE_CASES])
def test_the_issues_false_positives_in_both_forms(project: Path, what: str, form: str,
                                                  body: str, expected: list[tuple[str, int]]
                                                  ) -> None:
    result = check(project, {"a0": mig("a0", None, CREATE), "a1": mig("a1", "a0", indent(body))})
    assert safety(result) == [(code, "a1", BODY + offset) for code, offset in expected]
    from b03lint.engine import load_project

    a1 = next(mf for mf in load_project(load_config(explicit=project / "pyproject.toml"),
                                        None).files if mf.revision == "a1")
    assert a1.upgrade_ops[0].source == form, what
