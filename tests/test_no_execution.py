"""Static mode never runs the code it reads (issue 8).

Hostile migrations whose module body, default arguments, decorators, class bodies,
``__init_subclass__``, metaclass, annotations, ``if __name__`` block, ``exec``/``eval``
strings or imports would write a marker file, connect to a socket this test listens on, or
import a module that records its own import, are linted with ``b03lint check`` in a
subprocess; none of it may happen. A second run, in a wrapper process with
``sys.addaudithook``, records every ``exec``, ``compile``, ``open``, ``import``,
``socket.connect`` and process start while b03lint lints, and asserts that no code of the
project is executed or compiled (other than by ``ast.parse``), that no file of the project is
opened for writing outside the parse cache, and that nothing is connected to or started.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BASE = '''\
"""create tenants"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None


def upgrade():
    op.create_table("tenants", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("name", sa.Text()))
'''

#: module body, imports, exec/eval strings, module-level control flow
HOSTILE_BODY = '''\
"""module body: every statement here would have an effect if run"""
import importlib
import socket
import subprocess

import b03lint_canary
from b03lint_canary import payload
import this_module_does_not_exist
from alembic import op
import sqlalchemy as sa

importlib.import_module("b03lint_canary")
__import__("b03lint_canary")
open({m}("module-body"), "w").write("module body ran")
socket.create_connection(("127.0.0.1", {port}), timeout=1)
subprocess.run(["touch", {m}("subprocess")])
exec("open({m}('exec-string'), 'w')")
eval("open({m}('eval-string'), 'w')")
with open({m}("with-statement"), "w"):
    pass
for _ in [1]:
    open({m}("for-loop"), "w")
if True:
    open({m}("if-block"), "w")
try:
    open({m}("try-block"), "w")
except Exception:
    pass

revision = "0002"
down_revision = "0001"

if __name__ == "__main__":
    open({m}("dunder-main"), "w")


def upgrade():
    open({m}("upgrade-body"), "w")
    socket.create_connection(("127.0.0.1", {port}), timeout=1)
    op.execute(open({m}("execute-argument"), "w").name)
    op.add_column("tenants", sa.Column("plan", sa.Text()))
'''

#: definitions whose evaluation at import time would have effects
HOSTILE_DEFINITIONS = '''\
"""definitions: defaults, decorators, class bodies, metaclasses, annotations"""
import socket

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"


def _default(x=open({m}("default-argument"), "w")):
    return x


def _kw_default(*, x=socket.create_connection(("127.0.0.1", {port}), timeout=1)):
    return x


lambda_default = lambda x=open({m}("lambda-default"), "w"): x  # noqa: E731
annotated: open({m}("annotation"), "w") = 1


def _decorator_factory(name):
    open({m}("decorator-factory"), "w")
    return lambda f: f


@(lambda f: open({m}("decorator"), "w") and f)
@_decorator_factory(open({m}("decorator-argument"), "w"))
def upgrade():
    op.add_column("tenants", sa.Column("region", sa.Text()))


class Sneaky:
    open({m}("class-body"), "w")
    attribute = open({m}("class-attribute"), "w")


class Meta(type):
    def __new__(mcs, name, bases, ns):
        open({m}("metaclass"), "w")
        return super().__new__(mcs, name, bases, ns)


class WithMeta(metaclass=Meta):
    pass


class Base:
    def __init_subclass__(cls, **kwargs):
        open({m}("init-subclass"), "w")


class Child(Base, flag=open({m}("class-keyword"), "w")):
    pass


def downgrade():
    open({m}("downgrade-body"), "w")
