"""One table of every rule: stable code, readable name, category, default severity.

Rules are named by code (``D002``), by name (``drop-column``), by a code prefix (``D``)
or by category (``destructive``) everywhere a rule is named: ``select``, ``ignore``,
``per_file_ignores``, severity overrides, options, suppressions, ``b03lint rule``.

:func:`build_registry` makes the table a run uses, from its configuration: the built-in
rules, the declarative YAML rules of ``rules_dirs``, the Python modules of
``rule_modules`` and the rule packs installed under the entry-point group
``b03lint.rules``. A clash of codes or names, or a malformed rule, is a
:class:`RegistryError` (exit code 2) that names where both rules came from.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from b03lint.rules.base import CATEGORIES, CODE_RE, NAME_RE, Option, Rule
from b03lint.rules.base import PHASES as PHASES  # re-exported: defined below the loaders
from b03lint.rules.base import SEVERITIES as SEVERITIES
from b03lint.rules.base import RegistryError as RegistryError

if TYPE_CHECKING:
    from b03lint.config import Config

#: modules holding built-in rules, each exporting ``RULES``
BUILTIN_MODULES = (
    "b03lint.rules.input",
    "b03lint.rules.graph",
    "b03lint.rules.destructive",
    "b03lint.rules.dropped",
    "b03lint.rules.contract",
    "b03lint.rules.live",
    "b03lint.rules.locks",
    "b03lint.rules.timeouts",
    "b03lint.rules.blocking",
    "b03lint.rules.runtime",
    "b03lint.rules.robust",
    "b03lint.rules.conventions",
    "b03lint.rules.suppression",
)

def rule_problems(rule: type[Rule]) -> list[str]:
    """What makes ``rule`` unusable by the engine (checked when it is registered). The
    documentation and examples are checked by the test suite (:meth:`Rule.problems`)."""
    from b03lint.operations import OPERATION_TYPES

    out: list[str] = []
    if not CODE_RE.match(str(rule.code)):
        out.append(f"code {rule.code!r} is not like ABC123 (1-4 capitals, 3 digits)")
    if not NAME_RE.match(str(rule.name)):
        out.append(f"name {rule.name!r} is not kebab-case")
    if rule.category not in CATEGORIES:
        out.append(f"category {rule.category!r} is not one of {', '.join(CATEGORIES)}")
    if rule.default_severity not in SEVERITIES:
        out.append(f"default severity {rule.default_severity!r} is not one of "
                   f"{', '.join(SEVERITIES)}")
    unknown = sorted(set(rule.operation_kinds) - set(OPERATION_TYPES))
    if unknown:
        out.append(f"operation kinds {', '.join(unknown)} do not exist")
    bad_phases = sorted(set(rule.phases) - set(PHASES))
    if bad_phases:
        out.append(f"phases {', '.join(bad_phases)} do not exist")
    for key, option in rule.options.items():
        if not isinstance(option, Option):
            out.append(f"option {key!r} is not declared with b03lint.rules.base.Option")
            continue
        try:
            option.validate(rule.code, key, option.default)
        except ValueError as exc:
            out.append(f"default of {exc}")
    return out


class Registry:
    def __init__(self, rules: Iterable[type[Rule]] = ()):
        self.by_code: dict[str, type[Rule]] = {}
        self.by_name: dict[str, type[Rule]] = {}
        #: code -> where the rule came from (``builtin``, ``rules/money.yaml:4``, ...)
        self.origins: dict[str, str] = {}
        for rule in rules:
            self.add(rule)

    def add(self, rule: type[Rule], origin: str | None = None) -> None:
        """Register ``rule``; ``origin`` (default: the rule's own ``origin``) is named in
        errors and by ``b03lint rule``."""
        where = origin or rule.origin
        if not (isinstance(rule, type) and issubclass(rule, Rule)):
            raise RegistryError(f"{where}: {rule!r} is not a subclass of b03lint.rules.base.Rule")
        problems = rule_problems(rule)
        if problems:
            raise RegistryError(f"rule {rule.code or rule.__name__} from {where}: "
                                + "; ".join(problems))
        if self.by_code.get(rule.code) is rule:
            return  # the same class reached twice (a module and its RULES): one rule
        for clash in (self.by_code.get(rule.code), self.by_name.get(rule.name)):
            if clash is not None and clash is not rule:
                raise RegistryError(
                    f"rule {rule.code} ({rule.name}) from {where} clashes with "
                    f"{clash.code} ({clash.name}) from {self.origin_of(clash)}: codes and "
                    "names must be unique"
                )
        self.by_code[rule.code] = rule
        self.by_name[rule.name] = rule
        self.origins[rule.code] = where

    def origin_of(self, rule: type[Rule]) -> str:
        return self.origins.get(rule.code, rule.origin)

    def __iter__(self) -> Iterator[type[Rule]]:
        return iter(sorted(self.by_code.values(), key=lambda r: r.code))

    def __len__(self) -> int:
        return len(self.by_code)

    def __contains__(self, ident: object) -> bool:
        return isinstance(ident, str) and self.get(ident) is not None

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
    """The built-in rules only."""
    return Registry(builtin_rules())


def _string_list(config: Config, key: str) -> list[str]:
    value = config.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RegistryError(f"[tool.b03lint] {key} must be a list of strings",
                            str(config.pyproject) if config.pyproject else None)
    return list(value)


def _has_rule_files(config: Config, dirs: list[str]) -> bool:
    """Whether any folder of ``rules_dirs`` holds a ``.yaml``/``.yml`` file (a plain
    listing; the declarative loader decides what they hold)."""
    import os

    for name in dirs:
        folder = name if os.path.isabs(name) else os.path.join(config.root, name)
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        if any(n.endswith((".yaml", ".yml")) and not n.startswith(".") for n in names):
            return True
    return False


def build_registry(config: Config | None = None, *, entry_points: bool = True) -> Registry:
    """The rules of one run: built-ins, then the YAML rules of ``rules_dirs``, then the
    modules of ``rule_modules``, then installed rule packs (entry-point group
    ``b03lint.rules``; skipped with ``entry_points=False``). Raises :class:`RegistryError`."""
    registry = default_registry()
    if config is not None:
        dirs = _string_list(config, "rules_dirs")
        explicit = config.sources.get("rules_dirs", "default") != "default"
        if explicit or _has_rule_files(config, dirs):
            # the YAML rule machinery (and PyYAML) only for a project that has YAML rules
            from b03lint.rules.declarative import load_rule_dirs

            for rule in load_rule_dirs(config.root, dirs, missing_ok=not explicit):
                registry.add(rule)
        modules = _string_list(config, "rule_modules")
        if modules:
            from b03lint.rules.plugins import load_rule_modules

            for rule, origin in load_rule_modules(modules, config.root):
                registry.add(rule, origin)
    if entry_points:
        from b03lint.rules.plugins import load_entry_point_rules

        for rule, origin in load_entry_point_rules():
            registry.add(rule, origin)
    return registry
