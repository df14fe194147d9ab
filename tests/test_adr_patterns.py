"""``adr_pattern``: the ADR file names users already have (the guide's ``ADR-<id>-*.md``,
adr-tools' and MADR's ``NNNN-*.md``, a regular expression), waiver ids matched as numbers,
and D021 naming the pattern it looked for (issue 19, item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_environments import CREATE, check, rev, write

DROP_WAIVED = '    op.drop_column("t", "name")  # CI:DESTRUCTIVE_OK - See {cite}'


def project(root: Path, adr_file: str, pattern: str | None, cite: str) -> Path:
    escaped = (pattern or "").replace("\\", "\\\\")
    setting = f'adr_pattern = "{escaped}"\n' if pattern else ""
    return write(root, {
        "pyproject.toml": f'[tool.b03lint]\nmigrations = "versions"\nadr_dir = "docs/adr"\n'
                          f"{setting}",
        f"docs/adr/{adr_file}": "# Drop the legacy slug\n\nStatus: Accepted\n",
        "versions/0001.py": rev("0001", None, CREATE),
        "versions/0002.py": rev("0002", "0001", DROP_WAIVED.format(cite=cite)),
    })


@pytest.mark.parametrize(("adr_file", "pattern", "cite"), [
    ("ADR-007-drop-legacy-slug.md", None, "ADR-007"),
    ("ADR-007-drop-legacy-slug.md", None, "ADR-7"),
    ("0007-drop-legacy-slug.md", "adr-tools", "ADR-7"),
    ("0007-drop-legacy-slug.md", "adr-tools", "ADR-007"),
    ("0007-drop-legacy-slug.md", "adr-tools", "ADR-0007"),
    ("0007-drop-legacy-slug.md", "adr-tools", "0007"),
    ("0007-drop-legacy-slug.md", "madr", "0007"),
    ("DEC-7_drop.md", r"^DEC-(?P<id>\d+)_", "ADR-7"),
])
def test_a_waiver_finds_its_adr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str], adr_file: str,
                                pattern: str | None, cite: str) -> None:
    root = project(tmp_path, adr_file, pattern, cite)
    code, doc = check(root, monkeypatch, capsys)
    assert code == 0, doc
    (waived,) = doc["findings"]
    assert (waived["code"], waived["severity"]) == ("D002", "info")
    assert waived["data"]["waived_by"] == "ADR-007"


@pytest.mark.parametrize(("adr_file", "pattern", "cite", "says"), [
    # the guide's pattern does not take adr-tools' names, and says so
    ("0007-drop-legacy-slug.md", None, "ADR-007",
     "cites ADR-007, which has no file named ADR-<id>-*.md in docs/adr (adr_pattern = "
     "'guide')"),
    ("0007-drop-legacy-slug.md", "adr-tools", "ADR-008",
     "cites ADR-008, which has no file named NNNN-*.md in docs/adr (adr_pattern = "
     "'adr-tools')"),
])
def test_d021_names_the_pattern_it_looked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str],
                                              adr_file: str, pattern: str | None, cite: str,
                                              says: str) -> None:
    root = project(tmp_path, adr_file, pattern, cite)
    code, doc = check(root, monkeypatch, capsys)
    assert code == 1
    d021 = [f for f in doc["findings"] if f["code"] == "D021"]
    assert len(d021) == 1 and says in d021[0]["message"], d021
    wanted = "0008-<title>.md" if pattern else "ADR-007-<title>.md"
    assert wanted in d021[0]["fix"]


def test_a_bare_number_is_not_an_adr_for_the_guide(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, "ADR-007-x.md", None, "0007")
    code, doc = check(root, monkeypatch, capsys)
    assert code == 1
    assert "D020" in {f["code"] for f in doc["findings"]}  # cites no ADR


@pytest.mark.parametrize(("pattern", "says"), [
    ("([", "neither one of guide, adr-tools, madr nor a regular expression"),
    (r"^\d+-", "needs an `(?P<id>...)` group"),
])
def test_a_bad_pattern_is_a_configuration_error(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str],
                                                pattern: str, says: str) -> None:
    root = project(tmp_path, "0007-x.md", pattern, "0007")
    code, doc = check(root, monkeypatch, capsys)
    assert code == 2
    assert says in doc["errors"][0] and "pyproject.toml:4" in doc["errors"][0]
