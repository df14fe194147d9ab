"""Declarative YAML rules: the format, strict validation with file and line, the
predicates, schema-wide matches, and the repository's own rule pack."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from b03lint.cli import main
from b03lint.config import load_config
from b03lint.engine import Result, lint
from b03lint.rules.base import DOC_HEADINGS, Rule, doc_sections
from b03lint.rules.declarative import (
    EXAMPLE_BODY_LINE,
    DeclarativeRule,
    load_rule_dirs,
    load_rule_file,
    operation_paths,
    wrap_upgrade,
)
from b03lint.rules.registry import RegistryError, build_registry
from b03lint.testing import check_example

REPO = Path(__file__).resolve().parent.parent

DESCRIPTION = """\
    description:
      what: Flags a thing.
      why: It matters.
      example: "``op.thing()``"
      fix: Do the other thing.
"""


def rule_yaml(match: str, *, code: str = "XYZ001", name: str = "my-rule",
              message: str = "{table}: found", extra: str = "") -> str:
    """A one-rule file; ``match`` is the YAML of the match (indented under ``match:``)."""
    return (f"version: 1\nrules:\n  - code: {code}\n    name: {name}\n"
            f"    message: {message!r}\n" + DESCRIPTION + extra
            + "    match:\n" + textwrap.indent(textwrap.dedent(match), "      "))


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def mig(rev: str, down: str | None, body: str) -> str:
    return wrap_upgrade(body, revision=rev, down_revision=down)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    write(tmp_path, {"pyproject.toml": '[tool.b03lint]\nmigrations = "alembic/versions"\n'})
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def run_rules(root: Path, rules: str, migrations: dict[str, str], *, select: str = "XYZ001",
              rev: str | None = None, config: str = "") -> Result:
    write(root, {"rules/r.yaml": rules,
                 **{f"alembic/versions/{k}.py": v for k, v in migrations.items()}})
    if config:
        write(root, {"pyproject.toml": '[tool.b03lint]\nmigrations = "alembic/versions"\n'
                                       + config})
    cfg = load_config(explicit=root / "pyproject.toml")
    return lint(cfg, rev=rev, select=[select])


def hits(result: Result, code: str = "XYZ001") -> list[tuple[str, int, str]]:
    assert result.errors == [], [str(e) for e in result.errors]
    return [(Path(f.path).stem, f.line, f.message) for f in result.findings if f.code == code]


def load_error(tmp_path: Path, text: str) -> RegistryError:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError) as info:
        load_rule_file(path, "rules/bad.yaml")
    return info.value


# --------------------------------------------------------------------------- the format


def test_a_yaml_rule_compiles_into_a_rule_with_the_same_shape_as_built_ins(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(rule_yaml("kind: add_column\nwhere: {column.name: x}\n",
                              extra="    severity: warning\n    enabled: false\n"))
    (rule,) = load_rule_file(path, "rules/r.yaml")
    assert issubclass(rule, DeclarativeRule) and issubclass(rule, Rule)
    assert (rule.code, rule.name, rule.category) == ("XYZ001", "my-rule", "project")
    assert rule.default_severity == "warning" and rule.default_enabled is False
    assert rule.operation_kinds == frozenset({"add_column"})
    assert rule.origin == "rules/r.yaml:3"
    sections = doc_sections(rule.documentation())
    assert [h for h in DOC_HEADINGS if sections.get(h)] == list(DOC_HEADINGS)
    assert sections["How to fix"] == "Do the other thing."
    assert rule.summary() == "Flags a thing."
    # no examples: the test suite's definition check says so
    assert "has no example that must trigger it" in rule.problems()


def test_upgrade_examples_are_wrapped_and_their_lines_counted_from_the_body(
        tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(rule_yaml("kind: add_column\nwhere: {column.name: x}\n", extra="""\
    examples:
      invalid:
        - upgrade: |
            op.create_table("t", sa.Column("id", sa.Integer()))
            op.add_column("t", sa.Column("x", sa.Text()))
          line: 2
      valid:
        - source: "revision = 'a'\\ndown_revision = None\\n"
          files: {alembic/versions/other.py: "revision = 'b'\\ndown_revision = 'a'\\n"}
          config: {tenant_column: org_id}
          title: whole file
