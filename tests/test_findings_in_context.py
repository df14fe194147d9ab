"""The classes of wrong findings seen on real histories (issue: right on real histories),
each in its Python form (``op.*``, ``batch_op.*``) and its SQL form, with the cases that
must and must not trigger. The behaviour of PostgreSQL behind the type-change cases is
proven on a real server in ``tests/test_pg_typechange.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from b03lint.config import load_config
from b03lint.engine import lint
from b03lint.findings import Finding

PARENT = '''"""parent"""
from alembic import op
import sqlalchemy as sa

revision = "p1"
down_revision = None


def upgrade():
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(100)),
        sa.Column("seats", sa.Integer()),
        sa.Column("price", sa.Numeric(10, 2)),
        sa.Column("note", sa.Text()),
        sa.Column("owner_id", sa.Integer()),
        sa.Column("seen_at", sa.DateTime()),
        sa.UniqueConstraint("email", name="uq_accounts_email"),
        sa.UniqueConstraint("id", name="uq_accounts_id"),
        sa.CheckConstraint("price >= 0", name="ck_accounts_price"),
        sa.CheckConstraint("name IS NOT NULL", name="ck_accounts_name_nn"),
    )
    op.create_table("owners", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_foreign_key("fk_accounts_owner", "accounts", "owners", ["owner_id"], ["id"])
    op.create_index("ix_accounts_seats", "accounts", ["seats"])
    op.create_index("ix_accounts_name", "accounts", ["name"], unique=True)
    op.create_index("ix_accounts_owner", "accounts", ["owner_id"])
    op.create_index("ix_accounts_owner_seats", "accounts", ["owner_id", "seats"])
    op.create_index("ix_accounts_id", "accounts", ["id"], unique=True)


def downgrade():
    pass
'''

CHILD_HEAD = '''"""child"""
from alembic import op
import sqlalchemy as sa

revision = "c1"
down_revision = "p1"


def upgrade():
'''


def run(tmp_path: Path, body: str, codes: tuple[str, ...]) -> list[Finding]:
    root = tmp_path / "project"
    versions = root / "alembic" / "versions"
    versions.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.b03lint]\nmigrations = "alembic/versions"\n')
    (versions / "p1_parent.py").write_text(PARENT)
    (versions / "c1_child.py").write_text(CHILD_HEAD + body + "\n\ndef downgrade():\n    pass\n")
    result = lint(load_config(explicit=root / "pyproject.toml"), select=list(codes),
                  baseline=None)
    assert not result.errors, result.errors
    return [f for f in result.findings if f.code in codes and f.path.endswith("c1_child.py")]


def one(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [(f.code, f.severity, f.message) for f in findings]
    return findings[0]


def sql(statement: str) -> str:
    return f'    op.execute("{statement}")'


# ----------------------------------------------------------------- D009 type changes

TYPE_CASES = [
    # (python body, SQL statement, severity, words the message must contain)
    ('op.alter_column("accounts", "name", type_=sa.String(200))',
     "ALTER TABLE accounts ALTER COLUMN name TYPE varchar(200)", "info", "no rewrite"),
    ('op.alter_column("accounts", "name", type_=sa.Text())',
     "ALTER TABLE accounts ALTER COLUMN name TYPE text", "info", "no data loss"),
    ('op.alter_column("accounts", "note", type_=sa.String())',
     "ALTER TABLE accounts ALTER COLUMN note TYPE varchar", "info", "no rewrite"),
    ('op.alter_column("accounts", "price", type_=sa.Numeric(14, 2))',
     "ALTER TABLE accounts ALTER COLUMN price TYPE numeric(14,2)", "info", "no rewrite"),
    ('op.alter_column("accounts", "price", type_=sa.Numeric())',
     "ALTER TABLE accounts ALTER COLUMN price TYPE numeric", "info", "no rewrite"),
    ('op.alter_column("accounts", "name", type_=sa.String(50))',
     "ALTER TABLE accounts ALTER COLUMN name TYPE varchar(50)", "blocking", "reject"),
    ('op.alter_column("accounts", "price", type_=sa.Numeric(10, 1))',
     "ALTER TABLE accounts ALTER COLUMN price TYPE numeric(10,1)", "blocking", "rounded"),
    ('op.alter_column("accounts", "note", type_=sa.Integer(), postgresql_using="note::integer")',
     "ALTER TABLE accounts ALTER COLUMN note TYPE integer USING note::integer", "blocking",
     "rejected"),
    ('op.alter_column("accounts", "seats", type_=sa.BigInteger())',
     "ALTER TABLE accounts ALTER COLUMN seats TYPE bigint", "blocking", "no data loss"),
    ('op.alter_column("accounts", "name", type_=sa.Text(), postgresql_using="lower(name)")',
     "ALTER TABLE accounts ALTER COLUMN name TYPE text USING lower(name)", "blocking", "USING"),
]


@pytest.mark.parametrize(("python", "statement", "severity", "words"), TYPE_CASES,
                         ids=[c[1].split("TYPE ")[1] + "-" + c[1].split()[5] for c in TYPE_CASES])
@pytest.mark.parametrize("form", ["python", "batch", "sql"])
def test_type_changes_by_what_postgresql_does(tmp_path: Path, form: str, python: str,
                                              statement: str, severity: str,
                                              words: str) -> None:
    if form == "python":
        body = "    " + python
    elif form == "batch":
        inner = python.replace('op.alter_column("accounts", ', "batch_op.alter_column(")
        body = f'    with op.batch_alter_table("accounts") as batch_op:\n        {inner}'
    else:
        body = sql(statement)
    finding = one(run(tmp_path, body, ("D009",)))
    assert finding.severity == severity
    assert words in finding.message, finding.message
    if severity == "blocking":
        assert ("reject" in finding.message) != ("no data loss" in finding.message)


def test_existing_type_is_the_fallback_for_a_column_the_chain_does_not_know(
        tmp_path: Path) -> None:
    body = ('    op.alter_column("legacy", "code", existing_type=sa.String(10),\n'
            '                    type_=sa.String(20))')
    assert one(run(tmp_path, body, ("D009",))).severity == "info"
    assert one(run(tmp_path / "b", '    op.alter_column("legacy", "code", type_=sa.String(20))',
                   ("D009",))).severity == "blocking"


def test_a_type_change_in_the_same_migration_as_the_column_uses_that_type(
        tmp_path: Path) -> None:
    body = ('    op.add_column("accounts", sa.Column("code", sa.String(10)))\n'
            + sql("ALTER TABLE accounts ALTER COLUMN code TYPE varchar(30)"))
    assert one(run(tmp_path, body, ("D009",))).severity == "info"


# ----------------------------------------------------------------- D010 dropped indexes

def test_a_dropped_unique_index_says_uniqueness_and_a_plain_one_does_not(
        tmp_path: Path) -> None:
    unique = one(run(tmp_path, '    op.drop_index("ix_accounts_name", table_name="accounts")',
                     ("D010",)))
    plain = one(run(tmp_path / "b", sql("DROP INDEX ix_accounts_seats"), ("D010",)))
    assert unique.severity == plain.severity == "warning"
    assert "uniqueness" in unique.message and "uniqueness" not in plain.message


@pytest.mark.parametrize("body", [
    '    op.drop_index("ix_accounts_seats", table_name="accounts")\n'
    '    op.create_index("ix_accounts_seats_2", "accounts", ["seats"])',
    sql("DROP INDEX ix_accounts_seats") + "\n" + sql("CREATE INDEX ON accounts (seats)"),
    '    op.create_index(None, "accounts", ["seats"])\n'
    '    op.drop_index("ix_accounts_seats", table_name="accounts")',
    sql("CREATE INDEX ix_new ON accounts (seats)") + "\n" + sql("DROP INDEX ix_accounts_seats"),
    '    with op.batch_alter_table("accounts") as batch_op:\n'
    '        batch_op.drop_index("ix_accounts_name")\n'
    '        batch_op.create_unique_constraint(None, ["name"])',
], ids=["python-replaced", "sql-replaced-unnamed", "python-create-then-drop",
        "sql-create-then-drop", "batch-unique-by-constraint"])
def test_an_index_replaced_in_the_same_upgrade_is_info(tmp_path: Path, body: str) -> None:
    finding = one(run(tmp_path, body, ("D010",)))
    assert finding.severity == "info" and "replaced" in finding.message


@pytest.mark.parametrize("body", [
    '    op.drop_index("ix_accounts_seats", table_name="accounts")\n'
    '    op.drop_table("accounts")',
    sql("DROP INDEX ix_accounts_seats") + "\n" + sql("DROP TABLE accounts"),
    '    op.drop_index("ix_accounts_owner_seats", table_name="accounts")\n'
    '    op.drop_column("accounts", "owner_id")\n    op.drop_column("accounts", "seats")',
    sql("DROP INDEX ix_accounts_seats") + "\n" + sql("ALTER TABLE accounts DROP COLUMN seats"),
], ids=["python-table", "sql-table", "python-columns", "sql-column"])
def test_an_index_dropped_with_its_table_or_columns_is_not_reported_apart(
        tmp_path: Path, body: str) -> None:
    assert run(tmp_path, body, ("D010",)) == []


@pytest.mark.parametrize("body", [
    '    op.drop_index("ix_accounts_id", table_name="accounts")',
    sql("DROP INDEX ix_accounts_owner"),
], ids=["python-unique-on-pk", "sql-prefix-of-another"])
def test_a_redundant_index_is_info(tmp_path: Path, body: str) -> None:
    finding = one(run(tmp_path, body, ("D010",)))
    assert finding.severity == "info" and "redundant" in finding.message


# ----------------------------------------------------------------- D011 dropped constraints

@pytest.mark.parametrize("body", [
    '    op.drop_constraint("ck_accounts_price", "accounts", type_="check")\n'
    '    op.create_check_constraint(None, "accounts", "price >= 0")',
    sql("ALTER TABLE accounts DROP CONSTRAINT ck_accounts_price") + "\n"
    + sql("ALTER TABLE accounts ADD CHECK (price >= 0)"),
    '    op.drop_constraint("fk_accounts_owner", "accounts", type_="foreignkey")\n'
    '    op.create_foreign_key(None, "accounts", "owners", ["owner_id"], ["id"],\n'
    '                          ondelete="CASCADE")',
    sql("ALTER TABLE accounts DROP CONSTRAINT fk_accounts_owner") + "\n"
    + sql("ALTER TABLE accounts ADD CONSTRAINT fk_2 FOREIGN KEY (owner_id) REFERENCES owners (id)"),
    '    with op.batch_alter_table("accounts") as batch_op:\n'
    '        batch_op.drop_constraint("uq_accounts_email", type_="unique")\n'
    '        batch_op.create_unique_constraint("uq_email", ["email"])',
], ids=["python-check-unnamed", "sql-check-unnamed", "python-fk", "sql-fk", "batch-unique"])
def test_a_constraint_replaced_in_the_same_upgrade_is_info(tmp_path: Path, body: str) -> None:
    finding = one(run(tmp_path, body, ("D011",)))
    assert finding.severity == "info" and "replaced" in finding.message


@pytest.mark.parametrize("body", [
    '    op.alter_column("accounts", "name", nullable=False)\n'
    '    op.drop_constraint("ck_accounts_name_nn", "accounts", type_="check")',
    sql("ALTER TABLE accounts ALTER COLUMN name SET NOT NULL") + "\n"
    + sql("ALTER TABLE accounts DROP CONSTRAINT ck_accounts_name_nn"),
    '    op.drop_constraint("uq_accounts_id", "accounts", type_="unique")',
    sql("ALTER TABLE accounts DROP CONSTRAINT uq_accounts_id"),
], ids=["python-not-null-check", "sql-not-null-check", "python-unique-on-pk", "sql-unique-on-pk"])
def test_a_redundant_constraint_is_info(tmp_path: Path, body: str) -> None:
    finding = one(run(tmp_path, body, ("D011",)))
    assert finding.severity == "info" and "redundant" in finding.message


@pytest.mark.parametrize(("body", "words"), [
    ('    op.drop_constraint("fk_accounts_owner", "accounts", type_="foreignkey")', "orphans"),
    (sql("ALTER TABLE accounts DROP CONSTRAINT uq_accounts_email"), "duplicates"),
    ('    op.drop_constraint("ck_accounts_price", "accounts", type_="check")', "CHECK"),
], ids=["python-fk", "sql-unique", "python-check"])
def test_a_dropped_constraint_says_what_it_stops_enforcing(tmp_path: Path, body: str,
                                                           words: str) -> None:
    finding = one(run(tmp_path, body, ("D011",)))
    assert finding.severity == "warning" and words in finding.message, finding.message


@pytest.mark.parametrize("body", [
    '    op.drop_constraint("uq_accounts_email", "accounts", type_="unique")\n'
    '    op.drop_column("accounts", "email")',
    sql("ALTER TABLE accounts DROP CONSTRAINT ck_accounts_price") + "\n"
    + sql("DROP TABLE accounts"),
], ids=["python-column", "sql-table"])
def test_a_constraint_dropped_with_its_columns_or_table_is_not_reported_apart(
        tmp_path: Path, body: str) -> None:
    assert run(tmp_path, body, ("D011",)) == []


# ----------------------------------------------------------------- coverage gaps

@pytest.mark.parametrize(("body", "code"), [
    (sql("ALTER TYPE mood RENAME TO feeling"), "D012"),
    ('    op.execute(sa.text("ALTER TYPE mood RENAME TO feeling"))', "D012"),
    (sql("ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'"), "D013"),
    ('    op.execute(sa.text("ALTER TYPE mood RENAME VALUE \'sad\' TO \'blue\'"))', "D013"),
    (sql("DROP DATABASE IF EXISTS legacy"), "D014"),
    (sql("DELETE FROM accounts WHERE 1 = 1"), "D006"),
    ('    op.execute(sa.text("DELETE FROM accounts WHERE true"))', "D006"),
])
def test_renames_of_types_and_values_drop_database_and_where_true_block(
        tmp_path: Path, body: str, code: str) -> None:
    assert one(run(tmp_path, body, (code,))).severity == "blocking"


def test_a_delete_with_a_real_where_is_not_d006(tmp_path: Path) -> None:
    assert run(tmp_path, sql("DELETE FROM accounts WHERE 1 = 2 OR seats > 3"), ("D006",)) == []


def test_drop_type_names_the_real_risk(tmp_path: Path) -> None:
    plain = one(run(tmp_path, sql("DROP TYPE mood"), ("D004",)))
    cascade = one(run(tmp_path / "b", sql("DROP TYPE mood CASCADE"), ("D004",)))
    assert "columns using it lose" not in plain.message and "name the type" in plain.message
    assert "CASCADE" in cascade.message


# ----------------------------------------------------------------- created in the same upgrade

@pytest.mark.parametrize(("body", "code"), [
    ('    op.add_column("accounts", sa.Column("tmp_name", sa.Text()))\n'
     '    op.drop_column("accounts", "name")\n'
     '    op.alter_column("accounts", "tmp_name", new_column_name="name")', "D008"),
    (sql("ALTER TABLE accounts ADD COLUMN tmp_name text") + "\n"
     + sql("ALTER TABLE accounts RENAME COLUMN tmp_name TO label"), "D008"),
    ('    with op.batch_alter_table("accounts") as batch_op:\n'
     '        batch_op.add_column(sa.Column("tmp", sa.Text()))\n'
     '        batch_op.alter_column("tmp", new_column_name="label")', "D008"),
    ('    op.create_table("staging", sa.Column("id", sa.Integer()))\n'
     '    op.drop_table("staging")', "D001"),
    (sql("CREATE TABLE staging (id int)") + "\n" + sql("DROP TABLE staging"), "D001"),
    ('    op.create_table("staging", sa.Column("id", sa.Integer()))\n'
     '    op.rename_table("staging", "accounts_v2")', "D007"),
    (sql("CREATE TABLE staging (id int)") + "\n"
     + sql("ALTER TABLE staging RENAME TO accounts_v2"), "D007"),
    ('    op.add_column("accounts", sa.Column("scratch", sa.Text()))\n'
     '    op.drop_column("accounts", "scratch")', "D002"),
    ('    op.create_table("staging", sa.Column("id", sa.Integer()))\n'
     '    op.alter_column("staging", "id", type_=sa.BigInteger())', "D009"),
    (sql("DROP TABLE IF EXISTS kg_staging CASCADE") + "\n"
     + sql("CREATE TABLE kg_staging (id int)"), "D001"),
    ('    op.drop_table("kg_staging", if_exists=True)', "D001"),
], ids=["python-rename-swapped-column", "sql-rename-new-column", "batch-rename-new-column",
        "python-drop-staging-table", "sql-drop-staging-table", "python-rename-new-table",
        "sql-rename-new-table", "python-drop-new-column", "python-retype-new-table",
        "sql-drop-if-exists-absent", "python-drop-if-exists-absent"])
def test_what_the_same_upgrade_created_or_never_existed_is_not_destroyed(
        tmp_path: Path, body: str, code: str) -> None:
    finding = one(run(tmp_path, body, (code,)))
    assert finding.severity == "info", finding.message


def test_the_old_column_of_a_swap_is_still_a_blocking_drop(tmp_path: Path) -> None:
    body = ('    op.add_column("accounts", sa.Column("tmp_name", sa.Text()))\n'
            '    op.drop_column("accounts", "name")\n'
            '    op.alter_column("accounts", "tmp_name", new_column_name="name")')
    assert one(run(tmp_path, body, ("D002",))).severity == "blocking"


def test_drop_if_exists_blocks_where_the_chain_cannot_know_every_table(tmp_path: Path) -> None:
    """A chain whose root creates nothing starts from a schema made elsewhere
    (``metadata.create_all()``): absence in the replay proves nothing there."""
    root = tmp_path / "project"
    versions = root / "alembic" / "versions"
    versions.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.b03lint]\nmigrations = "alembic/versions"\n')
    (versions / "r1.py").write_text(CHILD_HEAD.replace('"c1"', '"r1"').replace('"p1"', "None")
                                    + sql("DROP TABLE IF EXISTS kg_staging")
                                    + "\n\ndef downgrade():\n    pass\n")
    result = lint(load_config(explicit=root / "pyproject.toml"), select=["D001"], baseline=None)
    assert [f.severity for f in result.findings if f.code == "D001"] == ["blocking"]


@pytest.mark.parametrize(("body", "code"), [
    ('    op.drop_index("ix_accounts_owner_seats", table_name="accounts")\n'
     '    op.drop_column("accounts", "seats")', "D010"),
    (sql("ALTER TABLE accounts DROP CONSTRAINT uq_accounts_email") + "\n"
     + sql("ALTER TABLE accounts DROP COLUMN email"), "D011"),
    ('    op.drop_constraint("legacy_owner_id_fkey", "legacy", type_="foreignkey")\n'
     '    op.drop_column("legacy", "owner_id")', "D011"),
], ids=["python-one-of-two-index-columns", "sql-constraint-column",
        "python-unknown-fk-named-for-the-dropped-column"])
def test_a_drop_that_postgresql_would_cascade_from_a_dropped_column_is_not_apart(
        tmp_path: Path, body: str, code: str) -> None:
    """PostgreSQL drops every index and constraint involving a dropped column
    (tests/test_pg_cascades.py); a constraint the chain does not define is recognised by
    PostgreSQL's default name for that column."""
    assert run(tmp_path, body, (code,)) == []


