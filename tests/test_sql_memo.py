"""The SQL memo (``b03lint/sqlmemo.py``): an edited migration whose SQL is unchanged takes
the readings of its SQL texts back from the cache instead of importing pglast. A file reads
exactly the same with the memo, without it, cold or served, wherever the text is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import b03lint.cache
import b03lint.loader as loader
import b03lint.readers.sql
from b03lint.cache import Cache, dumps
from b03lint.config import Config, load_config
from b03lint.engine import discover
from b03lint.operations import MigrationFile
from b03lint.paths import display_path
from b03lint.readers.python import read_migration
from b03lint.readers.python.embedded_sql import EmbeddedSql
from b03lint.sqlmemo import SqlMemo

REPO = Path(__file__).resolve().parent.parent

#: SQL in every shape the Python reader hands to the SQL reader: multi-line text with
#: comments, a syntax error, implicit concatenation over lines (each character at its own
#: line), a DO block with a comment in its body, a template, a CHECK, a textual index
#: element, a generated column, and one text executed twice
MIGRATION = '''\
"""every kind of embedded SQL"""
import os

from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
who = os.environ["WHO"]


def upgrade():
    op.execute("""
        -- a comment
        CREATE TABLE t (id integer PRIMARY KEY, -- trailing
                        name text NOT NULL);  /* block
        over two lines */
        ALTER TABLE t ADD COLUMN x int, DROP COLUMN name;
        CREATE INDEX ix ON t (x);
    """)
    op.execute("CREATE TABL broken")
    op.execute(
        "ALTER TABLE t "
        "ADD COLUMN y int -- c\\n"
        "NOT NULL"
    )
    op.execute(sa.text("DO $$ BEGIN -- inside\\n ALTER TABLE t ADD COLUMN z int; END $$"))
    op.execute(f"GRANT SELECT ON t TO {who}")
    op.create_check_constraint("ck", "t", "x IN (1, 2)")
    op.create_index("ix2", "t", [sa.text("lower(name) DESC")])
    op.add_column("t", sa.Column("g", sa.Integer(), sa.Computed("x + 1")))
    op.execute("DROP INDEX ix")


def downgrade():
    op.execute("DROP INDEX ix")
    op.execute("DROP TABLE t")
'''


@pytest.fixture(autouse=True)
def _private_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def _cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache", "salt", b"k" * 32)


def _memo(tmp_path: Path) -> SqlMemo:
    return SqlMemo(_cache(tmp_path))


def _next_run(memo: SqlMemo, tmp_path: Path) -> SqlMemo:
    """What the next run sees of what ``memo`` wrote (a run never serves its own writes:
    they went to disk as they were made)."""
    memo.flush()
    return SqlMemo(_cache(tmp_path))


def _no_sql_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every reading must come from the memo: the SQL reader's entry points fail."""
    def fail(*_args: object, **_kw: object) -> object:
        raise AssertionError("the SQL reader was called")

    for name in ("read_sql", "analyze_check", "parse_index_elements"):
        monkeypatch.setattr(b03lint.readers.sql, name, fail)


def _fields(mf: MigrationFile) -> tuple[object, ...]:
    return (mf.upgrade_ops, mf.downgrade_ops, mf.comments, mf.diagnostics)


def test_a_reading_from_the_memo_equals_a_direct_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = MIGRATION.encode()
    direct = read_migration("versions/0001.py", data)
    # the case holds what it says: SQL statements, an error, comments from inside the SQL
    assert any(op.source == "sql" for op in direct.upgrade_ops)
    assert any(d.code == "I003" for d in direct.diagnostics)
    assert any("inside" in text for text in direct.comments.values())
    memo = _memo(tmp_path)
    cold = read_migration("versions/0001.py", data, memo=memo)
    assert cold == direct and _fields(cold) == _fields(direct)
    assert len(cold.sql_keys) == len(set(cold.sql_keys)) >= 8
    memo = _next_run(memo, tmp_path)
    _no_sql_reader(monkeypatch)
    served = read_migration("versions/0001.py", data, memo=memo)
    assert _fields(served) == _fields(direct)
    assert served.sql_keys == cold.sql_keys


