"""Live-database mode (the optional extra ``b03lint[live]``: psycopg 3 and Alembic).

- :mod:`~b03lint.live.introspect`: the PostgreSQL catalog -> :class:`~b03lint.schema.model.Schema`
  (read-only transaction, one query per object kind);
- :mod:`~b03lint.live.reconcile`: a live database vs the canonical schema (``b03lint reconcile``);
- :mod:`~b03lint.live.rebuild`: a scratch database, ``alembic upgrade`` through Alembic's API,
  the live result vs the canonical schema and vs the static replay (``b03lint rebuild``);
- :mod:`~b03lint.live.child`, :mod:`~b03lint.live.supervise`: ``env.py`` and the migrations
  run in a supervised child process whose every connection must be the scratch database;
- :mod:`~b03lint.live.roundtrip`, :mod:`~b03lint.live.probes`: downgrade/upgrade round trip
  and behavioural CHECK probes on the scratch database;
- :mod:`~b03lint.live.evidence`: the guide's artefacts; :mod:`~b03lint.live.redact`:
  passwords never leave the process; :mod:`~b03lint.live.localpg`: a throwaway local cluster.

Nothing here is imported by ``b03lint check``; psycopg and Alembic are imported inside the
functions that use them, and :func:`require` turns their absence into a clear message.
"""

from __future__ import annotations

import importlib

INSTALL_HINT = "install b03lint[live] (pip install 'b03lint[live]')"


class LiveError(Exception):
    """Live mode could not do its job (exit code 2): the message is clear, one line, and
    already free of passwords (see :mod:`b03lint.live.redact`)."""


def require(*modules: str) -> None:
    """Import ``modules`` (``psycopg``, ``alembic``) or raise :class:`LiveError`."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            raise LiveError(f"live mode needs {name}, which is not installed: "
                            f"{INSTALL_HINT}") from None


class MigrationFailure(Exception):
    """A revision's ``upgrade()``/``downgrade()`` raised against the server (a finding,
    ``M003``, not a tool error). ``revision`` is the revision whose code failed (None when
    unknown), ``verb`` ``upgrade`` or ``downgrade``, ``path``/``line`` where in that
    revision's file, ``detail`` the password-free message."""

    def __init__(self, verb: str, target: str, revision: str | None, detail: str,
                 path: str | None = None, line: int | None = None):
        super().__init__(detail)
        self.verb = verb
        self.target = target
        self.revision = revision
        self.detail = detail
        self.path = path
        self.line = line
