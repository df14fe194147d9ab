"""``b03lint rebuild``: the guide's scratch rebuild (sections 3.1, 4.2, 6), automated.

1. A uniquely named scratch database (``b03lint_scratch_<host>_<pid>_<start>_<random>``,
   :mod:`b03lint.live.orphans`) on the server of ``--database-url``, or on a throwaway local
   cluster (:mod:`b03lint.live.localpg`) when there is none. An existing database is never
   touched.
2. ``alembic upgrade REV`` through Alembic's API (``alembic.config.Config`` of the project's
   ``alembic.ini``, ``alembic.command``), with ``DATABASE_URL`` set for ``env.py``, in a
   child process b03lint supervises (:mod:`b03lint.live.supervise`,
   :mod:`b03lint.live.child`): every connection user code opens must be the scratch
   database (else nothing is sent and the run ends, exit 2), and ``sys.exit``,
   ``os._exit``, a crash or a hang (``--migration-timeout``) is an ``M003`` at the revision
   that did it, with the verdict ERROR.
3. Introspection, then two comparisons: with the canonical schema (the contract rules,
   classified by the drift register as of REV) and with b03lint's static replay at REV
   (``M001``: the replay is wrong).
4. Optionally the behavioural probes (``M002``) and the downgrade/upgrade round trip
   (``M003`` failures, ``M004`` residues); optionally the evidence artefacts.

The scratch database is dropped (its other sessions terminated first) and the local cluster
stopped on success, on failure, on Ctrl-C and on SIGTERM. Failures of the environment (no
server, a lost connection, a statement timeout, a missing privilege) are errors (exit 2)
with one clear, password-free line; a migration that raises is a finding (``M003``).
SIGHUP (a closed terminal) is handled like SIGTERM. A local cluster has a watchdog that
stops it if b03lint dies without cleaning up (SIGKILL); a scratch database left on a server
that way is reported by every later rebuild on that server and removed by
``b03lint rebuild --clean`` (:func:`clean`), which never removes a live run's.
"""

from __future__ import annotations

import contextlib
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from b03lint.config import Config
from b03lint.contract import classify, replay_chain
from b03lint.engine import Result
from b03lint.findings import Finding, ToolError, sort_findings
from b03lint.live import LiveError, MigrationFailure, require
from b03lint.live.compare import Context, contract_findings, load_context, replay_findings
from b03lint.live.connect import Target, explain
from b03lint.live.evidence import Evidence, table
from b03lint.live.introspect import DEFAULT_TIMEOUT_MS, introspect
from b03lint.live.orphans import Leftover, cluster_folders, comment, scratch_name
from b03lint.live.probes import ProbeOutcome
from b03lint.live.redact import scrub
from b03lint.live.supervise import MigrationAborted, MigrationProcess
from b03lint.live.tracerun import Events
from b03lint.operations import Location
from b03lint.schema.diff import Deviation
from b03lint.schema.model import Schema

if TYPE_CHECKING:
    from b03lint.live.localpg import PostgresCluster

MIGRATION_TIMEOUT_MS = 600_000
#: signals that end a run like Ctrl-C does (cleanup first)
TERMINATING = (signal.SIGTERM, signal.SIGHUP)


@dataclass
class Options:
    url: str | None = None
    #: where the URL came from (``--database-url``, ``$DATABASE_URL``), for messages
    url_source: str = "the database URL"
    rev: str = "head"
    schema: str = "public"
    roundtrip: bool = False
    #: revisions to round-trip (None: down to ``baseline_revision``, else all)
    steps: int | None = None
    probes: bool = False
    evidence: Path | None = None
    alembic_ini: Path | None = None
    statement_timeout_ms: int = DEFAULT_TIMEOUT_MS
    #: how long one alembic command may run in the migration process before it is killed
    migration_timeout_ms: int = MIGRATION_TIMEOUT_MS
    #: upgrade one revision at a time on seeded tables, every statement traced and judged
    #: by the lock model (b03lint.live.tracerun)
    trace: bool = False
    verbose: bool = False


