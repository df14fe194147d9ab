"""Tests of the Python migration reader (the package b03lint/readers/python/).

Every migration here is parsed, never imported; the SQL inside ``op.execute`` goes through
the real SQL reader (pglast).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from ci_skip import skip_outside_ci
from hypothesis import given, settings
from hypothesis import strategies as st

from b03lint.operations import (
    AddColumn,
    AddConstraint,
    AlterColumnDefault,
    AlterColumnNullable,
    AlterColumnType,
    ColumnDef,
    ConstraintDef,
    ConstraintKind,
    CreateEnumType,
    CreateIndex,
    CreateTable,
    DataChange,
    Diagnostic,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropTable,
    DropType,
    EnableRLS,
    ForeignKeyRef,
    IndexElement,
    Location,
    MigrationFile,
    Operation,
    OtherStatement,
    RenameColumn,
    RenameTable,
    Unresolved,
)
from b03lint.readers.python import read_migration

PATH = "alembic/versions/m.py"

HEAD = (
    '"""Test migration.\n'
    "\n"
    "Revision ID: r1\n"
    '"""\n'
    "import sqlalchemy as sa\n"
    "from alembic import op\n"
    "from sqlalchemy.dialects import postgresql\n"
    "\n"
    'revision = "r1"\n'
    'down_revision = "r0"\n'
    "\n"
    "\n"
    "def upgrade():\n"
)
BODY_LINE = HEAD.count("\n") + 1  # the first line of upgrade()'s body


def read(source: str) -> MigrationFile:
    return read_migration(PATH, source.encode())


def migration(body: str, downgrade: str | None = None, prelude: str = "") -> str:
    src = HEAD.replace("\n\n\ndef upgrade", f"\n{prelude}\n\ndef upgrade") if prelude else HEAD
    src += textwrap.indent(textwrap.dedent(body).strip("\n") + "\n", "    ")
    if downgrade is not None:
        src += "\n\ndef downgrade():\n"
        src += textwrap.indent(textwrap.dedent(downgrade).strip("\n") + "\n", "    ")
    return src


def up(body: str, prelude: str = "") -> tuple[list[Operation], str]:
    src = migration(body, prelude=prelude)
    mf = read(src)
    assert mf.readable, mf.diagnostics
    return mf.upgrade_ops, src


def loc(src: str, text: str, occurrence: int = 1) -> Location:
    """The location of a one-line piece of ``src`` (its ``occurrence``-th appearance)."""
    at = -1
    for _ in range(occurrence):
        at = src.index(text, at + 1)
    line = src.count("\n", 0, at) + 1
    column = at - (src.rfind("\n", 0, at) + 1)
    return Location(PATH, line, column, line, column + len(text))


def check_sql(expression: str) -> str:
    """The SQL reader's spelling of a CHECK expression (the Python reader hands it over)."""
    from b03lint.readers.sql import analyze_check

    return analyze_check(expression).expression


def line_of(src: str, text: str) -> int:
    return src.count("\n", 0, src.index(text)) + 1


def py(src: str, text: str, **kw: Any) -> dict[str, Any]:
    """The common fields of an operation read from the one-line Python call ``text``."""
    via = kw.pop("via") if "via" in kw else text.split("(", 1)[0]
    return {"loc": loc(src, text), "phase": "upgrade", "source": "python", "via": via, **kw}


# =========================================================================== metadata


def test_metadata_plain_assignments_docstring_digest() -> None:
    src = migration("pass", downgrade="pass")
    mf = read(src)
    assert mf.revision == "r1"
    assert mf.down_revisions == ("r0",)
    assert mf.revision_loc == loc(src, 'revision = "r1"')
    assert mf.down_revision_loc == loc(src, 'down_revision = "r0"')
    assert mf.message == "Test migration."
    assert mf.branch_labels == () and mf.depends_on == ()
    assert mf.has_upgrade and mf.has_downgrade
    assert mf.upgrade_ops == [] and mf.downgrade_ops == []
    assert mf.diagnostics == []
    assert mf.digest == hashlib.sha256(src.encode()).hexdigest()
    assert mf.path == PATH


def test_metadata_annotated_merge_and_labels() -> None:
    src = textwrap.dedent('''\
        """Merge heads."""
        from typing import Sequence, Union

        revision: str = "m1"
        down_revision: Union[str, Sequence[str], None] = ("a1", "b1")
        branch_labels: Union[str, Sequence[str], None] = "feature"
        depends_on: Union[str, Sequence[str], None] = ["x1", "y1"]


        def upgrade() -> None:
            pass
        ''')
    mf = read(src)
    assert mf.revision == "m1"
    assert mf.down_revisions == ("a1", "b1")
    assert mf.branch_labels == ("feature",)
    assert mf.depends_on == ("x1", "y1")
    assert mf.revision_loc == loc(src, 'revision: str = "m1"')
    assert mf.down_revision_loc == loc(src, 'down_revision: Union[str, Sequence[str], None] = ("a1", "b1")')
    assert mf.message == "Merge heads."
    assert mf.has_upgrade and not mf.has_downgrade


def test_metadata_base_revision_and_module_constant() -> None:
    src = 'PREVIOUS = None\nREV = "base1"\nrevision = REV\ndown_revision = PREVIOUS\n'
    mf = read(src)
    assert mf.revision == "base1"
    assert mf.down_revisions == ()
    assert mf.message is None
    assert not mf.has_upgrade and not mf.has_downgrade


def test_metadata_computed_at_run_time_is_unresolved() -> None:
    src = textwrap.dedent("""\
        import os
        revision = "r9"
        down_revision = os.environ["PARENT"]
        branch_labels = compute()
        """)
    mf = read(src)
    assert mf.revision == "r9"
    assert mf.down_revisions is None
    assert mf.down_revision_loc == loc(src, 'down_revision = os.environ["PARENT"]')
    assert mf.branch_labels == ()
    assert mf.upgrade_ops == [
        Unresolved(
            loc=loc(src, 'down_revision = os.environ["PARENT"]'), phase="module",
            via="down_revision",
            reason="`down_revision` is not a literal: its value is only known at run time",
            snippet='down_revision = os.environ["PARENT"]',
        ),
        Unresolved(
            loc=loc(src, "branch_labels = compute()"), phase="module", via="branch_labels",
            reason="`branch_labels` is not a literal: its value is only known at run time",
            snippet="branch_labels = compute()",
        ),
    ]
    assert mf.diagnostics == []


def test_missing_revision_is_a_blocking_diagnostic() -> None:
    mf = read('"""No id."""\ndown_revision = None\n')
    assert mf.revision is None
    assert mf.diagnostics == [
        Diagnostic(code="I005", message="migration has no `revision` identifier",
                   loc=Location(PATH, 1), severity="blocking")
    ]
    assert mf.readable  # not fatal: the rest of the file was read


# =========================================================================== decoding, syntax


def test_utf8_bom_and_non_ascii_columns() -> None:
    src = migration('op.execute("COMMENT ON TABLE t IS \'é\'; DROP TABLE t")')
    mf = read_migration(PATH, b"\xef\xbb\xbf" + src.encode())
    assert mf.readable
    drop = mf.upgrade_ops[-1]
    assert isinstance(drop, DropTable)
    # columns count characters, not UTF-8 bytes: 'é' is one column
    line = src.splitlines()[drop.loc.line - 1]
    assert line[drop.loc.column:drop.loc.end_column] == "DROP TABLE t"
    assert mf.digest == hashlib.sha256(b"\xef\xbb\xbf" + src.encode()).hexdigest()


