"""The client side of the resident process (``b03lint daemon``): hand a ``check`` to a
b03lint that has already started and imported everything, and relay its exit code.

A pre-commit run that the result cache cannot serve (a migration was just edited) spends
most of its time starting Python and importing the engine, the rules, PyYAML and pglast.
With ``b03lint daemon start`` such a run is instead forked from a resident process that
has done all that once (:mod:`b03lint.commands.daemon`); this module is what the command
line runs first, and it imports only built-in modules (``_socket`` only when a resident
process of this very installation exists), so a machine without one pays one ``stat``.

The request carries everything a run depends on that a fork would not have: the command
line, the working directory, the whole environment, ``sys.path``, the umask, the
encodings and buffering of the standard streams, which of SIGINT, SIGTERM and SIGHUP are
ignored, and the file descriptors 0-2 themselves (``SCM_RIGHTS``): the run writes to this
process's terminal or pipes directly, so its output is byte for byte what a run in this
process would write. The reply is a stream of five-byte frames: ``P`` and the run's
process group (SIGINT, SIGTERM and SIGHUP received here are passed on to it), then ``X``
and its exit code (a negative code: the signal that killed it, which then kills this
process too, as it would have killed a run of its own); or ``S`` alone: the resident
process is out of date (a module it imported changed), and the run is done here.

Only a resident process of the same b03lint, the same interpreter, the same ``sys.path``
and the same import-time environment is used: its socket's name is a hash of all of them
(:func:`key`). The socket lives in a folder only this user can open
(``$XDG_RUNTIME_DIR/b03lint``, else ``/tmp/b03lint-<uid>``), and both ends check the
other's user id. ``B03LINT_DAEMON=off`` never delegates.
"""

from __future__ import annotations

import marshal
import os
import sys

from b03lint import __version__
from b03lint.private import private_folder

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without the bundled BLAKE2
    from hashlib import blake2b

#: bump when the request or the reply changes
PROTOCOL = 1
#: what a module may read when it is imported, or what changes how Python writes: a
#: resident process started with other values is a different one
KEY_ENV = ("PYTHONHASHSEED", "PYTHONUTF8", "PYTHONIOENCODING", "PYTHONWARNINGS",
           "PYTHONSAFEPATH", "LC_ALL", "LC_CTYPE", "LANG", "B03LINT_PLAIN_DATACLASSES")
SWITCH = "B03LINT_DAEMON"
#: the top-level modules the server imports ahead (see :mod:`b03lint.commands.daemon`),
#: as a file or a package in the folder of ``sys.path[0]``
SHADOWED = (os.path.join("b03lint", "__init__.py"), os.path.join("yaml", "__init__.py"),
            "yaml.py", os.path.join("pglast", "__init__.py"), "pglast.py")
#: the signals passed on to the run (and whose "ignored" the run inherits)
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP")
FRAME = 5
#: a request larger than this is refused (the environment of a sane shell is a few KB)
MAX_REQUEST = 1 << 24
#: sockaddr_un's path is 108 bytes on Linux, 104 on the BSDs
MAX_SOCKET_PATH = 100


#: set when this process found no resident process to use (none, or one out of date):
#: with ``B03LINT_DAEMON=auto`` the command line then starts one for the next check
WANTED = [False]


def _mode() -> str:
    return os.environ.get(SWITCH, "").strip().lower()


def disabled() -> bool:
    return _mode() in ("off", "0", "no", "false")


