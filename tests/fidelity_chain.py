"""The fidelity harness's chain: an Alembic project whose revisions, together, use every
operation kind of b03lint's vocabulary, in the Python form (``op.*``, ``batch_alter_table``)
and in the SQL form (``op.execute``), so that ``tests/test_replay_fidelity.py`` can upgrade
it on a real PostgreSQL one revision at a time and compare the catalog with the static
replay at each step.

Each revision is ``(id, body of upgrade())``. A new operation kind joins the vocabulary:
add it here (the harness fails until every kind is exercised).
"""

from __future__ import annotations

import contextlib
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

ENV_PY = '''\
import os

from sqlalchemy import create_engine, pool

from alembic import context

url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None,
                      transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
'''

ALEMBIC_INI = """\
[alembic]
script_location = %(here)s/migrations
version_locations = %(here)s/migrations/versions
path_separator = os
"""

PYPROJECT = """\
[tool.b03lint]
migrations = "migrations/versions"
"""

REVISIONS: list[tuple[str, str]] = [
    ("f01", '''
    # Python: tables with serial/bigint keys, a named enum, defaults, an inline and a
    # table CHECK, a foreign key with an action, unique, partial, expression, INCLUDE indexes
    op.create_table(
        "parents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(20), nullable=False, unique=True),
        sa.Column("name", sa.Text(), nullable=False, server_default="x"),
    )
    op.create_table(
        "children",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("parents.id", ondelete="CASCADE")),
        sa.Column("status", sa.Enum("new", "done", name="status"), nullable=False,
                  server_default="new"),
        sa.Column("amount", sa.Numeric(10, 2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.Column("note", sa.Text()),
        sa.CheckConstraint("amount >= 0", name="ck_children_amount"),
    )
    op.create_index("ix_children_status", "children", ["status"])
    op.create_index("ix_children_open", "children", ["parent_id"], unique=True,
                    postgresql_where=sa.text("status = 'new'"))
    op.create_index("ix_children_note", "children", [sa.text("lower(note)")])
    op.create_index("ix_children_created", "children", ["created_at"],
                    postgresql_include=["amount"])
'''),
    ("f02", '''
    # SQL: serial, an enum with ADD VALUE, a free sequence, a generated column, an owned
    # sequence, a foreign key to a primary key written without columns, a partial index
    op.execute("""
        CREATE TABLE tags (
            id serial PRIMARY KEY,
            label text NOT NULL,
            CONSTRAINT tags_label_key UNIQUE (label)
        );
        CREATE TYPE mood AS ENUM ('sad', 'ok');
        ALTER TYPE mood ADD VALUE 'happy' AFTER 'ok';
        CREATE SEQUENCE ticket_seq;
        CREATE TABLE tickets (
            n integer NOT NULL DEFAULT nextval('ticket_seq'),
            feeling mood DEFAULT 'ok',
            tag_id integer REFERENCES tags,
            twice integer GENERATED ALWAYS AS (n * 2) STORED,
            CONSTRAINT tickets_pkey PRIMARY KEY (n)
        );
        ALTER SEQUENCE ticket_seq OWNED BY tickets.n;
        CREATE INDEX ix_tickets_twice ON tickets (twice) WHERE n > 0;
        CREATE SEQUENCE spare_seq;
    """)
'''),
    ("f03", '''
    # Python: column changes, constraints added by name
    op.add_column("children", sa.Column("rank", sa.Integer(), nullable=True))
    op.alter_column("children", "note", nullable=False, server_default="")
    op.alter_column("children", "amount", type_=sa.Numeric(12, 2))
    op.alter_column("children", "rank", server_default="0")
    op.create_unique_constraint("uq_children_parent_rank", "children", ["parent_id", "rank"])
    op.create_check_constraint("ck_children_rank", "children", "rank >= 0")
    op.add_column("tickets", sa.Column("child_id", sa.BigInteger()))
    op.create_foreign_key("fk_tickets_child", "tickets", "children", ["child_id"], ["id"],
                          ondelete="SET NULL")
    op.create_table("solo", sa.Column("k", sa.Integer(), nullable=False),
                    sa.Column("v", sa.Text()))
    op.create_primary_key("pk_solo", "solo", ["k"])
    # Alembic adds a primary_key=True column as NOT NULL (serial), never as a second key
    op.add_column("solo", sa.Column("seq", sa.Integer(), primary_key=True))
'''),
    ("f04", '''
    # Python, batch mode: the same operations inside batch_alter_table
    with op.batch_alter_table("children") as batch_op:
        batch_op.add_column(sa.Column("label", sa.String(40)))
        batch_op.alter_column("label", new_column_name="title")
        batch_op.create_index("ix_children_title", ["title"])
        batch_op.create_unique_constraint("uq_children_title", ["title"])
        batch_op.drop_constraint("uq_children_title", type_="unique")
        batch_op.alter_column("title", type_=sa.String(80), nullable=True)
    with op.batch_alter_table("solo") as batch_op:
        batch_op.drop_column("v")
        batch_op.add_column(sa.Column("w", sa.Text(), server_default="w"))
'''),
    ("f05", '''
    # SQL: renames reach every reference
    op.execute("""
        ALTER TABLE parents RENAME TO families;
        ALTER TABLE families RENAME COLUMN code TO family_code;
        ALTER TABLE children RENAME COLUMN parent_id TO family_id;
        ALTER TABLE children RENAME COLUMN note TO remark;
        ALTER TABLE children RENAME COLUMN amount TO total;
        ALTER INDEX ix_children_note RENAME TO ix_children_remark;
        ALTER TABLE children RENAME CONSTRAINT ck_children_amount TO ck_children_total;
        ALTER INDEX parents_pkey RENAME TO families_pkey;
        ALTER SEQUENCE spare_seq RENAME TO reserve_seq;
    """)
'''),
    ("f06", '''
    # Python: renames and drops (a dropped column takes its index and constraints)
    op.rename_table("solo", "single")
    op.alter_column("single", "w", new_column_name="word")
    op.drop_index("ix_children_status", table_name="children")
    op.drop_constraint("ck_children_rank", "children", type_="check")
    op.drop_column("children", "rank")
    op.create_table("scratch", sa.Column("id", sa.Integer(), primary_key=True))
    op.drop_table("scratch")
'''),
    ("f07", '''
    # SQL: USING INDEX, NOT VALID and VALIDATE, row level security and policies
    op.execute("""
        CREATE UNIQUE INDEX ix_single_word ON single (word);
        ALTER TABLE single ADD CONSTRAINT uq_single_word UNIQUE USING INDEX ix_single_word;
        ALTER TABLE children ADD CONSTRAINT ck_children_title CHECK (title <> '') NOT VALID;
        ALTER TABLE tickets ADD CONSTRAINT ck_tickets_n CHECK (n > 0) NOT VALID;
        ALTER TABLE tickets VALIDATE CONSTRAINT ck_tickets_n;
        ALTER TABLE children ENABLE ROW LEVEL SECURITY;
        ALTER TABLE children FORCE ROW LEVEL SECURITY;
        CREATE POLICY children_open ON children USING (status = 'new');
        CREATE POLICY children_mine ON children FOR SELECT TO PUBLIC USING (total > 0);
        DROP POLICY children_mine ON children;
        ALTER TABLE single ENABLE ROW LEVEL SECURITY;
        ALTER TABLE single FORCE ROW LEVEL SECURITY;
        ALTER TABLE single NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE single DISABLE ROW LEVEL SECURITY;
    """)
'''),
    ("f08", '''
    # SQL: drops with their dependents, CASCADE, sequences, schemas
    op.execute("""
        ALTER TABLE tags ADD COLUMN slug text;
        CREATE UNIQUE INDEX ix_tags_slug ON tags (slug);
        ALTER TABLE tags DROP CONSTRAINT tags_label_key;
        ALTER TABLE tickets DROP COLUMN feeling;
        ALTER TABLE tags DROP COLUMN id CASCADE;
        DROP SEQUENCE reserve_seq;
        CREATE SCHEMA side;
        CREATE TABLE side.stuff (a int);
        DROP SCHEMA side CASCADE;
        CREATE TYPE unused AS ENUM ('x');
        DROP TYPE unused;
    """)
    # SQL: a renamed enum type and value reach the columns and defaults that use them
    op.execute("ALTER TABLE tickets ADD COLUMN feeling mood DEFAULT 'ok'")
    op.execute("ALTER TYPE mood RENAME TO temper")
    op.execute("ALTER TYPE temper RENAME VALUE 'ok' TO 'fine'")
    with op.get_context().autocommit_block():
        op.execute("DROP DATABASE IF EXISTS b03lint_harness_never_created")
'''),
    ("f09", '''
    # data statements and statements b03lint reads but does not model
    op.bulk_insert(sa.table("families", sa.column("family_code"), sa.column("name")),
                   [{"family_code": "a", "name": "A"}])
    op.execute("INSERT INTO families (family_code, name) VALUES ('b', 'B')")
    op.execute("UPDATE families SET name = 'Bee' WHERE family_code = 'b'")
    op.execute("DELETE FROM families WHERE family_code = 'b'")
    op.execute("TRUNCATE single")
    op.execute("COMMENT ON TABLE families IS 'households'")
    op.execute(sa.schema.CreateSequence(sa.Sequence("harness_seq")))
    op.add_column("families", sa.Column("serial_no", sa.Integer(),
                                        server_default=sa.text("nextval('harness_seq')")))
    op.alter_column("families", "serial_no", server_default=None)
    op.execute(sa.schema.DropSequence(sa.Sequence("harness_seq")))
    op.execute("""
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.created_at := now(); RETURN NEW; END $$;
    """)
    # statements that decide locks and whether a migration can run, but change no table
    op.execute("SET lock_timeout = '5s'")
    op.execute("SAVEPOINT before_maintenance")
    op.execute("LOCK TABLE families IN SHARE MODE")
    op.execute("REINDEX TABLE families")
    op.execute("CLUSTER families USING families_pkey")
    op.execute("ANALYZE families")
    op.execute("CREATE TABLE readings (k int NOT NULL, v text) PARTITION BY RANGE (k)")
    op.execute("CREATE TABLE readings_low (k int NOT NULL, v text)")
    op.execute("ALTER TABLE readings ATTACH PARTITION readings_low "
               "FOR VALUES FROM (0) TO (10)")
    op.execute("ALTER TABLE readings DETACH PARTITION readings_low")
    with op.get_context().autocommit_block():
        op.execute("VACUUM families")
'''),
    ("f10", '''
    # SQL: renames of columns that policies, CHECKs, partial indexes and generated
    # columns use, and of a table a foreign key points at
    op.execute("""
        ALTER TABLE children RENAME COLUMN status TO state;
        ALTER TABLE children RENAME COLUMN title TO heading;
        ALTER TABLE tickets RENAME COLUMN n TO num;
        ALTER TABLE children RENAME TO kids;
    """)
'''),
    ("f11", '''
    # Python: the same through op.alter_column / op.rename_table
    op.alter_column("kids", "total", new_column_name="sum")
    op.alter_column("kids", "state", new_column_name="phase")
    op.rename_table("kids", "young")
    op.alter_column("tickets", "num", new_column_name="number")
'''),
    ("f12", '''
    # an operation b03lint cannot resolve: what it may touch (one table) becomes unknown
    op.execute("""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attname = 'extra') THEN
                ALTER TABLE single ADD COLUMN extra text;
            END IF;
        END $$;
    """)
'''),
]


def _revision_file(index: int, rev: str, body: str) -> str:
    parent = REVISIONS[index - 1][0] if index else None
    return (f'"""fidelity harness revision {rev}"""\n'
            "import sqlalchemy as sa\n\nfrom alembic import op\n\n"
            f"revision = {rev!r}\ndown_revision = {parent!r}\n"
            "branch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade() -> None:\n{textwrap.indent(textwrap.dedent(body).strip(), '    ')}"
            "\n\n\ndef downgrade() -> None:\n    pass\n")


def write_project(root: Path) -> list[str]:
    """Write the harness project into ``root``; the revision ids, in order."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    (root / "migrations" / "script.py.mako").write_text("")
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    (root / "pyproject.toml").write_text(PYPROJECT)
    for i, (rev, body) in enumerate(REVISIONS):
        (versions / f"{rev}.py").write_text(_revision_file(i, rev, body))
    return [rev for rev, _ in REVISIONS]


@contextlib.contextmanager
def database_url(url: str) -> Iterator[None]:
    """``DATABASE_URL`` (what the chain's env.py reads) set to ``url`` for the block, as
    it was afterwards."""
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
