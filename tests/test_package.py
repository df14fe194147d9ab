"""The package a user installs (issue 19, item 4) and the adoption story end to end.

``python -m build`` makes the sdist and, from it, the wheel; the wheel is installed into a
fresh virtualenv (dependencies from the package index) and run on temporary projects from a
folder outside the source tree, with nothing of the source tree on the path. The last test
is the issue's "Done when": from ``alembic init``, ``b03lint init``, a clean check, a
destructive migration refused by the real pre-commit hook that init configured, then
accepted with a waiver citing an adr-tools-style ADR.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def sh(args: list[str], cwd: Path, env: dict[str, str], check: bool = True,
       timeout: int = 900) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would put the source tree on the path."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "PRE_COMMIT", "PYTHON", "VIRTUAL_ENV"))}
    env.update(NO_COLOR="1", GIT_AUTHOR_NAME="Test", GIT_AUTHOR_EMAIL="test@example.com",
               GIT_COMMITTER_NAME="Test", GIT_COMMITTER_EMAIL="test@example.com",
               GIT_CONFIG_NOSYSTEM="1", **extra)
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel built from it (``python -m build``, isolated)."""
    out = tmp_path_factory.mktemp("dist")
    sh([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], REPO, clean_env())
    (wheel,) = out.glob("b03lint-*.whl")
    (sdist,) = out.glob("b03lint-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


@pytest.fixture(scope="module")
def venv(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the built wheel installed; returns its bin folder."""
    root = tmp_path_factory.mktemp("venv")
    base = getattr(sys, "_base_executable", sys.executable)
    sh([base, "-m", "venv", str(root / "v")], root, clean_env())
    bindir = root / "v" / "bin"
    sh([str(bindir / "python"), "-m", "pip", "install", "--quiet", str(dist["wheel"])], root,
       clean_env())
    return bindir


def in_venv(bindir: Path) -> dict[str, str]:
    return clean_env(PATH=f"{bindir}:/usr/bin:/bin", VIRTUAL_ENV=str(bindir.parent))


def test_the_wheel_and_the_sdist_carry_what_runs_and_what_is_promised(
        dist: dict[str, Path]) -> None:
    with zipfile.ZipFile(dist["wheel"]) as whl:
        names = set(whl.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = whl.read(info).decode()
    for name in ("b03lint/py.typed", "b03lint/templates/drift_register.yaml",
                 "b03lint/templates/adr_template.md", "b03lint/templates/github_workflow.yml",
                 "b03lint/cli.py"):
        assert name in names, name
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "alembic/", "db/")) for n in names)
    for line in ("License-Expression: MIT", "Requires-Python: >=3.10",
                 "Classifier: Typing :: Typed", "Classifier: Topic :: Database",
                 "Requires-Dist: pglast>=7", "Provides-Extra: live"):
        assert line in metadata, line
    with tarfile.open(dist["sdist"]) as sdist:
        members = {m.split("/", 1)[1] for m in sdist.getnames() if "/" in m}
    for name in ("LICENSE", "README.md", "pyproject.toml", "action.yml",
                 ".pre-commit-hooks.yaml", "b03lint/templates/drift_register.yaml",
                 "docs/ci.md"):
        assert name in members, name


def test_the_installed_wheel_runs_check_rules_and_init(venv: Path, tmp_path: Path) -> None:
    env = in_venv(venv)
    where = sh([str(venv / "python"), "-c", "import b03lint; print(b03lint.__file__)"],
               tmp_path, env).stdout.strip()
    assert where.startswith(str(venv.parent)) and not where.startswith(str(REPO))
    rules = sh(["b03lint", "rules"], tmp_path, env)
    assert "D002" in rules.stdout and "drop-column" in rules.stdout
    project = tmp_path / "project"
    (project / "alembic/versions").mkdir(parents=True)
    (project / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/alembic\n")
    (project / "alembic/versions/0001.py").write_text(textwrap.dedent('''\
        """create t"""
        from alembic import op
        import sqlalchemy as sa

        revision = "0001"
        down_revision = None


        def upgrade():
            op.create_table("t", sa.Column("id", sa.Integer(), primary_key=True),
                            sa.Column("name", sa.Text()))
        '''))
    assert sh(["b03lint", "check"], project, env).returncode == 0
    (project / "alembic/versions/0002.py").write_text(textwrap.dedent('''\
        """drop"""
        from alembic import op

        revision = "0002"
        down_revision = "0001"


        def upgrade():
            op.drop_column("t", "name")
        '''))
    failed = sh(["b03lint", "check"], project, env, check=False)
    assert failed.returncode == 1 and "D002 blocking drop column t.name" in failed.stdout
    # init needs the templates shipped in the wheel
    sh(["b03lint", "init", "--skip", "pre-commit,ci"], project, env)
    assert (project / "db/schema/drift_register.yaml").read_text().startswith(
        "# Schema drift register")
    assert sh(["b03lint", "check"], project, env).returncode == 0  # the drop is baselined


# --------------------------------------------------------------------------- done when

MIGRATIONS = {
    "0001_create_products.py": '''\
        """create products"""
        from alembic import op
        import sqlalchemy as sa

        revision = "0001"
        down_revision = None


        def upgrade():
            op.create_table(
                "products",
                sa.Column("id", sa.Integer(), primary_key=True),
                sa.Column("name", sa.Text(), nullable=False),
                sa.Column("legacy_slug", sa.String(100)),
            )


        def downgrade():
            op.drop_table("products")
        ''',
    "0002_index_products_name.py": '''\
        """index products.name"""
        from alembic import op

        revision = "0002"
        down_revision = "0001"


        def upgrade():
            op.create_index("ix_products_name", "products", ["name"])


        def downgrade():
            op.drop_index("ix_products_name", table_name="products")
        ''',
    "0003_add_price.py": '''\
        """add products.price"""
        from alembic import op
        import sqlalchemy as sa

        revision = "0003"
        down_revision = "0002"


        def upgrade():
            op.add_column("products", sa.Column("price", sa.Numeric(10, 2)))


        def downgrade():
            op.drop_column("products", "price")
        ''',
}

DROP = '''\
"""drop products.legacy_slug"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"


def upgrade():
    {waiver}op.drop_column("products", "legacy_slug")


def downgrade():
    op.add_column("products", sa.Column("legacy_slug", sa.String(100)))
'''


@pytest.fixture()
def alembic_project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "shop"
    root.mkdir()
    env = clean_env()
    sh(["git", "init", "-q", "-b", "main"], root, env)
    sh([sys.executable, "-m", "alembic", "init", "alembic"], root, env)
    for name, text in MIGRATIONS.items():
        (root / "alembic/versions" / name).write_text(textwrap.dedent(text))
    yield root


def test_adoption_from_alembic_init_to_a_waived_commit(alembic_project: Path,
                                                       dist: dict[str, Path],
                                                       tmp_path: Path) -> None:
    root = alembic_project
    env = clean_env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
                    HOME=str(tmp_path / "home"))
    b03 = [sys.executable, "-m", "b03lint"]
    init = sh([*b03, "init", "--adr-dir", "docs/adr", "--adr-pattern", "adr-tools",
               "--requirement", str(dist["wheel"])], root, env)
    assert "wrote    .pre-commit-config.yaml" in init.stdout
    assert "next: b03lint check" in init.stdout
    assert sh([*b03, "check"], root, env).returncode == 0
    sh(["git", "add", "-A"], root, env)
    sh(["git", "commit", "-q", "-m", "adopt b03lint"], root, env)
    sh([sys.executable, "-m", "pre_commit", "install"], root, env)

    # a destructive migration: check says 1, and the commit is refused with the finding
    (root / "alembic/versions/0004_drop_legacy_slug.py").write_text(DROP.format(waiver=""))
    failed = sh([*b03, "check"], root, env, check=False)
    assert failed.returncode == 1
    finding = "alembic/versions/0004_drop_legacy_slug.py:10:5: D002 blocking"
    assert finding in failed.stdout
    sh(["git", "add", "-A"], root, env)
    refused = sh(["git", "commit", "-m", "drop legacy_slug"], root, env, check=False)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output
    assert finding in output and "b03lint" in output
    assert "drop legacy_slug" not in sh(["git", "log", "--format=%s"], root, env).stdout

    # decided in an adr-tools ADR, waived, the canonical schema changed with it: accepted
    (root / "docs/adr/0002-drop-legacy-slug.md").write_text(
        "# 2. Drop products.legacy_slug\n\nStatus: Accepted\n")
    (root / "alembic/versions/0004_drop_legacy_slug.py").write_text(
        DROP.format(waiver="# CI:DESTRUCTIVE_OK - See 0002\n    "))
    sql = root / "db/schema/canonical_schema.sql"
    sql.write_text(sql.read_text().replace("    legacy_slug varchar(100),\n", ""))
    sh([*b03, "canonical", "export"], root, env)
    assert sh([*b03, "check"], root, env).returncode == 0
    sh(["git", "add", "-A"], root, env)
    accepted = sh(["git", "commit", "-m", "drop legacy_slug"], root, env, check=False)
    output = accepted.stdout + accepted.stderr
    assert accepted.returncode == 0, output
    assert "Passed" in output
    assert "drop legacy_slug" in sh(["git", "log", "--format=%s"], root, env).stdout
