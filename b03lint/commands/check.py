"""`b03lint check`: lint the migration chain."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from b03lint.commands.common import add_project_arguments, project_config

HELP = "lint migrations (default command): destructive DDL, the revision graph, the contract"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="migration files or folders to report on (default: the whole chain); "
                        "chain-wide checks always see every migration")
    add_project_arguments(p)
    p.add_argument("--rev", metavar="REV",
                   help="check the chain as of this revision (id, prefix, head, base)")
    p.add_argument("--select", action="append", default=[], metavar="RULE",
                   help="only these rules (code, name, prefix or category; repeatable)")
    p.add_argument("--ignore", action="append", default=[], metavar="RULE",
                   help="skip these rules (repeatable)")
    from b03lint.reporters import FORMATS

    p.add_argument("--output-format", choices=sorted(FORMATS), default="text",
                   help="output format (default: text)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write the report to FILE instead of standard output")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    p.add_argument("--no-cache", dest="cache", action="store_false", default=None,
                   help="neither read nor write the parse cache (config: cache = false)")
    p.add_argument("--jobs", "-j", type=int, metavar="N",
                   help="processes that parse uncached files (0 = automatic, 1 = no "
                        "parallelism; config: jobs)")


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def run(args: argparse.Namespace) -> int:
    from b03lint import __version__
    from b03lint.engine import lint
    from b03lint.reporters import ReportOptions, renderer

    config = project_config(args)
    if args.cache is False:
        config.set("cache", False, "flag --no-cache")
    if args.jobs is not None:
        if args.jobs < 0:
            print("b03lint: error: --jobs must be 0 (automatic) or more", file=sys.stderr)
            return 2
        config.set("jobs", args.jobs, "flag --jobs")
    result = lint(config, args.paths, rev=args.rev, select=_split(args.select),
                  ignore=_split(args.ignore), debug=args.debug)
    to_terminal = args.output is None and sys.stdout.isatty()
    color = args.color == "always" or (args.color == "auto" and to_terminal
                                       and "NO_COLOR" not in os.environ)
    text = renderer(args.output_format)(
        result, ReportOptions(color=color, root=str(config.root), tool_version=__version__))
    if args.output is not None:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"{args.output}: error: cannot write report: {exc.strerror}", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    return result.exit_code