def test_an_unnamed_constraint_with_postgresqls_default_name_is_recreated(
        tmp_path: Path) -> None:
    body = ('    op.drop_constraint("legacy_owner_id_fkey", "legacy", type_="foreignkey")\n'
            '    op.create_foreign_key(None, "legacy", "owners", ["owner_id"], ["id"],\n'
            '                          ondelete="CASCADE")')
    finding = one(run(tmp_path, body, ("D011",)))
    assert finding.severity == "info" and "same name" in finding.message


def test_a_run_time_condition_makes_unknown_only_the_tables_it_guards(tmp_path: Path) -> None:
    """Both branches of a condition are read; the marker in front of them doubts the
    tables they touch, not the whole chain: absence elsewhere stays certain."""
    body = ('    if op.get_context().config.get_main_option("feature"):\n'
            '        op.add_column("accounts", sa.Column("x", sa.Text()))\n'
            '        op.add_column("owners", sa.Column("y", sa.Text()))\n'
            + sql("DROP TABLE IF EXISTS staging"))
    assert one(run(tmp_path, body, ("D001",))).severity == "info"
    unsure = ('    if op.get_context().config.get_main_option("feature"):\n'
              '        op.execute(build_sql())\n'
              + sql("DROP TABLE IF EXISTS staging"))
    assert one(run(tmp_path / "b", unsure, ("D001",))).severity == "blocking"


