"""``b03lint reconcile``: a live database, or a schema snapshot, vs the canonical schema,
read-only.

The catalog is read in a read-only transaction (and the session itself defaults to
read-only transactions), so nothing is ever written. The database's Alembic revision (its
``alembic_version`` table) decides how the drift register classifies what differs, exactly
as ``b03lint check --rev`` does for that revision; without one, every revision of the chain
counts as applied.

A snapshot (``--snapshot FILE``) is the same comparison for a SQL file instead of a
database: a plain ``pg_dump --schema-only`` of it, read exactly as the canonical SQL is
(:func:`b03lint.schema.canonical.read_schema_sql`). A schema-only dump records no revision,
so the drift register is applied as at head.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from b03lint.config import Config
from b03lint.engine import Result
from b03lint.findings import ToolError, sort_findings
from b03lint.live import LiveError, require
from b03lint.live.compare import contract_findings, load_context
from b03lint.live.connect import Target, explain
from b03lint.live.introspect import DEFAULT_TIMEOUT_MS, introspect
from b03lint.live.redact import scrub


@dataclass
class Options:
    url: str
    #: where the URL came from (``--database-url``, ``$DATABASE_URL``), for messages
    source: str = "the database URL"
    schema: str = "public"
    statement_timeout_ms: int = DEFAULT_TIMEOUT_MS


@dataclass
class Outcome:
    result: Result = field(default_factory=Result)
    database: str = ""
    #: the revision(s) in the database's alembic_version table
    recorded: tuple[str, ...] = ()
    #: the revision the drift register was applied at (None: every revision)
    revision: str | None = None
    notes: list[str] = field(default_factory=list)
    tables: int = 0
    #: scrubbed traceback of the failure, for --debug
    debug: str = ""

    def to_json(self) -> dict[str, Any]:
        out = self.result.to_json()
        out["mode"] = "reconcile"
        out["database"] = self.database
        out["revision"] = self.revision
        out["alembic_version"] = list(self.recorded)
        out["notes"] = self.notes
        return out


def reconcile(config: Config, opts: Options) -> Outcome:
    """Never raises for the environment: errors land in ``outcome.result.errors``."""
    import traceback

    outcome = Outcome()
    result = outcome.result
    try:
        require("psycopg")
        target = Target.parse(opts.url, opts.source)
        outcome.database = target.label()
        ctx = load_context(config)
        state = ctx.state
        result.errors.extend(ctx.errors)
        if state.canonical.schema is None and not result.errors:
            result.errors.append(ToolError("no canonical schema is configured (set "
                                           "canonical_sql or canonical_yaml)"))
        if result.errors:
            return outcome
        readonly = Target({**target.params, "options": (
            target.params.get("options", "") + " -c default_transaction_read_only=on").strip()})
        import psycopg

        try:
            with readonly.connect() as conn:
                snap = introspect(conn, outcome.database, schema=opts.schema,
                                  statement_timeout_ms=opts.statement_timeout_ms)
        except psycopg.Error as exc:
            raise explain(exc, f"cannot read the catalog of {outcome.database}") from None
        outcome.tables = len(snap.schema.tables)
        outcome.recorded = snap.revisions
        graph = ctx.project.graph
        if len(snap.revisions) == 1 and snap.revisions[0] in graph.nodes:
            outcome.revision = snap.revisions[0]
        elif snap.revisions:
            known = [r for r in snap.revisions if r in graph.nodes]
            outcome.notes.append(
                f"the database records revision(s) {', '.join(snap.revisions)}"
                + ("" if len(known) == len(snap.revisions) else
                   " not all in the chain") + "; the drift register is applied as at head")
        else:
            outcome.notes.append("the database has no Alembic revision; the drift register is "
                                 "applied as at head")
        result.findings = sort_findings(contract_findings(ctx, snap.schema, outcome.revision))
    except LiveError as exc:
        result.errors.append(ToolError(scrub(str(exc))))
        outcome.debug = scrub(traceback.format_exc())
    return outcome


def reconcile_snapshot(config: Config, path: Path) -> Outcome:
    """A schema snapshot file vs the canonical schema; never raises for bad input."""
    from b03lint.paths import display_path
    from b03lint.schema.canonical import CanonicalError, read_schema_sql, read_text

    outcome = Outcome()
    result = outcome.result
    shown = display_path(path)
    outcome.database = shown
    ctx = load_context(config)
    state = ctx.state
    result.errors.extend(ctx.errors)
    if state.canonical.schema is None and not result.errors:
        result.errors.append(ToolError("no canonical schema is configured (set "
                                       "canonical_sql or canonical_yaml)"))
    try:
        text = read_text(path, shown)
    except CanonicalError as exc:
        result.errors.append(ToolError(str(exc).replace("canonical file", "snapshot"),
                                       exc.path, exc.line))
        return outcome
    if result.errors:
        return outcome
    schema, diagnostics, _conflicts = read_schema_sql(text, shown, "schema snapshot")
    result.errors += [ToolError(f"{d.code}: {d.message}", d.loc.path, d.loc.line,
                                d.loc.column + 1)
                      for d in diagnostics if d.fatal or d.severity == "blocking"]
    if result.errors:
        return outcome
    outcome.tables = len(schema.tables)
    outcome.notes.append("a schema snapshot records no Alembic revision; the drift register "
                         "is applied as at head")
    result.findings = sort_findings(contract_findings(ctx, schema, None))
    return outcome
