"""One table of every rule: stable code, readable name, category, default severity.

Rules are named by code (``D002``), by name (``drop-column``), by a code prefix (``D``)
or by category (``destructive``) everywhere a rule is named: ``select``, ``ignore``,
``per-file-ignores``, severity overrides, options, suppressions, ``b03lint rule``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator

from b03lint.rules.base import CATEGORIES, Rule

#: modules holding built-in rules, each exporting ``RULES``
BUILTIN_MODULES = (
    "b03lint.rules.input",
    "b03lint.rules.graph",
    "b03lint.rules.destructive",
    "b03lint.rules.contract",
)


class RegistryError(Exception):
    """Two rules share a code or a name, or a rule is malformed (exit code 2)."""


class Registry:
    def __init__(self, rules: Iterable[type[Rule]] = ()):
        self.by_code: dict[str, type[Rule]] = {}
        self.by_name: dict[str, type[Rule]] = {}
        for rule in rules:
            self.add(rule)

    def add(self, rule: type[Rule]) -> None:
        for clash in (self.by_code.get(rule.code), self.by_name.get(rule.name)):
            if clash is not None and clash is not rule:
                raise RegistryError(
                    f"rule {rule.code} ({rule.name}) from {rule.origin} clashes with "
                    f"{clash.code} ({clash.name}) from {clash.origin}: codes and names must "
                    "be unique"
                )
        self.by_code[rule.code] = rule
        self.by_name[rule.name] = rule

    def __iter__(self) -> Iterator[type[Rule]]:
        return iter(sorted(self.by_code.values(), key=lambda r: r.code))

    def __len__(self) -> int:
        return len(self.by_code)

    def get(self, ident: str) -> type[Rule] | None:
        return self.by_code.get(ident.upper()) or self.by_name.get(ident.lower())

    def select(self, selector: str) -> list[type[Rule]]:
        """Rules a selector names: a code, a name, a code prefix, a category or ``ALL``."""
        rule = self.get(selector)
        if rule is not None:
            return [rule]
        if selector.upper() == "ALL":
            return list(self)
        if selector.lower() in CATEGORIES:
            return [r for r in self if r.category == selector.lower()]
        prefix = selector.upper()
        matched = [r for r in self if r.code.startswith(prefix)]
        if matched and prefix.isalnum():
            return matched
        raise KeyError(f"unknown rule {selector!r}")


def builtin_rules() -> list[type[Rule]]:
    rules: list[type[Rule]] = []
    for module in BUILTIN_MODULES:
        rules.extend(importlib.import_module(module).RULES)
    return rules


def default_registry() -> Registry:
    return Registry(builtin_rules())
