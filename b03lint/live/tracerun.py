"""``b03lint rebuild --trace``: the upgrade, one revision at a time, on tables that hold rows,
every statement measured and judged by the lock model.

For each revision of the path to the target, in the order the chain builds them:

1. ``alembic upgrade REV`` with the trace hooks on (:func:`b03lint.live.trace.install`
   in the process that runs Alembic), which measure every statement Alembic sends;
2. each statement judged by the lock model and compared with its measurement
   (:class:`b03lint.live.tracecheck.TraceChecker`, with the server's PostgreSQL major, not
   the configured ``postgres_version``): a difference is ``M005`` (the model was wrong),
   what the model does not predict is listed;
3. the catalog read again and every table still empty given a few rows
   (:class:`b03lint.live.traceseed.Seeder`), so that the next revisions run on tables
   with rows, as in production.

A revision that fails on the seeded rows is ``M006`` (a warning: the rows are generated),
and runs again on emptied tables so that the trace goes on; when it fails on empty tables
too, it is the plain failure (``M003``) of any rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from b03lint.live import MigrationFailure
from b03lint.live.tracecheck import CODE, TraceChecker, TraceReport, TraceRow, finding_message
from b03lint.live.traceseed import ROWS, Seeded, Seeder
from b03lint.operations import Location

if TYPE_CHECKING:
    import psycopg

    from b03lint.findings import Finding
    from b03lint.live.compare import Context
    from b03lint.live.evidence import Evidence
    from b03lint.schema.model import Schema

#: ``migrate(revision)``: upgrade to it with the hooks on; the events of the process that
#: ran Alembic, as ``(kind, data)`` ("server" with ``version``, "statement" with ``sql``,
#: ``autocommit``, ``observed``); raises :class:`MigrationFailure`
Migrate = Callable[[str], Sequence[tuple[str, dict[str, Any]]]]
#: a new connection to the scratch database (autocommit off)
Connect = Callable[[], "psycopg.Connection[Any]"]
#: the live catalog of the scratch database
Snapshot = Callable[[], "Schema"]

FAILS_WITH_ROWS = "M006"


@dataclass
class TraceOutcome:
    report: TraceReport
    findings: list[Finding] = field(default_factory=list)
    #: revision -> what was seeded after it
    seeded: dict[str, Seeded] = field(default_factory=dict)
    #: revisions that failed on the seeded rows and ran again on empty tables
    failed_with_rows: dict[str, str] = field(default_factory=dict)
    configured_version: int | None = None

    def to_json(self) -> dict[str, Any]:
        out = self.report.to_json()
        out["configured_postgres_version"] = self.configured_version
        out["seeded"] = {rev: s.to_json() for rev, s in self.seeded.items()}
        out["failed_with_rows"] = dict(self.failed_with_rows)
        return out

    def render_text(self) -> str:
        text = self.report.render_text()
        version = self.report.version
        if self.configured_version is not None and version is not None \
                and version != self.configured_version:
            text += (f"note: judged for PostgreSQL {version}, the server's major; the "
                     f"configuration says postgres_version = {self.configured_version}, "
                     "which the static lock rules use\n")
        for rev, seeded in self.seeded.items():
            text += f"seeded after {rev}: {seeded.describe()}\n"
        return text


class Events:
    """The trace events of the migration process, as it streams them
    (:class:`b03lint.live.supervise.MigrationProcess`'s ``on_trace``)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, kind: str, data: dict[str, Any], revision: str | None) -> None:
        self.items.append((kind, data))

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        out, self.items = self.items, []
        return out

    def stepper(self, runner: Any) -> Migrate:
        """``runner.migrate("upgrade", rev)`` returning the events of that command."""

        def step(rev: str) -> Sequence[tuple[str, dict[str, Any]]]:
            self.take()
            runner.migrate("upgrade", rev)
            return self.take()

        return step


class TraceRun:
    """Drives the traced upgrade; ``finding`` makes a finding of a live rule (the run's
    context decides whether it is enabled and at which severity)."""

    def __init__(self, ctx: Context, ev: Evidence, connect: Connect, snapshot: Snapshot, *,
                 rows: int = ROWS, namespace: str = "public"):
        from b03lint.rules.lockbase import version

        self.ctx = ctx
        self.ev = ev
        self.connect = connect
        self.snapshot = snapshot
        self.namespace = namespace
        self.checker = TraceChecker()
        tenant = ctx.config.get("tenant_column")
        self.seeder = Seeder(rows, tenant_column=str(tenant) if tenant else "tenant_id")
        self.outcome = TraceOutcome(self.checker.report,
                                    configured_version=version(ctx.project))

    def upgrade(self, revisions: Sequence[str], migrate: Migrate) -> TraceOutcome:
        """Upgrade to each of ``revisions`` in turn (each one step from the previous)."""
        graph = self.ctx.project.graph
        for rev in revisions:
            events = self._migrate(rev, migrate)
            statements = []
            for kind, data in events:
                if kind == "server" and isinstance(data.get("version"), int):
                    self.checker.server(data["version"])
                elif kind == "statement":
                    statements.append(data)
            rows = self.checker.revision(rev, graph.nodes.get(rev), statements)
            for row in rows:
                self._judged(row)
            counts: dict[str, int] = {}
            for row in rows:
                counts[row.status] = counts.get(row.status, 0) + 1
            self.ev.note(f"trace of {rev}: {len(rows)} statement(s)"
                         + "".join(f", {n} {k}" for k, n in counts.items()))
            self._seed(rev)
        return self.outcome

    def _migrate(self, rev: str, migrate: Migrate) -> Sequence[tuple[str, dict[str, Any]]]:
        try:
            return migrate(rev)
        except MigrationFailure as failure:
            if not self.seeder.filled:
                raise
            first = failure
        filled = sorted(self.seeder.filled)
        self.ev.note(f"{rev} failed on tables with generated rows ({first.detail}); emptying "
                     f"{len(filled)} table(s) and upgrading {rev} again")
        self._with_connection(lambda conn: self.seeder.empty(conn, self.snapshot(),
                                                            self.namespace))
        try:
            events = migrate(rev)
        except MigrationFailure:
            # it fails on empty tables too: the rows were not the cause (M003, with the
            # first error, which the second attempt may only echo)
            raise first from None
        self.outcome.failed_with_rows[rev] = first.detail
        loc = (Location(first.path, first.line, 0) if first.path and first.line
               else self._upgrade_loc(rev))
        finding = self.ctx.finding(
            FAILS_WITH_ROWS, loc,
            f"upgrade {rev} fails when its tables hold rows ({self.seeder.rows} generated "
            f"row(s) in each of {', '.join(filled)}): {first.detail}; on empty tables it "
            "succeeds, so it only works on a database without data",
            object=rev, data={"revision": rev, "tables": filled, "error": first.detail})
        if finding is not None:
            self.outcome.findings.append(finding)
        return events

    def _judged(self, row: TraceRow) -> None:
        if row.verdict.agrees:
            return
        first = row.verdict.disagreements[0]
        finding = self.ctx.finding(
            CODE, row.loc, finding_message(row), object=first.relation or row.revision,
            data={"revision": row.revision, "sql": row.sql,
                  "disagreements": [d.to_json() for d in row.verdict.disagreements],
                  "postgres_version": self.checker.report.version})
        if finding is not None:
            self.outcome.findings.append(finding)

    def _seed(self, rev: str) -> None:
        schema = self.snapshot()
        seeded = self._with_connection(
            lambda conn: self.seeder.seed(conn, schema, self.namespace))
        self.outcome.seeded[rev] = seeded
        self.ev.note(f"seeded after {rev}: {seeded.describe()}")

    def _with_connection(self, body: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        import psycopg

        from b03lint.live.connect import explain

        try:
            with self.connect() as conn:
                return body(conn)
        except psycopg.Error as exc:
            raise explain(exc, "seeding the scratch database with rows") from None

    def _upgrade_loc(self, rev: str) -> Location:
        from b03lint.live.tracecheck import _upgrade_line

        mf = self.ctx.project.graph.nodes.get(rev)
        if mf is None:
            return Location("alembic.ini", 1, 0)
        return Location(mf.path, _upgrade_line(mf), 0)