"""))
    (rule,) = load_rule_file(path, "rules/r.yaml")
    (invalid,), (valid,) = rule.invalid, rule.valid
    assert invalid.line == EXAMPLE_BODY_LINE + 1
    assert invalid.source.splitlines()[invalid.line - 1].strip().startswith("op.add_column")
    assert valid.files == {"alembic/versions/other.py": "revision = 'b'\ndown_revision = 'a'\n"}
    assert valid.config == {"tenant_column": "org_id"} and valid.title == "whole file"
    assert check_example(rule, invalid, invalid=True) == []
    assert check_example(rule, valid, invalid=False) == []


def test_operation_fields_come_from_the_operation_vocabulary() -> None:
    add = operation_paths("add_column")
    assert add["column"] == "scalar" and add["column.type"] == "scalar"
    assert add["type"] == "scalar" and add["column.references.table"] == "scalar"
    assert operation_paths("alter_column_type")["type"] == "scalar"
    create = operation_paths("create_table")
    assert create["columns"] == "list" and "column.name" not in create
    assert operation_paths("create_table", "columns")["column.name"] == "scalar"
    assert operation_paths("add_constraint")["constraint.kind"] == "scalar"
    assert operation_paths("create_index")["elements"] == "list"
    assert "loc" not in add


# --------------------------------------------------------------------------- predicates

BASE = mig("a1", None, '''\
op.create_table(
    "ledger",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("amount_cents", sa.Numeric(12, 2)),
    sa.Column("fee_cents", sa.BigInteger()),
    sa.Column("note", sa.Text()),
    sa.Column("mystery", some_type()),
)
op.add_column("ledger", sa.Column("refund_cents", sa.Integer(), server_default="0"))
op.create_index("ix_ledger_note", "ledger", ["note", "id"])
op.execute("ALTER TABLE ledger ADD CONSTRAINT ck_fee CHECK (fee_cents >= 0)")
''')


@pytest.mark.parametrize(("where", "expected"), [
    ("{column.name: {matches: '_cents$'}, column.type: {not_in: [integer, bigint]}}",
     ["amount_cents"]),
    ("{column.name: {matches: '_cents$'}, column.type: {in: [int, int8]}}",
     ["fee_cents", "refund_cents"]),
    ("{column.name: {not_matches: '_cents$|^id$'}}", ["note", "mystery"]),
    ("{column.name: note}", ["note"]),
    ("{column.type: {equals: text}}", ["note"]),
    ("{column.type: {not_equals: text}, column.name: {matches: '^[mn]'}}", []),
    ("{column.type: {exists: false}}", ["mystery"]),
    # an integer primary key is SERIAL in SQLAlchemy: it has a nextval() default
    ("{column.default: {exists: true}}", ["id", "refund_cents"]),
    ("{column.default: {equals: null}, column.name: {in: [note, refund_cents]}}", ["note"]),
    ("{column.name: {not_in: [id, note, mystery, fee_cents, amount_cents]}}",
     ["refund_cents"]),
])
def test_column_predicates(project: Path, where: str, expected: list[str]) -> None:
    rules = rule_yaml(f"kind: [create_table, add_column]\nwhere: {where}\n",
                      message="{column}")
    result = run_rules(project, rules, {"a1": BASE})
    assert sorted(m for _, _, m in hits(result)) == sorted(expected)


def test_a_field_whose_value_is_unknown_satisfies_nothing_but_exists_false(
        project: Path) -> None:
    """``mystery`` has a type b03lint cannot resolve: not_equals/not_in/not_matches stay
    silent for it instead of guessing."""
    for where in ("{column.type: {not_equals: text}}", "{column.type: {not_in: [text]}}",
                  "{column.type: {not_matches: '^text$'}}"):
        rules = rule_yaml(f"kind: create_table\nwhere: {where}\n", message="{column}")
        result = run_rules(project, rules, {"a1": BASE})
        assert "mystery" not in [m for _, _, m in hits(result)], where


def test_list_predicates_and_index_fields(project: Path) -> None:
    rules = rule_yaml("kind: create_index\nwhere: {elements: {contains: note}}\n",
                      message="{name} on {table} ({elements})")
    assert hits(run_rules(project, rules, {"a1": BASE})) == [
        ("a1", EXAMPLE_BODY_LINE + 9, "ix_ledger_note on ledger (note, id)")]
    rules = rule_yaml("kind: create_index\nwhere: {include: {empty: true}, "
                      "elements: {not_contains: fee_cents}}\n", message="{name}")
    assert [m for _, _, m in hits(run_rules(project, rules, {"a1": BASE}))] == ["ix_ledger_note"]


def test_constraint_fields_of_add_constraint_and_create_table(project: Path) -> None:
    rules = rule_yaml("kind: [add_constraint, create_table]\n"
                      "where: {constraint.kind: check}\n", message="{constraint} {table}")
    body = mig("a1", None, '''\
op.create_table("t", sa.Column("id", sa.Integer()),
                sa.CheckConstraint("id > 0", name="ck_t_id"),
                sa.UniqueConstraint("id", name="uq_t_id"))
op.execute("ALTER TABLE t ADD CONSTRAINT ck_t_other CHECK (id < 9)")
''')
    assert hits(run_rules(project, rules, {"a1": body})) == [
        ("a1", EXAMPLE_BODY_LINE, "ck_t_id t"), ("a1", EXAMPLE_BODY_LINE + 3, "ck_t_other t")]


def test_a_list_of_matches_means_any_and_reports_once(project: Path) -> None:
    rules = rule_yaml("""\