def test_pep263_coding_cookie() -> None:
    src = "# -*- coding: latin-1 -*-\n" + migration('op.drop_table("caf\xe9")  # s\xfbr')
    mf = read_migration(PATH, src.encode("latin-1"))
    assert mf.readable
    assert mf.upgrade_ops == [DropTable(**py(src, 'op.drop_table("caf\xe9")'), table="caf\xe9")]
    assert mf.comments[line_of(src, "op.drop_table")] == "# s\xfbr"


def test_undecodable_bytes_are_a_fatal_diagnostic_at_their_line() -> None:
    data = b'revision = "r1"\n# ok\nx = "\xff\xfe"\n'
    mf = read_migration(PATH, data)
    assert not mf.readable
    (diag,) = mf.diagnostics
    assert diag.code == "I002" and diag.fatal
    assert diag.message.startswith(f"cannot decode {PATH} as utf-8: ")
    assert (diag.loc.line, diag.loc.column) == (3, 5)
    assert mf.revision is None and mf.operations == []


def test_unknown_coding_cookie_is_a_fatal_diagnostic() -> None:
    mf = read_migration(PATH, b"# coding: klingon\nrevision = 'r1'\n")
    assert [(d.code, d.fatal, d.loc.line) for d in mf.diagnostics] == [("I002", True, 1)]


def test_syntax_error_is_a_fatal_diagnostic_with_position() -> None:
    mf = read_migration(PATH, b'revision = "r1"\n\ndef upgrade(:\n    pass\n')
    (diag,) = mf.diagnostics
    assert diag.code == "I001" and diag.fatal and diag.severity == "blocking"
    assert (diag.loc.path, diag.loc.line, diag.loc.column) == (PATH, 3, 12)
    assert diag.message.startswith("syntax error: ")


@pytest.mark.parametrize(
    "data",
    [
        b"x = 1\x00\n",  # NUL byte
        b"x = " + b"(" * 300 + b")" * 300 + b"\n",  # too many nested parentheses
        b"x = " + b"1+" * 200_000 + b"1\n",  # recursion during AST construction
        b"x = " + b"-" * 100_000 + b"1\n",
    ],
)
def test_pathological_input_never_raises(data: bytes) -> None:
    mf = read_migration(PATH, data)
    assert not mf.readable
    assert [d.code for d in mf.diagnostics] == ["I001"]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_never_raise(data: bytes) -> None:
    mf = read_migration(PATH, data)
    assert all(d.code in ("I001", "I002", "I005", "I006") for d in mf.diagnostics)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([
    "op.execute(", "op.create_table(", "sa.Column(", "'t'", '"""DROP TABLE x"""', ", ",
    ")", "(", "sa.Integer", "nullable=False", "for x in [1, 2]:", "\n    ", "if a:",
    "op.f(", "sa.text(", "x = ", "SQL", " + ", "f'{x}'", "with op.batch_alter_table('t') as b:",
    "b.drop_column(", "[", "]", "**{}", "*[]", "try:", "except:", "pass",
]), max_size=25))
def test_fuzzed_migration_bodies_never_raise(parts: list[str]) -> None:
    src = 'SQL = "DROP TABLE y"\nrevision = "r"\ndef upgrade():\n    ' + "".join(parts) + "\n"
    mf = read_migration(PATH, src.encode())
    assert not any(d.code == "I000" for d in mf.diagnostics), mf.diagnostics


def test_module_side_effects_are_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed.txt"
    src = textwrap.dedent(f"""\
        import socket
        import module_that_does_not_exist
        from alembic import op
        open({str(marker)!r}, "w").write("ran")
        socket.create_connection(("203.0.113.1", 9)).send(b"x")
        raise SystemExit("imported!")

        revision = "side1"
        down_revision = None


        def upgrade():
            open({str(marker)!r}, "w").write("ran")
            op.drop_table("t")
        """)
    mf = read(src)
    assert not marker.exists()
    assert mf.revision == "side1"
    assert [type(o) for o in mf.upgrade_ops if o.phase == "upgrade"] == [Unresolved, DropTable]
    # what the module body would do when imported is named too, never run (issue 8)
    assert [(o.loc.line, o.phase) for o in mf.upgrade_ops if o.phase == "module"] == [
        (4, "module"), (5, "module")]
    assert "module_that_does_not_exist" not in sys.modules


