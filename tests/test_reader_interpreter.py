"""The Python reader as a small static interpreter (issue 15): helpers of the file are
inlined (findings at the call, the helper's line related), comprehensions and the lists
they build are read, what is certain survives a condition, branches on the dialect are
decided, and templates are read as templates (issue 12). Every file is parsed, never run.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from b03lint.operations import (
    AddColumn,
    CreateIndex,
    DataChange,
    DropColumn,
    DropTable,
    Operation,
    OtherStatement,
    Unresolved,
)
from b03lint.readers.python import read_migration
from b03lint.readers.python.inline import INLINE_SIZE_LIMIT
from b03lint.reporters import ReportOptions, renderer
from b03lint.rules.base import Example
from b03lint.rules.destructive import DropColumnRule
from b03lint.testing import EXAMPLE_PATH, run_example

HEAD = '''"""m"""
from alembic import op
import sqlalchemy as sa

revision = "r1"
down_revision = None
'''


def source(body: str) -> str:
    return HEAD + textwrap.dedent(body).lstrip("\n")


def line_of(src: str, text: str, nth: int = 0) -> int:
    lines = [k for k, line in enumerate(src.splitlines(), 1) if text in line]
    return lines[nth]


def read(src: str) -> list[Operation]:
    mf = read_migration("m.py", src.encode())
    assert not [d for d in mf.diagnostics if d.fatal], mf.diagnostics
    return mf.upgrade_ops


def kinds(ops: list[Operation]) -> list[str]:
    return [o.kind for o in ops]


# =========================================================================== Done when


def d002(src: str) -> list[Any]:
    result = run_example(DropColumnRule, Example(src))
    assert not result.errors, result.errors
    return [f for f in result.findings if f.code == "D002"]


def test_helper_drop_is_d002_at_the_call_with_the_helper_line_related() -> None:
    src = source('''
        def _drop(t, c):
            op.drop_column(t, c)


        def upgrade():
            _drop("posts", "body")
    ''')
    [finding] = d002(src)
    assert finding.path == EXAMPLE_PATH
    assert finding.line == line_of(src, '_drop("posts", "body")')
    assert finding.object == "posts.body"
    assert [(r.loc.line, r.message) for r in finding.related] == [
        (line_of(src, "op.drop_column(t, c)"), "in helper `_drop()`")]


def test_the_same_drop_behind_a_list_comprehension_is_d002() -> None:
    src = source('''
        def upgrade():
            [op.drop_column("posts", c) for c in ["body", "title"]]
    ''')
    findings = d002(src)
    assert [(f.line, f.object) for f in findings] == [
        (line_of(src, "[op.drop_column"), "posts.body"),
        (line_of(src, "[op.drop_column"), "posts.title")]


def test_a_helper_called_in_a_comprehension_is_d002_at_the_call() -> None:
    src = source('''
        def _drop(t, c):
            op.drop_column(t, c)


        def upgrade():
            [_drop("posts", c) for c in ("body",)]
    ''')
    [finding] = d002(src)
    assert finding.line == line_of(src, '[_drop("posts", c)')
    assert [r.loc.line for r in finding.related] == [line_of(src, "op.drop_column(t, c)")]


def test_nested_helper_is_d002_at_the_call() -> None:
    src = source('''
        def upgrade():
            def drop(c):
                op.drop_column("posts", c)

            drop("body")
    ''')
    [finding] = d002(src)
    assert finding.line == line_of(src, 'drop("body")')
    assert [(r.loc.line, r.message) for r in finding.related] == [
        (line_of(src, 'op.drop_column("posts", c)'), "in helper `drop()`")]


def test_a_helper_calling_a_helper_relates_both_lines_outermost_first() -> None:
    src = source('''
        def _drop(t, c):
            op.drop_column(t, c)


        def _drop_body(t):
            _drop(t, "body")


        def upgrade():
            _drop_body("posts")
    ''')
    [finding] = d002(src)
    assert finding.line == line_of(src, '_drop_body("posts")')
    assert [(r.loc.line, r.message) for r in finding.related] == [
        (line_of(src, '_drop(t, "body")'), "in helper `_drop_body()`"),
        (line_of(src, "op.drop_column(t, c)"), "in helper `_drop()`"),
    ]


def test_related_locations_in_json_sarif_and_text() -> None:
    src = source('''
        def _drop(t, c):
            op.drop_column(t, c)


        def upgrade():
            _drop("posts", "body")
    ''')
    result = run_example(DropColumnRule, Example(src))
    helper_line = line_of(src, "op.drop_column(t, c)")
    options = ReportOptions()
    data = json.loads(renderer("json")(result, options))
    [found] = [f for f in data["findings"] if f["code"] == "D002"]
    assert [(r["path"], r["line"], r["column"], r["message"]) for r in found["related"]] == [
        (EXAMPLE_PATH, helper_line, 5, "in helper `_drop()`")]
    sarif = json.loads(renderer("sarif")(result, options))
    [entry] = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "D002"]
    [related] = entry["relatedLocations"]
    assert related["message"]["text"] == "in helper `_drop()`"
    assert related["physicalLocation"]["region"]["startLine"] == helper_line
    assert related["physicalLocation"]["artifactLocation"]["uri"] == EXAMPLE_PATH
    text = renderer("text")(result, options)
    assert f"  via {EXAMPLE_PATH}:{helper_line}:5: in helper `_drop()`" in text.splitlines()


def test_a_recursive_helper_is_unresolved_with_its_reason_never_a_hang() -> None:
    src = source('''
        def _drop_all(tables):
            if tables:
                op.drop_table(tables[0])
                _drop_all(tables[1:])


        def upgrade():
            _drop_all(["a", "b"])
    ''')
    ops = read(src)
    call = line_of(src, '_drop_all(["a", "b"])')
    assert all(o.loc.line == call for o in ops)
    [recursion] = [o for o in ops if isinstance(o, Unresolved) and "calls itself" in o.reason]
    assert recursion.reason.startswith("call to helper function `_drop_all()`: it calls itself")
    assert [r.loc.line for r in recursion.related] == [line_of(src, "_drop_all(tables[1:])")]


def test_mutual_recursion_ends_too() -> None:
    src = source('''
        def ping(n):
            op.drop_table("a")
            pong(n)


        def pong(n):
            ping(n)


        def upgrade():
            ping(1)
    ''')
    ops = read(src)
    assert kinds(ops)[0] == "drop_table"
    assert any(isinstance(o, Unresolved) and "calls itself" in o.reason for o in ops)


def test_a_helper_too_large_to_inline_is_unresolved_with_its_reason() -> None:
    body = "".join(f"    x{k} = {k}\n" for k in range(INLINE_SIZE_LIMIT + 5))
    src = HEAD + f"def _big():\n{body}    op.drop_table('t')\n\n\ndef upgrade():\n    _big()\n"
    [op] = read(src)
    assert isinstance(op, Unresolved)
    assert op.loc.line == line_of(src, "    _big()")
    assert op.reason == (f"call to helper function `_big()`: it is too large to inline "
                         f"({INLINE_SIZE_LIMIT + 6} statements, more than {INLINE_SIZE_LIMIT}): "
                         "the operations it performs are not read")


def test_helpers_are_followed_only_so_many_statements_per_file() -> None:
    """A helper that calls a helper twice, eight levels deep, would run 2^8 bodies: the
    file's inline budget ends it, each call not followed named."""
    defs = "def h0():\n    op.drop_table('t')\n"
    for k in range(1, 9):
        defs += f"def h{k}():\n" + f"    h{k - 1}()\n" * 2 + "    x = 1\n" * 150
    src = HEAD + defs + "def upgrade():\n    h8()\n"
    ops = read(src)
    assert any(isinstance(o, Unresolved) and "already been followed" in o.reason for o in ops)
    assert len(ops) < 2 ** 8