- kind: [create_table, add_column]
  where: {column.name: {matches: '_cents$'}, column.type: {not_in: [integer, bigint]}}
- kind: alter_column_type
  where: {column: {matches: '_cents$'}, new_type: {not_in: [integer, bigint]}}
- kind: create_table
  where: {column.name: amount_cents}
""", message="{table}.{column} is {type}")
    body = BASE + '\n\ndef later():\n    pass\n'
    second = mig("a2", "a1", 'op.alter_column("ledger", "fee_cents", type_=sa.Float())')
    assert hits(run_rules(project, rules, {"a1": body, "a2": second})) == [
        ("a1", EXAMPLE_BODY_LINE, "ledger.amount_cents is numeric(12,2)"),
        ("a2", EXAMPLE_BODY_LINE, "ledger.fee_cents is double precision")]


def test_phases_select_downgrade_operations(project: Path) -> None:
    source = mig("a1", None, "pass").replace(
        "def downgrade():\n    pass", 'def downgrade():\n    op.drop_table("ledger")')
    plain = rule_yaml("kind: drop_table\n", message="{table}")
    assert hits(run_rules(project, plain, {"a1": source})) == []
    both = rule_yaml("kind: drop_table\n", message="{table} in {phase}",
                     extra="    phases: [upgrade, downgrade]\n")
    assert [m for _, _, m in hits(run_rules(project, both, {"a1": source}))] == [
        "ledger in downgrade"]


def test_message_renders_lists_booleans_and_unknown_values(project: Path) -> None:
    rules = rule_yaml("kind: create_table\nwhere: {column.name: mystery}\n",
                      message="{table}.{column}: {type} nullable={column.nullable} "
                              "pk={column.primary_key} in [{columns}] {{literal}}")
    assert [m for _, _, m in hits(run_rules(project, rules, {"a1": BASE}))] == [
        "ledger.mystery: ? nullable=true pk=false in "
        "[id, amount_cents, fee_cents, note, mystery] {literal}"]


def test_findings_carry_the_object_the_fix_and_the_configured_severity(
        project: Path) -> None:
    rules = rule_yaml("kind: add_column\n", message="{column}",
                      extra='    fix: "make it so"\n')
    result = run_rules(project, rules, {"a1": BASE},
                       config='[tool.b03lint.severity]\nmy-rule = "info"\n')
    (finding,) = [f for f in result.findings if f.code == "XYZ001"]
    assert finding.object == "ledger.refund_cents" and finding.fix == "make it so"
    assert finding.severity == "info" and finding.rule == "my-rule"


# --------------------------------------------------------------------------- canonical

CANONICAL = """\
CREATE TABLE tenants (id uuid PRIMARY KEY, name text NOT NULL);
CREATE INDEX idx_tenants_name ON tenants (name);
"""


def test_exists_in_canonical_for_tables_columns_and_indexes(project: Path) -> None:
    write(project, {"db/canonical.sql": CANONICAL})
    config = 'canonical_sql = "db/canonical.sql"\n'
    body = mig("a1", None, '''\
op.create_table("tenants", sa.Column("id", postgresql.UUID(), primary_key=True),
                sa.Column("name", sa.Text()), sa.Column("nickname", sa.Text()))
op.create_table("scratch", sa.Column("id", sa.Integer()))
op.create_index("idx_tenants_name", "tenants", ["name"])
op.create_index("idx_tenants_nickname", "tenants", ["nickname"])
''')
    tables = rule_yaml("kind: create_table\nwhere: {table: {exists_in_canonical: false}}\n")
    assert [m for _, _, m in hits(run_rules(project, tables, {"a1": body}, config=config))] \
        == ["scratch: found"]
    columns = rule_yaml("kind: create_table\nwhere: {column.name: {exists_in_canonical: "
                        "false}}\n", message="{table}.{column}")
    assert [m for _, _, m in hits(run_rules(project, columns, {"a1": body}, config=config))] \
        == ["tenants.nickname", "scratch.id"]
    indexes = rule_yaml("kind: create_index\nwhere: {name: {exists_in_canonical: true}}\n",
                        message="{name}")
    assert [m for _, _, m in hits(run_rules(project, indexes, {"a1": body}, config=config))] \
        == ["idx_tenants_name"]


def test_exists_in_canonical_without_a_canonical_schema_is_an_error(project: Path) -> None:
    rules = rule_yaml("kind: create_table\nwhere: {table: {exists_in_canonical: false}}\n")
    result = run_rules(project, rules, {"a1": BASE})
    assert [f for f in result.findings if f.code == "XYZ001"] == []
    (error,) = result.errors
    assert "XYZ001" in error.message and "canonical" in error.message
    assert error.path == "rules/r.yaml"


# --------------------------------------------------------------------------- schema matches

TENANT_CHAIN = {
    "a1": mig("a1", None, '''\
op.create_table("events", sa.Column("id", sa.Integer()), sa.Column("tenant_id", sa.Integer()))
op.create_table("channels", sa.Column("code", sa.Text()))
op.create_table("ledger", sa.Column("tenant_id", sa.Integer()), sa.Column("amount", sa.Float()))
'''),
    "a2": mig("a2", "a1", '''\
op.execute("CREATE POLICY tenant_isolation_policy ON events USING (true)")
op.create_index("ix_ledger_tenant", "ledger", ["tenant_id"], unique=True)
'''),
}
POLICY_RULE = rule_yaml("""\
schema: tables
where:
  tenant_scoped: true
  policies: {not_contains: tenant_isolation_policy}
