"""`b03lint rule CODE|NAME`: print a rule's documentation."""

from __future__ import annotations

import argparse
import sys

HELP = "print the documentation of one rule (by code or name)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("rule", metavar="CODE|NAME")


def run(args: argparse.Namespace) -> int:
    from b03lint.rules.registry import default_registry

    rule = default_registry().get(args.rule)
    if rule is None:
        print(f"error: unknown rule {args.rule!r} (see `b03lint rules`)", file=sys.stderr)
        return 2
    print(f"# {rule.code} {rule.name}\n")
    print(f"Category: {rule.category}. Default severity: {rule.default_severity}. "
          f"{'Enabled' if rule.default_enabled else 'Disabled'} by default.\n")
    print(rule.documentation())
    return 0