def test_the_same_sql_elsewhere_is_placed_where_it_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reading holds no position of the file: the same texts moved down three lines,
    in another file, are located there."""
    memo = _memo(tmp_path)
    read_migration("versions/0001.py", MIGRATION.encode(), memo=memo)
    memo = _next_run(memo, tmp_path)
    moved = MIGRATION.replace("import os\n", "import os\n\n# moved\n\n", 1).encode()
    direct = read_migration("versions/0002.py", moved)
    _no_sql_reader(monkeypatch)
    served = read_migration("versions/0002.py", moved, memo=memo)
    assert _fields(served) == _fields(direct)
    assert {op.loc.path for op in served.operations} == {"versions/0002.py"}


def test_a_bad_entry_is_read_again_and_replaced(tmp_path: Path) -> None:
    data = MIGRATION.encode()
    direct = read_migration("versions/0001.py", data)
    keys = read_migration("versions/0001.py", data, memo=_memo(tmp_path / "probe")).sql_keys
    cache = _cache(tmp_path).companion("sql")
    # a payload that does not unpickle, and values of the wrong shape for each kind
    bad = [b"\x80\x05garbage", dumps(42), dumps((["not an operation"], [], {})), dumps("x")]
    for n, key in enumerate(keys):
        cache.store_bytes(key, bad[n % len(bad)])
    cache.flush()
    memo = _memo(tmp_path)
    again = read_migration("versions/0001.py", data, memo=memo)
    assert _fields(again) == _fields(direct)
    memo.flush()
    fresh = _memo(tmp_path)
    for key in keys:  # each bad entry was replaced by the reading
        value = fresh.take(key)
        assert value is not None and value not in (42, "x")


# --------------------------------------------------------------------- through the loader


@pytest.fixture()
def chain(tmp_path: Path) -> Path:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(REPO / "bench"))
    return generate(tmp_path / "chain", 60)


def _items(root: Path) -> list[tuple[str, Path]]:
    paths = discover(root / "alembic" / "versions", [])
    return sorted((display_path(p, root), p) for p in paths)


def _config(root: Path, jobs: int, cache: bool = True) -> Config:
    config = load_config(root)
    config.set("jobs", jobs, "test")
    config.set("cache", cache, "test")
    config.set("cache_dir", str(root.parent / "cache"), "test")
    return config


def _sql_entries(root: Path) -> set[str]:
    cache = Cache.open(_config(root, 1))
    assert cache is not None
    assert not any(k.startswith("sql:") for k in cache._load_index())  # not beside files
    return set(cache.companion("sql")._load_index())


def _edit_python(items: list[tuple[str, Path]]) -> None:
    """Every file changes (its cached reading no longer matches), none of its SQL does."""
    for _shown, path in items:
        path.write_text(path.read_text() + "\n# edited\n")


@pytest.mark.parametrize("jobs", [1, 2], ids=["one process", "forked workers"])
def test_edited_files_take_their_sql_readings_from_the_cache(
        chain: Path, jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "PARALLEL_MIN_FILES", 20)
    monkeypatch.setattr(loader, "MIN_FILES_PER_WORKER", 10)
    items = _items(chain)
    first = loader.load_files(items, _config(chain, jobs))
    used = {k for mf in first for k in mf.sql_keys}
    assert used, "the generated chain has SQL texts, CHECKs and textual index elements"
    # workers hand back the entries they computed and the parent writes them
    assert _sql_entries(chain) == used
    _edit_python(items)
    direct = loader.load_files(items, _config(chain, 1, cache=False))
    # every SQL text must now come from the memo (forked workers inherit this)
    monkeypatch.setattr(EmbeddedSql, "module", lambda self: None)
    served = loader.load_files(items, _config(chain, jobs))
    assert [_fields(mf) for mf in served] == [_fields(mf) for mf in direct]


def test_entries_stay_while_a_file_uses_them(
        chain: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compaction keeps the readings of every current file, served from the cache or not,
    and drops those of SQL no file holds any more."""
    monkeypatch.setattr(b03lint.cache, "MAX_PACKS", 1)  # every flush compacts
    items = _items(chain)
    first = loader.load_files(items, _config(chain, 1))
    with_sql = next(path for _s, path in items if "op.execute(" in path.read_text())
    text = with_sql.read_text()
    edited = text.replace('op.execute("""', 'op.execute("""\n        SELECT 1;', 1)
    assert edited != text
    with_sql.write_text(edited)
    second = loader.load_files(items, _config(chain, 1))
    before = {k for mf in first for k in mf.sql_keys}
    now = {k for mf in second for k in mf.sql_keys}
    assert before - now, "the edited text's old reading is no longer used"
    assert _sql_entries(chain) == now