@dataclass
class Outcome:
    result: Result = field(default_factory=Result)
    #: the scratch database (label, no credentials)
    database: str = ""
    revision: str | None = None
    probes: list[ProbeOutcome] = field(default_factory=list)
    evidence_files: list[str] = field(default_factory=list)
    #: scrubbed traceback of the failure, for --debug
    debug: str = ""
    #: scratch databases and cluster folders of dead runs seen (``rebuild --clean``)
    orphans: list[Leftover] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        if not self.orphans:
            return []
        names = ", ".join(Path(o.name).name for o in self.orphans)
        return [f"{len(self.orphans)} leftover(s) of dead b03lint runs seen: {names}; "
                "`b03lint rebuild --clean` removes them"]
    #: the lock trace (``--trace``): a :class:`b03lint.live.tracerun.TraceOutcome`
    trace: Any = None

    def to_json(self) -> dict[str, Any]:
        out = self.result.to_json()
        out["mode"] = "rebuild"
        out["database"] = self.database
        out["revision"] = self.revision
        out["orphans"] = [o.to_json() for o in self.orphans]
        out["probes"] = [
            {"table": o.probe.table, "column": o.probe.column,
             "constraint": o.probe.constraint, "value": o.probe.value,
             "expected": "accepted" if o.probe.allowed else "rejected",
             "outcome": ("accepted" if o.accepted else "rejected" if o.accepted is False
                         else "inconclusive"),
             "error": o.error}
            for o in self.probes]
        if self.trace is not None:
            out["trace"] = self.trace.to_json()
        return out


# --------------------------------------------------------------------------- signals


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal) behave like Ctrl-C (``KeyboardInterrupt``), so
    that cleanup runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = {signum: signal.signal(signum, on_term) for signum in TERMINATING}
    try:
        yield
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait while creating or cleaning up (a second Ctrl-C must
    not leave a database or a server behind); they take effect right after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def defer(signum: int, frame: Any) -> None:
        caught.append(signum)

    old = {signum: signal.signal(signum, defer) for signum in (signal.SIGINT, *TERMINATING)}
    try:
        yield
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)
        if caught and sys.exc_info()[0] is None:
            raise KeyboardInterrupt


# --------------------------------------------------------------------------- server


@contextlib.contextmanager
def server(url: str | None, ev: Evidence, source: str = "the database URL"
           ) -> Iterator[Target]:
    """The server to work on: ``url``'s, or a throwaway local cluster (stopped and removed
    on exit)."""
    if url:
        yield Target.parse(url, source)
        return
    from subprocess import SubprocessError

    from b03lint.live.localpg import PostgresCluster, PostgresClusterError, PostgresUnavailable

    try:
        cluster = PostgresCluster(tcp=False, create_os_user=False)
    except PostgresUnavailable as exc:
        raise LiveError(f"no --database-url and no local PostgreSQL to start: {exc}") from None
    ev.command(f"initdb + pg_ctl start (throwaway local cluster, {cluster.bindir})")
    try:
        try:
            with shielded():
                cluster.start()
        except (PostgresClusterError, PostgresUnavailable, OSError, SubprocessError) as exc:
            raise LiveError(scrub(f"cannot start a local PostgreSQL: {exc}")) from None
        ev.note(f"local cluster running in {cluster.root} (socket only)")
        yield Target.parse(cluster.url("postgres"))
    finally:
        _stop(cluster, ev)


def _stop(cluster: PostgresCluster, ev: Evidence) -> None:
    with shielded():
        if cluster.root is not None:
            ev.command("pg_ctl stop -m immediate (and remove the cluster folder)")
        cluster.stop()


class Scratch:
    """A scratch database of our own: created only if the name is free, dropped by us."""

    def __init__(self, server: Target, ev: Evidence):
        self.server = server
        self.ev = ev
        #: named after this run (host, pid, start time: b03lint.live.orphans)
        self.name = scratch_name()
        self.created = False
        #: the scratch databases of other runs seen on the server
        self.others: list[Leftover] = []

    @property
    def target(self) -> Target:
        return self.server.with_dbname(self.name)

    def create(self) -> None:
        import psycopg
        from psycopg import sql

        from b03lint.live.orphans import scratch_databases

        with self.server.connect() as conn:
            try:
                self.others = [o for o in scratch_databases(conn) if o.name != self.name]
                found = conn.execute("SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s",
                                     (self.name,)).fetchone()
                if found:
                    raise LiveError(f"database {self.name} already exists on "
                                    f"{self.server.label()}; b03lint never touches an "
                                    "existing database")
                self.ev.command(f"createdb {self.name}")
                with shielded():
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(
                        sql.Identifier(self.name)))
                    self.created = True
                with contextlib.suppress(psycopg.Error):
                    conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                        sql.Identifier(self.name), sql.Literal(comment())))
            except psycopg.errors.DuplicateDatabase:
                raise LiveError(f"database {self.name} already exists on "
                                f"{self.server.label()}; b03lint never touches an existing "
                                "database") from None
            except psycopg.Error as exc:
                raise explain(exc, f"cannot create the scratch database on "
                                   f"{self.server.label()}") from None

    def drop(self) -> str | None:
        """Drop it (terminating its other sessions first); the error message if that
        failed."""
        if not self.created:
            return None
        import psycopg
        from psycopg import sql

        with shielded():
            self.ev.command(f"dropdb {self.name}")
            last = ""
            for attempt in range(3):
                try:
                    with self.server.connect() as conn:
                        conn.execute("SELECT pg_catalog.pg_terminate_backend(pid) FROM "
                                     "pg_catalog.pg_stat_activity WHERE datname = %s AND pid "
                                     "<> pg_catalog.pg_backend_pid()", (self.name,))
                        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(self.name)))
                    self.created = False
                    return None
                except LiveError as exc:
                    last = str(exc)
                except psycopg.Error as exc:
                    last = str(explain(exc, "DROP DATABASE"))
                time.sleep(0.2 * (attempt + 1))
        message = (f"could not drop the scratch database {self.name} on "
                   f"{self.server.label()}: {last}; drop it by hand")
        self.ev.note(message)
        return scrub(message)


