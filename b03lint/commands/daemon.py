"""`b03lint daemon`: the resident process (opt-in) that runs each ``check`` in a fork of
an interpreter that has already imported b03lint, its rules, PyYAML and pglast.

The client side is :mod:`b03lint.resident`. Here:

* **start** forks twice (a new session, the standard streams on ``/dev/null``), imports
  the check path (:func:`_preload`) and listens on the socket of
  :func:`b03lint.resident.socket_path` (mode 0600, in a folder of mode 0700 that only
  this user owns); it prints the process id once it listens. ``--foreground`` keeps it
  in the terminal (for a service manager).
* **Per connection** the server forks a *relay* and goes back to ``accept``. The relay
  checks the caller's user id (``SO_PEERCRED``: any other user is refused without a
  word), reads the request and its three file descriptors, and compares every module
  the server imported from outside the standard library with its size and modification
  time at start: when one changed (b03lint upgraded or edited, a rule pack updated) it
  answers ``S`` and stops the server, and the caller runs the check itself. Otherwise
  it forks the *runner* in a process group of its own, answers ``P`` and the group,
  waits for the runner (or for the caller to go away: the group is then terminated)
  and answers ``X`` and the exit code, or minus the signal that killed the runner.
* **The runner** becomes the caller's process: its file descriptors 0-2, working
  directory, environment, umask, ``sys.argv``, ``sys.path``, standard streams (same
  encodings and buffering) and signal dispositions; then runs ``cli.main`` as a whole
  process would, except that the result cache was already asked by the caller.
* **Held values.** A runner tells the server, down a pipe, which parse-cache folders its
  check read; between requests the server unpickles the entries of their packs (signed
  with this user's secret; nothing is ever deleted) and keeps them, by the digest of
  their bytes (:mod:`b03lint.held`, :mod:`b03lint.holding`), so that the next runner
  takes each value instead of unpickling the same bytes: on a 437-revision chain the
  edited pre-commit check went from about 80 to 68 ms. ``status`` says how much is held.
* The server stops after ``--idle-timeout`` seconds without a connection, on
  ``b03lint daemon stop`` (SIGTERM), when it finds itself out of date, and when its
  socket is gone or is another server's (checked every :data:`_WATCH` seconds); it
  removes its socket when it stops, unless another server has taken its place.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import signal
import socket
import sys
from typing import Any

from b03lint import resident

TYPE_CHECKING = False
if TYPE_CHECKING:
    from b03lint.holding import Holder

HELP = ("keep a resident b03lint that starts each check without Python's start-up and "
        "imports (opt-in; see `b03lint daemon status`)")

#: never imported ahead: the live database, the language server, the test helpers, and
#: the other commands (a check does not use them)
_NOT_PRELOADED = ("b03lint.live", "b03lint.server", "b03lint.testing", "b03lint.commands.",
                  "b03lint.__main__", "b03lint.fixes")
#: third-party modules a check imports only when a file needs them
#: how often (seconds) an idle server checks that its socket is still there
_WATCH = 5.0
#: beside the socket: what the server holds (`b03lint daemon status` shows it)
_STATUS = ".status"
_THIRD_PARTY = ("yaml", "pglast", "pglast.ast", "pglast.enums", "pglast.stream")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("start", "stop", "status"),
                   help="start the resident process, stop it, or say whether it runs")
    p.add_argument("--idle-timeout", type=float, default=3600.0, metavar="SECONDS",
                   help="stop after this long without a check (default: 3600; 0: never)")
    p.add_argument("--foreground", action="store_true",
                   help="start: stay in the foreground (for a service manager)")


def run(args: argparse.Namespace) -> int:
    path = resident.socket_path()
    if path is None:
        print(f"b03lint daemon: the socket path under {resident.socket_dir()} is too long "
              "for a Unix socket; set XDG_RUNTIME_DIR to a short private folder",
              file=sys.stderr)
        return 2
    if args.action == "status":
        pid = _running(path)
        if pid is None:
            print(f"b03lint daemon: not running (socket {path})")
            return 1
        print(f"b03lint daemon: running, pid {pid}, socket {path}")
        with contextlib.suppress(OSError), open(path + _STATUS, encoding="utf-8") as fh:
            print(f"b03lint daemon: {fh.read(200).strip()}")
        return 0
    if args.action == "stop":
        pid = _running(path)
        if pid is None:
            print("b03lint daemon: not running")
            return 0
        os.kill(pid, signal.SIGTERM)
        print(f"b03lint daemon: stopped pid {pid}")
        return 0
    if resident.disabled():
        print(f"b03lint daemon: {resident.SWITCH} is off: checks would not use it",
              file=sys.stderr)
        return 2
    pid = _running(path)
    if pid is not None:
        print(f"b03lint daemon: already running, pid {pid}, socket {path}")
        return 0
    if args.idle_timeout < 0:
        print("b03lint daemon: --idle-timeout must be 0 or more", file=sys.stderr)
        return 2
    return _start(path, args.idle_timeout, args.foreground)


# --------------------------------------------------------------------------- control


def _running(path: str) -> int | None:
    """The pid of the server listening at ``path``, when one does and is this user's."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if (st.st_mode & 0o170000) != 0o140000:  # not a socket
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(5)
        sock.connect(path)
        cred = resident.peer_cred(sock)
    except OSError:
        return None
    finally:
        sock.close()
    return cred[0] if cred is not None and cred[1] == os.geteuid() else None


