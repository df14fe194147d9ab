"""`b03lint reconcile`: compare a live database with the canonical schema (read-only)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from b03lint.commands.common import add_project_arguments, chain_config

HELP = ("compare a live database (--database-url or DATABASE_URL), or a schema snapshot "
        "(--snapshot, a pg_dump), with the canonical schema, read-only; or, with "
        "--emit-migration, write the static reconciliation migration")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Every argument of `reconcile` (live and, later, static modes) is declared here."""
    from b03lint.live.output import add_database_arguments, add_read_arguments

    add_database_arguments(p, url_help="the database to reconcile (default: $DATABASE_URL); "
                                       "the password never appears in any output")
    add_read_arguments(p, timeout_of="the catalog reads",
                       output_help="also write the JSON report (version, verdict, findings, "
                                   "errors) here")
    add_project_arguments(p)
    p.add_argument("--snapshot", type=Path, metavar="FILE",
                   help="compare this schema snapshot instead of a database: a SQL file such "
                        "as `pg_dump --schema-only` of the database (the guide's live schema "
                        "snapshot); no database is contacted")
    static = p.add_argument_group(
        "static reconciliation (no database)",
        "--emit-migration writes a new Alembic revision that turns the schema the chain "
        "builds (at --rev, default the head) into the canonical schema")
    static.add_argument("--emit-migration", action="store_true",
                        help="write the reconciliation migration instead of reading a database")
    static.add_argument("--message", default="reconcile with the canonical schema",
                        help="the revision's message (and file name slug)")
    static.add_argument("--rev", metavar="REV",
                        help="build on this revision instead of the head")
    static.add_argument("--adr", metavar="ADR-ID",
                        help="the ADR its destructive steps' waivers cite when the drift "
                             "register names none")
    static.add_argument("--output-dir", type=Path, metavar="DIR",
                        help="where to write it (default: beside the revision it builds on)")


def run(args: argparse.Namespace) -> int:
    if args.emit_migration:
        from b03lint import emit_migration

        return emit_migration.run(chain_config(args), rev=args.rev, message=args.message,
                                  adr=args.adr, output_dir=args.output_dir)
    from b03lint.live.output import guarded

    return guarded(args, lambda: _live(args))


def _live(args: argparse.Namespace) -> int:
    from b03lint.live import reconcile
    from b03lint.live.output import database_url, emit

    if args.snapshot is not None:
        outcome = reconcile.reconcile_snapshot(chain_config(args), args.snapshot)
        subject = (f"schema snapshot {outcome.database} ({outcome.tables} table(s)) vs the "
                   "canonical schema")
        return emit(args, outcome.result, outcome.to_json(), subject, outcome.notes,
                    outcome.debug)

    url, source = database_url(args)
    if not url:
        print("error: no database: pass --database-url URL or set DATABASE_URL (or the "
              "variable named by --database-url-env)", file=sys.stderr)
        return 2
    config = chain_config(args)
    outcome = reconcile.reconcile(config, reconcile.Options(
        url=url, source=source, schema=args.schema, statement_timeout_ms=args.statement_timeout_ms))
    at = (f"alembic revision {outcome.revision}" if outcome.revision else
          "no known alembic revision")
    subject = (f"live database {outcome.database or '?'} ({outcome.tables} table(s), {at}) vs "
               "the canonical schema")
    return emit(args, outcome.result, outcome.to_json(), subject, outcome.notes,
                outcome.debug)
