"""Property-based fuzzing of every reader of untrusted input (issue 8).

The invariant, for every input: the reader ends in operations, findings or its documented
error type (:class:`~b03lint.yamlio.YamlError`, :class:`~b03lint.schema.canonical.
CanonicalError`, :class:`~b03lint.rules.registry.RegistryError`) -- never another exception,
never an internal-error diagnostic (``I000``: a reader bug), never a hang, and never a
finding-free PASS for a file it could not read.

Budget: the examples are derandomized (the same inputs on every run) and bounded, so the
whole file takes about a minute. A longer, randomized run is one command (README,
"Robustness")::

    B03LINT_FUZZ=long .venv/bin/pytest tests/test_fuzz.py -p no:cacheprovider

``B03LINT_FUZZ=long`` multiplies every example budget by 40 (``B03LINT_FUZZ_SCALE`` sets
another factor) and draws new random inputs on every run (``--hypothesis-seed=N`` replays
one); a failure prints the smallest input that shows it.

The pathological inputs (10,000-deep nesting, huge literals, the amplification patterns
fuzzing found) run in a subprocess with a timeout, so a regression fails instead of hanging.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import b03lint.readers.sql  # noqa: F401  (imported once here, not inside a timed example)
from b03lint.config import load_config
from b03lint.engine import lint
from b03lint.operations import MigrationFile
from b03lint.readers.python import read_migration
from b03lint.readers.sql import (
    analyze_check,
    normalize_default,
    normalize_expression,
    read_sql,
    split_statements,
)
from b03lint.rules.declarative import load_rule_file
from b03lint.rules.registry import RegistryError
from b03lint.schema.canonical import CanonicalError
from b03lint.schema.canonical_yaml import load_canonical_yaml
from b03lint.schema.drift import parse_register
from b03lint.yamlio import YamlError

REPO = Path(__file__).resolve().parent.parent
MIGRATIONS = sorted((REPO / "alembic" / "versions").rglob("*.py"))
REAL: list[bytes] = [p.read_bytes() for p in MIGRATIONS]
CANONICAL_SQL = (REPO / "db" / "schema" / "canonical_schema.sql").read_text()
CANONICAL_YAML = (REPO / "db" / "schema" / "canonical_schema.yaml").read_text()
REGISTER = (REPO / "db" / "schema" / "drift_register.yaml").read_text()
RULE_FILES = [p.read_text() for p in sorted((REPO / "rules").glob("*.yaml"))]

LONG = os.environ.get("B03LINT_FUZZ", "") == "long"
SCALE = int(os.environ.get("B03LINT_FUZZ_SCALE", "40" if LONG else "1"))


def budget(examples: int, deadline_ms: int = 5000) -> Callable[[Any], Any]:
    """Bounded examples, a per-example deadline (a hang fails), derandomized in CI."""
    return settings(
        max_examples=examples * SCALE,
        deadline=deadline_ms,
        derandomize=not LONG,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much],
    )


# =========================================================================== invariants


def assert_read(mf: MigrationFile, source: bytes) -> None:
    """What every read of a migration file must satisfy."""
    internal = [d for d in mf.diagnostics if d.code == "I000"]
    assert not internal, internal[0].message
    lines = source.count(b"\n") + source.count(b"\r") + 2
    for d in mf.diagnostics:
        assert 1 <= d.loc.line <= lines, d
    for op in mf.operations:
        assert 1 <= op.loc.line <= lines, op
    if not mf.readable:
        assert not mf.operations and any(d.fatal for d in mf.diagnostics)
        assert all(d.code in ("I001", "I002") for d in mf.diagnostics if d.fatal)


def parses(source: bytes) -> bool:
    """Whether CPython's own parser accepts the file (parsing runs nothing)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


# =========================================================================== Python reader


