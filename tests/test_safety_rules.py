"""Lock-safety rules (L001-L007): squawk-style cases on tables that existed before the
migration fire; the same statements on a table created earlier in the same migration do
not (the false positive a one-file linter cannot avoid); the rules are off by default."""

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
]

#: statements that are safe on an existing table
SAFE = [
    'op.execute("CREATE INDEX CONCURRENTLY ix_events_account ON events (account_id)")',
    'op.execute("DROP INDEX CONCURRENTLY ix_events_code")',
    'op.execute("ALTER TABLE events ADD CONSTRAINT fk_acc FOREIGN KEY (account_id) '
    'REFERENCES accounts (id) NOT VALID")',
    'op.execute("ALTER TABLE events VALIDATE CONSTRAINT fk_acc")',
    'op.execute("ALTER TABLE events ALTER COLUMN code DROP NOT NULL")',
    'op.execute("ALTER TABLE events ADD COLUMN kind text NOT NULL DEFAULT \'x\'")',
    'op.execute("ALTER TABLE events ADD COLUMN seen timestamptz DEFAULT now()")',
    'op.execute("ALTER TABLE events ADD COLUMN seen2 timestamptz DEFAULT CURRENT_TIMESTAMP")',
    'op.execute("ALTER TABLE events ADD CONSTRAINT uq_code UNIQUE USING INDEX ix_events_code")',
    'op.add_column("events", sa.Column("note", sa.Text()))',
]


def mig(rev: str, down: str | tuple[str, ...] | None, body: str) -> str:
    return (HEAD.format(rev=rev, down=repr(down)) + body.rstrip("\n")
            + "\n\n\ndef downgrade():\n    pass\n")


def indent(statement: str) -> str:
    return "    " + statement + "\n"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.b03lint]\nmigrations = "v"\nextend_select = ["safety"]\n', encoding="utf-8")
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
    result = lint(load_config(explicit=root / "pyproject.toml"), select=["safety"],
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
    assert finding.fix and finding.severity == "blocking" and finding.object


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
            '    op.alter_column("members", "member_id", nullable=False)\n')  # renamed: existing
    result = check(project, {"a0": mig("a0", None, CREATE), "a1": mig("a1", "a0", body)})
    assert safety(result) == [("L001", "a1", BODY + 4), ("L004", "a1", BODY + 8)]


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


def test_a_migration_without_parents_starts_from_an_empty_schema(project: Path) -> None:
    body = '    op.execute("CREATE INDEX ix ON legacy (a)")'
    result = check(project, {"a0": mig("a0", None, body)})
    assert safety(result) == []


def _project_of(root: Path) -> object:
    """The engine's view of a chain, as rules get it."""
    from b03lint.engine import Project
    from b03lint.loader import load_files
    from b03lint.rules.registry import default_registry

    config = load_config(explicit=root / "pyproject.toml")
    folder = config.path("migrations")
    assert folder is not None
    paths = sorted(folder.rglob("*.py"))
    files = load_files([(p.relative_to(root).as_posix(), p) for p in paths], config)
    return Project(config, default_registry(), files, None, None, [])


def test_a_linear_chain_is_folded_once(project: Path) -> None:
    from b03lint.rules.safety import _Before

    files = {"a00": mig("a00", None, CREATE)}
    for i in range(1, 30):
        files[f"a{i:02d}"] = mig(f"a{i:02d}", f"a{i - 1:02d}",
                                 f'    op.create_index("ix_{i}", "events", ["code"])')
    result = check(project, files)
    assert len(result.findings) == 29
    before = _Before(_project_of(project))  # type: ignore[arg-type]
    assert before.linear == set(files)
    before.facts_after("a05")
    assert before.folded and set(before.after) == set(files)
    assert "ix_4" in before.after["a05"].indexes and "ix_5" in before.after["a05"].indexes
    assert "ix_6" not in before.after["a05"].indexes


def test_the_incremental_facts_equal_a_replay_of_each_revision(project: Path) -> None:
    """Branches, a merge, and a chain that is linear again after it: for every revision
    the facts equal those of replaying the chain up to it."""
    from b03lint.contract import replay_chain
    from b03lint.rules.safety import Facts, _Before

    files = {
        "a0": mig("a0", None, CREATE),
        "b1": mig("b1", "a0", '    op.create_table("b", sa.Column("k", sa.Text()))'),
        "c1": mig("c1", "a0", '    op.add_column("events", sa.Column("c", sa.Text()))'),
        "c2": mig("c2", "c1", '    op.create_index("ix_c", "events", ["c"])'),
        "m1": mig("m1", ("b1", "c2"), '    op.drop_index("ix_events_code")'),
        "n1": mig("n1", "m1", '    op.rename_table("b", "bb")'),
        "n2": mig("n2", "n1", '    op.drop_column("events", "code")'),
    }
    for name, text in files.items():
        (project / "v" / f"{name}.py").write_text(text, encoding="utf-8")
    proj = _project_of(project)
    before = _Before(proj)  # type: ignore[arg-type]
    # order a0 b1 c1 c2 m1 n1 n2: after b1 the fold holds exactly b1's schema; c1 and c2
    # come after b1 without descending from it
    assert before.linear == {"a0", "b1", "m1", "n1", "n2"}
    for rev in files:
        expected = Facts.of(replay_chain(proj.graph, rev).schema)  # type: ignore[attr-defined]
        assert before.facts_after(rev) == expected, rev


def test_volatile_functions_is_an_option(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.b03lint]\nmigrations = "v"\n'
        '[tool.b03lint.options.volatile-default]\nvolatile-functions = ["now"]\n')
    body = ('    op.execute("ALTER TABLE events ADD COLUMN a timestamptz DEFAULT now()")\n'
            '    op.execute("ALTER TABLE events ADD COLUMN b float DEFAULT random()")\n')
    result = check(project, {"a0": mig("a0", None, CREATE), "a1": mig("a1", "a0", body)})
    assert safety(result) == [("L006", "a1", BODY)]
    (project / "pyproject.toml").write_text(
        '[tool.b03lint]\nmigrations = "v"\n'
        '[tool.b03lint.options.L006]\nvolatile-functions = "now"\n')
    result = lint(load_config(explicit=project / "pyproject.toml"), select=["safety"])
    assert "volatile_functions" in result.errors[0].message and result.exit_code == 2


def test_safety_rules_are_opt_in() -> None:
    registry = default_registry()
    safety_rules = registry.select("L")
    assert [r.code for r in safety_rules] == [f"L00{i}" for i in range(1, 8)]
    assert all(not r.default_enabled and r.category == "safety" for r in safety_rules)
    assert set(safety_rules) <= set(registry.select("safety"))
    config = load_config(explicit=REPO / "pyproject.toml")
    assert not {r.code for r in safety_rules} & RuleSet.from_config(registry, config).enabled_codes
    config.set("extend_select", ["safety"], "test")
    assert {r.code for r in safety_rules} <= RuleSet.from_config(registry, config).enabled_codes


def test_on_the_example_chain(capsys: pytest.CaptureFixture[str]) -> None:
    """The B0.3 chain: the first revision creates its tables and indexes in one migration
    (silent); the reconciliation drops and rebuilds indexes of live tables (reported)."""
    import json

    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        assert main(["check", "--select", "safety", "--output-format", "json"]) == 1
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
