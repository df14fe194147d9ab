"""The rule documentation: ``docs/rules.md`` is generated from the registry and must not be
stale; ``docs/writing-rules.md`` shows code that works (its marked blocks run here)."""

from __future__ import annotations

import os
import re
import shlex
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from b03lint.cli import main
from b03lint.commands.rules import render_markdown
from b03lint.config import load_config
from b03lint.rules.base import DOC_HEADINGS
from b03lint.rules.registry import build_registry
from b03lint.testing import check_example

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
RULES_MD = REPO / "docs" / "rules.md"
GUIDE = REPO / "docs" / "writing-rules.md"
REGENERATE = "b03lint rules --output-format markdown --no-plugins -o docs/rules.md"


@pytest.fixture
def in_repo() -> Iterator[Path]:
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        yield REPO
    finally:
        os.chdir(cwd)


def test_rules_md_is_up_to_date(in_repo: Path) -> None:
    expected = render_markdown(build_registry(load_config(explicit=REPO / "pyproject.toml"),
                                              entry_points=False))
    actual = RULES_MD.read_text(encoding="utf-8") if RULES_MD.exists() else ""
    assert actual == expected, f"docs/rules.md is stale: run `{REGENERATE}` in the repository"


def test_the_generator_is_the_rules_command(in_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "rules.md"
    assert main(["rules", "--output-format", "markdown", "--no-plugins", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == RULES_MD.read_text(encoding="utf-8")


def test_rules_md_documents_every_rule(in_repo: Path) -> None:
    text = RULES_MD.read_text(encoding="utf-8")
    registry = build_registry(load_config(explicit=REPO / "pyproject.toml"), entry_points=False)
    sections = re.split(r"^### ", text, flags=re.MULTILINE)[1:]
    by_code = {s.split()[0]: s for s in sections}
    assert sorted(by_code) == sorted(r.code for r in registry)
    for rule in registry:
        section = by_code[rule.code]
        assert section.startswith(f"{rule.code} `{rule.name}`")
        facts = (f"| {rule.category} | {rule.default_severity} | "
                 f"{'yes' if rule.default_enabled else 'no'} |")
        assert facts in section, rule.code
        for heading in DOC_HEADINGS:
            assert f"**{heading}**" in section, (rule.code, heading)
        for option in rule.options:
            assert f"| `{option.replace('_', '-')}` |" in section, (rule.code, option)
        assert f"[{rule.code}](#{rule.code.lower()}-{rule.name})" in text
    assert "`rules/tenancy.yaml:" in by_code["SKD003"]


def test_a_stale_rules_md_is_detected(in_repo: Path) -> None:
    """The comparison really depends on the registry: one more rule changes the page."""
    registry = build_registry(load_config(explicit=REPO / "pyproject.toml"), entry_points=False)
    from b03lint.rules.destructive import DropTableRule

    class Extra(DropTableRule):
        code, name = "D099", "extra-drop-table"

    registry.add(Extra, "test")
    assert render_markdown(registry) != RULES_MD.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the guide


def blocks() -> dict[str, str]:
    """The guide's code blocks marked ``<!-- test: NAME -->``, by name."""
    text = GUIDE.read_text(encoding="utf-8")
    found = re.findall(r"<!-- test: ([^>]+?) -->\n```[a-z]*\n(.*?)```", text, re.DOTALL)
    return dict(found)


@pytest.fixture
def guide_project(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A project holding the guide's YAML rule file and Python rule module."""
    marked = blocks()
    package = f"lint_rules_{uuid.uuid4().hex[:8]}"
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "naming.yaml").write_text(marked["rule-file rules/naming.yaml"])
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "primary_keys.py").write_text(
        marked["rule-module lint_rules/primary_keys.py"])
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.b03lint]\nrule_modules = ["{package}.primary_keys"]\n')
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path, package
    finally:
        os.chdir(cwd)


def test_the_guide_marks_its_runnable_blocks() -> None:
    assert set(blocks()) == {"rule-file rules/naming.yaml", "rule-module lint_rules/primary_keys.py",
                             "pack-pyproject", "console rules-test", "console bad-regex",
                             "console clash"}


def test_the_guides_rules_load_document_themselves_and_pass_their_examples(
        guide_project: tuple[Path, str]) -> None:
    root, package = guide_project
    registry = build_registry(load_config(explicit=root / "pyproject.toml"), entry_points=False)
    ours = [registry.get(c) for c in ("SKD010", "SKD011", "TEAM001")]
    assert all(r is not None for r in ours)
    assert registry.origin_of(ours[0]) == "rules/naming.yaml:3"  # type: ignore[arg-type]
    assert registry.origin_of(ours[2]) == f"rule module {package}.primary_keys"  # type: ignore[arg-type]
    for rule in ours:
        assert rule is not None
        assert rule.problems() == [], rule.code
        for kind, examples in (("invalid", rule.invalid), ("valid", rule.valid)):
            for example in examples:
                assert check_example(rule, example, invalid=kind == "invalid",
                                     registry=registry) == [], (rule.code, kind, example.title)


def _console(name: str) -> tuple[list[str], list[str]]:
    """The first command of a console block and the output lines after it."""
    lines = blocks()[name].strip("\n").splitlines()
    command = lines[0].removeprefix("$ ").split("#")[0]
    output = []
    for line in lines[1:]:
        if line.startswith("$ "):
            break
        output.append(line)
    argv = shlex.split(command)
    assert argv[0] == "b03lint"
    return argv[1:], output


def test_the_guides_console_output_is_what_b03lint_prints(
        guide_project: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = guide_project
    argv, expected = _console("console rules-test")
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines() == expected

    rule_file = root / "rules" / "naming.yaml"
    rule_file.write_text(rule_file.read_text().replace("'^idx_'", "'^idx_('"))
    argv, expected = _console("console bad-regex")
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert expected[0] in (captured.out + captured.err).splitlines()
    rule_file.unlink()

    (root / "team_rules.py").write_text(
        "from b03lint.rules.destructive import DropTableRule\n\n\n"
        "class NotDropTable(DropTableRule):\n    name = 'not-drop-table'\n")
    (root / "pyproject.toml").write_text('[tool.b03lint]\nrule_modules = ["team_rules"]\n')
    argv, expected = _console("console clash")
    sys.modules.pop("team_rules", None)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert expected[0] in (captured.out + captured.err).splitlines()
    sys.modules.pop("team_rules", None)


def test_the_guides_python_rule_fires_through_check(
        guide_project: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = guide_project
    versions = root / "alembic" / "versions"
    versions.mkdir(parents=True)
    (versions / "a1.py").write_text(
        'revision = "a1"\ndown_revision = None\n\n\ndef upgrade():\n'
        '    op.create_table("audit_log", sa.Column("m", sa.Text()))\n'
        '    op.create_index("audit_by_m", "audit_log", ["m"])\n')
    assert main(["check", "--output-format", "json"]) == 0  # both are warnings
    import json

    found = {(f["code"], f["line"]) for f in json.loads(capsys.readouterr().out)["findings"]}
    assert {("TEAM001", 6), ("SKD010", 7)} <= found


def test_the_guides_pack_pyproject_declares_the_entry_point_group() -> None:
    data = tomllib.loads(blocks()["pack-pyproject"])
    group = data["project"]["entry-points"]["b03lint.rules"]
    assert group == {"acme": "acme_b03lint_rules.rules",
                     "acme-extra": "acme_b03lint_rules.more:RULES"}