# --------------------------------------------------------------------------- the run


def rebuild(config: Config, opts: Options) -> Outcome:
    """The whole run; never raises for the environment (errors land in the result). Ctrl-C,
    SIGTERM and SIGHUP clean up and return an interrupted result (exit 130, verdict
    ERROR)."""
    outcome = Outcome()
    result = outcome.result
    ev = Evidence(echo=_stderr() if opts.verbose else None)
    try:
        require("psycopg", "alembic")
        ctx = load_context(config)
        _Run(config, opts, ctx, outcome, ev).run()
    except LiveError as exc:
        result.errors.append(ToolError(scrub(str(exc))))
        outcome.debug = scrub(traceback.format_exc())
    except KeyboardInterrupt:
        # cleanup has run (the ExitStack of _Run.run); what was found so far is kept, but
        # a run cut short is never a PASS, in the report or in the evidence
        result.interrupted = True
        result.errors.append(ToolError("interrupted before the rebuild finished (the "
                                       "scratch database and local server were cleaned up)"))
    finally:
        result.findings = sort_findings(result.findings)
        result.errors = [ToolError(scrub(e.message), e.path, e.line, e.column)
                         for e in result.errors]
        ev.report = outcome.to_json()
        if opts.evidence is not None:
            try:
                outcome.evidence_files = ev.write(opts.evidence)
            except OSError as exc:
                result.errors.append(ToolError(f"cannot write evidence: {exc.strerror}",
                                               str(opts.evidence)))
    return outcome


def _stderr() -> Any:
    return sys.stderr


