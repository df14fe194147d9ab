"""What one statement did on the server: the table locks the migration's backend took, which
relations got a new ``relfilenode`` (a rewrite), which tables it scanned and whether it
waited for other transactions. ``b03lint rebuild --trace`` and the lock model's live test
(``tests/test_pg_locks.py``) both measure with this module, so what they prove is the same.

Inside a transaction (every statement Alembic runs outside an ``autocommit_block()``),
the backend itself is asked, on its own connection, before and after each statement:

- ``pg_locks`` of ``pg_backend_pid()``: the modes it holds on each relation. Locks are
  kept to the end of the transaction, so the modes held after minus those held before
  are the ones this statement took; a mode an earlier statement already took is "held".
- ``pg_class.relfilenode``: a table whose file changes was rewritten (``TRUNCATE`` too).
- ``pg_stat_xact_user_tables.seq_scan``: the sequential scans of the transaction so far,
  so the difference is the tables this statement read in full.

Relations are named by the catalog as it was before the statement, so a table the
statement drops keeps its name; relations it creates are listed apart.

A statement that runs outside a transaction (``CREATE INDEX CONCURRENTLY``, ``VACUUM``)
releases its locks when it ends, so it is watched from a second connection instead
(:class:`Observer`): that connection holds a snapshot and an ``ACCESS SHARE`` lock on
every table before the statement starts, and polls ``pg_locks`` for the migration's pid.
A statement that waits for older transactions (the ``CONCURRENTLY`` forms) is seen
waiting on the observer's transaction with the locks it holds at that moment; a statement
that needs a lock that conflicts with ``ACCESS SHARE`` is seen waiting for that lock. The
observer then lets go. What such a statement does after that point is not seen: the
trace says so (``complete`` is False) instead of guessing.

Only DBAPI calls are used (``cursor.execute`` / ``fetchall``), so the cursor may be
psycopg 3 or psycopg2, whichever the project's ``env.py`` uses.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: pg_locks' names of the table lock modes, weakest first (the documentation's order)
PG_MODES = {
    "AccessShareLock": "ACCESS SHARE",
    "RowShareLock": "ROW SHARE",
    "RowExclusiveLock": "ROW EXCLUSIVE",
    "ShareUpdateExclusiveLock": "SHARE UPDATE EXCLUSIVE",
    "ShareLock": "SHARE",
    "ShareRowExclusiveLock": "SHARE ROW EXCLUSIVE",
    "ExclusiveLock": "EXCLUSIVE",
    "AccessExclusiveLock": "ACCESS EXCLUSIVE",
}
RANK = {mode: i for i, mode in enumerate(PG_MODES.values())}

#: relation kinds that are tables for the lock model (tables, partitioned tables,
#: materialized views); indexes, sequences and TOAST tables are "other relations"
TABLE_KINDS = frozenset({"r", "p", "m"})

_RELATIONS_SQL = """
SELECT c.oid::bigint, n.nspname, c.relname, c.relkind::text, c.relfilenode::bigint,
       COALESCE(i.indrelid, 0)::bigint
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
WHERE c.relkind IN ('r', 'p', 'm', 'i', 'I', 'S')
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
"""

_SCANS_SQL = "SELECT relid::bigint, seq_scan FROM pg_catalog.pg_stat_xact_user_tables"

_LOCKS_SQL = """
SELECT l.relation::bigint, l.mode, l.granted, l.locktype
FROM pg_catalog.pg_locks l
WHERE l.pid = {pid} AND (l.locktype <> 'relation' OR l.database = (
    SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))
