"""``b03lint``: a thin command line. Each subcommand lives in ``b03lint/commands/<name>.py``
with ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``; only the chosen one's
heavy imports are paid for. Exit codes: 0 clean, 1 blocking findings, 2 the tool could not
do its job. Never a traceback for bad input (``--debug`` shows one for internal errors).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from b03lint import __version__

#: subcommand -> module; adding a command is one line here and one module
COMMANDS: dict[str, str] = {
    "check": "b03lint.commands.check",
    "rules": "b03lint.commands.rules",
    "rule": "b03lint.commands.rule",
    "reconcile": "b03lint.commands.reconcile",
    "canonical": "b03lint.commands.canonical",
    "schema": "b03lint.commands.schema",
    "drift": "b03lint.commands.drift",
    "normalize": "b03lint.commands.normalize",
    "config": "b03lint.commands.config",
    "baseline": "b03lint.commands.baseline",
    "show": "b03lint.commands.show",
    "graph": "b03lint.commands.graph",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="b03lint", description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--version", action="version", version=f"b03lint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        p.add_argument("--debug", action="store_true",
                       help="show tracebacks of internal errors")
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args_list if not a.startswith("-")), None)
    if first not in COMMANDS and not {"-h", "--help", "--version"} & set(args_list):
        args_list.insert(0, "check")  # `b03lint` alone, or `b03lint FILE...`, is a check
    parser = build_parser()
    args = parser.parse_args(args_list)
    from b03lint.config import ConfigError

    try:
        code: int = args._module.run(args)
        return code
    except ConfigError as exc:
        where = exc.path or ""
        if exc.path and exc.line:
            where += f":{exc.line}"
        print(f"{where + ': ' if where else ''}error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("b03lint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        if getattr(args, "debug", False):
            raise
        print(f"b03lint: internal error: {type(exc).__name__}: {exc} "
              "(run with --debug for the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
