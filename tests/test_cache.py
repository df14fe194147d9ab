"""The content-hash cache (b03lint/cache.py) as the loader uses it: hits, misses,
invalidation, self-healing, tampering, display paths, and two runs writing at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import b03lint.cache
import b03lint.loader
import b03lint.readers.python
from b03lint.cache import MAGIC, Cache, salt_for
from b03lint.config import Config, load_config
from b03lint.loader import NAMESPACE, load_files
from b03lint.operations import MigrationFile

REPO = Path(__file__).resolve().parent.parent

PYPROJECT = """\
[tool.b03lint]
migrations = "versions"
"""

FIRST = '''\
"""create tenants"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None


def upgrade():
    op.create_table("tenants", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("name", sa.Text()))


def downgrade():
    op.drop_table("tenants")
'''

SECOND = '''\
"""add a column"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"


def upgrade():
    op.add_column("tenants", sa.Column("plan", sa.String(20), nullable=True))


def downgrade():
    op.drop_column("tenants", "plan")
'''


@pytest.fixture(autouse=True)
def _private_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the per-user cache secret inside the test's folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "versions").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "versions" / "0001_tenants.py").write_text(FIRST)
    (root / "versions" / "0002_plan.py").write_text(SECOND)
    return root


@pytest.fixture()
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The display paths the Python reader is called with (the reader itself still runs)."""
    seen: list[str] = []
    real = b03lint.readers.python.read_migration

    def counting(path: str, data: bytes, modules: Any = None, memo: Any = None) -> MigrationFile:
        seen.append(path)
        return real(path, data, modules, memo)

    monkeypatch.setattr(b03lint.readers.python, "read_migration", counting)
    yield seen


def _items(root: Path) -> list[tuple[str, Path]]:
    files = sorted((root / "versions").glob("*.py"))
    return [(f"versions/{p.name}", p) for p in files]


def _load(root: Path, config: Config | None = None) -> list[MigrationFile]:
    return load_files(_items(root), config or load_config(root))


def _packs(root: Path) -> list[Path]:
    return sorted(p for p in (root / ".b03lint_cache").glob("*/pack-*.bin") if p.is_file())


def _keys(root: Path, companion: str | None = None) -> set[str]:
    """Every entry in the cache of ``root``'s configuration (or in its ``companion``
    folder), as a fresh run sees it."""
    cache = Cache.open(load_config(root))
    assert cache is not None
    if companion is not None:
        cache = cache.companion(companion)
    return set(cache._load_index())


def test_second_run_reads_the_cache_not_the_files(project: Path, calls: list[str]) -> None:
    first = _load(project)
    assert calls == ["versions/0001_tenants.py", "versions/0002_plan.py"]
    assert len(_packs(project)) == 1  # one file per run, not one per entry
    assert len(_keys(project)) == 2
    calls.clear()
    second = _load(project)
    assert calls == []
    assert len(_packs(project)) == 1  # nothing new: nothing written
    assert second == first
    assert [mf.path for mf in second] == ["versions/0001_tenants.py", "versions/0002_plan.py"]


def test_the_cache_folder_says_what_it_is(project: Path) -> None:
    _load(project)
    folder = project / ".b03lint_cache"
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (folder / "CACHEDIR.TAG").read_bytes().startswith(b"Signature: 8a477f597d28d172")


def test_changed_content_is_a_miss(project: Path, calls: list[str]) -> None:
    _load(project)
    calls.clear()
    changed = SECOND.replace('"plan"', '"tier"')
    (project / "versions" / "0002_plan.py").write_text(changed)
    files = _load(project)
    assert calls == ["versions/0002_plan.py"]
    assert "tier" in repr(files[1].upgrade_ops)


