"""Parse-cache values that the resident process (`b03lint daemon`) unpickled ahead, so
that a check forked from it takes them instead of unpickling the same bytes again.

A value is keyed by the BLAKE2b digest of its pickle. :meth:`b03lint.cache.Cache.load`
still reads and MAC-checks the run's packs as it always does, and takes a held value
only for a payload whose bytes are the ones the value was unpickled from: what a run
gets is what ``pickle.loads`` of that payload would give it, by construction. A value
taken leaves the table, so two callers of one run never share an object. Each fork has
its own copy of the table: what a run does to a value never reaches the server or the
next run.

The server learns which cache folders to hold from its runners (:func:`note`,
:func:`report`) and fills the table between requests
(:class:`b03lint.holding.Holder`). It reads packs with its own user's secret and never
deletes one, whatever it finds.

Imports nothing of b03lint's at module level: :mod:`b03lint.cache` imports it.
"""

from __future__ import annotations

import contextlib
import os
from hashlib import blake2b

#: digest of a pickle -> the value unpickled from it (filled in the server only)
VALUES: dict[bytes, object] = {}
#: this process runs a resident process's check: :func:`note` records the folders read
REPORTING = [False]
#: the cache folders this run loaded values from (see :func:`note`)
_READ: set[str] = set()
#: (for :class:`b03lint.holding.Holder`) at most this many bytes of pickles are held
#: (about 9,000 migrations; in memory, the values take three to four times that)
LIMIT = 16 << 20
#: at most this many cache folders are held (the most recently reported ones)
MAX_FOLDERS = 4


def digest(payload: bytes | memoryview) -> bytes:
    return blake2b(payload, digest_size=16).digest()


def take(payload: bytes | memoryview) -> object | None:
    """The held value of ``payload``'s bytes, removed from the table; None when none."""
    return VALUES.pop(digest(payload), None) if VALUES else None


def note(folder: os.PathLike[str]) -> None:
    """A cache folder this run asked for a value (only in a resident process's fork)."""
    if REPORTING[0]:
        _READ.add(os.fspath(folder))


def report(fd: int) -> None:
    """Tell the server, down the pipe ``fd``, which folders this run read: one line, or
    nothing when it does not fit one atomic write (the server then holds less)."""
    if not _READ:
        return
    line = "\0".join(sorted(_READ)).encode("utf-8", "surrogateescape") + b"\n"
    if len(line) <= 4096:  # PIPE_BUF on Linux: the line arrives whole or not at all
        with contextlib.suppress(OSError):  # a full pipe: this report is dropped
            os.write(fd, line)
