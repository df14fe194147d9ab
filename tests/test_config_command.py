"""``[tool.b03lint]`` rule configuration (select, ignore, per-file-ignores, severity,
options) and ``b03lint config``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_cli import BASE, DROP, REPO, make_project, run

DROP_PATH = "alembic/versions/003/test_destructive_drop.py"


def project(tmp_path: Path, extra: str = "") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    root = make_project(tmp_path, {"alembic/versions/001/0001_tenants.py": BASE,
                                   DROP_PATH: DROP.format(waiver="")})
    with (root / "pyproject.toml").open("a") as fh:
        fh.write(extra)
    return root


def check_codes(root: Path, *args: str) -> tuple[int, list[tuple[str, str]]]:
    code, out, err = run(root, "check", "--output-format", "json", *args)
    assert "Traceback" not in err
    if code == 2 and not out:
        return code, []
    return code, sorted((f["code"], f["severity"]) for f in json.loads(out)["findings"])


# ----------------------------------------------------------------- the keys work


def test_defaults(tmp_path: Path) -> None:
    assert check_codes(project(tmp_path)) == (1, [("D002", "blocking")])


@pytest.mark.parametrize("extra", [
    'select = ["G"]\n',
    'select = ["graph", "input"]\n',
    'ignore = ["D002"]\n',
    'ignore = ["drop-column"]\n',
    'ignore = ["destructive"]\n',
    'per-file-ignores = { "alembic/versions/003/*" = ["D002"] }\n',
    'per_file_ignores = { "alembic/versions/003/*" = "drop-column" }\n',
], ids=["select-prefix", "select-categories", "ignore-code", "ignore-name", "ignore-category",
        "per-file-ignores", "per-file-ignores-string"])
def test_selection_keys(tmp_path: Path, extra: str) -> None:
    assert check_codes(project(tmp_path, extra)) == (0, [])


def test_per_file_ignores_only_match_their_files(tmp_path: Path) -> None:
    root = project(tmp_path, 'per-file-ignores = { "alembic/versions/001/*" = ["D002"] }\n')
    assert check_codes(root) == (1, [("D002", "blocking")])


def test_extend_select_and_select_flag(tmp_path: Path) -> None:
    root = project(tmp_path, 'select = ["G"]\nextend-select = ["D002"]\n')
    assert check_codes(root) == (1, [("D002", "blocking")])
    # the flag replaces `select` (extend-select still adds)
    assert check_codes(project(tmp_path / "f", 'select = ["D"]\n'), "--select", "G") == (0, [])


@pytest.mark.parametrize(("extra", "severity", "exit_code"), [
    ('severity = { D002 = "warning" }\n', "warning", 0),
    ('severity = { drop-column = "info" }\n', "info", 0),
])
def test_severity_override(tmp_path: Path, extra: str, severity: str, exit_code: int) -> None:
    assert check_codes(project(tmp_path, extra)) == (exit_code, [("D002", severity)])


def test_severity_override_in_text_output(tmp_path: Path) -> None:
    code, out, _ = run(project(tmp_path, 'severity = { D002 = "warning" }\n'), "check")
    assert code == 0 and f"{DROP_PATH}:9:5: D002 warning drop column tenants.name" in out


def test_options_reach_the_rule(tmp_path: Path) -> None:
    extra = 'options = { suppression-without-reason = { reason-pattern = "JIRA-[0-9]+" } }\n'
    root = project(tmp_path, extra)
    target = root / DROP_PATH
    target.write_text(target.read_text().replace(
        'op.drop_column("tenants", "name")',
        "op.execute(build_sql())  # b03lint: ignore[I004] -- legacy"))
    assert check_codes(root) == (0, [("I004", "info"), ("S001", "warning")])
    target.write_text(target.read_text().replace("-- legacy", "-- JIRA-12 legacy"))
    assert check_codes(root) == (0, [])


# ----------------------------------------------------------------- unknown codes: exit 2


@pytest.mark.parametrize("extra", [
    'select = ["Q999"]\n',
    'extend-select = ["Q999"]\n',
    'ignore = ["Q999"]\n',
    'per-file-ignores = { "alembic/*" = ["Q999"] }\n',
    'severity = { Q999 = "warning" }\n',
    'options = { Q999 = { x = 1 } }\n',
], ids=["select", "extend-select", "ignore", "per-file-ignores", "severity", "options"])
@pytest.mark.parametrize("command", ["check", "config"])
def test_unknown_rule_code_is_exit_2_naming_it(tmp_path: Path, extra: str,
                                               command: str) -> None:
    code, out, err = run(project(tmp_path, extra), command)
    assert code == 2, out + err
    assert "unknown rule 'Q999'" in out + err
    assert "Traceback" not in out + err


@pytest.mark.parametrize(("extra", "message"), [
    ('severity = { D002 = "fatal" }\n', "severity of D002 must be one of"),
    ('options = { D002 = { x = 1 } }\n', "has no option 'x'"),
    ('options = { S001 = { reason-pattern = 3 } }\n', "must be str"),
    ('ignore = "D002"\n', "ignore must be a list"),
    ('slect = ["D"]\n', "unknown key 'slect'"),
])
def test_bad_values_are_exit_2(tmp_path: Path, extra: str, message: str) -> None:
    code, out, err = run(project(tmp_path, extra), "check")
    assert code == 2 and message in out + err, out + err


# ----------------------------------------------------------------- b03lint config


def test_config_text_says_where_each_value_came_from(tmp_path: Path) -> None:
    root = project(tmp_path, 'ignore = ["D010"]\n')
    code, out, err = run(root, "config", "--adr-dir", "elsewhere/adr")
    assert code == 0, err
    assert f"# configuration file: {root / 'pyproject.toml'}" in out
    assert re.search(r'^migrations = "alembic/versions" +# pyproject.toml \[tool.b03lint\]$',
                     out, re.M), out
    assert re.search(r'^ignore = \["D010"\] +# pyproject.toml \[tool.b03lint\]$', out, re.M)
    assert re.search(r"^adr_dir = \".*elsewhere/adr\" +# flag --adr-dir$", out, re.M)
    assert re.search(r'^tenant_column = "tenant_id" +# default$', out, re.M)
    assert re.search(r"^# canonical_sql \(not set\) +# default$", out, re.M)


def test_config_json(tmp_path: Path) -> None:
    root = project(tmp_path, 'severity = { D002 = "warning" }\n')
    code, out, _ = run(root, "config", "--output-format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["pyproject"] == str(root / "pyproject.toml") and doc["root"] == str(root)
    assert doc["values"]["severity"] == {"value": {"D002": "warning"},
                                         "source": "pyproject.toml [tool.b03lint]"}
    assert doc["values"]["jobs"]["source"] == "default"


def test_config_found_walking_up(tmp_path: Path) -> None:
    root = project(tmp_path)
    code, out, _ = run(root / "alembic/versions", "config", "--output-format", "json")
    assert code == 0 and json.loads(out)["pyproject"] == str(root / "pyproject.toml")


def test_config_without_pyproject(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "config")
    assert code == 0 and "(none found; defaults)" in out


def test_readme_rule_configuration_snippet_is_accepted(tmp_path: Path) -> None:
    text = (REPO / "README.md").read_text()
    section = text.split("### Rule selection, severities and options\n", 1)[1]
    snippet = re.findall(r"```toml\n(.*?)```", section, re.S)[0]
    root = make_project(tmp_path, {"alembic/versions/0001.py": BASE})
    (root / "pyproject.toml").write_text(snippet.replace(
        "[tool.b03lint]\n", '[tool.b03lint]\nmigrations = "alembic/versions"\n'))
    code, out, err = run(root, "config", "--output-format", "json")
    assert code == 0, err
    assert json.loads(out)["values"]["per_file_ignores"]["value"] == {
        "alembic/versions/legacy/*": ["C004"]}
    assert run(root, "check")[0] == 0