@pytest.mark.parametrize("body", [
    '    op.sync_enum_values(\n'
    '        enum_schema="public", enum_name="mood", new_values=["ok", "meh"],\n'
    '        affected_columns=[TableReference(table_schema="public", table_name="accounts",\n'
    '                                         column_name="note")],\n'
    '        enum_values_to_rename=[])',
    sql("ALTER TYPE mood RENAME TO mood_old") + "\n"
    + sql("CREATE TYPE mood AS ENUM ('ok', 'meh')") + "\n"
    + sql("ALTER TABLE accounts ALTER COLUMN note TYPE mood USING note::text::mood") + "\n"
    + sql("DROP TYPE mood_old"),
], ids=["python-sync-enum-values", "sql-type-swap"])
def test_a_type_swap_renames_and_drops_nothing_that_code_names(tmp_path: Path,
                                                               body: str) -> None:
    body = body if body.startswith("    op.exec") else (
        "    from alembic_postgresql_enum import TableReference\n" + body)
    for code in ("D004", "D012"):
        assert one(run(tmp_path / code, body, (code,))).severity == "info"


GRANT_IF_ROLE_PY = ('    if op.get_bind().execute(sa.text("SELECT 1 FROM pg_roles")).scalar():\n'
                    '        op.execute("GRANT USAGE ON SCHEMA public TO readonly")\n')