"""


def strongest(modes: set[str] | frozenset[str]) -> str | None:
    """The strongest of some lock modes (documentation spelling), or None."""
    return max(modes, key=RANK.__getitem__) if modes else None


@dataclass(frozen=True)
class Relation:
    oid: int
    schema: str
    name: str
    kind: str
    filenode: int
    #: an index's table (0 for others)
    table_oid: int

    @property
    def qualified(self) -> str:
        return self.name if self.schema == "public" else f"{self.schema}.{self.name}"

    @property
    def is_table(self) -> bool:
        return self.kind in TABLE_KINDS


@dataclass
class Snapshot:
    """The catalog, the backend's locks and the transaction's scans at one moment."""

    relations: dict[int, Relation]
    #: relation oid -> lock modes held (documentation spelling)
    locks: dict[int, set[str]]
    #: relation oid -> sequential scans so far in this transaction (None: not observable)
    scans: dict[int, int] | None


def _rows(cursor: Any, sql: str) -> list[tuple[Any, ...]]:
    cursor.execute(sql)
    return [tuple(r) for r in cursor.fetchall()]


def relations(cursor: Any) -> dict[int, Relation]:
    return {int(r[0]): Relation(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), int(r[5]))
            for r in _rows(cursor, _RELATIONS_SQL)}


def held_locks(cursor: Any, pid: int | None = None) -> tuple[dict[int, set[str]], list[Any]]:
    """Granted relation locks of backend ``pid`` (this one when None), and the lock rows it
    is waiting for (``(relation, mode, locktype)``)."""
    who = "pg_catalog.pg_backend_pid()" if pid is None else str(int(pid))
    held: dict[int, set[str]] = {}
    waiting: list[Any] = []
    for rel, mode, granted, locktype in _rows(cursor, _LOCKS_SQL.format(pid=who)):
        name = PG_MODES.get(str(mode), str(mode))
        if not granted:
            waiting.append((rel, name, locktype))
        elif locktype == "relation" and rel is not None:
            held.setdefault(int(rel), set()).add(name)
    return held, waiting


def snapshot(cursor: Any) -> Snapshot:
    """This backend's view, from its own connection (inside its transaction)."""
    rels = relations(cursor)
    locks, _ = held_locks(cursor)
    scans = {int(oid): int(n or 0) for oid, n in _rows(cursor, _SCANS_SQL)}
    return Snapshot(rels, locks, scans)


@dataclass
class Observed:
    """What one statement did, by relation name (``schema.name`` outside ``public``)."""

    #: table -> the lock modes this statement took on it
    locks: dict[str, set[str]] = field(default_factory=dict)
    #: table -> the modes it already held before the statement (an earlier statement's)
    held: dict[str, set[str]] = field(default_factory=dict)
    #: other relations (indexes, sequences) -> modes taken
    other_locks: dict[str, set[str]] = field(default_factory=dict)
    #: tables (and, apart, indexes) whose relfilenode changed
    rewritten: set[str] = field(default_factory=set)
    rebuilt_indexes: set[str] = field(default_factory=set)
    #: tables read in full; None when the trace cannot tell (outside a transaction)
    scanned: set[str] | None = field(default_factory=set)
    #: whether it waited for other transactions; None when not observable
    waited: bool | None = None
    created: set[str] = field(default_factory=set)
    dropped: set[str] = field(default_factory=set)
    #: False when only part of what the statement did could be seen
    complete: bool = True
    #: a sentence on how it was observed
    how: str = "inside the migration's transaction, on its own connection"

    def strongest(self, table: str) -> str | None:
        return strongest(self.locks.get(table, set()))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Observed:
        def modes(d: dict[str, list[str]]) -> dict[str, set[str]]:
            return {k: set(v) for k, v in (d or {}).items()}

        scanned = data.get("scanned")
        return cls(locks=modes(data.get("locks", {})), held=modes(data.get("held_before", {})),
                   other_locks=modes(data.get("other_locks", {})),
                   rewritten=set(data.get("rewritten", ())),
                   rebuilt_indexes=set(data.get("rebuilt_indexes", ())),
                   scanned=None if scanned is None else set(scanned),
                   waited=data.get("waited"), created=set(data.get("created", ())),
                   dropped=set(data.get("dropped", ())),
                   complete=bool(data.get("complete", True)), how=str(data.get("how", "")))

    def to_json(self) -> dict[str, Any]:
        def modes(d: dict[str, set[str]]) -> dict[str, list[str]]:
            return {k: sorted(v, key=RANK.__getitem__) for k, v in sorted(d.items())}

        return {
            "locks": modes(self.locks), "held_before": modes(self.held),
            "other_locks": modes(self.other_locks), "rewritten": sorted(self.rewritten),
            "rebuilt_indexes": sorted(self.rebuilt_indexes),
            "scanned": None if self.scanned is None else sorted(self.scanned),
            "waited": self.waited, "created": sorted(self.created),
            "dropped": sorted(self.dropped), "complete": self.complete, "how": self.how,
        }