def test_decorated_async_and_generator_helpers_are_not_inlined() -> None:
    src = source('''
        import functools


        @functools.cache
        def cached():
            op.drop_table("a")


        async def later():
            op.drop_table("b")


        def gen():
            yield op.drop_table("c")


        def upgrade():
            cached()
            later()
            gen()
    ''')
    reasons = [o.reason for o in read(src) if isinstance(o, Unresolved)]
    assert reasons == [
        "call to helper function `cached()`: it is decorated (`@functools.cache`), and what "
        "that does is not known: the operations it performs are not read",
        "call to helper function `later()`: it is an `async def` (calling it only makes a "
        "coroutine): the operations it performs are not read",
        "call to helper function `gen()`: it is a generator (its body runs only as far as it "
        "is iterated): the operations it performs are not read",
    ]


# =========================================================================== helpers: values


def test_a_helper_returns_a_value_and_arguments_bind_as_python_does() -> None:
    src = source('''
        def _name(base, *, suffix="old", **extra):
            return f"{base}_{suffix}{extra.get('n', '')}"


        def _cols(*names):
            return list(names)


        def upgrade():
            op.drop_table(_name("events"))
            op.drop_table(_name("events", suffix="new", n=2))
            for c in _cols("a", "b"):
                op.drop_column("t", c)
    ''')
    ops = read(src)
    assert [(o.kind, getattr(o, "table", None), getattr(o, "column", None)) for o in ops] == [
        ("drop_table", "events_old", None), ("drop_table", "events_new2", None),
        ("drop_column", "t", "a"), ("drop_column", "t", "b")]