def _prepare_dir(folder: str) -> str | None:
    """Make the socket folder (mode 0700); an error message when it is not private."""
    from b03lint.private import private_folder

    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        return f"cannot create {folder}: {exc.strerror}"
    if not private_folder(folder) or os.stat(folder).st_mode & 0o077:
        return (f"{folder} is not a folder only this user can open (mode 0700, owned "
                "by this user): refusing to put the socket there")
    return None


def _bind(path: str) -> socket.socket:
    """Bind the socket with mode 0600 (the umask is set around the bind, so no other
    user can ever connect to it) and replace a dead server's leftover socket."""
    if os.path.lexists(path):
        os.unlink(path)  # nobody answered on it (_running): a leftover
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    return sock


def _start(path: str, idle: float, foreground: bool) -> int:
    problem = _prepare_dir(os.path.dirname(path))
    if problem is not None:
        print(f"b03lint daemon: {problem}", file=sys.stderr)
        return 2
    import fcntl

    # two starts at once (B03LINT_DAEMON=auto in two terminals): the second one waits
    # here until the first one's server listens, then finds it instead of replacing it
    lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pid = _running(path)
        if pid is not None:
            print(f"b03lint daemon: already running, pid {pid}, socket {path}")
            return 0
        listener = _bind(path)
        if foreground:
            listener.listen(64)
            os.close(lock)
            lock = -1
            print(f"b03lint daemon: running, pid {os.getpid()}, socket {path}", flush=True)
            _serve(listener, path, idle)
            return 0
        return _detach(listener, path, idle, lock)
    finally:
        if lock >= 0:
            os.close(lock)


def _detach(listener: socket.socket, path: str, idle: float, lock: int) -> int:
    """Serve from a grandchild in a session of its own; its pid once it listens (the
    process that calls ``listen`` is the one ``SO_PEERCRED`` names)."""
    sys.stdout.flush()
    sys.stderr.flush()
    ready_r, ready_w = os.pipe()
    first = os.fork()
    if first == 0:  # pragma: no cover - measured by the tests from the outside
        os.close(ready_r)
        os.close(lock)  # the lock is the parent's to release, once this one listens
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        code = 0
        try:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.chdir("/")
            listener.listen(64)
            os.write(ready_w, f"{os.getpid()}\n".encode())
            os.close(ready_w)
            _serve(listener, path, idle)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.write(ready_w, f"error {type(exc).__name__}: {exc}\n".encode())
            code = 2
        os._exit(code)
    os.close(ready_w)
    listener.close()
    os.waitpid(first, 0)
    with os.fdopen(ready_r, "rb") as fh:
        said = fh.read().decode(errors="replace").strip()
    if not said.isdigit():
        print(f"b03lint daemon: could not start: {said or 'no answer'}", file=sys.stderr)
        return 2
    print(f"b03lint daemon: started, pid {said}, socket {path}")
    return 0


# --------------------------------------------------------------------------- server


def _preload() -> None:
    """Import what a check imports (b03lint's modules except those of _NOT_PRELOADED, and
    the third-party parsers), so that a runner forked from here imports nothing."""
    import importlib
    import pkgutil

    import b03lint

    names = ["b03lint.commands.check", *_THIRD_PARTY]
    for info in pkgutil.iter_modules(b03lint.__path__, "b03lint."):
        names.append(info.name)
        if info.ispkg and not info.name.startswith(_NOT_PRELOADED):
            package = importlib.import_module(info.name)
            names += [sub.name for sub in pkgutil.walk_packages(package.__path__,
                                                                info.name + ".")]
    for name in names:
        if name.startswith(_NOT_PRELOADED) and name != "b03lint.commands.check":
            continue
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _snapshot() -> list[tuple[str, int, int]]:
    """Size and modification time of every module imported from outside the standard
    library (site-packages counts as outside), and of every source file of b03lint (what
    :func:`b03lint.cache.code_stamp`, computed once here, stands for)."""
    import b03lint

    stdlib = os.path.join(os.path.dirname(os.__file__), "")
    places = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
    for package in b03lint.__path__:
        for folder, dirs, files in os.walk(package):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            places.update(os.path.join(folder, f) for f in files if f.endswith(".py"))
    out = []
    for where in sorted(p for p in places if isinstance(p, str)):
        if where.startswith(stdlib) and "-packages" not in where:
            continue
        try:
            st = os.stat(where)
        except OSError:
            continue
        out.append((where, st.st_size, st.st_mtime_ns))
    return out