@budget(150)
@given(st.text(max_size=400))
def test_python_reader_arbitrary_text(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    assert_read(read_migration("x.py", data), data)


@budget(100)
@given(st.binary(max_size=400))
def test_python_reader_arbitrary_bytes(data: bytes) -> None:
    assert_read(read_migration("x.py", data), data)


@budget(80)
@given(st.sampled_from(REAL), st.floats(0, 1))
def test_python_reader_truncated_real_migrations(source: bytes, where: float) -> None:
    data = source[: int(len(source) * where)]
    mf = read_migration("x.py", data)
    assert_read(mf, data)
    # whatever CPython can parse, the reader reads (and the other way round)
    assert mf.readable == parses(data), [d.message for d in mf.diagnostics]


@budget(80)
@given(st.sampled_from(REAL), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)),
                                       min_size=1, max_size=8))
def test_python_reader_byte_flips(source: bytes, flips: list[tuple[float, int]]) -> None:
    data = bytearray(source)
    for where, byte in flips:
        data[min(int(where * len(data)), len(data) - 1)] = byte
    mf = read_migration("x.py", bytes(data))
    assert_read(mf, bytes(data))
    if mf.readable:
        assert parses(bytes(data))


PY_FRAGMENTS = ["(", ")", "[", "]", "{", "}", "'", '"', '"""', "\\", ":", "\n", "\n    ",
                "#", " if ", " for ", " in ", "op.execute(", "op.drop_table(", "f'{", "}'",
                "lambda: ", "*", "**", "=", ",", "$$", "--", "/*", "\r", "\t", "\x00", "é",
                "\ufeff", "# -*- coding: latin-1 -*-\n", "with op.batch_alter_table('t') as b:",
                "revision = ", "down_revision = "]


@budget(80)
@given(st.sampled_from(REAL),
       st.lists(st.tuples(st.floats(0, 1), st.sampled_from(PY_FRAGMENTS)), min_size=1,
                max_size=6))
def test_python_reader_spliced_fragments(source: bytes,
                                         inserts: list[tuple[float, str]]) -> None:
    text = source.decode()
    for where, fragment in inserts:
        i = int(where * len(text))
        text = text[:i] + fragment + text[i:]
    data = text.encode("utf-8", "surrogatepass")
    assert_read(read_migration("x.py", data), data)


# ----------------------------------------------------------------- generated programs
# Valid-looking migrations built from the constructs the reader evaluates statically: the
# inputs that reach deepest into it (assignments, concatenation, formatting, loops,
# conditions, batch blocks, SQL in op.execute).

SQL_SNIPPETS = [
    "ALTER TABLE tenants DROP COLUMN name", "CREATE TABLE t (id int PRIMARY KEY)",
    "CREATE INDEX i ON t (a DESC) INCLUDE (b) WHERE a > 0", "DROP TABLE t", "TRUNCATE t",
    "DO $$ BEGIN EXECUTE 'DROP TABLE x'; END $$", "DO $$ BEGIN IF true THEN DROP TABLE x; "
    "END IF; END $$", "ALTER TABLE t ENABLE ROW LEVEL SECURITY", "SELECT 1", "$$", "$a$",
    "-- c", "/* c", "*/", "'", ";", "CREATE FUNCTION f() RETURNS int AS $b$ SELECT 1 $b$ "
    "LANGUAGE sql", "ALTER TABLE t ADD CONSTRAINT ck CHECK (s IN ('a', 'b'))", ":name",
    "%(x)s", "%s", "DELETE FROM t", "ALTER TYPE e ADD VALUE 'x'", "COMMENT ON TABLE t IS $$x",
]
IDENTS = ["t", "tenants", "X", "SQL", "cols", "i", "name", "b", "conn", "bind", "helper"]
CALLEES = ["op.add_column", "op.drop_column", "op.drop_table", "op.execute", "op.create_table",
           "op.create_index", "op.alter_column", "op.create_check_constraint", "op.f",
           "op.get_bind().execute", "sa.Column", "sa.String", "sa.Integer", "sa.Enum",
           "sa.text", "sa.CheckConstraint", "sa.Index", "sa.ForeignKey", "textwrap.dedent",
           "str", "range", "list", "sorted", "zip", "enumerate", "len", "helper",
           "conn.execute", "sa.table", "sa.column"]
