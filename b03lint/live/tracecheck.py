"""``rebuild --trace``: the lock model, statement by statement, against what the server did.

The migration process measures every statement Alembic sends (:func:`b03lint.live.trace.
install`). Here each statement is read by b03lint's SQL reader (bind parameters read as
NULL), judged by the lock model on the schema those statements built so far (a fold from
the empty scratch database, the way they ran), and compared with the measurement
(:func:`b03lint.live.tracecompare.compare`). A difference is a finding of its own, ``M005``, at
the static operation the statement came from when it can be matched, else at the
revision's ``upgrade()``: the model was wrong, and it is never hidden. What the server did
that the model does not predict (the ACCESS SHARE of catalog lookups, a foreign-key
check's ROW SHARE, the locks of a statement the model does not know) is listed.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from b03lint.live.trace import Observed
from b03lint.live.tracecompare import Statement, Verdict, compare, predict
from b03lint.operations import Location, MigrationFile, Operation
from b03lint.schema.replay import Folder

#: bind parameters of the drivers' paramstyles (pyformat, format, numeric)
_PARAM_RE = re.compile(r"%\(\w+\)s|%s|(?<![:\w]):\w+|\$\d+")
CODE = "M005"


def _readable(sql: str) -> str:
    return _PARAM_RE.sub("NULL", sql)


def _short(sql: str, width: int = 160) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass
class TraceRow:
    revision: str | None
    loc: Location
    sql: str
    autocommit: bool
    operations: list[str]
    prediction: Statement
    observed: Observed
    verdict: Verdict
    #: the statement was matched to an operation the static reader read
    matched: bool

    @property
    def status(self) -> str:
        if not self.verdict.agrees:
            return "disagrees"
        if not self.prediction.modelled:
            return "not modelled"
        return "verified" if self.verdict.verified else "nothing to verify"

    def to_json(self) -> dict[str, Any]:
        return {
            "revision": self.revision, "path": self.loc.path, "line": self.loc.line,
            "sql": self.sql, "autocommit": self.autocommit, "operations": self.operations,
            "matched_static_operation": self.matched, "status": self.status,
            "model": [e.to_json() for e in self.prediction.effects],
            "observed": self.observed.to_json(), **self.verdict.to_json(),
        }


@dataclass
class TraceReport:
    version: int | None = None
    rows: list[TraceRow] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {"verified": 0, "nothing to verify": 0, "not modelled": 0, "disagrees": 0}
        for r in self.rows:
            out[r.status] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {"postgres_version": self.version, "counts": self.counts(),
                "statements": [r.to_json() for r in self.rows]}

    def render_text(self) -> str:
        """Per statement: where it came from, the model's mode, rewrite and scan, what the
        server did, and whether they agree (``verified``, ``unverified``, ``DISAGREES``)."""
        counts = ", ".join(f"{n} {k}" for k, n in self.counts().items() if n)
        out = [f"Lock trace on PostgreSQL {self.version or '?'}: {len(self.rows)} statement(s)"
               + (f" ({counts})" if counts else "")]
        for r in self.rows:
            auto = " [autocommit]" if r.autocommit else ""
            out.append(f"  {r.revision or '?'} {r.loc.path}:{r.loc.line}{auto}  "
                       f"{_short(r.sql, 100)}")
            out.append(f"      model:    {_model(r)}")
            out.append(f"      server:   {_server(r.observed)}")
            out.append(f"      {r.status}" + (f": {', '.join(r.verdict.verified)}"
                                              if r.verdict.verified and r.verdict.agrees
                                              else ""))
            for d in r.verdict.disagreements:
                out.append(f"      DISAGREES {d.message()}")
            if r.verdict.unverified and r.prediction.modelled:
                out.append(f"      unverified: {', '.join(r.verdict.unverified)}")
            if r.verdict.unpredicted:
                out.append(f"      also (not predicted): {', '.join(r.verdict.unpredicted)}")
        return "\n".join(out) + "\n"


def _model(r: TraceRow) -> str:
    if not r.prediction.modelled:
        return "not modelled"
    locks = r.prediction.locks()
    mode = ", ".join(f"{m} on {t}" + (" (if rows need it)" if maybe else "")
                     for t, (m, maybe) in sorted(locks.items())) or "no table lock"
    rewrite = r.prediction.rewrite
    scan = r.prediction.scan
    return "; ".join([mode, "rewrites" if rewrite else "may rewrite" if rewrite is None
                      else "no rewrite",
                      *(["scans"] if scan and not rewrite else
                        ["may scan"] if scan is None and not rewrite else [])])


def _server(o: Observed) -> str:
    from b03lint.live.trace import strongest

    own = "alembic_version"  # Alembic's version table, locked by Alembic
    locks = [f"{strongest(ms)} on {t}" for t, ms in sorted(o.locks.items()) if t != own]
    locks += [f"{strongest(ms)} on {t} (held before)" for t, ms in sorted(o.held.items())
              if t not in o.locks and t != own]
    parts = [", ".join(locks) or "no table lock",
             ("rewrote " + ", ".join(sorted(o.rewritten))) if o.rewritten else "no rewrite"]
    if o.scanned:
        parts.append("scanned " + ", ".join(sorted(o.scanned)))
    if o.waited:
        parts.append("waited for other transactions")
    return "; ".join(parts) + ("" if o.complete else " (partly seen: " + o.how + ")")


def _upgrade_line(mf: MigrationFile) -> int:
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = Path(mf.path).read_text(encoding="utf-8")
        m = re.search(r"^def upgrade\b", text, re.MULTILINE)
        if m:
            return text[: m.start()].count("\n") + 1
    return 1


def _same(a: Operation, b: Operation) -> bool:
    if a.kind != b.kind or a.table_name != b.table_name:
        return False
    name_a, name_b = getattr(a, "name", None), getattr(b, "name", None)
    return name_a is None or name_b is None or name_a == name_b


class TraceChecker:
    """Judges the statements of a rebuild, revision by revision, in the order they ran."""

    def __init__(self, version: int | None = None):
        self.report = TraceReport(version)
        self.folder = Folder("rebuild --trace")

    def server(self, version: int) -> None:
        self.report.version = version

    def revision(self, revision: str | None, mf: MigrationFile | None,
                 statements: list[dict[str, Any]]) -> list[TraceRow]:
        """The rows of one revision's statements (the events of the migration process)."""
        from b03lint.pgmodel.locks import DEFAULT_VERSION
        from b03lint.readers.sql import read_sql

        version = self.report.version or DEFAULT_VERSION
        self.folder.revision = revision
        static = list(mf.upgrade_ops) if mf is not None else []
        used: set[int] = set()
        path = mf.path if mf is not None else "alembic.ini"
        fallback = Location(path, _upgrade_line(mf) if mf is not None else 1, 0)
        rows: list[TraceRow] = []
        for event in statements:
            sql = str(event.get("sql", ""))
            auto = bool(event.get("autocommit"))
            ops = list(read_sql(_readable(sql), path=path, phase="upgrade").operations)
            ops = [op if op.autocommit == auto else _with_autocommit(op, auto) for op in ops]
            loc, matched = fallback, False
            for op in ops:
                for i, candidate in enumerate(static):
                    if i not in used and _same(op, candidate):
                        used.add(i)
                        if not matched:
                            loc, matched = candidate.loc, True
                        break
            prediction = predict(ops, self.folder, version)
            observed = Observed.from_json(event.get("observed") or {})
            row = TraceRow(revision, loc, sql, auto, [op.describe() for op in ops],
                           prediction, observed, compare(prediction, observed), matched)
            rows.append(row)
        self.report.rows += rows
        return rows


def _with_autocommit(op: Operation, auto: bool) -> Operation:
    from dataclasses import replace

    return replace(op, autocommit=auto)


def finding_message(row: TraceRow) -> str:
    """The ``M005`` message of a row that disagrees."""
    what = "; ".join(d.message() for d in row.verdict.disagreements)
    return (f"{', '.join(row.operations) or _short(row.sql, 80)}: the lock model is wrong "
            f"here ({what}); the server's measurement is in the trace.")