def test_a_helper_is_performed_once_per_statement_run() -> None:
    """Reading a statement evaluates its value after performing it: the helper's
    operations must not be read twice."""
    src = source('''
        def _add(t):
            op.add_column(t, sa.Column("c", sa.Integer()))
            return t


        def upgrade():
            name = _add("a")
            op.create_index("ix", _add(name), ["c"])
            for t in ["x", "y"]:
                _add(t)
    ''')
    ops = read(src)
    assert [(o.kind, getattr(o, "table", None)) for o in ops] == [
        ("add_column", "a"), ("add_column", "a"), ("create_index", "a"),
        ("add_column", "x"), ("add_column", "y")]
    assert isinstance(ops[2], CreateIndex)


def test_a_helper_on_values_not_known_statically_says_what_it_cannot_read() -> None:
    src = source('''
        import os


        def _drop(t):
            op.drop_table(t)


        def upgrade():
            _drop(os.environ["T"])
    ''')
    [op] = read(src)
    assert isinstance(op, Unresolved)
    assert op.reason == "`op.drop_table`: the table name is not known statically"
    assert op.loc.line == line_of(src, '_drop(os.environ["T"])')
    assert [r.loc.line for r in op.related] == [line_of(src, "op.drop_table(t)")]


def test_is_postgres_helpers_decide_their_branch() -> None:
    """The form of several real histories: a helper that answers the dialect."""
    src = source('''
        def is_postgres():
            return op.get_context().dialect.name == "postgresql"


        def upgrade():
            if is_postgres():
                op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            else:
                op.execute("PRAGMA foreign_keys=ON")
    ''')
    ops = read(src)
    assert kinds(ops) == ["other_statement"]
    assert isinstance(ops[0], OtherStatement) and ops[0].statement == "CreateExtensionStmt"


def test_a_helper_at_module_level_builds_a_constant() -> None:
    src = source('''
        def _tables(prefix):
            return [f"{prefix}_{k}" for k in range(2)]


        TABLES = _tables("log")


        def upgrade():
            for t in TABLES:
                op.drop_table(t)
    ''')
    assert [getattr(o, "table", None) for o in read(src)] == ["log_0", "log_1"]


# =========================================================================== comprehensions


