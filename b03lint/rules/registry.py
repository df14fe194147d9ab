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
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from b03lint.rules.base import CATEGORIES, CODE_RE, NAME_RE, Option, Rule
from b03lint.rules.base import PHASES as PHASES  # re-exported: defined below the loaders
from b03lint.rules.base import SEVERITIES as SEVERITIES
from b03lint.rules.base import RegistryError as RegistryError

# modules holding built-in rules, each exporting ``RULES`` (kept beside the table of their
# rules, b03lint.rules.catalog.BUILTIN; re-exported)
from b03lint.rules.catalog import BUILTIN_MODULES as BUILTIN_MODULES

if TYPE_CHECKING:
    from b03lint.config import Config


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
    """The rules of a run, by code and by name. Built-in rules can be registered from
    :data:`b03lint.rules.catalog.BUILTIN` (``pending``) without importing their modules: a
    module is imported, and its rules registered, the first time one of its rules is asked
    for (:meth:`get`, :meth:`select`, iteration) or another rule would clash with one of
    them. :meth:`select_codes` and :meth:`default_codes` answer from the table alone."""

    def __init__(self, rules: Iterable[type[Rule]] = (),
                 pending: Mapping[str, tuple[str, str, bool, str]] | None = None):
        self.by_code: dict[str, type[Rule]] = {}
        self.by_name: dict[str, type[Rule]] = {}
        #: code -> where the rule came from (``builtin``, ``rules/money.yaml:4``, ...)
        self.origins: dict[str, str] = {}
        #: code -> (name, category, default_enabled, module) of a rule not imported yet
        self._pending: dict[str, tuple[str, str, bool, str]] = dict(pending or {})
        self._pending_names = {entry[0]: code for code, entry in self._pending.items()}
        for rule in rules:
            self.add(rule)

    def _import(self, module: str) -> None:
        """Register the rules of ``module``, one of the pending built-in modules."""
        for code in [c for c, entry in self._pending.items() if entry[3] == module]:
            del self._pending_names[self._pending.pop(code)[0]]
        for rule in importlib.import_module(module).RULES:
            self.add(rule)

    def _import_all(self) -> None:
        while self._pending:
            wanted = {entry[3] for entry in self._pending.values()}
            self._import(next(m for m in BUILTIN_MODULES if m in wanted))

    def add(self, rule: type[Rule], origin: str | None = None) -> None:
        """Register ``rule``; ``origin`` (default: the rule's own ``origin``) is named in
        errors and by ``b03lint rule``."""
        where = origin or rule.origin
        if not (isinstance(rule, type) and issubclass(rule, Rule)):
            raise RegistryError(f"{where}: {rule!r} is not a subclass of b03lint.rules.base.Rule")
        for pending in (self._pending.get(str(rule.code)),
                        self._pending.get(self._pending_names.get(str(rule.name), ""))):
            if pending is not None:  # a built-in it may be or clash with: register it first
                self._import(pending[3])
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
        self._import_all()
        return iter(sorted(self.by_code.values(), key=lambda r: r.code))

    def __len__(self) -> int:
        return len(self.by_code) + len(self._pending)

    def __contains__(self, ident: object) -> bool:
        return isinstance(ident, str) and self._code_of(ident) is not None

    def _code_of(self, ident: str) -> str | None:
        """The code ``ident`` names (a code or a name), from the table alone."""
        code = ident.upper()
        if code in self.by_code or code in self._pending:
            return code
        rule = self.by_name.get(ident.lower())
        if rule is not None:
            return rule.code
        return self._pending_names.get(ident.lower())

    def get(self, ident: str) -> type[Rule] | None:
        code = self._code_of(ident)
        if code is None:
            return None
        pending = self._pending.get(code)
        if pending is not None:
            self._import(pending[3])
        return self.by_code.get(code)

    def _codes(self) -> list[tuple[str, str, bool]]:
        """(code, category, default_enabled) of every rule, sorted by code."""
        rows = [(r.code, r.category, bool(r.default_enabled)) for r in self.by_code.values()]
        rows += [(code, entry[1], entry[2]) for code, entry in self._pending.items()]
        return sorted(rows)

    def default_codes(self) -> list[str]:
        """The codes of the rules enabled by default, sorted (no module imported)."""
        return [code for code, _, enabled in self._codes() if enabled]

    def select_codes(self, selector: str) -> list[str]:
        """The codes :meth:`select` would give, sorted, without importing any rule."""
        code = self._code_of(selector)
        if code is not None:
            return [code]
        if selector.upper() == "ALL":
            return [code for code, _, _ in self._codes()]
        if selector.lower() in CATEGORIES:
            return [code for code, category, _ in self._codes() if category == selector.lower()]
        prefix = selector.upper()
        matched = [code for code, _, _ in self._codes() if code.startswith(prefix)]
        if matched and prefix.isalnum():
            return matched
        raise KeyError(f"unknown rule {selector!r}")

    def select(self, selector: str) -> list[type[Rule]]:
        """Rules a selector names: a code, a name, a code prefix, a category or ``ALL``."""
        return self.rules(self.select_codes(selector))

    def rules(self, codes: Iterable[str]) -> list[type[Rule]]:
        """The rule classes of ``codes`` (known codes), importing only their modules."""
        out: list[type[Rule]] = []
        for code in codes:
            rule = self.get(code)
            assert rule is not None, code
            out.append(rule)
        return out


def builtin_rules() -> list[type[Rule]]:
    rules: list[type[Rule]] = []
    for module in BUILTIN_MODULES:
        rules.extend(importlib.import_module(module).RULES)
    return rules


def default_registry() -> Registry:
    """The built-in rules only (their modules imported as their rules are asked for)."""
    from b03lint.rules.catalog import BUILTIN

    return Registry(pending=BUILTIN)


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