""", message="{table} has policies [{policies}]")


def test_schema_matches_check_the_replayed_schema_at_head_and_at_rev(project: Path) -> None:
    at_head = hits(run_rules(project, POLICY_RULE, TENANT_CHAIN))
    assert at_head == [("a1", EXAMPLE_BODY_LINE + 2, "ledger has policies []")]
    at_a1 = hits(run_rules(project, POLICY_RULE, TENANT_CHAIN, rev="a1"))
    assert [m for _, _, m in at_a1] == ["events has policies []", "ledger has policies []"]


def test_the_tenant_column_comes_from_the_configuration(project: Path) -> None:
    result = run_rules(project, POLICY_RULE, TENANT_CHAIN,
                       config='tenant_column = "code"\n')
    assert [m for _, _, m in hits(result)] == ["channels has policies []"]


@pytest.mark.parametrize(("subject", "where", "message", "expected"), [
    ("columns", "{type: {in: [float]}}", "{table}.{name}", ["ledger.amount"]),
    ("columns", "{tenant_scoped: true, name: tenant_id}", "{table}",
     ["events", "ledger"]),
    ("indexes", "{unique: true, columns: {contains: tenant_id}}", "{name}",
     ["ix_ledger_tenant"]),
    ("policies", "{command: all}", "{table}.{name}", ["events.tenant_isolation_policy"]),
    ("tables", "{columns: {empty: false}, rls_enabled: false, name: {matches: '^c'}}",
     "{name}", ["channels"]),
])
def test_schema_subjects(project: Path, subject: str, where: str, message: str,
                         expected: list[str]) -> None:
    rules = rule_yaml(f"schema: {subject}\nwhere: {where}\n", message=message)
    assert sorted(m for _, _, m in hits(run_rules(project, rules, TENANT_CHAIN))) == expected


def test_schema_matches_skip_tables_an_unresolved_operation_may_have_changed(
        project: Path) -> None:
    chain = {**TENANT_CHAIN, "a3": mig("a3", "a2", 'op.execute(build_sql("ledger"))')}
    result = run_rules(project, POLICY_RULE, chain)
    assert [f for f in result.findings if f.code == "XYZ001"] == []


# --------------------------------------------------------------------------- strictness


@pytest.mark.parametrize(("text", "line", "words"), [
    (rule_yaml("kind: add_column\n", extra="    colour: red\n"), 11,
     ["unknown key 'colour'", "rules[0].colour"]),
    (rule_yaml("kind: add_colum\n"), 12, ["unknown operation kind 'add_colum'", "add_column"]),
    (rule_yaml("kind: add_column\nwhere: {column.typ: x}\n"), 13,
     ["unknown field 'column.typ'", "column.type"]),
    (rule_yaml("kind: add_column\nwhere:\n  column.name: {matches: '(unclosed'}\n"), 14,
     ["bad regular expression", "match.where.column.name.matches"]),
    (rule_yaml("kind: add_column\nwhere: {column.name: {like: x}}\n"), 13, ["unknown key 'like'"]),
    (rule_yaml("kind: add_column\nwhere: {column.name: {contains: x}}\n"), 13,
     ["'contains' does not apply", "single value"]),
    (rule_yaml("kind: create_table\nwhere: {columns: {equals: x}}\n"), 13,
     ["'equals' does not apply", "a list"]),
    (rule_yaml("kind: add_column\nwhere: {column.name: [a, b]}\n"), 13, ["{in: [...]}"]),
    (rule_yaml("kind: add_column\n", message="{table} {colour}"), 5,
     ["unknown message field 'colour'"]),
    (rule_yaml("kind: add_column\n", message="{0}"), 5, ["without positions"]),
    (rule_yaml("kind: add_column\n", code="X1"), 3, ["code 'X1'"]),
    (rule_yaml("kind: add_column\n", name="My_Rule"), 4, ["kebab-case"]),
    (rule_yaml("kind: add_column\n", extra="    severity: fatal\n"), 11,
     ["expected one of blocking, warning, info"]),
    (rule_yaml("kind: add_column\nschema: tables\n"), 11, ["either `kind`", "not both"]),
    (rule_yaml("schema: rows\n"), 12, ["expected one of tables"]),
    (rule_yaml("kind: drop_column\nwhere: {column: {exists_in_canonical: true}, "
               "table: {exists_in_canonical: true}, new_name: x}\n"), 13,
     ["unknown field 'new_name'"]),
    (rule_yaml("kind: data_change\nwhere: {verb: {exists_in_canonical: true}}\n"), 13,
     ["exists_in_canonical does not apply to 'verb'"]),
    (rule_yaml("kind: create_table\nwhere: {column.name: a, constraint.kind: check}\n"), 11,
     ["its columns or at its constraints"]),
    (rule_yaml("kind: add_column\n").replace("      why: It matters.\n", ""), 6,
     ["missing required key 'why'"]),
    (rule_yaml("kind: add_column\n").replace("version: 1", "version: 2"), 1,
     ["unsupported rule file version 2"]),
    (rule_yaml("kind: add_column\n", extra="    examples:\n      valid:\n"
               "        - {upgrade: pass, source: x}\n"), 13, ["either `source`"]),
    (rule_yaml("kind: add_column\n", extra="    examples:\n      valid:\n"
               "        - {upgrade: pass, line: 3}\n"), 13, ["only examples that must trigger"]),
    ("version: 1\nrules:\n  - code: A001\n    code: A002\n", 4, ["duplicate key 'code'"]),
    ("version: 1\nrules: [\n", 3, ["invalid YAML"]),
    ("version: 1\nrules:\n  - &a {code: A001}\n", 3, ["anchors and aliases"]),
    ("- just a list\n", 1, ["expected a mapping"]),
])
def test_invalid_rule_files_are_errors_with_file_and_line(
        tmp_path: Path, text: str, line: int, words: list[str]) -> None:
    error = load_error(tmp_path, text)
    assert (error.path, error.line) == ("rules/bad.yaml", line), str(error)
    for word in words:
        assert word in str(error)


def test_a_bad_rule_file_stops_check_rules_and_rule_with_exit_2(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project, {"rules/bad.yaml": rule_yaml("kind: add_colum\n"),
                    "alembic/versions/a1.py": BASE})
    for argv in (["check"], ["rules"], ["rule", "D001"]):
        assert main(argv) == 2, argv
        captured = capsys.readouterr()
        text = captured.out + captured.err
        assert "rules/bad.yaml:12" in text and "unknown operation kind 'add_colum'" in text
        assert "Traceback" not in text


# --------------------------------------------------------------------------- folders


def test_rule_folders(tmp_path: Path) -> None:
    write(tmp_path, {"rules/a.yaml": rule_yaml("kind: add_column\n"),
                     "rules/b.yml": rule_yaml("kind: drop_column\n", code="XYZ002",
                                              name="other"),
                     "rules/notes.txt": "not a rule file",
                     "more/c.yaml": rule_yaml("kind: drop_table\n", code="XYZ003",
                                              name="third")})
    codes = [r.code for r in load_rule_dirs(tmp_path, ["rules", "more"], missing_ok=False)]
    assert codes == ["XYZ001", "XYZ002", "XYZ003"]
    assert load_rule_dirs(tmp_path, ["missing"], missing_ok=True) == []
    with pytest.raises(RegistryError, match="rules folder 'missing'"):
        load_rule_dirs(tmp_path, ["missing"], missing_ok=False)


def test_the_default_rules_folder_may_be_missing_but_a_configured_one_may_not(
        tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.b03lint]\n"})
    assert len(build_registry(load_config(explicit=tmp_path / "pyproject.toml"))) > 0
    write(tmp_path, {"pyproject.toml": '[tool.b03lint]\nrules_dirs = ["lint/rules"]\n'})
    with pytest.raises(RegistryError, match="lint/rules"):
        build_registry(load_config(explicit=tmp_path / "pyproject.toml"))


def test_a_new_rule_file_with_examples_is_all_the_test_suite_needs(tmp_path: Path) -> None:
    """The parametrized example test builds its cases from the configured registry."""
    from test_rule_examples import example_cases

    write(tmp_path, {"pyproject.toml": "[tool.b03lint]\n", "rules/new.yaml": rule_yaml(
        "kind: add_column\n", extra="""\
    examples:
      invalid: [{upgrade: 'op.add_column("t", sa.Column("c", sa.Text()))', line: 1}]
      valid: [{upgrade: 'op.drop_column("t", "c")'}]
