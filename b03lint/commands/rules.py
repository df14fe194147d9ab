"""`b03lint rules`: list every rule of the project's registry (built-in, YAML, Python).

``--output-format markdown`` writes the rule reference (``docs/rules.md`` is generated
this way: ``b03lint rules --output-format markdown --no-plugins -o docs/rules.md``);
``--test`` runs every rule's documented examples and definition checks, the way the test
suite does, so a project can check its own rules without writing a test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from b03lint.commands.common import add_project_arguments, project_config, write_output

if TYPE_CHECKING:
    from b03lint.rules.base import Rule
    from b03lint.rules.registry import Registry

HELP = "list every rule: code, name, category, severity, enabled"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_project_arguments(p)
    p.add_argument("--output-format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write the list to FILE instead of standard output")
    p.add_argument("--no-plugins", dest="plugins", action="store_false",
                   help="leave out rule packs installed through entry points")
    p.add_argument("--test", action="store_true",
                   help="run each listed rule's examples and definition checks; exit 1 if "
                        "one fails")
    p.add_argument("rules", nargs="*", metavar="RULE",
                   help="only these rules (code, name, prefix or category)")


def run(args: argparse.Namespace) -> int:
    import json

    from b03lint.engine import RuleSet
    from b03lint.rules.registry import RegistryError, build_registry

    config = project_config(args)
    try:
        registry = build_registry(config, entry_points=args.plugins)
        chosen = _chosen(registry, args.rules)
    except RegistryError as exc:
        print(exc.to_error(), file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"error: {exc.args[0]} (see `b03lint rules`)", file=sys.stderr)
        return 2
    if args.test:
        return _test(registry, chosen)
    try:
        enabled = RuleSet.from_config(registry, config).enabled_codes
    except (KeyError, ValueError) as exc:
        print(f"error: configuration: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    rows = [{"code": r.code, "name": r.name, "category": r.category,
             "severity": r.default_severity, "enabled": r.code in enabled,
             "default_enabled": r.default_enabled, "origin": registry.origin_of(r),
             "summary": r.summary()} for r in chosen]
    if args.output_format == "json":
        text = json.dumps(rows, indent=2) + "\n"
    elif args.output_format == "markdown":
        text = render_markdown(registry, chosen)
    else:
        text = _text(rows)
    return 0 if write_output(text, args.output) else 2


def _chosen(registry: Registry, selectors: list[str]) -> list[type[Rule]]:
    if not selectors:
        return list(registry)
    codes = {r.code for s in selectors for r in registry.select(s)}
    return [r for r in registry if r.code in codes]


def _text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    width = max(len(str(r["name"])) for r in rows)
    out = []
    for row in rows:
        mark = "on " if row["enabled"] else "off"
        out.append(f"{row['code']:<6} {row['name']:<{width}}  {row['category']:<11} "
                   f"{row['severity']:<8} {mark}  {row['summary']}")
    return "\n".join(out) + "\n"


def _test(registry: Registry, rules: list[type[Rule]]) -> int:
    from b03lint.testing import check_example

    failed = 0
    for rule in rules:
        problems = [f"definition: {p}" for p in rule.problems()]
        for kind, examples in (("invalid", rule.invalid), ("valid", rule.valid)):
            for i, example in enumerate(examples):
                label = f"{kind} example {i}" + (f" ({example.title})" if example.title else "")
                problems += [f"{label}: {p}" for p in
                             check_example(rule, example, invalid=kind == "invalid",
                                           registry=registry)]
        count = len(rule.invalid) + len(rule.valid)
        if problems:
            failed += 1
            print(f"FAIL {rule.code} {rule.name} ({registry.origin_of(rule)})")
            for p in problems:
                print(f"     {p}")
        else:
            print(f"ok   {rule.code} {rule.name}: {count} example(s)")
    print(f"{len(rules) - failed} of {len(rules)} rule(s) pass")
    return 1 if failed else 0


# --------------------------------------------------------------------------- markdown


def _origin_label(origin: str) -> str:
    return "built in" if origin == "builtin" else f"`{origin}`"


def rule_markdown(registry: Registry, rule: type[Rule]) -> str:
    """One rule's section: a facts table, its documentation, its options."""
    import json

    from b03lint.rules.base import DOC_HEADINGS, doc_sections

    lines = [f"### {rule.code} `{rule.name}`", "",
             "| category | default severity | enabled by default | defined in |",
             "|---|---|---|---|",
             f"| {rule.category} | {rule.default_severity} | "
             f"{'yes' if rule.default_enabled else 'no'} | "
             f"{_origin_label(registry.origin_of(rule))} |", ""]
    sections = doc_sections(rule.documentation())
    for heading in DOC_HEADINGS:
        body = sections.get(heading, "").strip("\n")
        if not body:
            continue
        lines += [f"**{heading}**", "", _dedent(body), ""]
    fixed = fix_doc(rule.code)
    if fixed:
        lines += [f"**Automatic fix** ({fixed[0]})", "", fixed[1] + ".", ""]
    if rule.options:
        lines += [f"**Options** (`[tool.b03lint.options.{rule.code}]`)", "",
                  "| option | type | default | meaning |", "|---|---|---|---|"]
        for key, option in sorted(rule.options.items()):
            types = option.type if isinstance(option.type, tuple) else (option.type,)
            kind = " or ".join(t.__name__ for t in types)
            default = json.dumps(option.default)
            lines.append(f"| `{key.replace('_', '-')}` | {kind} | `{default}` | {option.doc} |")
        lines.append("")
    return "\n".join(lines)