def test_a_file_without_sql_does_not_import_pglast(tmp_path: Path) -> None:
    migration_file = tmp_path / "m.py"
    migration_file.write_text(migration('op.add_column("t", sa.Column("c", sa.Integer()))'))
    code = (
        "import sys\n"
        "from b03lint.readers.python import read_migration\n"
        f"mf = read_migration('m.py', open({str(migration_file)!r}, 'rb').read())\n"
        "assert mf.upgrade_ops, mf\n"
        "print('pglast' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# =========================================================================== comments


def test_python_and_sql_comments_are_collected_by_line() -> None:
    src = migration('''
        # a note
        op.drop_column("t", "c")  # CI:DESTRUCTIVE_OK - See ADR-003
        op.execute("""
            -- CI:DESTRUCTIVE_OK - See ADR-002
            DROP TABLE old_t;  /* trailing */
        """)
        x = "# not a comment"
    ''')
    mf = read(src)
    assert mf.comments == {
        line_of(src, "# a note"): "# a note",
        line_of(src, 'op.drop_column'): "# CI:DESTRUCTIVE_OK - See ADR-003",
        line_of(src, "-- CI:"): "-- CI:DESTRUCTIVE_OK - See ADR-002",
        line_of(src, "DROP TABLE old_t"): "/* trailing */",
    }
    drop = mf.upgrade_ops[-1]
    assert isinstance(drop, DropTable)
    assert drop.loc.line == line_of(src, "DROP TABLE old_t")


def test_comments_survive_a_tokenize_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    import tokenize

    real = tokenize.generate_tokens

    def failing(readline):  # type: ignore[no-untyped-def]
        for tok in real(readline):
            if tok.start[0] > 2:
                raise tokenize.TokenError("EOF in multi-line statement", tok.start)
            yield tok

    from b03lint.readers.python import comments

    def unsure(text, found):  # type: ignore[no-untyped-def]
        raise comments._Malformed  # the scanner hands over to tokenize

    monkeypatch.setattr(comments, "_scan", unsure)
    monkeypatch.setattr(tokenize, "generate_tokens", failing)
    mf = read('revision = "r"  # one\n# two\ndef upgrade():\n    op.drop_table("t")  # three\n')
    assert mf.readable and mf.diagnostics == []
    assert mf.comments == {1: "# one", 2: "# two"}  # what was read before the failure
    assert [o.kind for o in mf.upgrade_ops] == ["drop_table"]


def test_comment_lines_with_old_mac_line_endings() -> None:
    mf = read('revision = "r"  # one\rdef upgrade():\r    pass  # two\r\n'
              '    op.drop_table("x")  # three\r')
    assert mf.comments == {1: "# one", 3: "# two", 4: "# three"}
    assert [o.loc.line for o in mf.upgrade_ops] == [4]


def test_deep_nesting_is_reported_not_raised() -> None:
    deep = "1+" * 1500 + "1"
    src = (f'revision = "r"\nX = {deep}\ndef upgrade():\n    y = {deep}\n    op.execute(y)\n'
           '    op.drop_table("t")\n')
    mf = read(src)
    assert mf.readable
    assert [o.kind for o in mf.upgrade_ops][-1] == "drop_table"
    assert all(o.kind == "unresolved" for o in mf.upgrade_ops[:-1])


# =========================================================================== op.* calls


def test_create_table_full() -> None:
    ops, src = up('''
        op.create_table(
            "accounts",
            sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True,
                      server_default=sa.text("gen_random_uuid()")),
            sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"),
                      nullable=False),
            sa.Column("email", sa.String(length=255), nullable=False, unique=True),
            sa.Column("status", sa.String(20), server_default="active",
                      nullable=False),
            sa.Column("score", sa.Numeric(5, 4), sa.CheckConstraint("score >= 0")),
            sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                      nullable=False),
            sa.Column("slug", sa.Text, index=True),
            sa.UniqueConstraint("tenant_id", "email", name="uq_accounts_tenant_email"),
            sa.CheckConstraint("status IN ('active', 'closed')", name="ck_accounts_status"),
            sa.ForeignKeyConstraint(["tenant_id"], ["public.tenants.id"], name="fk_t",
                                    onupdate="no action"),
            sa.Index("ix_accounts_created", sa.text("created_at DESC"), "id"),
            schema="app",
        )
    ''')
    start = line_of(src, "op.create_table(")
    call = Location(PATH, start, 4, start + 19, 5)
    base: dict[str, Any] = {"loc": call, "phase": "upgrade", "source": "python", "via": "op.create_table"}
    fk = ForeignKeyRef(table="tenants", columns=("id",), on_delete="CASCADE")
    assert ops == [
        CreateTable(
            **base,
            table="accounts",
            schema="app",
            columns=(
                ColumnDef("id", "uuid", nullable=False, default="gen_random_uuid()",
                          primary_key=True),
                ColumnDef("tenant_id", "integer", nullable=False, references=fk),
                ColumnDef("email", "varchar(255)", nullable=False, unique=True),
                ColumnDef("status", "varchar(20)", nullable=False, default="'active'"),
                ColumnDef("score", "numeric(5,4)", check=check_sql("score >= 0")),
                ColumnDef("created_at", "timestamptz", nullable=False, default="now()"),
                ColumnDef("slug", "text"),
            ),
            constraints=(
                ConstraintDef(kind="primary_key", name=None, columns=("id",)),
                ConstraintDef(kind="foreign_key", name=None, columns=("tenant_id",),
                              references=fk),
                ConstraintDef(kind="unique", name=None, columns=("email",)),
                ConstraintDef(kind="check", name=None, columns=("score",),
                              expression=check_sql("score >= 0")),
                ConstraintDef(kind="unique", name="uq_accounts_tenant_email",
                              columns=("tenant_id", "email")),
                ConstraintDef(kind="check", name="ck_accounts_status",
                              expression=check_sql("status IN ('active', 'closed')"),
                              enum_column="status", enum_values=("active", "closed")),
                ConstraintDef(kind="foreign_key", name="fk_t", columns=("tenant_id",),
                              references=ForeignKeyRef(table="tenants", columns=("id",))),
            ),
        ),
        CreateIndex(
            **{**base, "loc": loc(src, 'sa.Column("slug", sa.Text, index=True)')},
            name="ix_accounts_slug", table="accounts",
            elements=(IndexElement("slug"),), schema="app",
        ),
        CreateIndex(
            **{**base, "loc": loc(src, 'sa.Index("ix_accounts_created", sa.text("created_at '
                                  'DESC"), "id")')},
            name="ix_accounts_created", table="accounts",
            elements=(IndexElement("created_at", descending=True), IndexElement("id")),
            schema="app",
        ),
    ]


def test_create_table_serial_composite_key_and_identity() -> None:
    ops, _ = up('''
        op.create_table("a", sa.Column("id", sa.BigInteger(), primary_key=True))
        op.create_table("b", sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))
        op.create_table("c", sa.Column("x", sa.Integer), sa.Column("y", sa.Integer),
                        sa.PrimaryKeyConstraint("x", "y", name="pk_c"))
        op.create_table("d", sa.Column("id", sa.Integer, sa.Identity(), primary_key=True))
        op.create_table("e", sa.Column("id", sa.Integer, sa.ForeignKey("a.id"), primary_key=True))
        op.create_table("f", sa.Column("id", sa.Integer(), nullable=False),
                        sa.ForeignKeyConstraint(["id"], ["a.id"]), sa.PrimaryKeyConstraint("id"))
        op.create_table("g", sa.Column("id", sa.Integer(), nullable=False),
                        sa.PrimaryKeyConstraint("id"))
    ''')
    tables = {op.table: op for op in ops if isinstance(op, CreateTable)}
    assert tables["a"].columns == (
        ColumnDef("id", "bigint", nullable=False, default="nextval('a_id_seq'::regclass)",
                  primary_key=True),
    )
    assert tables["b"].columns == (ColumnDef("id", "integer", nullable=False, primary_key=True),)
    assert tables["c"].columns == (
        ColumnDef("x", "integer", nullable=False, primary_key=True),
        ColumnDef("y", "integer", nullable=False, primary_key=True),
    )
    assert tables["c"].constraints == (
        ConstraintDef(kind="primary_key", name="pk_c", columns=("x", "y")),
    )
    assert tables["d"].columns == (
        ColumnDef("id", "integer", nullable=False, primary_key=True, identity=True),
    )
    assert tables["e"].columns[0].default is None  # a foreign key is never SERIAL
    assert tables["f"].columns[0].default is None
    assert tables["g"].columns == (  # what autogenerate writes: still a SERIAL
        ColumnDef("id", "integer", nullable=False, default="nextval('g_id_seq'::regclass)",
                  primary_key=True),
    )


def test_drop_and_rename_table() -> None:
    ops, src = up('''
        op.drop_table("old", schema="app", if_exists=True)
        op.rename_table("a", "b")
    ''')
    assert ops == [
        DropTable(**py(src, 'op.drop_table("old", schema="app", if_exists=True)'), table="old",
                  schema="app", if_exists=True),
        RenameTable(**py(src, 'op.rename_table("a", "b")'), table="a", new_name="b"),
    ]


def test_add_and_drop_column() -> None:
    ops, src = up('''
        op.add_column("t", sa.Column("c", sa.Boolean(), nullable=False, server_default=sa.false()))
        op.add_column("t", sa.Column("o", sa.Integer, sa.ForeignKey("o.id", name="fk_o")), schema="s")
        op.add_column("t", sa.Column("u", sa.String(5), unique=True, index=True))
        op.drop_column("t", "c")
    ''')
    assert ops == [
        AddColumn(**py(src, 'op.add_column("t", sa.Column("c", sa.Boolean(), nullable=False, '
                            'server_default=sa.false()))'),
                  table="t", column=ColumnDef("c", "boolean", nullable=False, default="false")),
        AddColumn(**py(src, 'op.add_column("t", sa.Column("o", sa.Integer, sa.ForeignKey("o.id", '
                            'name="fk_o")), schema="s")'),
                  table="t", schema="s", column=ColumnDef("o", "integer")),
        AddConstraint(**py(src, 'op.add_column("t", sa.Column("o", sa.Integer, sa.ForeignKey('
                                '"o.id", name="fk_o")), schema="s")'),
                      table="t", schema="s",
                      constraint=ConstraintDef(kind="foreign_key", name="fk_o", columns=("o",),
                                               references=ForeignKeyRef("o", ("id",)))),
        AddColumn(**py(src, 'op.add_column("t", sa.Column("u", sa.String(5), unique=True, '
                            'index=True))'),
                  table="t", column=ColumnDef("u", "varchar(5)")),
        CreateIndex(**py(src, 'sa.Column("u", sa.String(5), unique=True, index=True)',
                         via="op.add_column"),
                    name="ix_t_u", table="t", elements=(IndexElement("u"),), unique=True),
        DropColumn(**py(src, 'op.drop_column("t", "c")'), table="t", column="c"),
    ]


def test_alter_column_is_split_in_alembic_order() -> None:
    call = ('op.alter_column("t", "c", new_column_name="d", type_=sa.BigInteger(), '
            'nullable=False, server_default="0", postgresql_using="c::bigint", '
            'existing_type=sa.Integer())')
    ops, src = up(call)
    base = py(src, call)
    assert ops == [
        AlterColumnType(**base, table="t", column="c", new_type="bigint", using="c::bigint",
                        existing_type="integer"),
        AlterColumnNullable(**base, table="t", column="c", nullable=False),
        AlterColumnDefault(**base, table="t", column="c", default="'0'"),
        RenameColumn(**base, table="t", column="c", new_name="d"),
    ]


def test_alter_column_server_default_none_drops_only_when_passed() -> None:
    ops, src = up('''
        op.alter_column("t", "a", server_default=None)
        op.alter_column("t", "b", nullable=True)
        op.alter_column("t", "c", existing_type=sa.Integer(), comment="hello")
    ''')
    assert ops == [
        AlterColumnDefault(**py(src, 'op.alter_column("t", "a", server_default=None)'),
                           table="t", column="a", default=None),
        AlterColumnNullable(**py(src, 'op.alter_column("t", "b", nullable=True)'),
                            table="t", column="b", nullable=True),
        OtherStatement(**py(src, 'op.alter_column("t", "c", existing_type=sa.Integer(), '
                                 'comment="hello")'),
                       statement="op.alter_column comment", table="t"),
    ]


def test_create_index_options_and_drop_index() -> None:
    create = ('op.create_index(op.f("ix_alloc_perf"), "alloc", ["tenant_id", "channel", '
              'sa.text("created_at DESC NULLS LAST")], unique=True, '
              'postgresql_include=["revenue", "score"], '
              'postgresql_where=sa.text("deleted_at IS NULL"), postgresql_using="btree", '
              'postgresql_concurrently=True, if_not_exists=True, schema="app")')
    gin = ('op.create_index("ix_doc", "docs", [sa.literal_column("lower(title)")], '
           'postgresql_using="GIN", postgresql_where="archived = false", '
           'postgresql_ops={"title": "gin_trgm_ops"})')
    drop = ('op.drop_index(op.f("ix_alloc_perf"), table_name="alloc", '
            'postgresql_concurrently=True, if_exists=True)')
    ops, src = up(f"{create}\n{gin}\n{drop}\n")
    assert ops == [
        CreateIndex(
            **py(src, create), name="ix_alloc_perf", table="alloc",
            elements=(IndexElement("tenant_id"), IndexElement("channel"),
                      IndexElement("created_at", descending=True, nulls="last")),
            unique=True, include=("revenue", "score"), where="deleted_at IS NULL",
            method="btree", concurrently=True, if_not_exists=True, schema="app",
        ),
        CreateIndex(
            **py(src, gin), name="ix_doc", table="docs",
            elements=(IndexElement("lower(title)", is_expression=True),),
            where="archived = false", method="gin",
        ),
        DropIndex(**py(src, drop), name="ix_alloc_perf", table="alloc", concurrently=True,
                  if_exists=True),
    ]


def test_constraint_ops() -> None:
    pk = 'op.create_primary_key("pk_t", "t", ["a", "b"], schema="s")'
    uq = 'op.create_unique_constraint(None, "t", ["email"], deferrable=True)'
    fk = ('op.create_foreign_key("fk_t_o", "t", "o", ["o_id"], ["id"], ondelete="set null", '
          'onupdate="CASCADE", referent_schema="ref", source_schema="s")')
    ck = ('op.create_check_constraint("ck_t_status", "t", '
          '"status IN (\'pending\', \'in_progress\', \'abandoned\')")')
    ck_text = 'op.create_check_constraint("ck_t_n", "t", sa.text("n > 0"))'
    ops, src = up("\n".join([pk, uq, fk, ck, ck_text]))
    assert ops == [
        AddConstraint(**py(src, pk), table="t", schema="s",
                      constraint=ConstraintDef(kind="primary_key", name="pk_t",
                                               columns=("a", "b"))),
        AddConstraint(**py(src, uq), table="t",
                      constraint=ConstraintDef(kind="unique", name=None, columns=("email",),
                                               deferrable=True)),
        AddConstraint(**py(src, fk), table="t", schema="s",
                      constraint=ConstraintDef(
                          kind="foreign_key", name="fk_t_o", columns=("o_id",),
                          references=ForeignKeyRef("ref.o", ("id",), on_delete="SET NULL",
                                                   on_update="CASCADE"))),
        AddConstraint(**py(src, ck), table="t",
                      constraint=ConstraintDef(
                          kind="check", name="ck_t_status",
                          expression=check_sql(
                              "status IN ('pending', 'in_progress', 'abandoned')"),
                          enum_column="status",
                          enum_values=("pending", "in_progress", "abandoned"))),
        AddConstraint(**py(src, ck_text), table="t",
                      constraint=ConstraintDef(kind="check", name="ck_t_n",
                                               expression=check_sql("n > 0"))),
    ]


@pytest.mark.parametrize(
    ("type_", "kind"),
    [("'primary'", "primary_key"), ("'unique'", "unique"), ("'foreignkey'", "foreign_key"),
     ("'check'", "check"), ("None", None)],
)
def test_drop_constraint_kinds(type_: str, kind: ConstraintKind | None) -> None:
    call = f'op.drop_constraint("c1", "t", type_={type_})'
    ops, src = up(call)
    assert ops == [DropConstraint(**py(src, call), table="t", name="c1", constraint_kind=kind)]


def test_bulk_insert_comments_exclude_and_unknown_ops() -> None:
    ops, src = up('''
        status = sa.table("status", sa.column("code", sa.String))
        op.bulk_insert(status, [{"code": "a"}])
        created = op.create_table("k", sa.Column("code", sa.Text))
        op.bulk_insert(created, [{"code": "b"}])
        op.create_table_comment("t", "people")
        op.drop_table_comment("t")
        op.create_exclude_constraint("ex_t", "t", ("period", "&&"), where=sa.text("active"))
        op.invoke(something)
    ''')
    assert ops[0] == DataChange(**py(src, 'op.bulk_insert(status, [{"code": "a"}])'),
                                verb="insert", table="status")
    assert isinstance(ops[1], CreateTable)
    assert ops[2] == DataChange(**py(src, 'op.bulk_insert(created, [{"code": "b"}])'),
                                verb="insert", table="k")
    assert ops[3:6] == [
        OtherStatement(**py(src, 'op.create_table_comment("t", "people")'),
                       statement="op.create_table_comment", table="t"),
        OtherStatement(**py(src, 'op.drop_table_comment("t")'),
                       statement="op.drop_table_comment", table="t"),
        AddConstraint(**py(src, 'op.create_exclude_constraint("ex_t", "t", ("period", "&&"), '
                                'where=sa.text("active"))'),
                      table="t", constraint=ConstraintDef(kind="exclude", name="ex_t",
                                                          columns=("period",),
                                                          expression="active")),
    ]
    assert ops[6] == Unresolved(
        **py(src, "op.invoke(something)"),
        reason="`op.invoke` is not an operation b03lint understands; it may change the schema",
        snippet="op.invoke(something)",
    )
    assert len(ops) == 7


def test_op_aliases() -> None:
    src = textwrap.dedent("""\
        import alembic
        from alembic import op as alembic_op
        import sqlalchemy
        revision = "r"

        def upgrade():
            alembic_op.drop_table("a")
            alembic.op.drop_table("b")
            alembic_op.add_column("c", sqlalchemy.Column("x", sqlalchemy.Text()))
        """)
    mf = read(src)
    assert [(type(o), o.via, o.table_name) for o in mf.upgrade_ops] == [
        (DropTable, "op.drop_table", "a"),
        (DropTable, "op.drop_table", "b"),
        (AddColumn, "op.add_column", "c"),
    ]


# =========================================================================== batch mode


def test_batch_alter_table() -> None:
    src = migration('''
        with op.batch_alter_table("dead_events", schema="s") as batch_op:
            batch_op.add_column(sa.Column("retry_count", sa.Integer(), nullable=False,
                                          server_default="0"))
            batch_op.alter_column("status", type_=sa.String(50), existing_type=sa.Text())
            batch_op.create_check_constraint("ck_retry", "retry_count >= 0")
            batch_op.create_index("ix_de_status", ["status"])
            batch_op.create_foreign_key("fk_de_t", "tenants", ["tenant_id"], ["id"])
            batch_op.drop_constraint("old_uq", type_="unique")
            batch_op.drop_index("ix_old")
            batch_op.drop_column("legacy")
    ''')
    mf = read(src)
    ops = mf.upgrade_ops
    first = line_of(src, "batch_op.add_column")
    assert ops[0] == AddColumn(
        loc=Location(PATH, first, 8, first + 1, 58), via="batch_op.add_column",
        table="dead_events", schema="s",
        column=ColumnDef("retry_count", "integer", nullable=False, default="'0'"),
    )

    def at(text: str) -> dict[str, Any]:
        return py(src, text, via=text.split("(", 1)[0])

    call = 'batch_op.alter_column("status", type_=sa.String(50), existing_type=sa.Text())'
    assert ops[1:] == [
        AlterColumnType(**at(call), table="dead_events", column="status",
                        new_type="varchar(50)", schema="s", existing_type="text"),
        AddConstraint(**at('batch_op.create_check_constraint("ck_retry", "retry_count >= 0")'),
                      table="dead_events", schema="s",
                      constraint=ConstraintDef(kind="check", name="ck_retry",
                                               expression=check_sql("retry_count >= 0"))),
        CreateIndex(**at('batch_op.create_index("ix_de_status", ["status"])'),
                    name="ix_de_status", table="dead_events",
                    elements=(IndexElement("status"),), schema="s"),
        AddConstraint(**at('batch_op.create_foreign_key("fk_de_t", "tenants", ["tenant_id"], '
                           '["id"])'),
                      table="dead_events", schema="s",
                      constraint=ConstraintDef(kind="foreign_key", name="fk_de_t",
                                               columns=("tenant_id",),
                                               references=ForeignKeyRef("tenants", ("id",)))),
        DropConstraint(**at('batch_op.drop_constraint("old_uq", type_="unique")'),
                       table="dead_events", name="old_uq", constraint_kind="unique",
                       schema="s"),
        DropIndex(**at('batch_op.drop_index("ix_old")'), name="ix_old", table="dead_events",
                  schema="s"),
        DropColumn(**at('batch_op.drop_column("legacy")'), table="dead_events",
                   column="legacy", schema="s"),
    ]


def test_batch_on_unknown_table_is_unresolved() -> None:
    ops, src = up('''
        with op.batch_alter_table(name_from_somewhere) as b:
            b.drop_column("x")
    ''')
    assert [type(o) for o in ops] == [Unresolved, Unresolved]
    assert ops[1].loc == loc(src, 'b.drop_column("x")')
    assert "table name is not known statically" in ops[1].reason  # type: ignore[attr-defined]


# =========================================================================== columns and types


@pytest.mark.parametrize(
    ("type_expr", "expected"),
    [
        ("sa.String(100)", "varchar(100)"),
        ("sa.String(length=100)", "varchar(100)"),
        ("sa.VARCHAR(100)", "varchar(100)"),
        ("sa.String()", "varchar"),
        ("sa.Unicode(20)", "varchar(20)"),
        ("sa.CHAR(2)", "char(2)"),
        ("sa.Text()", "text"),
        ("sa.Text", "text"),
        ("sa.Integer", "integer"),
        ("sa.Integer()", "integer"),
        ("sa.BigInteger", "bigint"),
        ("sa.SmallInteger()", "smallint"),
        ("sa.Boolean", "boolean"),
        ("sa.DateTime()", "timestamp"),
        ("sa.DateTime(timezone=True)", "timestamptz"),
        ("sa.DateTime(True)", "timestamptz"),
        ("sa.TIMESTAMP(timezone=True)", "timestamptz"),
        ("postgresql.TIMESTAMP(timezone=True, precision=3)", "timestamptz(3)"),
        ("sa.Date()", "date"),
        ("sa.Time(timezone=True)", "timetz"),
        ("sa.Interval()", "interval"),
        ("postgresql.UUID(as_uuid=True)", "uuid"),
        ("sa.Uuid()", "uuid"),
        ("postgresql.JSONB", "jsonb"),
        ("postgresql.JSONB(astext_type=sa.Text())", "jsonb"),
        ("sa.JSON", "json"),
        ("sa.Numeric(10, 2)", "numeric(10,2)"),
        ("sa.Numeric(precision=5, scale=4)", "numeric(5,4)"),
        ("sa.Numeric()", "numeric"),
        ("sa.Float()", "double precision"),
        ("sa.Float(precision=24)", "real"),
        ("sa.LargeBinary()", "bytea"),
        ("postgresql.INET()", "inet"),
        ("sa.ARRAY(sa.String(50))", "varchar(50)[]"),
        ("postgresql.ARRAY(sa.Integer, dimensions=2)", "integer[][]"),
        ("sa.Enum('a', 'b', name='x', native_enum=False)", "varchar(1)"),
    ],
)
def test_column_types(type_expr: str, expected: str) -> None:
    ops, _ = up(f'op.add_column("t", sa.Column("c", {type_expr}))')
    assert len(ops) == 1 and isinstance(ops[0], AddColumn)
    assert ops[0].column == ColumnDef("c", expected)


def test_imported_type_names() -> None:
    src = textwrap.dedent("""\
        from sqlalchemy import Column, String, Integer
        from sqlalchemy.dialects.postgresql import UUID, JSONB as J
        from alembic import op
        revision = "r"

        def upgrade():
            op.add_column("t", Column("a", String(10), nullable=False))
            op.add_column("t", Column("b", UUID(as_uuid=True)))
            op.add_column("t", Column("c", J()))
            op.add_column("t", Column(name="d", type_=Integer))
            op.add_column("t", Column("e", MyCustomType()))
        """)
    mf = read(src)
    columns = [o.column for o in mf.upgrade_ops if isinstance(o, AddColumn)]
    assert columns == [
        ColumnDef("a", "varchar(10)", nullable=False),
        ColumnDef("b", "uuid"),
        ColumnDef("c", "jsonb"),
        ColumnDef("d", "integer"),
        ColumnDef("e", None),
    ]
    (unresolved,) = [o for o in mf.upgrade_ops if isinstance(o, Unresolved)]
    assert unresolved.table == "t"
    assert "column `e`" in unresolved.reason


@pytest.mark.parametrize(
    ("default_expr", "expected"),
    [
        ('sa.text("now()")', "now()"),
        ("sa.func.now()", "now()"),
        ("sa.func.gen_random_uuid()", "gen_random_uuid()"),
        ('"pending"', "'pending'"),
        ('"it\'s"', "'it''s'"),
        ('sa.text("\'pending\'")', "'pending'"),
        ('sa.text("\'{}\'::jsonb")', "'{}'::jsonb"),
        ("sa.true()", "true"),
        ("sa.false()", "false"),
        ('sa.literal_column("0")', "0"),
        ("None", None),
    ],
)
def test_server_default_forms(default_expr: str, expected: str | None) -> None:
    ops, _ = up(f'op.add_column("t", sa.Column("c", sa.Text(), server_default={default_expr}))')
    assert [o.column.default for o in ops if isinstance(o, AddColumn)] == [expected]
    assert all(isinstance(o, AddColumn) for o in ops)


def test_nullable_defaults() -> None:
    ops, _ = up('''
        op.add_column("t", sa.Column("a", sa.Text()))
        op.add_column("t", sa.Column("b", sa.Text(), nullable=False))
        op.add_column("t", sa.Column("c", sa.Text(), primary_key=True))
        op.add_column("t", sa.Column("d", sa.Text(), primary_key=True, nullable=True))
    ''')
    assert [(o.column.name, o.column.nullable) for o in ops if isinstance(o, AddColumn)] == [
        ("a", True), ("b", False), ("c", False), ("d", True),
    ]


# =========================================================================== enum types


def test_enum_types_in_create_table() -> None:
    ops, src = up('''
        op.create_table(
            "jobs",
            sa.Column("state", sa.Enum("queued", "done", name="job_state"), nullable=False),
            sa.Column("kind", postgresql.ENUM("a", "b", name="job_kind", create_type=False)),
            sa.Column("prev", sa.Enum("queued", "done", name="job_state")),
        )
    ''')
    create = ops[1]
    assert isinstance(create, CreateTable)
    assert ops[0] == CreateEnumType(
        loc=loc(src, 'sa.Enum("queued", "done", name="job_state")'), via="op.create_table",
        name="job_state", values=("queued", "done"),
    )
    assert [c.type for c in create.columns] == ["job_state", "job_kind", "job_state"]
    assert len(ops) == 2  # job_kind exists already; job_state is created once


def test_enum_in_add_column_is_not_created_but_create_call_is() -> None:
    ops, src = up('''
        mood = postgresql.ENUM("sad", "ok", name="mood", schema="s")
        mood.create(op.get_bind(), checkfirst=True)
        op.add_column("person", sa.Column("mood", mood))
        op.add_column("person", sa.Column("m2", sa.Enum("x", "y", name="m2")))
        sa.Enum(name="old_kind").drop(op.get_bind(), checkfirst=True)
    ''')
    assert ops == [
        CreateEnumType(**py(src, "mood.create(op.get_bind(), checkfirst=True)",
                            via="ENUM.create"),
                       name="mood", values=("sad", "ok"), schema="s"),
        AddColumn(**py(src, 'op.add_column("person", sa.Column("mood", mood))'),
                  table="person", column=ColumnDef("mood", "mood")),
        AddColumn(**py(src, 'op.add_column("person", sa.Column("m2", sa.Enum("x", "y", '
                            'name="m2")))'),
                  table="person", column=ColumnDef("m2", "m2")),
        DropType(**py(src, 'sa.Enum(name="old_kind").drop(op.get_bind(), checkfirst=True)',
                      via="Enum.drop"),
                 name="old_kind", if_exists=True),
    ]


def test_enum_from_a_python_class_of_the_file_is_read_one_imported_is_unresolved() -> None:
    ops, _ = up('op.create_table("t", sa.Column("s", sa.Enum(Status, name="status")))',
                prelude="import enum\nclass Status(enum.Enum):\n    A = 'a'\n")
    assert [type(o) for o in ops] == [CreateEnumType, CreateTable]
    assert ops[0].values == ("A",)  # type: ignore[attr-defined]  # member names, as SQLAlchemy
    ops, _ = up('op.create_table("t", sa.Column("s", sa.Enum(Status, name="status")))',
                prelude="from app.models import Status\n")
    assert [type(o) for o in ops] == [CreateTable, Unresolved]
    assert ops[1].table_name == "t"
    assert "come from a Python class" in ops[1].reason  # type: ignore[attr-defined]


# =========================================================================== SQL positions


def test_module_constant_with_three_statements_maps_each_to_its_line() -> None:
    src = textwrap.dedent('''\
        """SQL from a module constant."""
        from alembic import op

        revision = "s1"
        down_revision = None

        SQL = """
        ALTER TABLE dead_events
            DROP CONSTRAINT ck_old;  -- CI:DESTRUCTIVE_OK - See ADR-003
        CREATE INDEX ix_a ON a (b);
          DROP INDEX ix_c;
        """


        def upgrade():
            op.execute(SQL)
        ''')
    mf = read(src)
    assert mf.readable and mf.diagnostics == []
    assert [(type(o), o.loc.line, o.loc.column) for o in mf.upgrade_ops] == [
        (DropConstraint, 9, 4),
        (CreateIndex, 10, 0),
        (DropIndex, 11, 2),
    ]
    assert all(o.via == "op.execute" and o.source == "sql" for o in mf.upgrade_ops)
    assert mf.comments[9] == "-- CI:DESTRUCTIVE_OK - See ADR-003"


def test_positions_through_escapes_prefixes_and_concatenation() -> None:
    src = migration(r'''
        op.execute("DROP TABLE a;\nDROP TABLE \"b\"")
        op.execute(r"DROP TABLE c;" "\tDROP TABLE d")
        op.execute(sa.text(
            "DROP TABLE e; "
            "DROP TABLE f"
        ))
        PART = "DROP TABLE g; "
        op.execute(PART + """DROP
                   TABLE h""")
        op.get_bind().execute(sa.text(u"DROP TABLE \u00e9t\N{LATIN SMALL LETTER E WITH ACUTE}; DROP TABLE i"))
    ''')
    mf = read(src)
    assert mf.diagnostics == []
    got = [(o.table_name, o.loc.line, o.loc.column) for o in mf.upgrade_ops]
    first = line_of(src, r'op.execute("DROP TABLE a;')
    col_i = src.splitlines()[first + 8].index("DROP TABLE i")
    assert got == [
        ("a", first, 16),
        ("b", first, 31),  # after the two-character escape \n
        ("c", first + 1, 17),
        ("d", first + 1, 35),  # after the two-character escape \t
        ("e", first + 3, 9),
        ("f", first + 4, 9),
        ("g", first + 6, 12),
        ("h", first + 7, 25),
        ("\u00e9t\u00e9", first + 9, 36),
        ("i", first + 9, col_i),
    ]
    h = mf.upgrade_ops[7]
    assert (h.loc.end_line, h.loc.end_column) == (first + 8, 22)


def test_dedent_local_variables_and_fstrings() -> None:
    src = migration('''
        sql = textwrap.dedent("""
            DROP TABLE one;
            DROP TABLE two;
        """)
        op.execute(sql)
        name = "three"
        op.execute(f"DROP TABLE {name}")
        op.execute("DROP TABLE {}".format("four"))
        stmt = "DROP TABLE "
        stmt += "five"
        op.execute(stmt.strip())
    ''', prelude="import textwrap")
    mf = read(src)
    got = [(o.table_name, o.loc.line, o.loc.column) for o in mf.upgrade_ops]
    assert got == [
        ("one", line_of(src, "DROP TABLE one"), 8),
        ("two", line_of(src, "DROP TABLE two"), 8),
        ("three", line_of(src, 'f"DROP TABLE {name}"'), 15),  # f-string: its start
        ("four", line_of(src, '"DROP TABLE {}"'), 15),
        ("five", line_of(src, 'stmt = "DROP TABLE "'), 12),
    ]


def test_sql_errors_are_diagnostics_at_the_python_line() -> None:
    src = migration('''
        op.execute("""
            DROP TABLE ok;
            DROP TABL broken;
        """)
    ''')
    mf = read(src)
    assert [type(o) for o in mf.upgrade_ops] == [DropTable]
    (diag,) = mf.diagnostics
    assert diag.code == "I003"
    assert diag.loc.line == line_of(src, "DROP TABL broken")
    assert mf.readable


def test_connection_forms() -> None:
    src = migration('''
        conn = op.get_bind()
        conn.execute(sa.text("ALTER TABLE a ENABLE ROW LEVEL SECURITY"))
        bind = op.get_bind()
        bind.exec_driver_sql("DROP TABLE b")
        rows = conn.execute(sa.text("SELECT 1")).fetchall()
        conn.execute(sa.select(sa.column("x")))
        with op.get_context().autocommit_block():
            op.execute("CREATE INDEX CONCURRENTLY ix_c ON c (a)")
    ''')
    mf = read(src)
    assert mf.diagnostics == []
    assert [(type(o), o.via, o.table_name, o.loc.line) for o in mf.upgrade_ops] == [
        (EnableRLS, "conn.execute", "a", line_of(src, "ENABLE ROW LEVEL")),
        (DropTable, "bind.exec_driver_sql", "b", line_of(src, "DROP TABLE b")),
        (OtherStatement, "conn.execute", None, line_of(src, "SELECT 1")),
        (CreateIndex, "op.execute", "c", line_of(src, "CONCURRENTLY")),
    ]


def test_bind_parameters_do_not_break_the_sql() -> None:
    # op.execute wraps a string in sa.text(): ":name" is a bind parameter and "\\:" a
    # literal colon; exec_driver_sql uses the driver's %(name)s / %s and %%
    src = migration(r'''
        op.execute(sa.text("UPDATE t SET a = :value WHERE b = 'x\\:y'").bindparams(value=1))
        op.execute("DELETE FROM u WHERE id = :id AND at < '12:30'::time")
        op.get_bind().exec_driver_sql("UPDATE v SET a = %(a)s, b = %s WHERE c LIKE 'x%%'")
        op.execute("UPDATE w SET d = 1; DROP TABLE z")
    ''')
    mf = read(src)
    assert mf.diagnostics == []
    assert [(o.kind, o.table_name) for o in mf.upgrade_ops] == [
        ("data_change", "t"), ("data_change", "u"), ("data_change", "v"),
        ("data_change", "w"), ("drop_table", "z"),
    ]
    z = mf.upgrade_ops[-1]
    assert z.loc == loc(src, "DROP TABLE z")


def test_waivers_on_python_lines_and_inside_sql() -> None:
    src = migration('''
        op.drop_column("t", "a")  # CI:DESTRUCTIVE_OK - See ADR-003
        op.execute("""
            DROP TABLE legacy;  -- CI:DESTRUCTIVE_OK - See ADR-002
        """)
    ''')
    mf = read(src)
    drop_column, drop_table = mf.upgrade_ops
    assert "CI:DESTRUCTIVE_OK - See ADR-003" in mf.comments[drop_column.loc.line]
    assert "CI:DESTRUCTIVE_OK - See ADR-002" in mf.comments[drop_table.loc.line]


# =========================================================================== unresolved


def test_run_time_sql_and_sqlalchemy_expressions_are_unresolved() -> None:
    src = migration('''
        op.execute(build_sql())
        op.execute(f"DROP TABLE {table}")
        users = sa.table("users", sa.column("active"))
        op.execute(users.update().where(users.c.active == sa.false()).values(active=True))
        op.execute(sa.delete(users))
        conn = op.get_bind()
        conn.execute(some_statement)
    ''')
    mf = read(src)
    ops = mf.upgrade_ops
    # SQLAlchemy Core statements on a table known statically are data statements (#15)
    assert [(o.kind, o.table_name, getattr(o, "verb", None), getattr(o, "has_where", None))
            for o in ops if isinstance(o, DataChange)] == [
        ("data_change", "users", "update", True), ("data_change", "users", "delete", False)]
    ops = [o for o in ops if not isinstance(o, DataChange)]
    assert all(isinstance(o, Unresolved) for o in ops)
    assert [(o.loc.line, o.table_name, o.via) for o in ops] == [
        (line_of(src, "op.execute(build_sql())"), None, "op.execute"),
        (line_of(src, 'op.execute(f"DROP'), None, "op.execute"),
        (line_of(src, "conn.execute(some_statement)"), None, "conn.execute"),
    ]
    assert ops[0].reason == (  # type: ignore[attr-defined]
        "`op.execute`: the SQL is built at run time and is not known statically"
    )
    # a template: the statement is read, the part filled in at run time is not
    assert ops[1].reason == "drop table whose `table` is filled in at run time (the SQL is a template)"  # type: ignore[attr-defined]
    assert ops[1].source == "sql"
    assert mf.diagnostics == []


def test_helper_functions_and_harmless_calls() -> None:
    src = migration('''
        """Docstring."""
        print("starting")
        log.info("x")
        logging.getLogger(__name__).warning("y")
        conn = op.get_bind()
        ctx = op.get_context()
        n = len([1, 2])
        pass
        _create_policies("users")
        from app.db import helpers
        helpers.enable_rls("users")
    ''', prelude="import logging\nlog = logging.getLogger(__name__)\n\ndef _create_policies(t):\n"
                 "    op.execute(f'DROP TABLE {t}')\n")
    mf = read(src)
    drop, rest = mf.upgrade_ops[0], mf.upgrade_ops[1:]
    # the helper is followed: its DROP TABLE sits at the call, the helper's line related
    assert isinstance(drop, DropTable) and drop.table == "users"
    assert drop.loc == loc(src, '_create_policies("users")')
    assert [(r.loc.line, r.message) for r in drop.related] == [
        (line_of(src, "op.execute(f'DROP TABLE {t}')"), "in helper `_create_policies()`")]
    assert rest == [
        Unresolved(**py(src, 'helpers.enable_rls("users")', via=""),
                   reason="call to `app.db.helpers.enable_rls()`, which is not known "
                          "statically: it may change the schema",
                   snippet='helpers.enable_rls("users")'),
    ]


def test_literal_loops_are_unrolled() -> None:
    src = migration('''
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        for name, column in [("a", "x"), ("b", "y")]:
            op.drop_column(name, column)
        for i, t in enumerate(("c",)):
            op.drop_table(t)
    ''', prelude='TENANT_TABLES = ("events", "ledger")')
    mf = read(src)
    assert [(type(o).__name__, o.table_name) for o in mf.upgrade_ops] == [
        ("EnableRLS", "events"), ("EnableRLS", "ledger"),
        ("DropColumn", "a"), ("DropColumn", "b"), ("DropTable", "c"),
    ]
    assert [o.column for o in mf.upgrade_ops if isinstance(o, DropColumn)] == ["x", "y"]
    assert mf.upgrade_ops[2].loc == loc(src, "op.drop_column(name, column)")


def test_unknown_loops_conditions_try_and_while() -> None:
    src = migration('''
        for t in get_tables():
            op.drop_table(t)
        if op.get_bind().dialect.name == "postgresql":
            op.execute("ALTER TABLE x ENABLE ROW LEVEL SECURITY")
        if has_column:
            op.drop_column("x", "a")
        else:
            op.drop_column("y", "a")
        try:
            op.drop_index("ix_x")
        except Exception:
            pass
        while more():
            op.execute("DELETE FROM q")
        if debug:
            print("nothing to see")
    ''')
    mf = read(src)
    ops = mf.upgrade_ops
    summary = [(type(o).__name__, o.table_name, o.loc.line) for o in ops]
    assert summary == [
        ("Unresolved", None, line_of(src, "get_tables()")),  # the iterable is a helper call
        ("Unresolved", None, line_of(src, "for t in get_tables()")),  # the loop
        ("Unresolved", None, line_of(src, "op.drop_table(t)")),  # the table is unknown
        ("EnableRLS", "x", line_of(src, "ENABLE ROW LEVEL")),  # dialect is postgresql
        ("Unresolved", None, line_of(src, "if has_column")),
        ("DropColumn", "x", line_of(src, 'op.drop_column("x"')),
        ("DropColumn", "y", line_of(src, 'op.drop_column("y"')),
        ("Unresolved", None, line_of(src, "try:")),
        ("DropIndex", None, line_of(src, 'op.drop_index("ix_x")')),
        ("Unresolved", None, line_of(src, "while more()")),
        ("Unresolved", "q", line_of(src, "while more()")),
        ("DataChange", "q", line_of(src, "DELETE FROM q")),
    ]
    helper_call, loop, drop = ops[0], ops[1], ops[2]
    assert isinstance(loop, Unresolved) and loop.snippet == "for t in get_tables():"
    assert loop.loc == Location(PATH, loop.loc.line, 4, loop.loc.line, 25)
    assert "loop over values not known statically" in loop.reason
    assert isinstance(helper_call, Unresolved) and helper_call.snippet == "get_tables()"
    assert isinstance(drop, Unresolved)
    assert drop.reason == "`op.drop_table`: the table name is not known statically"
    cond = ops[4]
    assert isinstance(cond, Unresolved)
    assert cond.reason == ("operations below depend on a run-time condition; both branches "
                           "are read")
    assert cond.snippet == "if has_column:"
    assert isinstance(ops[7], Unresolved) and "try" in ops[7].reason
    assert isinstance(ops[10], Unresolved) and "`while`" in ops[10].reason


def test_condition_marker_names_the_only_table() -> None:
    ops, _ = up('''
        if flag:
            op.drop_column("t", "a")
            op.drop_column("t", "b")
    ''')
    assert [(type(o).__name__, o.table_name) for o in ops] == [
        ("Unresolved", "t"), ("DropColumn", "t"), ("DropColumn", "t"),
    ]


def test_static_conditions_pick_one_branch() -> None:
    ops, _ = up('''
        for t in ["a", "b"]:
            if t == "a":
                op.drop_table(t)
            else:
                op.rename_table(t, t + "_old")
        if USE_FAST:
            op.drop_index("fast")
    ''', prelude="USE_FAST = False")
    assert [(type(o).__name__, o.table_name) for o in ops] == [
        ("DropTable", "a"), ("RenameTable", "b"),
    ]
    assert isinstance(ops[1], RenameTable) and ops[1].new_name == "b_old"


def test_unresolved_snippets_are_truncated() -> None:
    long_arg = "x" * 400
    ops, _ = up(f"helper({long_arg})")
    (only,) = ops
    assert isinstance(only, Unresolved)
    assert len(only.snippet) == 200 and only.snippet.endswith("…")


def test_downgrade_phase() -> None:
    src = migration("pass", downgrade='op.drop_table("t")  # CI:DESTRUCTIVE_OK - See ADR-002')
    mf = read(src)
    assert mf.upgrade_ops == []
    assert mf.downgrade_ops == [
        DropTable(**{**py(src, 'op.drop_table("t")'), "phase": "downgrade"}, table="t")
    ]


def test_example_chain_reads_cleanly() -> None:
    root = Path(__file__).resolve().parent.parent / "alembic" / "versions"
    files = sorted(root.rglob("*.py"))
    if not files:
        skip_outside_ci("the example chain is not in this tree")
    for path in files:
        mf = read_migration(str(path), path.read_bytes())
        assert mf.readable, (path, mf.diagnostics)
        assert mf.revision is not None
        assert not [o for o in mf.operations if isinstance(o, Unresolved)], path


def test_bad_byte_on_the_first_line() -> None:
    mf = read_migration(PATH, b'x = "\xff"\nrevision = "r"\n')
    assert [(d.code, d.fatal, d.loc.line, d.loc.column) for d in mf.diagnostics] == [
        ("I002", True, 1, 5)
    ]


def test_revision_none_is_a_missing_revision() -> None:
    mf = read("revision = None\ndown_revision = None\n")
    assert mf.revision is None
    assert [(d.code, d.loc.line) for d in mf.diagnostics] == [("I005", 1)]


def test_imported_helpers_text_and_dedent() -> None:
    src = textwrap.dedent('''\
        from textwrap import dedent
        from sqlalchemy import text
        from alembic import op
        revision = "r"

        def upgrade():
            op.execute(text(dedent("""
                DROP TABLE a;
            """)))
        ''')
    mf = read(src)
    assert [(o.kind, o.loc.line, o.loc.column) for o in mf.upgrade_ops] == [
        ("drop_table", 8, 8)
    ]


def test_not_valid_constraints_and_generated_columns() -> None:
    """``postgresql_not_valid=True`` (Alembic passes it to SQLAlchemy's PostgreSQL dialect)
    and ``sa.Computed`` reach the vocabulary, as their SQL forms do."""
    ops, _src = up(
        '    op.create_foreign_key("fk", "events", "accounts", ["account_id"], ["id"],\n'
        '                          postgresql_not_valid=True)\n'
        '    op.create_check_constraint("ck", "events", "code <> \'\'",\n'
        '                               postgresql_not_valid=True)\n'
        '    op.create_check_constraint("ck2", "events", "n > 0")\n'
        '    op.add_column("events", sa.Column("twice", sa.Integer(),\n'
        '                                      sa.Computed("n * 2", persisted=True)))\n')
    fk, ck, ck2, add = ops
    assert isinstance(fk, AddConstraint) and fk.constraint.not_valid
    assert isinstance(ck, AddConstraint) and ck.constraint.not_valid
    assert isinstance(ck2, AddConstraint) and not ck2.constraint.not_valid
    assert isinstance(add, AddColumn) and add.column.generated == "n * 2"


def test_autocommit_block_marks_what_runs_outside_the_transaction() -> None:
    ops, _src = up(
        '    op.create_index("ix_a", "events", ["a"])\n'
        '    with op.get_context().autocommit_block():\n'
        '        op.create_index("ix_b", "events", ["b"], postgresql_concurrently=True)\n'
        '        op.execute("VACUUM events")\n'
        '    op.drop_index("ix_a", table_name="events")\n')
    assert [(o.kind, o.autocommit) for o in ops] == [
        ("create_index", False), ("create_index", True), ("vacuum", True),
        ("drop_index", False)]


def test_sequence_ddl_constructs_executed() -> None:
    from b03lint.operations import CreateSequence, DropSequence, Unresolved

    ops, _src = up('''
        seq = Sequence("a_seq")
        op.execute(CreateSequence(seq))
        op.execute(sa.schema.CreateSequence(sa.Sequence("b_seq", schema="s")))
        op.execute(DropSequence(Sequence("a_seq")))
        op.execute(CreateSequence(Sequence(name_of())))
    ''', prelude="from sqlalchemy.schema import CreateSequence, DropSequence, Sequence")
    assert [(type(o).__name__, getattr(o, "name", None), getattr(o, "schema", None))
            for o in ops[:3]] == [("CreateSequence", "a_seq", None),
                                  ("CreateSequence", "b_seq", "s"),
                                  ("DropSequence", "a_seq", None)]
    assert isinstance(ops[0], CreateSequence) and isinstance(ops[2], DropSequence)
    assert any(isinstance(o, Unresolved) for o in ops[3:])


def test_plain_literals_map_as_the_escape_scanner_maps_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A literal without backslashes is mapped without the escape scanner: every string
    literal of the suite's and the example's Python maps to the same positions both ways."""
    import ast as pyast

    from b03lint.readers.python import source as src

    root = Path(__file__).resolve().parent.parent
    literals = [*(root / "tests").rglob("*.py"), *(root / "alembic").rglob("*.py"),
                *(root / "b03lint").rglob("*.py")]
    compared = fast = 0
    for path in literals:
        text = path.read_text(encoding="utf-8")
        source = src.Source(text, str(path))
        for node in pyast.walk(pyast.parse(text)):
            if not (isinstance(node, pyast.Constant) and isinstance(node.value, str)):
                continue
            with monkeypatch.context() as m:
                m.setattr(src, "_plain_literal_body", lambda seg, value: None)
                slow = source.literal_map(node)
            fast += src._plain_literal_body(source.segment(node), node.value) is not None
            assert source.literal_map(node) == slow, (path, node.lineno)
            compared += 1
    assert compared > 5000 and fast > compared // 2