def _stale(snapshot: list[tuple[str, int, int]]) -> bool:
    for where, size, mtime in snapshot:
        try:
            st = os.stat(where)
        except OSError:
            return True
        if st.st_size != size or st.st_mtime_ns != mtime:
            return True
    return False


def _serve(listener: socket.socket, path: str, idle: float) -> None:
    me = os.stat(path).st_ino
    server = os.getpid()

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    # first of all: a stop that comes while the imports below run still removes the socket
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # relays are reaped by the kernel
    try:
        from b03lint import codecache

        codecache.install()
        _preload()
        from b03lint.cache import code_stamp

        code_stamp()  # remembered (lru_cache) for every runner: the snapshot stands for it
        from b03lint import cli

        cli.PREBUILT["check"] = cli.build_parser("check")
        snapshot = _snapshot()
        import gc
        import select
        import time

        gc.freeze()  # what was imported is never collected: forks need not walk it
        # runners report the cache folders they read; the server then holds their values
        feedback, report_to = os.pipe()
        os.set_blocking(feedback, False)
        os.set_blocking(report_to, False)
        from b03lint.holding import Holder

        holder = Holder()
        listener.setblocking(False)
        last = time.monotonic()
        while True:
            ready, _, _ = select.select([listener.fileno(), feedback], [], [],
                                        min(idle, _WATCH) if idle else _WATCH)
            if not ready:
                if idle and time.monotonic() - last >= idle:
                    return
                if not _still_ours(path, me):
                    return  # its folder was removed, or another server took the name
                continue
            if listener.fileno() in ready:
                try:
                    conn, _ = listener.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                conn.setblocking(True)
                last = time.monotonic()
                if os.fork() == 0:
                    listener.close()
                    os.close(feedback)
                    code = 0
                    try:
                        _relay(conn, snapshot, server, report_to)
                    except BaseException:
                        code = 2
                    os._exit(code)
                conn.close()
            elif feedback in ready:  # between requests: a request never waits for this
                folders = _reported(feedback)
                if folders:
                    holder.hold(folders)
                    gc.freeze()
                    _write_status(path, holder)
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            # (a relay stopped before it reset its signals must not remove the socket)
            if os.getpid() == server and os.stat(path).st_ino == me:
                os.unlink(path)
        with contextlib.suppress(OSError):
            if os.getpid() == server:
                os.unlink(path + _STATUS)


def _reported(feedback: int) -> list[str]:
    """The folders the runners reported since the last look, most recent last."""
    data = b""
    while True:
        try:
            chunk = os.read(feedback, 1 << 16)
        except (BlockingIOError, InterruptedError):
            break
        if not chunk:
            break
        data += chunk
    folders: list[str] = []
    for line in data.split(b"\n"):
        for raw in line.split(b"\0"):
            folder = raw.decode("utf-8", "surrogateescape")
            if os.path.isabs(folder):
                if folder in folders:
                    folders.remove(folder)
                folders.append(folder)
    return folders


def _write_status(path: str, holder: Holder) -> None:
    """What `b03lint daemon status` says about the values held (next to the socket)."""
    from b03lint import held

    text = (f"holding {len(held.VALUES)} cached values ({holder.total / 1e6:.1f} MB of "
            f"pickles) from {len(holder.packs)} cache folder"
            f"{'' if len(holder.packs) == 1 else 's'}\n")
    tmp = f"{path}{_STATUS}.{os.getpid()}"
    with contextlib.suppress(OSError):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path + _STATUS)


def _still_ours(path: str, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]] | None:
    fd_size = 3 * 4
    conn.settimeout(30)
    data, ancillary, _flags, _addr = conn.recvmsg(1 << 16, socket.CMSG_SPACE(fd_size))
    fds: list[int] = []
    for level, kind, raw in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += [int.from_bytes(raw[i:i + 4], sys.byteorder)
                    for i in range(0, len(raw) - len(raw) % 4, 4)]
    if len(data) < 4 or len(fds) != 3:
        return None
    size = int.from_bytes(data[:4], "big")
    if size > resident.MAX_REQUEST:
        return None
    body = bytearray(data[4:])
    while len(body) < size:
        chunk = conn.recv(min(1 << 20, size - len(body)))
        if not chunk:
            return None
        body += chunk
    import marshal

    message = marshal.loads(bytes(body))
    return (message, fds) if isinstance(message, dict) else None


