"""`b03lint drift table|new`: the drift register as the guide's table, and entries for
deviations the register does not have yet."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from b03lint.commands.canonical import print_error
from b03lint.commands.common import add_project_arguments, chain_config, write_output

if TYPE_CHECKING:
    from b03lint.config import Config
    from b03lint.schema.diff import Deviation

HELP = ("the drift register: `table` prints the guide's section 3.2 Markdown table, `new` "
        "prints register entries for unregistered deviations, `init` writes an empty one")

#: deviation kind -> the guide's wording of the drift type
DRIFT_TYPES = {
    "missing-table": "Missing / structural", "extra-table": "Extra / structural",
    "missing-column": "Missing / structural", "extra-column": "Extra / structural",
    "column-renamed": "Naming / structural", "column-type": "Type",
    "column-nullability": "Nullability", "column-default": "Default",
    "missing-constraint": "Missing / constraint", "extra-constraint": "Extra / constraint",
    "constraint-name": "Naming / constraint", "constraint-differs": "Constraint",
    "enum-values": "Constraint / enum values", "missing-enum": "Missing / enum type",
    "missing-index": "Missing / structural", "extra-index": "Extra / structural",
    "index-name": "Naming / index", "index-shape": "Index shape",
    "rls-disabled": "Security / RLS", "rls-not-forced": "Security / RLS",
    "missing-policy": "Security / policy", "extra-policy": "Security / policy",
    "policy-differs": "Security / policy",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True,
                           parser_class=type(p))
    table = sub.add_parser("table", help="print the register as the guide's Markdown table",
                           description="Print the drift register as the Markdown table of "
                                       "the guide's section 3.2.")
    table.add_argument("-o", "--output", type=Path, metavar="FILE",
                       help="write to FILE instead of standard output")
    new = sub.add_parser("new", help="print entries for deviations with no register entry",
                         description="Print drift register entries (YAML, to paste under "
                                     "`entries:`) for every deviation between the chain and "
                                     "the canonical schema that no entry covers, with the "
                                     "next free ids.")
    new.add_argument("--rev", metavar="REV",
                     help="compare the chain as of this revision (default: every head)")
    init = sub.add_parser("init", help="write an empty register with its documented header",
                          description="Write an empty drift register (format 1, with the "
                                      "header that documents its fields) to the configured "
                                      "drift_register, or --output FILE. An existing file is "
                                      "kept unless --force.")
    init.add_argument("-o", "--output", type=Path, metavar="FILE",
                      help="write to FILE instead of the configured drift_register")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    for q in (table, new, init):
        q.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks of internal errors")
        add_project_arguments(q)


def _init(args: argparse.Namespace) -> int:
    from b03lint.paths import display_path
    from b03lint.scaffold import drift_register

    path = args.output or chain_config(args).path("drift_register")
    if path is None:
        print_error("drift_register is not configured: set it in [tool.b03lint], or pass "
                    "-o FILE")
        return 2
    shown = display_path(path)
    if path.exists() and not args.force:
        print_error("exists; not overwritten (--force overwrites it)", shown)
        return 2
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(drift_register(), encoding="utf-8")
    except OSError as exc:
        print_error(f"cannot write: {exc.strerror or exc}", shown)
        return 2
    print(f"{shown}: written (an empty drift register; `b03lint drift new` prints entries "
          "for unregistered deviations)")
    return 0


def _table(args: argparse.Namespace) -> int:
    from b03lint.paths import display_path
    from b03lint.schema.drift import load_register, markdown_table
    from b03lint.yamlio import YamlError

    config = chain_config(args)
    path = config.path("drift_register")
    if path is None:
        print_error("drift_register is not configured (set it in [tool.b03lint] or pass "
                    "--drift-register)")
        return 2
    try:
        register = load_register(path, display_path(path))
    except YamlError as exc:
        print_error(str(exc), exc.path, exc.line)
        return 2
    return 0 if write_output(markdown_table(register), args.output) else 2


def _where(origin: Any) -> str:
    if origin is None:
        return ""
    text = f"{origin.loc.path}:{origin.loc.line}"
    return f"{text}, revision {origin.revision}" if origin.revision else text


def entry_yaml(ident: str, dev: Deviation, related: Sequence[Deviation] = ()) -> str:
    """One register entry (a YAML list item indented for ``entries:``) for ``dev`` and the
    ``related`` deviations that share a name with it."""
    from b03lint.schema.emit import yaml_scalar

    canonical = (f"as declared at {_where(dev.expected)}" if dev.expected is not None
                 else "not in the canonical schema")
    states = []
    for d in (dev, *related):
        states.append(d.message + (f" (introduced at {_where(d.actual)})"
                                   if d.actual is not None else ""))
    state = "; ".join(states)
    also: list[str] = []
    for name in (*dev.aliases, *(n for d in related for n in (d.object, *d.aliases))):
        if name != dev.object and name not in also:
            also.append(name)
    lines = [f"  - id: {ident}", f"    object: {yaml_scalar(dev.object)}"]
    if also:
        lines.append(f"    also: [{', '.join(yaml_scalar(a) for a in also)}]")
    lines += [
        f"    drift_type: {yaml_scalar(DRIFT_TYPES.get(dev.kind, dev.kind))}",
        f"    canonical_truth: {yaml_scalar(canonical)}",
        f"    migration_state: {yaml_scalar(state)}",
        "    resolution: \"TODO: fix the chain with a migration, or change the canonical "
        "schema through an ADR\"",
        "    status: open",
        "    adr: null",
    ]
    revisions: list[str] = []
    for d in (dev, *related):
        if d.actual is not None and d.actual.revision and d.actual.revision not in revisions:
            revisions.append(d.actual.revision)
    if revisions:
        lines.append(f"    revisions: [{', '.join(yaml_scalar(r) for r in revisions)}]")
    return "\n".join(lines) + "\n"


def _project(config: Config, rev: str | None) -> Any:
    from b03lint.engine import load_project

    return load_project(config, rev)


def _new(args: argparse.Namespace) -> int:
    from b03lint.contract import analyze
    from b03lint.schema.drift import Register

    config = chain_config(args)
    project = _project(config, args.rev)
    state = analyze(project)
    for err in project.errors:
        print(err, file=sys.stderr)
    if project.errors:
        return 2
    if state.canonical.schema is None:
        print_error("no canonical schema is configured (canonical_sql or canonical_yaml)")
        return 2
    groups: list[list[Deviation]] = []
    skipped = 0
    for c in state.classified:
        dev = c.deviation
        if c.entry is not None:
            continue
        if dev.kind == "unknown-object":
            skipped += 1
            continue
        # deviations sharing a name are one entry (the register matches by any name)
        group = next((g for g in groups if any(dev.names() & d.names() for d in g)), None)
        if group is None:
            groups.append([dev])
        else:
            group.append(dev)
    if skipped:
        print_error(f"{skipped} object(s) are unknown after unresolved operations; resolve "
                    "those first (they are not drift entries)", severity="warning")
    if not groups:
        print("# every deviation is registered", file=sys.stderr)
        return 0
    register = state.register or Register()
    ids = register.next_ids(len(groups))
    where = register.path or "the drift register"
    print(f"# {len(groups)} unregistered deviation(s); add under `entries:` of {where}")
    for ident, group in zip(ids, groups, strict=True):
        sys.stdout.write(entry_yaml(ident, group[0], group[1:]))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "table":
        return _table(args)
    if args.action == "init":
        return _init(args)
    return _new(args)
