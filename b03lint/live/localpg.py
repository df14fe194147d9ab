"""A throwaway local PostgreSQL cluster: ``initdb`` in a temporary folder, ``pg_ctl start``,
trust authentication (or, with ``password``, scram-sha-256 on TCP), ``fsync=off``. ``b03lint rebuild`` without ``--database-url`` runs on
one, and the test suite's ``pg_cluster`` fixture is one (``tests/pgcluster.py``).

PostgreSQL refuses to run as root. When b03lint runs as root (CI containers often do), the
server runs as the ``postgres`` OS user if it exists, otherwise as a dedicated system user
(created with ``useradd --system`` when ``create_os_user`` is set, as the tests do), otherwise
as ``nobody``; the temporary folder is handed to that user.

Two ways to listen:

- ``tcp=True`` (the tests): 127.0.0.1 on a free port, plus a Unix socket in the folder;
- ``tcp=False`` (``b03lint rebuild``): only a Unix socket in a folder of mode 0700 that
  belongs to the server's OS user, so no other local user can reach the trust-authenticated
  server while it runs.

Usage::

    with PostgresCluster() as cluster:
        url = cluster.create_database("scratch")   # postgresql://postgres@127.0.0.1:PORT/scratch

The cluster is stopped (``pg_ctl stop -m immediate``) and its folder removed on ``stop()``,
when the ``with`` block exits (also on errors and Ctrl-C) and at interpreter exit. When the
process that started it dies without doing so (``SIGKILL``, a crash), a **watchdog** does
it: a small process (``python -m b03lint.live.localpg --watch``, in a session of its own)
started with the cluster, which holds the read end of a pipe whose write end only the
starting process has; the kernel closes that end when the process dies, however it dies,
and the watchdog then stops the server and removes the folder. ``stop()`` first stands the
watchdog down.

The folder is named ``b03lint-pg-<pid>-<start>-<random>`` and holds ``owner.json``
(:mod:`b03lint.live.orphans`), so ``b03lint rebuild --clean`` can tell the folder of a dead
run from a live one's (:meth:`PostgresCluster.adopt`). The server runs in its own session,
so a Ctrl-C in the terminal reaches b03lint (which then stops the server), not the server
directly.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import glob
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from b03lint.live.orphans import cluster_prefix, write_owner

#: the superuser role ``initdb`` creates (independent of the OS user running the server)
SUPERUSER = "postgres"
#: the system user created when running as root on a machine without a ``postgres`` user
DEDICATED_OS_USER = "b03lint-pg"
#: the port number of the socket file when the cluster does not listen on TCP
SOCKET_ONLY_PORT = 5432

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL server binaries are not installed (or not usable) on this machine."""


class PostgresClusterError(RuntimeError):
    """The cluster could not be initialised or started; the message carries the log."""


