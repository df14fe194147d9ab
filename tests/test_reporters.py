"""Every output format, through the real CLI on a small project with a blocking, a warning
and an info finding (and, for some cases, a file that cannot be read).

The SARIF output is validated against the official SARIF 2.1.0 JSON schema, vendored in
``tests/data/sarif-schema-2.1.0.json`` (see ``tests/data/README.md`` for its origin).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from test_cli import BASE, REPO, make_project, run

from b03lint.engine import Result
from b03lint.findings import Finding, ToolError
from b03lint.reporters import FORMATS, ReportOptions, renderer

SCHEMA = json.loads((Path(__file__).parent / "data/sarif-schema-2.1.0.json").read_text())

MIG = '''\
"""mixed findings"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"


def upgrade():
    op.add_column("tenants", sa.Column("a", sa.Text()))  # b03lint: ignore[I004] -- stale
    op.drop_column("tenants", "name")
    op.execute(build_sql())


def downgrade():
    pass
'''
PATH = "alembic/versions/002/0002_mixed.py"
CLEAN = "alembic/versions/001/0001_tenants.py"


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    return make_project(tmp_path, {CLEAN: BASE, PATH: MIG})


@pytest.fixture()
def broken(root: Path) -> Path:
    (root / "alembic/versions/002/broken.py").write_text("revision = 'b'\ndef upgrade(:\n")
    return root


def test_text_first_lines_code_frame_and_summary(root: Path) -> None:
    code, out, _ = run(root, "check", "--frames", "always")
    assert code == 1
    lines = out.splitlines()
    i = lines.index(f"{PATH}:11:5: D002 blocking drop column tenants.name: drops the column "
                    "and its data")
    assert lines[i + 1] == '  11 |     op.drop_column("tenants", "name")'
    assert lines[i + 2] == "     |     ^"
    assert lines[i + 3].startswith("  = fix: ")
    assert f"{PATH}:10:1: S003 warning suppression of I004 suppresses nothing" in out
    assert f"{PATH}:12:5: I004 info cannot resolve statically" in out
    assert lines[-1].startswith("BLOCKING: 1 blocking, 1 warning, 1 info in 2 file(s)")
    assert "\033[" not in out  # not a terminal: no colours


def test_code_frames_only_on_a_terminal(root: Path) -> None:
    """Piped (a CI log, a file): the finding lines alone; on a terminal (a real pty): each
    followed by its code frame."""
    import pty

    code, out, _ = run(root, "check")
    assert code == 1
    assert "  11 |" not in out and "= fix:" not in out
    assert f"{PATH}:11:5: D002 blocking drop column tenants.name" in out
    _, never, _ = run(root, "check", "--frames", "never")
    assert never == out

    chunks: list[bytes] = []

    def read(fd: int) -> bytes:
        data = os.read(fd, 1024)
        chunks.append(data)
        return data

    cwd = os.getcwd()
    os.chdir(root)
    try:
        status = pty.spawn([sys.executable, "-m", "b03lint", "check", "--color", "never"],
                           read)
    finally:
        os.chdir(cwd)
    terminal = b"".join(chunks).decode().replace("\r\n", "\n")
    assert os.waitstatus_to_exitcode(status) == 1
    assert '  11 |     op.drop_column("tenants", "name")' in terminal
    assert "  = fix: " in terminal


def test_text_colours_on_request(root: Path) -> None:
    _, out, _ = run(root, "check", "--color", "always")
    assert "\033[31mblocking\033[0m" in out
    _, out, _ = run(root, "check", "--color", "never")
    assert "\033[" not in out


def test_concise_is_the_first_lines_only(root: Path) -> None:
    _, text, _ = run(root, "check")
    code, concise, _ = run(root, "check", "--output-format", "concise")
    assert code == 1
    assert concise.splitlines() == [ln for ln in text.splitlines()
                                    if not ln.startswith("  ")]
    assert len(concise.splitlines()) == 4


def _sarif(root: Path, *args: str) -> tuple[int, dict[str, object]]:
    code, out, err = run(root, "check", "--output-format", "sarif", *args)
    assert "Traceback" not in err
    doc = json.loads(out)
    errors = sorted(jsonschema.Draft4Validator(SCHEMA).iter_errors(doc), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    return code, doc


def test_sarif_validates_and_maps_everything(root: Path) -> None:
    code, doc = _sarif(root)
    assert code == 1
    assert doc["version"] == "2.1.0"
    [sarif_run] = doc["runs"]  # type: ignore[index]
    driver = sarif_run["tool"]["driver"]
    assert driver["name"] == "b03lint" and driver["version"]
    rules = {r["id"]: r for r in driver["rules"]}
    assert set(rules) == {"D002", "S003", "I004"}
    d002 = rules["D002"]
    assert d002["name"] == "drop-column"
    assert d002["defaultConfiguration"] == {"level": "error"}
    assert "What it does" in d002["fullDescription"]["text"]
    assert d002["shortDescription"]["text"].startswith("Flags a column dropped")
    assert rules["I004"]["defaultConfiguration"] == {"level": "note"}
    results = {r["ruleId"]: r for r in sarif_run["results"]}
    assert {k: r["level"] for k, r in results.items()} == {
        "D002": "error", "S003": "warning", "I004": "note"}
    loc = results["D002"]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": PATH, "uriBaseId": "%SRCROOT%"}
    assert loc["region"]["startLine"] == 11 and loc["region"]["startColumn"] == 5
    assert loc["region"]["endLine"] == 11 and loc["region"]["endColumn"] > 5
    assert results["D002"]["message"]["text"].startswith("drop column tenants.name")
    assert driver["rules"][results["D002"]["ruleIndex"]]["id"] == "D002"
    assert re.fullmatch(r"[0-9a-f]{16}",
                        results["D002"]["partialFingerprints"]["b03lintFingerprint/v1"])
    assert sarif_run["invocations"][0]["executionSuccessful"] is True
    assert sarif_run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == root.resolve().as_uri() + "/"


def test_sarif_fingerprint_is_the_baseline_fingerprint(root: Path) -> None:
    _, doc = _sarif(root)
    run(root, "baseline")
    baseline = json.loads((root / ".b03lint-baseline.json").read_text())
    prints = {r["ruleId"]: r["partialFingerprints"]["b03lintFingerprint/v1"]
              for r in doc["runs"][0]["results"]}  # type: ignore[index]
    assert {e["code"]: e["fingerprint"] for e in baseline["findings"]} == {
        k: v for k, v in prints.items() if k in ("D002", "S003")}


def test_sarif_with_tool_errors(broken: Path) -> None:
    code, doc = _sarif(broken)
    assert code == 2
    invocation = doc["runs"][0]["invocations"][0]  # type: ignore[index]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    assert any(n["level"] == "error" and n["locations"][0]["physicalLocation"]
               ["artifactLocation"]["uri"].endswith("broken.py") for n in notes)


def test_sarif_clean_run(tmp_path: Path) -> None:
    root = make_project(tmp_path, {CLEAN: BASE})
    code, doc = _sarif(root)
    assert code == 0 and doc["runs"][0]["results"] == []  # type: ignore[index]


def test_github_annotations_exact(root: Path) -> None:
    code, out, _ = run(root, "check", "--output-format", "github")
    assert code == 1
    lines = out.splitlines()
    assert lines[:3] == [
        f"::warning file={PATH},line=10,col=1,title=S003 unused-suppression::suppression of "
        "I004 suppresses nothing on this line or the next",
        f"::error file={PATH},line=11,col=5,title=D002 drop-column::drop column tenants.name: "
        "drops the column and its data",
        f"::notice file={PATH},line=12,col=5,title=I004 unresolved-operation::cannot resolve "
        "statically: " + lines[2].split("cannot resolve statically: ", 1)[1],
    ]
    assert lines[3].startswith("BLOCKING: ")


def test_github_escaping() -> None:
    f = Finding(code="X001", rule="odd-rule", severity="warning",
                message="100% broken\r\nsecond: line, really", path="dir,x/a:b.py", line=3,
                column=7)
    out = renderer("github")(Result(findings=[f]), ReportOptions())
    assert out.splitlines()[0] == (
        "::warning file=dir%2Cx/a%3Ab.py,line=3,col=7,title=X001 odd-rule::"
        "100%25 broken%0D%0Asecond: line, really")


def test_github_tool_errors(broken: Path) -> None:
    code, out, _ = run(broken, "check", "--output-format", "github")
    assert code == 2
    assert re.search(r"^::error file=alembic/versions/002/broken\.py,line=2,col=\d+,"
                     r"title=b03lint error::", out, re.M), out


def test_junit(broken: Path) -> None:
    code, out, _ = run(broken, "check", "--output-format", "junit")
    assert code == 2
    suites = ET.fromstring(out)
    assert suites.tag == "testsuites"
    [suite] = suites
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {CLEAN, PATH, "alembic/versions/002/broken.py"}
    assert suite.get("tests") == "3"
    failure = cases[PATH].find("failure")
    assert failure is not None and failure.get("type") == "D002"
    assert f"{PATH}:11:5: D002 blocking" in (failure.text or "")
    assert "S003 warning" in (cases[PATH].findtext("system-out") or "")
    assert cases[CLEAN].find("failure") is None and cases[CLEAN].find("error") is None
    assert cases["alembic/versions/002/broken.py"].find("error") is not None
    assert suite.get("failures") == "2"  # the mixed file, and broken.py's I001 finding
    assert suite.get("errors") == "1"


def test_markdown(root: Path) -> None:
    code, out, _ = run(root, "check", "--output-format", "markdown")
    assert code == 1
    assert out.startswith("## b03lint: \u274c BLOCKING\n")
    assert "**1 blocking**, 1 warning, 1 info in 2 file(s)" in out
    assert "| | Location | Rule | Message |" in out
    assert f"| \u274c | `{PATH}:11` | `D002` drop-column | drop column tenants.name" in out
    main_table, details = out.split("<details>", 1)
    assert "`I004`" not in main_table and "`S003`" in main_table
    assert details.startswith("<summary>1 info finding(s)</summary>") and "`I004`" in details
    assert details.rstrip().endswith("</details>")


def test_markdown_escapes_cells() -> None:
    f = Finding(code="X001", rule="r", severity="blocking", message="a | b\n<script>",
                path="p.py", line=1)
    out = renderer("markdown")(Result(findings=[f]), ReportOptions())
    assert "a \\| b &lt;script&gt;" in out


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_renders_a_skipped_run(fmt: str) -> None:
    result = Result(skipped="No candidate migrations detected; skipping.")
    out = renderer(fmt)(result, ReportOptions(tool_version="0"))
    if fmt in ("text", "concise", "github", "markdown"):
        assert "No candidate migrations detected; skipping." in out
    if fmt == "sarif":
        assert not list(jsonschema.Draft4Validator(SCHEMA).iter_errors(json.loads(out)))


def test_every_format_renders_errors_without_paths() -> None:
    result = Result(errors=[ToolError("configuration: unknown rule 'Q1'")])
    for fmt in FORMATS:
        out = renderer(fmt)(result, ReportOptions())
        assert "unknown rule" in out, fmt


def test_readme_output_format_snippet(root: Path) -> None:
    """Every command of the README's "Output formats" block, run as written."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Output formats\n", 1)[1].split("\n## ", 1)[0]
    snippet = re.findall(r"```sh\n(.*?)```", section, re.S)[0]
    commands = [ln.split(" # ")[0].strip() for ln in snippet.splitlines() if ln.strip()]
    assert len(commands) == len(FORMATS)
    bindir = Path(sys.executable).parent
    for command in commands:
        proc = subprocess.run(command, shell=True, cwd=root, capture_output=True, text=True,
                              env={"PATH": f"{bindir}:/usr/bin:/bin", "NO_COLOR": "1"})
        assert proc.returncode == 1, (command, proc.stdout, proc.stderr)
    assert json.loads((root / "b03lint.sarif").read_text())["version"] == "2.1.0"
    assert ET.parse(root / "b03lint.xml").getroot().tag == "testsuites"
    assert (root / "report.md").read_text().startswith("## b03lint:")
