"""`b03lint baseline`: accept today's findings, so that later checks report only new ones."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from b03lint.commands.common import add_project_arguments, project_config

HELP = ("write the current blocking and warning findings to a baseline file; later "
        "`check` runs report only findings not in it (and entries that no longer occur)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_project_arguments(p)
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="baseline file to write (default: `baseline` of [tool.b03lint], "
                        "else .b03lint-baseline.json in the project root)")


def run(args: argparse.Namespace) -> int:
    from b03lint.baseline import DEFAULT_FILE, BaselineError, write
    from b03lint.engine import lint
    from b03lint.paths import display_path

    config = project_config(args)
    target = args.output.resolve() if args.output is not None else (
        config.path("baseline") or config.root / DEFAULT_FILE)
    result = lint(config, baseline=None, debug=args.debug, environments=args.env)
    if result.errors:
        for e in result.errors:
            print(e, file=sys.stderr)
        print(f"error: baseline not written: the check could not complete "
              f"({len(result.errors)} error(s))", file=sys.stderr)
        return 2
    try:
        entries = write(target, result.findings, config.root)
    except BaselineError as exc:
        print(f"{exc.path}: error: {exc}", file=sys.stderr)
        return 2
    total = sum(e.count for e in entries)
    print(f"wrote {len(entries)} baseline entr{'y' if len(entries) == 1 else 'ies'} "
          f"({total} blocking/warning finding(s)) to {display_path(target)}")
    return 0