class _Run:
    def __init__(self, config: Config, opts: Options, ctx: Context, outcome: Outcome,
                 ev: Evidence):
        self.config = config
        self.opts = opts
        self.ctx = ctx
        self.outcome = outcome
        self.result = outcome.result
        self.ev = ev
        self.db: Target | None = None
        #: the trace events of the migration process (``--trace``)
        self.traced: Events | None = Events() if opts.trace else None

    # ------------------------------------------------------------------ helpers

    def add(self, finding: Finding | None) -> None:
        if finding is not None:
            self.result.findings.append(finding)

    def snapshot(self) -> Schema:
        assert self.db is not None
        import psycopg

        try:
            with self.db.connect() as conn:
                return introspect(conn, self.db.label(), schema=self.opts.schema,
                                  statement_timeout_ms=self.opts.statement_timeout_ms).schema
        except psycopg.Error as exc:
            raise explain(exc, f"cannot read the catalog of {self.db.label()}") from None

    def revision_loc(self, revision: str | None, function: str | None = None) -> Location:
        graph = self.ctx.project.graph
        if revision is None or revision not in graph.nodes:
            return Location(str(self.opts.alembic_ini or "alembic.ini"), 1, 0)
        path = graph.nodes[revision].path
        line = 1
        if function is not None:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                text = Path(path).read_text(encoding="utf-8")
                m = re.search(rf"^def {function}\b", text, re.MULTILINE)
                if m:
                    line = text[: m.start()].count("\n") + 1
        return Location(path, line, 0)

    def failed(self, failure: MigrationFailure) -> None:
        where = failure.revision or (Path(failure.path).name if failure.path else
                                     "a revision")
        loc = (Location(failure.path, failure.line, 0) if failure.path and failure.line
               else self.revision_loc(failure.revision, failure.verb))
        self.add(self.ctx.finding(
            "M003", loc, f"alembic {failure.verb} {failure.target} failed in {where}: "
                         f"{failure.detail}",
            object=failure.revision, data={"revision": failure.revision,
                                           "phase": failure.verb}))
        self.ev.note(f"FAILED: alembic {failure.verb} {failure.target} ({where}): "
                     f"{failure.detail}", roundtrip=True)

    # ------------------------------------------------------------------ steps

    def run(self) -> None:
        ctx, opts, result = self.ctx, self.opts, self.result
        state = ctx.state
        result.errors.extend(ctx.errors)
        if state.canonical.schema is None and not result.errors:
            result.errors.append(ToolError("no canonical schema is configured (set "
                                           "canonical_sql or canonical_yaml)"))
        graph = ctx.project.graph
        try:
            target = graph.resolve(opts.rev)
        except KeyError as exc:
            result.errors.append(ToolError(f"--rev: {exc.args[0]}"))
            return
        if target == "base":
            result.errors.append(ToolError("--rev base: nothing to rebuild"))
            return
        if opts.trace and opts.roundtrip:
            result.errors.append(ToolError("--trace and --roundtrip: run them separately (the "
                                           "trace upgrades one revision at a time on seeded "
                                           "tables)"))
            return
        if result.errors:
            return
        self.outcome.revision = target
        env = self.config.env
        ini = opts.alembic_ini or (env.alembic_ini if env is not None else None) or \
            self.config.root / "alembic.ini"
        section = (env.alembic_section if env is not None else None) or "alembic"
        with interruptible(), contextlib.ExitStack() as stack:
            srv = stack.enter_context(server(opts.url, self.ev, opts.url_source))
            scratch = Scratch(srv, self.ev)
            stack.callback(self._drop, scratch)
            scratch.create()
            self.orphans(scratch)
            self.db = scratch.target
            self.outcome.database = self.db.label()
            runner = MigrationProcess(ini, self.db, self.ev, ctx, section,
                                      timeout_ms=opts.migration_timeout_ms,
                                      on_trace=self.traced)
            stack.callback(runner.close)
            runner.start()
            if not runner.known(target):
                raise LiveError(f"Alembic ({ini.name}) does not know revision {target}, which "
                                f"b03lint read from {graph.nodes[target].path}")
            self.build(runner, target)

    def orphans(self, scratch: Scratch) -> None:
        """What dead runs left on this server (and in the temporary folder): reported, not
        touched (``rebuild --clean`` removes them)."""
        found = [o for o in scratch.others if o.status == "orphan"]
        found += [o for o in cluster_folders() if o.status == "orphan"]
        self.outcome.orphans = found
        for o in found:
            self.ev.note(f"leftover of a dead run: {o.name} ({o.detail})")

    def _drop(self, scratch: Scratch) -> None:
        error = scratch.drop()
        if error:
            self.result.errors.append(ToolError(error))

    def build(self, runner: MigrationProcess, target: str) -> None:
        """The rebuild proper; user code that ends or hangs the migration process is an
        ``M003`` at its revision and an error (the run stops there)."""
        try:
            self._build(runner, target)
        except MigrationAborted as aborted:
            self.failed(aborted.failure)
            self.result.errors.append(ToolError(aborted.error))

    def _build(self, runner: MigrationProcess, target: str) -> None:
        from b03lint.live import roundtrip

        opts = self.opts
        steps: list[roundtrip.Step] = []
        refs: dict[str, Schema] = {}
        try:
            if opts.roundtrip:
                baseline = self.config.get("baseline_revision")
                if baseline:
                    try:
                        baseline = self.ctx.project.graph.resolve(str(baseline))
                    except KeyError:
                        baseline = None
                steps = roundtrip.plan(runner.parents, target, opts.steps,
                                       str(baseline) if baseline else None)
                refs = roundtrip.build_references(steps, runner.migrate, self.snapshot, self.ev)
            if target not in refs:
                self.upgrade(runner, target)
                refs[target] = self.snapshot()
        except MigrationFailure as failure:
            self.failed(failure)
            return
        live = refs[target]
        self.ev.note(f"introspected {len(live.tables)} table(s), {len(live.indexes)} "
                     f"index(es) of schema {opts.schema} at {target}")
        self.compare(live, target)
        self.verification()
        if opts.probes:
            self.probe(live, target)
        if opts.roundtrip:
            self.ev.note(f"round trip of {len(steps)} revision(s): "
                         f"{', '.join(s.revision for s in steps)}", roundtrip=True)
            runner.in_roundtrip = True
            try:
                residues, failures = roundtrip.walk(steps, refs, runner.migrate, self.snapshot,
                                                    self.ev)
            finally:
                runner.in_roundtrip = False
            for failed in failures:
                self.failed(failed)
            for residue in residues:
                loc = self.revision_loc(residue.revision, residue.phase)
                self.add(self.ctx.finding(
                    "M004", loc, residue.message(), object=residue.objects[0] if len(
                        residue.objects) == 1 else residue.revision,
                    data={"revision": residue.revision, "phase": residue.phase,
                          "objects": residue.objects}))

    def upgrade(self, runner: MigrationProcess, target: str) -> None:
        """``alembic upgrade target``; with ``--trace`` one revision at a time, traced."""
        if self.traced is None:
            runner.migrate("upgrade", target)
            return
        from b03lint.live.tracerun import TraceRun

        db = self.db
        assert db is not None
        run = TraceRun(self.ctx, self.ev, lambda: db.connect(autocommit=False), self.snapshot,
                       namespace=self.opts.schema)
        self.outcome.trace = run.outcome
        try:
            run.upgrade(self.ctx.project.graph.upto(target), self.traced.stepper(runner))
        finally:
            self.result.findings += run.outcome.findings
            self.ev.lock_trace(run.outcome.render_text())

    def compare(self, live: Schema, target: str) -> None:
        assert self.db is not None
        self.result.findings += contract_findings(self.ctx, live, target)
        replay = replay_chain(self.ctx.project.graph, target, f"replay at {target}")
        mismatches = replay_findings(self.ctx, live, replay, target, self.db.label())
        self.result.findings += mismatches
        self.ev.note(f"live vs canonical and vs the static replay at {target}: "
                     f"{len(mismatches)} replay difference(s)")

    def probe(self, live: Schema, target: str) -> None:
        import psycopg

        from b03lint.live import probes

        assert self.db is not None
        canonical = self.ctx.state.canonical.schema
        assert canonical is not None
        history = probes.value_history(self.ctx.project.files)
        planned = probes.plan(canonical, live, history)
        self.ev.command(f"behavioural probes: {len(planned)} INSERT(s), each in a savepoint "
                        "rolled back at once")
        try:
            with self.db.connect(autocommit=False) as conn:
                outcomes = probes.run(conn, planned, live,
                                      tenant_column=str(self.config.get("tenant_column")),
                                      statement_timeout_ms=self.opts.statement_timeout_ms)
        except psycopg.Error as exc:
            raise explain(exc, f"behavioural probes on {self.db.label()}") from None
        self.outcome.probes = outcomes
        self.ev.verification("-- Behavioural probes (guide 3.4): each INSERT in a SAVEPOINT, "
                             "rolled back at once")
        for o in outcomes:
            self.ev.verification("\n".join(o.statements) or "-- (no statement)")
            self.ev.verification(f"-- => {o.describe()}\n")
        replay = replay_chain(self.ctx.project.graph, target)
        state = self.ctx.state
        for o in outcomes:
            if o.ok:
                continue
            p = o.probe
            origin = None
            for schema in (replay.schema, live, canonical):
                t = schema.tables.get(p.table)
                con = next((c for c in t.constraints.values()
                            if c.kind == "check" and c.enum_column == p.column), None) if t else None
                if con is not None and con.origin is not None:
                    origin = con.origin
                    break
            loc = origin.loc if origin is not None else Location(self.db.label(), 0, 0)
            if o.accepted is None:
                message = f"probe inconclusive: {o.describe()}"
                severity: Any = "warning"
                note = ""
            else:
                verdict = ("allowed value rejected" if p.allowed else
                           "forbidden value accepted")
                message = (f"{verdict}: {p.table}.{p.column} = '{p.value}' was "
                           f"{'accepted' if o.accepted else 'rejected'}; canonical "
                           f"{p.constraint} {'allows' if p.allowed else 'does not allow'} it")
                if o.error:
                    message += f" ({o.error})"
                item = classify(Deviation("probe", f"{p.table}.{p.column}", message,
                                          aliases=(p.constraint, f"{p.table}.{p.constraint}")),
                                state.register, self.ctx.project.graph, target)
                severity = item.severity
                note = f" [{item.note}]" if item.note else ""
            data: dict[str, object] = {"value": p.value, "allowed": p.allowed,
                                       "outcome": o.describe(), "constraint": p.constraint}
            if origin is not None and origin.revision:
                data["revision"] = origin.revision
            self.add(self.ctx.finding("M002", loc, message + note,
                                      object=f"{p.table}.{p.column}", severity=severity,
                                      data=data))

    def verification(self) -> None:
        """The guide's psql checks (4.4): index definitions, RLS."""
        assert self.db is not None
        import psycopg

        try:
            with self.db.connect() as conn:
                indexes = conn.execute(
                    "SELECT tablename, indexname, indexdef FROM pg_catalog.pg_indexes "
                    "WHERE schemaname = %s ORDER BY tablename, indexname",
                    (self.opts.schema,)).fetchall()
                rls = conn.execute(
                    "SELECT c.relname AS table_name, c.relrowsecurity AS row_security, "
                    "c.relforcerowsecurity AS force_row_security FROM pg_catalog.pg_class c "
                    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 1",
                    (self.opts.schema,)).fetchall()
        except psycopg.Error as exc:
            raise explain(exc, f"verification queries on {self.db.label()}") from None
        self.ev.verification(f"-- {self.db.label()}: index definitions (INCLUDE columns "
                             "shown), guide 4.4")
        self.ev.verification("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE "
                             f"schemaname = '{self.opts.schema}' ORDER BY 1, 2;")
        self.ev.verification(table(["tablename", "indexname", "indexdef"], indexes) + "\n")
        self.ev.verification("-- row level security (enabled and forced), guide 4.3")
        self.ev.verification("SELECT c.relname AS table_name, c.relrowsecurity AS row_security,"
                             " c.relforcerowsecurity AS force_row_security FROM pg_class c "
                             "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
                             f"'{self.opts.schema}' AND c.relkind IN ('r', 'p') ORDER BY 1;")
        self.ev.verification(table(["table_name", "row_security", "force_row_security"], rls)
                             + "\n")


