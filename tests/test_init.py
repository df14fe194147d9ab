"""`b03lint init` and `b03lint drift init` (issue 19, item 1): adoption on an existing
Alembic project in one command, non-interactive, idempotent, never overwriting without
--force; plus docs/ci.md's workflow being the one init writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from test_environments import CREATE, DROP, cli, onyx_like, rev, write

from b03lint import __version__

REPO = Path(__file__).resolve().parent.parent


def alembic_project(root: Path) -> Path:
    """What `alembic init alembic` leaves, plus two migrations."""
    return write(root, {
        "alembic.ini": "[alembic]\nscript_location = %(here)s/alembic\n"
                       "path_separator = os\n\n[loggers]\nkeys = root\n",
        "alembic/env.py": '"""env"""\n',
        "alembic/script.py.mako": "${upgrades}\n",
        "alembic/versions/0001_create.py": rev("0001", None, CREATE),
        "alembic/versions/0002_index.py": rev(
            "0002", "0001", '    op.create_index("ix_t_name", "t", ["name"])'),
    })


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".b03lint_cache" not in p.parts}


def init(root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         *args: str) -> tuple[int, str, str]:
    return cli(root, monkeypatch, capsys, "init", "--skip", "ci", *args)


def test_init_then_check_passes_and_a_second_run_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = alembic_project(tmp_path)
    code, out, err = cli(root, monkeypatch, capsys, "init")
    assert code == 0, out + err
    for path in ("pyproject.toml [tool.b03lint]", "db/schema/canonical_schema.sql",
                 "db/schema/canonical_schema.yaml", "db/schema/drift_register.yaml",
                 "docs/architecture/adr/template.md", ".b03lint-baseline.json",
                 ".pre-commit-config.yaml", ".github/workflows/b03lint.yml"):
        assert f"  wrote    {path}" in out, out
    assert "next: b03lint check" in out
    table = (root / "pyproject.toml").read_text()
    assert "migrations" not in table.split("# The migration folders")[0]  # from alembic.ini
    sql = (root / "db/schema/canonical_schema.sql").read_text()
    assert "CREATE TABLE t" in sql and "CREATE INDEX ix_t_name" in sql
    code, out, _ = cli(root, monkeypatch, capsys, "check", "--output-format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["verdict"] == "PASS", doc
    assert not [f for f in doc["findings"] if f["severity"] != "info"]

    before = tree(root)
    code, out, _ = cli(root, monkeypatch, capsys, "init")
    assert code == 0
    assert "wrote" not in out and "nothing to write: the project is set up" in out
    assert tree(root) == before


def test_init_never_overwrites_without_force(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    root = alembic_project(tmp_path)
    mine = "# our own register\nversion: 1\nentries: []\n"
    write(root, {"db/schema/drift_register.yaml": mine,
                 "pyproject.toml": '[project]\nname = "app"\n\n[tool.ruff]\nline-length = 99\n'})
    code, out, _ = init(root, monkeypatch, capsys)
    assert code == 0
    assert "  kept     db/schema/drift_register.yaml  (exists; --force overwrites it)" in out
    assert (root / "db/schema/drift_register.yaml").read_text() == mine
    text = (root / "pyproject.toml").read_text()
    assert text.startswith('[project]\nname = "app"\n\n[tool.ruff]\nline-length = 99\n\n'
                           "[tool.b03lint]\n")
    assert "  updated  pyproject.toml [tool.b03lint]" in out
    # --force rewrites what init writes, and keeps the rest of pyproject.toml
    code, out, _ = init(root, monkeypatch, capsys, "--force", "--adr-pattern", "madr")
    assert code == 0, out
    assert (root / "db/schema/drift_register.yaml").read_text().startswith(
        "# Schema drift register (b03lint drift register format 1")
    text = (root / "pyproject.toml").read_text()
    assert text.count("[tool.b03lint]") == 1 and 'adr_pattern = "madr"' in text
    assert "[tool.ruff]\nline-length = 99\n" in text


def test_skip_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    root = alembic_project(tmp_path)
    code, _, _ = cli(root, monkeypatch, capsys, "init", "--skip", "baseline,pre-commit",
                       "--skip", "ci")
    assert code == 0
    assert not (root / ".b03lint-baseline.json").exists()
    assert not (root / ".pre-commit-config.yaml").exists()
    assert not (root / ".github").exists()
    code, _, err = cli(root, monkeypatch, capsys, "init", "--skip", "docs")
    assert code == 2 and "unknown step(s) docs" in err


def test_several_environments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    root = onyx_like(tmp_path)
    code, out, err = init(root, monkeypatch, capsys)
    assert code == 0, out + err
    text = (root / "pyproject.toml").read_text()
    assert text.count("[[tool.b03lint.environments]]") == 2
    for name in ("alembic", "schema_private"):
        assert f'name = "{name}"\nalembic_section = "{name}"\n' in text
        assert (root / f"db/schema/{name}/canonical_schema.sql").is_file()
        assert (root / f"db/schema/{name}/drift_register.yaml").is_file()
    # the destructive migration of the main chain is in the baseline: check passes
    code, out, _ = cli(root, monkeypatch, capsys, "check", "--output-format", "json")
    doc = json.loads(out)
    assert code == 0, doc
    assert doc["summary"]["environments"] == ["alembic", "schema_private"]
    # the hook sees both chains' folders
    config = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())
    files = re.compile(config["repos"][0]["hooks"][0]["files"])
    assert files.search("alembic_tenants/versions/0002_x.py")
    assert files.search("db/schema/schema_private/canonical_schema.yaml")
    assert not files.search("alembic/env.py")


def test_existing_adr_folder_and_its_naming_are_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = alembic_project(tmp_path)
    write(root, {"docs/adr/0001-record-architecture-decisions.md": "# 1. Record\n"})
    code, _, _ = init(root, monkeypatch, capsys)
    assert code == 0
    text = (root / "pyproject.toml").read_text()
    assert 'adr_dir = "docs/adr"\nadr_pattern = "adr-tools"' in text
    assert (root / "docs/adr/template.md").is_file()


def test_an_existing_pre_commit_configuration_gets_the_hook_added(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = alembic_project(tmp_path)
    theirs = ("repos:\n  - repo: https://github.com/pre-commit/pre-commit-hooks\n"
              "    rev: v4.6.0\n    hooks:\n      - id: trailing-whitespace\n")
    write(root, {".pre-commit-config.yaml": theirs})
    code, out, _ = init(root, monkeypatch, capsys, "--requirement", "b03lint==9.9")
    assert code == 0
    assert "  updated  .pre-commit-config.yaml  (b03lint hook added)" in out
    text = (root / ".pre-commit-config.yaml").read_text()
    assert text.startswith(theirs)
    repos = yaml.safe_load(text)["repos"]
    assert [r["repo"] for r in repos] == ["https://github.com/pre-commit/pre-commit-hooks",
                                          "local"]
    assert repos[1]["hooks"][0]["additional_dependencies"] == ["b03lint==9.9"]
    code, out, _ = init(root, monkeypatch, capsys)
    assert "  kept     .pre-commit-config.yaml  (it already has a b03lint hook)" in out
    assert (root / ".pre-commit-config.yaml").read_text() == text


def test_the_published_hooks_with_a_rev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    root = alembic_project(tmp_path)
    code, _, err = init(root, monkeypatch, capsys, "--pre-commit-repo", "https://x/b03lint")
    assert code == 2 and "go together (rev: a tag or a commit" in err
    code, _, _ = init(root, monkeypatch, capsys, "--pre-commit-repo", "https://x/b03lint",
                      "--pre-commit-rev", "0123abc")
    assert code == 0
    [entry] = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())["repos"]
    assert (entry["repo"], entry["rev"], entry["hooks"][0]["id"]) == (
        "https://x/b03lint", "0123abc", "b03lint")


def test_not_an_alembic_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = init(tmp_path, monkeypatch, capsys)
    assert code == 2
    assert "no Alembic project here: no alembic.ini" in out
    assert list(tmp_path.iterdir()) == []


def test_a_chain_that_cannot_be_read_gets_no_canonical_schema(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = alembic_project(tmp_path)
    write(root, {"alembic/versions/0003_broken.py": "revision = '0003'\ndef upgrade(:\n"})
    code, out, err = init(root, monkeypatch, capsys)
    assert code == 2
    assert "FAILED   canonical schema" in out and "0003_broken.py:2" in err
    assert not (root / "db/schema/canonical_schema.sql").exists()


def test_drift_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path, {
        "pyproject.toml": '[tool.b03lint]\nmigrations = "v"\n'
                          'drift_register = "db/register.yaml"\n',
        "v/0001.py": rev("0001", None, CREATE)})
    code, out, _ = cli(root, monkeypatch, capsys, "check")
    assert code == 2  # the configured register does not exist yet
    code, out, _ = cli(root, monkeypatch, capsys, "drift", "table")
    assert code == 2
    _, _, err = cli(root, monkeypatch, capsys, "drift", "table")
    assert "drift register not found (`b03lint drift init` writes an empty one)" in err
    code, out, _ = cli(root, monkeypatch, capsys, "drift", "init")
    assert code == 0 and out.startswith("db/register.yaml: written")
    text = (root / "db/register.yaml").read_text()
    assert "#   id               SCHEMA-DRIFT-###" in text and text.endswith(
        "version: 1\nentries: []\n")
    code, out, _ = cli(root, monkeypatch, capsys, "check")
    assert code == 0, out
    code, _, err = cli(root, monkeypatch, capsys, "drift", "init")
    assert code == 2 and "exists; not overwritten (--force overwrites it)" in err
    (root / "db/register.yaml").write_text("x")
    code, _, _ = cli(root, monkeypatch, capsys, "drift", "init", "--force")
    assert code == 0 and (root / "db/register.yaml").read_text() == text


def test_docs_ci_workflow_is_the_one_init_writes(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = alembic_project(tmp_path)
    code, _, _ = cli(root, monkeypatch, capsys, "init", "--skip", "baseline")
    assert code == 0
    written = (root / ".github/workflows/b03lint.yml").read_text()
    documented = re.findall(r"```yaml\n(.*?)```", (REPO / "docs/ci.md").read_text(), re.S)[0]
    assert written == documented
    assert f'pip install "b03lint=={__version__}"' in written


def test_generated_files_point_only_to_documentation_that_exists(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """No generated file names a path of b03lint's own repository (docs/...md) that the
    user's project does not have."""
    root = alembic_project(tmp_path)
    code, _, _ = cli(root, monkeypatch, capsys, "init")
    assert code == 0
    for rel, data in tree(root).items():
        for ref in re.findall(rb"[\w./-]*docs/[\w./-]+\.md", data):
            assert (root / ref.decode()).exists(), (rel, ref)


