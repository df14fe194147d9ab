"""`b03lint schema --at REV`: the schema the migration chain builds at a revision."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from b03lint.commands.canonical import print_error
from b03lint.commands.common import add_project_arguments, chain_config, write_output

HELP = "print the schema the migration chain builds at a revision, as YAML or SQL"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--at", metavar="REV", default="head",
                   help="a revision id, a unique prefix, a branch label, `head`, `heads` "
                        "(every head) or `base` (default: head)")
    p.add_argument("--format", choices=("yaml", "sql"), default="yaml",
                   help="canonical YAML (format 1) or plain DDL (default: yaml)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write to FILE instead of standard output")
    add_project_arguments(p)


def run(args: argparse.Namespace) -> int:
    from b03lint.contract import base_schema, project_replay
    from b03lint.engine import load_project
    from b03lint.schema.emit import schema_to_sql, schema_to_yaml

    config = chain_config(args)
    project = load_project(config)
    errors, files, graph = project.errors, project.files, project.graph
    if errors and not files:  # no chain to replay (a missing migrations folder)
        for err in errors:
            print(err, file=sys.stderr)
        return 2
    revision: str | None
    if args.at == "heads":
        revision = None
    else:
        try:
            revision = graph.resolve(args.at)
        except KeyError as exc:
            print_error(f"--at: {exc.args[0]}")
            return 2
    base_schema(project)  # read first: a base_schema that cannot be read is an error too
    code = 0
    for err in errors:
        print(err, file=sys.stderr)
        code = 2
    wanted = set(graph.upto(revision))
    for mf in files:
        if mf.revision not in wanted:
            continue
        for d in mf.diagnostics:
            if d.fatal:
                print_error(f"{d.code}: {d.message} (its operations are unknown)",
                            d.loc.path, d.loc.line)
                code = 2
    replay = project_replay(project, revision, label=f"migrations at {args.at}")
    for conflict in replay.conflicts:
        print_error(f"{conflict.message} (the chain would fail here)", conflict.loc.path,
                    conflict.loc.line, "warning")
    for op in replay.unknown_anywhere:
        print_error(f"{op.describe()}: the schema after this operation is unknown",
                    op.loc.path, op.loc.line, "warning")
    where = args.at if revision in (None, args.at) else f"{args.at} ({revision})"
    what = f"the schema the migration chain builds at {where}"
    if args.format == "yaml":
        text = schema_to_yaml(replay.schema, header=f"# {what} (b03lint schema)\n")
    else:
        text = f"-- {what} (b03lint schema)\n\n" + schema_to_sql(replay.schema)
    return code if write_output(text, args.output) else 2