def _relay(conn: socket.socket, snapshot: list[tuple[str, int, int]], server: int,
           report_to: int) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if resident.peer_uid(conn) != os.geteuid():
        return  # another user: not a word
    got = _receive(conn)
    if got is None:
        return
    message, fds = got
    if _stale(snapshot):
        conn.sendall(resident.frame(b"S", 0))
        os.kill(server, signal.SIGTERM)
        return
    answers, answer_to = os.pipe()  # the runner's exit frame, as soon as it has one
    runner = os.fork()
    if runner == 0:
        conn.close()
        os.close(answers)
        os.setpgid(0, 0)
        _runner(message, fds, report_to, answer_to)  # never returns
    with contextlib.suppress(OSError):  # the runner did it first, or has already ended
        os.setpgid(runner, runner)
    for fd in (*fds, report_to, answer_to):
        os.close(fd)
    conn.sendall(resident.frame(b"P", runner))
    status = _wait(runner, conn, answers)
    if status is None:
        return  # the caller has its answer
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status)
    with contextlib.suppress(OSError):
        conn.sendall(resident.frame(b"X", code))


def _wait(runner: int, conn: socket.socket, answers: int) -> int | None:
    """The runner's wait status, or None when it answered the caller itself (through
    ``answers``) before it ended; the caller going away before that terminates the
    runner's group."""
    import select

    try:
        pidfd = os.pidfd_open(runner)
    except (AttributeError, OSError):  # pragma: no cover - before Linux 5.3
        return os.waitpid(runner, 0)[1]
    poll = select.poll()
    poll.register(pidfd, select.POLLIN)
    poll.register(answers, select.POLLIN)
    poll.register(conn.fileno(), select.POLLIN | select.POLLHUP)
    watching, answered = True, False
    while True:
        for fd, _event in poll.poll():
            if fd == pidfd:
                os.close(pidfd)
                status = os.waitpid(runner, 0)[1]
                return None if answered else status
            if fd == answers:
                got = os.read(answers, resident.FRAME)  # the runner's frame, passed on
                poll.unregister(answers)
                if len(got) == resident.FRAME and watching:
                    with contextlib.suppress(OSError):
                        conn.sendall(got)
                    answered = True
                    watching = False  # the caller may now go: the runner finishes alone
                    poll.unregister(conn.fileno())
            elif watching and not conn.recv(4096):  # (bytes after the request: ignored)
                watching = False  # the caller is gone: nobody will read the result
                poll.unregister(conn.fileno())
                with contextlib.suppress(OSError):
                    os.killpg(runner, signal.SIGTERM)


def _stream(fd: int, mode: str, spec: Any) -> Any:
    import io

    encoding, errors, line_buffering, write_through = spec
    binary = open(fd, mode + "b", closefd=False)  # noqa: SIM115 - the process's own stream
    return io.TextIOWrapper(binary, encoding=encoding, errors=errors, newline="\n",
                            line_buffering=line_buffering, write_through=write_through)


def _runner(message: dict[str, Any], fds: list[int], report_to: int, answer_to: int
            ) -> None:
    """Become the caller's process and run its command line; answer the caller (through
    ``answer_to``, to the relay) as soon as the command has returned; then record the
    result and tell the server (``report_to``) which cache folders the run read. Never
    returns."""
    code = 2
    try:
        ignored = set(message["ignored"])
        signal.signal(signal.SIGINT, signal.SIG_IGN if "SIGINT" in ignored
                      else signal.default_int_handler)
        for name in ("SIGTERM", "SIGHUP"):
            signal.signal(getattr(signal, name),
                          signal.SIG_IGN if name in ignored else signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as Python's start-up leaves it
        for target, fd in enumerate(fds):
            if fd != target:
                os.dup2(fd, target)
        for fd in set(fds) - {0, 1, 2}:
            os.close(fd)
        os.chdir(message["cwd"])
        os.environ.clear()
        os.environ.update(message["env"])
        os.umask(message["umask"])
        sys.argv = list(message["argv"])
        sys.path[:] = message["path"]
        specs = message["streams"]
        for fd, name in enumerate(("stdin", "stdout", "stderr")):
            stream = _stream(fd, "r" if fd == 0 else "w", specs[fd])
            setattr(sys, name, stream)
            setattr(sys, f"__{name}__", stream)
        from b03lint import cli, held

        held.REPORTING[0] = True
        code = cli.main(in_resident=True, answer=functools.partial(_answer, answer_to))
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        _flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException as exc:
        with contextlib.suppress(Exception):
            print(f"b03lint: internal error in the resident process: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)
        code = 2
    _flush()
    from b03lint import held

    held.report(report_to)
    os._exit(code)


def _answer(answer_to: int, code: int) -> None:
    """The run's output is complete: give the caller back its streams (what the runner
    still writes goes nowhere) and its exit code, without waiting for the runner's end."""
    _flush()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    os.write(answer_to, resident.frame(b"X", code))
    os.close(answer_to)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
