"""The start-up path: `b03lint check` on one file imports nothing it does not need.

Each case runs the real CLI in a fresh interpreter through a tiny wrapper that calls
``b03lint.cli.main`` and then writes ``sorted(sys.modules)`` to a file; the test fails when a
heavy module was imported (the costs, measured: alembic 200 ms, libcst 110 ms, psycopg
96 ms, sqlglot 72 ms, pglast 25 ms, against about 10-20 ms for `python -c pass`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ci_skip import skip_outside_ci

REPO = Path(__file__).resolve().parent.parent

#: never on the check path
HEAVY = ("alembic", "sqlalchemy", "psycopg", "psycopg2", "psycopg_binary", "libcst",
         "sqlglot", "pgserver", "jsonschema", "hypothesis",
         # the language server's framework (only `b03lint server` imports it)
         "pygls", "lsprotocol", "cattrs")

WRAPPER = """\
import json, sys
from b03lint.cli import main
out = sys.argv[1]
code = main(sys.argv[2:])
with open(out, "w") as fh:
    json.dump({"code": code, "modules": sorted(sys.modules)}, fh)
"""

PLAIN = '''\
"""create tenants"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None


def upgrade():
    op.create_table("tenants", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("name", sa.Text(), nullable=False))
    op.add_column("tenants", sa.Column("plan", sa.String(20)))


def downgrade():
    op.drop_table("tenants")
'''

WITH_SQL = '''\
"""tenants, in SQL"""
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.execute("CREATE TABLE tenants (id integer PRIMARY KEY, name text NOT NULL)")


def downgrade():
    op.execute("DROP TABLE tenants")
