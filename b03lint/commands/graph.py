"""`b03lint graph`: a picture of the revision graph (Mermaid, DOT or SVG)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from b03lint.commands.common import add_project_arguments, chain_config, write_output

HELP = ("draw the revision graph (merges, branches, heads, the baseline, and the revisions "
        "that introduced drift) as Mermaid, Graphviz DOT or self-contained SVG")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("mermaid", "dot", "svg"), default="mermaid",
                   help="output format (default: mermaid); svg needs no Graphviz")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write to FILE instead of standard output")
    p.add_argument("--no-drift", dest="drift", action="store_false",
                   help="do not compare with the canonical schema (no drift marks)")
    add_project_arguments(p)


def run(args: argparse.Namespace) -> int:
    from b03lint.pictures import graph_view, render
    from b03lint.show import load_project

    config = chain_config(args)
    project = load_project(config)
    view = graph_view(project, deviations=args.drift)
    text = render(view, args.format)
    if not write_output(text, args.output):
        return 2
    errors = [*project.errors, *view.errors]
    for err in errors:
        print(err, file=sys.stderr)
    return 2 if errors else 0