'''

#: what the migrations import: its import alone would leave a marker
CANARY = '''\
open({m}("canary-import"), "w").write("imported")
payload = 1
'''

#: Alembic's env.py is project code too; `check` never needs it
ENV_PY = '''\
open({m}("env-py"), "w")
'''


class World:
    """The project, the marker folder, the canary module and a listening socket."""

    def __init__(self, root: Path) -> None:
        self.root = root / "project"
        self.markers = root / "markers"
        self.canary = root / "canary"
        for folder in (self.root, self.markers, self.canary):
            folder.mkdir()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        m = f"(lambda name: {str(self.markers)!r} + '/' + name)"
        fill = {"m": m, "port": self.port}
        files = {
            "pyproject.toml": '[tool.b03lint]\nmigrations = "alembic/versions"\n'
                              'adr_dir = "adr"\n',
            "alembic/env.py": ENV_PY,
            "alembic/versions/__init__.py": ENV_PY.replace("env-py", "versions-init"),
            "alembic/versions/0001_base.py": BASE,
            "alembic/versions/0002_body.py": HOSTILE_BODY,
            "alembic/versions/0003_definitions.py": HOSTILE_DEFINITIONS,
            "adr/ADR-001.md": "# ADR-001\n",
        }
        for rel, text in files.items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text.replace("{m}", fill["m"]).replace("{port}", str(self.port)))
        (self.canary / "b03lint_canary.py").write_text(CANARY.replace("{m}", fill["m"]))

    def env(self) -> dict[str, str]:
        return {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(self.canary),
                "PYTHONDONTWRITEBYTECODE": "1"}

    def connections(self) -> int:
        count = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1

    def assert_nothing_ran(self) -> None:
        ran = sorted(p.name for p in self.markers.iterdir())
        assert not ran, f"migration code ran: {ran}"
        assert self.connections() == 0, "something connected to the test's socket"


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    try:
        yield w
    finally:
        w.listener.close()


def test_the_hostile_files_are_armed(world: World, tmp_path: Path) -> None:
    """Proof that the test can see execution: importing the hostile migrations for real
    (which b03lint must never do; the missing module stubbed so the body runs on) leaves
    every marker a definition or the module body writes, and connects to the socket."""
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "this_module_does_not_exist.py").write_text("")
    script = textwrap.dedent(f"""\
        import importlib.util, sys
        for name in ("0002_body", "0003_definitions"):
            path = {str(world.root / "alembic" / "versions")!r} + "/" + name + ".py"
            spec = importlib.util.spec_from_file_location("m" + name, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        """)
    env = {**world.env(), "PYTHONPATH": f"{world.canary}{os.pathsep}{stub}"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    ran = {p.name for p in world.markers.iterdir()}
    assert ran == {
        "canary-import", "module-body", "subprocess", "exec-string", "eval-string",
        "with-statement", "for-loop", "if-block", "try-block",
        "default-argument", "lambda-default", "annotation", "decorator", "decorator-argument",
        "decorator-factory", "class-body", "class-attribute", "metaclass", "init-subclass",
        "class-keyword"}, ran
    assert world.connections() == 2  # the module body's and the keyword default's
    for marker in world.markers.iterdir():
        marker.unlink()


@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "cache"])
def test_check_never_executes_migration_code(world: World, cache: bool) -> None:
    args = [sys.executable, "-m", "b03lint", "check", "--output-format", "json"]
    if not cache:
        args.append("--no-cache")
    for _ in range(2 if cache else 1):  # with the cache: a cold run, then a warm one
        proc = subprocess.run(args, cwd=world.root, env=world.env(), capture_output=True,
                              text=True, timeout=120)
        assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        report = json.loads(proc.stdout)
        world.assert_nothing_ran()
    # the migrations were really read: their operations are in the report
    assert report["summary"]["operations"] >= 3
    paths = {f["path"] for f in report["findings"]}
    assert "alembic/versions/0002_body.py" in paths  # I004: `op.execute(open(...).name)`


def test_tampered_cache_is_never_unpickled(world: World) -> None:
    """A cache folder written by someone else (committed to the repository, say) holds
    pickles whose loading would run code: b03lint must refuse them, not unpickle them."""
    args = [sys.executable, "-m", "b03lint", "check", "--output-format", "json"]
    first = subprocess.run(args, cwd=world.root, env=world.env(), capture_output=True,
                           text=True, timeout=120)
    assert first.returncode in (0, 1), first.stderr
    cache = world.root / ".b03lint_cache"
    entries = [p for p in cache.rglob("*") if p.is_file() and p.parent != cache]
    assert entries, "the first run wrote no cache entry"

    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (open, (str(world.markers / "unpickled"), "w"))

    import pickle

    for entry in entries:
        data = entry.read_bytes()
        magic = data[: data.index(b"\n") + 1] if b"\n" in data[:64] else b""
        # keep the magic, forge the MAC: all a tamperer without the per-user secret can do
        entry.write_bytes(magic + b"\0" * 32 + pickle.dumps(Evil()))
    second = subprocess.run(args, cwd=world.root, env=world.env(), capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == first.returncode, second.stdout + second.stderr
    assert json.loads(second.stdout)["findings"] == json.loads(first.stdout)["findings"]
    world.assert_nothing_ran()


# =========================================================================== audit hook

_WRAPPER = textwrap.dedent('''\
    """Run `b03lint check` with an audit hook recording what happens to the project."""
    import json, os, sys

    project, report, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    project = os.path.realpath(project)
    cache = os.path.join(project, ".b03lint_cache")
    events = []
    recording = [True]

    def real(path):
        path = os.fsdecode(path)
        return os.path.realpath(os.path.join(os.getcwd(), path))

    def inside(path):
        try:
            if os.fsdecode(path).startswith("<"):  # <string>, <frozen ...>: not files
                return False
            where = real(path)
        except TypeError:
            return False
        return where == project or where.startswith(project + os.sep)

    def hook(event, args):
        if not recording[0]:
            return
        if event == "exec":
            code = args[0]
            filename = getattr(code, "co_filename", "")
            if inside(filename):
                events.append(["exec", real(filename)])
        elif event == "compile":
            source, filename = args[0], args[1]
            if filename is not None and inside(filename):
                caller = sys._getframe(1)  # the Python code that called compile()
                by = f"{os.path.basename(caller.f_code.co_filename)}:{caller.f_code.co_name}"
                events.append(["compile", real(filename), by])
        elif event == "open":
            path, mode, flags = args
            if path is None or isinstance(path, int) or not inside(path):
                return
            writing = (mode is not None and any(c in mode for c in "wax+")) or (
                flags is not None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT
                                               | os.O_TRUNC | os.O_APPEND))
            where = real(path)
            events.append(["open-write" if writing else "open-read", where,
                           where.startswith(cache + os.sep) or where == cache])
        elif event == "import":
            events.append(["import", args[0]])
        elif event in ("socket.connect", "socket.bind", "subprocess.Popen", "os.system",
                       "os.exec", "os.posix_spawn", "os.spawn", "os.startfile"):
            events.append([event, repr(args)[:200]])

    sys.addaudithook(hook)
    os.chdir(project)
    from b03lint.cli import main

    try:
        code = main(["check", *args])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    recording[0] = False
    with open(report, "w") as f:
        json.dump({"code": code, "events": events}, f)
    ''')


def audited(world: World, *args: str) -> tuple[int, list[list[Any]]]:
    report = world.markers.parent / "audit.json"
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, str(world.root), str(report),
                           "--output-format", "json", *args],
                          env=world.env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    data = json.loads(report.read_text())
    report.unlink()
    return int(data["code"]), data["events"]


@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "cache"])
def test_audit_hook_sees_no_execution_and_no_write(world: World, cache: bool) -> None:
    code, events = audited(world, *(() if cache else ("--no-cache",)))
    assert code in (0, 1)
    world.assert_nothing_ran()
    versions = os.path.realpath(world.root / "alembic" / "versions")
    migrations = {os.path.join(versions, n) for n in
                  ("0001_base.py", "0002_body.py", "0003_definitions.py")}

    # not vacuous: the hook saw every migration being read and parsed
    read = {e[1] for e in events if e[0] == "open-read"}
    assert migrations <= read, sorted(read)
    compiled = [e for e in events if e[0] == "compile"]
    assert migrations <= {e[1] for e in compiled}

    # no code object of the project is ever executed
    assert [e for e in events if e[0] == "exec"] == []
    # the only compilation of project source is ast.parse (an AST, never code)
    assert all(e[2] == "ast.py:parse" for e in compiled), compiled
    # nothing written in the project but the parse cache
    writes = [e for e in events if e[0] == "open-write"]
    assert all(e[2] for e in writes), writes
    if not cache:
        assert writes == []
    # no network, no process
    assert not [e for e in events if e[0].startswith(("socket.", "subprocess.", "os."))]
    # none of what the migrations import is imported; nor alembic, nor psycopg
    imported = {e[1] for e in events if e[0] == "import"}
    forbidden = {"b03lint_canary", "this_module_does_not_exist", "alembic", "psycopg"}
    assert not imported & forbidden, imported & forbidden
    assert not any(name.split(".")[0] in {"alembic", "psycopg"} for name in imported)
