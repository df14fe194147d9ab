"""The pre-commit hooks (``.pre-commit-hooks.yaml``), with the real ``pre-commit``.

pre-commit installs b03lint from this repository's HEAD commit into a virtualenv of its
own (dependencies come from the package index, once per test session: ``PRE_COMMIT_HOME``
is shared by the tests). A temporary git repository with a small Alembic project then
plays the guide's section 5.3 scenario: a commit adding ``op.drop_column('tenants',
'name')`` is refused with the finding printed, and passes once the line carries
``# CI:DESTRUCTIVE_OK - See ADR-003``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from ci_skip import skip_outside_ci
from test_cli import BASE, DROP, REPO, make_project

NEW = "alembic/versions/003_data_governance/test_destructive_drop.py"
WAIVER = "# CI:DESTRUCTIVE_OK - See ADR-003\n    "
FINDING = f"{NEW}:9:5: D002 blocking drop column tenants.name"


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(NO_COLOR="1", GIT_AUTHOR_NAME="Test", GIT_AUTHOR_EMAIL="test@example.com",
               GIT_COMMITTER_NAME="Test", GIT_COMMITTER_EMAIL="test@example.com",
               GIT_CONFIG_NOSYSTEM="1", **extra)
    return env


@pytest.fixture(scope="session")
def hook_rev() -> str:
    """The commit of this checkout that pre-commit installs the hooks from."""
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                             text=True, check=True, env=_clean_env()).stdout.strip()
        subprocess.run(["git", "cat-file", "-e", "HEAD:.pre-commit-hooks.yaml"], cwd=REPO,
                       check=True, capture_output=True, env=_clean_env())
    except (OSError, subprocess.CalledProcessError):
        skip_outside_ci("the b03lint checkout is not a git repository with the hooks committed")
    return rev


@pytest.fixture(scope="session")
def pre_commit_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("pre-commit-home")
    return _clean_env(PRE_COMMIT_HOME=str(home), HOME=str(home))


def sh(root: Path, env: dict[str, str], *args: str, check: bool = True
       ) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(args), cwd=root, env=env, capture_output=True, text=True,
                          timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def pre_commit(root: Path, env: dict[str, str], *args: str, check: bool = False
               ) -> subprocess.CompletedProcess[str]:
    return sh(root, env, sys.executable, "-m", "pre_commit", *args, check=check)


@pytest.fixture()
def project(tmp_path: Path, pre_commit_env: dict[str, str]) -> Iterator[Path]:
    """A git repository with a small Alembic project, pyproject [tool.b03lint] and an ADR
    folder, everything committed."""
    (tmp_path / "project").mkdir()
    root = make_project(tmp_path / "project", {"alembic/versions/001_core/0001_tenants.py": BASE})
    sh(root, pre_commit_env, "git", "init", "-q", "-b", "main")
    sh(root, pre_commit_env, "git", "add", "-A")
    sh(root, pre_commit_env, "git", "commit", "-q", "-m", "base")
    yield root


def add_migration(root: Path, env: dict[str, str], waiver: str = "") -> None:
    target = root / NEW
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(DROP.format(waiver=waiver))
    sh(root, env, "git", "add", NEW)


def _readme_snippets() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Pre-commit\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


def readme_local_config() -> str:
    """The README's first ``.pre-commit-config.yaml``, exactly as written."""
    snippet = _readme_snippets()[0]
    [entry] = yaml.safe_load(snippet)["repos"]
    assert entry["repo"] == "local" and [h["id"] for h in entry["hooks"]] == ["b03lint"]
    return snippet


def readme_config(repo: str, rev: str) -> str:
    """The README's ``repos:`` entry for this repository's hooks, pointed at this checkout."""
    doc = yaml.safe_load(_readme_snippets()[1])
    [entry] = doc["repos"]
    assert [h["id"] for h in entry["hooks"]] == ["b03lint"]
    entry["repo"], entry["rev"] = repo, rev
    return yaml.safe_dump(doc, sort_keys=False)


def test_hook_definitions() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    main = hooks["b03lint"]
    assert main["entry"] == "b03lint check" and main["language"] == "python"
    assert main["require_serial"] is True and "types" not in main
    files = re.compile(main["files"])
    local = re.compile(yaml.safe_load(readme_local_config())["repos"][0]["hooks"][0]["files"])
    for path, expected in [(NEW, True), ("app/migrations/versions/a/b.py", True),
                           ("alembic/env.py", False), ("src/app.py", False),
                           ("db/schema/canonical_schema.sql", True),
                           ("db/schema/canonical_schema.yaml", True),
                           ("db/schema/drift_register.yaml", True), ("rules/naming.yaml", True),
                           ("b03lint/rules/graph.py", False), ("alembic/versions/notes.md", False)]:
        assert bool(files.search(path)) is expected, path
        assert bool(local.search(path)) is expected, path  # the README's local hook agrees
    schema = hooks["b03lint-schema"]
    assert schema["pass_filenames"] is False
    assert schema["entry"] == "b03lint check --defer-to-hook b03lint"
    files = re.compile(schema["files"])
    for path, expected in [("db/schema/canonical_schema.sql", True),
                           ("db/schema/canonical_schema.yaml", True),
                           ("db/schema/drift_register.yaml", True), ("rules/naming.yaml", True),
                           ("b03lint/rules/graph.py", False), (NEW, False)]:
        assert bool(files.search(path)) is expected, path


