"""The bytecode cache of dataclasses' generated methods (b03lint/codecache.py): classes
built from cached code behave as classes built from source, and only a table this user's
own runs signed is ever loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ci_skip import skip_outside_ci

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
loaded = len(codecache._state.get("table") or {})
codecache.save()
print(json.dumps(out, sort_keys=True))
print(loaded, file=sys.stderr)
"""


def _start(tmp_path: Path, mode: str, flags: tuple[str, ...] = (),
           **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, *flags, "-c", PROGRAM, mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**{k: v for k, v in os.environ.items()
                                    if k != "PYTHONDONTWRITEBYTECODE"},
                                 "XDG_CACHE_HOME": str(tmp_path / "xdg"), **env})


def _finish(proc: subprocess.Popen[str]) -> tuple[str, int]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out, int(err.strip().splitlines()[-1])


def _run_loaded(tmp_path: Path, mode: str, flags: tuple[str, ...] = (),
                **env: str) -> tuple[str, int]:
    """The program's output and how many compiled methods it found in the table."""
    return _finish(_start(tmp_path, mode, flags, **env))


def _run(tmp_path: Path, mode: str, **env: str) -> str:
    return _run_loaded(tmp_path, mode, **env)[0]


def _secret(tmp_path: Path) -> Path:
    folder = tmp_path / "xdg" / "b03lint"
    folder.mkdir(parents=True, exist_ok=True)
    secret = folder / "secret"
    secret.unlink(missing_ok=True)
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(os.urandom(32))
    return secret


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


def test_only_a_private_table_in_a_private_folder_is_loaded(tmp_path: Path) -> None:
    secret = _secret(tmp_path)
    plain = _run(tmp_path, "off")
    _run(tmp_path, "on")
    table = _tables(tmp_path)[0]
    assert table.stat().st_mode & 0o077 == 0
    assert _run_loaded(tmp_path, "on")[1] > 0  # the ordinary case: loaded
    table.chmod(0o666)  # anyone could have changed it since it was signed
    assert _run_loaded(tmp_path, "on") == (plain, 0)
    assert table.stat().st_mode & 0o077 == 0  # written again, private
    assert _run_loaded(tmp_path, "on")[1] > 0
    link = tmp_path / "elsewhere.bin"
    table.rename(link)
    table.symlink_to(link)  # a link is not followed
    assert _run_loaded(tmp_path, "on") == (plain, 0)
    secret.chmod(0o644)  # a secret others can read signs nothing: the cache is off
    assert _run_loaded(tmp_path, "on") == (plain, 0)
    secret.chmod(0o600)
    secret.parent.chmod(0o777)  # a folder others can write to: nothing in it is believed
    try:
        before = sorted(p.name for p in secret.parent.iterdir())
        assert _run_loaded(tmp_path, "on") == (plain, 0)
        assert sorted(p.name for p in secret.parent.iterdir()) == before
    finally:
        secret.parent.chmod(0o700)


def test_a_table_owned_by_another_user_is_never_loaded(tmp_path: Path) -> None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        skip_outside_ci("giving a file to another user needs root (CI runs as root)")
    _secret(tmp_path)
    plain = _run(tmp_path, "off")
    _run(tmp_path, "on")
    table = _tables(tmp_path)[0]
    os.chown(table, 65534, 65534)
    assert _run_loaded(tmp_path, "on") == (plain, 0)


def test_a_signed_table_of_anything_but_code_is_not_loaded(tmp_path: Path) -> None:
    import marshal

    from b03lint import codecache

    secret = _secret(tmp_path)
    plain = _run(tmp_path, "off")
    _run(tmp_path, "on")
    table = _tables(tmp_path)[0]
    marker = tmp_path / "ran"
    # a correctly signed table whose values are source texts: exec would run them
    forged = {text: f"open({str(marker)!r}, 'w').close()"
              for text in marshal.loads(table.read_bytes()[len(codecache.MAGIC) + 32:])}
    payload = marshal.dumps(forged)
    key = codecache._key(secret.read_bytes())
    table.write_bytes(codecache.MAGIC + codecache._mac(key, payload) + payload)
    assert _run_loaded(tmp_path, "on") == (plain, 0)
    assert not marker.exists()


