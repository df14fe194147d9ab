"""The verdict contract (DESIGN.md): ``ERROR`` whenever the run has an error or was cut
short, in every output format; ``PASS`` only for a complete run with no blocking finding.

The static side is checked through the real command line on a copy of the bundled example
whose canonical SQL does not parse (once the JSON said ``"verdict": "PASS"`` beside the
error); the interrupted side renders a real, interrupted :class:`Result` with every
reporter. The live side (wrong password, lost server, timeouts, interrupted rebuilds,
evidence files) is in ``test_live_security.py`` and ``test_live_cleanup.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from b03lint.engine import Result
from b03lint.findings import Finding, ToolError
from b03lint.reporters import FORMATS, ReportOptions, renderer


def b03lint(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "b03lint", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture()
def unparsable_canonical(example_copy: Path) -> Path:
    """The example, whose canonical SQL ends in a statement that does not parse."""
    sql = example_copy / "db/schema/canonical_schema.sql"
    sql.write_text(sql.read_text(encoding="utf-8") + "\nCREATE TABLE (\n", encoding="utf-8")
    return example_copy


def verdict_of(fmt: str, text: str) -> str:
    """The verdict as each format states it."""
    if fmt == "json":
        return str(json.loads(text)["verdict"])
    if fmt == "sarif":
        run = json.loads(text)["runs"][0]
        assert run["invocations"][0]["executionSuccessful"] is (
            run["properties"]["verdict"] != "ERROR")
        return str(run["properties"]["verdict"])
    if fmt == "junit":
        suite = ET.fromstring(text).find("testsuite")
        assert suite is not None
        prop = suite.find("properties/property[@name='verdict']")
        assert prop is not None
        if prop.get("value") == "ERROR":
            assert int(suite.get("errors", "0")) >= 1
        return str(prop.get("value"))
    if fmt == "markdown":
        first = text.splitlines()[0]
        return next(w for w in ("ERROR", "BLOCKING", "PASS") if w in first)
    # text, concise, github: the summary line starts with the verdict
    return text.rstrip().splitlines()[-1].split(":", 1)[0]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_an_unparsable_canonical_sql_is_error_in_every_format(unparsable_canonical: Path,
                                                              fmt: str) -> None:
    proc = b03lint(unparsable_canonical, "check", "--output-format", fmt, "--no-cache")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert verdict_of(fmt, proc.stdout) == "ERROR", proc.stdout
    assert "PASS" not in proc.stdout.splitlines()[-1]


def test_an_unparsable_canonical_sql_is_error_in_the_html_report(unparsable_canonical: Path
                                                                 ) -> None:
    proc = b03lint(unparsable_canonical, "report", "--html", "report.html")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    page = (unparsable_canonical / "report.html").read_text(encoding="utf-8")
    assert 'id="verdict">ERROR</span>' in page and ">PASS<" not in page
    assert ": ERROR:" in proc.stdout


def test_the_same_check_without_the_broken_statement_is_not_error(example_copy: Path) -> None:
    """The control: the example itself is a complete run (exit 0 or 1, never ERROR)."""
    proc = b03lint(example_copy, "check", "--output-format", "json", "--no-cache")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["verdict"] in ("PASS", "BLOCKING")


def _finding(severity: str) -> Finding:
    return Finding(path="alembic/versions/x.py", line=3, column=1, code="D002",
                   rule="drop-column", severity=severity,  # type: ignore[arg-type]
                   message="drop column t.c")


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("findings", [[], ["warning"], ["blocking"]],
                         ids=["clean", "warning", "blocking"])
def test_an_interrupted_run_is_error_whatever_it_found(fmt: str, findings: list[str]) -> None:
    """A run cut short never says PASS (nor BLOCKING: it did not finish); exit 130."""
    result = Result(findings=[_finding(s) for s in findings], interrupted=True)
    assert result.verdict == "ERROR" and result.exit_code == 130
    text = renderer(fmt)(result, ReportOptions())
    assert verdict_of(fmt, text) == "ERROR", text
    if fmt == "json":
        assert json.loads(text)["interrupted"] is True


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_an_error_beside_a_clean_result_is_error(fmt: str) -> None:
    result = Result(errors=[ToolError("cannot connect", None)])
    assert result.verdict == "ERROR" and result.exit_code == 2
    assert verdict_of(fmt, renderer(fmt)(result, ReportOptions())) == "ERROR"


@pytest.mark.parametrize(("findings", "verdict", "code"), [
    ([], "PASS", 0), (["warning", "info"], "PASS", 0), (["blocking"], "BLOCKING", 1)])
def test_a_complete_run(findings: list[str], verdict: str, code: int) -> None:
    result = Result(findings=[_finding(s) for s in findings])
    assert (result.verdict, result.exit_code) == (verdict, code)
    for fmt in FORMATS:
        assert verdict_of(fmt, renderer(fmt)(result, ReportOptions())) == verdict, fmt

