"""`b03lint show OBJECT`: everything b03lint knows about one schema object (guide 2.4)."""

from __future__ import annotations

import argparse
import json
import sys

from b03lint.commands.common import add_project_arguments, chain_config

HELP = ("everything known about one table, column (table.column), index, constraint or "
        "policy: canonical truth with its places, ADRs, the migrations that touched it, "
        "its state at a revision, its deviations and drift-register entries")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("object", metavar="OBJECT",
                   help="a table, `table.column`, an index, a constraint, or a policy "
                        "(`table.policy`, or its name when only one table has it)")
    p.add_argument("--at", metavar="REV",
                   help="show it as of this revision (id, prefix, label, head, base; "
                        "default: the head)")
    p.add_argument("--output-format", choices=("text", "json"), default="text",
                   help="output format (default: text)")
    add_project_arguments(p)


def run(args: argparse.Namespace) -> int:
    from b03lint.show import ObjectNotFound, load_project, render_text, show

    config = chain_config(args)
    project = load_project(config, args.at)
    try:
        result = show(project, args.object)
    except KeyError as exc:
        print(f"error: --at: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except ObjectNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.candidates:
            print("did you mean: " + ", ".join(exc.candidates), file=sys.stderr)
        for err in project.errors:
            print(err, file=sys.stderr)
        return 2
    if args.output_format == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(render_text(result))
        for err in result.errors:
            print(err, file=sys.stderr)
    return 2 if result.errors else 0
