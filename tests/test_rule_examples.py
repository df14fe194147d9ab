"""Every rule's documented examples are tests: each ``invalid`` example must trigger the
rule (at its expected line), each ``valid`` one must not. Test ids carry the rule code."""

from __future__ import annotations

import pytest

from b03lint.rules.base import Example, Rule
from b03lint.rules.registry import default_registry
from b03lint.testing import check_example

REGISTRY = default_registry()


def _cases() -> list[object]:
    cases: list[object] = []
    for rule in REGISTRY:
        for kind, examples in (("invalid", rule.invalid), ("valid", rule.valid)):
            for i, example in enumerate(examples):
                label = f"{rule.code}-{rule.name}-{kind}-{i}"
                cases.append(pytest.param(rule, example, kind == "invalid", id=label))
    return cases


@pytest.mark.parametrize(("rule", "example", "invalid"), _cases())
def test_rule_example(rule: type[Rule], example: Example, invalid: bool) -> None:
    assert check_example(rule, example, invalid=invalid, registry=REGISTRY) == []


@pytest.mark.parametrize("rule", list(REGISTRY), ids=lambda r: r.code)
def test_rule_is_documented(rule: type[Rule]) -> None:
    assert rule.problems() == []