METHODS = ["format", "join", "replace", "strip", "upper", "ljust", "split", "items", "get",
           "insert", "values", "where"]


def _literal() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(SQL_SNIPPETS).map(repr),
        st.text(alphabet="abc_%{}:$'\"\\ 0123456789;-", max_size=12).map(repr),
        st.integers(-(10**6), 10**6).map(str),
        st.sampled_from(["None", "True", "False", "...", "b'x'", "1.5", "1j", "10**100",
                         "[]", "{}", "()"]),
    )


def _compound(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    args = st.lists(inner, max_size=3).map(", ".join)
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "*", "%", "-", "//", "==", "in", "and", "or"]),
                  inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(inner, max_size=3).map(lambda xs: "(" + "".join(x + ", " for x in xs) + ")"),
        st.tuples(inner, inner).map(lambda t: f"{{{t[0]}: {t[1]}}}"),
        st.tuples(st.sampled_from(CALLEES), args).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(CALLEES), args, st.sampled_from(
            ["name", "nullable", "server_default", "schema", "postgresql_where", "unique"]),
            inner).map(lambda t: f"{t[0]}({t[1]}{', ' if t[1] else ''}{t[2]}={t[3]})"),
        st.tuples(inner, st.sampled_from(METHODS), args).map(lambda t: f"({t[0]}).{t[1]}({t[2]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]})[{t[1]}]"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        inner.filter(lambda x: "\\" not in x and '"""' not in x).map(lambda x: f'f"""{{{x}}}"""'),
        st.tuples(inner, inner).map(lambda t: f"[*{t[0]}, *{t[1]}]"),
    )


EXPR = st.recursive(st.one_of(_literal(), st.sampled_from(IDENTS)), _compound, max_leaves=6)


def _block(depth: int) -> st.SearchStrategy[list[str]]:
    simple = st.one_of(
        st.tuples(st.sampled_from(IDENTS), EXPR).map(lambda t: f"{t[0]} = {t[1]}"),
        st.tuples(st.sampled_from(IDENTS), EXPR).map(lambda t: f"{t[0]} += {t[1]}"),
        EXPR,
        st.tuples(st.sampled_from(CALLEES[:10]), st.lists(EXPR, max_size=3).map(", ".join))
        .map(lambda t: f"{t[0]}({t[1]})"),
        st.sampled_from(["pass", "return", "break", "continue", "conn = op.get_bind()",
                         "bind = op.get_bind()", "b.drop_column('name')",
                         "op.execute(SQL)", "op.execute(X)"]),
    )
    if depth <= 0:
        return st.lists(simple, min_size=1, max_size=4)
    nested = _block(depth - 1).map(lambda lines: "\n".join("    " + ln for ln in lines))
    compound = st.one_of(
        st.tuples(st.sampled_from(IDENTS), EXPR, nested).map(
            lambda t: f"for {t[0]} in {t[1]}:\n{t[2]}"),
        st.tuples(EXPR, nested, nested).map(lambda t: f"if {t[0]}:\n{t[1]}\nelse:\n{t[2]}"),
        st.tuples(EXPR, nested).map(lambda t: f"with op.batch_alter_table({t[0]}) as b:\n{t[1]}"),
        st.tuples(nested, nested).map(lambda t: f"try:\n{t[0]}\nexcept Exception:\n{t[1]}"),
        st.tuples(EXPR, nested).map(lambda t: f"while {t[0]}:\n{t[1]}"),
        st.tuples(EXPR, nested).map(lambda t: f"def helper(x={t[0]}):\n{t[1]}"),
    )
    return st.lists(st.one_of(simple, compound), min_size=1, max_size=4).map(
        lambda items: [ln for item in items for ln in item.split("\n")])


