"""`b03lint server`: the language server, over stdio (see docs/editors.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = ("run the language server (LSP over stdio) for editors: diagnostics as you type, "
        "hovers with locks and schema, code actions (needs the `lsp` extra: pygls)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="PYPROJECT", type=Path,
                   help="pyproject.toml to read [tool.b03lint] from (default: the nearest "
                        "one with that table above the editor's workspace folder)")
    p.add_argument("--stdio", action="store_true",
                   help="talk over standard input and output (the default and only "
                        "transport; accepted because LSP clients pass it)")
    p.add_argument("--log", metavar="FILE", type=Path,
                   help="write the server's log to FILE (standard output is the protocol)")


def run(args: argparse.Namespace) -> int:
    try:
        import lsprotocol  # noqa: F401
        import pygls  # noqa: F401
    except ImportError as exc:
        print(f"b03lint server: error: the language server needs pygls ({exc.name} is not "
              "installed); install it with: pip install 'b03lint[lsp]'", file=sys.stderr)
        return 2
    if args.config is not None and not args.config.is_file():
        print(f"{args.config}: error: no such file", file=sys.stderr)
        return 2
    from b03lint.commands.rules import render_markdown
    from b03lint.server.lsp import serve

    return serve(args.config.resolve() if args.config else None, render_markdown, args.log)