def test_try_repo(project: Path, hook_rev: str, pre_commit_env: dict[str, str]) -> None:
    add_migration(project, pre_commit_env)
    proc = pre_commit(project, pre_commit_env, "try-repo", str(REPO), "b03lint",
                      "--ref", hook_rev, "--files", NEW)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert FINDING in proc.stdout
    assert "Failed" in proc.stdout

    add_migration(project, pre_commit_env, WAIVER)
    proc = pre_commit(project, pre_commit_env, "try-repo", str(REPO), "b03lint",
                      "--ref", hook_rev, "--files", NEW)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout


def test_git_commit_refused_then_accepted(project: Path, hook_rev: str,
                                          pre_commit_env: dict[str, str]) -> None:
    env = pre_commit_env
    (project / ".pre-commit-config.yaml").write_text(readme_config(str(REPO), hook_rev))
    pre_commit(project, env, "install", check=True)
    sh(project, env, "git", "add", ".pre-commit-config.yaml")
    sh(project, env, "git", "commit", "-q", "-m", "pre-commit config")

    add_migration(project, env)
    refused = sh(project, env, "git", "commit", "-m", "test destructive drop", check=False)
    assert refused.returncode != 0, refused.stdout + refused.stderr
    output = refused.stdout + refused.stderr
    assert FINDING in output
    assert re.search(r"b03lint\.+Failed", output), output
    log = sh(project, env, "git", "log", "--format=%s").stdout
    assert "test destructive drop" not in log

    add_migration(project, env, WAIVER)
    accepted = sh(project, env, "git", "commit", "-m", "test destructive drop", check=False)
    output = accepted.stdout + accepted.stderr
    assert accepted.returncode == 0, output
    assert re.search(r"b03lint\.+Passed", output), output
    assert "test destructive drop" in sh(project, env, "git", "log", "--format=%s").stdout

    # the hook runs when the drift register changes (on the whole chain), and not otherwise
    register = project / "db/schema/drift_register.yaml"
    register.parent.mkdir(parents=True)
    register.write_text("version: 1\nentries: []\n")
    sh(project, env, "git", "add", "db/schema/drift_register.yaml")
    schema = sh(project, env, "git", "commit", "-m", "register", check=False)
    output = schema.stdout + schema.stderr
    assert schema.returncode == 0, output
    assert re.search(r"b03lint\.+Passed", output), output
    (project / "notes.txt").write_text("unrelated\n")
    sh(project, env, "git", "add", "notes.txt")
    other = sh(project, env, "git", "commit", "-m", "notes", check=False)
    assert re.search(r"b03lint\.+\(no files to check\)Skipped", other.stdout + other.stderr)


def test_the_readme_local_hook_works_as_written(project: Path,
                                                pre_commit_env: dict[str, str]) -> None:
    """`repo: local`, `language: system`: the b03lint installed where `git commit` runs."""
    bindir = str(Path(sys.executable).parent)
    env = {**pre_commit_env, "PATH": f"{bindir}:{pre_commit_env.get('PATH', '')}"}
    (project / ".pre-commit-config.yaml").write_text(readme_local_config())
    pre_commit(project, env, "install", check=True)
    sh(project, env, "git", "add", ".pre-commit-config.yaml")
    sh(project, env, "git", "commit", "-q", "-m", "pre-commit config")
    add_migration(project, env)
    refused = sh(project, env, "git", "commit", "-m", "drop", check=False)
    assert refused.returncode != 0 and FINDING in refused.stdout + refused.stderr
    add_migration(project, env, WAIVER)
    accepted = sh(project, env, "git", "commit", "-m", "drop", check=False)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_both_hooks_never_print_a_finding_twice(project: Path, hook_rev: str,
                                                pre_commit_env: dict[str, str]) -> None:
    """A commit changing a migration and the drift register runs both hooks; the finding
    is printed once (b03lint-schema defers to b03lint, which covers the register too)."""
    env = pre_commit_env
    doc = yaml.safe_load(readme_config(str(REPO), hook_rev))
    doc["repos"][0]["hooks"].append({"id": "b03lint-schema"})
    (project / ".pre-commit-config.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    pre_commit(project, env, "install", check=True)
    sh(project, env, "git", "add", ".pre-commit-config.yaml")
    sh(project, env, "git", "commit", "-q", "-m", "pre-commit config")
    add_migration(project, env)
    register = project / "db/schema/drift_register.yaml"
    register.parent.mkdir(parents=True)
    register.write_text("version: 1\nentries: []\n")
    sh(project, env, "git", "add", "db/schema/drift_register.yaml")
    refused = sh(project, env, "git", "commit", "-m", "drop and register", check=False)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output
    assert output.count(FINDING) == 1, output
    assert re.search(r"b03lint \(canonical schema, drift register, rules\)\.+Passed", output)
