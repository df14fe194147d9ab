"""Who made a scratch database or a local cluster, and whether that run is still alive.

Every scratch database is named ``b03lint_scratch_<host>_<pid>_<start>_<random>``: ``host``
is a hash of the host name (8 hex digits), ``pid`` the process id of the b03lint run,
``start`` its start time (``/proc/PID/stat``, clock ticks since boot; ``0`` where there is
no ``/proc``), so the creator is known even when the run died between ``CREATE DATABASE``
and anything else; a ``COMMENT ON DATABASE`` says the same in words (host name, pid, UTC
start). A local cluster's folder is ``b03lint-pg-<pid>-<start>-<random>`` in the temporary
folder, with the same in ``owner.json``.

A creator is **dead** when it ran on this host and its pid is gone, or the pid now belongs
to a process that started at another time (a pid reused); only then is what it made an
orphan that ``b03lint rebuild --clean`` removes. A database of another host, of a live run,
or of an older b03lint (whose names say nothing of their creator) is listed, never removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

SCRATCH_PREFIX = "b03lint_scratch_"
CLUSTER_PREFIX = "b03lint-pg-"
OWNER_FILE = "owner.json"

_NAME_RE = re.compile(rf"^{SCRATCH_PREFIX}(?P<host>[0-9a-f]{{8}})_(?P<pid>\d+)_(?P<start>\d+)_"
                      r"[0-9a-f]+$")
_FOLDER_RE = re.compile(rf"^{CLUSTER_PREFIX}(?P<pid>\d+)-(?P<start>\d+)-")

Status = Literal["orphan", "live", "other host", "unknown"]


def host_tag(name: str | None = None) -> str:
    """8 hex digits of the host name's hash."""
    return hashlib.sha256((name or socket.gethostname()).encode()).hexdigest()[:8]


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, ``/proc/PID/stat``);
    None when there is no such process or no ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def _proc() -> bool:
    return Path("/proc/self/stat").exists()


@dataclass(frozen=True)
class Creator:
    """The run that made something: host tag, pid, start time (``0``: not known)."""

    host: str
    pid: int
    start: str

    @classmethod
    def me(cls) -> Creator:
        return cls(host_tag(), os.getpid(), process_start(os.getpid()) or "0")

    def alive(self) -> bool:
        """Whether this run (on this host) still runs; True when that cannot be told."""
        if self.pid <= 0:
            return True
        if _proc() and self.start != "0":
            return process_start(self.pid) == self.start
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True

    def status(self) -> Status:
        if self.host != host_tag():
            return "other host"
        return "live" if self.alive() else "orphan"


def scratch_name(creator: Creator | None = None) -> str:
    c = creator or Creator.me()
    return f"{SCRATCH_PREFIX}{c.host}_{c.pid}_{c.start}_{secrets.token_hex(3)}"


def creator_of_name(name: str) -> Creator | None:
    m = _NAME_RE.match(name)
    if not m:
        return None
    return Creator(m.group("host"), int(m.group("pid")), m.group("start"))


def comment() -> str:
    """What ``COMMENT ON DATABASE`` says of a scratch database of this run."""
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return json.dumps({"made_by": "b03lint rebuild", "host": socket.gethostname(),
                       "pid": os.getpid(), "started": started,
                       "remove": "b03lint rebuild --clean"})


@dataclass(frozen=True)
class Leftover:
    """A scratch database (or a local cluster folder) and what is known of its maker."""

    name: str
    status: Status
    detail: str
    kind: Literal["database", "cluster"] = "database"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "status": self.status,
                "detail": self.detail}


def _describe(creator: Creator | None, note: str | None) -> tuple[Status, str]:
    said = ""
    if note:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            data = json.loads(note)
            said = f" on {data['host']}, started {data['started']}"
    if creator is None:
        return "unknown", ("made by an older b03lint (its name does not say by whom); drop it "
                           "by hand if no run uses it")
    status = creator.status()
    if status == "other host":
        return status, f"made by pid {creator.pid}{said} on another host: not checked here"
    if status == "live":
        return status, f"in use by the live run pid {creator.pid}{said}"
    return status, f"left behind by pid {creator.pid}{said}, which is gone"


def scratch_databases(conn: Any) -> list[Leftover]:
    """The scratch databases on a server and their status (``conn``: psycopg, any
    database)."""
    rows = conn.execute(
        "SELECT datname, pg_catalog.shobj_description(oid, 'pg_database') FROM "
        "pg_catalog.pg_database WHERE datname LIKE 'b03lint\\_scratch\\_%' ORDER BY 1"
    ).fetchall()
    out = []
    for name, note in rows:
        status, detail = _describe(creator_of_name(str(name)), note)
        out.append(Leftover(str(name), status, detail))
    return out


def cluster_folders(tmp: Path | None = None) -> list[Leftover]:
    """The local cluster folders of b03lint runs in the temporary folder."""
    base = tmp or Path(tempfile.gettempdir())
    out = []
    with contextlib.suppress(OSError):
        for path in sorted(base.glob(f"{CLUSTER_PREFIX}*")):
            if not path.is_dir():
                continue
            m = _FOLDER_RE.match(path.name)
            creator = Creator(host_tag(), int(m.group("pid")), m.group("start")) if m else None
            note = None
            with contextlib.suppress(OSError):
                note = (path / OWNER_FILE).read_text(encoding="utf-8")
            status, detail = _describe(creator, note)
            out.append(Leftover(str(path), status, detail, "cluster"))
    return out


def write_owner(root: Path) -> None:
    (root / OWNER_FILE).write_text(comment() + "\n", encoding="utf-8")


def cluster_prefix() -> str:
    c = Creator.me()
    return f"{CLUSTER_PREFIX}{c.pid}-{c.start}-"