def test_a_new_version_invalidates(project: Path, calls: list[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _load(project)
    calls.clear()
    monkeypatch.setattr(b03lint.cache, "__version__", "999.0.0")
    _load(project)
    assert len(calls) == 2
    calls.clear()
    _load(project)
    assert calls == []


def test_a_changed_configuration_invalidates(project: Path, calls: list[str]) -> None:
    _load(project)
    calls.clear()
    config = load_config(project)
    config.set("tenant_column", "account_id", "test")
    _load(project, config)
    assert len(calls) == 2


def test_run_only_settings_share_the_cache(project: Path, calls: list[str]) -> None:
    _load(project)
    calls.clear()
    config = load_config(project)
    config.set("jobs", 1, "flag --jobs")
    _load(project, config)
    assert calls == []


def test_edited_b03lint_source_invalidates(project: Path) -> None:
    config = load_config(project)
    assert salt_for(config, stamp="a") != salt_for(config, stamp="b")
    assert salt_for(config) == salt_for(config)


@pytest.mark.parametrize("damage", [
    pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
    pytest.param(lambda data: b"", id="empty"),
    pytest.param(lambda data: b"\x00garbage" * 40, id="garbage"),
    pytest.param(lambda data: data[:-1] + bytes([data[-1] ^ 1]), id="one-bit-flipped"),
    pytest.param(lambda data: MAGIC + b"\x00" * 32 + b"not a pickle", id="bad-signature"),
])
def test_a_corrupt_pack_is_ignored_and_rewritten(
        project: Path, calls: list[str], damage: Callable[[bytes], bytes]) -> None:
    first = _load(project)
    (damaged,) = _packs(project)
    damaged.write_bytes(damage(damaged.read_bytes()))
    calls.clear()
    assert _load(project) == first
    assert len(calls) == 2
    assert damaged not in _packs(project)  # removed, and a good pack written instead
    assert len(_packs(project)) == 1
    calls.clear()
    assert _load(project) == first  # healed: the rewritten entries are good again
    assert calls == []


def test_an_unreadable_pack_is_a_miss(project: Path, calls: list[str]) -> None:
    first = _load(project)
    for pack in _packs(project):
        pack.unlink()
        pack.mkdir()  # reading it fails with IsADirectoryError
    calls.clear()
    assert _load(project) == first
    assert len(calls) == 2
    calls.clear()
    assert _load(project) == first
    assert calls == []


def test_an_entry_that_does_not_unpickle_is_recomputed(project: Path,
                                                       calls: list[str]) -> None:
    first = _load(project)
    cache = Cache.open(load_config(project))
    assert cache is not None
    for key in cache._load_index():
        cache.store_bytes(key, b"\x80\x05not a pickle")
    cache.flush()
    calls.clear()
    assert _load(project) == first
    assert len(calls) == 2
    calls.clear()
    assert _load(project) == first
    assert calls == []


@pytest.mark.parametrize("intern_names", [False, True])
def test_an_entry_pickled_with_another_number_of_fields_is_recomputed(
        project: Path, calls: list[str], monkeypatch: pytest.MonkeyPatch,
        intern_names: bool) -> None:
    """A class that gained or lost a field since the entry was written (an edited
    b03lint whose code stamp did not change, or a hand-made pickle): a miss, never a
    half-built object. Both builders (:func:`b03lint.cache._builder`) are asked."""
    first = _load(project)
    cache = Cache.open(load_config(project))
    assert cache is not None
    keys = list(cache._load_index())
    real = b03lint.cache._Pickler.reducer_override

    def one_more(self: Any, obj: Any) -> Any:
        reduced = real(self, obj)
        if reduced is NotImplemented or type(obj) is not MigrationFile:
            return reduced
        return reduced[0], (*reduced[1], "extra")

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(b03lint.cache._Pickler, "reducer_override", one_more)
        for key, mf in zip(sorted(keys), sorted(first, key=lambda m: m.path), strict=True):
            cache.store(key, mf)
        cache.flush()
    monkeypatch.setattr(b03lint.loader, "INTERN_FROM", 0 if intern_names else 10**9)
    again = Cache.open(load_config(project))
    assert again is not None
    for key in keys:
        assert again.load(key, MigrationFile, intern_names=intern_names) is None
    calls.clear()
    assert _load(project) == first
    assert len(calls) == 2


@pytest.mark.parametrize("intern_names", [False, True])
def test_every_record_of_a_migration_comes_back_equal(intern_names: bool) -> None:
    """What the cache writes loads back as equal objects of the same classes, through
    the plain builders and the interning ones; the interning ones hand back one object
    for equal names."""
    from b03lint.readers.python import read_migration

    mf = read_migration("versions/0001_tenants.py", FIRST.encode())
    back = b03lint.cache.loads(b03lint.cache.dumps([mf, mf.path + ""]), intern_names)
    assert back[0] == mf
    assert type(back[0]) is MigrationFile
    assert [type(op) for op in back[0].operations] == [type(op) for op in mf.operations]
    twice = b03lint.cache.loads(b03lint.cache.dumps(mf), intern_names)
    assert (twice.path is back[0].path) is intern_names


def test_a_pickle_signed_by_someone_else_is_never_loaded(project: Path,
                                                         calls: list[str]) -> None:
    """A cache folder committed to a repository must not run code when unpickled."""
    _load(project)
    keys = _keys(project)
    for pack in _packs(project):
        pack.unlink()
    config = load_config(project)
    stranger = Cache(project / ".b03lint_cache", salt_for(config), b"s" * 32)
    marker = project / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, (f"touch {marker}",))

    for key in keys:
        stranger.store(key, Evil())
    stranger.flush()
    assert len(_packs(project)) == 1
    calls.clear()
    _load(project)
    assert not marker.exists()
    assert len(calls) == 2


def test_the_same_bytes_under_two_paths_keep_their_own_paths(project: Path) -> None:
    copy = project / "versions" / "copy"
    copy.mkdir()
    (copy / "0001_tenants.py").write_text(FIRST)
    config = load_config(project)
    items = [("versions/0001_tenants.py", project / "versions" / "0001_tenants.py"),
             ("versions/copy/0001_tenants.py", copy / "0001_tenants.py")]
    for _ in range(2):  # cold, then from the cache
        a, b = load_files(items, config)
        assert a.path == "versions/0001_tenants.py"
        assert b.path == "versions/copy/0001_tenants.py"
        assert {op.loc.path for op in b.operations} == {"versions/copy/0001_tenants.py"}


def test_cache_off_writes_nothing(project: Path, calls: list[str]) -> None:
    config = load_config(project)
    config.set("cache", False, "flag --no-cache")
    _load(project, config)
    _load(project, config)
    assert not (project / ".b03lint_cache").exists()
    assert len(calls) == 4


def test_a_cache_folder_that_cannot_be_made_is_not_an_error(project: Path,
                                                            calls: list[str]) -> None:
    (project / "blocker").write_text("a file where the folder should be")
    config = load_config(project)
    config.set("cache_dir", "blocker/cache", "test")
    assert len(_load(project, config)) == 2
    assert len(_load(project, config)) == 2
    assert len(calls) == 4


def test_the_key_names_namespace_path_and_content() -> None:
    keys = {Cache.key(NAMESPACE, "a.py", "00"), Cache.key(NAMESPACE, "b.py", "00"),
            Cache.key(NAMESPACE, "a.py", "01"), Cache.key("canonical", "a.py", "00")}
    assert len(keys) == 4


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]}
    return subprocess.run([sys.executable, "-m", "b03lint", "check", "--output-format",
                           "json", *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_flag_no_cache(project: Path) -> None:
    done = _cli(project, "--no-cache")
    assert done.returncode == 0, done.stderr
    assert not (project / ".b03lint_cache").exists()
    assert _cli(project).returncode == 0
    assert (project / ".b03lint_cache").is_dir()


def test_two_runs_writing_the_same_cache_at_once(tmp_path: Path) -> None:
    """Two processes fill an empty cache concurrently: both succeed with the same report,
    and a third run, served from what they wrote, reports the same again."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(REPO / "bench"))
    root = generate(tmp_path / "chain", 150)
    env = {**os.environ, "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]}
    # every run reads the parse cache (an unchanged chain would be served by the result
    # cache, which is not what this test is about)
    cmd = [sys.executable, "-m", "b03lint", "check", "--output-format", "json", "--jobs", "1",
           "--no-result-cache"]
    for _attempt in range(2):  # twice: the second time both race on rewriting entries
        procs = [subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=300) for p in procs]
        for p, (_out, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, err
        assert outs[0][0] == outs[1][0]
        report = json.loads(outs[0][0])
        assert report["verdict"] == "PASS"
        assert report["summary"]["files"] == 150
        files = list((root / ".b03lint_cache").glob("*/*"))
        assert not [f for f in files if f.name.startswith(".tmp-")]
        kinds = Counter(k.partition(":")[0] for k in _keys(root))
        assert kinds == {"migration": 150, "canonical-sql": 1}  # and the parsed canonical SQL
        assert _keys(root, "sql")  # the readings of their SQL texts, in the companion
        for pack in _packs(root):
            pack.write_bytes(pack.read_bytes()[:10])  # and heal again next time
    for pack in _packs(root):
        pack.unlink()
    cold = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    warm = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert cold.stdout == warm.stdout == outs[0][0]


def test_the_parsed_canonical_schema_is_cached(project: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from b03lint.schema import canonical

    sql = project / "canonical.sql"
    sql.write_text("CREATE TABLE tenants (id integer PRIMARY KEY, name text);\n")
    config = load_config(project)
    config.set("canonical_sql", str(sql), "test")
    parsed: list[str] = []
    real = canonical.load_sql

    def counting(path: Path, shown: str) -> object:
        parsed.append(shown)
        return real(path, shown)

    monkeypatch.setattr(canonical, "load_sql", counting)
    first = canonical.load(config)
    second = canonical.load(config)
    assert len(parsed) == 1
    assert second.sql == first.sql and second.sql is not None
    assert second.sql.tables.keys() == {"tenants"}
    sql.write_text("CREATE TABLE tenants (id integer PRIMARY KEY, plan text);\n")
    third = canonical.load(config)
    assert len(parsed) == 2
    assert third.sql is not None and "plan" in third.sql.tables["tenants"].columns


def test_packs_are_compacted(project: Path, calls: list[str]) -> None:
    """Edits leave stale entries and one pack per run; the packs stay few and the stale
    entries go."""
    import b03lint.cache as cache_module

    second = project / "versions" / "0002_plan.py"
    for i in range(cache_module.MAX_PACKS + 3):
        second.write_text(SECOND + f"# edit {i}\n")
        _load(project)
        assert len(_packs(project)) <= cache_module.MAX_PACKS
    keys = _keys(project)
    assert len(keys) < cache_module.MAX_PACKS + 2
    calls.clear()
    _load(project)
    assert calls == []


def test_stale_entries_are_dropped_when_they_are_the_majority(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import b03lint.cache as cache_module

    monkeypatch.setattr(cache_module, "MIN_STALE", 1)
    _load(project)
    second = project / "versions" / "0002_plan.py"
    for i in range(4):
        second.write_text(SECOND + f"# edit {i}\n")
        _load(project)
    assert len(_keys(project)) <= 4  # the 2 live entries, and at most 2 stale ones


def test_an_old_salt_folder_goes_with_its_companion(tmp_path: Path) -> None:
    """Another configuration's or version's folder, untouched for a week, is removed
    when a new salt folder is made, its SQL-memo companion folder included; a recent one
    stays."""
    import time

    root = tmp_path / "cache"
    old_cache = Cache(root, "a" * 24, b"k" * 32)
    old_cache.store("migration:x", 1)
    old_cache.flush()
    companion = old_cache.companion("sql")
    companion.store("sql:y", 2)
    companion.flush()
    recent = Cache(root, "b" * 24, b"k" * 32)
    recent.store("migration:x", 1)
    recent.flush()
    week_ago = time.time() - b03lint.cache.STALE_AFTER - 60
    os.utime(root / ("a" * 24), (week_ago, week_ago))
    new = Cache(root, "c" * 24, b"k" * 32)
    new.store("migration:x", 1)
    new.flush()
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["b" * 24, "c" * 24]