def test_module_constants_built_by_comprehensions_and_loops_over_them() -> None:
    src = source('''
        BASE = ["users", "teams"]
        TABLES = [f"{t}_archive" for t in BASE if t != "teams"]
        PAIRS = {t: f"ix_{t}" for t in BASE}
        UNIQUE = {t.upper() for t in BASE + BASE}
        SQL = ";".join(f"DROP TABLE {t}" for t in TABLES)


        def upgrade():
            for t in TABLES:
                op.drop_table(t)
            for t, ix in PAIRS.items():
                op.drop_index(ix, table_name=t)
            for t in UNIQUE:
                op.drop_table(t)
            op.execute(SQL)
    ''')
    ops = read(src)
    assert [(o.kind, getattr(o, "table", None), getattr(o, "name", None)) for o in ops] == [
        ("drop_table", "users_archive", None),
        ("drop_index", "users", "ix_users"), ("drop_index", "teams", "ix_teams"),
        ("drop_table", "USERS", None), ("drop_table", "TEAMS", None),
        ("drop_table", "users_archive", None),
    ]


def test_a_comprehension_over_values_not_known_statically_is_named() -> None:
    src = source('''
        import os


        def upgrade():
            [op.drop_table(t) for t in os.environ["T"].split()]
    ''')
    ops = read(src)
    assert isinstance(ops[0], Unresolved)
    assert ops[0].reason.startswith("comprehension over values not known statically")
    assert isinstance(ops[1], Unresolved)  # the drop of an unknown table, named too


# =========================================================================== certain facts


def test_a_list_a_condition_may_extend_keeps_its_known_items() -> None:
    src = source('''
        import os


        def upgrade():
            tables = ["a", "b"]
            if os.environ.get("X"):
                tables.append("c")
            tables.append("d")
            for t in tables:
                op.drop_table(t)
    ''')
    ops = read(src)
    drops = [o.table for o in ops if isinstance(o, DropTable)]
    assert drops == ["a", "b", "d"]  # "d" is appended whatever the condition
    [marker] = [o for o in ops if isinstance(o, Unresolved)
                and o.reason.startswith("loop over a list that a run-time condition may extend")]
    assert "the 3 value(s) it certainly holds" in marker.reason
    assert marker.loc.line == line_of(src, "for t in tables:")


def test_a_list_built_unconditionally_is_read_whole() -> None:
    src = source('''
        def upgrade():
            cols = []
            for c in ("a", "b"):
                cols.append(c)
            cols += ["c"]
            cols.extend(["d"])
            cols.insert(0, "z")
            names = {}
            names["x"] = "y"
            for c in cols:
                op.drop_column("t", c)
            for k, v in names.items():
                op.rename_table(k, v)
    ''')
    ops = read(src)
    assert [o.column for o in ops if isinstance(o, DropColumn)] == ["z", "a", "b", "c", "d"]
    assert kinds(ops)[-1] == "rename_table"
    assert not [o for o in ops if isinstance(o, Unresolved)]


def test_a_loop_variable_keeps_its_last_value_after_the_loop() -> None:
    src = source('''
        def upgrade():
            for t in ("a", "b"):
                pass
            op.drop_table(t)
    ''')
    assert [getattr(o, "table", None) for o in read(src)] == ["b"]


# =========================================================================== dialect (#12)


def test_branches_on_the_dialect_are_decided_in_every_written_form() -> None:
    src = source('''
        from alembic import context


        def upgrade():
            bind = op.get_bind()
            url = context.config.get_main_option("sqlalchemy.url")
            if bind.dialect.name == "mysql":
                op.execute("ALTER TABLE t MODIFY c INT")
            if url.startswith("mysql"):
                op.execute("ALTER TABLE t MODIFY c INT")
            if context.get_context().dialect.name != "postgresql":
                op.execute("ALTER TABLE t MODIFY c INT")
            if op.get_bind().engine.name == "sqlite":
                op.execute("PRAGMA x")
            if "sqlite" in str(bind.engine.url):
                op.execute("PRAGMA x")
            if bind.engine.url.drivername.startswith("postgresql"):
                op.drop_table("pg_only")
    ''')
    ops = read(src)
    assert [(o.kind, getattr(o, "table", None)) for o in ops] == [("drop_table", "pg_only")]


def test_sql_for_another_dialect_is_never_a_syntax_error() -> None:
    src = source('''
        def upgrade():
            if op.get_bind().dialect.name == "mysql":
                op.execute("ALTER TABLE t MODIFY COLUMN c INT NOT NULL AUTO_INCREMENT")
    ''')
    mf = read_migration("m.py", src.encode())
    assert mf.upgrade_ops == [] and mf.diagnostics == []


