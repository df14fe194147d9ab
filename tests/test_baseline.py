"""Baseline adoption: ``b03lint baseline`` then ``b03lint check`` reports only what is new."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from test_cli import BASE, REPO, make_project, run

from b03lint.baseline import (
    Entry,
    SourceLines,
    apply_baseline,
    dumps,
    entries_for,
    fingerprint,
    load,
)
from b03lint.findings import Finding

MIG = '''\
"""drop legacy columns"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"


def upgrade():
{body}


def downgrade():
    pass
'''
PATH = "alembic/versions/0002_drop.py"
DROP_NAME = '    op.drop_column("tenants", "name")'
DROP_ID = '    op.drop_column("tenants", "id")'


def project(tmp_path: Path, *lines: str) -> Path:
    return make_project(tmp_path, {"alembic/versions/0001_tenants.py": BASE,
                                   PATH: MIG.format(body="\n".join(lines))})


def rewrite(root: Path, *lines: str, docstring: str = "drop legacy columns") -> None:
    (root / PATH).write_text(MIG.format(body="\n".join(lines)).replace(
        "drop legacy columns", docstring))


def check_json(root: Path, *args: str) -> tuple[int, dict[str, object]]:
    code, out, err = run(root, "check", "--output-format", "json", *args)
    assert "Traceback" not in err, err
    return code, json.loads(out)


def found(doc: dict[str, object]) -> list[tuple[str, str, int, str]]:
    return [(f["code"], f["path"], f["line"], f["severity"])  # type: ignore[index]
            for f in doc["findings"]]  # type: ignore[attr-defined]


@pytest.fixture()
def adopted(tmp_path: Path) -> Path:
    """A project with one blocking finding, baselined."""
    root = project(tmp_path, DROP_NAME)
    assert run(root, "check")[0] == 1
    code, out, err = run(root, "baseline")
    assert code == 0, out + err
    assert "wrote 1 baseline entry (1 blocking/warning finding(s)) to .b03lint-baseline.json" \
        in out
    return root


def test_baseline_file_shape(adopted: Path) -> None:
    text = (adopted / ".b03lint-baseline.json").read_text()
    doc = json.loads(text)
    assert doc["version"] == 1
    [entry] = doc["findings"]
    assert entry["code"] == "D002" and entry["path"] == PATH and entry["count"] == 1
    assert re.fullmatch(r"[0-9a-f]{16}", entry["fingerprint"])
    # one entry a line, so a stale one can be pointed at
    assert sum(entry["fingerprint"] in line for line in text.splitlines()) == 1


def test_baselined_findings_are_not_reported(adopted: Path) -> None:
    code, doc = check_json(adopted)
    assert code == 0 and found(doc) == []
    rc, out, _ = run(adopted, "check")
    assert rc == 0 and "1 accepted by the baseline" in out


def test_survives_a_line_shift(adopted: Path) -> None:
    rewrite(adopted, "    # first, more context", '    op.execute("SELECT 1")', "", DROP_NAME)
    code, doc = check_json(adopted)
    assert code == 0 and found(doc) == []


def test_survives_unrelated_edits_and_reindentation(adopted: Path) -> None:
    rewrite(adopted, '    op.add_column("tenants", sa.Column("plan", sa.Text()))',
            '    op.drop_column(  "tenants",   "name"  )',
            docstring="a different message")
    code, doc = check_json(adopted)
    # another operation above it, re-spaced, a new docstring: still the same finding
    assert (code, found(doc)) == (0, [])


def test_new_findings_are_reported(adopted: Path) -> None:
    rewrite(adopted, DROP_NAME, DROP_ID)
    code, doc = check_json(adopted)
    assert code == 1
    assert found(doc) == [("D002", PATH, 11, "blocking")]


def test_a_fixed_finding_is_reported_stale(adopted: Path) -> None:
    rewrite(adopted, "    pass")
    code, doc = check_json(adopted)
    assert code == 0
    [stale] = doc["findings"]  # type: ignore[misc]
    assert stale["code"] == "S004" and stale["rule"] == "stale-baseline-entry"
    assert stale["severity"] == "info" and stale["path"] == ".b03lint-baseline.json"
    assert stale["line"] == 5  # the entry's line in the file
    assert f"D002 at {PATH}:10" in stale["message"]
    # writing the baseline again drops the entry
    assert run(adopted, "baseline")[0] == 0
    code, doc = check_json(adopted)
    assert (code, found(doc)) == (0, [])
    assert json.loads((adopted / ".b03lint-baseline.json").read_text())["findings"] == []


def test_a_waived_finding_leaves_the_baseline(adopted: Path) -> None:
    rewrite(adopted, "    # CI:DESTRUCTIVE_OK - See ADR-003", DROP_NAME)
    code, doc = check_json(adopted)
    assert code == 0
    assert sorted(c for c, *_ in found(doc)) == ["D002", "S004"]  # D002 as info, waived


def test_no_baseline_reports_everything(adopted: Path) -> None:
    assert check_json(adopted, "--no-baseline")[0] == 1


def test_explicit_baseline_file(adopted: Path) -> None:
    (adopted / ".b03lint-baseline.json").rename(adopted / "accepted.json")
    assert check_json(adopted)[0] == 1  # no default file any more
    assert check_json(adopted, "--baseline", "accepted.json")[0] == 0
    code, out, err = run(adopted, "check", "--baseline", "missing.json")
    assert code == 2 and "missing.json: error: baseline file not found" in out + err


def test_configured_baseline(tmp_path: Path) -> None:
    root = project(tmp_path, DROP_NAME)
    with (root / "pyproject.toml").open("a") as fh:
        fh.write('baseline = "ci/accepted-findings.json"\n')
    code, out, _ = run(root, "check")
    assert code == 2 and "ci/accepted-findings.json" in out and "b03lint baseline" in out
    assert run(root, "baseline")[0] == 0
    assert (root / "ci/accepted-findings.json").is_file()
    assert run(root, "check")[0] == 0


def test_baseline_output_flag(tmp_path: Path) -> None:
    root = project(tmp_path, DROP_NAME)
    assert run(root, "baseline", "-o", "other.json")[0] == 0
    assert not (root / ".b03lint-baseline.json").exists()
    assert run(root, "check", "--baseline", "other.json")[0] == 0


def test_invalid_baseline_is_exit_2(adopted: Path) -> None:
    (adopted / ".b03lint-baseline.json").write_text('{\n  "version": 1,\n  "findings": [\n')
    code, out, err = run(adopted, "check")
    assert code == 2 and ".b03lint-baseline.json:4" in out and "Traceback" not in err


def test_baseline_refused_when_the_check_cannot_complete(tmp_path: Path) -> None:
    root = project(tmp_path, DROP_NAME)
    (root / "alembic/versions/broken.py").write_text("def upgrade(:\n")
    code, _, err = run(root, "baseline")
    assert code == 2 and "baseline not written" in err
    assert not (root / ".b03lint-baseline.json").exists()


def test_readme_snippet(tmp_path: Path) -> None:
    """The README's Baseline commands, run as written (b03lint on PATH)."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Baseline\n", 1)[1].split("\n## ", 1)[0]
    snippet = re.findall(r"```sh\n(.*?)```", section, re.S)[0]
    root = project(tmp_path, DROP_NAME)
    bindir = Path(__import__("sys").executable).parent
    commands = [line.split("#")[0].strip() for line in snippet.splitlines()]
    for command in filter(None, commands):
        proc = subprocess.run(command, shell=True, cwd=root, capture_output=True, text=True,
                              env={"PATH": f"{bindir}:/usr/bin:/bin", "NO_COLOR": "1"})
        assert proc.returncode == 0, (command, proc.stdout, proc.stderr)
    assert (root / ".b03lint-baseline.json").is_file()


# ----------------------------------------------------------------- the module itself


def _finding(line: int, path: str = "x.py", code: str = "D002",
             severity: str = "blocking") -> Finding:
    return Finding(code=code, rule="drop-column", severity=severity,  # type: ignore[arg-type]
                   message="drop column t.a", path=path, line=line, object="t.a")


def test_duplicates_need_as_many_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.py").write_text("op.drop_column('t', 'a')\n\nop.drop_column('t', 'a')\n")
    two = [_finding(1), _finding(3)]
    entries = entries_for(two, tmp_path)
    assert [e.count for e in entries] == [1 + 1]
    (tmp_path / "b.json").write_text(dumps(entries))
    loaded = load(tmp_path / "b.json")
    three = [*two, _finding(3)]
    applied = apply_baseline(loaded, three, root=tmp_path, shown="b.json", enabled={"D002"},
                             in_scope=lambda p: True)
    assert applied.matched == 2 and len(applied.kept) == 1 and applied.added == []
    one = apply_baseline(loaded, two[:1], root=tmp_path, shown="b.json", enabled={"D002"},
                         in_scope=lambda p: True)
    assert [f.code for f in one.added] == ["S004"] and "1 of 2" in one.added[0].message


def test_info_findings_are_not_baselined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    monkeypatch.chdir(tmp_path)
    assert entries_for([_finding(1, severity="info")], tmp_path) == []


def test_out_of_scope_entries_are_not_stale(tmp_path: Path) -> None:
    entry = Entry("0" * 16, "D002", "alembic/versions/a.py", 3, "m")
    for enabled, scope, expected in (({"D002"}, True, 1), (set(), True, 0),
                                     ({"D002"}, False, 0)):
        applied = apply_baseline([entry], [], root=tmp_path, shown="b.json", enabled=enabled,
                                 in_scope=lambda p, s=scope: s)  # type: ignore[misc]
        assert len(applied.added) == expected


def test_fingerprint_ignores_line_numbers_and_whitespace(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.py").write_text("op.drop_column('t', 'a')\n\n\n    op.drop_column( 't',  'a')\n")
    sources = SourceLines()
    assert fingerprint(_finding(1), tmp_path, sources) == fingerprint(_finding(4), tmp_path,
                                                                      sources)
    assert fingerprint(_finding(1), tmp_path, sources) != fingerprint(
        _finding(1, code="D001"), tmp_path, sources)