def fix_doc(code: str) -> tuple[str, str] | None:
    """Whether ``b03lint check --fix`` fixes the rule's findings, and how."""
    from b03lint.fixes.model import FIX_DOCS

    return FIX_DOCS.get(code)


def _dedent(text: str) -> str:
    """A docstring section as Markdown: dedented, reST's ``::`` before a code block
    written as ``:`` (the indented block is a code block in Markdown too)."""
    import re
    import textwrap

    first, _, rest = text.partition("\n")
    body = (first.strip() + ("\n" + textwrap.dedent(rest) if rest else "")).strip()
    return re.sub(r"::$", ":", body, flags=re.MULTILINE)


def render_markdown(registry: Registry, rules: list[type[Rule]] | None = None) -> str:
    """The rule reference: an index table, then one section per rule, by category."""
    rules = list(registry) if rules is None else rules
    out = ["# Rules", "",
           "<!-- Generated by `b03lint rules --output-format markdown --no-plugins "
           "-o docs/rules.md`; do not edit by hand (tests/test_rules_doc.py fails when it "
           "is stale). -->", "",
           "Every rule has a stable code and a kebab-case name; either one works wherever a "
           "rule is named (`select`, `ignore`, `per_file_ignores`, `severity`, `options`, "
           "suppressions, `b03lint rule`). Rules that are not enabled by default are turned "
           "on with `extend_select` (for example `extend_select = [\"locks\"]` for the lock "
           "rules, `[\"conventions\"]` for the type conventions).", "",
           "| code | name | category | severity | enabled by default |",
           "|---|---|---|---|---|"]
    for r in rules:
        anchor = f"{r.code}-{r.name}".lower()
        out.append(f"| [{r.code}](#{anchor}) | `{r.name}` | {r.category} | "
                   f"{r.default_severity} | {'yes' if r.default_enabled else 'no'} |")
    out.append("")
    categories: dict[str, list[type[Rule]]] = {}
    for r in rules:
        categories.setdefault(r.category, []).append(r)
    for category, members in categories.items():
        out += [f"## {category}", ""]
        for r in members:
            out.append(rule_markdown(registry, r))
    return "\n".join(out).rstrip("\n") + "\n"