# =========================================================================== templates (#12)


def test_templates_are_read_as_templates() -> None:
    src = source('''
        import os

        table = os.environ["T"]
        ids = os.environ["IDS"]


        def upgrade():
            op.execute("UPDATE users SET active = {} WHERE id = {}".format(True, ids))
            op.execute("DELETE FROM sessions WHERE user_id = %s" % ids)
            op.execute(f"ALTER TABLE {table} DROP COLUMN legacy")
            op.execute("DROP TABLE " + table)
            op.execute(sa.text("SELECT id FROM sso_provider WHERE name IN :names"))
            op.get_bind().execute(
                sa.text("UPDATE sso_provider SET config = :config WHERE id = :id"), {})
    ''')
    mf = read_migration("m.py", src.encode())
    assert mf.diagnostics == []
    ops = mf.upgrade_ops
    assert [(o.kind, getattr(o, "table", None)) for o in ops] == [
        ("data_change", "users"), ("data_change", "sessions"),
        ("unresolved", None), ("unresolved", None),
        ("other_statement", None), ("data_change", "sso_provider")]
    assert isinstance(ops[0], DataChange) and ops[0].has_where
    assert isinstance(ops[2], Unresolved) and ops[2].reason == (
        "drop column whose `table` is filled in at run time (the SQL is a template)")
    assert ops[2].loc.line == line_of(src, 'op.execute(f"ALTER TABLE')
    assert isinstance(ops[3], Unresolved) and ops[3].reason == (
        "drop table whose `table` is filled in at run time (the SQL is a template)")


def test_a_template_in_a_value_position_keeps_the_statement_and_its_table() -> None:
    src = source('''
        import os


        def upgrade():
            op.execute(f"ALTER TABLE t ADD COLUMN c {os.environ['TYPE']}")
    ''')
    [op] = read(src)
    assert isinstance(op, Unresolved) and op.table == "t"
    assert op.reason == "add column whose `column` is filled in at run time (the SQL is a template)"


def test_a_literal_with_braces_executed_as_is_is_still_a_syntax_error() -> None:
    """Not a template: the migration sends ``{}`` to PostgreSQL, which rejects it."""
    src = source('''
        def upgrade():
            op.execute("DROP TABLE {}")
    ''')
    mf = read_migration("m.py", src.encode())
    assert [d.code for d in mf.diagnostics] == ["I003"]


def test_a_template_that_does_not_parse_is_unresolved_not_a_syntax_error() -> None:
    src = source('''
        import os


        def upgrade():
            op.execute(f"UPDATE t SET {os.environ['SET']}")
    ''')
    mf = read_migration("m.py", src.encode())
    assert mf.diagnostics == []
    [op] = mf.upgrade_ops
    assert isinstance(op, Unresolved)
    assert op.reason.startswith("a SQL template that does not parse with its run-time parts "
                                "left out: ")


# =========================================================================== autocommit


def test_operations_in_an_autocommit_block_run_outside_the_transaction() -> None:
    src = source('''
        def upgrade():
            with op.get_context().autocommit_block():
                op.create_index("ix", "t", ["c"], postgresql_concurrently=True)
                op.execute("ALTER TYPE status ADD VALUE 'x'")
            op.add_column("t", sa.Column("d", sa.Integer()))
    ''')
    ops = read(src)
    assert [(o.kind, o.autocommit) for o in ops] == [
        ("create_index", True), ("alter_enum_add_value", True), ("add_column", False)]
    assert isinstance(ops[2], AddColumn)


# =========================================================================== I007 (#12.7)


