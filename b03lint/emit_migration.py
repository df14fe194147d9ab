"""Write a reconciliation migration: a new Alembic revision whose ``upgrade()`` turns the
replayed schema at a revision into the canonical schema, for the deviations SQL can
express, and whose ``downgrade()`` turns it back.

Policy for registered drift: a deviation under an **open** register entry awaits a
decision (an ADR), so only additive steps are emitted for it (a missing column is added
and back-filled from the column it was renamed to, a missing constraint is added); nothing
under an open entry is dropped or renamed. Destructive steps carry the guide's waiver
citing the register entry's ADR, or ``--adr``. Without either, or when that ADR has no file,
nothing is written and the command says which steps need one (exit 2): a migration it
writes is one the next ``b03lint check`` accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from b03lint.config import Config
from b03lint.contract import Classified, ContractState
from b03lint.schema.canonical_yaml import quote_ident
from b03lint.schema.emit import _Sql
from b03lint.schema.model import Column, Constraint, Index, Policy, Schema, Table

# statement buckets, in upgrade order
DROP_DEPENDENT, RENAME, CREATE, ALTER, ADD, RLS, POLICY, DROP_OBJECT = range(8)


@dataclass
class Step:
    bucket: int
    up: list[str]
    down: list[str]
    destructive_up: bool = False
    destructive_down: bool = False
    adr: str | None = None
    why: str = ""


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _q(name: str) -> str:
    return quote_ident(name)


class _Planner:
    def __init__(self, actual: Schema, expected: Schema, default_adr: str | None):
        self.a = actual
        self.e = expected
        self.a_sql = _Sql(actual, False)
        self.e_sql = _Sql(expected, False)
        self.default_adr = default_adr
        self.plan = Plan()

    def step(self, bucket: int, up: list[str], down: list[str], *, why: str,
             adr: str | None, destructive_up: bool = False,
             destructive_down: bool = False) -> None:
        self.plan.steps.append(Step(bucket, up, down, destructive_up, destructive_down,
                                    adr or self.default_adr, why))

    # -------------------------------------------------------------- SQL pieces

    def col_def(self, sql: _Sql, table: Table, col: Column) -> str:
        return sql.column(table, col, [])

    def add_con(self, sql: _Sql, table: Table, con: Constraint) -> str:
        return (f"ALTER TABLE {_q(table.name)} ADD CONSTRAINT {_q(con.name)} "
                f"{sql.body(table, con)}")

    @staticmethod
    def drop_con(table: str, name: str) -> str:
        # IF EXISTS: dropping a column in an earlier step may already have dropped it
        return f"ALTER TABLE {_q(table)} DROP CONSTRAINT IF EXISTS {_q(name)}"

    @staticmethod
    def index_sql(sql: _Sql, idx: Index) -> str:
        return sql.index(idx).rstrip(";")

    @staticmethod
    def policy_sql(sql: _Sql, table: Table, pol: Policy) -> str:
        return sql.policy(table, pol).rstrip(";")

    def owner(self, obj: str, aliases: tuple[str, ...]) -> str:
        """The table a deviation's object belongs to (a constraint is named bare)."""
        for schema in (self.e, self.a):
            for t in schema.tables.values():
                if obj in t.constraints:
                    return t.name
        return obj.split(".", 1)[0]

    # -------------------------------------------------------------- deviations

    def add(self, item: Classified) -> None:
        dev = item.deviation
        kind = dev.kind
        open_entry = item.entry is not None and item.entry.status == "open"
        adr = item.entry.adr if item.entry is not None else None
        why = f"{dev.kind} {dev.object}" + (f" ({item.entry.id})" if item.entry else "")
        table_name = self.owner(dev.object, dev.aliases)
        et, at = self.e.tables.get(table_name), self.a.tables.get(table_name)
        destructive_kinds = {"extra-table", "extra-column", "extra-constraint", "extra-index",
                             "extra-policy", "column-type", "constraint-name", "index-name"}
        if open_entry and kind in destructive_kinds:
            self.plan.skipped.append(f"{why}: under an open register entry; nothing is "
                                     "dropped or renamed until it is decided")
            return
        if kind == "missing-table" and et is not None:
            stmts, later = self.e_sql.table(et)
            self.step(CREATE, [s.rstrip(";") for s in stmts + later],
                      [f"DROP TABLE {_q(et.name)}"], why=why, adr=adr, destructive_down=True)
        elif kind == "extra-table" and at is not None:
            stmts, later = self.a_sql.table(at)
            self.step(DROP_OBJECT, [f"DROP TABLE {_q(at.name)}"],
                      [s.rstrip(";") for s in stmts + later], why=why, adr=adr,
                      destructive_up=True)
        elif kind == "missing-column" and et is not None:
            col = et.columns[dev.object.split(".", 1)[1]]
            self.step(CREATE, [f"ALTER TABLE {_q(et.name)} ADD COLUMN "
                               f"{self.col_def(self.e_sql, et, col)}"],
                      [f"ALTER TABLE {_q(et.name)} DROP COLUMN {_q(col.name)}"],
                      why=why, adr=adr, destructive_down=True)
        elif kind == "extra-column" and at is not None:
            col = at.columns[dev.object.split(".", 1)[1]]
            self.step(DROP_OBJECT, [f"ALTER TABLE {_q(at.name)} DROP COLUMN {_q(col.name)}"],
                      [f"ALTER TABLE {_q(at.name)} ADD COLUMN "
                       f"{self.col_def(self.a_sql, at, col)}"],
                      why=why, adr=adr, destructive_up=True)
        elif kind == "column-renamed" and et is not None and at is not None:
            canon, actual_name = dev.details["canonical"], dev.details["actual_name"]
            if open_entry:
                # expand only: add the canonical column next to the one in use, backfill
                col = et.columns[canon]
                loose = Column(col.name, col.type, True, col.default, col.identity)
                up = [f"ALTER TABLE {_q(et.name)} ADD COLUMN "
                      f"{self.col_def(self.e_sql, et, loose)}",
                      f"UPDATE {_q(et.name)} SET {_q(canon)} = {_q(actual_name)} "
                      f"WHERE {_q(canon)} IS NULL"]
                if not col.nullable:
                    up.append(f"ALTER TABLE {_q(et.name)} ALTER COLUMN {_q(canon)} SET NOT NULL")
                self.step(CREATE, up, [f"ALTER TABLE {_q(et.name)} DROP COLUMN {_q(canon)}"],
                          why=why + ": canonical column added beside the one in use",
                          adr=adr, destructive_down=True)
            else:
                self.step(RENAME, [f"ALTER TABLE {_q(et.name)} RENAME COLUMN "
                                   f"{_q(actual_name)} TO {_q(canon)}"],
                          [f"ALTER TABLE {_q(et.name)} RENAME COLUMN {_q(canon)} TO "
                           f"{_q(actual_name)}"], why=why, adr=adr,
                          destructive_up=True, destructive_down=True)
        elif kind in ("column-type", "column-nullability", "column-default") and et and at:
            name = dev.object.split(".", 1)[1]
            ecol, acol = et.columns[name], at.columns[name]
            ref = f"ALTER TABLE {_q(et.name)} ALTER COLUMN {_q(name)}"
            if kind == "column-type":
                self.step(ALTER, [f"{ref} TYPE {ecol.type} USING {_q(name)}::{ecol.type}"],
                          [f"{ref} TYPE {acol.type} USING {_q(name)}::{acol.type}"],
                          why=why, adr=adr, destructive_up=True, destructive_down=True)
            elif kind == "column-nullability":
                want = f"{ref} {'DROP' if ecol.nullable else 'SET'} NOT NULL"
                back = f"{ref} {'DROP' if acol.nullable else 'SET'} NOT NULL"
                self.step(ALTER, [want], [back], why=why, adr=adr)
            else:
                want = f"{ref} SET DEFAULT {ecol.default}" if ecol.default else \
                    f"{ref} DROP DEFAULT"
                back = f"{ref} SET DEFAULT {acol.default}" if acol.default else \
                    f"{ref} DROP DEFAULT"
                self.step(ALTER, [want], [back], why=why, adr=adr)
        elif kind == "missing-constraint" and et is not None:
            con = et.constraints[dev.object]
            self.step(ADD, [self.add_con(self.e_sql, et, con)],
                      [self.drop_con(et.name, con.name)], why=why, adr=adr,
                      destructive_down=True)
        elif kind == "extra-constraint" and at is not None:
            con = at.constraints[dev.object]
            self.step(DROP_DEPENDENT, [self.drop_con(at.name, con.name)],
                      [self.add_con(self.a_sql, at, con)], why=why, adr=adr,
                      destructive_up=True)
        elif kind in ("constraint-differs", "enum-values") and dev.details.get(
                "constraint", dev.object) and et is not None and at is not None:
            name = str(dev.details.get("constraint", dev.object))
            if name not in et.constraints or name not in at.constraints:
                self.plan.skipped.append(f"{why}: constraint {name} not found on both sides")
                return
            econ, acon = et.constraints[name], at.constraints[name]
            self.step(DROP_DEPENDENT, [self.drop_con(et.name, name)],
                      [self.drop_con(et.name, name), self.add_con(self.a_sql, at, acon)],
                      why=why, adr=adr, destructive_up=True, destructive_down=True)
            retired = dev.details.get("extra") or []
            note = ([f"-- rows holding {', '.join(repr(v) for v in retired)} violate this "
                     "constraint: update them first"] if retired else [])
            self.step(ADD, [*note, self.add_con(self.e_sql, et, econ)], [], why=why, adr=adr)
        elif kind == "enum-values" and dev.object in self.e.enums:
            have = self.a.enums.get(dev.object, ())
            missing = [v for v in self.e.enums[dev.object] if v not in have]
            extra = [v for v in have if v not in self.e.enums[dev.object]]
            if missing:
                self.step(CREATE, [f"ALTER TYPE {_q(dev.object)} ADD VALUE IF NOT EXISTS "
                                   f"'{v}'" for v in missing], [], why=why, adr=adr)
            if extra:
                self.plan.skipped.append(f"{why}: PostgreSQL cannot remove enum values "
                                         f"({', '.join(extra)})")
        elif kind in ("missing-index", "extra-index", "index-shape"):
            ei, ai = self.e.indexes.get(dev.object), self.a.indexes.get(dev.object)
            drop = f"DROP INDEX IF EXISTS {_q(dev.object)}"
            if kind == "missing-index" and ei is not None:
                self.step(ADD, [self.index_sql(self.e_sql, ei)], [drop], why=why, adr=adr,
                          destructive_down=True)
            elif kind == "extra-index" and ai is not None:
                self.step(DROP_DEPENDENT, [drop], [self.index_sql(self.a_sql, ai)], why=why,
                          adr=adr, destructive_up=True)
            elif ei is not None and ai is not None:
                self.step(DROP_DEPENDENT, [drop], [drop, self.index_sql(self.a_sql, ai)],
                          why=why, adr=adr, destructive_up=True, destructive_down=True)
                self.step(ADD, [self.index_sql(self.e_sql, ei)], [], why=why, adr=adr)
        elif kind in ("index-name", "constraint-name"):
            twin = next((a for a in dev.aliases if "." not in a), None)
            if twin is None:
                self.plan.skipped.append(f"{why}: the existing name is unknown")
                return
            if kind == "index-name":
                forward = f"ALTER INDEX {_q(twin)} RENAME TO {_q(dev.object)}"
                back = f"ALTER INDEX {_q(dev.object)} RENAME TO {_q(twin)}"
            else:
                forward = f"ALTER TABLE {_q(table_name)} RENAME CONSTRAINT {_q(twin)} TO " \
                          f"{_q(dev.object)}"
                back = f"ALTER TABLE {_q(table_name)} RENAME CONSTRAINT {_q(dev.object)} " \
                       f"TO {_q(twin)}"
            self.step(RENAME, [forward], [back], why=why, adr=adr, destructive_up=True,
                      destructive_down=True)
        elif kind in ("rls-disabled", "rls-not-forced"):
            on, off = (("ENABLE", "DISABLE") if kind == "rls-disabled"
                       else ("FORCE", "NO FORCE"))
            self.step(RLS, [f"ALTER TABLE {_q(dev.object)} {on} ROW LEVEL SECURITY"],
                      [f"ALTER TABLE {_q(dev.object)} {off} ROW LEVEL SECURITY"],
                      why=why, adr=adr, destructive_down=True)
        elif kind in ("missing-policy", "policy-differs", "extra-policy"):
            table, _, pname = dev.object.partition(".")
            ep = et.policies.get(pname) if et else None
            ap = at.policies.get(pname) if at else None
            drop = f"DROP POLICY IF EXISTS {_q(pname)} ON {_q(table)}"
            if kind == "missing-policy" and ep is not None and et is not None:
                self.step(POLICY, [self.policy_sql(self.e_sql, et, ep)], [drop], why=why,
                          adr=adr, destructive_down=True)
            elif kind == "extra-policy" and ap is not None and at is not None:
                self.step(DROP_DEPENDENT, [drop], [self.policy_sql(self.a_sql, at, ap)],
                          why=why, adr=adr, destructive_up=True)
            elif ep is not None and ap is not None and et is not None and at is not None:
                self.step(DROP_DEPENDENT, [drop], [drop, self.policy_sql(self.a_sql, at, ap)],
                          why=why, adr=adr, destructive_up=True, destructive_down=True)
                self.step(POLICY, [self.policy_sql(self.e_sql, et, ep)], [], why=why,
                          adr=adr)
            else:
                self.plan.skipped.append(f"{why}: canonical declares no policy to create")
        elif kind == "missing-enum" and dev.object in self.e.enums:
            values = ", ".join(f"'{v}'" for v in self.e.enums[dev.object])
            self.step(CREATE, [f"CREATE TYPE {_q(dev.object)} AS ENUM ({values})"],
                      [f"DROP TYPE {_q(dev.object)}"], why=why, adr=adr,
                      destructive_down=True)
        else:
            self.plan.skipped.append(f"{why}: not expressible as a migration step")


