"""Suppressions with reasons (``# b03lint: ignore[CODE] -- reason``), through the real CLI."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

from test_cli import BASE, REPO, make_project, run

MIG = '''\
"""suppression cases"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"


def upgrade():
{body}


def downgrade():
    pass
'''
PATH = "alembic/versions/0002_x.py"


def project(tmp_path: Path, body: str, pyproject_extra: str = "") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    root = make_project(tmp_path, {"alembic/versions/0001_tenants.py": BASE,
                                   PATH: MIG.format(body=textwrap.indent(body, "    "))})
    if pyproject_extra:
        with (root / "pyproject.toml").open("a") as fh:
            fh.write(pyproject_extra)
    return root


def findings(root: Path, *args: str) -> tuple[int, list[dict[str, object]]]:
    code, out, err = run(root, "check", "--output-format", "json", *args)
    assert "Traceback" not in err, err
    doc = json.loads(out)
    return code, doc["findings"]


def codes(found: list[dict[str, object]]) -> list[tuple[str, object, object]]:
    """(code, line, severity) of each finding, sorted by code."""
    return sorted((str(f["code"]), f["line"], f["severity"]) for f in found)


def by_code(found: list[dict[str, object]], code: str) -> dict[str, object]:
    return next(f for f in found if f["code"] == code)


def readme_block(heading: str, index: int = 0) -> str:
    text = (REPO / "README.md").read_text()
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```\w*\n(.*?)```", section, re.S)[index]


# ----------------------------------------------------------------- what a suppression does


def test_same_line_suppression_silences_and_is_counted(tmp_path: Path) -> None:
    root = project(tmp_path, "op.execute(build_sql())  # b03lint: ignore[I004] -- built at deploy")
    code, found = findings(root)
    assert code == 0 and found == []
    rc, out, _ = run(root, "check")
    assert rc == 0 and "1 suppressed" in out


def test_line_above_and_rule_name(tmp_path: Path) -> None:
    root = project(tmp_path, "# b03lint: ignore[unresolved-operation] -- built at deploy\n"
                             "op.execute(build_sql())")
    assert findings(root) == (0, [])


def test_only_the_line_and_the_next(tmp_path: Path) -> None:
    root = project(tmp_path, "# b03lint: ignore[I004] -- built at deploy\n"
                             "op.execute(build_sql())\n"
                             "op.execute(other_sql())")
    code, found = findings(root)
    assert code == 0 and codes(found) == [("I004", 12, "info")]


def test_several_codes(tmp_path: Path) -> None:
    root = project(tmp_path, 'op.execute("CREATE TABEL x (id int)")  '
                             "# b03lint: ignore[I003, I004] -- PG 17 syntax")
    code, found = findings(root)
    # I003 is suppressed; I004 suppresses nothing here (nothing unresolved) and is reported
    assert code == 0
    assert codes(found) == [("S003", 10, "warning")]
    assert "I004" in str(found[0]["message"])


def test_readme_snippets_work(tmp_path: Path) -> None:
    """The README's two suppression snippets, pasted into a migration, silence their
    findings (I004 for run-time SQL, I003 inside SQL)."""
    py_snippet, sql_snippet = readme_block("Suppressions", 0), readme_block("Suppressions", 1)
    for i, snippet in enumerate((py_snippet, sql_snippet)):
        body = textwrap.dedent(snippet.split("def upgrade():\n", 1)[1])
        root = project(tmp_path / str(i), body)
        code, found = findings(root)
        assert (code, found) == (0, []), snippet
        unsuppressed = project(tmp_path / f"{i}-bare", "\n".join(
            ln for ln in body.splitlines() if "b03lint: ignore" not in ln))
        assert findings(unsuppressed)[1], "the snippet must have something to suppress"


def test_suppression_inside_sql(tmp_path: Path) -> None:
    root = project(tmp_path, 'op.execute("""\n'
                             "    -- b03lint: ignore[I003] -- new syntax\n"
                             "    CREATE TABEL x (id int);\n"
                             '""")')
    assert findings(root) == (0, [])


# ----------------------------------------------------------------- what is reported


def test_without_reason_is_reported_and_suppresses_nothing(tmp_path: Path) -> None:
    root = project(tmp_path, "op.execute(build_sql())  # b03lint: ignore[I004]")
    code, found = findings(root)
    assert code == 0
    assert codes(found) == [("I004", 10, "info"), ("S001", 10, "warning")]
    s001 = by_code(found, "S001")
    assert s001["rule"] == "suppression-without-reason"
    assert "no reason" in str(s001["message"])


def test_reason_optional_when_s001_is_ignored(tmp_path: Path) -> None:
    root = project(tmp_path, "op.execute(build_sql())  # b03lint: ignore[I004]",
                   'ignore = ["S001"]\n')
    assert findings(root) == (0, [])


def test_reason_pattern_option(tmp_path: Path) -> None:
    extra = 'options = { S001 = { reason-pattern = "[A-Z]+-[0-9]+" } }\n'
    root = project(tmp_path, "op.execute(build_sql())  # b03lint: ignore[I004] -- see wiki",
                   extra)
    assert [c for c, _, _ in codes(findings(root)[1])] == ["I004", "S001"]
    root = project(tmp_path / "ok", "op.execute(build_sql())  # b03lint: ignore[I004] -- OPS-7",
                   extra)
    assert findings(root) == (0, [])


def test_bad_reason_pattern_is_a_configuration_error(tmp_path: Path) -> None:
    root = project(tmp_path, "pass", 'options = { S001 = { reason-pattern = "([" } }\n')
    code, out, err = run(root, "check")
    assert code == 2 and "reason-pattern" in out + err and "Traceback" not in err


def test_unknown_code(tmp_path: Path) -> None:
    root = project(tmp_path, "op.execute(build_sql())  # b03lint: ignore[D0002] -- typo")
    code, found = findings(root)
    assert code == 0
    assert codes(found) == [("I004", 10, "info"), ("S002", 10, "warning")]
    assert "'D0002'" in str(by_code(found, "S002")["message"])


def test_unused(tmp_path: Path) -> None:
    root = project(tmp_path, 'op.add_column("tenants", sa.Column("a", sa.Text()))  '
                             "# b03lint: ignore[I004] -- stale")
    assert codes(findings(root)[1]) == [("S003", 10, "warning")]


def test_unused_not_reported_for_rules_not_enabled(tmp_path: Path) -> None:
    root = project(tmp_path, 'op.add_column("tenants", sa.Column("a", sa.Text()))  '
                             "# b03lint: ignore[I004] -- stale", 'ignore = ["I004"]\n')
    assert findings(root) == (0, [])


def test_destructive_rules_cannot_be_suppressed(tmp_path: Path) -> None:
    root = project(tmp_path, 'op.drop_column("tenants", "name")  '
                             "# b03lint: ignore[D002] -- legacy column")
    code, found = findings(root)
    assert code == 1
    assert codes(found) == [("D002", 10, "blocking"), ("S005", 10, "warning")]
    assert "CI:DESTRUCTIVE_OK" in str(by_code(found, "S005")["message"])


def test_the_guide_waiver_still_waives(tmp_path: Path) -> None:
    root = project(tmp_path, 'op.drop_column("tenants", "name")  '
                             "# CI:DESTRUCTIVE_OK - See ADR-003")
    code, found = findings(root)
    assert code == 0 and codes(found) == [("D002", 10, "info")]


def test_blanket_ignore_is_not_accepted(tmp_path: Path) -> None:
    root = project(tmp_path, "op.execute(build_sql())  # b03lint: ignore -- everything")
    code, found = findings(root)
    assert code == 0
    assert codes(found) == [("I004", 10, "info"), ("S005", 10, "warning")]
    assert "blanket" in str(by_code(found, "S005")["message"])


def test_suppression_findings_can_be_suppressed_by_configuration(tmp_path: Path) -> None:
    root = project(tmp_path, "op.execute(build_sql())  # b03lint: ignore -- everything",
                   'per-file-ignores = { "alembic/versions/0002_*" = ["S005"] }\n')
    assert codes(findings(root)[1]) == [("I004", 10, "info")]


def test_problems_only_reported_for_files_reported_on(tmp_path: Path) -> None:
    root = project(tmp_path, "op.execute(build_sql())  # b03lint: ignore[X1] -- typo")
    code, found = findings(root, "alembic/versions/0001_tenants.py")
    assert (code, found) == (0, [])


def test_text_output(tmp_path: Path) -> None:
    root = project(tmp_path, "op.execute(build_sql())  # b03lint: ignore[I004]")
    code, out, _ = run(root, "check")
    assert code == 0
    assert f"{PATH}:10:1: S001 warning suppression gives no reason" in out