def find_bindir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``.

    ``PG_BINDIR`` wins when set; then ``PATH`` (symlinks resolved, so that a
    ``/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb`` link finds its siblings);
    then the newest ``/usr/lib/postgresql/*/bin`` (Debian/Ubuntu layout).
    """
    candidates: list[Path] = []
    explicit = os.environ.get("PG_BINDIR")
    if explicit:
        candidates.append(Path(explicit))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
        candidates.append(Path(on_path).parent)

    def version_key(path: str) -> tuple[int, ...]:
        version = Path(path).parent.name
        return tuple(int(part) for part in version.split(".") if part.isdigit())

    for path in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True):
        candidates.append(Path(path))
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the caller retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class _OsUser:
    name: str
    uid: int
    gid: int


def _server_os_user(create: bool) -> _OsUser | None:
    """The unprivileged user to run the server as, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", DEDICATED_OS_USER):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return _OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    useradd = shutil.which("useradd")
    if create and useradd:
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             DEDICATED_OS_USER],
            capture_output=True,
            check=False,
        )
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(DEDICATED_OS_USER)
            return _OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError as exc:
        raise PostgresUnavailable(
            "running as root and no unprivileged OS user (postgres, "
            f"{DEDICATED_OS_USER}, nobody) is available to run PostgreSQL"
        ) from exc
    return _OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


class PostgresCluster:
    """One throwaway PostgreSQL cluster. Not started until :meth:`start` (or ``with``)."""

    host = "127.0.0.1"

    def __init__(self, bindir: Path | None = None, *, start_timeout: int = 60,
                 tcp: bool = True, create_os_user: bool = True,
                 password: str | None = None, watchdog: bool = True) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise PostgresUnavailable(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH, "
                "in $PG_BINDIR or in /usr/lib/postgresql/*/bin; install PostgreSQL "
                "(e.g. `apt-get install postgresql`) or pass --database-url"
            )
        self.bindir: Path = found
        self.start_timeout = start_timeout
        self.tcp = tcp
        self.create_os_user = create_os_user
        #: the superuser's password; when set, TCP connections need a password
        #: (scram-sha-256) and only the Unix socket trusts local users
        self.password = password
        self.port: int = 0
        self.root: Path | None = None
        self._os_user: _OsUser | None = None
        self._running = False
        #: start a watchdog that stops the cluster if this process dies
        self.watchdog = watchdog
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._watchdog_pipe = -1

    @classmethod
    def adopt(cls, root: Path, bindir: Path | None = None) -> PostgresCluster:
        """A cluster folder left by another process (``b03lint rebuild --clean``): its
        server is run as the folder's owner; :meth:`stop` stops it and removes the folder."""
        cluster = cls(bindir, watchdog=False)
        cluster.root = root
        info = root.stat()
        if os.geteuid() == 0 and info.st_uid != 0:
            with contextlib.suppress(KeyError):
                entry = pwd.getpwuid(info.st_uid)
                cluster._os_user = _OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
        return cluster

    # ------------------------------------------------------------------ paths

    @property
    def datadir(self) -> Path:
        return self._root() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._root() / "sock"

    @property
    def logfile(self) -> Path:
        return self._root() / "server.log"

    def _root(self) -> Path:
        if self.root is None:
            raise PostgresClusterError("the cluster has not been started")
        return self.root

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> PostgresCluster:
        """Initialise and start the cluster; returns ``self``. Cleans up if it fails
        (also when interrupted)."""
        if self._running:
            return self
        self._os_user = _server_os_user(self.create_os_user)
        self.root = Path(tempfile.mkdtemp(prefix=cluster_prefix()))
        atexit.register(self.stop)
        try:
            write_owner(self.root)
            if self.watchdog:
                self._start_watchdog()
            self.socket_dir.mkdir(mode=0o700)
            if self._os_user is not None:
                for path in (self.root, self.socket_dir):
                    os.chown(path, self._os_user.uid, self._os_user.gid)
            self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def _initdb(self) -> None:
        auth = ["--auth=trust"]
        if self.password is not None:
            pwfile = self._root() / "pwfile"
            pwfile.write_text(self.password + "\n", encoding="utf-8")
            pwfile.chmod(0o600)
            if self._os_user is not None:
                os.chown(pwfile, self._os_user.uid, self._os_user.gid)
            auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
        try:
            result = self._run(
                [str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", SUPERUSER,
                 *auth, "--encoding=UTF8", "--locale=C", "--no-sync"],
            )
        finally:
            if self.password is not None:
                (self._root() / "pwfile").unlink(missing_ok=True)
        if result.returncode != 0:
            raise PostgresClusterError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        settings = {
            "listen_addresses": f"'{self.host}'" if self.tcp else "''",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "unix_socket_permissions": "0700",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "50",
            "shared_buffers": "32MB",
            "log_min_messages": "warning",
        }
        with (self.datadir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# b03lint throwaway cluster\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def _start_server(self) -> None:
        last_error = ""
        for _attempt in range(5):  # a port picked by free_port() can be taken meanwhile
            self.port = free_port(self.host) if self.tcp else SOCKET_ONLY_PORT
            result = self._run(
                [str(self.bindir / "pg_ctl"), "start", "-w", "-t", str(self.start_timeout),
                 "-D", str(self.datadir), "-l", str(self.logfile), "-o", f"-p {self.port}"],
            )
            if result.returncode == 0:
                self._running = True
                return
            last_error = f"{result.stdout}\n{result.stderr}\n{self._read_log()}"
            if not self.tcp or ("could not bind" not in last_error
                                and "already in use" not in last_error):
                break
        raise PostgresClusterError(f"pg_ctl start failed:\n{last_error}")

    def stop(self) -> None:
        """Stop the server (immediate mode) and delete the folder. Safe to call twice."""
        if self.root is None:
            return
        if self.datadir.exists() and (self.datadir / "postmaster.pid").exists():
            self._run(
                [str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir),
                 "-m", "immediate", "-w", "-t", "30"],
            )
        self._running = False
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
        atexit.unregister(self.stop)
        self._stand_down()

    # ------------------------------------------------------------------ watchdog

    def _start_watchdog(self) -> None:
        """The process that stops this cluster when we die (see the module's docstring)."""
        read_end, write_end = os.pipe()  # not inherited by other children (PEP 446)
        argv = [sys.executable, "-m", "b03lint.live.localpg", "--watch", "--fd",
                str(read_end), "--parent", str(os.getpid()), "--root", str(self.root),
                "--bindir", str(self.bindir)]
        if self._os_user is not None:
            argv += ["--user", self._os_user.name, "--uid", str(self._os_user.uid),
                     "--gid", str(self._os_user.gid)]
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        try:
            self._watchdog = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, pass_fds=(read_end,), start_new_session=True,
                env=env, cwd="/")
        finally:
            os.close(read_end)
        self._watchdog_pipe = write_end

    def _stand_down(self) -> None:
        """Tell the watchdog that the cluster is gone (one byte), and wait for it."""
        if self._watchdog_pipe >= 0:
            with contextlib.suppress(OSError):
                os.write(self._watchdog_pipe, b"x")
            with contextlib.suppress(OSError):
                os.close(self._watchdog_pipe)
            self._watchdog_pipe = -1
        if self._watchdog is not None:
            try:
                self._watchdog.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._watchdog.kill()
                self._watchdog.wait()
            self._watchdog = None

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._running

    # ------------------------------------------------------------------ use

    def url(self, dbname: str = "postgres") -> str:
        """A libpq URL for ``dbname`` as the superuser, e.g. for ``DATABASE_URL``."""
        if not self._running:
            raise PostgresClusterError("the cluster is not running")
        if self.tcp:
            auth = SUPERUSER
            if self.password is not None:
                auth += ":" + quote(self.password, safe="")
            return f"postgresql://{auth}@{self.host}:{self.port}/{dbname}"
        return (f"postgresql://{SUPERUSER}@/{dbname}?host={quote(str(self.socket_dir), safe='/')}"
                f"&port={self.port}")

    def connect(self, dbname: str = "postgres", *, autocommit: bool = True) -> Any:
        """A ``psycopg.Connection`` to ``dbname`` (psycopg 3 is imported lazily)."""
        import psycopg

        return psycopg.connect(self.url(dbname), autocommit=autocommit)

    def create_database(self, name: str) -> str:
        """Create database ``name`` (dropping an old one of that name first); returns its URL."""
        _check_identifier(name)
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, disconnecting its sessions; no error if it is missing."""
        _check_identifier(name)
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # ------------------------------------------------------------------ helpers

    def _run(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """Run a server binary as the unprivileged OS user, from inside the cluster folder
        (the server must be able to read its working directory), in a session of its own
        (a terminal's Ctrl-C must not reach the server behind our back)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        kwargs: dict[str, Any] = {}
        if self._os_user is not None:
            kwargs.update(user=self._os_user.uid, group=self._os_user.gid, extra_groups=[])
            env["HOME"] = str(self._root())
            env["USER"] = env["LOGNAME"] = self._os_user.name
        return subprocess.run(
            list(argv),
            cwd=self._root(),
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=self.start_timeout + 30,
            start_new_session=True,
            **kwargs,
        )

    def _read_log(self) -> str:
        try:
            return self.logfile.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return ""


def _check_identifier(name: str) -> None:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain database name: {name!r}")


# --------------------------------------------------------------------------- the watchdog


def _watch(argv: Sequence[str]) -> int:
    """The watchdog's main: wait until the starting process is gone (end of the pipe, or a
    new parent), then stop the server and remove the folder; one byte on the pipe means
    the cluster was stopped by its owner (nothing to do)."""
    p = argparse.ArgumentParser(prog="python -m b03lint.live.localpg --watch")
    p.add_argument("--watch", action="store_true")
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("--parent", type=int, required=True)
    p.add_argument("--root", type=Path, required=True)
    p.add_argument("--bindir", type=Path, required=True)
    p.add_argument("--user")
    p.add_argument("--uid", type=int)
    p.add_argument("--gid", type=int)
    args = p.parse_args(list(argv))
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    while True:
        ready, _, _ = select.select([args.fd], [], [], 1.0)
        if ready:
            try:
                data = os.read(args.fd, 1)
            except OSError:
                data = b""
            if data:
                return 0  # stood down: the cluster was stopped by its owner
            break
        if os.getppid() != args.parent:
            break
    cluster = PostgresCluster(args.bindir, watchdog=False)
    cluster.root = args.root
    if args.uid is not None and args.gid is not None:
        cluster._os_user = _OsUser(args.user or str(args.uid), args.uid, args.gid)
    cluster.stop()
    return 0


if __name__ == "__main__":
    if "--watch" in sys.argv[1:]:
        sys.exit(_watch(sys.argv[1:]))
