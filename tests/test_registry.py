"""The rule registry: stable codes and names, load-time checks, origins, and the `rules` and
`rule` commands over built-in and project rules."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from b03lint.cli import main
from b03lint.config import load_config
from b03lint.rules.base import Example, Option, Rule
from b03lint.rules.registry import (
    Registry,
    RegistryError,
    build_registry,
    default_registry,
    rule_problems,
)

REPO = Path(__file__).resolve().parent.parent


def make_rule(code: str = "XY001", name: str = "xy-rule", **attrs: Any) -> type[Rule]:
    doc = textwrap.dedent("""
        What it does:
            Flags.

        Why it matters:
            Because.

        Example:
            ``x``

        How to fix:
            Don't.
    """)
    return type(f"Rule_{code}", (Rule,), {"__doc__": doc, "code": code, "name": name,
                                          "category": "project", **attrs})


YAML_RULE = """\
version: 1
rules:
  - code: {code}
    name: {name}
    message: "{{table}}"
    description: {{what: Flags tables., why: Because., example: x, fix: y}}
    match: {{kind: create_table}}
    examples:
      invalid: [{{upgrade: 'op.create_table("t")', line: 1}}]
      valid: [{{upgrade: 'op.drop_table("t")'}}]
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "pyproject.toml").write_text('[tool.b03lint]\nmigrations = "v"\n')
    (tmp_path / "v").mkdir()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# --------------------------------------------------------------------------- the table


def test_built_in_codes_and_names_are_unique_and_well_formed() -> None:
    registry = default_registry()
    rules = list(registry)
    assert len({r.code for r in rules}) == len({r.name for r in rules}) == len(rules)
    for rule in rules:
        assert rule_problems(rule) == [], rule.code
        assert registry.origin_of(rule) == "builtin"
    assert {r.category for r in rules} >= {"input", "graph", "destructive", "contract",
                                           "safety"}


def test_a_rule_is_named_by_code_or_name_everywhere() -> None:
    registry = default_registry()
    assert registry.get("D002") is registry.get("drop-column") is registry.get("d002") \
        is registry.get("Drop-Column")
    assert "drop-column" in registry and "Z999" not in registry
    assert [r.code for r in registry.select("drop-column")] == ["D002"]
    assert {r.code for r in registry.select("D00")} >= {"D001", "D009"}
    assert all(r.category == "graph" for r in registry.select("graph"))
    assert len(registry.select("ALL")) == len(registry)
    with pytest.raises(KeyError, match="unknown rule 'nope'"):
        registry.select("nope")


def test_a_duplicate_code_or_name_is_an_error_naming_both_origins() -> None:
    registry = default_registry()
    with pytest.raises(RegistryError) as info:
        registry.add(make_rule("D001", "other-name"), "rule module team.rules")
    assert str(info.value) == ("rule D001 (other-name) from rule module team.rules clashes "
                               "with D001 (drop-table) from builtin: codes and names must be "
                               "unique")
    with pytest.raises(RegistryError, match=r"XY001 \(drop-column\) from here clashes with "
                                            r"D002 \(drop-column\) from builtin"):
        registry.add(make_rule("XY001", "drop-column"), "here")


def test_the_same_class_twice_is_one_rule() -> None:
    rule = make_rule()
    registry = Registry()
    registry.add(rule, "first")
    registry.add(rule, "second")
    assert len(registry) == 1 and registry.origin_of(rule) == "first"


@pytest.mark.parametrize(("attrs", "words"), [
    ({"code": "x1"}, "code 'x1' is not like ABC123"),
    ({"name": "Not Kebab"}, "name 'Not Kebab' is not kebab-case"),
    ({"category": "style"}, "category 'style' is not one of"),
    ({"default_severity": "fatal"}, "default severity 'fatal'"),
    ({"operation_kinds": frozenset({"add_colum"})}, "operation kinds add_colum do not exist"),
    ({"phases": frozenset({"upgrad"})}, "phases upgrad do not exist"),
    ({"options": {"limit": 3}}, "option 'limit' is not declared with"),
    ({"options": {"limit": Option(default="3", type=int, doc="d")}},
     "default of option 'limit' of rule XY001 must be int"),
])
def test_a_malformed_rule_is_refused_when_registered(attrs: dict[str, Any], words: str) -> None:
    base = {"code": "XY001", "name": "xy-rule"}
    rule = make_rule(**{**base, **attrs})
    with pytest.raises(RegistryError) as info:
        Registry().add(rule, "pack.rules")
    assert words in str(info.value) and "from pack.rules" in str(info.value)


def test_options_are_declared_validated_and_handed_to_the_rule() -> None:
    class Limited(Rule):
        code, name, category = "XY002", "limited", "project"
        options: ClassVar[dict[str, Option]] = {
            "max_length": Option(default=63, type=int, doc="longest name")}

    assert Limited().opts == {"max_length": 63}
    assert Limited(options={"max-length": 30}).opts == {"max_length": 30}
    with pytest.raises(ValueError, match="must be int"):
        Limited(options={"max_length": "30"})
    with pytest.raises(ValueError, match="has no option 'colour'"):
        Limited(options={"colour": 1})