# --------------------------------------------------------------------------- --clean


@dataclass
class Cleaned:
    result: Result = field(default_factory=Result)
    server: str | None = None
    removed: list[Leftover] = field(default_factory=list)
    kept: list[Leftover] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = self.result.to_json()
        out["mode"] = "rebuild --clean"
        out["server"] = self.server
        out["removed"] = [o.to_json() for o in self.removed]
        out["kept"] = [o.to_json() for o in self.kept]
        return out

    @property
    def notes(self) -> list[str]:
        return ([f"removed {o.name}: {o.detail}" for o in self.removed]
                + [f"kept {o.name}: {o.detail}" for o in self.kept])


def clean(url: str | None, source: str = "the database URL") -> Cleaned:
    """``b03lint rebuild --clean``: remove the scratch databases (on ``url``'s server) and
    the local cluster folders of dead runs; list, never touch, those of live runs, of
    other hosts and of unknown makers."""
    out = Cleaned()
    from b03lint.live.localpg import PostgresCluster, PostgresUnavailable

    for item in cluster_folders():
        if item.status != "orphan":
            out.kept.append(item)
            continue
        try:
            with shielded():
                PostgresCluster.adopt(Path(item.name)).stop()
        except (OSError, PostgresUnavailable) as exc:
            out.result.errors.append(ToolError(f"cannot remove the cluster folder: {exc}",
                                               item.name))
            continue
        out.removed.append(item)
    if not url:
        return out
    require("psycopg")
    import psycopg
    from psycopg import sql

    from b03lint.live.orphans import scratch_databases

    srv = Target.parse(url, source)
    out.server = srv.label().rsplit("/", 1)[0]
    try:
        with srv.connect() as conn:
            for item in scratch_databases(conn):
                if item.status != "orphan":
                    out.kept.append(item)
                    continue
                try:
                    with shielded():
                        conn.execute("SELECT pg_catalog.pg_terminate_backend(pid) FROM "
                                     "pg_catalog.pg_stat_activity WHERE datname = %s",
                                     (item.name,))
                        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(item.name)))
                except psycopg.Error as exc:
                    out.result.errors.append(ToolError(str(explain(
                        exc, f"cannot drop the scratch database {item.name}"))))
                    continue
                out.removed.append(item)
    except psycopg.Error as exc:
        out.result.errors.append(ToolError(str(explain(exc, f"cannot list the scratch "
                                                            f"databases of {out.server}"))))
    except LiveError as exc:
        out.result.errors.append(ToolError(str(exc)))
    return out
