"""The registry's table of built-in rules (:mod:`b03lint.rules.catalog`) is what the rule
modules define, and a registry built from it answers as one built from the imported
modules, importing only what it is asked for."""

from __future__ import annotations

import subprocess
import sys

import pytest

from b03lint.rules.catalog import BUILTIN, table_from_modules
from b03lint.rules.registry import Registry, builtin_rules, default_registry


def test_the_table_is_what_the_modules_define() -> None:
    assert table_from_modules() == BUILTIN


def test_a_lazy_registry_answers_as_an_imported_one() -> None:
    lazy, full = default_registry(), Registry(builtin_rules())
    assert len(lazy) == len(full)
    assert lazy.default_codes() == sorted(r.code for r in full if r.default_enabled)
    selectors = ["ALL", "all", "D", "D0", "L", "locks", "destructive", "input", "D002",
                 "drop-column", "d002", "DROP-COLUMN", *sorted({r.category for r in full})]
    for selector in selectors:
        assert lazy.select_codes(selector) == [r.code for r in full.select(selector)]
        assert lazy.select(selector) == full.select(selector)
    for selector in ("XYZ", "D99", "no-such-rule", "D-", ""):
        with pytest.raises(KeyError):
            full.select(selector)
        with pytest.raises(KeyError):
            lazy.select_codes(selector)
    for rule in full:
        assert rule.code in lazy and rule.name in lazy
        assert lazy.get(rule.name) is rule and lazy.get(rule.code.lower()) is rule
    assert list(lazy) == list(full)
    assert lazy.origins == full.origins


def test_modules_are_imported_only_for_the_rules_asked_for() -> None:
    code = """
import sys
from b03lint.rules.registry import default_registry
registry = default_registry()
registry.select_codes("ALL"); registry.select_codes("locks"); registry.default_codes()
"L001" in registry
assert not any(m in sys.modules for m in ("b03lint.rules.locks", "b03lint.rules.input")), \\
    sorted(m for m in sys.modules if m.startswith("b03lint.rules."))
registry.get("L001")
assert "b03lint.rules.locks" in sys.modules and "b03lint.rules.conventions" not in sys.modules
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
