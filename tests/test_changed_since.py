"""CI mode: ``b03lint check --changed-since REF`` in a real git repository with a base
branch and feature branches (guide section 5: all migrations on push, the changed ones on
a pull request, and a skip message when none changed)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_cli import BASE, DROP, REPO, make_project, run

SKIP = "No candidate migrations detected; skipping."
LEGACY = "alembic/versions/001_core/0002_legacy.py"
NEW = "alembic/versions/003_data_governance/test_destructive_drop.py"

LEGACY_TEXT = DROP.format(waiver="")  # revision 0002: a historic, unwaived drop
NEW_TEXT = (DROP.format(waiver="").replace('revision = "0002"', 'revision = "0003"')
            .replace('down_revision = "0001"', 'down_revision = "0002"')
            .replace('"name"', '"id"'))


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.com",
                           "-c", "commit.gpgsign=false", *args], cwd=root,
                          capture_output=True, text=True, check=True)
    return proc.stdout


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """``main``: a tenants migration and a legacy migration with a blocking finding."""
    root = make_project(tmp_path, {"alembic/versions/001_core/0001_tenants.py": BASE,
                                   LEGACY: LEGACY_TEXT, "README.txt": "docs\n"})
    git(root, "init", "-q", "-b", "main")
    commit(root, "base")
    git(root, "update-ref", "refs/remotes/origin/main", "main")
    return root


def check(root: Path, *args: str) -> tuple[int, str, str]:
    code, out, err = run(root, "check", "--output-format", "concise", *args)
    assert "Traceback" not in out + err
    return code, out, err


def finding_paths(out: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^(\S+?):\d+:\d+: [A-Z]+\d+ ", out, re.M)}


def test_main_with_all_reports_everything(repo: Path) -> None:
    code, out, _ = check(repo, "--all")
    assert code == 1 and finding_paths(out) == {LEGACY}
    assert check(repo) == (code, out, "")  # --all is the default


def test_no_migration_changed_skips(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "docs-only")
    (repo / "README.txt").write_text("more docs\n")
    commit(repo, "docs")
    code, out, err = check(repo, "--changed-since", "main")
    assert (code, out, err) == (0, SKIP + "\n", "")
    # with text output too, and the same on the base branch itself
    assert run(repo, "check", "--changed-since", "origin/main")[:2] == (0, SKIP + "\n")
    git(repo, "checkout", "-q", "main")
    assert run(repo, "check", "--changed-since", "main")[:2] == (0, SKIP + "\n")


def test_feature_branch_reports_only_its_migrations(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / NEW).parent.mkdir(parents=True)
    (repo / NEW).write_text(NEW_TEXT)
    commit(repo, "drop tenants.id")
    code, out, _ = check(repo, "--changed-since", "main")
    assert code == 1
    assert finding_paths(out) == {NEW}, out  # the legacy file's finding is not reported
    assert f"{NEW}:9:5: D002 blocking drop column tenants.id" in out
    assert "in 1 file(s)" in out
    # the chain-wide checks saw the whole chain: no unknown-parent for down_revision 0002
    assert "G003" not in out
    code, out, _ = check(repo, "--all")
    assert code == 1 and finding_paths(out) == {NEW, LEGACY}


def test_chain_wide_checks_still_run(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "fork")
    fork = NEW_TEXT.replace('down_revision = "0002"', 'down_revision = "0001"')
    (repo / NEW).parent.mkdir(parents=True)
    (repo / NEW).write_text(fork.replace('op.drop_column("tenants", "id")', "pass"))
    commit(repo, "second head")
    code, out, _ = check(repo, "--changed-since", "main")
    assert code == 1 and " G001 blocking" in out, out


def test_merge_base_not_the_tip_of_ref(repo: Path) -> None:
    """Changes made on main after the branch point are not the branch's."""
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "README.txt").write_text("feature docs\n")
    commit(repo, "feature docs")
    git(repo, "checkout", "-q", "main")
    (repo / LEGACY).write_text(LEGACY_TEXT + "# touched on main\n")
    commit(repo, "main moves on")
    git(repo, "checkout", "-q", "feature")
    assert check(repo, "--changed-since", "main")[:2] == (0, SKIP + "\n")


@pytest.mark.parametrize("how", ["modified", "renamed", "staged", "unstaged"])
def test_modified_renamed_staged_and_unstaged_changes_count(repo: Path, how: str) -> None:
    git(repo, "checkout", "-q", "-b", "change")
    target = LEGACY
    if how == "modified":
        (repo / LEGACY).write_text(LEGACY_TEXT.replace("(guide 5.3)", "(edited)"))
        commit(repo, "edit")
    elif how == "renamed":
        target = "alembic/versions/002_moved/0002_legacy.py"
        (repo / target).parent.mkdir(parents=True)
        git(repo, "mv", LEGACY, target)
        commit(repo, "move")
    else:
        (repo / LEGACY).write_text(LEGACY_TEXT.replace("(guide 5.3)", "(edited)"))
        if how == "staged":
            git(repo, "add", LEGACY)
    code, out, _ = check(repo, "--changed-since", "main")
    assert code == 1 and finding_paths(out) == {target}, out