def plan(state: ContractState, *, adr: str | None = None) -> Plan:
    """The steps that reconcile ``state``'s replayed schema with its canonical schema."""
    assert state.replay is not None and state.canonical.schema is not None
    planner = _Planner(state.replay.schema, state.canonical.schema, adr)
    for item in state.classified:
        if item.deviation.kind == "unknown-object":
            planner.plan.skipped.append(f"{item.deviation.object}: unknown, not reconciled")
            continue
        planner.add(item)
    planner.plan.steps.sort(key=lambda s: s.bucket)
    return planner.plan


def _sql_block(statements: list[str], waiver: str | None) -> str:
    sql = [st for st in statements if not st.startswith("--")]
    lines = [st if st.startswith("--") else st + (";" if st is not sql[-1] else "")
             for st in statements]
    body = "\n".join(lines)
    if waiver:
        body = f"-- {waiver}\n{body}"
    indented = "\n".join(("        " + line) if line else "" for line in body.splitlines())
    return f'    op.execute("""\n{indented}\n    """)\n'


def _waiver(adr: str | None) -> str:
    return f"CI:DESTRUCTIVE_OK - See {adr}" if adr else "CI:DESTRUCTIVE_OK"


def render(p: Plan, *, revision: str, down_revision: str, message: str) -> str:
    """The migration file's text (statements as ``op.execute`` SQL, one block a step)."""
    up_blocks: list[str] = []
    for s in p.steps:
        if s.up:
            up_blocks.append(f"    # {s.why}\n" + _sql_block(
                s.up, _waiver(s.adr) if s.destructive_up else None))
    down_blocks: list[str] = []
    for s in reversed(p.steps):
        if s.down:
            down_blocks.append(f"    # undo: {s.why}\n" + _sql_block(
                s.down, _waiver(s.adr) if s.destructive_down else None))
    skipped = "".join(f"#   - {line}\n" for line in p.skipped)
    header = (f'"""{message}\n\nRevision ID: {revision}\nRevises: {down_revision}\n'
              f'Create Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S}\n\n'
              'Written by `b03lint reconcile --emit-migration`: it turns the schema the chain\n'
              'builds into the canonical schema. Review every step before merging.\n"""\n')
    text = (header + "from alembic import op\n\n"
            f'revision = "{revision}"\ndown_revision = "{down_revision}"\n'
            "branch_labels = None\ndepends_on = None\n\n")
    if skipped:
        text += "# Deviations not reconciled here:\n" + skipped + "\n"
    text += "\ndef upgrade() -> None:\n" + ("\n".join(up_blocks) or "    pass\n")
    text += "\n\ndef downgrade() -> None:\n" + ("\n".join(down_blocks) or "    pass\n")
    import ast

    ast.parse(text)  # what we write must be valid Python
    return text


