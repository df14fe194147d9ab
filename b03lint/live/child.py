"""The migration process of ``b03lint rebuild``: the project's ``env.py`` and migrations run
here, in a child process, never in b03lint's own. :class:`b03lint.live.supervise.MigrationProcess`
starts it, feeds it commands and watches it, so that ``sys.exit(n)``, ``os._exit(n)``, a
crash or a hang in user code ends this process, not the run: the parent reports an ``M003``
at the revision that was running (the verdict is ERROR) and still drops the scratch database.

Started as::

    python -m b03lint.live.child --requests-fd R --events-fd W

in a session of its own, in the folder of ``alembic.ini`` (where ``alembic`` is run), with
standard input ``/dev/null``; standard output and error (whatever ``env.py``, the migrations
and Alembic print) go to one pipe that the parent reads, masks and logs. Requests and events
are JSON objects, one per line.

Requests (parent -> child, on fd R):

- first ``{"op": "setup", "ini": PATH, "section": NAME, "url": URL, "target": {libpq
  keywords of the scratch database}, "parent": PID, "trace": BOOL}``; ``URL`` becomes
  ``DATABASE_URL`` and ``sqlalchemy.url`` (it is never in the command line or the
  environment the child was started with);
- then ``{"op": "migrate", "verb": "upgrade" | "downgrade", "rev": REV}``, one at a time;
  end of file: exit 0.

Events (child -> parent, on fd W):

- ``ready`` ``{"env_py": PATH, "revisions": {REV: [DOWN_REVISION, ...]}}`` after the setup
  (the revision map is read here: reading it imports the migration files), or
  ``setup_failed`` ``{"message": ...}`` (exit 2);
- ``start`` ``{"verb": ..., "revision": REV}``: a revision's ``upgrade()``/``downgrade()``
  is about to run, so a process that dies is blamed on the right revision;
- ``done``, or ``failed`` ``{"kind": ..., "message": ..., "frames": [[FILE, LINE], ...]}``
  with kind ``exception`` (the migration raised: an ``M003``), ``environment`` (the server
  went away, a timeout, a missing privilege: exit 2), ``command`` (Alembic refused the
  command: exit 2) or ``exit`` (user code called ``sys.exit``: an ``M003`` and an error;
  the child then exits 3);
- ``refused`` ``{"message": ...}``: user code was about to connect to something other than
  the scratch database (the connection target guard below); the child exits 2 at once;
- ``trace`` ``{"kind": KIND, "data": {...}, "revision": REV}`` (see below).

**The connection target guard.** Before user code runs, every way it may open a connection
is hooked: SQLAlchemy's ``do_connect`` event on the ``Engine`` class (every engine, every
driver, whatever URL ``env.py`` built or hard-coded) and psycopg 3's ``connect``
(``psycopg.connect``, ``Connection.connect``, ``AsyncConnection.connect``), and psycopg2's
``connect`` when it is installed. Each connection's
host, host address, port, database, service and Unix socket (with libpq's ``PG*``
defaults) must be the scratch database's; otherwise nothing is sent (not even the
connection request), the child sends ``refused`` naming where the URL came from (an
environment variable, ``sqlalchemy.url`` of ``alembic.ini``, or "a URL in env.py or the
migration code"; never the URL or its password) and exits 2, so user code cannot catch it.

**Trace** (``b03lint rebuild --trace``): with ``"trace": true`` in the setup request the
child calls :func:`b03lint.live.trace.install` (after the guard is installed) with an
emitter that sends each of its events as ``{"event": "trace", "kind": KIND, "data":
{KEYWORDS}, "revision": REV}`` (``REV``: the revision whose code is running, or null), and
a ``connect`` that opens an observer connection to the scratch database. On the parent's
side, ``MigrationProcess(..., on_trace=fn)`` sets the flag and calls ``fn(kind, data,
revision)`` for every trace event, in order, before the ``done``/``failed`` of its command.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import functools
import getpass
import io
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from b03lint.live.redact import remember_environment, remember_url, scrub

#: exit codes of the child
EXIT_REFUSED = 2
EXIT_USER = 3
EXIT_ORPHANED = 4
#: how often the child checks that its parent is still there (seconds)
PARENT_POLL = 0.5


class Channel:
    """The events pipe: one JSON object per line, written whole (a lock, for the trace
    observer's thread)."""

    def __init__(self, fd: int):
        self.fd = fd
        self.lock = threading.Lock()

    def send(self, event: str, **data: Any) -> None:
        line = (json.dumps({"event": event, **data}, default=str) + "\n").encode()
        with self.lock:
            view = memoryview(line)
            while view:
                written = os.write(self.fd, view)
                view = view[written:]


# --------------------------------------------------------------------------- the guard


@dataclass(frozen=True)
class Endpoint:
    """Where libpq would connect: every field as libpq resolves it (``PG*`` defaults)."""

    host: str
    hostaddr: str
    port: str
    dbname: str
    service: str

    def label(self) -> str:
        hosts = [h if not h.startswith("/") else f"[socket {h}]"
                 for h in (self.host or self.hostaddr or "[default socket]").split(",")]
        return scrub(f"postgresql://{','.join(hosts)}:{self.port}/{self.dbname}")


def _host(value: str) -> str:
    parts = []
    for part in value.split(","):
        part = part.strip()
        parts.append(os.path.realpath(part) if part.startswith("/") else part.lower())
    return ",".join(parts)


def endpoint(params: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint of libpq keywords ``params``, with libpq's environment defaults."""
    env = os.environ if environ is None else environ

    def get(key: str, var: str) -> str:
        value = params.get(key)
        return str(value) if value not in (None, "") else env.get(var, "")

    user = get("user", "PGUSER")
    if not user:
        with contextlib.suppress(Exception):
            user = getpass.getuser()
    return Endpoint(host=_host(get("host", "PGHOST")), hostaddr=get("hostaddr", "PGHOSTADDR"),
                    port=get("port", "PGPORT") or "5432",
                    dbname=get("dbname", "PGDATABASE") or user,
                    service=get("service", "PGSERVICE"))


def parse_target(text: str) -> dict[str, Any] | None:
    """libpq keywords of a URL (``postgresql+driver://`` too) or conninfo; None if it is
    not one."""
    from psycopg.conninfo import conninfo_to_dict

    text = text.strip()
    scheme, sep, rest = text.partition("://")
    if sep:
        if scheme.lower().split("+", 1)[0] not in ("postgresql", "postgres"):
            return None
        text = f"postgresql://{rest}"
    elif "=" not in text:
        return None
    try:
        return dict(conninfo_to_dict(text))
    except Exception:
        return None


class Refused(Exception):
    pass


class Guard:
    """Lets user code connect to the scratch database only."""

    def __init__(self, target: Mapping[str, Any], ini: str, channel: Channel,
                 before_exit: Callable[[], None] = lambda: None):
        self.target = endpoint(target)
        self.ini = ini
        self.channel = channel
        self.before_exit = before_exit

    def check(self, params: Mapping[str, Any] | None, how: str) -> None:
        if params is not None and endpoint(params) == self.target:
            return
        where = endpoint(params) if params is not None else None
        origin = self.origin(where) if where is not None else CODE
        shown = where.label() if where is not None else "a database it does not name plainly"
        message = scrub(
            f"refused: env.py or a migration was about to connect ({how}) to {shown}, whose "
            f"URL came from {origin}, not to the scratch database {self.target.label()}; "
            "nothing was sent to it. b03lint never lets migrations touch a database it did "
            "not create: make env.py take its URL from DATABASE_URL (or sqlalchemy.url), "
            "which b03lint sets to the scratch database")
        self.before_exit()
        with contextlib.suppress(OSError):
            self.channel.send("refused", message=message)
        os._exit(EXIT_REFUSED)

    def origin(self, where: Endpoint) -> str:
        """Where a URL naming ``where`` came from: a variable of the environment,
        ``sqlalchemy.url`` of ``alembic.ini``, else the code."""
        for name in sorted(os.environ):
            if name == "DATABASE_URL":
                continue
            params = parse_target(os.environ[name])
            if params is not None and endpoint(params) == where:
                return f"the environment variable {name}"
        parser = configparser.RawConfigParser()
        with contextlib.suppress(Exception):
            parser.read(self.ini, encoding="utf-8")
            for section in parser.sections():
                value = parser.get(section, "sqlalchemy.url", fallback=None)
                params = parse_target(value.replace("%%", "%")) if value else None
                if params is not None and endpoint(params) == where:
                    return (f"sqlalchemy.url in {os.path.basename(self.ini)} (section "
                            f"[{section}])")
        return CODE


#: the origin of a URL found in no variable and no alembic.ini
CODE = "env.py or the migration code (a URL written or built there)"

_ALIASES = {"database": "dbname", "username": "user", "db": "dbname"}
_KEYS = ("host", "hostaddr", "port", "dbname", "service", "user")


def sqlalchemy_params(dialect: Any, cargs: Any, cparams: Mapping[str, Any]
                      ) -> dict[str, Any] | None:
    """The libpq keywords a SQLAlchemy engine is about to connect with (any PostgreSQL
    driver); None for another database."""
    if getattr(dialect, "name", None) != "postgresql":
        return None
    params: dict[str, Any] = {}
    if cargs and isinstance(cargs[0], str) and cargs[0].strip():
        parsed = parse_target(cargs[0])
        if parsed is None:
            return None
        params.update(parsed)
    for key, value in cparams.items():
        key = _ALIASES.get(key, key)
        if key in _KEYS and value is not None:
            params[key] = ",".join(map(str, value)) if isinstance(value, list | tuple) \
                else str(value)
    return params


def install_guard(guard: Guard) -> None:
    """Hook every way user code may connect (SQLAlchemy engines, psycopg 3, psycopg2)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: Any) -> None:
        guard.check(sqlalchemy_params(dialect, cargs, cparams), "through SQLAlchemy")

    event.listen(Engine, "do_connect", on_connect)

    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    def params_of(conninfo: str, kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            return dict(conninfo_to_dict(conninfo, **kwargs))
        except Exception:
            return None

    sync = psycopg.Connection.connect.__func__  # type: ignore[attr-defined]
    asynchronous = psycopg.AsyncConnection.connect.__func__  # type: ignore[attr-defined]

    def connect(cls: Any, /, conninfo: str = "", **kwargs: Any) -> Any:
        guard.check(params_of(conninfo, _conninfo_kwargs(kwargs)), "with psycopg")
        return sync(cls, conninfo, **kwargs)

    async def connect_async(cls: Any, /, conninfo: str = "", **kwargs: Any) -> Any:
        guard.check(params_of(conninfo, _conninfo_kwargs(kwargs)), "with psycopg")
        return await asynchronous(cls, conninfo, **kwargs)

    hooked: Any = classmethod(connect)
    hooked_async: Any = classmethod(connect_async)
    psycopg.Connection.connect = hooked  # type: ignore[method-assign]
    psycopg.AsyncConnection.connect = hooked_async  # type: ignore[method-assign]
    psycopg.connect = psycopg.Connection.connect
    _guard_psycopg2(guard, params_of)


def _guard_psycopg2(guard: Guard,
                    params_of: Callable[[str, Mapping[str, Any]], dict[str, Any] | None]) -> None:
    """psycopg2's ``connect`` too, when it is installed (SQLAlchemy's default PostgreSQL
    driver, and what older migrations call directly). Not installed: nothing to hook, and
    nothing imported."""
    import importlib.util

    if importlib.util.find_spec("psycopg2") is None:
        return
    import psycopg2  # type: ignore[import-untyped]  # no stubs; only .connect is used

    original = psycopg2.connect

    def connect(dsn: str | None = None, connection_factory: Any = None,
                cursor_factory: Any = None, **kwargs: Any) -> Any:
        conninfo = dsn or ""
        # psycopg2 takes ``database`` for ``dbname``; ``async``/``async_`` are its own
        extra = {("dbname" if k == "database" else k): v for k, v in kwargs.items()
                 if k not in ("async", "async_") and v is not None}
        guard.check(params_of(conninfo, extra), "with psycopg2")
        return original(dsn, connection_factory, cursor_factory, **kwargs)

    psycopg2.connect = connect


_PSYCOPG_OPTIONS = frozenset({"autocommit", "prepare_threshold", "context", "row_factory",
                              "cursor_factory"})


def _conninfo_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k not in _PSYCOPG_OPTIONS and v is not None}


# --------------------------------------------------------------------------- running


class UserExit(Exception):
    """User code called ``sys.exit``: reported, then the child ends."""


class Session:
    """Alembic's API on the scratch database, inside the child."""

    def __init__(self, setup: Mapping[str, Any], channel: Channel):
        from alembic.config import Config as AlembicConfig
        from alembic.script import ScriptDirectory

        self.channel = channel
        self.ini = str(setup["ini"])
        self.running: str | None = None
        url = str(setup["url"])
        os.environ["DATABASE_URL"] = url
        self.cfg = AlembicConfig(self.ini, ini_section=str(setup["section"]),
                                 stdout=sys.stdout)
        location = self.cfg.get_main_option("script_location")
        if location and ":" not in location and not os.path.isabs(location):
            # relative to the folder of alembic.ini (where `alembic` is run)
            self.cfg.set_main_option("script_location", os.path.join(
                os.path.dirname(os.path.abspath(self.ini)), location).replace("%", "%%"))
        # for env.py files that read sqlalchemy.url instead of DATABASE_URL
        driver_url = "postgresql+psycopg" + url.removeprefix("postgresql")
        self.cfg.set_main_option("sqlalchemy.url", driver_url.replace("%", "%%"))
        self.target = dict(setup["target"])
        self.guard = Guard(self.target, self.ini, channel, self.flush)
        install_guard(self.guard)
        self._hook_steps()
        if setup.get("trace"):
            self._trace()
        try:
            self.script = ScriptDirectory.from_config(self.cfg)
            self.revisions = {
                s.revision: list(_down_revisions(s.down_revision))
                for s in self.script.walk_revisions()}
        except Exception as exc:
            raise SetupFailed(f"{self.ini}: Alembic cannot read the migration scripts: "
                              f"{type(exc).__name__}: {exc}") from None
        self.env_py = self.script.env_py_location

    def flush(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()

    def _hook_steps(self) -> None:
        """Send ``start`` before each revision's ``upgrade()``/``downgrade()`` runs."""
        from alembic.runtime.migration import RevisionStep

        original = RevisionStep.__init__
        session = self

        def init(step: Any, *args: Any, **kwargs: Any) -> None:
            original(step, *args, **kwargs)
            fn = step.migration_fn
            revision = str(step.revision.revision)
            verb = "upgrade" if step.is_upgrade else "downgrade"

            @functools.wraps(fn)
            def run(*a: Any, **kw: Any) -> Any:
                session.running = revision
                session.flush()
                session.channel.send("start", verb=verb, revision=revision)
                return fn(*a, **kw)

            step.migration_fn = run

        hooked: Any = init
        RevisionStep.__init__ = hooked  # type: ignore[method-assign]

    def _trace(self) -> None:
        import psycopg

        from b03lint.live.trace import install

        def emit(kind: str, **data: Any) -> None:
            self.channel.send("trace", kind=kind, data=data, revision=self.running)

        def connect() -> Any:
            # autocommit off: the observer holds its locks and snapshot in transactions
            return psycopg.connect(**self.target, autocommit=False)

        install(emit, connect)

    def migrate(self, verb: str, rev: str) -> None:
        from alembic import command

        self.running = None
        try:
            getattr(command, verb)(self.cfg, rev)
        except SystemExit as exc:
            self.flush()
            code = exc.code
            self.channel.send("failed", kind="exit", code=code if isinstance(code, int) else 1,
                              message=scrub(f"the migration code called sys.exit({code!r})"),
                              frames=_frames(exc))
            raise UserExit from None
        except Exception as exc:
            self.flush()
            kind, message = _classify(exc, f"alembic {verb} {rev}", self.running)
            self.channel.send("failed", kind=kind, message=message, frames=_frames(exc))
            return
        self.flush()
        self.channel.send("done")


class SetupFailed(Exception):
    pass


def _down_revisions(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _frames(exc: BaseException) -> list[list[Any]]:
    return [[os.path.realpath(fs.filename), fs.lineno]
            for fs in traceback.extract_tb(exc.__traceback__)]


def _db_error(exc: BaseException) -> BaseException | None:
    """The psycopg error behind ``exc`` (SQLAlchemy wraps it in ``.orig``)."""
    import psycopg

    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, psycopg.Error):
            return e
        orig = getattr(e, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None, e.__cause__,
                 e.__context__]
    return None


def _environmental(err: BaseException) -> bool:
    """Errors of the environment (exit 2), not of a migration (a finding)."""
    from psycopg import errors

    if isinstance(err, errors.OperationalError | errors.InsufficientPrivilege):
        # lost connections, shutdowns, cancels and timeouts, missing privileges
        return not isinstance(err, errors.LockNotAvailable | errors.DeadlockDetected)
    return isinstance(err, errors.InterfaceError)


def _classify(exc: BaseException, doing: str, running: str | None) -> tuple[str, str]:
    """(kind, password-free message) of a failed command."""
    import psycopg
    from alembic.util import CommandError

    from b03lint.live.connect import explain

    db = _db_error(exc)
    if db is not None and _environmental(db):
        return "environment", str(explain(db, doing))
    if isinstance(exc, CommandError) and running is None:
        return "command", scrub(f"{doing}: {exc}")
    detail = (" ".join(str(db).split()) if isinstance(db, psycopg.Error)
              else f"{type(exc).__name__}: {' '.join(str(exc).split())}")
    return "exception", scrub(detail)


# --------------------------------------------------------------------------- main


def _watch_parent(parent: int) -> None:
    """End the child when the parent is gone (even killed by SIGKILL)."""

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL)
            if os.getppid() != parent:
                os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="b03lint-parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m b03lint.live.child")
    parser.add_argument("--requests-fd", type=int, required=True)
    parser.add_argument("--events-fd", type=int, required=True)
    args = parser.parse_args(argv)
    channel = Channel(args.events_fd)
    requests = io.TextIOWrapper(io.FileIO(args.requests_fd, "r"), encoding="utf-8")
    first = requests.readline()
    if not first:
        return 0
    setup = json.loads(first)
    remember_url(str(setup["url"]))
    remember_environment()
    _watch_parent(int(setup["parent"]))
    try:
        session = Session(setup, channel)
    except SetupFailed as exc:
        channel.send("setup_failed", message=scrub(str(exc)))
        return EXIT_REFUSED
    channel.send("ready", env_py=os.path.realpath(session.env_py),
                 revisions=session.revisions)
    for line in requests:
        request = json.loads(line)
        if request.get("op") != "migrate":
            continue
        try:
            session.migrate(str(request["verb"]), str(request["rev"]))
        except UserExit:
            return EXIT_USER
    return 0


if __name__ == "__main__":
    sys.exit(main())
