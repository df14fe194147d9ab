"""What the Python reader asks of a memo of its SQL readings (:mod:`b03lint.sqlmemo`
provides one, backed by the run's cache).

Reading a file's embedded SQL imports pglast (about 30 ms) and runs PostgreSQL's parser on
every statement. When one migration is edited, the SQL it holds is usually unchanged, so
the reader first asks the memo for each text's reading. A reading is kept in a form that
does not depend on where the text is written (every position a character offset in the
text, see ``embedded_sql.py``), so the same SQL moved to another line, another file, or
behind an edited Python call is the same entry.

A memo must never change what a file reads as: the reader checks the shape of what it
takes, and treats anything else as a miss. This module imports nothing.
"""

from __future__ import annotations

from typing import Protocol


class SqlMemo(Protocol):
    """Readings of SQL texts, by key."""

    def key(self, ask: str) -> str:
        """The entry name of one question (what is read, how, and the text)."""
        ...

    def take(self, key: str) -> object | None:
        """A copy of the value kept for ``key`` that is the caller's own (it may change
        it: a new copy on every call), or None."""
        ...

    def keep(self, key: str, value: object) -> None:
        """Remember ``value`` for ``key`` as it is now (best effort: it may be dropped);
        the caller may change ``value`` afterwards."""
        ...
