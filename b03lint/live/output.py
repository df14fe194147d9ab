"""What the live commands print: the findings as ``check`` prints them, a summary naming
the database, the JSON report (``--output FILE.json`` in DESIGN.md's shape), and exit codes
0/1/2 (130 when interrupted). Everything goes through :func:`~b03lint.live.redact.scrub`;
an internal error shows a (scrubbed) traceback with ``--debug`` and never an unscrubbed one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from b03lint.engine import Result
from b03lint.findings import ToolError
from b03lint.live import LiveError
from b03lint.live.redact import has_password, remember_environment, remember_url, scrub, scrub_data


def render_text(result: Result, subject: str, notes: Sequence[str] = ()) -> str:
    # a database object has no line: its finding shows none (never ``:0:1``)
    lines = [f"{f.path}{f':{f.line}:{f.column}' if f.line > 0 else ''}: {f.code} "
             f"{f.severity} {f.message}" for f in result.findings]
    lines += [str(e) for e in result.errors]
    lines += [f"note: {n}" for n in notes]
    counts = result.counts()
    tail = f"; {len(result.errors)} error(s)" if result.errors else ""
    lines.append(f"{result.verdict}: {counts['blocking']} blocking, {counts['warning']} "
                 f"warning, {counts['info']} info; {subject}{tail}")
    return scrub("\n".join(lines) + "\n")


def emit(args: argparse.Namespace, result: Result, payload: dict[str, Any], subject: str,
         notes: Sequence[str] = (), debug: str = "") -> int:
    """Print the report (text or JSON), write ``--output`` (JSON); the exit code."""
    if debug and getattr(args, "debug", False):
        sys.stderr.write(scrub(debug))
    for item in payload.get("findings") or ():
        if isinstance(item, dict) and item.get("line") == 0:
            item.update(line=None, column=None)  # a database object has no line
    document = scrub(json.dumps(scrub_data(payload), indent=2)) + "\n"
    if getattr(args, "output_format", "text") == "json":
        sys.stdout.write(document)
    else:
        sys.stdout.write(render_text(result, subject, notes))
    output: Path | None = getattr(args, "output", None)
    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(document, encoding="utf-8")
        except OSError as exc:
            print(f"{output}: error: cannot write report: {exc.strerror}", file=sys.stderr)
            return 2
    return result.exit_code


def guarded(args: argparse.Namespace, body: Callable[[], int]) -> int:
    """Run a live command: clear messages, scrubbed tracebacks, 130 on Ctrl-C. A failure
    before the run could report is still a report (text or JSON, ``--output``), with the
    verdict ERROR."""
    from b03lint.config import ConfigError

    remember_environment()
    error: ToolError
    try:
        return body()
    except KeyboardInterrupt:
        print("b03lint: interrupted (scratch database and local server cleaned up)",
              file=sys.stderr)
        return 130
    except ConfigError as exc:
        error = ToolError(scrub(str(exc)), exc.path, exc.line)
    except LiveError as exc:
        error = ToolError(scrub(str(exc)))
    except Exception as exc:
        error = ToolError(scrub(f"internal error: {type(exc).__name__}: {exc} (run with "
                                "--debug for the traceback)"))
    debug = traceback.format_exc()
    result = Result(errors=[error])
    payload = {**result.to_json(), "mode": getattr(args, "command", None)}
    if getattr(args, "output_format", "text") == "json":
        print(str(error), file=sys.stderr)  # the text report says it on standard output
    return emit(args, result, payload, "nothing was checked", debug=debug)


def add_database_arguments(p: argparse.ArgumentParser, *, url_help: str) -> None:
    """``--database-url URL`` and ``--database-url-env VAR``: the URL need not be on the
    command line (where every local user sees it in the process list)."""
    p.add_argument("--database-url", metavar="URL",
                   help=url_help + "; visible in the process list: prefer --database-url-env")
    p.add_argument("--database-url-env", metavar="VAR",
                   help="the environment variable that holds the URL (default: DATABASE_URL)")


def database_url(args: argparse.Namespace) -> tuple[str | None, str]:
    """The URL of the command and where it came from (``--database-url``,
    ``$DATABASE_URL``), for messages; None when there is none."""
    if getattr(args, "database_url", None):
        url: str = args.database_url
        remember_url(url)
        if has_password(url):
            print("warning: the password in --database-url is visible to every local user "
                  "in the process list; put the URL in an environment variable and pass "
                  "--database-url-env VAR (default: DATABASE_URL)", file=sys.stderr)
        return url, "--database-url"
    var = getattr(args, "database_url_env", None) or "DATABASE_URL"
    value = os.environ.get(var, "").strip()
    if not value and getattr(args, "database_url_env", None):
        raise LiveError(f"--database-url-env {var}: the environment variable {var} is not "
                        "set or empty")
    return (value or None), f"${var}"


def parse_seconds(text: str) -> int:
    """``30``, ``2.5``, ``500ms``, ``1min`` -> milliseconds (for ``argparse``)."""
    value = text.strip().lower()
    factor = 1000.0
    for suffix, f in (("ms", 1.0), ("min", 60_000.0), ("s", 1000.0)):
        if value.endswith(suffix):
            value, factor = value[: -len(suffix)].strip(), f
            break
    try:
        ms = float(value) * factor
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30, 500ms, "
                                         "2min)") from None
    if ms <= 0:
        raise argparse.ArgumentTypeError("the timeout must be positive")
    return int(ms)


def add_read_arguments(p: argparse.ArgumentParser, *, timeout_of: str,
                       output_help: str) -> None:
    """The arguments every live command shares: the schema it reads, the statement timeout
    of its reads, the format on standard output and the JSON report file."""
    from b03lint.live.introspect import DEFAULT_TIMEOUT_MS

    p.add_argument("--schema", default="public", metavar="NAME",
                   help="the PostgreSQL schema to read (default: public)")
    p.add_argument("--statement-timeout", type=parse_seconds, default=DEFAULT_TIMEOUT_MS,
                   metavar="SECONDS", dest="statement_timeout_ms",
                   help=f"statement timeout of {timeout_of} (default: 30; 500ms, 2min)")
    p.add_argument("--output-format", choices=("text", "json"), default="text",
                   help="what to print on standard output (default: text)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE.json", help=output_help)