@st.composite
def migrations(draw: st.DrawFn) -> str:
    module = draw(_block(1))
    upgrade = draw(_block(2))
    down = draw(st.one_of(st.just("'0001'"), st.just("None"), EXPR))
    rev = draw(st.one_of(st.just("'0002'"), EXPR))
    body = "\n".join("    " + ln for ln in upgrade)
    return (f'"""generated"""\nimport textwrap\nfrom alembic import op\nimport sqlalchemy as sa\n\n'
            f"revision = {rev}\ndown_revision = {down}\n" + "\n".join(module)
            + f"\n\n\ndef upgrade():\n{body}\n\n\ndef downgrade():\n    pass\n")


@budget(250)
@given(migrations())
def test_python_reader_generated_migrations(source: str) -> None:
    data = source.encode("utf-8", "surrogatepass")
    mf = read_migration("x.py", data)
    assert_read(mf, data)
    assert mf.readable == parses(data)


# =========================================================================== end to end
# A fuzzed file in a real project, through the whole engine: an unreadable file must give
# exit 2 and a finding at its path; a file with no static revision a blocking finding; no
# rule may crash on what the reader made of it.


def _lint_one(data: bytes) -> tuple[int, list[dict[str, Any]], list[str]]:
    root = Path(tempfile.mkdtemp(prefix="b03lint-fuzz-"))
    try:
        (root / "pyproject.toml").write_text(
            '[tool.b03lint]\nmigrations = "versions"\nadr_dir = "adr"\ncache = false\n')
        (root / "adr").mkdir()
        versions = root / "versions"
        versions.mkdir()
        (versions / "0001_base.py").write_text(
            'from alembic import op\nimport sqlalchemy as sa\nrevision = "0001"\n'
            'down_revision = None\n\n\ndef upgrade():\n    op.create_table("tenants", '
            'sa.Column("id", sa.Integer(), primary_key=True), sa.Column("name", sa.Text()))\n')
        (versions / "0002_fuzzed.py").write_bytes(data)
        cwd = Path.cwd()
        os.chdir(root)
        try:
            result = lint(load_config(root), baseline=None)
        finally:
            os.chdir(cwd)
        return (result.exit_code, [f.to_json() for f in result.findings],
                [str(e) for e in result.errors])
    finally:
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def assert_end_to_end(data: bytes) -> None:
    code, findings, errors = _lint_one(data)
    path = "versions/0002_fuzzed.py"
    assert not [e for e in errors if "internal error" in e], errors
    assert "I000" not in {f["code"] for f in findings}
    mine = [f for f in findings if f["path"] == path]
    mf = read_migration(path, data)
    if not mf.readable:
        assert code == 2, (code, findings, errors)
        assert any(f["code"] in ("I001", "I002") and f["severity"] == "blocking" for f in mine)
    elif mf.revision is None and any(d.code == "I006" for d in mf.diagnostics):
        # no revision, down_revision, upgrade or downgrade: a helper module, an info
        assert any(f["code"] == "I006" and f["severity"] == "info" for f in mine), mine
    elif mf.revision is None:
        assert code in (1, 2) and any(f["code"] == "I005" and f["severity"] == "blocking"
                                      for f in mine), mine
    unresolved = sum(op.kind == "unresolved" for op in mf.operations)
    assert sum(f["code"] == "I004" for f in mine) >= min(unresolved, 1)


@budget(40, deadline_ms=10_000)
@given(st.one_of(
    migrations().map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.tuples(st.sampled_from(REAL), st.floats(0, 1)).map(lambda t: t[0][: int(len(t[0]) * t[1])]),
    st.binary(max_size=200),
))
def test_end_to_end_never_passes_an_unreadable_file(data: bytes) -> None:
    assert_end_to_end(data)


# =========================================================================== SQL reader


def assert_sql(text: str) -> None:
    result = read_sql(text, path="x.sql")
    lines = text.count("\n") + 2
    for d in result.diagnostics:
        assert d.code == "I003" and 1 <= d.loc.line <= lines, d
    for op in result.operations:
        assert 1 <= op.loc.line <= lines, op
    spans = split_statements(text)
    for start, end in spans:
        assert 0 <= start <= end <= len(text)