'''


def _modules(tmp_path: Path, cwd: Path, *args: str) -> tuple[int, set[str]]:
    wrapper = tmp_path / "wrapper.py"
    wrapper.write_text(WRAPPER)
    out = tmp_path / "modules.json"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    done = subprocess.run([sys.executable, str(wrapper), str(out), "check", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)
    assert out.exists(), done.stderr
    data = json.loads(out.read_text())
    return int(data["code"]), set(data["modules"])


def _heavy(modules: set[str], also: tuple[str, ...] = ()) -> list[str]:
    roots = {m.split(".")[0] for m in modules}
    return sorted(roots & {*HEAVY, *also})


def _project(tmp_path: Path, text: str) -> Path:
    root = tmp_path / "proj"
    (root / "versions").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.b03lint]\nmigrations = "versions"\n')
    (root / "versions" / "0001_tenants.py").write_text(text)
    return root


@pytest.mark.parametrize("cache", [[], ["--no-cache"]], ids=["cache", "no-cache"])
def test_one_python_file_imports_no_heavy_module(tmp_path: Path, cache: list[str]) -> None:
    root = _project(tmp_path, PLAIN)
    for _run in ("cold", "warm"):
        code, modules = _modules(tmp_path, root, *cache, "versions/0001_tenants.py")
        assert code == 0
        # no SQL anywhere: not even PostgreSQL's parser is loaded
        assert _heavy(modules, also=("pglast",)) == []


def test_a_file_with_sql_loads_only_the_sql_parser(tmp_path: Path) -> None:
    root = _project(tmp_path, WITH_SQL)
    code, modules = _modules(tmp_path, root, "versions/0001_tenants.py")
    assert code == 0
    assert "pglast" in modules
    assert _heavy(modules) == []


def test_the_bundled_example_pre_commit_style(tmp_path: Path) -> None:
    """One file of the example, chain-wide contract checks (canonical SQL and YAML, drift
    register) included, cold and then from the cache."""
    target = next((REPO / "alembic" / "versions").rglob("*.py"))
    shown = target.relative_to(REPO).as_posix()
    for run in ("cold", "warm"):
        code, modules = _modules(tmp_path, REPO, shown)
        assert code in (0, 1)
        assert _heavy(modules) == []
        if run == "warm":
            # parsed files and canonical schema come from the cache, and texts written
            # alike compare without PostgreSQL's parser: pglast is not even loaded
            assert "pglast" not in {m.split(".")[0] for m in modules}


def test_canonical_yaml_uses_the_c_loader() -> None:
    import yaml

    if not getattr(yaml, "__with_libyaml__", False):
        skip_outside_ci("PyYAML was built without libyaml")
    from b03lint import yamlio

    assert yamlio._Loader is yaml.CSafeLoader


# ---------------------------------------------------------------- -X importtime budget


def _imported(cwd: Path, tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    """The modules a real ``python -X importtime -m b03lint check ...`` imports, read from
    the interpreter's own import-time report (stderr), never from a timing."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "b03lint", "check", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    names = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    names.discard("package")  # the report's header line
    return done.returncode, names - _startup_modules()


def _startup_modules() -> set[str]:
    """What the interpreter imports before any b03lint code (``site``, and in an editable
    install its path finder, which brings ``pathlib``): not the check's to avoid."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"],
                          capture_output=True, text=True, timeout=60)
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def _age_all(root: Path) -> None:
    import time

    past = time.time() - 10
    for p in [root, *root.rglob("*")]:
        os.utime(p, (past, past))


def test_import_budget_of_a_served_rerun(tmp_path: Path) -> None:
    """A re-run with nothing changed is served by the result cache: no engine, no
    dataclass machinery, no YAML, no SQL parser, not even argparse or typing."""
    root = _project(tmp_path, WITH_SQL)
    _age_all(root)
    first, _ = _imported(root, tmp_path, "versions/0001_tenants.py")
    assert first == 0
    code, modules = _imported(root, tmp_path, "versions/0001_tenants.py")
    assert code == 0
    assert "b03lint.runcache" in modules
    unwanted = {"b03lint.engine", "b03lint.operations", "b03lint.config", "dataclasses",
                "inspect", "yaml", "pglast", "argparse", "typing", "pathlib", "tomllib",
                "hashlib", "pickle", "b03lint.readers.python"}
    assert sorted(unwanted & modules) == []


def test_import_budget_of_a_python_only_project(tmp_path: Path) -> None:
    """A full run on a project with no YAML file and no SQL: neither PyYAML nor the YAML
    rule machinery nor PostgreSQL's parser is imported."""
    root = _project(tmp_path, PLAIN)
    _age_all(root)
    code, modules = _imported(root, tmp_path, "--no-cache", "versions/0001_tenants.py")
    assert code == 0
    assert "b03lint.engine" in modules
    roots = {m.split(".")[0] for m in modules}
    assert sorted(roots & {"yaml", "pglast", *HEAVY}) == []
    assert "b03lint.rules.declarative" not in modules
    # argparse's formatter would bring shutil and with it bz2 and lzma (cli._columns)
    assert sorted(roots & {"shutil", "bz2", "lzma"}) == []
    assert "b03lint.runcache" in modules  # it recorded the run


def test_libcst_only_on_the_fix_path(tmp_path: Path) -> None:
    """`check` never imports libcst (110 ms), not even with findings that have a fix;
    `check --fix` does, to rewrite the files (which also shows that the report would see
    it), and only when a finding is there to fix."""
    root = _project(tmp_path, PLAIN)
    (root / "pyproject.toml").write_text('[tool.b03lint]\nmigrations = "versions"\n'
                                         'extend_select = ["locks"]\n')
    (root / "versions" / "0002_index.py").write_text(
        'from alembic import op\n\nrevision = "0002"\ndown_revision = "0001"\n\n\n'
        'def upgrade():\n    op.create_index("ix_tenants_plan", "tenants", ["plan"])\n')
    _age_all(root)
    code, modules = _imported(root, tmp_path, "--no-cache")
    assert code == 1
    assert "b03lint.engine" in modules
    assert sorted(m for m in modules if m.split(".")[0] == "libcst") == []
    assert "b03lint.fixes" not in modules
    code, modules = _imported(root, tmp_path, "--no-cache", "--diff")
    assert code == 1
    assert "libcst" in modules


# ------------------------------------------------- what a one-file check leaves unimported

#: rule modules none of whose rules is enabled by default: a default run imports none of
#: them (the registry knows their rules from b03lint.rules.catalog), nor the lock model and
#: fix planner they bring
OFF_BY_DEFAULT = ("b03lint.rules.locks", "b03lint.rules.timeouts", "b03lint.rules.blocking",
                  "b03lint.rules.runtime", "b03lint.rules.robust",
                  "b03lint.rules.conventions", "b03lint.rules.lockbase",
                  "b03lint.rules.lockfix", "b03lint.pgmodel.locks")
#: pglast's printer: only when a tree is deparsed (a CHECK, a default, a policy...)
PRINTER = ("pglast.stream", "pglast.printers", "b03lint.readers.sql.printer")


@pytest.mark.parametrize("cache", [[], ["--no-cache"]], ids=["cache", "no-cache"])
def test_one_plain_file_leaves_unused_rules_and_parsers_unimported(
        tmp_path: Path, cache: list[str]) -> None:
    root = _project(tmp_path, PLAIN)
    code, modules = _modules(tmp_path, root, *cache, "versions/0001_tenants.py")
    assert code == 0
    assert "b03lint.rules.input" in modules  # the default rules did run
    unwanted = {*OFF_BY_DEFAULT, *PRINTER, "yaml", "pglast", "pglast.ast", "pglast.enums",
                "b03lint.readers.sql", "b03lint.rules.declarative", "b03lint.fixes",
                "b03lint.reporters.sarif"}
    assert sorted(unwanted & modules) == []


def test_one_sql_file_loads_the_parser_but_not_the_printer(tmp_path: Path) -> None:
    root = _project(tmp_path, WITH_SQL)
    code, modules = _modules(tmp_path, root, "--no-cache", "versions/0001_tenants.py")
    assert code == 0
    assert {"pglast.parser", "b03lint.readers.sql"} <= modules
    unwanted = {*OFF_BY_DEFAULT, *PRINTER, "yaml", "b03lint.rules.declarative",
                "b03lint.fixes"}
    assert sorted(unwanted & modules) == []


def test_selecting_a_rule_imports_its_module(tmp_path: Path) -> None:
    """The other side: `--select` of an off-by-default rule imports its module (and only
    the modules of the selected rules)."""
    root = _project(tmp_path, PLAIN)
    code, modules = _modules(tmp_path, root, "--no-cache", "--select", "L001",
                             "versions/0001_tenants.py")
    assert code == 0
    assert "b03lint.rules.locks" in modules
    assert "b03lint.rules.conventions" not in modules


def test_an_edit_that_keeps_the_sql_loads_no_sql_parser(tmp_path: Path) -> None:
    """The pre-commit case: a migration with SQL is edited in its Python only. Its SQL
    readings come from the cache's SQL memo (``b03lint/sqlmemo.py``): pglast is not
    loaded (``tests/test_sql_memo.py`` shows the readings and reports are unchanged)."""
    root = _project(tmp_path, WITH_SQL)
    target = root / "versions" / "0001_tenants.py"
    code, modules = _modules(tmp_path, root, "versions/0001_tenants.py")
    assert code == 0 and "pglast" in modules
    target.write_text(WITH_SQL.replace(
        '    op.execute("CREATE TABLE tenants',
        '    # the SQL stays as it was\n    op.execute("CREATE TABLE tenants'))
    code, modules = _modules(tmp_path, root, "versions/0001_tenants.py")
    assert code == 0
    assert "pglast" not in {m.split(".")[0] for m in modules}