def test_the_table_is_per_optimisation_level(tmp_path: Path) -> None:
    _secret(tmp_path)
    _run(tmp_path, "on")
    _run_loaded(tmp_path, "on", ("-O",))
    assert len(_tables(tmp_path)) == 2


def test_concurrent_runs_leave_a_valid_table(tmp_path: Path) -> None:
    _secret(tmp_path)
    plain = _run(tmp_path, "off")
    procs = [_start(tmp_path, "on") for _ in range(6)]
    assert all(_finish(p)[0] == plain for p in procs)
    assert len(_tables(tmp_path)) == 1
    assert not list((tmp_path / "xdg" / "b03lint").glob("*.tmp"))
    assert _run_loaded(tmp_path, "on")[1] > 0


def _program(tmp_path: Path, source: str) -> int:
    """Run ``source`` with the table installed and saved; how many texts it loaded."""
    script = ("import dataclasses, sys\nfrom b03lint import codecache\ncodecache.install()\n"
              f"{source}\nloaded = len(codecache._state.get('table') or {{}})\n"
              "codecache.save()\nprint(loaded)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**{k: v for k, v in os.environ.items()
                                               if k != "PYTHONDONTWRITEBYTECODE"},
                                            "XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


def test_a_table_of_texts_no_run_uses_is_pruned(tmp_path: Path) -> None:
    """Texts of classes nobody defines any more (an upgraded b03lint's old ones) are
    dropped by the next run that saves, once they outnumber what it used."""
    from b03lint import codecache

    _secret(tmp_path)
    common = "from b03lint import operations\n"
    _program(tmp_path, common)
    base = _program(tmp_path, common)  # what the vocabulary needs, all from the table
    junk = 3 * codecache.MIN_PRUNE
    _program(tmp_path, common + f"for i in range({junk // 3}):\n"
             "    dataclasses.make_dataclass(f'C{i}', [(f'f{i}', int)])\n")
    table = _tables(tmp_path)[0]
    grown = _program(tmp_path, common + "dataclasses.make_dataclass('Fresh', [('zz', int)])\n")
    assert grown >= base + junk
    pruned = _program(tmp_path, common)
    assert base < pruned < base + 10  # what the saving run used (Fresh too), and only that
    # and a run that compiles nothing prunes a bloated table too, once
    _program(tmp_path, common + f"for i in range({junk // 3}):\n"
             "    dataclasses.make_dataclass(f'D{i}', [(f'g{i}', int)])\n")
    assert _program(tmp_path, common) >= base + junk
    assert _program(tmp_path, common) == base
    written = table.read_bytes()
    assert _program(tmp_path, common) == base and table.read_bytes() == written


BUILDERS = """\
import sys
from b03lint import codecache
codecache.install()
from b03lint import cache, operations
where = operations.Location("f.py", 3)
assert cache.loads(cache.dumps(where)) == where
assert cache.loads(cache.dumps(where), intern_names=True) == where
new = sorted(t for t in codecache._state["new"] if t.startswith("def build("))
codecache.save()
print(len(new))
"""


def test_the_cache_builders_are_compiled_once_per_user(tmp_path: Path) -> None:
    """The parse cache's builders (b03lint.cache._builder) come from the table too: the
    second process compiles none of them."""
    _secret(tmp_path)
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
           "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    counts = [subprocess.run([sys.executable, "-c", BUILDERS], capture_output=True, text=True,
                             env=env, check=True, timeout=120).stdout.strip()
              for _ in range(2)]
    assert counts == ["2", "0"]