@budget(150)
@given(st.text(max_size=300))
def test_sql_reader_arbitrary_text(text: str) -> None:
    assert_sql(text)


@budget(60)
@given(st.floats(0, 1), st.floats(0, 1))
def test_sql_reader_truncated_canonical_sql(a: float, b: float) -> None:
    start, end = sorted((int(a * len(CANONICAL_SQL)), int(b * len(CANONICAL_SQL))))
    assert_sql(CANONICAL_SQL[start:end])


SQL_FRAGMENTS = ["$$", "$a$", "$a", "$1", "'", "''", '"', "--", "/*", "*/", "\\", "E'",
                 "U&'", ";", "DO $$ BEGIN ", " END $$;", "(", ")", "\n", "BEGIN ATOMIC ",
                 "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; ",
                 "\x00", "é", "\r", "ALTER TABLE t DROP COLUMN c", "SELECT 1", " x "]


@budget(150)
@given(st.lists(st.sampled_from(SQL_FRAGMENTS), max_size=30).map("".join))
def test_sql_reader_dollar_quote_and_comment_fragments(text: str) -> None:
    assert_sql(text)


@budget(80)
@given(st.text(max_size=120))
def test_sql_expression_helpers_never_raise(text: str) -> None:
    analyze_check(text)
    normalize_expression(text)
    normalize_default(text)


# =========================================================================== YAML readers

YAML_FRAGMENTS = ["&a ", "*a", "<<: {a: 1}\n", "!!python/object/apply:os.system ['x']",
                  "!!binary aGk=", "{", "}", "[", "]", ":", "- ", "\n  ", "\t", "'", '"', "#",
                  "---\n", "...\n", "? ", "|", ">", "~", "null", "1e999", "0x1F", "yes",
                  "2020-01-01", "%YAML 1.1\n", "\x00", "\ufeff", "!!set {a}", "=", "\x85",
                  "[" * 70, "{a: " * 70]


@st.composite
def mutated(draw: st.DrawFn, source: str) -> str:
    text = source
    for _ in range(draw(st.integers(1, 5))):
        i = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["insert", "delete", "truncate", "duplicate"]))
        if how == "insert":
            text = text[:i] + draw(st.sampled_from(YAML_FRAGMENTS)) + text[i:]
        elif how == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 40)):]
        elif how == "truncate":
            text = text[:i]
        else:
            lines = text.splitlines(keepends=True) or [""]
            k = draw(st.integers(0, len(lines) - 1))
            lines.insert(draw(st.integers(0, len(lines))), lines[k])
            text = "".join(lines)
    return text


@budget(120)
@given(mutated(CANONICAL_YAML))
def test_canonical_yaml_loader(text: str) -> None:
    try:
        load_canonical_yaml(text, "c.yaml")
    except CanonicalError as exc:
        assert str(exc)


@budget(120)
@given(mutated(REGISTER))
def test_drift_register_loader(text: str) -> None:
    try:
        parse_register(text, "d.yaml")
    except YamlError as exc:
        assert str(exc)


