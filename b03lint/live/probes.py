"""Behavioural probes of CHECK value sets (guide section 3.4), on scratch databases only.

For every canonical CHECK of the form ``col IN (...)``, one INSERT per allowed value (it must
succeed) and one per forbidden value (it must fail on that column's CHECK): the values
other CHECKs on that column allowed somewhere in the chain or allow in the database, and one
made-up value. Each INSERT runs in a savepoint that is rolled back at once, inside a
transaction that is rolled back at the end: the database is left as it was.

The row is completed with generated values: every other NOT NULL column without a default
gets a value of its type (the first allowed value of its own CHECK value set when it has
one); foreign keys get parent rows, inserted first in the same savepoint (recursively);
the tenant column (``tenant_id``) of every row gets one generated tenant id per probe, and
every ``current_setting('...')`` that a policy reads is set to it, so row-level security
admits the rows even for a role that RLS applies to. Identifiers are quoted
(``psycopg.sql.Identifier``) and values are always parameters.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from b03lint.operations import AddColumn, AddConstraint, CreateTable, MigrationFile
from b03lint.schema.model import Constraint, Schema, Table

if TYPE_CHECKING:
    import psycopg

#: how deep parent rows may nest (foreign keys of foreign keys ...)
MAX_DEPTH = 8
_SETTING_RE = re.compile(r"current_setting\(\s*'([^']+)'")
_NUMBER_RE = re.compile(r"^-?\d+$")


@dataclass(frozen=True)
class Probe:
    table: str
    column: str
    #: the canonical constraint whose value set is probed
    constraint: str
    value: str
    #: whether the canonical schema allows the value
    allowed: bool


@dataclass
class ProbeOutcome:
    probe: Probe
    #: True accepted, False rejected by the column's CHECK (or its type), None inconclusive
    accepted: bool | None
    error: str | None = None
    #: the INSERT statements run, values rendered as literals (for the transcript)
    statements: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.accepted is not None and self.accepted == self.probe.allowed

    def describe(self) -> str:
        p = self.probe
        want = "accept" if p.allowed else "reject"
        got = ("accepted" if self.accepted else "rejected" if self.accepted is False
               else "inconclusive")
        line = f"{p.table}.{p.column} = '{p.value}': {got} (must {want})"
        return line + (f": {self.error}" if self.error else "")


class ProbeError(Exception):
    """A row could not be built (a foreign key to a table the probe cannot fill)."""


def value_history(files: Iterable[MigrationFile]) -> dict[tuple[str, str], set[str]]:
    """Every value any CHECK value set on ``(table, column)`` allowed anywhere in the chain
    (upgrades and downgrades): the values most likely to sneak back in."""
    from b03lint.readers.sql import analyze_check

    out: dict[tuple[str, str], set[str]] = {}

    def add(table: str, column: str | None, values: tuple[str, ...] | None) -> None:
        if column and values:
            out.setdefault((table, column), set()).update(values)

    for mf in files:
        for op in mf.operations:
            if isinstance(op, CreateTable):
                for con in op.constraints:
                    add(op.table, con.enum_column, con.enum_values)
                for col in op.columns:
                    if col.check:
                        info = analyze_check(col.check)
                        add(op.table, info.column, info.values)
            elif isinstance(op, AddConstraint):
                add(op.table, op.constraint.enum_column, op.constraint.enum_values)
            elif isinstance(op, AddColumn) and op.column.check:
                info = analyze_check(op.column.check)
                add(op.table, info.column, info.values)
    return out


def _enum_checks(table: Table) -> list[Constraint]:
    return [c for c in table.constraints.values()
            if c.kind == "check" and c.enum_column and c.enum_values]


def _length(type_name: str | None) -> int | None:
    m = re.match(r"^(?:varchar|char)\((\d+)\)$", type_name or "")
    return int(m.group(1)) if m else None


def _made_up(taken: set[str], type_name: str | None) -> str:
    """A value outside ``taken`` that fits the column's type."""
    if taken and all(_NUMBER_RE.match(v) for v in taken):
        return str(max(int(v) for v in taken) + 1)
    limit = _length(type_name) or 64
    for candidate in ("b03lint_probe", "probe", "zz", "z", "Z", "_", "~", "!"):
        cut = candidate[:limit]
        if cut and cut not in taken:
            return cut
    return "b03lint_probe"[:limit]


