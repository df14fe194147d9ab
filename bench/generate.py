"""Generate a synthetic but realistic Alembic project for benchmarks.

    python bench/generate.py OUT_DIR --revisions 1000 [--seed 7]

writes ``OUT_DIR`` with:

* ``alembic/versions/<part>/<theme>/<rev>_<slug>.py``: a linear chain of ``--revisions``
  revision files in nested folders, with occasional branches that a merge revision joins
  again. Revisions mix ``op.create_table`` (``sa.Column`` variants: UUID, varchar, bigint,
  numeric, jsonb, timestamptz, boolean, foreign keys, server defaults, table CHECK
  constraints), ``op.add_column``, ``op.create_index`` (``postgresql_include``,
  ``sa.text('x DESC')``, unique, partial), ``op.batch_alter_table`` blocks, CHECK
  constraints written as enum lists and ranges, and multi-statement ``op.execute`` SQL
  (row-level security, policies, ``ALTER TABLE ... ADD COLUMN``, ``CREATE INDEX``), each file
  with a docstring and a downgrade, the size of a hand-written migration;
* ``db/schema/canonical_schema.sql``: the schema the chain builds, written the way a person
  writes a canonical file (columns in the ``CREATE TABLE``, constraints and indexes after),
  so ``b03lint check`` passes on the generated project;
* ``pyproject.toml`` (``[tool.b03lint]``), ``alembic.ini`` and ``alembic/env.py`` so that
  ``alembic upgrade head --sql`` renders the chain offline with PostgreSQL's dialect (no
  database needed).

The output is deterministic for a given ``--revisions`` and ``--seed``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

NOUNS = (
    "account", "invoice", "payment", "shipment", "order", "customer", "ledger", "session",
    "campaign", "channel", "event", "allocation", "refund", "subscription", "product",
    "warehouse", "review", "coupon", "report", "export",
)
STATUS_SETS = (
    ("new", "active", "closed"),
    ("pending", "in_progress", "resolved", "abandoned"),
    ("draft", "sent", "paid", "void"),
    ("queued", "running", "done", "failed", "cancelled"),
)
#: what a revision kind returns: slug, title, why, upgrade body, downgrade body, and
#: whether it uses ``postgresql.`` types
Made = tuple[str, str, str, list[str], list[str], bool]
POLICY_USING = "tenant_id = current_setting('app.current_tenant_id')::uuid"


@dataclass
class Column:
    name: str
    sql: str  # canonical SQL type
    python: str  # sa type expression
    nullable: bool = True
    default_sql: str | None = None  # canonical DEFAULT
    default_py: str | None = None  # server_default=...
    references: str | None = None  # table name (column id)
    on_delete: str | None = None
    primary_key: bool = False

    def py(self, indent: str) -> str:
        args = [repr(self.name), self.python]
        if self.references:
            fk = f"sa.ForeignKey({self.references + '.id'!r}"
            fk += f", ondelete={self.on_delete!r})" if self.on_delete else ")"
            args.append(fk)
        if self.primary_key:
            args.append("primary_key=True")
        elif not self.nullable:
            args.append("nullable=False")
        else:
            args.append("nullable=True")
        if self.default_py:
            args.append(f"server_default={self.default_py}")
        return f"{indent}sa.Column({', '.join(args)}),"

    def canonical(self) -> str:
        out = f"{self.name} {self.sql}"
        if self.primary_key:
            out += " PRIMARY KEY"
        elif not self.nullable:
            out += " NOT NULL"
        if self.default_sql:
            out += f" DEFAULT {self.default_sql}"
        if self.references:
            out += f" REFERENCES {self.references}(id)"
            if self.on_delete:
                out += f" ON DELETE {self.on_delete}"
        return out


@dataclass
class Table:
    name: str
    columns: list[Column] = field(default_factory=list)
    checks: list[tuple[str, str]] = field(default_factory=list)  # (name, expression)
    tenant: bool = True
    status: tuple[str, ...] = ()
    counter: int = 0

    def has(self, column: str) -> bool:
        return any(c.name == column for c in self.columns)


@dataclass
class Index:
    name: str
    table: str
    sql: str  # canonical CREATE INDEX statement


@dataclass
class Revision:
    rev: str
    parents: tuple[str, ...]
    slug: str
    title: str
    why: str
    upgrade: list[str]
    downgrade: list[str]
    folder: str
    uses_postgresql: bool = False


class Chain:
    def __init__(self, n: int, seed: int):
        self.n = n
        self.rng = random.Random(seed)
        self.tables: dict[str, Table] = {}
        self.indexes: list[Index] = []
        self.revisions: list[Revision] = []
        self.serial = 0

    # ----------------------------------------------------------------- helpers

    def new_rev_id(self) -> str:
        self.serial += 1
        return f"{self.serial:04d}{self.rng.getrandbits(32):08x}"

    def pick_table(self, tenant_only: bool = False) -> Table:
        pool = [t for t in self.tables.values() if t.tenant or not tenant_only]
        # prefer recent tables, as real chains do
        return pool[-1 - min(int(self.rng.expovariate(0.15)), len(pool) - 1)]

    def fresh(self, table: Table, stem: str) -> str:
        table.counter += 1
        return f"{stem}_{table.counter}"

    # ----------------------------------------------------------------- revision kinds

    def create_table(self) -> Made:
        k = len(self.tables) + 1
        noun = NOUNS[k % len(NOUNS)]
        name = f"{noun}s_{k:04d}"
        tenant = k % 7 != 3
        table = Table(name, tenant=tenant)
        cols = table.columns
        cols.append(Column("id", "uuid", "postgresql.UUID(as_uuid=True)", primary_key=True,
                           nullable=False, default_sql="gen_random_uuid()",
                           default_py='sa.text("gen_random_uuid()")'))
        if tenant:
            cols.append(Column("tenant_id", "uuid", "postgresql.UUID(as_uuid=True)",
                               nullable=False))
        cols.append(Column("name", "varchar(200)", "sa.String(length=200)", nullable=False))
        status = STATUS_SETS[k % len(STATUS_SETS)]
        table.status = status
        cols.append(Column("status", "varchar(20)", "sa.String(20)", nullable=False,
                           default_sql=f"'{status[0]}'", default_py=repr(status[0])))
        cols.append(Column("amount_cents", "bigint", "sa.BigInteger()", nullable=False,
                           default_sql="0", default_py='sa.text("0")'))
        if k % 2 == 0:
            cols.append(Column("ratio", "numeric(5,4)", "sa.Numeric(5, 4)"))
        if k % 3 == 0:
            cols.append(Column("payload", "jsonb", "postgresql.JSONB()", nullable=False,
                               default_sql="'{}'::jsonb",
                               default_py="sa.text(\"'{}'::jsonb\")"))
        if k % 4 == 1:
            cols.append(Column("is_active", "boolean", "sa.Boolean()", nullable=False,
                               default_sql="true", default_py='sa.text("true")'))
        if k % 5 == 2:
            cols.append(Column("notes", "text", "sa.Text()"))
        if k % 6 == 4:
            cols.append(Column("due_on", "date", "sa.Date()"))
        parent = None
        if self.tables and k % 3 == 1:
            parent = self.pick_table()
            cols.append(Column(f"{parent.name}_id", "uuid", "postgresql.UUID(as_uuid=True)",
                               references=parent.name,
                               on_delete="CASCADE" if k % 2 else None))
        cols.append(Column("created_at", "timestamptz", "sa.DateTime(timezone=True)",
                           nullable=False, default_sql="now()", default_py='sa.text("now()")'))
        check_name = f"ck_{name}_amount_nonnegative"
        table.checks.append((check_name, "amount_cents >= 0"))
        self.tables[name] = table

        body = ["    op.create_table(", f"        {name!r},"]
        body += [c.py("        ") for c in cols]
        body.append(f"        sa.CheckConstraint(\"amount_cents >= 0\", name={check_name!r}),")
        body.append("    )")
        down = [f"    op.drop_table({name!r})"]
        if tenant:
            sql = (f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;\n"
                   f"        ALTER TABLE {name} FORCE ROW LEVEL SECURITY;\n"
                   f"        CREATE POLICY tenant_isolation_policy ON {name}\n"
                   f"            USING ({POLICY_USING});")
            body += ["", "    # Tenant isolation: every tenant-scoped table enforces RLS (ADR-001).",
                     f'    op.execute("""\n        {sql}\n    """)']
            down.insert(0, f'    op.execute("DROP POLICY tenant_isolation_policy ON {name}")')
        self.indexes.append(Index(f"ix_{name}_created", name,
                                  f"CREATE INDEX ix_{name}_created ON {name} "
                                  f"({'tenant_id, ' if tenant else ''}created_at DESC);"))
        keys = '"tenant_id", ' if tenant else ""
        body += ["", f"    op.create_index(\"ix_{name}_created\", {name!r},",
                 f"                    [{keys}sa.text(\"created_at DESC\")])"]
        down.insert(0, f'    op.drop_index("ix_{name}_created", table_name={name!r})')
        why = (f"The {noun} service needs somewhere to keep its {noun}s, one row per {noun}, "
               "scoped to a tenant" if tenant else
               f"A lookup table of {noun}s shared by every tenant")
        return f"create_{name}", f"Create {name}", why, body, down, True

    def add_column(self) -> Made:
        t = self.pick_table()
        variants = [
            ("text", "sa.Text()", True, None, None),
            ("integer", "sa.Integer()", False, "0", 'sa.text("0")'),
            ("varchar(64)", "sa.String(length=64)", True, None, None),
            ("timestamptz", "sa.DateTime(timezone=True)", True, None, None),
            ("numeric(12,2)", "sa.Numeric(precision=12, scale=2)", True, None, None),
            ("boolean", "sa.Boolean()", False, "false", 'sa.text("false")'),
        ]
        body: list[str] = []
        down: list[str] = []
        names: list[str] = []
        for _ in range(self.rng.randint(1, 3)):
            sql, py, nullable, dsql, dpy = self.rng.choice(variants)
            col = Column(self.fresh(t, "attr"), sql, py, nullable=nullable,
                         default_sql=dsql, default_py=dpy)
            t.columns.append(col)
            names.append(col.name)
            body += ["    op.add_column(", f"        {t.name!r},", col.py("        "), "    )"]
            down.insert(0, f"    op.drop_column({t.name!r}, {col.name!r})")
        return (f"add_{'_'.join(names)}_to_{t.name}", f"Add {', '.join(names)} to {t.name}",
                f"Reporting reads {', '.join(names)} of {t.name}", body, down, False)

    def create_index(self) -> Made:
        t = self.pick_table(tenant_only=True)
        name = f"ix_{t.name}_{self.fresh(t, 'perf')}"
        include = [c.name for c in t.columns if c.name in ("amount_cents", "name")]
        unique = self.rng.random() < 0.2
        partial = not unique and self.rng.random() < 0.3
        keys = ["tenant_id", "status"] if not unique else ["tenant_id", "name", "id"]
        py_keys = [repr(k) for k in keys]
        sql_keys = list(keys)
        if not unique:
            py_keys.append('sa.text("created_at DESC")')
            sql_keys.append("created_at DESC")
        args = [repr(name), repr(t.name), f"[{', '.join(py_keys)}]"]
        stmt = f"CREATE {'UNIQUE ' if unique else ''}INDEX {name} ON {t.name} ({', '.join(sql_keys)})"
        if unique:
            args.append("unique=True")
        if include and not unique:
            args.append(f"postgresql_include={include!r}")
            stmt += f" INCLUDE ({', '.join(include)})"
        if partial:
            closed = t.status[-1]
            args.append(f"postgresql_where=sa.text(\"status <> '{closed}'\")")
            stmt += f" WHERE status <> '{closed}'"
        self.indexes.append(Index(name, t.name, stmt + ";"))
        body = ["    op.create_index("] + [f"        {a}," for a in args] + ["    )"]
        down = [f"    op.drop_index({name!r}, table_name={t.name!r})"]
        return (f"index_{name}", f"Index {t.name} for the dashboard",
                f"The dashboard filters {t.name} by tenant and status, newest first",
                body, down, False)

    def batch(self) -> Made:
        t = self.pick_table()
        col = Column(self.fresh(t, "code"), "varchar(32)", "sa.String(length=32)",
                     nullable=False, default_sql="'none'", default_py="'none'")
        t.columns.append(col)
        ck = f"ck_{t.name}_{col.name}_format"
        expr = f"char_length({col.name}) >= 1"
        t.checks.append((ck, expr))
        idx = f"ix_{t.name}_{col.name}"
        self.indexes.append(Index(idx, t.name, f"CREATE INDEX {idx} ON {t.name} ({col.name});"))
        body = [f"    with op.batch_alter_table({t.name!r}) as batch_op:",
                "        batch_op.add_column(",
                col.py("            "),
                "        )",
                f"        batch_op.create_check_constraint({ck!r}, {expr!r})",
                f"        batch_op.create_index({idx!r}, [{col.name!r}])"]
        down = [f"    with op.batch_alter_table({t.name!r}) as batch_op:",
                f"        batch_op.drop_index({idx!r})",
                f"        batch_op.drop_constraint({ck!r}, type_=\"check\")",
                f"        batch_op.drop_column({col.name!r})"]
        return (f"batch_{t.name}_{col.name}", f"Add {col.name} to {t.name} in a batch",
                f"Imports need a {col.name} on {t.name}", body, down, False)

    def check(self) -> Made:
        t = self.pick_table()
        name = f"ck_{t.name}_status_valid"
        if any(n == name for n, _ in t.checks):
            return self.add_column()
        values = ", ".join(f"'{v}'" for v in t.status)
        expr = f"status IN ({values})"
        t.checks.append((name, expr))
        body = ["    op.create_check_constraint(", f"        {name!r},", f"        {t.name!r},",
                f"        {expr!r},", "    )"]
        down = [f"    op.drop_constraint({name!r}, {t.name!r}, type_=\"check\")"]
        return (f"check_{t.name}_status", f"Constrain {t.name}.status",
                f"{t.name}.status only takes the values the state machine knows", body, down,
                False)

    def execute_sql(self) -> Made:
        t = self.pick_table(tenant_only=True)
        col = Column(self.fresh(t, "score"), "numeric(6,3)", "", nullable=True)
        t.columns.append(col)
        ck = f"ck_{t.name}_{col.name}_range"
        expr = f"{col.name} >= 0 AND {col.name} <= 100"
        t.checks.append((ck, expr))
        idx = f"ix_{t.name}_{col.name}"
        stmt = f"CREATE INDEX {idx} ON {t.name} (tenant_id, {col.name} DESC) INCLUDE (name)"
        self.indexes.append(Index(idx, t.name, stmt + ";"))
        sql = (f"ALTER TABLE {t.name} ADD COLUMN {col.name} numeric(6,3);\n"
               f"        ALTER TABLE {t.name}\n"
               f"            ADD CONSTRAINT {ck}\n"
               f"            CHECK ({expr});\n"
               f"        {stmt};")
        body = ["    # Written as SQL: the reviewer wanted to see the exact DDL.",
                f'    op.execute("""\n        {sql}\n    """)']
        down = [f'    op.execute("DROP INDEX {idx}")',
                f'    op.execute("ALTER TABLE {t.name} DROP CONSTRAINT {ck}")',
                f'    op.execute("ALTER TABLE {t.name} DROP COLUMN {col.name}")']
        return (f"score_{t.name}_{col.name}", f"Score {t.name} rows",
                f"The model scores every {t.name} row between 0 and 100", body, down, False)

    # ----------------------------------------------------------------- the chain

    def build(self) -> None:
        kinds: list[Callable[[], Made]] = [self.add_column, self.create_index, self.batch,
                                           self.check, self.execute_sql]
        head = None
        i = 0
        while len(self.revisions) < self.n:
            remaining = self.n - len(self.revisions)
            if head is not None and i % 40 == 39 and remaining >= 3:
                # a branch: two revisions on the same parent, then the merge
                a = self._add(self._kind(kinds), (head,))
                b = self._add(self._kind(kinds), (head,))
                merge = Revision(self.new_rev_id(), (a, b), f"merge_{a}_{b}",
                                 "Merge two branches", "Two teams branched from the same "
                                 "head; this revision joins them", ["    pass"], ["    pass"],
                                 self._folder())
                self.revisions.append(merge)
                head = merge.rev
                i += 3
                continue
            make = self.create_table if head is None or i % 6 == 0 else self._kind(kinds)
            head = self._add(make, (head,) if head else ())
            i += 1

    def _kind(self, kinds: list[Callable[[], Made]]) -> Callable[[], Made]:
        return self.rng.choice(kinds)

    def _folder(self) -> str:
        k = len(self.revisions)
        return f"part_{k // 250:03d}/batch_{(k // 50) % 5}"

    def _add(self, make: Callable[[], Made], parents: tuple[str, ...]) -> str:
        slug, title, why, body, down, pg = make()
        rev = Revision(self.new_rev_id(), parents, slug[:60], title, why, body, down,
                       self._folder(), pg or any("postgresql." in line for line in body))
        self.revisions.append(rev)
        return rev.rev

    # ----------------------------------------------------------------- output

    def migration_text(self, r: Revision) -> str:
        parents: str
        if not r.parents:
            parents = "None"
        elif len(r.parents) == 1:
            parents = repr(r.parents[0])
        else:
            parents = repr(r.parents)
        imports = ["import sqlalchemy as sa", "", "from alembic import op"]
        if r.uses_postgresql:
            imports.insert(1, "from sqlalchemy.dialects import postgresql")
        doc = f'''"""{r.title}.