@budget(100)
@given(st.sampled_from(RULE_FILES).flatmap(mutated))
def test_declarative_rule_loader(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_rule_file(path, "r.yaml")
        except RegistryError as exc:
            assert str(exc)


@budget(80)
@given(st.text(max_size=200))
def test_yaml_readers_arbitrary_text(text: str) -> None:
    for load, errors in ((lambda t: load_canonical_yaml(t, "c.yaml"), (CanonicalError,)),
                         (lambda t: parse_register(t, "d.yaml"), (YamlError,))):
        with contextlib.suppress(*errors):
            load(text)


# =========================================================================== pathological
# Each in its own interpreter with a timeout: a regression fails, it cannot hang the suite.

HEAD = 'from alembic import op\nrevision = "x"\ndown_revision = None\n'
BIG_SQL = "ALTER TABLE t ADD COLUMN c int;\n" * 2000

PATHOLOGICAL: dict[str, tuple[str, str | None]] = {
    # name: (source, a diagnostic code the file must get, or None)
    "parentheses-10k-deep": ("X = " + "(" * 10_000 + "1" + ")" * 10_000 + "\n", "I001"),
    "brackets-10k-deep": ("X = " + "[" * 10_000 + "]" * 10_000 + "\n", "I001"),
    "braces-10k-deep": ("X = " + "{1: " * 10_000 + "1" + "}" * 10_000 + "\n", "I001"),
    "unary-100k": ("X = " + "-" * 100_000 + "1\n", "I001"),
    "attribute-chain-100k": ("X = a" + ".b" * 100_000 + "\n", "I001"),
    "calls-100k": ("X = f" + "()" * 100_000 + "\n", "I001"),
    "concatenation-100k": ("X = " + " + ".join(["'a'"] * 100_000) + "\n", "I001"),
    "nested-blocks-100": ("def upgrade():\n" + "".join(" " * (i + 1) + "if x:\n"
                                                        for i in range(100))
                          + " " * 101 + "pass\n", "I001"),
    "string-5mb": (HEAD + "X = '" + "a" * 5_000_000 + "'\n", None),
    "integer-4000-digits": (HEAD + "X = " + "9" * 4000 + "\n", None),
    "integer-too-long": (HEAD + "X = " + "9" * 5000 + "\n", "I001"),
    "sql-50k-statements": (HEAD + "def upgrade():\n    op.execute('" + "SELECT 1;" * 50_000
                            + "')\n", None),
    "sql-5k-deep-parentheses": (HEAD + "def upgrade():\n    op.execute('SELECT "
                                + "(" * 5000 + "1" + ")" * 5000 + "')\n", None),
    # amplification: a few hundred bytes that would have computed gigabytes
    "string-doubling": (HEAD + "X = 'SELECT 1;'\n" + "X = X + X\n" * 40
                        + "def upgrade():\n    op.execute(X)\n", None),
    "fstring-doubling": (HEAD + "X = 'SELECT 1;'\n" + "X = f'{X}{X}'\n" * 40
                         + "def upgrade():\n    op.execute(X)\n", None),
    "repeat-times-100": (HEAD + "X = 'SELECT 1;'\n" + "X = X * 100\n" * 8
                         + "def upgrade():\n    op.execute(X)\n", None),
    "replace-growth": (HEAD + "X = 'aaaaaaaaaa'\n" + "X = X.replace('a', 'aaaaaaaaaa')\n" * 12
                       + "def upgrade():\n    op.execute(X)\n", None),
    "percent-width": (HEAD + "X = '%0400000000d' % 1\ndef upgrade():\n    op.execute(X)\n",
                      None),
    "format-width": (HEAD + "X = '{:>400000000}'.format(1)\ndef upgrade():\n"
                     "    op.execute(X)\n", None),
    "fstring-width": (HEAD + "X = f'{1:>400000000}'\ndef upgrade():\n    op.execute(X)\n",
                      None),
    "ljust-width": (HEAD + "X = 'a'.ljust(400000000)\ndef upgrade():\n    op.execute(X)\n",
                    None),
    "integer-squaring": (HEAD + "X = 3\n" + "X = X * X\n" * 40
                         + "def upgrade():\n    op.execute(f'DROP TABLE t{X}')\n", None),
    "integer-past-str-limit": (HEAD + "X = " + "9" * 4000 + " * " + "9" * 4000
                               + "\ndef upgrade():\n    op.execute('DROP TABLE t' + str(X))\n",
                               None),
    "list-doubling": (HEAD + "L = ['a']\n" + "L = L + L\n" * 40
                      + "def upgrade():\n    for t in L:\n        op.drop_table(t)\n", None),
    "dict-doubling": (HEAD + "D = {'a': 1}\n" + "D = {**D, **D}\n" * 40
                      + "def upgrade():\n    pass\n", None),
    "list-unpack-doubling": (HEAD + "L = ['a']\n" + "L = [*L, *L]\n" * 40
                             + "def upgrade():\n    pass\n", None),
    "same-sql-executed-200-times": (HEAD + f"BIG = '''{BIG_SQL}'''\ndef upgrade():\n"
                                    + "    op.execute(BIG)\n" * 200, None),
    "same-sql-in-a-loop": (HEAD + f"BIG = '''{BIG_SQL}'''\ndef upgrade():\n"
                           "    for i in range(2000):\n        op.execute(BIG)\n", None),
    # SQL that crashed pglast (a segmentation fault: no report at all) or took minutes in
    # PostgreSQL's scanner: now an I003 at once
    "sql-operator-chain-60k": (HEAD + "def upgrade():\n    op.execute('SELECT "
                               + "+".join(["1"] * 60_000) + "')\n", "I003"),
    "sql-concatenation-chain-60k": (HEAD + "def upgrade():\n    op.execute(\"SELECT "
                                    + "||".join(["'a'"] * 60_000) + "\")\n", "I003"),
    "sql-cast-chain-60k": (HEAD + "def upgrade():\n    op.execute('SELECT 1"
                           + "::int" * 60_000 + "')\n", "I003"),
    "sql-parenthesised-chain-60k": (HEAD + "def upgrade():\n    op.execute('SELECT "
                                    + "+".join(["(1)"] * 60_000) + "')\n", "I003"),
    "sql-nested-comment-openers": (HEAD + "def upgrade():\n    op.execute('" + "/*" * 200_000
                                   + "*/" * 200_000 + " SELECT 1;')\n", "I003"),
    "sql-unterminated-nested-comment": (HEAD + "def upgrade():\n    op.execute('"
                                        + "/*" * 200_000 + "')\n", "I003"),
    "sql-plus-run": (HEAD + "def upgrade():\n    op.execute('SELECT 1 " + "+-" * 100_000
                     + " 1')\n", "I003"),
    "concatenated-5000-times": (HEAD + "X = 'SELECT 1;'\n"
                                + "X = X + ' ALTER TABLE t DROP COLUMN c;'\n" * 5000
                                + "def upgrade():\n    op.execute(X)\n", None),
}

_RUNNER = textwrap.dedent("""\
    import json, sys
    from b03lint.readers.python import read_migration
    data = sys.stdin.buffer.read()
    mf = read_migration("x.py", data)
    print(json.dumps({"diagnostics": [[d.code, d.message[:200], d.fatal]
                                      for d in mf.diagnostics],
                      "operations": len(mf.operations),
                      "unresolved": sum(op.kind == "unresolved" for op in mf.operations),
                      "last_line": max((op.loc.line for op in mf.operations), default=0)}))
""")


def read_in_subprocess(source: str, timeout: int = 120) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", _RUNNER], input=source.encode(),
                          capture_output=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_pathological_input_is_bounded(name: str) -> None:
    source, code = PATHOLOGICAL[name]
    found = read_in_subprocess(source)
    codes = [d[0] for d in found["diagnostics"]]
    assert "I000" not in codes, found
    if code is not None:
        assert code in codes, found
        if code in ("I001", "I002"):
            assert any(d[2] for d in found["diagnostics"]), "an unreadable file must be fatal"


_SQL_RUNNER = textwrap.dedent("""\
    import json, sys
    from b03lint.readers import sql
    text = sys.stdin.read()
    result = sql.read_sql(text, path="x.sql")
    sql.analyze_check(text)
    sql.normalize_expression(text)
    try:
        sql.parse_index_elements(text)
    except ValueError:
        pass
    print(json.dumps([[d.code, d.loc.line, d.message[:200]] for d in result.diagnostics]))
""")


@pytest.mark.parametrize("text", [
    "SELECT " + "+".join(["1"] * 60_000),
    "ALTER TABLE t ADD CONSTRAINT c CHECK (a > " + " - ".join(["1"] * 60_000) + ")",
    "ALTER TABLE t DROP COLUMN a;\nSELECT " + "*".join(["2"] * 60_000) + ";\nDROP TABLE t;",
    "/*" * 100_000,
    "SELECT 1; /* never closed",
], ids=["chain", "check-chain", "chain-between-statements", "nested-comment", "unclosed-comment"])
def test_sql_that_crashed_or_stalled_the_parser(text: str) -> None:
    """Read by the SQL reader and every helper that parses (CHECK analysis, expression
    normalisation, index keys): refused with an I003, never a crash or minutes of work."""
    proc = subprocess.run([sys.executable, "-c", _SQL_RUNNER], input=text.encode(),
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    diagnostics = json.loads(proc.stdout)
    assert [d[0] for d in diagnostics] and {d[0] for d in diagnostics} == {"I003"}, diagnostics


def test_statements_around_a_refused_one_are_still_read() -> None:
    text = "ALTER TABLE t DROP COLUMN a;\nSELECT " + "+".join(["1"] * 30_000) + ";\nDROP TABLE t;"
    result = read_sql(text, path="x.sql")
    assert [op.kind for op in result.operations] == ["drop_column", "drop_table"]
    assert [(d.code, d.loc.line) for d in result.diagnostics] == [("I003", 2)]


def test_long_flat_sql_is_not_refused() -> None:
    """The limits are on nesting, not size: long IN lists, OR chains, many columns, a
    ruler of dashes or stars in a comment read as before."""
    text = ("ALTER TABLE t ADD CONSTRAINT c CHECK (s IN ("
            + ", ".join(f"'v{i}'" for i in range(20_000)) + "));\n"
            + "ALTER TABLE t ADD CONSTRAINT d CHECK ("
            + " OR ".join(f"s = '{i}' AND n + 1 > 2" for i in range(12_000)) + ");\n"
            + "-- " + "-" * 20_000 + "\n/* " + "*" * 20_000 + " */\n"
            + "CREATE TABLE w (" + ", ".join(f"c{i} int DEFAULT 1 + 2" for i in range(5_000))
            + ");\n")
    result = read_sql(text, path="x.sql")
    assert result.diagnostics == []
    assert [op.kind for op in result.operations] == ["add_constraint", "add_constraint",
                                                      "create_table"]


def test_amplified_sql_beyond_the_budget_is_unresolved_not_dropped() -> None:
    """The same 64 KB of SQL executed 200 times: what exceeds the file's SQL budget is
    reported as unresolved (I004), never silently skipped."""
    found = read_in_subprocess(PATHOLOGICAL["same-sql-executed-200-times"][0])
    assert found["unresolved"] > 0 and found["operations"] > found["unresolved"]


def test_values_too_large_to_compute_are_unresolved() -> None:
    for name in ("string-doubling", "percent-width", "format-width", "ljust-width",
                 "replace-growth", "integer-squaring", "integer-past-str-limit"):
        found = read_in_subprocess(PATHOLOGICAL[name][0])
        assert found["unresolved"] == 1, (name, found)


def test_deep_left_concatenation_keeps_every_statement_located() -> None:
    """``X = X + "..."`` 5,000 times: every statement is read and located at its own line
    (positions are found without recursion, so no 'too deeply nested')."""
    found = read_in_subprocess(PATHOLOGICAL["concatenated-5000-times"][0])
    assert found["unresolved"] == 0 and found["operations"] >= 5000
    assert found["last_line"] == 5004


def test_pathological_input_end_to_end() -> None:
    """A 10,000-deep file through the whole CLI: exit 2, located, no traceback."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "pyproject.toml").write_text('[tool.b03lint]\nmigrations = "versions"\n')
        (root / "versions").mkdir()
        (root / "versions" / "deep.py").write_text(PATHOLOGICAL["parentheses-10k-deep"][0])
        proc = subprocess.run([sys.executable, "-m", "b03lint", "check", "--no-cache",
                               "--output-format", "json"], cwd=root, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        report = json.loads(proc.stdout)
        assert any(f["code"] == "I001" and f["path"] == "versions/deep.py"
                   for f in report["findings"])