def new_revision_id(existing: set[str]) -> str:
    """A timestamp id like the example's (``YYYYMMDDHHMM``), unique in the chain."""
    stamp = datetime.now(timezone.utc)
    rev = f"{stamp:%Y%m%d%H%M}"
    n = 0
    while rev in existing:
        n += 1
        rev = f"{stamp:%Y%m%d%H%M}{n:02d}"
    return rev


def slug(message: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:60] or "reconcile"


def emit(state: ContractState, *, graph_heads: list[str], existing: set[str],
         message: str, adr: str | None = None) -> tuple[str, str, Plan]:
    """(revision id, file text, plan) of a reconciliation migration on top of the checked
    revision (or the single head)."""
    down = state.revision or (graph_heads[0] if len(graph_heads) == 1 else None)
    if down is None or down == "base":
        raise ValueError("the chain must have exactly one head (or pass --rev)")
    p = plan(state, adr=adr)
    revision = new_revision_id(existing)
    return revision, render(p, revision=revision, down_revision=down, message=message), p


def run(config: Config, *, rev: str | None, message: str, adr: str | None,
        output_dir: Path | None = None) -> int:
    """``b03lint reconcile --emit-migration``: plan, write the file, say what was done."""
    import sys

    from b03lint.contract import analyze
    from b03lint.engine import load_project
    from b03lint.paths import display_path

    project = load_project(config, rev)
    errors = project.errors
    files = project.files
    state = analyze(project)
    unreadable = [mf.path for mf in files if not mf.readable]
    for err in errors:
        print(str(err), file=sys.stderr)
    if errors or unreadable or state.replay is None or state.canonical.schema is None:
        if state.canonical.schema is None and not errors:
            print("error: no canonical schema configured (canonical_sql / canonical_yaml)",
                  file=sys.stderr)
        for path in unreadable:
            print(f"{path}: error: cannot be read; fix it before reconciling", file=sys.stderr)
        return 2
    try:
        revision, text, p = emit(state, graph_heads=project.graph.heads,
                                 existing=set(project.graph.nodes), message=message, adr=adr)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in p.skipped:
        print(f"not reconciled: {line}")
    # a waiver the next `b03lint check` would block (D020, D021) is never written
    waived = [s for s in p.steps if s.destructive_up or s.destructive_down]
    uncited = [s for s in waived if s.adr is None]
    unknown = sorted({s.adr for s in waived if s.adr is not None and s.adr not in project.adrs})
    if uncited or unknown:
        adr_dir = config.get("adr_dir")
        if uncited:
            print(f"error: not written: {len(uncited)} destructive step(s) need a "
                  "`CI:DESTRUCTIVE_OK - See ADR-<id>` waiver, and neither --adr nor their "
                  "drift register entry names the ADR that decides them:", file=sys.stderr)
            for s in uncited:
                print(f"  - {s.why or s.up[0]}", file=sys.stderr)
            print(f"pass --adr ADR-<id> (an ADR in {adr_dir}), or set `adr:` on the register "
                  "entry", file=sys.stderr)
        for adr in unknown:
            print(f"error: not written: {adr} has no file in {adr_dir} (adr_pattern = "
                  f"{project.adr_pattern.name!r}), so its waivers would waive nothing; "
                  "write the ADR first", file=sys.stderr)
        return 2
    if not p.steps:
        print("nothing to reconcile: the chain already builds the canonical schema "
              "(apart from the deviations listed above)")
        return 0
    parent = project.graph.nodes[state.revision or project.graph.heads[0]]
    # beside the revision it builds on (display paths are relative to the working dir)
    target_dir = output_dir or Path(parent.path).parent
    target = target_dir / f"{revision}_{slug(message)}.py"
    target.write_text(text, encoding="utf-8")
    print(f"wrote {display_path(target)}")
    return 0