""")})
    registry = build_registry(load_config(explicit=tmp_path / "pyproject.toml"),
                              entry_points=False)
    cases = [c for c in example_cases(registry) if "XYZ001" in c.id]  # type: ignore[attr-defined]
    assert [c.id for c in cases] == ["XYZ001-my-rule-invalid-0",  # type: ignore[attr-defined]
                                     "XYZ001-my-rule-valid-0"]
    for case in cases:
        rule, example, invalid = case.values  # type: ignore[attr-defined]
        assert check_example(rule, example, invalid=invalid, registry=registry) == []


# --------------------------------------------------------------------------- the repo's pack


def test_the_repository_ships_its_own_rules() -> None:
    registry = build_registry(load_config(explicit=REPO / "pyproject.toml"),
                              entry_points=False)
    ours = {r.code: registry.origin_of(r) for r in registry if r.code.startswith("SKD")}
    assert set(ours) >= {"SKD001", "SKD002", "SKD003", "SKD004", "SKD005"}
    assert all(o.startswith("rules/") or "/rules/" in o for o in ours.values())


def test_the_example_chain_follows_its_own_conventions_at_head(
        capsys: pytest.CaptureFixture[str]) -> None:
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        assert main(["check", "--select", "SKD"]) == 0
        assert "PASS" in capsys.readouterr().out
        # before the row-level-security revision, every tenant table lacks its policy
        assert main(["check", "--select", "SKD003", "--rev",
                     "202511131000", "--output-format", "json"]) == 1
    finally:
        os.chdir(cwd)
    import json

    report = json.loads(capsys.readouterr().out)
    objects = sorted(f["object"] for f in report["findings"])
    assert objects == ["attribution_allocations", "attribution_events", "revenue_ledger"]