def plan(canonical: Schema, live: Schema,
         history: dict[tuple[str, str], set[str]]) -> list[Probe]:
    """The probes to run: canonical CHECK value sets on tables and columns the live
    database has."""
    probes: list[Probe] = []
    for tname, ct in sorted(canonical.tables.items()):
        lt = live.tables.get(tname)
        if lt is None:
            continue
        for con in _enum_checks(ct):
            col = con.enum_column
            assert col is not None and con.enum_values is not None
            if col not in lt.columns:
                continue
            allowed = list(con.enum_values)
            others: set[str] = set(history.get((tname, col), set()))
            for lc in _enum_checks(lt):
                if lc.enum_column == col:
                    others.update(lc.enum_values or ())
            forbidden = sorted(others - set(allowed))
            forbidden.append(_made_up(set(allowed) | others, lt.columns[col].type))
            probes += [Probe(tname, col, con.name, v, True) for v in allowed]
            probes += [Probe(tname, col, con.name, v, False) for v in forbidden]
    return probes


def _generated(type_name: str | None, n: int, enums: dict[str, tuple[str, ...]]) -> str | None:
    """A value of the type, in PostgreSQL's input syntax (passed as an untyped parameter)."""
    t = (type_name or "").lower()
    base = t.split("(")[0]
    if t.endswith("[]"):
        return "{}"
    if enums.get(base):
        return enums[base][0]
    if base in ("varchar", "char", "text", "citext", "name"):
        limit = _length(t)
        text = f"p{n}"
        return text[-limit:] if limit else text
    if base in ("integer", "bigint", "smallint"):
        return str(n)
    if base in ("numeric", "real", "double precision", "money"):
        return "1"
    if base == "uuid":
        return str(uuid.uuid4())
    if base == "boolean":
        return "true"
    if base in ("timestamptz", "timestamp", "date"):
        return "now"
    if base in ("time", "timetz"):
        return "00:00"
    if base == "interval":
        return "1 day"
    if base in ("json", "jsonb"):
        return "{}"
    if base in ("inet", "cidr"):
        return "127.0.0.1"
    if base == "bytea":
        return ""
    return None


class _Rows:
    """Inserts a row of a table and the parent rows its foreign keys need."""

    def __init__(self, conn: psycopg.Connection[Any], live: Schema, tenant_column: str,
                 tenant: uuid.UUID):
        self.conn = conn
        self.live = live
        self.tenant_column = tenant_column
        self.tenant = tenant
        self.counter = 0
        #: (table, referenced values) of parent rows already inserted in this probe
        self.inserted: set[tuple[str, tuple[str, ...]]] = set()
        self.statements: list[str] = []

    def value_for(self, table: Table, column: str) -> str | None:
        for con in _enum_checks(table):
            if con.enum_column == column and con.enum_values:
                return con.enum_values[0]
        self.counter += 1
        return _generated(table.columns[column].type, self.counter, self.live.enums)

    def insert(self, tname: str, overrides: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        from psycopg import sql

        table = self.live.tables.get(tname)
        if table is None or depth > MAX_DEPTH:
            raise ProbeError(f"cannot generate a row of {tname} (foreign keys too deep or "
                             "to a table outside the schema)")
        values: dict[str, Any] = dict(overrides)
        if self.tenant_column in table.columns and self.tenant_column not in values:
            values[self.tenant_column] = self.tenant
        for con in table.constraints.values():
            ref = con.references
            if con.kind != "foreign_key" or ref is None:
                continue
            cols = con.columns
            have = all(c in values for c in cols)
            needed = have or any(not table.columns[c].nullable for c in cols
                                 if c in table.columns)
            if not needed or len(ref.columns) != len(cols):
                continue
            if have:
                key = (ref.table, tuple(str(values[c]) for c in cols))
                if key not in self.inserted and ref.table != tname:
                    self.inserted.add(key)
                    self.insert(ref.table, {rc: values[c] for c, rc in zip(cols, ref.columns, strict=True)},
                                depth + 1)
                continue
            parent = self.insert(ref.table, {rc: values[c] for c, rc in zip(cols, ref.columns, strict=True)
                                             if c in values}, depth + 1)
            for c, rc in zip(cols, ref.columns, strict=True):
                values[c] = parent[rc]
            self.inserted.add((ref.table, tuple(str(values[c]) for c in cols)))
        for name, col in table.columns.items():
            if name in values or col.nullable or col.default is not None or col.identity:
                continue
            generated = self.value_for(table, name)
            if generated is None:
                raise ProbeError(f"cannot generate a value of type {col.type} for "
                                 f"{tname}.{name}")
            values[name] = generated
        target = sql.Identifier(tname)
        if values:
            query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING *").format(
                target, sql.SQL(", ").join(map(sql.Identifier, values)),
                sql.SQL(", ").join(sql.Placeholder() * len(values)))
            shown = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                target, sql.SQL(", ").join(map(sql.Identifier, values)),
                sql.SQL(", ").join(sql.Literal(str(v)) for v in values.values()))
        else:
            query = sql.SQL("INSERT INTO {} DEFAULT VALUES RETURNING *").format(target)
            shown = sql.SQL("INSERT INTO {} DEFAULT VALUES").format(target)
        self.statements.append(shown.as_string(self.conn) + ";")
        cur = self.conn.execute(query, list(values.values()))
        row = cur.fetchone()
        names = [d.name for d in cur.description or ()]
        return dict(zip(names, row or (), strict=False))