def test_init_with_a_destructive_history_accepts_it_in_the_baseline(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = alembic_project(tmp_path)
    write(root, {"alembic/versions/0003_drop.py": rev("0003", "0002", DROP)})
    code, out, _ = init(root, monkeypatch, capsys)
    assert code == 0
    assert ".b03lint-baseline.json  (1 blocking/warning finding(s) of today accepted)" in out
    code, _, _ = cli(root, monkeypatch, capsys, "check")
    assert code == 0


# ------------------------------------------------------------------ live: the database


def test_canonical_schema_from_a_live_database(tmp_path: Path, pg_database: str,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """`--from-database-url-env VAR`: the canonical SQL is what the catalog says, read in a
    read-only transaction; the URL (and its password) is never printed; nothing in the
    database changes."""
    from urllib.parse import quote

    import psycopg

    password = "Init-S3cret/with:odd@chars%"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id serial PRIMARY KEY, name text, "
                     "live_only integer NOT NULL DEFAULT 0)")
        conn.execute("CREATE INDEX ix_t_name ON t (name)")
        before = conn.execute("SELECT count(*) FROM pg_class").fetchone()
        conn.execute("DROP ROLE IF EXISTS b03_init_role")
        conn.execute(f"CREATE ROLE b03_init_role LOGIN PASSWORD '{password}'")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO b03_init_role")
    scheme, rest = pg_database.split("://", 1)
    url = f"{scheme}://b03_init_role:{quote(password, safe='')}@{rest.split('@', 1)[-1]}"
    try:
        root = alembic_project(tmp_path)
        code, out, err = init(root, monkeypatch, capsys, "--from-database-url-env", "APP_DB")
        assert code == 2 and "the environment variable APP_DB is not set" in out
        monkeypatch.setenv("APP_DB", url)
        code, out, err = init(root, monkeypatch, capsys, "--from-database-url-env", "APP_DB")
        assert code == 0, out + err
        for text in (out, err):
            assert "S3cret" not in text and quote(password, safe="") not in text
        sql = (root / "db/schema/canonical_schema.sql").read_text()
        assert "written from the live database (schema public)" in sql
        assert "live_only integer NOT NULL DEFAULT 0" in sql
        assert (root / "db/schema/canonical_schema.yaml").is_file()
        # the chain lacks `live_only`: a deviation from the canonical schema, accepted today
        code, out, _ = cli(root, monkeypatch, capsys, "check", "--no-baseline",
                           "--output-format", "json")
        assert code == 1
        assert any("live_only" in (f["object"] or "") for f in json.loads(out)["findings"])
        with psycopg.connect(pg_database, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM pg_class").fetchone() == before
    finally:
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute("DROP OWNED BY b03_init_role; DROP ROLE b03_init_role")