Revision ID: {r.rev}
Revises: {", ".join(r.parents) or "<base>"}
Create Date: 2026-01-01 00:00:00

Why
---
{r.why}. The change is additive: existing rows keep their values and
readers that do not know the new objects are unaffected.

Locking and rollout
-------------------
* Runs inside the revision's transaction (Alembic's default).
* ADD COLUMN with a constant default is catalog-only on PostgreSQL 11+.
* Set a lock_timeout for the session that runs the upgrade.

Rollback
--------
downgrade() removes what upgrade() created, in reverse order.
"""'''
        return "\n".join([
            doc, "", "from __future__ import annotations", "", *imports, "",
            "# revision identifiers, used by Alembic.",
            f"revision = {r.rev!r}",
            f"down_revision = {parents}",
            "branch_labels = None",
            "depends_on = None", "", "",
            "def upgrade() -> None:", *r.upgrade, "", "",
            "def downgrade() -> None:", *r.downgrade, "",
        ])

    def canonical_sql(self) -> str:
        out = ["-- Canonical schema of the generated benchmark chain.",
               "-- Every migration in alembic/versions must rebuild exactly this.", ""]
        for t in self.tables.values():
            cols = [f"    {c.canonical()}" for c in t.columns]
            out.append(f"CREATE TABLE {t.name} (")
            out.append(",\n".join(cols))
            out.append(");")
            for name, expr in t.checks:
                out.append(f"ALTER TABLE {t.name}\n    ADD CONSTRAINT {name} CHECK ({expr});")
            if t.tenant:
                out.append(f"ALTER TABLE {t.name} ENABLE ROW LEVEL SECURITY;")
                out.append(f"ALTER TABLE {t.name} FORCE ROW LEVEL SECURITY;")
                out.append(f"CREATE POLICY tenant_isolation_policy ON {t.name}\n"
                           f"    USING ({POLICY_USING});")
            out.append("")
        for idx in self.indexes:
            out.append(idx.sql)
        return "\n".join(out) + "\n"


ALEMBIC_INI = """\
[alembic]
script_location = %(here)s/alembic
version_locations = %(here)s/alembic/versions
recursive_version_locations = true
path_separator = os
# offline mode only: `alembic upgrade head --sql` renders SQL, no database is contacted
sqlalchemy.url = postgresql://

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
"""

ENV_PY = '''\
"""Offline-only environment of the generated benchmark chain."""

from alembic import context

config = context.config


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=None,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    raise SystemExit("this benchmark chain is rendered offline only: alembic upgrade head --sql")
'''

PYPROJECT = """\
[project]
name = "b03lint-bench-chain"
version = "0"

[tool.b03lint]
migrations = "alembic/versions"
canonical_sql = "db/schema/canonical_schema.sql"
"""


def generate(out: Path, revisions: int, seed: int = 7) -> Path:
    """Write the project to ``out`` (replacing it); return ``out``."""
    chain = Chain(revisions, seed)
    chain.build()
    if out.exists():
        shutil.rmtree(out)
    versions = out / "alembic" / "versions"
    versions.mkdir(parents=True)
    for r in chain.revisions:
        folder = versions / r.folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{r.rev}_{r.slug}.py").write_text(chain.migration_text(r), encoding="utf-8")
    (out / "alembic" / "env.py").write_text(ENV_PY, encoding="utf-8")
    (out / "alembic.ini").write_text(ALEMBIC_INI, encoding="utf-8")
    (out / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    schema = out / "db" / "schema"
    schema.mkdir(parents=True)
    (schema / "canonical_schema.sql").write_text(chain.canonical_sql(), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="output folder (replaced)")
    parser.add_argument("--revisions", "-n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.revisions < 1:
        parser.error("--revisions must be at least 1")
    generate(args.out, args.revisions, args.seed)
    print(f"wrote {args.revisions} revisions to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
