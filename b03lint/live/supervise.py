"""The parent's end of the migration process (:mod:`b03lint.live.child`): ``b03lint rebuild``
runs ``env.py`` and the migrations there, never in its own process.

:class:`MigrationProcess` starts the child (in a session of its own, in the folder of
``alembic.ini``), sends it one command at a time, reads its events and its output (masked
and logged) and enforces the migration timeout. What user code does to the child is a
finding, not a crash of b03lint:

- a migration that raises: :class:`~b03lint.live.MigrationFailure` (an ``M003``), as before;
- ``sys.exit(n)``, ``os._exit(n)``, a crash (a signal) or a hang (no answer within the
  migration timeout: the child is killed): :class:`MigrationAborted`, an ``M003`` at the
  revision that was running (the child says which before each one) and an error (the
  verdict is ERROR); the run stops, and its cleanup (drop the scratch database, stop the
  local cluster) still happens;
- a connection to anything but the scratch database: the child refuses it before anything
  is sent and the run ends with an error naming where the URL came from (exit 2);
- the server going away, a timeout, a missing privilege: :class:`~b03lint.live.LiveError`.

The child is killed (its whole process group) by :meth:`MigrationProcess.close`, on every
way out of the run; it also ends by itself when b03lint is gone (it polls its parent).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from b03lint.live import LiveError, MigrationFailure
from b03lint.live.compare import Context
from b03lint.live.connect import Target, explain
from b03lint.live.evidence import Evidence
from b03lint.live.redact import scrub

#: captured output kept per command (the rest is counted, not kept)
MAX_OUTPUT = 1 << 20
#: how long a child that was asked to end may take before it is killed (seconds)
GRACE = 5.0

Trace = Callable[[str, dict[str, Any], str | None], None]


class MigrationAborted(Exception):
    """User code ended or hung the migration process: an ``M003`` (``failure``) and an
    error; the run cannot go on."""

    def __init__(self, failure: MigrationFailure, error: str):
        super().__init__(error)
        self.failure = failure
        self.error = error


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class MigrationProcess:
    """Alembic's commands on one database, run by a supervised child process."""

    def __init__(self, ini: Path, target: Target, ev: Evidence, ctx: Context,
                 section: str = "alembic", *, timeout_ms: int = 600_000,
                 on_trace: Trace | None = None):
        if not ini.is_file():
            raise LiveError(f"{ini}: Alembic configuration not found (pass --alembic-ini)")
        self.ini = ini
        self.target = target
        self.ev = ev
        self.ctx = ctx
        self.section = section
        self.timeout_ms = timeout_ms
        self.on_trace = on_trace
        files = {}
        for rev, mf in ctx.project.graph.nodes.items():
            with contextlib.suppress(OSError):
                files[os.path.realpath(mf.path)] = rev
        self.files = files
        self.revisions: dict[str, tuple[str, ...]] = {}
        self.env_py: str | None = None
        self.verified = False
        #: commands also go to the round-trip log (guide 6.2) while this is set
        self.in_roundtrip = False
        #: the revision whose code runs now (the child's last ``start``)
        self.running: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._requests = -1
        self._events = -1
        self._buffer = b""
        self._output = bytearray()
        self._dropped = 0
        self._selector: selectors.BaseSelector | None = None
        #: a command was sent and its end not yet seen
        self._busy = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the child, send the setup, wait until it has read the scripts."""
        req_r, req_w = os.pipe()
        ev_r, ev_w = os.pipe()
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "b03lint.live.child", "--requests-fd", str(req_r),
                 "--events-fd", str(ev_w)],
                cwd=self.ini.parent, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(req_r, ev_w),
                start_new_session=True)
        except OSError as exc:
            for fd in (req_r, req_w, ev_r, ev_w):
                os.close(fd)
            raise LiveError(f"cannot start the migration process: {exc.strerror}") from None
        os.close(req_r)
        os.close(ev_w)
        self._requests, self._events = req_w, ev_r
        assert self.proc.stdout is not None
        out = self.proc.stdout.fileno()
        fcntl.fcntl(out, fcntl.F_SETFL, fcntl.fcntl(out, fcntl.F_GETFL) | os.O_NONBLOCK)
        self._selector = selectors.DefaultSelector()
        self._selector.register(ev_r, selectors.EVENT_READ, "events")
        self._selector.register(out, selectors.EVENT_READ, "output")
        self._busy = True  # until it is ready: an interrupt kills it at once
        self._send({"op": "setup", "ini": str(self.ini.resolve()), "section": self.section,
                    "url": self.target.url(), "target": self.target.params,
                    "parent": os.getpid(), "trace": self.on_trace is not None})
        deadline = time.monotonic() + self.timeout_ms / 1000
        try:
            event = self._next(deadline)
        except _Ended as ended:
            self._log_output()
            raise LiveError(scrub(f"the migration process ended while Alembic read the "
                                  f"scripts of {self.ini.name} ({ended.how})")) from None
        except _TimedOut:
            self._log_output()
            raise LiveError(f"Alembic did not read the scripts of {self.ini.name} within "
                            f"{self._seconds()} (--migration-timeout)") from None
        self._log_output()
        self._busy = event["event"] != "ready"
        if event["event"] == "refused":
            raise LiveError(scrub(str(event["message"])))
        if event["event"] != "ready":
            raise LiveError(scrub(str(event.get("message", event))))
        self.env_py = str(event["env_py"])
        self.revisions = {str(k): tuple(str(v) for v in vs)
                          for k, vs in event["revisions"].items()}

    def close(self) -> None:
        """End the child: asked first (the end of its requests) when it is idle, killed
        with its process group when it is busy or does not end. Safe to call twice."""
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        with contextlib.suppress(OSError):
            os.close(self._requests)
        if proc.poll() is None and not self._busy:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=GRACE)
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=GRACE)
        if self._selector is not None:
            self._selector.close()
        if self._events >= 0:
            with contextlib.suppress(OSError):
                os.close(self._events)
            self._events = -1
        if proc.stdout is not None:
            proc.stdout.close()

    # ------------------------------------------------------------------ alembic

    def known(self, rev: str) -> bool:
        return rev in self.revisions

    def parents(self, rev: str) -> tuple[str, ...]:
        return self.revisions.get(rev, ())

    def migrate(self, verb: str, rev: str) -> None:
        """``alembic upgrade|downgrade rev`` in the child; raises
        :class:`MigrationFailure` when a migration fails, :class:`MigrationAborted` when
        user code ended or hung the process, :class:`LiveError` when the environment
        fails."""
        if self.proc is None:
            raise LiveError("the migration process is not running")
        log = self.in_roundtrip
        named = f" -n {self.section}" if self.section != "alembic" else ""
        self.ev.command(f"DATABASE_URL={self.target.label()} alembic -c {self.ini.name}"
                        f"{named} {verb} {rev}", roundtrip=log)
        self.running = None
        self._busy = True
        self._send({"op": "migrate", "verb": verb, "rev": rev})
        deadline = time.monotonic() + self.timeout_ms / 1000
        while True:
            try:
                event = self._next(deadline)
            except _Ended as ended:
                self._log_output(log)
                raise self._aborted(verb, rev, f"the migration process {ended.how}",
                                    ended.how) from None
            except _TimedOut:
                self._kill()
                self._log_output(log)
                why = (f"did not finish within {self._seconds()} (--migration-timeout); "
                       "the migration process was killed")
                raise self._aborted(verb, rev, why, why) from None
            kind = event["event"]
            if kind == "start":
                self.running = str(event["revision"])
            elif kind == "trace":
                if self.on_trace is not None:
                    self.on_trace(str(event["kind"]), dict(event["data"]),
                                  event.get("revision"))
            elif kind in ("done", "failed", "refused"):
                break
        self._busy = kind == "refused"
        self._log_output(log)
        if kind == "refused":
            raise LiveError(scrub(str(event["message"])))
        if kind == "failed":
            self._failed(verb, rev, event)
        if verb == "upgrade" and not self.verified:
            self._verify_target()

    def _failed(self, verb: str, rev: str, event: dict[str, Any]) -> None:
        doing = f"alembic {verb} {rev}"
        message = scrub(str(event.get("message", "")))
        if event.get("kind") in ("environment", "command"):
            raise LiveError(message)
        failure = self._failure(verb, rev, message, event.get("frames") or [])
        if event.get("kind") == "exit":
            self._kill()
            raise MigrationAborted(failure, scrub(
                f"{doing} was cut short: {message} in {failure.revision or 'env.py'}; the "
                "migration process ended and the rebuild is incomplete"))
        raise failure

    def _failure(self, verb: str, rev: str, detail: str,
                 frames: list[list[Any]]) -> MigrationFailure:
        """The failure at the deepest frame of a revision file, else the revision that was
        running, else ``env.py``."""
        revision, path, line = None, None, None
        for filename, lineno in frames:
            if str(filename) in self.files:
                revision, line = self.files[str(filename)], int(lineno)
        if revision is None:
            revision = self.running
        if revision is not None and revision in self.ctx.project.graph.nodes:
            path = self.ctx.project.graph.nodes[revision].path
        elif revision is None and self.env_py is not None:
            path = self.env_py
            line = next((int(n) for f, n in reversed(frames) if str(f) == self.env_py), 1)
        if path is None:
            line = None
        return MigrationFailure(verb, rev, revision, detail, path, line)

    def _aborted(self, verb: str, rev: str, detail: str, how: str) -> MigrationAborted:
        failure = self._failure(verb, rev, detail, [])
        where = failure.revision or "env.py"
        return MigrationAborted(failure, scrub(
            f"alembic {verb} {rev} was cut short in {where}: {how}; the rebuild is "
            "incomplete"))

    def _verify_target(self) -> None:
        """Alembic must have written to the scratch database (the version table must be
        ``alembic_version``)."""
        import psycopg

        try:
            with self.target.connect() as conn:
                found = conn.execute("SELECT count(*) FROM pg_catalog.pg_class WHERE relname "
                                     "= 'alembic_version' AND relkind IN ('r', 'p')").fetchone()
        except psycopg.Error as exc:
            raise explain(exc, f"cannot read {self.target.label()}") from None
        if not found or not found[0]:
            raise LiveError(f"alembic did not write to the scratch database "
                            f"{self.target.label()}: its env.py must take the database from "
                            "DATABASE_URL (or sqlalchemy.url), and the version table must be "
                            "alembic_version")
        self.verified = True

    # ------------------------------------------------------------------ the pipes

    def _seconds(self) -> str:
        return f"{self.timeout_ms / 1000:g} s"

    def _send(self, request: dict[str, Any]) -> None:
        data = (json.dumps(request) + "\n").encode()
        try:
            while data:
                data = data[os.write(self._requests, data):]
        except OSError:
            pass  # the child is gone: its events pipe says so

    def _kill(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=GRACE)

    def _next(self, deadline: float) -> dict[str, Any]:
        """The next event of the child, reading its output meanwhile."""
        assert self._selector is not None and self.proc is not None
        while True:
            line, sep, rest = self._buffer.partition(b"\n")
            if sep:
                self._buffer = rest
                self._drain()
                event: dict[str, Any] = json.loads(line)
                return event
            if self._events < 0:
                self._drain()
                raise _Ended(self._how_it_ended())
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _TimedOut
            for key, _mask in self._selector.select(min(remaining, 1.0)):
                if key.data == "output":
                    self._drain()
                    continue
                chunk = os.read(self._events, 65536)
                if chunk:
                    self._buffer += chunk
                else:
                    self._selector.unregister(self._events)
                    os.close(self._events)
                    self._events = -1

    def _drain(self) -> None:
        """Read what the child printed so far (never blocks)."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                return
            if not chunk:
                with contextlib.suppress(KeyError, ValueError):
                    assert self._selector is not None
                    self._selector.unregister(fd)
                return
            room = MAX_OUTPUT - len(self._output)
            self._output += chunk[:max(room, 0)]
            self._dropped += max(len(chunk) - max(room, 0), 0)

    def _how_it_ended(self) -> str:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=GRACE)
        except subprocess.TimeoutExpired:
            self._kill()
            return "closed its events pipe and was killed"
        if code < 0:
            return f"was killed by {_signal_name(-code)}"
        return f"exited with code {code} without finishing (os._exit or a crash)"

    def _log_output(self, roundtrip: bool = False) -> None:
        text = self._output.decode("utf-8", errors="replace")
        if self._dropped:
            text += f"\n[... {self._dropped} more byte(s) of output not kept]"
        self._output = bytearray()
        self._dropped = 0
        self.ev.output(text, roundtrip=roundtrip)


class _Ended(Exception):
    def __init__(self, how: str):
        super().__init__(how)
        self.how = how


class _TimedOut(Exception):
    pass