def test_documentation_and_examples_are_checked_by_problems() -> None:
    bare = make_rule(__doc__="Does things.")
    problems = bare.problems()
    assert "documentation lacks a 'Why it matters' section" in problems
    assert "has no example that must trigger it" in problems
    good = make_rule(invalid=(Example("x"),), valid=(Example("y"),))
    assert good.problems() == []


# --------------------------------------------------------------------------- build_registry


def test_build_registry_adds_yaml_rules_with_their_origin(project: Path) -> None:
    (project / "rules").mkdir()
    (project / "rules" / "team.yaml").write_text(YAML_RULE.format(code="TM001",
                                                                  name="team-rule"))
    registry = build_registry(load_config(explicit=project / "pyproject.toml"))
    rule = registry.get("team-rule")
    assert rule is not None and rule.code == "TM001"
    assert registry.origin_of(rule) == "rules/team.yaml:3"
    assert len(registry) == len(default_registry()) + 1


def test_yaml_rules_clashing_with_each_other_or_a_built_in(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "rules").mkdir()
    (project / "rules" / "a.yaml").write_text(YAML_RULE.format(code="TM001", name="one"))
    (project / "rules" / "b.yaml").write_text(YAML_RULE.format(code="TM002", name="one"))
    code, out = run(["check"], capsys)
    assert code == 2
    assert ("rule TM002 (one) from rules/b.yaml:3 clashes with TM001 (one) from "
            "rules/a.yaml:3") in out
    (project / "rules" / "b.yaml").write_text(YAML_RULE.format(code="D005", name="two"))
    code, out = run(["rules"], capsys)
    assert code == 2 and "D005 (two) from rules/b.yaml:3 clashes with D005 (truncate) " \
                         "from builtin" in out


def test_rules_dirs_and_rule_modules_must_be_lists_of_strings(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.b03lint]\nrules_dirs = [1]\n')
    with pytest.raises(RegistryError, match="rules_dirs must be a list of strings"):
        build_registry(load_config(explicit=project / "pyproject.toml"))


# --------------------------------------------------------------------------- commands


def test_rules_lists_built_in_and_project_rules(project: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (project / "rules").mkdir()
    (project / "rules" / "team.yaml").write_text(YAML_RULE.format(code="TM001",
                                                                  name="team-rule"))
    code, out = run(["rules"], capsys)
    assert code == 0
    lines = {line.split()[0]: line.split() for line in out.splitlines()}
    assert lines["D002"][:5] == ["D002", "drop-column", "destructive", "blocking", "on"]
    assert lines["L001"][:5] == ["L001", "index-without-concurrently", "locks", "blocking",
                                 "off"]
    assert lines["TM001"][:5] == ["TM001", "team-rule", "project", "blocking", "on"]
    code, out = run(["rules", "--output-format", "json", "L", "TM001"], capsys)
    rows = json.loads(out)
    assert [r["code"] for r in rows] == [f"L{i:03d}" for i in range(1, 22)] + ["TM001"]
    assert rows[-1]["origin"] == "rules/team.yaml:3" and rows[0]["enabled"] is False


def test_rules_shows_what_the_configuration_enables(project: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.b03lint]\nextend_select = ["L001"]\nignore = ["drop-column"]\n')
    _, out = run(["rules", "--output-format", "json"], capsys)
    enabled = {r["code"]: r["enabled"] for r in json.loads(out)}
    assert enabled["L001"] and not enabled["L002"] and not enabled["D002"] and enabled["D001"]


def test_rule_prints_documentation_by_code_or_name(project: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (project / "rules").mkdir()
    (project / "rules" / "team.yaml").write_text(YAML_RULE.format(code="TM001",
                                                                  name="team-rule"))
    for ident in ("D002", "drop-column", "d002"):
        code, out = run(["rule", ident], capsys)
        assert code == 0 and out.startswith("# D002 drop-column")
        for heading in ("What it does:", "Why it matters:", "Example:", "How to fix:"):
            assert heading in out
    code, out = run(["rule", "team-rule"], capsys)
    assert code == 0 and "Defined in rules/team.yaml:3." in out and "Flags tables." in out
    code, out = run(["rule", "L006"], capsys)
    assert "Disabled by default" in out and "non-volatile-functions = [" in out
    code, out = run(["rule", "L006", "--output-format", "markdown"], capsys)
    assert out.startswith("### L006 `volatile-default`") and "| `non-volatile-functions` |" in out
    code, out = run(["rule", "nope"], capsys)
    assert code == 2 and "unknown rule 'nope'" in out


def test_rules_test_runs_examples(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "rules").mkdir()
    (project / "rules" / "team.yaml").write_text(YAML_RULE.format(code="TM001",
                                                                  name="team-rule"))
    code, out = run(["rules", "--test", "TM001", "D001"], capsys)
    assert code == 0 and "ok   TM001 team-rule: 2 example(s)" in out
    assert "2 of 2 rule(s) pass" in out
    broken = YAML_RULE.format(code="TM001", name="team-rule").replace("line: 1", "line: 3")
    (project / "rules" / "team.yaml").write_text(broken)
    code, out = run(["rules", "--test", "team-rule"], capsys)
    assert code == 1 and "FAIL TM001 team-rule (rules/team.yaml:3)" in out
    assert "expected TM001 at line 13" in out