def test_drop_constraint_none_is_an_operation_that_cannot_run() -> None:
    src = source('''
        def upgrade():
            op.drop_constraint(None, "orders", type_="foreignkey")
            with op.batch_alter_table("items") as batch_op:
                batch_op.drop_constraint(None, type_="unique")


        def downgrade():
            op.drop_constraint(None, "orders", type_="foreignkey")
    ''')
    mf = read_migration("m.py", src.encode())
    assert mf.operations == []  # nothing is dropped: Alembic stops before
    found = [(d.code, d.loc.line, d.severity, d.object) for d in mf.diagnostics]
    assert found == [
        ("I007", line_of(src, 'op.drop_constraint(None, "orders"'), "blocking", "orders"),
        ("I007", line_of(src, "batch_op.drop_constraint(None"), "blocking", "items"),
        ("I007", line_of(src, 'op.drop_constraint(None, "orders"', 1), "warning", "orders"),
    ]
    assert mf.diagnostics[0].message == (
        "`op.drop_constraint(None, ...)` cannot run: Alembic needs the foreignkey constraint's "
        "name to drop it, so this upgrade() fails. Write the name PostgreSQL gave it (by "
        "default `orders_<column>_fkey`).")
    assert "so this downgrade() fails" in mf.diagnostics[2].message
    assert "not known statically" not in " ".join(d.message for d in mf.diagnostics)


def test_a_named_drop_constraint_is_read_as_before() -> None:
    src = source('''
        def upgrade():
            op.drop_constraint("orders_user_id_fkey", "orders", type_="foreignkey")
    ''')
    mf = read_migration("m.py", src.encode())
    assert kinds(mf.upgrade_ops) == ["drop_constraint"] and mf.diagnostics == []


# =========================================================================== vocabulary


def test_not_valid_constraints_computed_and_identity_columns() -> None:
    src = source('''
        def upgrade():
            op.create_foreign_key("fk_o_u", "orders", "users", ["user_id"], ["id"],
                                  postgresql_not_valid=True)
            op.create_check_constraint("ck_o_qty", "orders", "qty > 0",
                                       postgresql_not_valid=True)
            op.create_check_constraint("ck_o_price", "orders", "price >= 0")
            op.create_table(
                "lines",
                sa.Column("id", sa.Integer(), sa.Identity(always=True), primary_key=True),
                sa.Column("qty", sa.Integer()),
                sa.Column("total", sa.Numeric(), sa.Computed("qty  *  2", persisted=True)),
            )
    ''')
    ops = read(src)
    constraints = [o.constraint for o in ops if o.kind == "add_constraint"]  # type: ignore[attr-defined]
    assert [(c.name, c.not_valid) for c in constraints] == [
        ("fk_o_u", True), ("ck_o_qty", True), ("ck_o_price", False)]
    table = ops[-1]
    columns = {c.name: c for c in table.columns}  # type: ignore[attr-defined]
    assert columns["id"].identity and not columns["id"].nullable
    assert columns["id"].default is None  # an identity, not a serial
    assert columns["total"].generated == "qty * 2"
    assert columns["qty"].generated is None


def test_enum_types_from_a_python_enum_class_of_the_file() -> None:
    src = source('''
        import enum


        class Status(str, enum.Enum):
            ACTIVE = "active"
            PAUSED = "paused"

            def label(self):
                return self.value.title()


        def upgrade():
            sa.Enum(Status).create(op.get_bind(), checkfirst=True)
            op.create_table("jobs", sa.Column("s", sa.Enum(Status, name="job_status")))
            sa.Enum(Status, values_callable=lambda e: [m.value for m in e]).create(op.get_bind())
    ''')
    ops = read(src)
    assert [(o.kind, getattr(o, "name", None), getattr(o, "values", None)) for o in ops] == [
        ("create_enum_type", "status", ("ACTIVE", "PAUSED")),
        ("create_enum_type", "job_status", ("ACTIVE", "PAUSED")),
        ("create_table", None, None),
        ("unresolved", None, None),
    ]


# =========================================================================== Alembic extensions


