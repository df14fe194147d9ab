"""The composite GitHub Action (``action.yml``, issue 19 item 3). There is no runner here, so
its shell steps run as a runner runs them: with bash, the step's ``env:`` (the only place
expressions are used, so no input is ever pasted into a script), ``GITHUB_OUTPUT``,
``GITHUB_STEP_SUMMARY`` and ``RUNNER_TEMP`` files, in a git repository with a pull request's
history."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_environments import CREATE, DROP, rev, write

REPO = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
STEPS = {s.get("id") or s.get("name"): s for s in ACTION["runs"]["steps"]}


def test_it_is_a_composite_action_with_documented_inputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) == {"requirement", "working-directory", "base-ref", "args",
                                     "sarif", "python-version"}
    docs = (REPO / "docs/ci.md").read_text()
    for name in ACTION["inputs"]:
        assert f"`{name}`" in docs, name
    for step in ACTION["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], step  # expressions only through env:
    upload = STEPS["Upload SARIF"]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["continue-on-error"] is True and "always()" in upload["if"]
    install = STEPS["Install b03lint"]
    assert install["env"] == {"REQUIREMENT": "${{ inputs.requirement }}",
                              "ACTION_PATH": "${{ github.action_path }}"}
    assert '"${REQUIREMENT:-$ACTION_PATH}"' in install["run"]


def _expr(value: str, context: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", lambda m: context[m.group(1)], value)


def run_step(step_id: str, cwd: Path, context: dict[str, str], tmp: Path
             ) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    step = STEPS[step_id]
    output = tmp / f"output-{step_id}"
    output.write_text("")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "NO_COLOR": "1",
           "HOME": str(tmp), "GITHUB_OUTPUT": str(output),
           "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"), "RUNNER_TEMP": str(tmp)}
    env.update({k: _expr(str(v), context) for k, v in step.get("env", {}).items()})
    assert "working-directory" not in step  # runs at the repository root
    proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step["run"]], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if line)
    return proc, outputs


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                    "-c", "commit.gpgsign=false", *args], cwd=root, check=True,
                   capture_output=True)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = write(tmp_path / "repo", {
        "app/pyproject.toml": '[tool.b03lint]\nmigrations = "alembic/versions"\n',
        "app/alembic/versions/0001.py": rev("0001", None, CREATE),
    })
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return root


def context(event: str, **inputs: str) -> dict[str, str]:
    values = {"requirement": "", "working-directory": "app", "base-ref": "", "args": "",
              "sarif": "true", "python-version": "3.12", **inputs}
    ctx = {f"inputs.{k}": v for k, v in values.items()}
    ctx.update({"github.event_name": event, "github.base_ref": "main",
                "github.action_path": str(REPO)})
    return ctx


def test_pull_request_checks_the_changed_migrations(repo: Path, tmp_path: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, {"app/alembic/versions/0002.py": rev("0002", "0001", DROP)})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "drop")
    ctx = context("pull_request", **{"base-ref": "main"})
    proc, out = run_step("reports", repo, ctx, tmp_path)
    assert proc.returncode == 0, proc.stderr  # the reports never fail the step
    assert out == {"sarif-file": f"{repo}/b03lint.sarif"}
    summary = (tmp_path / "summary.md").read_text()
    assert "BLOCKING" in summary and "D002" in summary
    sarif: dict[str, Any] = json.loads((repo / "b03lint.sarif").read_text())
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["D002"]
    # paths from the repository root, as code scanning and annotations need them
    location = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert location == "app/alembic/versions/0002.py"
    proc, out = run_step("verdict", repo, ctx, tmp_path)
    assert proc.returncode == 1 and out == {"exit-code": "1"}
    assert proc.stdout.startswith("::error file=app/alembic/versions/0002.py,line=10,col=5,"
                                  "title=D002 drop-column::")


def test_a_pull_request_without_migrations_skips(repo: Path, tmp_path: Path) -> None:
    git(repo, "checkout", "-q", "-b", "docs")
    write(repo, {"README.md": "docs\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs")
    ctx = context("pull_request", **{"base-ref": "main"})
    run_step("reports", repo, ctx, tmp_path)
    assert "No candidate migrations detected; skipping." in (tmp_path / "summary.md").read_text()
    proc, out = run_step("verdict", repo, ctx, tmp_path)
    assert (proc.returncode, out) == (0, {"exit-code": "0"})


def test_push_checks_every_migration_with_extra_args(repo: Path, tmp_path: Path) -> None:
    write(repo, {"app/alembic/versions/0002.py": rev("0002", "0001", DROP)})
    ctx = context("push", args="--ignore D002")
    proc, _ = run_step("reports", repo, ctx, tmp_path)
    assert proc.returncode == 0
    proc, out = run_step("verdict", repo, ctx, tmp_path)
    assert (proc.returncode, out) == (0, {"exit-code": "0"}), proc.stdout + proc.stderr
    ctx = context("push")
    run_step("reports", repo, ctx, tmp_path)
    proc, out = run_step("verdict", repo, ctx, tmp_path)
    assert out == {"exit-code": "1"} and "::error file=app/alembic/versions/0002.py" in proc.stdout


def test_a_tool_error_fails_the_step_with_exit_code_2(repo: Path, tmp_path: Path) -> None:
    ctx = context("pull_request", **{"base-ref": "no-such-branch"})
    run_step("reports", repo, ctx, tmp_path)
    proc, out = run_step("verdict", repo, ctx, tmp_path)
    assert (proc.returncode, out) == (2, {"exit-code": "2"})
    assert "unknown git ref 'no-such-branch'" in proc.stderr


@pytest.mark.skipif(not os.environ.get("CI") and not (REPO / ".git").exists(),
                    reason="needs the repository checkout")
def test_the_documented_workflow_uses_the_action() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", (REPO / "docs/ci.md").read_text(), re.S)
    uses = [step for block in blocks for job in (yaml.safe_load(block).get("jobs") or {}
                                                  ).values()
            for step in job["steps"] if str(step.get("uses", "")).endswith("b03lint@REV")]
    assert uses and uses[0]["with"]["working-directory"] == "."
    ci = yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text())
    assert any(step.get("uses") == "./" for step in ci["jobs"]["action"]["steps"])
