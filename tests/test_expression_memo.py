"""The schema layer's answers about expression texts (b03lint/schema/expressions.py) kept
across runs: which columns an index predicate, a CHECK or a policy uses, and the text
after a rename. A pre-commit run on a chain that drops a column under a partial index
then replays it without importing pglast, and reports what an uncached run reports."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from b03lint.schema import expressions
from b03lint.schema.expressions import referenced_columns, remembering, rename_column


class DictMemo:
    """A memo in a dict, pickled like the cache's (each take is a fresh copy)."""

    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}

    def key(self, ask: str) -> str:
        return ask

    def take(self, key: str) -> object | None:
        found = self.entries.get(key)
        return None if found is None else pickle.loads(found)

    def keep(self, key: str, value: object) -> None:
        self.entries[key] = pickle.dumps(value)


@pytest.fixture()
def fresh() -> Iterator[None]:
    """No answer left in this process's own cache of them."""
    referenced_columns.cache_clear()
    yield
    referenced_columns.cache_clear()


def _no_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_expr: str) -> object:
        raise AssertionError("the expression was parsed")

    monkeypatch.setattr(expressions, "_parse", fail)


EXPR = 'deleted_at IS NULL AND "Status" <> \'gone\' AND t.amount > 0'


def test_an_answer_kept_is_served_without_parsing(fresh: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    memo = DictMemo()
    with remembering(memo):
        first = referenced_columns(EXPR, "t")
        renamed = rename_column(EXPR, "amount", "total", "t")
    assert first == frozenset({"deleted_at", "Status", "amount"})
    assert renamed == 'deleted_at IS NULL AND "Status" <> \'gone\' AND t.total > 0'
    assert len(memo.entries) == 2
    referenced_columns.cache_clear()
    _no_parser(monkeypatch)
    with remembering(memo):
        assert referenced_columns(EXPR, "t") == first
        assert rename_column(EXPR, "amount", "total", "t") == renamed
    with pytest.raises(AssertionError, match="parsed"):  # outside the block: no memo
        rename_column(EXPR, "amount", "total", "t")


def test_text_that_does_not_parse_is_remembered_as_unknown(fresh: None) -> None:
    memo = DictMemo()
    with remembering(memo):
        assert referenced_columns("a >", "t") is None
    assert [pickle.loads(v) for v in memo.entries.values()] == [(None,)]


def test_a_bad_entry_is_computed_again_and_replaced(fresh: None) -> None:
    memo = DictMemo()
    with remembering(memo):
        referenced_columns(EXPR, "t")
        (key,) = memo.entries
        for bad in (["deleted_at"], (frozenset({1}),), ("x",), 7):
            memo.entries[key] = pickle.dumps(bad)
            referenced_columns.cache_clear()
            assert referenced_columns(EXPR, "t") == frozenset({"deleted_at", "Status",
                                                               "amount"})
            assert pickle.loads(memo.entries[key]) == (frozenset({"deleted_at", "Status",
                                                                  "amount"}),)


@pytest.mark.parametrize(("expr", "old"), [
    (EXPR, "amount"), (EXPR, "status"), (EXPR, "Status"), (EXPR, "deleted"),
    ("lower(Name) = 'x'", "name"), ("\"a\"\"b\" > 0", 'a"b'), ("a > 0", "b"),
    ("(SELECT max(amount) FROM other) > 0", "amount"), ("\u00e9t\u00e9 > 0", "\u00e9t\u00e9"),
])
def test_a_rename_that_cannot_apply_is_answered_without_parsing(expr: str,
                                                                old: str) -> None:
    """The shortcut (the name is not spelled in the text) gives what parsing gives."""
    parsed = expressions._rename_column.__wrapped__(expr, old, "renamed", "t")  # type: ignore[attr-defined]
    assert rename_column(expr, old, "renamed", "t") == parsed


# ------------------------------------------------------------------ end to end

PYPROJECT = '[tool.b03lint]\nmigrations = "alembic/versions"\n'
HEAD = '''"""{doc}"""
from alembic import op
import sqlalchemy as sa

revision = "{rev}"
down_revision = {down}


def upgrade():
'''
FILES = {
    "0001": ('    op.create_table("t", sa.Column("id", sa.Integer(), primary_key=True),\n'
             '                    sa.Column("a", sa.Integer()), sa.Column("b", sa.Text()),\n'
             '                    sa.Column("deleted_at", sa.DateTime()))\n'
             '    op.create_index("ix_t_a", "t", ["a"],\n'
             '                    postgresql_where=sa.text("deleted_at IS NULL AND b <> \'\'"))\n'
             '    op.create_check_constraint("ck_t_a", "t", "a > 0 OR b IS NULL")\n'),
    "0002": '    op.alter_column("t", "a", new_column_name="c")\n',
    "0003": '    op.drop_column("t", "b")  # b03lint: waive D002 test data only\n',
}


def _project(root: Path) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    versions = root / "alembic" / "versions"
    versions.mkdir(parents=True)
    down = "None"
    for rev, body in FILES.items():
        (versions / f"{rev}_step.py").write_text(
            HEAD.format(doc=f"step {rev}", rev=rev, down=down) + body)
        down = f'"{rev}"'
    return root


def test_the_replay_of_a_cached_chain_does_not_import_pglast(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "NO_COLOR": "1"}

    def check(*args: str) -> tuple[str, bool]:
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "b03lint", "check",
                               "--output-format", "json", "--no-result-cache", *args],
                              cwd=root, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode in (0, 1), done.stderr
        return done.stdout, "pglast" in done.stderr

    cold, imported = check()
    assert imported  # the first run parses the expressions
    report = json.loads(cold)
    assert report["summary"]["files"] == 3
    last = root / "alembic" / "versions" / "0003_step.py"
    last.write_text(last.read_text() + "# edited\n")
    served, imported = check(str(last.relative_to(root)))
    assert not imported
    assert served == check("--no-cache", str(last.relative_to(root)))[0]


def test_questions_that_join_alike_are_kept_apart(fresh: None) -> None:
    """The arguments are length-prefixed in the key: ("a\\0b", "c") and ("a", "b\\0c")
    are two questions, and None is not the text "None"."""
    memo = DictMemo()
    with remembering(memo):
        referenced_columns("a\0b", "c")
        referenced_columns("a", "b\0c")
        referenced_columns("None > 0", None)
        referenced_columns("None > 0", "None")
    assert len(memo.entries) == 4
