"""What the resident process holds (b03lint/held.py): parse-cache values unpickled ahead
in the server, served to a check forked from it only for the very bytes they were
unpickled from, each at most once per run; packs are read with the user's secret and
never deleted. The server side is exercised end to end in test_daemon.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from b03lint import cache, held
from b03lint.holding import Holder


@pytest.fixture()
def secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    found = cache.user_secret()
    assert found is not None
    return found


@pytest.fixture(autouse=True)
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[bytes, object]]:
    values: dict[bytes, object] = {}
    monkeypatch.setattr(held, "VALUES", values)
    monkeypatch.setattr(held, "REPORTING", [False])
    monkeypatch.setattr(held, "_READ", set())
    yield values


def filled(root: Path, secret: bytes, values: dict[str, object]) -> cache.Cache:
    c = cache.Cache(root, "salt", secret)
    for key, value in values.items():
        c.store(key, value)
    c.flush()
    return c


def test_a_held_value_is_served_once_for_its_own_bytes(tmp_path: Path, secret: bytes,
                                                       table: dict[bytes, object]) -> None:
    c = filled(tmp_path / "c", secret, {"migration:a": {"a": [1]}, "migration:b": {"b": [2]}})
    holder = Holder()
    holder.hold([str(c.folder)])
    assert len(table) == 2 and holder.total > 0
    ahead = {repr(v): v for v in table.values()}
    run = cache.Cache(tmp_path / "c", "salt", secret)
    a = run.load("migration:a", dict)
    assert a == {"a": [1]} and a is ahead[repr({"a": [1]})]
    assert len(table) == 1  # taken: nobody else in this run gets the same object
    b = run.load("migration:b", dict, shared=True)  # many callers: each its own value
    assert b == {"b": [2]} and b is not ahead[repr({"b": [2]})]
    again = cache.Cache(tmp_path / "c", "salt", secret).load("migration:a", dict)
    assert again == {"a": [1]} and again is not a


def test_only_the_bytes_it_was_unpickled_from_get_it(tmp_path: Path, secret: bytes,
                                                     table: dict[bytes, object]) -> None:
    c = filled(tmp_path / "c", secret, {"migration:a": {"v": 1}})
    Holder().hold([str(c.folder)])
    newer = filled(tmp_path / "c", secret, {"migration:a": {"v": 2}})  # newest pack wins
    assert newer.folder == c.folder
    assert cache.Cache(tmp_path / "c", "salt", secret).load("migration:a", dict) == {"v": 2}
    assert len(table) == 1  # the held value of the older bytes was not taken


def test_a_pack_of_another_key_is_neither_held_nor_deleted(tmp_path: Path, secret: bytes,
                                                           table: dict[bytes, object]) -> None:
    other = filled(tmp_path / "c", b"k" * 32, {"migration:a": {"a": 1}})
    packs = sorted(os.listdir(other.folder))
    Holder().hold([str(other.folder)])
    assert table == {}
    assert sorted(os.listdir(other.folder)) == packs


def test_values_of_packs_gone_from_disk_are_let_go(tmp_path: Path, secret: bytes,
                                                   table: dict[bytes, object]) -> None:
    c = filled(tmp_path / "c", secret, {"migration:a": {"a": 1}})
    holder = Holder()
    holder.hold([str(c.folder)])
    assert len(table) == 1
    for name in os.listdir(c.folder):
        os.unlink(c.folder / name)
    filled(tmp_path / "c", secret, {"migration:b": {"b": 2}})
    holder.hold([str(c.folder)])
    assert list(table.values()) == [{"b": 2}]
    assert holder.total == sum(holder.size.values())


def test_it_holds_no_more_than_its_limit(tmp_path: Path, secret: bytes,
                                         table: dict[bytes, object],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    c = filled(tmp_path / "c", secret, {f"migration:{i}": {"x": "y" * 100} | {"i": i}
                                        for i in range(10)})
    monkeypatch.setattr(held, "LIMIT", 500)
    holder = Holder()
    holder.hold([str(c.folder)])
    assert 0 < len(table) < 10 and holder.total <= 500


def test_at_most_the_last_folders_reported_are_held(tmp_path: Path, secret: bytes,
                                                    table: dict[bytes, object]) -> None:
    holder = Holder()
    folders = [filled(tmp_path / f"c{i}", secret, {"migration:a": {"i": i}}).folder
               for i in range(held.MAX_FOLDERS + 2)]
    for folder in folders:
        holder.hold([str(folder)])
    assert list(holder.packs) == [str(f) for f in folders[-held.MAX_FOLDERS:]]
    assert sorted(v["i"] for v in table.values()) == list(range(2, held.MAX_FOLDERS + 2))


def test_a_run_reports_the_folders_it_loaded_from(tmp_path: Path, secret: bytes) -> None:
    c = filled(tmp_path / "c", secret, {"migration:a": {"a": 1}})
    cache.Cache(tmp_path / "c", "salt", secret).load("migration:a", dict)
    read, write = os.pipe()
    held.report(write)
    os.close(write)
    assert os.read(read, 4096) == b""  # not a resident process's run: nothing recorded
    held.REPORTING[0] = True
    cache.Cache(tmp_path / "c", "salt", secret).load("migration:a", dict)
    read, write = os.pipe()
    held.report(write)
    os.close(write)
    assert os.read(read, 4096) == str(c.folder).encode() + b"\n"