def test_alembic_utils_entities_are_read_as_the_sql_they_send() -> None:
    src = source('''
        from alembic_utils.pg_extension import PGExtension
        from alembic_utils.pg_function import PGFunction
        from alembic_utils.pg_policy import PGPolicy
        from alembic_utils.pg_view import PGView
        from alembic_utils.pg_grant_table import PGGrantTable

        citext = PGExtension(schema="public", signature="citext")
        tenant_only = PGPolicy(
            schema="public",
            signature="tenant_only",
            on_entity="public.accounts",
            definition="AS PERMISSIVE FOR ALL TO public USING (tenant_id = current_setting('app.tenant')::int)",
        )


        def upgrade():
            op.create_entity(citext)
            op.create_entity(PGFunction(
                schema="public", signature="to_upper(s text)",
                definition="returns text as $$ select upper(s) $$ language sql"))
            op.create_entity(tenant_only)
            op.replace_entity(PGView("public", "active_accounts",
                                     "select * from accounts where active"))
            op.create_entity(PGGrantTable(schema="public", table="accounts", role="reader",
                                          grant="SELECT", columns=["id", "name"]))
            op.drop_entity(tenant_only)
    ''')
    mf = read_migration("m.py", src.encode())
    assert mf.diagnostics == []
    ops = mf.upgrade_ops
    assert [o.kind for o in ops] == [
        "other_statement", "other_statement", "create_policy", "other_statement",
        "other_statement", "drop_policy"]
    assert [getattr(o, "statement", None) for o in ops[:2]] == [
        "CreateExtensionStmt", "CreateFunctionStmt"]
    policy = ops[2]
    assert (policy.name, policy.table, policy.schema, policy.command) == (  # type: ignore[attr-defined]
        "tenant_only", "accounts", "public", "all")
    assert policy.using == "tenant_id = current_setting('app.tenant')::integer"  # type: ignore[attr-defined]
    assert policy.via == "op.create_entity"
    assert policy.loc.line == line_of(src, "op.create_entity(tenant_only)")
    assert (ops[5].name, ops[5].table) == ("tenant_only", "accounts")  # type: ignore[attr-defined]


def test_an_entity_not_known_statically_is_named() -> None:
    src = source('''
        import os
        from alembic_utils.pg_policy import PGPolicy


        def upgrade():
            op.create_entity(PGPolicy(schema="public", signature=os.environ["P"],
                                      on_entity="t", definition="USING (true)"))
    ''')
    [op] = read(src)
    assert isinstance(op, Unresolved)
    assert op.reason == ("`op.create_entity`: the `signature` of the `PGPolicy` is not known "
                         "statically")


def test_sync_enum_values_is_read_as_the_operations_it_runs() -> None:
    src = source('''
        from alembic_postgresql_enum import TableReference


        def upgrade():
            op.sync_enum_values(
                enum_schema="public",
                enum_name="job_status",
                new_values=["queued", "running", "done"],
                affected_columns=[
                    TableReference(table_schema="public", table_name="jobs",
                                   column_name="status",
                                   existing_server_default="'queued'::job_status"),
                ],
                enum_values_to_rename=[("finished", "done")],
            )
    ''')
    ops = read(src)
    assert [(o.kind, getattr(o, "name", None)) for o in ops] == [
        ("rename_type", "job_status"), ("create_enum_type", "job_status"),
        ("alter_column_default", None), ("alter_column_type", None),
        ("alter_column_default", None), ("drop_type", "job_status_old")]
    assert ops[0].new_name == "job_status_old"  # type: ignore[attr-defined]
    assert ops[1].values == ("queued", "running", "done")  # type: ignore[attr-defined]
    change = ops[3]
    assert (change.table, change.column, change.new_type) == (  # type: ignore[attr-defined]
        "jobs", "status", "job_status")
    assert change.using == (  # type: ignore[attr-defined]
        "(CASE status::text WHEN 'finished' THEN 'done' ELSE status::text END)::job_status")
    assert ops[4].default == "'queued'::job_status"  # type: ignore[attr-defined]
    assert all(o.via == "op.sync_enum_values" for o in ops)


# =========================================================================== project modules


TYPES = '''\
import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class TZDateTime(TypeDecorator):
    impl = sa.DateTime(timezone=True)
    cache_ok = True


class GUID(TypeDecorator):
    impl = sa.CHAR(32)

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(sa.CHAR(32))
'''
HELPERS = '''\
from alembic import op

from myapp.db.names import LEGACY


def drop_legacy(table):
    for column in LEGACY:
        op.drop_column(table, column)
'''
NAMES = 'LEGACY = ["body", "title"]\n'


