"""Every rule's documented examples are tests: each ``invalid`` example must trigger the
rule (at its expected line), each ``valid`` one must not. Test ids carry the rule code.

The rules are those of this repository's configuration: the built-in rules, the YAML
rules of its ``rules_dirs`` (``rules/*.yaml``) and its ``rule_modules``. Adding a YAML rule
file with examples, and nothing else, adds its examples here. (Installed rule packs test
their own examples: ``b03lint rules --test``.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from b03lint.config import load_config
from b03lint.rules.base import Example, Rule
from b03lint.rules.registry import Registry, build_registry
from b03lint.testing import check_example

REPO = Path(__file__).resolve().parent.parent
REGISTRY = build_registry(load_config(explicit=REPO / "pyproject.toml"), entry_points=False)


def example_cases(registry: Registry) -> list[object]:
    """One pytest case per example of every rule, with ids like ``SKD001-...-invalid-0``."""
    cases: list[object] = []
    for rule in registry:
        for kind, examples in (("invalid", rule.invalid), ("valid", rule.valid)):
            for i, example in enumerate(examples):
                label = f"{rule.code}-{rule.name}-{kind}-{i}"
                cases.append(pytest.param(rule, example, kind == "invalid", id=label))
    return cases


@pytest.mark.parametrize(("rule", "example", "invalid"), example_cases(REGISTRY))
def test_rule_example(rule: type[Rule], example: Example, invalid: bool) -> None:
    assert check_example(rule, example, invalid=invalid, registry=REGISTRY) == []


@pytest.mark.parametrize("rule", list(REGISTRY), ids=lambda r: r.code)
def test_rule_is_documented(rule: type[Rule]) -> None:
    assert rule.problems() == []