def difference(before: Snapshot, after: Snapshot) -> Observed:
    """What happened between two snapshots of the same transaction."""
    out = Observed()
    names = {**after.relations, **before.relations}  # the name before the statement wins
    for oid, modes in after.locks.items():
        rel = names.get(oid)
        if rel is None:
            continue  # a system relation, or one that came and went within the statement
        new = modes - before.locks.get(oid, set())
        old = modes & before.locks.get(oid, set())
        if oid not in before.relations:
            continue  # created by this statement: nobody else can see it yet
        if rel.is_table:
            if new:
                out.locks[rel.qualified] = new
            if old:
                out.held[rel.qualified] = old
        elif new:
            out.other_locks[rel.qualified] = new
    for oid, rel in before.relations.items():
        now = after.relations.get(oid)
        if now is None:
            out.dropped.add(rel.qualified)
        elif now.filenode != rel.filenode and rel.filenode and now.filenode:
            (out.rewritten if rel.is_table else out.rebuilt_indexes).add(rel.qualified)
    out.created = {r.qualified for oid, r in after.relations.items()
                   if oid not in before.relations and r.is_table}
    if before.scans is None or after.scans is None:
        out.scanned = None
    else:
        out.scanned = {names[oid].qualified for oid, n in after.scans.items()
                       if oid in names and oid in before.relations
                       and n > before.scans.get(oid, 0)}
    return out


# --------------------------------------------------------------------------- outside a transaction


class Observer:
    """Watches a statement that runs outside a transaction, from other connections.

    ``connect`` opens a connection (autocommit off). Just before the statement,
    :meth:`start` makes two holders and a watcher: one holder takes SHARE UPDATE
    EXCLUSIVE on every table (the weakest lock every schema change conflicts with), the
    other a ``REPEATABLE READ`` snapshot and ACCESS SHARE on every table (a long reader,
    which the ``CONCURRENTLY`` forms wait for). The watcher polls ``pg_locks`` for the
    migration's pid: a wait for a table lock shows the mode asked for, and the first
    holder lets go; a wait for a transaction (a ``virtualxid``) shows that the statement
    waits for others, and the second lets go. :meth:`stop` returns what was seen.
    """

    #: how long the holders hold on while the statement does not wait (seconds)
    HOLD = 0.5
    #: and at most this long from start() (a statement that never shows up)
    LIMIT = 10.0
    POLL = 0.002

    def __init__(self, connect: Callable[[], Any]):
        self._connect = connect
        self._conns: list[Any] = []
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._result = Observed()
        self._before: dict[int, Relation] = {}

    def start(self, pid: int) -> None:
        while len(self._conns) < 3:
            self._conns.append(self._connect())
        locker, reader, watcher = (c.cursor() for c in self._conns)
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        self._before = relations(reader)
        tables = [r for r in self._before.values() if r.is_table]
        for rel in tables:
            name = f'"{rel.schema}"."{rel.name}"'
            reader.execute(f"LOCK TABLE {name} IN ACCESS SHARE MODE")
            locker.execute(f"LOCK TABLE {name} IN SHARE UPDATE EXCLUSIVE MODE")
        self._done.clear()
        self._result = Observed(how="from other connections that held SHARE UPDATE EXCLUSIVE, "
                                    "and a snapshot with ACCESS SHARE, on every table until "
                                    "the statement waited for them")
        self._thread = threading.Thread(target=self._watch, args=(pid, locker, reader, watcher),
                                        daemon=True)
        self._thread.start()

    def _watch(self, pid: int, locker: Any, reader: Any, watcher: Any) -> None:
        res = self._result
        seen: dict[int, set[str]] = {}
        holding = [locker, reader]
        # the hold runs from when the statement is seen running, so that a slow start
        # (a loaded machine) does not let go before it had the chance to wait
        began = time.monotonic()
        active_since: float | None = None

        def release(cur: Any) -> None:
            if cur in holding:
                cur.execute("COMMIT")
                holding.remove(cur)

        while not self._done.is_set():
            held, waiting = held_locks(watcher, pid)
            if active_since is None:
                watcher.execute("SELECT state FROM pg_catalog.pg_stat_activity WHERE pid = "
                                f"{int(pid)}")
                state = watcher.fetchone()
                if state is not None and state[0] == "active":
                    active_since = time.monotonic()
            watcher.execute("COMMIT")
            for oid, modes in held.items():
                seen.setdefault(oid, set()).update(modes)
            for rel, mode, locktype in waiting:
                if locktype in ("virtualxid", "transactionid"):
                    res.waited = True
                    release(reader)
                elif rel is not None:
                    seen.setdefault(int(rel), set()).add(mode)
                    release(locker if locker in holding else reader)
            now = time.monotonic()
            if holding and ((active_since is not None and now > active_since + self.HOLD)
                            or now > began + self.LIMIT):
                for cur in list(holding):
                    release(cur)
            time.sleep(self.POLL)
        for cur in list(holding):
            release(cur)
        if res.waited is None:
            res.waited = False
        for oid, modes in seen.items():
            rel = self._before.get(oid)
            if rel is not None:
                (res.locks if rel.is_table else res.other_locks)[rel.qualified] = set(modes)

    def stop(self) -> Observed:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        res = self._result
        cur = self._conns[2].cursor()
        after = relations(cur)
        cur.execute("COMMIT")
        for oid, rel in self._before.items():
            now = after.get(oid)
            if now is None:
                res.dropped.add(rel.qualified)
            elif now.filenode != rel.filenode and rel.filenode and now.filenode:
                (res.rewritten if rel.is_table else res.rebuilt_indexes).add(rel.qualified)
        res.created = {r.qualified for oid, r in after.items()
                       if oid not in self._before and r.is_table}
        res.scanned = None
        res.complete = False
        return res

    def close(self) -> None:
        conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()


