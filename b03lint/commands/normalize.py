"""`b03lint normalize FILE.sql`: the guide's section 3.1 normalisation."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from b03lint.commands.canonical import print_error
from b03lint.commands.common import write_output

HELP = ("normalise canonical SQL or a `pg_dump --schema-only` file (guide section 3.1) so "
        "that the two diff cleanly")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, metavar="FILE.sql", help="the SQL file (`-`: stdin)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write to FILE instead of standard output")


def run(args: argparse.Namespace) -> int:
    from b03lint.normalize import normalize_sql
    from b03lint.paths import display_path

    if str(args.file) == "-":
        shown = "<stdin>"
        text = sys.stdin.read()
    else:
        shown = display_path(args.file)
        try:
            text = args.file.read_bytes().decode("utf-8-sig")
        except FileNotFoundError:
            print_error("no such file", shown)
            return 2
        except OSError as exc:
            print_error(f"cannot read: {exc.strerror}", shown)
            return 2
        except UnicodeDecodeError as exc:
            print_error(f"cannot decode as UTF-8: {exc.reason}", shown)
            return 2
    result = normalize_sql(text, shown)
    for warning in result.warnings:
        print(str(warning).replace("error: ", "warning: ", 1), file=sys.stderr)
    for error in result.errors:
        print(error, file=sys.stderr)
    if result.errors:
        return 2
    return 0 if write_output(result.text, args.output) else 2
