"""`b03lint rule CODE|NAME`: print a rule's documentation (built in, YAML or Python)."""

from __future__ import annotations

import argparse
import sys

from b03lint.commands.common import add_project_arguments, project_config

HELP = "print the documentation of one rule (by code or name)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("rule", metavar="CODE|NAME")
    add_project_arguments(p)
    p.add_argument("--output-format", choices=("text", "markdown"), default="text")


def run(args: argparse.Namespace) -> int:
    from b03lint.rules.registry import RegistryError, build_registry

    try:
        registry = build_registry(project_config(args))
    except RegistryError as exc:
        print(exc.to_error(), file=sys.stderr)
        return 2
    rule = registry.get(args.rule)
    if rule is None:
        print(f"error: unknown rule {args.rule!r} (see `b03lint rules`)", file=sys.stderr)
        return 2
    if args.output_format == "markdown":
        from b03lint.commands.rules import rule_markdown

        sys.stdout.write(rule_markdown(registry, rule))
        return 0
    origin = registry.origin_of(rule)
    print(f"# {rule.code} {rule.name}\n")
    print(f"Category: {rule.category}. Default severity: {rule.default_severity}. "
          f"{'Enabled' if rule.default_enabled else 'Disabled'} by default."
          + ("" if origin == "builtin" else f" Defined in {origin}.") + "\n")
    print(rule.documentation())
    from b03lint.commands.rules import fix_doc

    fixed = fix_doc(rule.code)
    if fixed:
        print(f"\nAutomatic fix ({fixed[0]}):\n    {fixed[1]}.")
    if rule.options:
        print("\nOptions ([tool.b03lint.options." + rule.code + "]):")
        for key, option in sorted(rule.options.items()):
            print(f"    {key.replace('_', '-')} = {option.default!r}: {option.doc}")
    return 0
