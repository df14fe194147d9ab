"""The bytecode cache of dataclasses' generated methods (b03lint/codecache.py): classes
built from cached code behave as classes built from source, and only a table this user's
own runs signed is ever loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROGRAM = """\
import dataclasses, json, sys
from b03lint import codecache
if sys.argv[1] == "on":
    codecache.install()

@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 2
    tags: tuple[str, ...] = ()

@dataclasses.dataclass(order=True)
class Box:
    items: list[int] = dataclasses.field(default_factory=list)

p = Point(1, tags=("a",))
out = {"repr": repr(p), "eq": p == Point(1, 2, ("a",)), "hash": hash(p) == hash(Point(1, 2, ("a",))),
       "replace": repr(dataclasses.replace(p, y=5)), "fields": [f.name for f in dataclasses.fields(p)],
       "order": Box([1]) < Box([2]), "default": repr(Box()),
       "annotations": repr(Point.__init__.__annotations__),
       "frozen": None}
try:
    p.x = 3
except dataclasses.FrozenInstanceError as exc:
    out["frozen"] = type(exc).__name__
from b03lint import operations  # the real vocabulary, too
out["ops"] = repr(operations.Location("f.py", 3))
codecache.save()
print(json.dumps(out, sort_keys=True))
"""


def _run(tmp_path: Path, mode: str, **env: str) -> str:
    done = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True,
                          env={**{k: v for k, v in os.environ.items()
                                  if k != "PYTHONDONTWRITEBYTECODE"},
                               "XDG_CACHE_HOME": str(tmp_path / "xdg"), **env}, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _secret(tmp_path: Path) -> None:
    folder = tmp_path / "xdg" / "b03lint"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "secret").write_bytes(os.urandom(32))


def _tables(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "xdg" / "b03lint").glob("code-*.bin"))


def test_cached_classes_behave_as_compiled_ones(tmp_path: Path) -> None:
    _secret(tmp_path)
    plain = _run(tmp_path, "off")
    assert _tables(tmp_path) == []
    first = _run(tmp_path, "on")  # compiles and writes the table
    assert len(_tables(tmp_path)) == 1
    written = _tables(tmp_path)[0].read_bytes()
    second = _run(tmp_path, "on")  # every method from the table: nothing new to write
    assert _tables(tmp_path)[0].read_bytes() == written
    assert plain == first == second


def test_a_table_not_signed_by_this_user_is_never_loaded(tmp_path: Path) -> None:
    _secret(tmp_path)
    plain = _run(tmp_path, "off")
    _run(tmp_path, "on")
    table = _tables(tmp_path)[0]
    data = bytearray(table.read_bytes())
    data[-1] ^= 1  # a changed byte of the payload breaks the MAC
    table.write_bytes(bytes(data))
    assert _run(tmp_path, "on") == plain  # recompiled, and the table written again
    assert table.read_bytes() != bytes(data)
    _secret(tmp_path)  # another key: the old table is ignored
    assert _run(tmp_path, "on") == plain


def test_nothing_is_written_without_bytecode_writing(tmp_path: Path) -> None:
    _secret(tmp_path)
    _run(tmp_path, "on", PYTHONDONTWRITEBYTECODE="1")
    assert _tables(tmp_path) == []
