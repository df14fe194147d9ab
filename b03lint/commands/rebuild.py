"""`b03lint rebuild`: rebuild the chain on a scratch database and check the result."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from b03lint.commands.common import add_project_arguments, chain_config

HELP = ("alembic upgrade a scratch database (on --database-url's server, or a throwaway local "
        "cluster) and compare it with the canonical schema and the static replay")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    from b03lint.live.output import add_database_arguments, add_read_arguments, parse_seconds

    add_database_arguments(p, url_help="a server to create the scratch database on (default: "
                                       "$DATABASE_URL, else a throwaway local cluster); the "
                                       "database in the URL is only used to connect")
    p.add_argument("--rev", default="head", metavar="REV",
                   help="upgrade to this revision (id, prefix, head; default: head)")
    p.add_argument("--roundtrip", action="store_true",
                   help="then downgrade and upgrade again, one revision at a time (guide 6)")
    p.add_argument("--steps", type=_positive, metavar="N",
                   help="round-trip the last N revisions (default: down to "
                        "baseline_revision, else all)")
    p.add_argument("--probes", action="store_true",
                   help="INSERT every allowed and some forbidden value of each canonical "
                        "CHECK value set, each rolled back (guide 3.4)")
    p.add_argument("--trace", action="store_true",
                   help="upgrade one revision at a time with a few generated rows in every "
                        "table, measure the locks, rewrites and scans of every statement on "
                        "the server and compare them with the lock model (M005; M006 for a "
                        "revision that fails on the rows)")
    p.add_argument("--evidence", type=Path, metavar="DIR",
                   help="write the guide's artefacts (rebuild log, psql verification, JSON "
                        "report, downgrade log) into DIR")
    p.add_argument("--alembic-ini", type=Path, metavar="PATH",
                   help="the Alembic configuration (default: alembic.ini next to "
                        "pyproject.toml)")
    add_read_arguments(p, timeout_of="catalog reads and probes",
                       output_help="also write the JSON report here")
    p.add_argument("--migration-timeout", type=parse_seconds, default=None,
                   metavar="SECONDS", dest="migration_timeout_ms",
                   help="how long one alembic command (env.py and the migrations, run in a "
                        "child process) may take before it is killed and reported (default: "
                        "10min)")
    p.add_argument("--clean", action="store_true",
                   help="instead of a rebuild: list the scratch databases (on the server of "
                        "--database-url) and local clusters of b03lint runs, and remove those "
                        "whose run is gone (never a live run's, nor another host's)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print every command run (the rebuild log) on standard error")
    add_project_arguments(p)


def run(args: argparse.Namespace) -> int:
    from b03lint.live.output import guarded

    return guarded(args, lambda: _rebuild(args))


def _rebuild(args: argparse.Namespace) -> int:
    from b03lint.live import rebuild
    from b03lint.live.output import database_url, emit

    url, source = database_url(args)
    if args.clean:
        cleaned = rebuild.clean(url, source)
        where = f"scratch databases on {cleaned.server} and " if cleaned.server else ""
        subject = (f"rebuild --clean: {where}local clusters; {len(cleaned.removed)} "
                   f"leftover(s) of dead runs removed, {len(cleaned.kept)} kept")
        return emit(args, cleaned.result, cleaned.to_json(), subject, cleaned.notes)
    config = chain_config(args)
    opts = rebuild.Options(
        url=url, url_source=source, rev=args.rev, schema=args.schema, roundtrip=args.roundtrip,
        steps=args.steps, probes=args.probes, evidence=args.evidence,
        alembic_ini=args.alembic_ini.resolve() if args.alembic_ini else None,
        statement_timeout_ms=args.statement_timeout_ms,
        migration_timeout_ms=args.migration_timeout_ms or rebuild.MIGRATION_TIMEOUT_MS,
        trace=args.trace, verbose=args.verbose)
    outcome = rebuild.rebuild(config, opts)
    parts = [f"scratch rebuild at {outcome.revision or args.rev}"]
    if outcome.database:
        parts.append(f"on {outcome.database.rsplit('/', 1)[0]}" if url else
                     "on a throwaway local cluster")
    if outcome.probes:
        parts.append(f"{len(outcome.probes)} probe(s)")
    if args.roundtrip:
        parts.append("round trip")
    if outcome.trace is not None:
        parts.append(f"lock trace of {len(outcome.trace.report.rows)} statement(s)")
        if getattr(args, "output_format", "text") == "text":
            from b03lint.live.redact import scrub

            sys.stdout.write(scrub(outcome.trace.render_text()) + "\n")
    notes = [f"evidence written to {args.evidence}"] if outcome.evidence_files else []
    notes += outcome.notes
    if outcome.result.interrupted:
        print("b03lint: interrupted (scratch database and local server cleaned up)",
              file=sys.stderr)
    return emit(args, outcome.result, outcome.to_json(), ", ".join(parts) +
                " vs the canonical schema and the static replay", notes, outcome.debug)