def autostart() -> None:
    """With ``B03LINT_DAEMON=auto``, after a check that found no resident process: start
    one in the background (``b03lint daemon start`` by the same interpreter, script and
    options as this process, so that it has the same :func:`key`) and do not wait."""
    if not WANTED[0] or _mode() != "auto":
        return
    import subprocess

    args = len(sys.argv) - 1
    prefix = sys.orig_argv[:len(sys.orig_argv) - args] if args else list(sys.orig_argv)
    import contextlib

    with contextlib.suppress(OSError):  # the next check tries again
        subprocess.Popen([*prefix, "daemon", "start"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)


def key() -> str:
    """The name of the resident process that may run this process's checks: everything a
    fork of it shares with this process and could differ (see the module docstring)."""
    first = sys.path[0] if sys.path else ""
    # the script's folder, or the working folder of `python -m`, differs from run to run:
    # what matters is only whether it holds a module the server imported ahead
    shadows = [name for name in SHADOWED
               if os.path.exists(os.path.join(first or ".", name))]
    parts = [f"protocol {PROTOCOL}", f"b03lint {__version__}", os.path.dirname(__file__),
             sys.version, sys.executable, sys.prefix, repr(tuple(sys.flags)),
             "shadows", *shadows, "path", *sys.path[1:], "env",
             *(f"{name}={os.environ.get(name)}" for name in KEY_ENV)]
    return blake2b("\0".join(parts).encode("utf-8", "surrogatepass"),
                   digest_size=12).hexdigest()


def socket_dir() -> str:
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if base and os.path.isabs(base) and private_folder(base):
        return os.path.join(base, "b03lint")
    return os.path.join("/tmp", f"b03lint-{os.geteuid()}")


def socket_path() -> str | None:
    """Where this installation's resident process listens; None when the path would be
    too long for a socket."""
    path = os.path.join(socket_dir(), key() + ".sock")
    return path if len(os.fsencode(path)) <= MAX_SOCKET_PATH else None


def frame(tag: bytes, value: int) -> bytes:
    return tag + value.to_bytes(4, "big", signed=True)


def peer_cred(sock: object) -> tuple[int, int] | None:
    """The process id and user id of the other end of a connected Unix socket (Linux
    ``SO_PEERCRED``); None when the system cannot say or the socket is gone."""
    import _socket

    option = getattr(_socket, "SO_PEERCRED", None)
    if option is None:  # pragma: no cover - not Linux
        return None
    try:
        raw: bytes = sock.getsockopt(_socket.SOL_SOCKET, option, 12)  # type: ignore[attr-defined]
    except OSError:
        return None
    return int.from_bytes(raw[0:4], sys.byteorder), int.from_bytes(raw[4:8], sys.byteorder)


def peer_uid(sock: object) -> int | None:
    """The user id of the other end of a connected Unix socket (:func:`peer_cred`)."""
    import _socket

    if getattr(_socket, "SO_PEERCRED", None) is None:  # pragma: no cover - not Linux:
        return os.geteuid()  # the folder's mode is the check
    cred = peer_cred(sock)
    return None if cred is None else cred[1]


def _streams() -> list[tuple[str | None, str | None, bool, bool]] | None:
    out = []
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if stream is None:
            return None
        out.append((getattr(stream, "encoding", None), getattr(stream, "errors", None),
                    bool(getattr(stream, "line_buffering", False)),
                    bool(getattr(stream, "write_through", False))))
    return out


def request(argv: Sequence[str]) -> bytes | None:
    import _signal  # type: ignore[import-not-found]

    streams = _streams()
    if streams is None:
        return None
    ignored = [name for name in FORWARDED
               if _signal.getsignal(getattr(_signal, name)) == _signal.SIG_IGN]
    umask = os.umask(0o022)
    os.umask(umask)
    body = marshal.dumps({"argv": list(argv), "cwd": os.getcwd(), "env": dict(os.environ),
                          "path": list(sys.path), "umask": umask, "streams": streams,
                          "ignored": ignored})
    return len(body).to_bytes(4, "big") + body


def delegate(argv: Sequence[str]) -> int | None:
    """Run ``argv`` (a whole command line, ``argv[0]`` included) in the resident process
    and return its exit code; None when there is none for this installation, it is out of
    date, or anything about the hand-over fails before the run began (the caller then
    runs the command itself)."""
    if disabled():
        return None
    path = socket_path()
    if path is None:
        return None
    try:
        kind = os.stat(path).st_mode & 0o170000
    except OSError:
        WANTED[0] = True
        return None
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:
        return None
    if kind != 0o140000:
        return None
    if not private_folder(os.path.dirname(path)):
        return None
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        try:
            sock.connect(path)
        except OSError:
            WANTED[0] = True  # a socket nobody listens on: a server that died
            return None
        if peer_uid(sock) != os.geteuid():
            return None
        payload = request(argv)
        if payload is None:
            return None
        fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
        try:
            sent = sock.sendmsg([payload], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
            if sent < len(payload):
                sock.sendall(payload[sent:])
        except OSError:
            return None
        return _follow(sock)
    finally:
        sock.close()


def _follow(sock: object) -> int | None:
    """Read the reply frames, passing this process's signals on to the run."""
    import _signal

    group = [0]
    pending: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        if group[0]:
            try:  # noqa: SIM105 - contextlib is not a built-in module
                os.killpg(group[0], signum)
            except OSError:
                pass
        else:
            pending.append(signum)

    previous = {}
    for name in FORWARDED:
        number = getattr(_signal, name)
        old = _signal.getsignal(number)
        if old != _signal.SIG_IGN:
            previous[number] = old
            _signal.signal(number, forward)
    try:
        buf = b""
        while True:
            try:
                chunk: bytes = sock.recv(256)  # type: ignore[attr-defined]
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while len(buf) >= FRAME:
                tag, value = buf[:1], int.from_bytes(buf[1:FRAME], "big", signed=True)
                buf = buf[FRAME:]
                if tag == b"S":
                    WANTED[0] = True
                    return None
                if tag == b"P":
                    group[0] = value
                    for signum in pending:
                        forward(signum, None)
                elif tag == b"X":
                    return _exit_code(value)
        if not group[0]:
            return None  # refused before the run began: run here
    finally:
        for number, old in previous.items():
            _signal.signal(number, old)
    print("b03lint: the resident process ended the run without an exit code "
          "(`b03lint daemon stop`, or B03LINT_DAEMON=off, to run without it)",
          file=sys.stderr)
    return 2


def _exit_code(value: int) -> int:
    """The run's exit code; a run killed by a signal kills this process the same way."""
    if value >= 0:
        return value
    import _signal

    signum = -value
    try:
        sys.stdout.flush()
        _signal.signal(signum, _signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    except (OSError, ValueError):
        pass
    return 128 + signum