# --------------------------------------------------------------------- no pglast on a hit

LOAD = """\
import json, sys
from pathlib import Path
from b03lint.config import load_config
from b03lint.engine import discover
from b03lint.loader import load_files
from b03lint.paths import display_path

root = Path(sys.argv[1])
config = load_config(root)
config.set("jobs", 1, "test")
paths = discover(root / "alembic" / "versions", [])
files = load_files(sorted((display_path(p, root), p) for p in paths), config)
print(json.dumps({"pglast": "pglast" in sys.modules, "files": repr(files)}))
"""


def test_an_edit_that_keeps_the_sql_does_not_import_pglast(chain: Path, tmp_path: Path) -> None:
    script = tmp_path / "load.py"
    script.write_text(LOAD)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}

    def run() -> dict[str, object]:
        done = subprocess.run([sys.executable, str(script), str(chain)], env=env,
                              capture_output=True, text=True, timeout=300, check=True)
        found: dict[str, object] = json.loads(done.stdout)
        return found

    assert run()["pglast"] is True  # cold: the SQL is read
    items = _items(chain)
    _edit_python(items[5:7])
    edited = run()
    assert edited["pglast"] is False
    assert edited["files"] == repr(loader.load_files(items, _config(chain, 1, cache=False)))


def test_the_report_after_an_edit_is_the_uncached_one(chain: Path, tmp_path: Path) -> None:
    """``b03lint check`` on the whole chain, every file edited in its Python after a cached
    run: the JSON report served through the SQL memo is byte-identical to ``--no-cache``."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    canonical = chain / "db" / "schema" / "canonical_schema.sql"
    # findings all over the chain, not just PASS
    canonical.write_text(canonical.read_text().replace("DEFAULT now()",
                                                       "DEFAULT clock_timestamp()"))

    def check(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "b03lint", "check", "--output-format",
                               "json", "--no-result-cache", *args], cwd=chain, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode in (0, 1), done.stderr
        return done.stdout

    cold = check()
    assert json.loads(cold)["verdict"] != "PASS"
    _edit_python(_items(chain))
    served = check()
    assert served == check("--no-cache")


def test_a_run_that_reads_no_file_never_opens_the_sql_memo(
        chain: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every migration cached: the SQL readings' packs are not read (nor held in memory)."""
    items = _items(chain)
    loader.load_files(items, _config(chain, 1))
    assert _sql_entries(chain)
    opened: list[str] = []
    real = Cache.companion

    def spy(self: Cache, name: str) -> Cache:
        opened.append(name)
        return real(self, name)

    monkeypatch.setattr(Cache, "companion", spy)
    loader.load_files(items, _config(chain, 1))
    assert opened == []
    _edit_python(items[:1])
    loader.load_files(items, _config(chain, 1))
    assert opened == ["sql"]