# --------------------------------------------------------------------------- in the migration


#: statements Alembic and SQLAlchemy send for themselves (version table, catalog probes)
_OWN_RE = re.compile(
    r"alembic_version|pg_catalog\.|information_schema\.|^\s*show\s|"
    r"^\s*select\s+(pg_catalog\.)?(version|current_schema)\(\)", re.IGNORECASE)


def is_migration_statement(sql: str) -> bool:
    """Whether a statement is the migration's, not Alembic's or SQLAlchemy's own."""
    return not _OWN_RE.search(sql)


def install(emit: Callable[..., None], connect: Callable[[], Any]) -> Callable[[], None]:
    """Measure every statement the migration's SQLAlchemy engines send (cursor events),
    and ``emit("statement", sql=..., autocommit=..., observed={...})`` for each; the server's
    major is emitted once (``emit("server", version=N)``). ``connect`` opens an observer
    connection to the same database (for statements outside a transaction). Returns a
    function that removes the hooks and closes the observer."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    observer = Observer(connect)
    server: list[int] = []
    key = "b03lint.trace"

    def dbapi_of(conn: Any) -> Any:
        return conn.connection.dbapi_connection

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        if not is_migration_statement(statement):
            return
        dbapi = dbapi_of(conn)
        if not server:
            rows = _rows(dbapi.cursor(), "SELECT pg_catalog.current_setting("
                                         "'server_version_num')::int / 10000")
            server.append(int(rows[0][0]))
            emit("server", version=server[0])
        if getattr(dbapi, "autocommit", False):
            # asked each time: the DBAPI connection may be a new one (a pool without reuse)
            pid = int(_rows(dbapi.cursor(), "SELECT pg_catalog.pg_backend_pid()")[0][0])
            observer.start(pid)
            conn.info[key] = (True, None)
        else:
            conn.info[key] = (False, snapshot(dbapi.cursor()))

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
              executemany: bool) -> None:
        state = conn.info.pop(key, None)
        if state is None:
            return
        auto, first = state
        observed = observer.stop() if auto else difference(first, snapshot(
            dbapi_of(conn).cursor()))
        emit("statement", sql=statement, autocommit=auto, observed=observed.to_json())

    def failed(context: Any) -> None:
        conn = getattr(context, "connection", None)
        state = conn.info.pop(key, None) if conn is not None else None
        if state is not None and state[0]:
            observer.stop()

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    event.listen(Engine, "handle_error", failed)

    def remove() -> None:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "after_cursor_execute", after)
        event.remove(Engine, "handle_error", failed)
        observer.close()

    return remove
