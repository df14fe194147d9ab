"""`b03lint reconcile`: compare a live database with the canonical schema (read-only)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from b03lint.commands.common import add_project_arguments, project_config

HELP = ("compare a live database (--database-url or DATABASE_URL) with the canonical schema; "
        "read-only")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Every argument of `reconcile` (live and, later, static modes) is declared here."""
    from b03lint.live.introspect import DEFAULT_TIMEOUT_MS
    from b03lint.live.output import parse_seconds

    p.add_argument("--database-url", metavar="URL",
                   help="the database to reconcile (default: $DATABASE_URL); the password "
                        "never appears in any output")
    p.add_argument("--schema", default="public", metavar="NAME",
                   help="the PostgreSQL schema to read (default: public)")
    p.add_argument("--statement-timeout", type=parse_seconds, default=DEFAULT_TIMEOUT_MS,
                   metavar="SECONDS", dest="statement_timeout_ms",
                   help="statement timeout of the catalog reads (default: 30; 500ms, 2min)")
    p.add_argument("--output-format", choices=("text", "json"), default="text",
                   help="what to print on standard output (default: text)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE.json",
                   help="also write the JSON report (version, verdict, findings, errors) here")
    add_project_arguments(p)


def run(args: argparse.Namespace) -> int:
    from b03lint.live.output import guarded

    return guarded(args, lambda: _live(args))


def _live(args: argparse.Namespace) -> int:
    from b03lint.live import reconcile
    from b03lint.live.output import emit

    url = args.database_url or os.environ.get("DATABASE_URL", "").strip()
    if not url:
        print("error: no database: pass --database-url URL or set DATABASE_URL",
              file=sys.stderr)
        return 2
    config = project_config(args)
    outcome = reconcile.reconcile(config, reconcile.Options(
        url=url, schema=args.schema, statement_timeout_ms=args.statement_timeout_ms))
    at = (f"alembic revision {outcome.revision}" if outcome.revision else
          "no known alembic revision")
    subject = (f"live database {outcome.database or '?'} ({outcome.tables} table(s), {at}) vs "
               "the canonical schema")
    return emit(args, outcome.result, outcome.to_json(), subject, outcome.notes,
                outcome.debug)
