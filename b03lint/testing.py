"""Run a rule's examples (its ``valid`` and ``invalid`` cases) through the real engine.

Used by the test suite for every rule, built in or project-local, and available to rule
authors: ``check_example(rule, example, invalid=True)`` returns a list of problems (empty
when the example behaves as documented).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from b03lint.config import load_config
from b03lint.engine import Result, lint
from b03lint.findings import Finding
from b03lint.rules.base import Example, Rule
from b03lint.rules.registry import Registry, build_registry

EXAMPLE_PATH = "alembic/versions/example.py"


def _toml_value(value: object) -> str:
    return json.dumps(value) if not isinstance(value, dict) else "{ " + ", ".join(
        f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"


def run_example(rule: type[Rule], example: Example, registry: Registry | None = None) -> Result:
    """Lint ``example`` in a temporary project with only ``rule`` selected."""
    with tempfile.TemporaryDirectory(prefix="b03lint-example-") as tmp:
        root = Path(tmp)
        settings = {"migrations": "alembic/versions", **example.config}
        lines = ["[tool.b03lint]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in settings.items()]
        (root / "pyproject.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        files = {EXAMPLE_PATH: example.source, **example.files}
        for rel, text in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8", "surrogateescape"))
        config = load_config(explicit=root / "pyproject.toml")
        import os

        cwd = os.getcwd()
        os.chdir(root)
        try:
            registry = registry or build_registry(config)
            if registry.get(rule.code) is not rule:  # a rule under test, not yet registered
                registry = Registry([*(r for r in registry
                                       if rule.code != r.code and rule.name != r.name), rule])
            return lint(config, rev=example.rev, registry=registry, select=[rule.code])
        finally:
            os.chdir(cwd)


def triggered(rule: type[Rule], result: Result) -> list[Finding]:
    """Findings of ``rule`` at its default severity (a waived or downgraded finding, shown
    as info, does not count as triggering)."""
    return [f for f in result.findings
            if f.code == rule.code and f.severity == rule.default_severity]


def check_example(rule: type[Rule], example: Example, *, invalid: bool,
                  registry: Registry | None = None) -> list[str]:
    if getattr(rule, "live", False):  # reported from a real database: b03lint rebuild
        from b03lint.live.examples import check_live_example

        return check_live_example(rule, example, invalid=invalid)
    result = run_example(rule, example, registry)
    hits = triggered(rule, result)
    # with an expected line, the finding must be in the example file at that line;
    # without one it may be anywhere (a register entry, the canonical file)
    in_example = [f for f in hits if f.path == EXAMPLE_PATH or example.line is None]
    problems: list[str] = []
    if invalid:
        if not in_example:
            problems.append(f"expected {rule.code} to trigger, got: "
                            f"{[(f.code, f.line, f.severity, f.message) for f in result.findings]}"
                            f" errors: {[str(e) for e in result.errors]}")
        elif example.line is not None and example.line not in {f.line for f in in_example}:
            problems.append(f"expected {rule.code} at line {example.line}, got lines "
                            f"{sorted({f.line for f in in_example})}")
    elif hits:
        problems.append(f"expected no {rule.code}, got: "
                        f"{[(f.path, f.line, f.message) for f in hits]}")
    return problems
