"""`b03lint rules`: list every rule."""

from __future__ import annotations

import argparse

from b03lint.commands.common import add_project_arguments, project_config

HELP = "list every rule: code, name, category, severity, enabled"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_project_arguments(p)
    p.add_argument("--output-format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    import json

    from b03lint.engine import RuleSet
    from b03lint.rules.registry import default_registry

    config = project_config(args)
    registry = default_registry()
    enabled = RuleSet.from_config(registry, config).enabled_codes
    rows = [{"code": r.code, "name": r.name, "category": r.category,
             "severity": r.default_severity, "enabled": r.code in enabled,
             "summary": r.summary()} for r in registry]
    if args.output_format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)  # type: ignore[arg-type]
    for row in rows:
        mark = "on " if row["enabled"] else "off"
        print(f"{row['code']:<6} {row['name']:<{width}}  {row['category']:<11} "
              f"{row['severity']:<8} {mark}  {row['summary']}")
    return 0