def run(conn: psycopg.Connection[Any], probes: list[Probe], live: Schema, *,
        tenant_column: str = "tenant_id", statement_timeout_ms: int = 30_000) -> list[ProbeOutcome]:
    """Run ``probes`` on ``conn`` (autocommit off or on; everything is rolled back).
    Connection-level failures (server gone, timeout) propagate as psycopg errors."""
    from psycopg import errors

    settings = sorted({m.group(1) for t in live.tables.values() for p in t.policies.values()
                       for text in (p.using, p.with_check) if text
                       for m in _SETTING_RE.finditer(text)})
    outcomes: list[ProbeOutcome] = []
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT pg_catalog.set_config('statement_timeout', %s, true)",
                     (f"{int(statement_timeout_ms)}ms",))
        for probe in probes:
            tenant = uuid.uuid4()
            rows = _Rows(conn, live, tenant_column, tenant)
            outcome = ProbeOutcome(probe, None)
            try:
                with conn.transaction(force_rollback=True):
                    for name in settings:
                        conn.execute("SELECT pg_catalog.set_config(%s, %s, true)",
                                     (name, str(tenant)))
                    rows.insert(probe.table, {probe.column: probe.value})
                outcome.accepted = True
            except errors.CheckViolation as exc:
                outcome.error = _one_line(exc)
                violated = exc.diag.constraint_name
                table = live.tables[probe.table]
                on_column = {c.name for c in table.constraints.values() if c.kind == "check"
                             and (c.enum_column == probe.column or re.search(
                                 rf"\b{re.escape(probe.column)}\b", c.expression or ""))}
                outcome.accepted = False if violated in on_column else None
            except errors.StringDataRightTruncation as exc:
                # generated values always fit: the probed value is too long for its column
                outcome.error = _one_line(exc)
                outcome.accepted = False
            except (errors.InvalidTextRepresentation, errors.NumericValueOutOfRange) as exc:
                # the column's own type refuses the value (or a generated one: inconclusive)
                outcome.error = _one_line(exc)
                outcome.accepted = False if probe.value in str(exc) else None
            except ProbeError as exc:
                outcome.error = str(exc)
            except (errors.OperationalError, errors.InsufficientPrivilege):
                raise
            except errors.Error as exc:
                outcome.error = _one_line(exc)
            outcome.statements = rows.statements
            outcomes.append(outcome)
    return outcomes


def _one_line(exc: BaseException) -> str:
    diag = getattr(exc, "diag", None)
    text = getattr(diag, "message_primary", None) or str(exc)
    return " ".join(str(text).split())