def test_names_from_project_modules_are_read_never_imported() -> None:
    src = source('''
        from myapp.db.types import GUID, TZDateTime
        from myapp.db import helpers


        def upgrade():
            op.add_column("posts", sa.Column("seen_at", TZDateTime()))
            op.add_column("posts", sa.Column("ref", GUID()))
            helpers.drop_legacy("posts")
    ''')
    files = {"myapp/__init__.py": "raise SystemExit('imported!')\n",
             "myapp/db/__init__.py": "", "myapp/db/types.py": TYPES,
             "myapp/db/helpers.py": HELPERS, "myapp/db/names.py": NAMES}
    result = run_example(DropColumnRule, Example(src, files=files))
    assert not result.errors, result.errors
    findings = [f for f in result.findings if f.code == "D002"]
    call = line_of(src, 'helpers.drop_legacy("posts")')
    assert [(f.path, f.line, f.object) for f in findings] == [
        (EXAMPLE_PATH, call, "posts.body"), (EXAMPLE_PATH, call, "posts.title")]
    [related] = findings[0].related
    assert related.loc.path.endswith("myapp/db/helpers.py")
    assert related.loc.line == HELPERS.splitlines().index(
        "        op.drop_column(table, column)") + 1
    assert related.message == "in helper `drop_legacy()`"
    # the TypeDecorator's impl is the column's type; one that picks a type per dialect
    # at run time is not known statically
    from b03lint.rules.input import UnresolvedOperation

    result = run_example(UnresolvedOperation, Example(src, files=files))
    assert [(f.line, f.message) for f in result.findings if f.code == "I004"] == [
        (line_of(src, 'sa.Column("ref", GUID())'), "cannot resolve statically: "
         "`op.add_column`: column `ref`: the type is not known statically")]


def test_a_project_module_the_reading_used_invalidates_the_cache(tmp_path: Any) -> None:
    from b03lint.config import load_config
    from b03lint.loader import load_files

    (tmp_path / "pyproject.toml").write_text(
        '[tool.b03lint]\nmigrations = "alembic/versions"\ncache = true\n'
        'cache_dir = ".cache"\n')
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "names.py").write_text('TABLE = "old_posts"\n')
    versions = tmp_path / "alembic" / "versions"
    versions.mkdir(parents=True)
    migration = versions / "a1.py"
    migration.write_text(source('''
        from myapp.names import TABLE


        def upgrade():
            op.drop_table(TABLE)
    '''))
    config = load_config(explicit=tmp_path / "pyproject.toml")

    def tables() -> list[str | None]:
        [mf] = load_files([("a1.py", migration)], config)
        return [getattr(o, "table", None) for o in mf.upgrade_ops]

    assert tables() == ["old_posts"]
    assert tables() == ["old_posts"]  # from the cache
    (tmp_path / "myapp" / "names.py").write_text('TABLE = "older_posts"\n')
    assert tables() == ["older_posts"]


# =========================================================================== Core statements


def test_sqlalchemy_core_statements_are_data_statements() -> None:
    src = source('''
        jobs = sa.table("jobs", sa.column("state"), schema="ops")
        users = sa.table("users", sa.column("active"))


        def upgrade():
            conn = op.get_bind()
            conn.execute(users.update().values(active=True))
            conn.execute(users.update().where(sa.true()).values(active=True))
            op.execute(sa.delete(jobs).where(jobs.c.state == "done"))
            op.execute(users.insert().values(active=False))
            conn.execute(sa.select(users))
            op.bulk_insert(users, [{"active": True}])
    ''')
    ops = read(src)
    assert [(o.verb, o.table, o.has_where) for o in ops] == [  # type: ignore[attr-defined]
        ("update", "users", False), ("update", "users", False), ("delete", "ops.jobs", True),
        ("insert", "users", True), ("insert", "users", True)]
