"""`b03lint locks [FILE...] [--rev R]`: each upgrade statement with its lock, rewrite and
risk, from the lock model (text or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from b03lint.commands.common import add_project_arguments, chain_config, write_output

HELP = ("each upgrade statement of the chain (or of FILE / --rev) with the lock it takes on "
        "each table, whether it rewrites or scans it, waits for other transactions, a risk, "
        "and the lock rules it breaks, for the configured postgres_version")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", type=Path, metavar="FILE",
                   help="migration files of the chain (default: every revision)")
    p.add_argument("--rev", metavar="REV",
                   help="the migration of this revision (id, prefix, label, head)")
    p.add_argument("--postgres-version", type=int, metavar="MAJOR",
                   help="the PostgreSQL major to judge for (overrides postgres_version)")
    p.add_argument("--model", action="store_true",
                   help="print the lock model's table itself (Markdown)")
    p.add_argument("--output-format", choices=("text", "json"), default="text",
                   help="output format (default: text)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write the report here instead of standard output")
    add_project_arguments(p)


def run(args: argparse.Namespace) -> int:
    from b03lint.config import POSTGRES_VERSIONS
    from b03lint.lockview import lock_view, render_text

    if args.model:
        from b03lint.lockview import model_markdown as markdown

        return 0 if write_output(markdown(), args.output) else 2
    config = chain_config(args)
    if args.postgres_version is not None:
        if args.postgres_version not in POSTGRES_VERSIONS:
            print(f"error: --postgres-version must be from {POSTGRES_VERSIONS[0]} to "
                  f"{POSTGRES_VERSIONS[-1]}", file=sys.stderr)
            return 2
        config.set("postgres_version", args.postgres_version, "flag --postgres-version")
    try:
        view = lock_view(config, list(args.files), args.rev)
    except KeyError as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    text = (json.dumps(view.to_json(), indent=2) + "\n" if args.output_format == "json"
            else render_text(view))
    if not write_output(text, args.output):
        return 2
    for err in view.errors:
        print(err, file=sys.stderr)
    return 2 if view.errors else 0