GRANT_IF_ROLE_DO = ("    op.execute(\"\"\"DO $$ BEGIN\n"
                    "        IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'ro') THEN\n"
                    "            EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I',"
                    " current_schema(), 'ro');\n"
                    "        END IF;\n"
                    "    END $$;\"\"\")\n")


@pytest.mark.parametrize("guard", [GRANT_IF_ROLE_PY, GRANT_IF_ROLE_DO],
                         ids=["python-if-grant", "sql-do-if-execute-format-grant"])
def test_a_condition_around_statements_that_change_no_table_doubts_nothing(
        tmp_path: Path, guard: str) -> None:
    """Seen on a real history: a ``DO`` block that grants a role usage if it exists, then
    ``DROP TABLE IF EXISTS x CASCADE`` before ``CREATE TABLE x`` of a table the chain never
    had. A GRANT changes no table, column, constraint or index, whatever the condition
    decides, so absence stays certain and the drop is info. ``EXECUTE format(...)`` is
    read as a template: its kind is known even if its names are filled in at run time."""
    body = guard + sql("DROP TABLE IF EXISTS kg_config CASCADE")
    assert one(run(tmp_path, body, ("D001",))).severity == "info"


@pytest.mark.parametrize("guard", [
    ('    if op.get_bind().execute(sa.text("SELECT 1 FROM pg_roles")).scalar():\n'
     '        op.rename_table("accounts", "kg_config")\n'),
    ("    op.execute(\"\"\"DO $$ BEGIN\n"
     "        IF current_setting('app.legacy', true) = 'on' THEN\n"
     "            EXECUTE format('ALTER TABLE %I RENAME TO kg_config',\n"
     "                           current_setting('app.t'));\n"
     "        END IF;\n"
     "    END $$;\"\"\")\n"),
], ids=["python-if-rename-table", "sql-do-if-execute-format-rename"])
def test_a_condition_that_may_rename_a_table_keeps_the_drop_blocking(
        tmp_path: Path, guard: str) -> None:
    """The same shape where the guarded statement may bring an existing table, with its rows,
    under the name the drop names (a rename; in a template, the renamed table is filled in
    at run time and may be any): the drop may destroy rows. (A guarded CREATE TABLE of that
    name would not: the chain knows the table was absent before this upgrade.)"""
    body = guard + sql("DROP TABLE IF EXISTS kg_config CASCADE")
    assert one(run(tmp_path, body, ("D001",))).severity == "blocking"