def test_untracked_and_deleted_files_are_not_candidates(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "change")
    (repo / NEW).parent.mkdir(parents=True)
    (repo / NEW).write_text(NEW_TEXT)  # untracked: not a candidate (documented)
    assert check(repo, "--changed-since", "main")[:2] == (0, SKIP + "\n")
    (repo / NEW).unlink()
    git(repo, "rm", "-q", LEGACY)
    commit(repo, "delete")
    assert check(repo, "--changed-since", "main")[:2] == (0, SKIP + "\n")


def test_machine_formats_keep_stdout_clean_when_skipping(repo: Path) -> None:
    code, out, err = run(repo, "check", "--changed-since", "main", "--output-format", "json")
    assert code == 0 and json.loads(out)["findings"] == [] and err == SKIP + "\n"
    code, out, err = run(repo, "check", "--changed-since", "main", "--output-format", "sarif",
                         "-o", "b03lint.sarif")
    assert code == 0 and out == SKIP + "\n"
    assert json.loads((repo / "b03lint.sarif").read_text())["version"] == "2.1.0"


def test_unknown_ref_is_exit_2(repo: Path) -> None:
    code, out, err = check(repo, "--changed-since", "origin/nope")
    assert code == 2 and "unknown git ref 'origin/nope'" in err and out == ""


def test_not_a_git_repository_is_exit_2(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"alembic/versions/0001.py": BASE})
    code, _, err = run(root, "check", "--changed-since", "main")
    assert code == 2 and "not in a git repository" in err and "Traceback" not in err


def test_flags_exclude_paths_and_each_other(repo: Path) -> None:
    assert run(repo, "check", "--all", LEGACY)[0] == 2
    assert run(repo, "check", "--changed-since", "main", LEGACY)[0] == 2
    code, _, err = run(repo, "check", "--all", "--changed-since", "main")
    assert code == 2 and "not allowed with argument" in err


def test_baseline_entries_of_unchanged_files_are_not_stale(repo: Path) -> None:
    assert run(repo, "baseline")[0] == 0
    commit(repo, "baseline")
    git(repo, "update-ref", "refs/remotes/origin/main", "main")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / NEW).parent.mkdir(parents=True)
    (repo / NEW).write_text(NEW_TEXT.replace('op.drop_column("tenants", "id")', "pass"))
    commit(repo, "clean migration")
    code, out, _ = check(repo, "--changed-since", "origin/main")
    assert code == 0 and "S004" not in out, out


# ----------------------------------------------------------------- docs: README and docs/ci.md


def _bash(root: Path, command: str) -> subprocess.CompletedProcess[str]:
    bindir = Path(sys.executable).parent
    return subprocess.run(command, shell=True, cwd=root, capture_output=True, text=True,
                          env={"PATH": f"{bindir}:/usr/bin:/bin", "NO_COLOR": "1"})


def test_readme_ci_snippet(repo: Path) -> None:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## CI\n", 1)[1].split("\n## ", 1)[0]
    snippet = re.findall(r"```sh\n(.*?)```", section, re.S)[0]
    all_cmd, changed_cmd = [ln.split(" # ")[0].strip() for ln in snippet.splitlines()
                            if ln.strip()]
    assert _bash(repo, all_cmd).returncode == 1  # the legacy drop
    proc = _bash(repo, changed_cmd)
    assert (proc.returncode, proc.stdout) == (0, SKIP + "\n")


def _workflow_steps(path: Path) -> tuple[dict[str, object], dict[str, str]]:
    text = path.read_text()
    if path.suffix == ".md":
        text = re.findall(r"```yaml\n(.*?)```", text, re.S)[0]
    doc = yaml.safe_load(text)
    runs = {}
    for job in doc["jobs"].values():
        for step in job["steps"]:
            if "run" in step and "b03lint check" in step["run"]:
                runs[step.get("if", "")] = step["run"]
    return doc, runs


@pytest.mark.parametrize("workflow", ["docs/ci.md", ".github/workflows/ci.yml"])
def test_workflow_runs_all_on_push_and_changed_on_pull_request(repo: Path,
                                                                 workflow: str) -> None:
    doc, runs = _workflow_steps(REPO / workflow)
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as True
    assert set(triggers) >= {"push", "pull_request"}  # type: ignore[arg-type]
    push = runs["github.event_name == 'push'"]
    pull = runs["github.event_name == 'pull_request'"]
    assert "--all" in push and "--changed-since origin/${{ github.base_ref }}" in pull
    # run both as a GitHub runner would, on a pull request into main
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / NEW).parent.mkdir(parents=True)
    (repo / NEW).write_text(NEW_TEXT)
    commit(repo, "drop tenants.id")
    proc = _bash(repo, pull.replace("${{ github.base_ref }}", "main"))
    assert proc.returncode == 1
    assert proc.stdout.startswith(f"::error file={NEW},line=9,col=5,title=D002 drop-column::")
    assert LEGACY not in proc.stdout
    proc = _bash(repo, push)
    assert proc.returncode == 1 and f"::error file={LEGACY}," in proc.stdout


def test_repository_ci_runs_the_ci_script() -> None:
    doc = yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text())
    commands = [step.get("run", "") for job in doc["jobs"].values() for step in job["steps"]]
    assert any(".ci/run" in c for c in commands)
    checkout = [step for job in doc["jobs"].values() for step in job["steps"]
                if str(step.get("uses", "")).startswith("actions/checkout")]
    assert checkout and all(s["with"]["fetch-depth"] == 0 for s in checkout)
