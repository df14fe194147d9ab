"""``b03lint``: a thin command line. Each subcommand lives in ``b03lint/commands/<name>.py``
with ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``; only the chosen one's
heavy imports are paid for. Exit codes: 0 clean, 1 blocking findings, 2 the tool could not
do its job. Never a traceback for bad input (``--debug`` shows one for internal errors).
"""

from __future__ import annotations

import sys

from b03lint import __version__

#: ``typing`` costs 2 ms to import: the names below are for the type checker only
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

#: subcommand -> (module, one-line summary). Adding a command is one line here and one
#: module; only the chosen command's module is imported, so `b03lint check` never pays for
#: the live-database or reporting commands.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("b03lint.commands.check", "lint the migration chain (the default command)"),
    "init": ("b03lint.commands.init", "adopt b03lint in an existing Alembic project"),
    "rules": ("b03lint.commands.rules", "list every rule"),
    "rule": ("b03lint.commands.rule", "print one rule's documentation"),
    "config": ("b03lint.commands.config", "print the effective configuration"),
    "baseline": ("b03lint.commands.baseline", "write the current findings to a baseline"),
    "canonical": ("b03lint.commands.canonical", "export the canonical YAML; print its hash"),
    "schema": ("b03lint.commands.schema", "print the schema the chain builds at a revision"),
    "drift": ("b03lint.commands.drift", "the drift register: Markdown table, new entries"),
    "normalize": ("b03lint.commands.normalize", "normalise canonical SQL or a pg_dump"),
    "show": ("b03lint.commands.show", "everything known about one schema object"),
    "locks": ("b03lint.commands.locks",
              "what each statement locks, rewrites and risks on PostgreSQL"),
    "graph": ("b03lint.commands.graph", "draw the revision graph"),
    "report": ("b03lint.commands.report", "write a self-contained HTML report"),
    "reconcile": ("b03lint.commands.reconcile",
                  "live database vs canonical; or --emit-migration"),
    "rebuild": ("b03lint.commands.rebuild", "scratch rebuild with alembic, then compare"),
    "server": ("b03lint.commands.server", "language server for editors (LSP over stdio)"),
    "daemon": ("b03lint.commands.daemon",
               "keep a resident b03lint that starts checks at once (opt-in)"),
}


def _parser_class() -> type[argparse.ArgumentParser]:
    import argparse

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            self.print_usage(sys.stderr)
            self.exit(2, f"{self.prog}: error: {message}\n")

        def _get_formatter(self) -> argparse.HelpFormatter:
            # the width argparse would find itself, without importing shutil (and with it
            # bz2, lzma and fnmatch) on every run: argparse makes a formatter for every
            # argument it is given, help or not
            make: Callable[..., argparse.HelpFormatter] = self.formatter_class
            return make(prog=self.prog, width=_columns() - 2)

    return _Parser


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` finds it: ``$COLUMNS``, else
    the terminal of standard output, else 80."""
    import os

    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``chosen``'s module is imported and given its arguments (every
    command when None, for documentation and tests). When ``chosen`` is a command, the
    others are left out: argparse hands the rest of the line to ``chosen``'s parser
    whatever else exists, and building the sixteen others was a tenth of a pre-commit
    run's own work (``argparse.ArgumentParser`` costs about 0.3 ms each); an unknown
    ``chosen`` lists them all, for the error that names the valid ones."""
    import importlib

    _Parser = _parser_class()
    parser = _Parser(prog="b03lint", description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--version", action="version", version=f"b03lint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module_name, summary) in COMMANDS.items():
        if chosen is not None and name != chosen:
            if chosen not in COMMANDS:
                sub.add_parser(name, help=summary, add_help=False)
            continue
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=summary, description=module.HELP)
        p.add_argument("--debug", action="store_true",
                       help="show tracebacks of internal errors")
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None, *, in_resident: bool = False,
         answer: Callable[[int], None] | None = None) -> int:
    """Run one command. Called without ``argv`` (the console script, ``python -m
    b03lint``), a ``check`` is the whole process: the result cache
    (:mod:`b03lint.runcache`) may serve it or record it, and when it cannot serve it a
    resident process (:mod:`b03lint.resident`, ``b03lint daemon``) may run it; a caller
    that passes ``argv`` shares its process with state the cache cannot see, and always
    gets a full run here. ``in_resident``: this is the resident process's fork running a
    caller's command line, whose result cache the caller has already asked; its
    ``answer`` is called with the exit code once the command has returned, before the
    result is recorded, so that the caller is answered without waiting for that."""
    whole_process = argv is None
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args_list if not a.startswith("-")), None)
    if first not in COMMANDS and not {"-h", "--help", "--version"} & set(args_list):
        args_list.insert(0, "check")  # `b03lint` alone, or `b03lint FILE...`, is a check
    chosen = next((a for a in args_list if not a.startswith("-")), None)
    recorder = None
    if chosen == "check" and whole_process:
        # the whole-run result cache, before anything heavy is imported
        from b03lint import runcache

        # --no-result-cache skips serving; the result is stored for the plain command line
        keyed = [a for a in args_list if a != "--no-result-cache"]
        if len(keyed) == len(args_list) and not in_resident:
            served = runcache.serve(keyed)
            if served is not None:
                return served
        if not in_resident:
            from b03lint import resident

            delegated = resident.delegate(sys.argv)
            if delegated is not None:
                return delegated
        if "--no-cache" not in args_list:
            recorder = runcache.Recorder(keyed).start()
    if whole_process:
        from b03lint import codecache

        codecache.install()  # dataclasses' methods from compiled code, not source
    code = 2
    returned = False
    try:
        code = _run(args_list, chosen)
        returned = True
    finally:
        if recorder is not None:
            recorder.stop()
        if returned and answer is not None:
            answer(code)
        if recorder is not None:
            recorder.store(code)
        if whole_process:
            codecache.save()
    if chosen == "check" and whole_process and not in_resident:
        from b03lint import resident

        resident.autostart()
    return code


#: parsers the resident process (``b03lint daemon``) built ahead, by command: each fork
#: takes its own copy (a parser holds nothing of a run: the help width is found when
#: help is written)
PREBUILT: dict[str, argparse.ArgumentParser] = {}


def _run(args_list: list[str], chosen: str | None) -> int:
    key = chosen if chosen in COMMANDS else ""
    parser = PREBUILT.pop(key, None) or build_parser(key)
    args = parser.parse_args(args_list)
    if not hasattr(args, "_module"):
        parser.print_help()
        return 0
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
        from b03lint.runcache import recording

        rec = recording()
        if rec is not None:
            rec.doubt("the output was cut short")
        return 1
    except Exception as exc:
        if getattr(args, "debug", False):
            raise
        print(f"b03lint: internal error: {type(exc).__name__}: {exc} "
              "(run with --debug for the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
