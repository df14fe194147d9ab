"""`b03lint report --html FILE`: one self-contained HTML page of a run (the verdict, the
findings by object and by migration, the drift register, the revision graph)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Literal

from b03lint.commands.common import add_project_arguments, chain_config

HELP = ("write one self-contained HTML page: the verdict, the findings grouped by object and "
        "by migration, the drift register and the revision graph (no network, no script)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--html", required=True, type=Path, metavar="FILE",
                   help="the HTML file to write")
    p.add_argument("--rev", metavar="REV",
                   help="check the chain as of this revision (the graph shows every revision)")
    p.add_argument("--select", action="append", default=[], metavar="RULE",
                   help="only these rules (repeatable)")
    p.add_argument("--ignore", action="append", default=[], metavar="RULE",
                   help="skip these rules (repeatable)")
    p.add_argument("--no-baseline", action="store_true",
                   help="ignore any baseline file: report every finding")
    p.add_argument("--title", default="b03lint report", help="the page's title")
    add_project_arguments(p)


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def run(args: argparse.Namespace) -> int:
    from b03lint import __version__
    from b03lint.engine import lint
    from b03lint.findings import ToolError
    from b03lint.paths import display_path
    from b03lint.pictures import graph_view
    from b03lint.reporters import ReportOptions
    from b03lint.reporters.html import ReportContext, render
    from b03lint.schema.drift import load_register
    from b03lint.show import load_project
    from b03lint.yamlio import YamlError

    config = chain_config(args)
    baseline: Literal["auto"] | None = None if args.no_baseline else "auto"
    result = lint(config, rev=args.rev, select=_split(args.select),
                  ignore=_split(args.ignore), debug=args.debug, baseline=baseline)
    ctx = ReportContext(title=args.title)
    project = load_project(config)
    view = graph_view(project)
    ctx.view = view
    ctx.errors += view.errors
    ctx.revisions = {mf.path: (mf.revision, mf.message)
                     for rev in project.graph.order
                     if (mf := project.graph.nodes[rev]) is not None}
    register_path = config.path("drift_register")
    if register_path is not None:
        try:
            ctx.register = load_register(register_path, display_path(register_path))
        except YamlError as exc:
            ctx.errors.append(ToolError(str(exc), exc.path, exc.line))
    page = render(result, ReportOptions(root=str(config.root), tool_version=__version__), ctx)
    try:
        args.html.write_text(page, encoding="utf-8")
    except OSError as exc:
        print(f"{args.html}: error: cannot write report: {exc.strerror}", file=sys.stderr)
        return 2
    counts = result.counts()
    print(f"{display_path(args.html)}: {result.verdict}: {counts['blocking']} blocking, "
          f"{counts['warning']} warning, {counts['info']} info")
    for err in result.errors:
        print(err, file=sys.stderr)
    return result.exit_code
