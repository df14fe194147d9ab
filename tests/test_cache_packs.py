"""The parse cache's pack files (b03lint/packfile.py) and what a :class:`Cache` keeps in
memory: entries go to disk as they are stored, loaded entries leave the index, and a
compaction reads from disk what memory no longer holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from b03lint.cache import Cache
from b03lint.packfile import MAC_SIZE, MAGIC, PackWriter, parse

SECRET = b"k" * 32


def _write(folder: Path, entries: dict[str, bytes], secret: bytes = SECRET) -> Path:
    writer = PackWriter(folder, secret)
    for key, value in entries.items():
        writer.add(key, value)
    return writer.finish()


ENTRIES = {"migration:a": b"\x80\x05first", "migration:\u00e9": b"",
           "canonical-sql:b": b"x" * 70_000, "canonical-sql:c": b"z" * 3_000_000,
           **{f"migration:{i}": os.urandom(i % 300) for i in range(400)}}


def test_a_pack_reads_back_what_was_written(tmp_path: Path) -> None:
    pack = _write(tmp_path, ENTRIES)
    assert parse(pack.read_bytes(), SECRET) == ENTRIES
    assert not list(tmp_path.glob(".tmp-*"))  # renamed into place


def test_the_buffer_is_written_out_on_the_way(tmp_path: Path) -> None:
    """More than the buffer holds: the file grows while entries are added."""
    writer = PackWriter(tmp_path, SECRET)
    for i in range(40):
        writer.add(f"migration:{i}", b"y" * 100_000)
    assert writer.tmp.stat().st_size > 3_000_000
    assert parse(writer.finish().read_bytes(), SECRET) == {
        f"migration:{i}": b"y" * 100_000 for i in range(40)}


def test_an_aborted_pack_leaves_nothing(tmp_path: Path) -> None:
    writer = PackWriter(tmp_path, SECRET)
    writer.add("migration:a", b"value")
    writer.abort()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("cut", [1, 3, 8, 9, 20, 71_000])
def test_a_truncated_pack_is_refused(tmp_path: Path, cut: int) -> None:
    data = _write(tmp_path, ENTRIES).read_bytes()
    assert parse(data[:-cut], SECRET) is None


def test_a_pack_is_believed_only_with_this_users_key(tmp_path: Path) -> None:
    data = _write(tmp_path, ENTRIES, secret=b"s" * 32).read_bytes()
    assert parse(data, SECRET) is None
    forged = data[: len(MAGIC)] + bytes(MAC_SIZE) + data[len(MAGIC) + MAC_SIZE:]
    assert parse(forged, b"s" * 32) is None


def test_records_that_overrun_the_payload_are_refused_even_when_signed(tmp_path: Path) -> None:
    """A correctly signed payload whose lengths do not add up (a bug, not an attack) is
    not half-read."""
    import hashlib
    import hmac
    import struct

    payload = struct.pack("<II", 5, 1000) + b"migra"
    mac = hmac.new(SECRET, payload, hashlib.sha256).digest()
    assert parse(MAGIC + mac + payload, SECRET) is None
    payload = struct.pack("<II", 2, 0) + b"\xff\xfe"  # a key that is not UTF-8
    mac = hmac.new(SECRET, payload, hashlib.sha256).digest()
    assert parse(MAGIC + mac + payload, SECRET) is None


def _cache(root: Path) -> Cache:
    return Cache(root, "salt", SECRET)


def test_stored_values_are_not_kept_in_memory(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    for i in range(200):
        cache.store_bytes(f"migration:{i}", b"v%d" % i)
    cache.flush()
    assert cache._load_index() == {}  # on disk only
    assert cache.writes == 200
    assert cache.load_bytes("migration:7") is None  # this run's own entry: computed again
    fresh = _cache(tmp_path)
    assert fresh.load_bytes("migration:7") == b"v7"
    assert len(fresh._load_index()) == 200


def test_a_loaded_entry_leaves_the_index_and_comes_back_from_disk(tmp_path: Path) -> None:
    first = _cache(tmp_path)
    first.store("migration:a", ("value", 1))
    first.store("migration:b", ("other", 2))
    first.flush()
    cache = _cache(tmp_path)
    assert cache.load("migration:a", tuple) == ("value", 1)
    assert "migration:a" not in cache._load_index()
    assert cache.load("migration:a", tuple) == ("value", 1)  # read from disk again
    assert cache.hits == 2


def test_a_compaction_keeps_the_entries_whose_copy_was_dropped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import b03lint.cache as cache_module

    monkeypatch.setattr(cache_module, "MAX_PACKS", 2)
    for name in ("a", "b"):
        writer = _cache(tmp_path)
        writer.store(f"migration:{name}", name)
        writer.flush()
    cache = _cache(tmp_path)
    assert cache.load("migration:a", str) == "a"
    assert cache.load("migration:b", str) == "b"
    cache.store("migration:c", "c")
    cache.flush()  # two packs read: one pack replaces them, with a, b and c
    packs = list((tmp_path / "salt").glob("pack-*.bin"))
    assert len(packs) == 1
    assert parse(packs[0].read_bytes(), SECRET) == {
        k: cache_module.dumps(v) for k, v in {"migration:c": "c", "migration:a": "a",
                                              "migration:b": "b"}.items()}


def test_an_unwritable_folder_leaves_the_run_uncached(tmp_path: Path) -> None:
    (tmp_path / "salt").write_text("a file where the folder should be")
    cache = _cache(tmp_path)
    cache.store("migration:a", "a")
    cache.flush()
    assert cache.writes == 0
    assert (tmp_path / "salt").read_text() == "a file where the folder should be"


def test_the_canonical_schema_keeps_one_object_per_distinct_string() -> None:
    """What the parse cache keeps of the canonical SQL (b03lint/schema/sharing.py): equal
    strings are one object, shared objects stay shared, and the value is unchanged."""
    import pickle

    from b03lint.schema.canonical import read_schema_sql
    from b03lint.schema.sharing import share_strings

    sql = "".join(f"CREATE TABLE t{i} (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, "
                  f"created_at timestamptz);\nCREATE INDEX ix_t{i} ON t{i} (tenant_id);\n"
                  for i in range(30))
    plain = read_schema_sql(sql, "canonical.sql")
    shared = share_strings(read_schema_sql(sql, "canonical.sql"))
    assert shared == plain and repr(shared) == repr(plain)
    names = [c.name for t in shared[0].tables.values() for c in t.columns.values()
             if c.name == "tenant_id"]
    assert len(names) == 30 and len({id(n) for n in names}) == 1
    assert len(pickle.dumps(shared)) < len(pickle.dumps(plain))
    again = pickle.loads(pickle.dumps(shared))
    assert again == plain
    from b03lint.schema.model import Origin

    origins = [o for t in shared[0].tables.values()
               for o in [t.origin, *(c.origin for c in t.columns.values())]
               if isinstance(o, Origin)]
    assert len(origins) > 30
    assert len({id(o) for o in origins}) == len(set(origins))  # one object per value


def test_a_run_cut_short_leaves_no_temporary_file(tmp_path: Path) -> None:
    from b03lint.cache import one_run

    cache = _cache(tmp_path)
    with pytest.raises(KeyboardInterrupt), one_run():
        from b03lint.cache import _SHARED

        shared = _SHARED[0]
        assert shared is not None
        shared[(tmp_path, "salt")] = cache
        cache.store("migration:a", "a")
        assert list((tmp_path / "salt").glob(".tmp-*"))
        raise KeyboardInterrupt
    assert list((tmp_path / "salt").iterdir()) == []


def test_a_flush_after_a_compaction_does_not_compact_again(tmp_path: Path) -> None:
    """The stale entries a compaction dropped are gone from what this run holds too: a
    later flush of the same run (the replay's expression answers, after the loader's)
    neither rewrites the pack nor counts them stale again."""
    writer = _cache(tmp_path)
    for i in range(200):
        writer.store(f"migration:{i}", i)
    writer.flush()
    cache = _cache(tmp_path)
    assert cache.load("migration:3", int) == 3
    cache.flush()  # 199 stale of 200: compacted into one pack of the one used
    (pack,) = cache.packs()
    assert list(parse(pack.read_bytes(), SECRET) or ()) == ["migration:3"]
    cache.store("expression:x", "answer")
    cache.flush()
    packs = cache.packs()
    assert pack in packs and len(packs) == 2  # the new entry's own pack, the other kept
    cache.flush()
    assert cache.packs() == packs