@pytest.mark.parametrize("body", [
    '    if op.get_bind().execute(sa.text("SELECT 1 FROM pg_roles")).scalar():\n'
    '        op.drop_column("accounts", "note")',
    "    op.execute(\"\"\"DO $$ BEGIN\n"
    "        IF EXISTS (SELECT 1 FROM information_schema.columns\n"
    "                   WHERE table_name = 'accounts' AND column_name = 'note') THEN\n"
    "            EXECUTE format('ALTER TABLE %I DROP COLUMN %I', 'accounts', 'note');\n"
    "        END IF;\n"
    "    END $$;\"\"\")",
], ids=["python-if-drop-column", "sql-do-if-execute-format-drop-column"])
def test_a_drop_under_a_condition_is_still_a_drop(tmp_path: Path, body: str) -> None:
    """What a condition guards is read and judged: ``IF EXISTS (...) THEN DROP`` drops the
    column wherever it exists, which is every database the chain built."""
    assert one(run(tmp_path, body, ("D002",))).severity == "blocking"


@pytest.mark.parametrize("drop", [
    '    op.drop_table("kg_config", if_exists=True)',
    sql("DROP TABLE IF EXISTS kg_config CASCADE"),
    '    op.drop_column("accounts", "legacy", if_exists=True)',
    sql("ALTER TABLE accounts DROP COLUMN IF EXISTS legacy"),
], ids=["python-table", "sql-table", "python-column", "sql-column"])
def test_an_if_exists_drop_that_cannot_be_proven_harmless_names_what_stands_in_the_way(
        tmp_path: Path, drop: str) -> None:
    """The chain never had the object, but an earlier operation it cannot read may have
    made it: the drop stays blocking, and says so, pointing at that operation."""
    body = "    import myapp.setup\n    myapp.setup.prepare()\n" + drop
    finding = one(run(tmp_path, body, ("D001", "D002")))
    assert finding.severity == "blocking"
    assert "cannot be sure: c1_child.py:11, not known statically, may have created it" in (
        finding.message), finding.message
    assert [(r.loc.line, r.message.split(":")[0]) for r in finding.related] == [
        (11, "not known statically")]
